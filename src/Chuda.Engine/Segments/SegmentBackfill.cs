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
        foreach (var segment in _catalog.All.Where(s => s.Definition.Status == SegmentStatus.Backfilling).ToList())
            await RunAsync(segment.Definition, cancellationToken);
        await _catalog.RefreshAsync(cancellationToken);
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
                foreach (var segment in pending) await RunAsync(segment.Definition, stoppingToken);
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

    /// <summary>Runs one segment's backfill to the end, or until it is edited or deleted (then the caller reloads).</summary>
    private async Task RunAsync(SegmentDefinition segment, CancellationToken ct)
    {
        var cursor = segment.BackfillCursor;
        var done = segment.BackfillDone;
        if (cursor == 0) SegmentLog.BackfillStarted(_logger, segment.Id, segment.WorkspaceId, segment.Version, segment.BackfillTotal);
        while (true)
        {
            var page = await _store.GetProfilesAsync(segment.WorkspaceId, cursor, _options.BackfillPageSize, ct);
            if (page.Count == 0)
            {
                if (await _store.SetBackfillProgressAsync(segment.WorkspaceId, segment.Key, segment.Version, cursor, done,
                        SegmentStatus.Ready, _time.GetUtcNow(), ct))
                    SegmentLog.BackfillDone(_logger, segment.Id, segment.WorkspaceId, segment.Version, done);
                return;
            }
            var commands = page.Select(p => (ProfileCommand)new RecheckSegments(p.WorkspaceId, p.Id, p.RoutingHash, null, segment.Key)).ToList();
            await _partitions.SubmitAsync(commands, ct);
            cursor = page[^1].Id;
            done += page.Count;
            if (!await _store.SetBackfillProgressAsync(segment.WorkspaceId, segment.Key, segment.Version, cursor, done,
                    SegmentStatus.Backfilling, null, ct))
                return; // edited or deleted meanwhile
            if (!_catalog.For(segment.WorkspaceId).ByKey.TryGetValue(segment.Key, out var current) || current.Definition.Version != segment.Version)
                return;
        }
    }
}
