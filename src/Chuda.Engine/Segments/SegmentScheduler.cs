using Chuda.Domain.Segments;
using Chuda.Engine.Profiles;
using Chuda.Engine.Scheduling;
using Chuda.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chuda.Engine.Segments;

/// <summary>
/// Fires durable segment re-checks. The due instants are rows in the store (written in the same transaction as the
/// change that made them), so they survive restarts; this loop only sleeps until the earliest one and hands due
/// profiles to their partitions as <see cref="RecheckSegments"/> commands, which re-evaluate exactly the
/// time-dependent segments and store the next due instant. A batch that schedules an earlier instant wakes it.
/// </summary>
public sealed class SegmentScheduler : BackgroundService
{
    private readonly IChudaStore _store;
    private readonly ProfilePartitions _partitions;
    private readonly TimeProvider _time;
    private readonly ILogger<SegmentScheduler> _logger;
    private readonly SegmentOptions _options;
    private readonly WakeGate _gate = new();

    public SegmentScheduler(IChudaStore store, ProfilePartitions partitions, SegmentCatalog catalog, TimeProvider time,
        ILogger<SegmentScheduler> logger, SegmentOptions options)
    {
        _store = store;
        _partitions = partitions;
        _time = time;
        _logger = logger;
        _options = options;
        catalog.CheckScheduled += OnScheduled;
    }

    /// <summary>Re-checks fired since start.</summary>
    public long Fired { get; private set; }

    private void OnScheduled(DateTimeOffset due) => _gate.Scheduled(due);

    /// <summary>Fires every re-check due now, round after round until none is left (tests drive time with this).</summary>
    public async Task<int> FireDueAsync(CancellationToken cancellationToken)
    {
        var fired = 0;
        while (true)
        {
            var due = await _store.GetDueSegmentChecksAsync(_time.GetUtcNow(), _options.CheckBatchSize, cancellationToken);
            if (due.Count == 0) return fired;
            await FireAsync(due, cancellationToken);
            fired += due.Count;
            if (fired > 10_000_000) throw new InvalidOperationException("Re-checks keep coming due; a rule's next change is not advancing.");
        }
    }

    private async Task FireAsync(IReadOnlyList<SegmentCheck> due, CancellationToken cancellationToken)
    {
        var commands = due.Select(c => (ProfileCommand)new RecheckSegments(c.WorkspaceId, c.ProfileId, c.RoutingHash, c.DueAt, null)).ToList();
        await _partitions.SubmitAsync(commands, cancellationToken);
        Fired += due.Count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        HashSet<(long, long, DateTimeOffset)>? previous = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = _gate.Arm(); // while working, any newly scheduled check wakes the next sleep
            try
            {
                var now = _time.GetUtcNow();
                var due = await _store.GetDueSegmentChecksAsync(now, _options.CheckBatchSize, stoppingToken);
                if (due.Count > 0)
                {
                    var round = due.Select(c => (c.WorkspaceId, c.ProfileId, c.DueAt)).ToHashSet();
                    if (previous is not null && round.SetEquals(previous))
                    {
                        // The same checks again: their partitions did not take them (overload, failure). Back off.
                        SegmentLog.ChecksStuck(_logger, due.Count);
                        await Task.Delay(_options.RetryDelay, _time, stoppingToken);
                    }
                    previous = round;
                    await FireAsync(due, stoppingToken);
                    continue;
                }
                previous = null;
                var next = await _store.GetNextSegmentCheckDueAsync(stoppingToken);
                var until = now + _options.PollInterval;
                if (next is { } n && n < until) until = n;
                if (!_gate.Sleep(until, wake)) continue;
                var delay = until - _time.GetUtcNow();
                if (delay > TimeSpan.Zero)
                    await Task.WhenAny(wake, Task.Delay(delay, _time, stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                SegmentLog.SchedulerFailed(_logger, ex);
                try
                {
                    await Task.Delay(_options.RetryDelay, _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}

/// <summary>Tuning of segment work. Units are in the types.</summary>
public sealed record SegmentOptions
{
    /// <summary>Longest sleep of the re-check loop (another process on a shared store may add earlier checks).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Pause after a failure before trying again.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Re-checks handed to the partitions at once.</summary>
    public int CheckBatchSize { get; init; } = 2000;

    /// <summary>Profiles per backfill step.</summary>
    public int BackfillPageSize { get; init; } = 1000;

    /// <summary>Most recent profiles whose traits tell the kinds rules are checked against (see <see cref="TraitSchema"/>).</summary>
    public int TraitSchemaSample { get; init; } = 500;

    /// <summary>Workspaces with at least this many profiles are counted exactly by several readers in parallel.</summary>
    public int PreviewParallelThreshold { get; init; } = 20_000;

    /// <summary>Profiles a preview evaluates to estimate a count.</summary>
    public int PreviewSampleSize { get; init; } = 2000;
}
