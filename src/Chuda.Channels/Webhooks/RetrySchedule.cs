namespace Chuda.Channels.Webhooks;

/// <summary>Settings of <see cref="RetrySchedule"/>, validated when it is built.</summary>
public sealed record RetryScheduleOptions
{
    /// <summary>The ceiling of the first retry's delay; it doubles with each attempt.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>No delay is longer, whatever the attempt or a <c>Retry-After</c> asks.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromHours(6);

    /// <summary>Attempts in all, the first one included; after the last, the message has failed.</summary>
    public int MaxAttempts { get; init; } = 12;

    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        if (BaseDelay <= TimeSpan.Zero)
            throw new ArgumentException($"{nameof(RetryScheduleOptions)}.{nameof(BaseDelay)} must be positive (was {BaseDelay}).");
        if (MaxDelay < BaseDelay || MaxDelay > TimeSpan.FromDays(30))
            throw new ArgumentException($"{nameof(RetryScheduleOptions)}.{nameof(MaxDelay)} ({MaxDelay}) must be at least {nameof(BaseDelay)} ({BaseDelay}) and at most 30 days.");
        if (MaxAttempts is < 1 or > 100)
            throw new ArgumentException($"{nameof(RetryScheduleOptions)}.{nameof(MaxAttempts)} must be 1 to 100 (was {MaxAttempts}).");
    }
}

/// <summary>
/// When to try a failed delivery again: exponential backoff with full jitter — after attempt <c>n</c> the delay is
/// uniformly random in [0, min(MaxDelay, BaseDelay·2^(n−1))] — raised to the endpoint's <c>Retry-After</c> when that
/// is longer, and never above <see cref="RetryScheduleOptions.MaxDelay"/>. It computes an instant to store (a durable
/// retry is a row), it does not wait.
/// </summary>
public sealed class RetrySchedule
{
    public RetrySchedule(RetryScheduleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    public RetryScheduleOptions Options { get; }

    /// <summary>
    /// The instant of the next attempt after attempt number <paramref name="attempt"/> (1 for the first) failed at
    /// <paramref name="now"/>, or null when that was the last attempt allowed.
    /// </summary>
    public DateTimeOffset? NextAttemptAt(int attempt, DateTimeOffset now, Random random, TimeSpan? retryAfter = null) =>
        NextDelay(attempt, random, retryAfter) is { } delay ? now + delay : null;

    /// <summary>The delay before the next attempt after attempt <paramref name="attempt"/> failed, or null when attempts are exhausted.</summary>
    public TimeSpan? NextDelay(int attempt, Random random, TimeSpan? retryAfter = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        ArgumentNullException.ThrowIfNull(random);
        if (attempt >= Options.MaxAttempts) return null;
        var ceiling = Ceiling(attempt);
        var delay = TimeSpan.FromTicks((long)(ceiling.Ticks * random.NextDouble()));
        if (retryAfter is { } asked && asked > delay) delay = asked < Options.MaxDelay ? asked : Options.MaxDelay;
        return delay;
    }

    /// <summary>The largest delay jitter can pick after attempt <paramref name="attempt"/>: min(MaxDelay, BaseDelay·2^(attempt−1)).</summary>
    public TimeSpan Ceiling(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var doublings = attempt - 1;
        // BaseDelay·2^k overflows long ticks long before k reaches 63; stop doubling once past MaxDelay.
        var ticks = Options.BaseDelay.Ticks;
        for (var i = 0; i < doublings && ticks < Options.MaxDelay.Ticks; i++) ticks *= 2;
        return TimeSpan.FromTicks(Math.Min(ticks, Options.MaxDelay.Ticks));
    }
}
