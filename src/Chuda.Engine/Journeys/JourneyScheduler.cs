using Chuda.Domain.Journeys;
using Chuda.Engine.Profiles;
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
    private readonly object _gate = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _sleepingUntil = DateTimeOffset.MaxValue;
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

    private void OnScheduled(DateTimeOffset due)
    {
        lock (_gate)
        {
            if (due >= _sleepingUntil) return;
            _sleepingUntil = due;
            _wake.TrySetResult();
        }
    }

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
        var inFlight = new Queue<Task>();
        DateTimeOffset? cursorDue = null;
        long cursorId = 0;
        HashSet<long>? lastRestart = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            Task wake;
            lock (_gate)
            {
                _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _sleepingUntil = DateTimeOffset.MaxValue; // while working, any newly scheduled timer wakes the next sleep
                wake = _wake.Task;
            }
            try
            {
                var now = _time.GetUtcNow();
                var due = await _store.GetDueJourneyTimersAsync(now, _options.TimerBatchSize, cursorDue, cursorId, stoppingToken);
                if (due.Count > 0)
                {
                    if (cursorDue is null)
                    {
                        // A fresh scan: the same set as the last fresh scan means the partitions did not take them. Back off.
                        var ids = due.Select(t => t.InstanceId).ToHashSet();
                        if (lastRestart is not null && ids.SetEquals(lastRestart))
                        {
                            JourneyLog.TimersStuck(_logger, due.Count);
                            await Task.Delay(_options.RetryDelay, _time, stoppingToken);
                        }
                        lastRestart = ids;
                    }
                    cursorDue = due[^1].DueAt;
                    cursorId = due[^1].InstanceId;
                    while (inFlight.Count >= 2) await inFlight.Dequeue();
                    inFlight.Enqueue(SubmitAsync(due, stoppingToken));
                    var overdue = due.Count(t => now - t.DueAt > _options.LateTolerance);
                    if (overdue > 0 && _options.CatchUpRatePerSecond > 0)
                        await Task.Delay(TimeSpan.FromSeconds((double)overdue / _options.CatchUpRatePerSecond), _time, stoppingToken);
                    continue;
                }
                // Nothing after the cursor: wait for what is in flight, then start a fresh scan (which also retries anything refused).
                while (inFlight.Count > 0) await inFlight.Dequeue();
                if (cursorDue is not null)
                {
                    cursorDue = null;
                    cursorId = 0;
                    continue;
                }
                lastRestart = null;
                var next = await _store.GetNextJourneyTimerDueAsync(stoppingToken);
                var until = now + _options.PollInterval;
                if (next is { } n && n < until) until = n;
                lock (_gate)
                {
                    _sleepingUntil = until;
                    if (wake.IsCompleted) continue;
                }
                var delay = until - _time.GetUtcNow();
                if (delay > TimeSpan.Zero) await Task.WhenAny(wake, Task.Delay(delay, _time, stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                JourneyLog.SchedulerFailed(_logger, ex);
                inFlight.Clear();
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
}
