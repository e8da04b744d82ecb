namespace Chuda.Engine.Journeys;

/// <summary>Tuning of the journey runtime. Units are in the types.</summary>
public sealed record JourneyOptions
{
    /// <summary>Timers handed to the partitions per round.</summary>
    public int TimerBatchSize { get; init; } = 4096;

    /// <summary>Longest sleep of the timer loop (another process on a shared store may add earlier timers).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Pause after a failure before trying again.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A timer firing later than this is treated as caught up after downtime: the next step's clock starts from now rather
    /// than from the missed due time (so a chain of waits does not fire in a burst). Smaller lateness is absorbed: the
    /// next wait starts at the due time, so delays do not accumulate.
    /// </summary>
    public TimeSpan LateTolerance { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Timers overdue by more than <see cref="LateTolerance"/> (a backlog after downtime) fire at most this many per second,
    /// a bounded stagger instead of a burst. 0 means no limit. Timers due on time are never held back.
    /// </summary>
    public int CatchUpRatePerSecond { get; init; } = 2_000;

    /// <summary>Profiles per page of a broadcast or activation walk.</summary>
    public int RunPageSize { get; init; } = 1000;

    /// <summary>Webhook calls started per round, and their per-call timeout.</summary>
    public int WebhookBatchSize { get; init; } = 100;

    public TimeSpan WebhookTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Webhook retries: attempts in all, and the backoff's base and ceiling (exponential with full jitter).</summary>
    public int WebhookMaxAttempts { get; init; } = 8;

    public TimeSpan WebhookBaseDelay { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan WebhookMaxDelay { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Hosts (exact names) and networks (CIDR) webhooks may reach even though they are private or loopback.</summary>
    public IReadOnlyList<string> WebhookAllowedHosts { get; init; } = [];

    public IReadOnlyList<string> WebhookAllowedNetworks { get; init; } = [];
}
