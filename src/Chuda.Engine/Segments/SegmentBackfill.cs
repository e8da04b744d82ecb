using Chuda.Domain.Segments;
using Chuda.Engine.Profiles;
using Chuda.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chuda.Engine.Segments;

/// <summary>
/// Computes the membership of a new or edited segment over the profiles that already exist. It walks the workspace's
/// profiles in id order and hands each page to the partitions as <see cref="RecheckSegments"/> commands, so the
/// evaluation is serialised with live changes to the same profiles and can never overwrite a newer result. Progress
/// (the last profile id done) is stored after every page, so a restart resumes where it stopped; an edit of the rule
/// starts over. Live events are evaluated with the new rule from the moment it is saved; once the walk ends the
/// membership is exact.
/// </summary>
public sealed class SegmentBackfill : BackgroundService
{
    private readonly IChudaStore _store;
    private readonly ProfilePartitions _partitions;
    private readonly SegmentCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly ILogger<SegmentBackfill> _logger;
    private readonly SegmentOptions _options;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SegmentBackfill(IChudaStore store, ProfilePartitions partitions, SegmentCatalog catalog, TimeProvider time,
        ILogger<SegmentBackfill> logger, SegmentOptions options)
    {
        _store = store;
        _partitions = partitions;
        _catalog = catalog;
        _time = time;
        _logger = logger;
        _options = options;
        catalog.Changed += () => _wake.TrySetResult();
    }

    /// <summary>Runs every pending backfill to its end now (tests, and the import command).</summary>
    public async Task RunPendingAsync(CancellationToken cancellationToken)
    {
        await _catalog.RefreshAsync(cancellationToken);
        await RunAllAsync(cancellationToken);
        await _catalog.RefreshAsync(cancellationToken);
    }

    private async Task RunAllAsync(CancellationToken ct)
    {
        var pending = _catalog.All.Where(s => s.Definition.Status == SegmentStatus.Backfilling).Select(s => s.Definition);
        foreach (var workspace in pending.GroupBy(d => d.WorkspaceId).ToList()) await RunAsync([.. workspace], ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = _wake.Task;
            try
            {
                var pending = _catalog.All.Where(s => s.Definition.Status == SegmentStatus.Backfilling).ToList();
                if (pending.Count == 0)
                {
                    await Task.WhenAny(wake, Task.Delay(_options.PollInterval, _time, stoppingToken));
                    if (wake.IsCompleted) _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    else await _catalog.RefreshAsync(stoppingToken); // edits by another process on a shared store
                    continue;
                }
                if (wake.IsCompleted) _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await RunAllAsync(stoppingToken);
                await _catalog.RefreshAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                SegmentLog.BackfillFailed(_logger, ex);
                try
                {
                    await Task.Delay(_options.RetryDelay, _time, stoppingToken);
                    await _catalog.RefreshAsync(stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Runs the backfills of one workspace's pending segments together: one walk over the profiles evaluates all of
    /// them (100 new segments cost one pass over the history, not 100). Each segment's progress is stored after every
    /// page; a segment edited or deleted meanwhile drops out (the next round restarts it).
    /// </summary>
    private async Task RunAsync(List<SegmentDefinition> segments, CancellationToken ct)
    {
        var state = segments.ToDictionary(s => s.Key, s => (Def: s, Cursor: s.BackfillCursor, Done: s.BackfillDone));
        foreach (var s in segments.Where(s => s.BackfillCursor == 0))
            SegmentLog.BackfillStarted(_logger, s.Id, s.WorkspaceId, s.Version, s.BackfillTotal);
        var workspaceId = segments[0].WorkspaceId;
        // A batch that read the segments before these were saved may still be committing new profiles (with ids the
        // walk could already have passed): wait for every partition to get past it; later batches evaluate them live.
        await _partitions.BarrierAsync(workspaceId, ct);
        var cursor = segments.Min(s => s.BackfillCursor);
        while (state.Count > 0)
        {
            var page = await _store.GetProfilesAsync(workspaceId, cursor, _options.BackfillPageSize, ct);
            if (page.Count == 0)
            {
                foreach (var (key, (def, at, done)) in state)
                {
                    if (await _store.SetBackfillProgressAsync(workspaceId, key, def.Version, at, done, SegmentStatus.Ready, _time.GetUtcNow(), ct))
                        SegmentLog.BackfillDone(_logger, def.Id, workspaceId, def.Version, done);
                }
                return;
            }
            var keys = state.Keys.ToArray();
            var commands = page.Select(p => (ProfileCommand)new RecheckSegments(p.WorkspaceId, p.Id, p.RoutingHash, null, keys)).ToList();
            await _partitions.SubmitAsync(commands, ct);
            cursor = page[^1].Id;
            foreach (var key in keys)
            {
                var (def, at, done) = state[key];
                var added = page.Count(p => p.Id > at);
                var next = Math.Max(at, cursor);
                var current = _catalog.For(workspaceId).ByKey.TryGetValue(key, out var c) && c.Definition.Version == def.Version;
                if (!current || !await _store.SetBackfillProgressAsync(workspaceId, key, def.Version, next, done + added, SegmentStatus.Backfilling, null, ct))
                    state.Remove(key); // edited or deleted meanwhile
                else
                    state[key] = (def, next, done + added);
            }
        }
    }
}
