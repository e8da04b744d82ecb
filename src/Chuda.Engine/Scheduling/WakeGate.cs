namespace Chuda.Engine.Scheduling;

/// <summary>
/// The sleep of a loop that waits for the earliest due row (segment re-checks, journey timers): it sleeps until a known
/// instant, and a commit that schedules something earlier wakes it at once. Thread-safe; <see cref="Scheduled"/> is
/// called from partition threads after their commit and is cheap.
/// </summary>
internal sealed class WakeGate
{
    private readonly object _gate = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _sleepingUntil = DateTimeOffset.MaxValue;

    /// <summary>Something is due at <paramref name="due"/>: wakes the loop if it sleeps past that.</summary>
    public void Scheduled(DateTimeOffset due)
    {
        lock (_gate)
        {
            if (due >= _sleepingUntil) return;
            _sleepingUntil = due;
            _wake.TrySetResult();
        }
    }

    /// <summary>Starts a working round: anything scheduled from now on completes the returned task.</summary>
    public Task Arm()
    {
        lock (_gate)
        {
            _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _sleepingUntil = DateTimeOffset.MaxValue;
            return _wake.Task;
        }
    }

    /// <summary>Declares the sleep until <paramref name="until"/>; false when a wake-up already arrived (work again instead).</summary>
    public bool Sleep(DateTimeOffset until, Task wake)
    {
        lock (_gate)
        {
            _sleepingUntil = until;
            return !wake.IsCompleted;
        }
    }
}
