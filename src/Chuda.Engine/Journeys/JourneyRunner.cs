using System.Globalization;
using System.Text.Json;
using Chuda.Domain.Journeys;
using Chuda.Domain.Segments;
using Chuda.Engine.Profiles;
using Chuda.Engine.Segments;
using Chuda.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chuda.Engine.Journeys;

/// <summary>
/// Journey work that walks many profiles: scheduled broadcasts to a segment (once or by cron, in the workspace's zone or
/// each member's own) and, when a date-trait journey is published, scheduling the entries of profiles that already have
/// the trait. Each journey's next run time and cursor are stored, so a restart resumes a run where it stopped; entries
/// are idempotent per run (entry key), so a page repeated after a crash enters nobody twice.
/// </summary>
public sealed class JourneyRunner : BackgroundService
{
    /// <summary>The widest zone offset: a per-user-zone broadcast starts this long before the run's UTC reading.</summary>
    private static readonly TimeSpan EarliestZone = TimeSpan.FromHours(14);

    private readonly IChudaStore _store;
    private readonly ProfilePartitions _partitions;
    private readonly SegmentCatalog _segments;
    private readonly TimeProvider _time;
    private readonly ILogger<JourneyRunner> _logger;
    private readonly JourneyOptions _options;
    private readonly JourneyCatalog _catalog;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _refreshed = DateTimeOffset.MinValue;

    public JourneyRunner(IChudaStore store, ProfilePartitions partitions, JourneyCatalog catalog, SegmentCatalog segments, TimeProvider time,
        ILogger<JourneyRunner> logger, JourneyOptions options)
    {
        _store = store;
        _partitions = partitions;
        _catalog = catalog;
        _segments = segments;
        _time = time;
        _logger = logger;
        _options = options;
        catalog.Changed += () => _wake.TrySetResult();
    }

    /// <summary>The next run of a broadcast strictly after <paramref name="after"/>, as the instant the runner starts it.</summary>
    public static DateTimeOffset? NextBroadcast(BroadcastTrigger trigger, TimeZoneInfo zone, DateTimeOffset after)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        if (trigger.PerUserZone)
        {
            // The run's local time is read in each member's zone; start when the earliest zone reaches it.
            var local = LocalRun(trigger, TimeZoneInfo.Utc, after + EarliestZone);
            return local is { } l ? new DateTimeOffset(DateTime.SpecifyKind(l, DateTimeKind.Unspecified), TimeSpan.Zero) - EarliestZone : null;
        }
        var run = LocalRun(trigger, zone, after);
        return run is { } r ? LocalTimes.ToInstant(r, zone) : null;
    }

    /// <summary>The local date-time of the next run strictly after an instant read in a zone.</summary>
    private static DateTime? LocalRun(BroadcastTrigger trigger, TimeZoneInfo zone, DateTimeOffset after)
    {
        if (trigger.Once is { } once) return LocalTimes.ToInstant(once, zone) > after ? once : null;
        if (!CronSchedule.TryParse(trigger.Cron!, out var cron, out _)) return null;
        return cron.NextLocal(LocalTimes.ToLocal(after, zone));
    }

    /// <summary>Runs every journey run that is due now, to the end (tests drive this).</summary>
    public async Task<int> RunDueAsync(CancellationToken cancellationToken)
    {
        var runs = 0;
        foreach (var journey in await _store.GetDueJourneyRunsAsync(_time.GetUtcNow(), cancellationToken))
        {
            await RunAsync(journey, cancellationToken);
            runs++;
        }
        return runs;
    }

    private async Task RunAsync(JourneyRecord record, CancellationToken ct)
    {
        var ws = record.WorkspaceId;
        var compiled = _catalog.For(ws).Find(record.Key);
        if (compiled is not { AcceptsEntries: true, Live: { } def } || record.NextRunAt is not { } runAt)
        {
            await _store.SetJourneyRunAsync(ws, record.Key, 0, null, ct);
            return;
        }
        var runId = runAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        if (record.RunCursor == 0) JourneyLog.RunStarted(_logger, record.Id, ws, runId);
        long offered = 0;
        var cursor = record.RunCursor;
        switch (def.Trigger)
        {
            case DateTraitTrigger dt:
                while (true)
                {
                    var page = await _store.GetProfilesAsync(ws, cursor, _options.RunPageSize, ct);
                    if (page.Count == 0) break;
                    var commands = new List<ProfileCommand>();
                    foreach (var p in page)
                    {
                        using var doc = JsonDocument.Parse(p.TraitsJson);
                        if (!SegmentEvaluator.TryGetPath(doc.RootElement, dt.Trait, out var v) || v.ValueKind != JsonValueKind.String) continue;
                        commands.Add(new EnterJourney(ws, null, p.Id, p.RoutingHash, record.Key, "d", null, null, null, DateTriggerOnly: true));
                    }
                    if (commands.Count > 0) await _partitions.SubmitAsync(commands, ct);
                    offered += commands.Count;
                    cursor = page[^1].Id;
                    await _store.SetJourneyRunAsync(ws, record.Key, cursor, runAt, ct);
                }
                await _store.SetJourneyRunAsync(ws, record.Key, 0, null, ct);
                break;
            case BroadcastTrigger b:
            {
                var zone = LocalTimes.ZoneFor(b.Zone ?? def.TimeZone, (await _store.GetWorkspaceSettingsAsync(ws, ct)).GetValueOrDefault(JourneyService.TimeZoneSetting));
                var local = b.PerUserZone ? (runAt + EarliestZone).UtcDateTime : LocalTimes.ToLocal(runAt, zone);
                local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
                if (_segments.For(ws).ById.TryGetValue(b.SegmentId, out var segment))
                {
                    while (true)
                    {
                        var page = await _store.GetSegmentMembersAsync(ws, segment.Key, cursor, _options.RunPageSize, ct);
                        if (page.Count == 0) break;
                        var commands = page.Select(m => (ProfileCommand)new EnterJourney(ws, null, m.ProfileId, null, record.Key, "b:" + runId, null, null,
                            null, LocalEnterAt: b.PerUserZone ? local : null)).ToList();
                        await _partitions.SubmitAsync(commands, ct);
                        offered += commands.Count;
                        cursor = page[^1].ProfileId;
                        await _store.SetJourneyRunAsync(ws, record.Key, cursor, runAt, ct);
                    }
                }
                await _store.SetJourneyRunAsync(ws, record.Key, 0, NextBroadcast(b, zone, runAt + TimeSpan.FromMinutes(1)), ct);
                break;
            }
            default:
                await _store.SetJourneyRunAsync(ws, record.Key, 0, null, ct);
                break;
        }
        JourneyLog.RunDone(_logger, record.Id, ws, runId, offered);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = (_wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            try
            {
                // Another server on a shared store may have published, paused or archived a journey meanwhile.
                if (_time.GetUtcNow() - _refreshed >= _options.PollInterval)
                {
                    await _catalog.RefreshAsync(stoppingToken);
                    _refreshed = _time.GetUtcNow();
                }
                await RunDueAsync(stoppingToken);
                var next = (await _store.ListJourneysAsync(null, stoppingToken)).Where(j => j.NextRunAt is not null).Select(j => j.NextRunAt!.Value)
                    .DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
                var delay = next == DateTimeOffset.MaxValue ? _options.PollInterval : next - _time.GetUtcNow();
                if (delay > _options.PollInterval) delay = _options.PollInterval;
                if (delay > TimeSpan.Zero) await Task.WhenAny(wake, Task.Delay(delay, _time, stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                JourneyLog.RunnerFailed(_logger, ex);
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
