using System.Text;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;
using Chuda.Domain.Workspaces;
using Chuda.Engine.Profiles;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Chuda.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chuda.Engine.Tests;

/// <summary>
/// A command that makes the store fail must fail alone: the other requests in its batch are still stored
/// (a failure must not poison a batch — Mautic #7226 resent a whole batch forever for one bad address).
/// </summary>
public sealed class FailureIsolationTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private FaultyStore _store = null!;
    private ProfilePartitions _partitions = null!;
    private Workspace _workspace = null!;

    public async Task InitializeAsync()
    {
        var inner = await StoreFactory.OpenAsync(new StoreOptions(null, _data.Path), CancellationToken.None);
        await inner.MigrateAsync(CancellationToken.None);
        _store = new FaultyStore(inner);
        var options = new EngineOptions();
        var directory = new WorkspaceDirectory(_store, TimeProvider.System, options);
        _workspace = (await directory.CreateAsync("w", instanceAdmin: false, null, null, CancellationToken.None)).Workspace;
        _partitions = new ProfilePartitions(_store, directory, options, NullLogger<ProfilePartitions>.Instance, TimeProvider.System);
        await _partitions.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _partitions.StopAsync(CancellationToken.None);
        await _store.DisposeAsync();
        _data.Dispose();
    }

    private IngestMessage Track(string userId, string messageId)
    {
        var json = $$"""{"userId":"{{userId}}","event":"E","messageId":"{{messageId}}"}""";
        var parsed = SegmentParser.ParseSingle(Encoding.UTF8.GetBytes(json), MessageType.Track, TimeProvider.System.GetUtcNow(), () => "unused");
        return new IngestMessage(_workspace.Id, Assert.Single(parsed.Messages));
    }

    [Fact]
    public async Task Only_the_failing_command_of_a_batch_fails()
    {
        // Hold the writer so that the next three submissions queue up and are applied as one batch.
        _store.HoldNextBegin();
        var first = _partitions.SubmitAsync([Track("warm", "m-0")], CancellationToken.None);
        await _store.Held;
        var good1 = _partitions.SubmitAsync([Track("good-1", "m-1")], CancellationToken.None);
        var poison = _partitions.SubmitAsync([Track("bad", "poison")], CancellationToken.None);
        var good2 = _partitions.SubmitAsync([Track("good-2", "m-2")], CancellationToken.None);
        _store.Release();

        await first;
        Assert.IsType<AppliedOutcome>((await good1)[0]);
        Assert.IsType<AppliedOutcome>((await good2)[0]);
        await Assert.ThrowsAsync<InvalidOperationException>(() => poison);
        Assert.True(_store.BatchesWithPoison > 1, "the batch was retried one command at a time");

        foreach (var user in new[] { "good-1", "good-2" })
        {
            var id = await _store.FindProfileIdAsync(_workspace.Id, new IdentityKey(IdentityKinds.UserId, user), CancellationToken.None);
            Assert.NotNull(id);
            Assert.Single(await _store.GetEventsAsync(_workspace.Id, id.Value, 10, null, CancellationToken.None));
        }
        Assert.Null(await _store.FindProfileIdAsync(_workspace.Id, new IdentityKey(IdentityKinds.UserId, "bad"), CancellationToken.None));
        Assert.Equal(0, _partitions.Queued);
    }

    /// <summary>The real SQLite store, with a fault injected: appending the event with message id "poison" throws.</summary>
    private sealed class FaultyStore(IChudaStore inner) : DelegatingStore(inner)
    {
        private TaskCompletionSource? _hold;
        private TaskCompletionSource? _release;
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _poisonBatches;

        public Task Held => _held.Task;
        public int BatchesWithPoison => _poisonBatches;

        public void HoldNextBegin() => _hold = _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release!.TrySetResult();

        public override async Task<IProfileTransaction> BeginAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _hold, null) is { } hold)
            {
                _held.TrySetResult();
                await hold.Task;
            }
            return new Transaction(await Inner.BeginAsync(cancellationToken), this);
        }

        private sealed class Transaction(IProfileTransaction tx, FaultyStore owner) : DelegatingProfileTransaction(tx)
        {
            public override Task AppendEventsAsync(IReadOnlyCollection<EventRow> events, CancellationToken cancellationToken)
            {
                if (events.Any(e => e.MessageId == "poison"))
                {
                    Interlocked.Increment(ref owner._poisonBatches);
                    throw new InvalidOperationException("injected store fault");
                }
                return Inner.AppendEventsAsync(events, cancellationToken);
            }
        }
    }
}
