using System.Buffers;
using System.Diagnostics;
using Chuda.Domain.Ingestion;
using Chuda.Engine;
using Chuda.Engine.Profiles;
using Chuda.Engine.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.Extensions.Logging;

namespace Chuda.Bench;

/// <summary>Chuda's engine in this process: store + workspace directory + <see cref="ProfilePartitions"/>, as ChudaApp composes them.</summary>
public sealed class Pipeline : IAsyncDisposable
{
    public const string WriteKey = "wk_bench_write_key";
    public const string AdminKey = "ak_bench_admin_key";

    private readonly ILoggerFactory _logs;

    private Pipeline(IChudaStore store, ProfilePartitions partitions, long workspaceId, ILoggerFactory logs, SegmentCatalog? catalog)
    {
        Catalog = catalog;
        Store = store;
        Partitions = partitions;
        WorkspaceId = workspaceId;
        _logs = logs;
    }

    public IChudaStore Store { get; }
    public ProfilePartitions Partitions { get; }
    public long WorkspaceId { get; }

    /// <summary>The segment catalog the partitions evaluate (only with <c>segments: true</c>).</summary>
    public SegmentCatalog? Catalog { get; }

    public static async Task<Pipeline> StartAsync(BenchDatabase db, EngineOptions? engine = null, bool timed = false, bool segments = false)
    {
        engine ??= new EngineOptions();
        var store = await StoreFactory.OpenAsync(new StoreOptions(db.ChudaStore, db.Directory), CancellationToken.None);
        await store.MigrateAsync(CancellationToken.None);
        if (timed) store = new TimedStore(store);
        var directory = new WorkspaceDirectory(store, TimeProvider.System, engine);
        await directory.BootstrapAsync(WriteKey, AdminKey, CancellationToken.None);
        var ws = await directory.FindAsync(WorkspaceDirectory.DefaultWorkspace, CancellationToken.None)
            ?? throw new InvalidOperationException("No default workspace.");
        var logs = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        SegmentCatalog? catalog = null;
        if (segments)
        {
            catalog = new SegmentCatalog(store);
            await catalog.RefreshAsync(CancellationToken.None);
        }
        var partitions = new ProfilePartitions(store, directory, engine, logs.CreateLogger<ProfilePartitions>(), TimeProvider.System, catalog);
        await partitions.StartAsync(CancellationToken.None);
        return new Pipeline(store, partitions, ws.Id, logs, catalog);
    }

    public sealed record LoadResult(long Events, long Duplicates, TimeSpan Elapsed, List<double> SubmitMs)
    {
        public double EventsPerSecond => Events / Elapsed.TotalSeconds;
    }

    /// <summary>
    /// <paramref name="submitters"/> concurrent callers each render a body, parse it (SegmentParser.ParseBatch, which
    /// validates), and await SubmitAsync (durable commit + profile update), until <paramref name="bodies"/> are done.
    /// </summary>
    public async Task<LoadResult> LoadAsync(BodyTemplate template, int bodies, int submitters, Func<long, int, Random, long> user, string runPrefix)
    {
        long next = -1;
        long duplicates = 0;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, submitters).Select(w => Task.Run(async () =>
        {
            var buffer = new ArrayBufferWriter<byte>(64 * 1024);
            var random = new Random(unchecked(w * 7919 + runPrefix.GetHashCode(StringComparison.Ordinal)));
            var latencies = new List<double>();
            while (true)
            {
                var b = Interlocked.Increment(ref next);
                if (b >= bodies) break;
                var k = 0;
                template.Render(buffer, () => user(b, k++, random), runPrefix, b * template.Events);
                var t0 = Stopwatch.GetTimestamp();
                var parsed = SegmentParser.ParseBatch(buffer.WrittenSpan, TimeProvider.System.GetUtcNow(), NewMessageId);
                if (!parsed.IsValid)
                    throw new InvalidOperationException("Invalid bench body: " + string.Join("; ", parsed.Errors.Select(e => e.Field + ": " + e.Message)));
                var commands = new ProfileCommand[parsed.Messages.Count];
                for (var i = 0; i < commands.Length; i++) commands[i] = new IngestMessage(WorkspaceId, parsed.Messages[i]);
                var outcomes = await Partitions.SubmitAsync(commands, CancellationToken.None);
                latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                var dup = outcomes.Count(o => o is DuplicateOutcome);
                if (dup > 0) Interlocked.Add(ref duplicates, dup);
            }
            return latencies;
        })).ToArray();
        var all = await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var merged = all.SelectMany(l => l).OrderBy(x => x).ToList();
        return new LoadResult((long)bodies * template.Events, duplicates, elapsed, merged);
    }

    private static string NewMessageId() => "bench-" + Guid.CreateVersion7().ToString("N");

    public async ValueTask DisposeAsync()
    {
        await Partitions.StopAsync(CancellationToken.None);
        await Partitions.DisposeAsync();
        await Store.DisposeAsync();
        _logs.Dispose();
    }
}
