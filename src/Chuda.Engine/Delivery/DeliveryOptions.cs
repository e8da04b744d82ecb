namespace Chuda.Engine.Delivery;

/// <summary>Tuning of the delivery dispatcher. Defaults suit one node with a few cores.</summary>
public sealed record DeliveryOptions
{
    /// <summary>Messages decided per round and lane.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Concurrent provider calls of the transactional lane.</summary>
    public int TransactionalConcurrency { get; init; } = 8;

    /// <summary>Concurrent provider calls of the marketing lane.</summary>
    public int MarketingConcurrency { get; init; } = 16;

    /// <summary>The longest sleep between looks at the outbox (another server on the same store may have queued something).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>After an unexpected error, how long a lane waits before its next round.</summary>
    public TimeSpan ErrorDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Provider attempts in all (quick in-process retries count as one) before a transient failure counts as failed.</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>Durable retry backoff: exponential from the base, capped, with full jitter.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Quick in-process retries of a transient failure (Polly), and their base delay.</summary>
    public int QuickRetries { get; init; } = 2;

    public TimeSpan QuickRetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest a single provider call may take.</summary>
    public TimeSpan ProviderTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A provider's circuit opens when at least half of its calls in the sampling window failed at the provider level
    /// (and there were at least this many calls); while open, the next provider of the channel takes its traffic.</summary>
    public int ProviderBreakerMinimumThroughput { get; init; } = 3;

    public TimeSpan ProviderBreakerSamplingDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an open provider is left out before one trial call decides whether it is back.</summary>
    public TimeSpan ProviderBreakDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a delivery receipt whose message is not yet known (its send's outcome not yet committed) is kept
    /// and looked up again before it is dropped.</summary>
    public TimeSpan ReportMatchWindow { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A digest's window when the step names none.</summary>
    public TimeSpan DefaultDigestWindow { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The public base URL of this server, used in tracking, unsubscribe and preference links. Settable: the host
    /// sets it to the address it listens on once it knows it, unless one was configured.</summary>
    public Uri PublicBaseUrl { get; set; } = new("http://localhost:8080/");

    /// <summary>Whether e-mail links are rewritten for click tracking and an open pixel is added.</summary>
    public bool TrackEmail { get; init; } = true;

    /// <summary>How long the workspace's provider and policy snapshot is reused before it is read again.</summary>
    public TimeSpan CatalogRefresh { get; init; } = TimeSpan.FromSeconds(5);
}
