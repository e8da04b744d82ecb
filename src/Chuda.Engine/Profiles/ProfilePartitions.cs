using System.Threading.Channels;
using Chuda.Domain.Profiles;
using Chuda.Engine.Journeys;
using Chuda.Engine.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chuda.Engine.Profiles;

/// <summary>
/// The processing model: profiles are assigned by a stable hash to N partitions, each with exactly one consumer
/// loop, so no profile is ever processed by two threads at once and the hot path takes no locks. A consumer
/// drains its queue into batches and applies each batch in one transaction (group commit); callers are
/// completed only after that commit, so a 2xx always means "durably stored".
/// </summary>
public sealed class ProfilePartitions : IHostedService, IAsyncDisposable
{
    private const int MaxConflictRetries = 8;

    private readonly IChudaStore _store;
    private readonly ProfileBatchProcessor _processor;
    private readonly EngineOptions _options;
    private readonly ILogger<ProfilePartitions> _logger;
    private readonly TimeProvider _time;
    private readonly Channel<WorkItem>[] _queues;
    private readonly PartitionCache[] _caches;
    private readonly Task[] _loops;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _queued;
    private volatile bool _accepting;

    public ProfilePartitions(IChudaStore store, WorkspaceDirectory workspaces, EngineOptions options, ILogger<ProfilePartitions> logger, TimeProvider time,
        SegmentCatalog? segments = null, JourneyCatalog? journeys = null, JourneyOptions? journeyOptions = null)
    {
        options.Validate();
        _store = store;
        _options = options;
        _logger = logger;
        _time = time;
        _processor = new ProfileBatchProcessor(store, workspaces.GetAsync, segments, time, options.SegmentHistoryMaxEvents, journeys, journeyOptions);
        var count = options.Partitions ?? Math.Max(1, Math.Min(store.MaxWriterPartitions, Environment.ProcessorCount));
        count = Math.Min(count, store.MaxWriterPartitions);
        _queues = new Channel<WorkItem>[count];
        for (var i = 0; i < count; i++)
            _queues[i] = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        _loops = new Task[count];
        _caches = new PartitionCache[count];
        for (var i = 0; i < count; i++) _caches[i] = new PartitionCache(options.IdentityCacheSize, options.ProfileCacheSize, segments is null ? 0 : options.SegmentHistoryCacheSize);
    }

    public int PartitionCount => _queues.Length;

