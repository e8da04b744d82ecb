using Chuda.Domain.Journeys;
using Chuda.Engine.Profiles;
using Chuda.Engine.Scheduling;
using Chuda.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chuda.Engine.Journeys;

/// <summary>
/// Fires journey timers. A timer is an instance row with a due time (written in the transaction of the transition that
/// set it), so timers survive restarts and crashes. This loop sleeps until the earliest due time (a commit that sets an
/// earlier one wakes it; there is no fixed polling delay), reads due timers in (due, id) order in batches and hands
/// them to the profiles' partitions as <see cref="FireJourneyTimer"/> commands, keeping two batches in flight. A
/// backlog older than <see cref="JourneyOptions.LateTolerance"/> (after downtime) is released at
/// <see cref="JourneyOptions.CatchUpRatePerSecond"/> at most: a bounded stagger, not a burst.
/// </summary>
public sealed class JourneyScheduler : BackgroundService
{
    private readonly IChudaStore _store;
    private readonly ProfilePartitions _partitions;
    private readonly TimeProvider _time;
    private readonly ILogger<JourneyScheduler> _logger;
    private readonly JourneyOptions _options;
    private readonly WakeGate _gate = new();
    private long _fired;

    public JourneyScheduler(IChudaStore store, ProfilePartitions partitions, JourneyCatalog catalog, TimeProvider time,
        ILogger<JourneyScheduler> logger, JourneyOptions options)
    {
        _store = store;
        _partitions = partitions;
        _time = time;
        _logger = logger;
        _options = options;
        catalog.TimerScheduled += OnScheduled;
    }

    /// <summary>Timers handed to the partitions since start.</summary>
    public long Fired => Interlocked.Read(ref _fired);

    private void OnScheduled(DateTimeOffset due) => _gate.Scheduled(due);

    /// <summary>Fires every timer due now, round after round until none is left (tests drive virtual time with this).</summary>
    public async Task<int> FireDueAsync(CancellationToken cancellationToken)
    {
        var fired = 0;
        HashSet<long>? previous = null;
        while (true)
        {
            var due = await _store.GetDueJourneyTimersAsync(_time.GetUtcNow(), _options.TimerBatchSize, null, 0, cancellationToken);
            if (due.Count == 0) return fired;
            var ids = due.Select(t => t.InstanceId).ToHashSet();
            if (previous is not null && ids.SetEquals(previous))
                throw new InvalidOperationException($"{due.Count} journey timer(s) stay due after firing: their partition refused them.");
            previous = ids;
            await SubmitAsync(due, cancellationToken);
            fired += due.Count;
        }
    }

