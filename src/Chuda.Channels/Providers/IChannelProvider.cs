using System.Text.Json;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>
/// One configured way of sending on a channel (an SMTP relay, a webhook endpoint, an SMS gateway). The delivery pipeline
/// decides whether, when and where a message goes; a provider only sends it and says what happened. New channels and
/// vendors (SMS, push, WeChat, voice) are new providers: the pipeline does not change.
/// </summary>
public interface IChannelProvider : IAsyncDisposable
{
    /// <summary>The configured provider's id (unique per workspace).</summary>
    string Id { get; }

    /// <summary>The channel it sends on: <c>email</c>, <c>sms</c>, …</summary>
    string Channel { get; }

    /// <summary>Sends one message. Never throws for a delivery outcome (only for cancellation): a failure is a result, and
    /// it concerns this message only.</summary>
    Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken);
}

/// <summary>Creates providers of one kind from their stored configuration, and validates configurations.</summary>
public interface IProviderFactory
{
    /// <summary>The kind name used in configurations: <c>smtp</c>, <c>webhook</c>, <c>sandbox</c>, …</summary>
    string Kind { get; }

    /// <summary>The channels a provider of this kind can send on.</summary>
    IReadOnlyList<string> Channels { get; }

    /// <summary>Configuration fields that are secrets: accepted on write, never returned.</summary>
    IReadOnlyList<string> SecretFields { get; }

    /// <summary>Problems with a configuration, each with its JSON path; empty when it is valid.</summary>
    IReadOnlyList<(string Path, string Message)> Validate(JsonElement config);

    IChannelProvider Create(string id, string channel, JsonElement config);
}

/// <summary>A rendered message, ready for a provider.</summary>
/// <param name="MessageId">Chuda's public message id (<c>m_…</c>).</param>
/// <param name="IdempotencyKey">Stable across retries and crashes: providers that accept an idempotency key get this one.</param>
/// <param name="Recipient">The address on this channel (e-mail address, E.164 phone, push token, user id, …).</param>
/// <param name="Headers">Channel headers the pipeline adds (e-mail: <c>List-Unsubscribe</c>, <c>List-Unsubscribe-Post</c>).</param>
public sealed record ProviderMessage(
    string MessageId,
    string IdempotencyKey,
    string Channel,
    string Recipient,
    ChannelContent Content,
    string Category,
    IReadOnlyDictionary<string, string> Headers);

/// <summary>What a provider did with a message.</summary>
public enum ProviderOutcome
{
    /// <summary>Accepted for delivery; a delivery receipt may follow.</summary>
    Accepted,
    /// <summary>Delivered already (in-app inbox, a webhook endpoint that answered 2xx).</summary>
    Delivered,
    /// <summary>Try again later: throttled, timed out, a 4xx SMTP reply, a 5xx HTTP answer.</summary>
    TransientFailure,
    /// <summary>Will not work with this provider: rejected address, bad credentials, refused by policy.</summary>
    PermanentFailure,
}

/// <summary>A provider's answer for one message.</summary>
/// <param name="HardBounce">The address itself does not exist (SMTP 550 5.1.1, an invalid number): it is suppressed.</param>
/// <param name="RetryAfter">How long the provider asked us to wait (HTTP Retry-After, SMPP throttling).</param>
public sealed record ProviderResult(ProviderOutcome Outcome, string Detail, string? ProviderMessageId = null, bool HardBounce = false, TimeSpan? RetryAfter = null)
{
    public bool Succeeded => Outcome is ProviderOutcome.Accepted or ProviderOutcome.Delivered;
}