    /// <summary>Accepted commands not yet committed.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        for (var i = 0; i < _queues.Length; i++)
        {
            var partition = i;
            _loops[i] = Task.Run(() => RunAsync(partition), CancellationToken.None);
        }
        _accepting = true;
        EngineLog.Started(_logger, _queues.Length, _store.Kind);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Queues the commands on their partitions and completes once all of them are committed (or refused).
    /// Outcomes are in the order of <paramref name="commands"/>.
    /// </summary>
    /// <exception cref="OverloadedException">Too much work is queued, or the engine is shutting down.</exception>
    public Task<CommandOutcome[]> SubmitAsync(IReadOnlyList<ProfileCommand> commands, CancellationToken cancellationToken)
    {
        if (commands.Count == 0) return Task.FromResult(Array.Empty<CommandOutcome>());
        if (!_accepting) throw new OverloadedException("Chuda is shutting down.");
        if (Interlocked.Add(ref _queued, commands.Count) > _options.MaxQueuedCommands)
        {
            Interlocked.Add(ref _queued, -commands.Count);
            throw new OverloadedException("Too many events are waiting to be stored; retry shortly.");
        }
        var completion = new Completion(commands.Count, this);
        for (var i = 0; i < commands.Count; i++)
        {
            var command = commands[i];
            var hash = command.KnownRoutingHash ?? StableHash.RoutingHash(command.WorkspaceId, command.RoutingKey);
            Enqueue(StableHash.Partition(hash, _queues.Length), new WorkItem(command, completion, i));
        }
        // The caller's cancellation only stops the caller waiting: accepted work is still applied.
        return completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Completes once every command accepted before the call, on every partition, has committed (or failed).</summary>
    public Task BarrierAsync(long workspaceId, CancellationToken cancellationToken) =>
        SubmitAsync([.. Enumerable.Range(0, _queues.Length).Select(p => (ProfileCommand)new PartitionBarrier(workspaceId, p))], cancellationToken);

    private void Enqueue(int partition, WorkItem item)
    {
        if (!_queues[partition].Writer.TryWrite(item))
            item.Owner.Fail(new OverloadedException("Chuda is shutting down."), 1);
    }

    private async Task RunAsync(int partition)
    {
        var reader = _queues[partition].Reader;
        var batch = new List<WorkItem>(_options.MaxBatchSize);
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var item)) batch.Add(item);
            var start = 0;
            for (var i = 0; i <= batch.Count; i++)
            {
                // Erasures run alone, in order with what came before and after them.
                if (i < batch.Count && batch[i].Command is not EraseProfile) continue;
                if (i > start) await ApplyAsync(partition, batch, start, i - start);
                if (i < batch.Count) await ApplyAsync(partition, batch, i, 1);
                start = i + 1;
            }
            batch.Clear();
        }
    }

    private async Task ApplyAsync(int partition, List<WorkItem> batch, int start, int count)
    {
        var commands = new ProfileCommand[count];
        for (var i = 0; i < count; i++) commands[i] = batch[start + i].Command;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                CommandOutcome[] outcomes = commands is [EraseProfile erase]
                    ? [await _processor.EraseAsync(erase, partition, _queues.Length, _caches[partition], CancellationToken.None)]
                    : await _processor.ApplyAsync(commands, partition, _queues.Length, _caches[partition], CancellationToken.None);
                for (var i = 0; i < count; i++)
                {
                    var item = batch[start + i];
                    if (outcomes[i] is Forward forward) Enqueue(forward.Partition, item);
                    else item.Owner.Complete(item.Index, outcomes[i]);
                }
                return;
            }
            catch (ConcurrencyConflictException) when (attempt < MaxConflictRetries)
            {
                _caches[partition].Clear(); // another writer changed something this partition had cached
                EngineLog.Conflict(_logger, partition, count, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(attempt * attempt), _time, CancellationToken.None);
            }
            catch (Exception ex) when (count > 1)
            {
                // One bad command must not fail everyone else's events (nor keep failing them while its sender
                // retries): apply the batch one command at a time, so the failure stays with the command that causes it.
                _caches[partition].Clear();
                EngineLog.BatchIsolating(_logger, ex, partition, count);
                for (var i = 0; i < count; i++) await ApplyAsync(partition, batch, start + i, 1);
                return;
            }
            catch (Exception ex)
            {
                _caches[partition].Clear();
                EngineLog.BatchFailed(_logger, ex, partition, count);
                batch[start].Owner.Fail(ex, 1);
                return;
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _accepting = false;
        if (Queued > 0)
        {
            EngineLog.Draining(_logger, Queued);
            if (Queued == 0) _drained.TrySetResult();
            try
            {
                await _drained.Task.WaitAsync(_options.DrainTimeout, _time, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                EngineLog.DrainTimedOut(_logger, Queued);
            }
        }
        foreach (var queue in _queues) queue.Writer.TryComplete();
        await Task.WhenAll(_loops.Where(l => l is not null));
        EngineLog.Drained(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        if (_accepting) await StopAsync(CancellationToken.None);
    }

    private sealed record WorkItem(ProfileCommand Command, Completion Owner, int Index);

    private sealed class Completion(int count, ProfilePartitions owner)
    {
        private readonly CommandOutcome[] _outcomes = new CommandOutcome[count];
        private readonly TaskCompletionSource<CommandOutcome[]> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = count;

        public Task<CommandOutcome[]> Task => _tcs.Task;

        public void Complete(int index, CommandOutcome outcome)
        {
            _outcomes[index] = outcome;
            Done(1);
            if (Volatile.Read(ref _remaining) == 0) _tcs.TrySetResult(_outcomes);
        }

        public void Fail(Exception exception, int items)
        {
            _tcs.TrySetException(exception);
            Done(items);
        }

        private void Done(int items)
        {
            if (Interlocked.Add(ref owner._queued, -items) == 0 && !owner._accepting) owner._drained.TrySetResult();
            Interlocked.Add(ref _remaining, -items);
        }
    }
}

/// <summary>The engine cannot take more work now (queue full or shutting down): answer 503 and let the client retry.</summary>
public sealed class OverloadedException(string message) : Exception(message);
