namespace Chuda.Channels.Webhooks;

/// <summary>Settings of <see cref="WebhookClient"/>, validated when it is built.</summary>
public sealed record WebhookClientOptions
{
    /// <summary>Allow-lists for the SSRF rules.</summary>
    public WebhookSecurityOptions Security { get; init; } = new();

    /// <summary>The whole call: DNS, connect, TLS, sending, and reading the (capped) answer.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How much of a response body is read and kept for diagnostics; the rest is discarded unread.</summary>
    public int MaxResponseBodyBytes { get; init; } = 64 * 1024;

    public string UserAgent { get; init; } = "Chuda-Webhooks/1.0";

    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(5))
            throw new ArgumentException($"{nameof(WebhookClientOptions)}.{nameof(Timeout)} must be more than 0 and at most 5 minutes (was {Timeout}).");
        if (MaxResponseBodyBytes is < 0 or > 1024 * 1024)
            throw new ArgumentException($"{nameof(WebhookClientOptions)}.{nameof(MaxResponseBodyBytes)} must be 0 to 1 MiB (was {MaxResponseBodyBytes}).");
        if (string.IsNullOrWhiteSpace(UserAgent))
            throw new ArgumentException($"{nameof(WebhookClientOptions)}.{nameof(UserAgent)} must not be empty.");
        ArgumentNullException.ThrowIfNull(Security);
    }
}