    private async Task SubmitAsync(IReadOnlyList<JourneyTimer> due, CancellationToken cancellationToken)
    {
        var commands = new ProfileCommand[due.Count];
        for (var i = 0; i < due.Count; i++)
        {
            var t = due[i];
            commands[i] = new FireJourneyTimer(t.WorkspaceId, t.InstanceId, t.ProfileId, t.RoutingHash, t.DueAt);
        }
        await _partitions.SubmitAsync(commands, cancellationToken);
        Interlocked.Add(ref _fired, due.Count);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Timers handed over and not yet committed: a fresh scan still sees them due, so they are left out of it. Not waiting
        // for those commits before the next scan keeps a slow commit on one partition from delaying timers of the others.
        // A timer still due with the same due time after its hand-over committed was refused (its journey is not running
        // here yet, say): it is retried after RetryDelay, not in a tight loop.
        var inFlight = new Queue<Task>();
        var handedOver = new HashSet<long>();
        var refused = new Dictionary<long, (DateTimeOffset Due, DateTimeOffset RetryAt)>();
        DateTimeOffset? cursorDue = null;
        long cursorId = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = _gate.Arm(); // while working, any newly scheduled timer wakes the next sleep
            try
            {
                while (inFlight.TryPeek(out var done) && done.IsCompleted) await inFlight.Dequeue(); // surfaces failures
                var now = _time.GetUtcNow();
                var due = await _store.GetDueJourneyTimersAsync(now, _options.TimerBatchSize, cursorDue, cursorId, stoppingToken);
                var fresh = new List<JourneyTimer>(due.Count);
                DateTimeOffset? retryAt = null;
                lock (handedOver)
                {
                    foreach (var t in due)
                    {
                        if (handedOver.Contains(t.InstanceId)) continue;
                        if (refused.TryGetValue(t.InstanceId, out var r) && r.Due == t.DueAt && r.RetryAt > now)
                        {
                            retryAt = retryAt is { } a && a < r.RetryAt ? a : r.RetryAt;
                            continue;
                        }
                        fresh.Add(t);
                    }
                    foreach (var id in refused.Where(kv => kv.Value.RetryAt <= now).Select(kv => kv.Key).ToList()) refused.Remove(id);
                }
                // A full page means a backlog: page on with a cursor instead of re-reading what is in flight.
                if (due.Count == _options.TimerBatchSize)
                {
                    cursorDue = due[^1].DueAt;
                    cursorId = due[^1].InstanceId;
                }
                else
                {
                    cursorDue = null;
                    cursorId = 0;
                }
                if (fresh.Count > 0)
                {
                    while (inFlight.Count >= 2) await inFlight.Dequeue();
                    lock (handedOver) handedOver.UnionWith(fresh.Select(t => t.InstanceId));
                    inFlight.Enqueue(HandOverAsync(fresh, handedOver, refused, stoppingToken));
                    var overdue = fresh.Count(t => now - t.DueAt > _options.LateTolerance);
                    if (overdue > 0 && _options.CatchUpRatePerSecond > 0)
                        await Task.Delay(TimeSpan.FromSeconds((double)overdue / _options.CatchUpRatePerSecond), _time, stoppingToken);
                    continue;
                }
                if (cursorDue is not null) continue;
                if (due.Count > 0 && inFlight.Count > 0)
                {
                    // What is due is in flight: wait for a commit, a newly scheduled timer, or a moment.
                    await Task.WhenAny(inFlight.Peek(), wake, Task.Delay(TimeSpan.FromMilliseconds(1), _time, stoppingToken));
                    continue;
                }
                if (retryAt is not null) JourneyLog.TimersStuck(_logger, due.Count);
                var next = retryAt ?? await _store.GetNextJourneyTimerDueAsync(stoppingToken);
                var until = now + _options.PollInterval;
                if (next is { } n && n < until) until = n;
                if (!_gate.Sleep(until, wake) && retryAt is null) continue;
                var delay = until - _time.GetUtcNow();
                if (delay > TimeSpan.Zero) await Task.WhenAny(retryAt is null ? wake : Task.Delay(delay, _time, stoppingToken), Task.Delay(delay, _time, stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                JourneyLog.SchedulerFailed(_logger, ex);
                inFlight.Clear();
                lock (handedOver) handedOver.Clear();
                cursorDue = null;
                cursorId = 0;
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

    /// <summary>Submits timers to their partitions; once they are committed (or refused) they may be read again. Any that is
    /// read again still due at the same instant was refused and waits <see cref="JourneyOptions.RetryDelay"/>.</summary>
    private async Task HandOverAsync(List<JourneyTimer> timers, HashSet<long> handedOver, Dictionary<long, (DateTimeOffset Due, DateTimeOffset RetryAt)> refused,
        CancellationToken cancellationToken)
    {
        try
        {
            await SubmitAsync(timers, cancellationToken);
        }
        finally
        {
            var retryAt = _time.GetUtcNow() + _options.RetryDelay;
            lock (handedOver)
            {
                foreach (var t in timers)
                {
                    handedOver.Remove(t.InstanceId);
                    refused[t.InstanceId] = (t.DueAt, retryAt);
                }
            }
        }
    }
}
