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

    /// <summary>Whether this provider can reach <paramref name="recipient"/> at all (an FCM provider takes <c>android:…</c> push
    /// tokens, not <c>ios:…</c> ones; a WeCom provider takes <c>wecom:…</c> user ids). Providers that do not accept a recipient
    /// are skipped for it, which is neither a failure nor a failover.</summary>
    bool Accepts(string recipient) => true;
}

/// <summary>
/// Implemented by providers that receive HTTP callbacks (delivery-status reports, inbound messages, call results). The server
/// hands over the raw request at <c>/callbacks/{workspace}/{providerId}</c>; the provider verifies its authenticity (a signature
/// or shared token, per the vendor's scheme), parses it and says what to answer.
/// </summary>
public interface IProviderCallbacks
{
    ProviderCallbackResult HandleCallback(ProviderCallback callback);
}

/// <summary>A raw HTTP callback. <paramref name="Headers"/> and <paramref name="Query"/> are case-insensitive by name.</summary>
/// <param name="Url">The full URL the request was made to (as the provider saw it, for URL-signing schemes).</param>
public sealed record ProviderCallback(
    string Method,
    Uri Url,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyDictionary<string, string> Query,
    ReadOnlyMemory<byte> Body);

/// <summary>What a callback carried and what to answer.</summary>
/// <param name="Authentic">False when the signature or token did not verify: nothing in it is used, and the server answers 401.</param>
public sealed record ProviderCallbackResult(bool Authentic, IReadOnlyList<ProviderReport> Reports, int StatusCode = 200, string ResponseBody = "",
    string ContentType = "text/plain")
{
    public static ProviderCallbackResult Rejected(string why) => new(false, [], 401, why);
}

/// <summary>What a provider learned after the send: a delivery receipt, a call result, an inbound message.</summary>
public enum ProviderReportKind
{
    /// <summary>The handset, device or mailbox received it.</summary>
    Delivered,
    /// <summary>It will not be delivered (expired, rejected by the carrier, the call was not answered).</summary>
    Failed,
    /// <summary>It will not be delivered because the address does not exist (unknown number, unregistered token): suppressed.</summary>
    Undeliverable,
    /// <summary>The person read or answered it (a read receipt, an answered call).</summary>
    Read,
    /// <summary>The person sent something to us (an SMS reply such as <c>STOP</c> or <c>退订</c>).</summary>
    Inbound,
}

/// <summary>One report from a provider. <paramref name="ProviderMessageId"/> is the id the provider returned from
/// <see cref="IChannelProvider.SendAsync"/> (<see cref="ProviderResult.ProviderMessageId"/>); for <see cref="ProviderReportKind.Inbound"/>
/// it is null and <paramref name="From"/> / <paramref name="Text"/> carry the message.</summary>
public sealed record ProviderReport(ProviderReportKind Kind, string? ProviderMessageId, string Detail, string? From = null, string? Text = null);

/// <summary>Where a provider puts what it learns asynchronously (SMPP <c>deliver_sm</c> receipts and inbound messages). The engine
/// binds one sink per configured provider; reports are matched to messages by provider message id.</summary>
public interface IProviderReportSink
{
    ValueTask ReportAsync(ProviderReport report, CancellationToken cancellationToken);

    /// <summary>Where this provider's vendor callbacks are received (<c>…/callbacks/{workspace}/{providerId}</c>), when the host
    /// serves them: providers whose vendor takes a per-request callback URL (Twilio's <c>StatusCallback</c>) send this one unless
    /// their configuration names another. Read at send time: the public address may be known only once the server started.</summary>
    Uri? CallbackUrl => null;
}

/// <summary>A sink that drops every report (tools and tests that do not care about receipts).</summary>
public sealed class NullReportSink : IProviderReportSink
{
    public static readonly NullReportSink Instance = new();

    public ValueTask ReportAsync(ProviderReport report, CancellationToken cancellationToken) => ValueTask.CompletedTask;
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

    /// <param name="reports">Where the provider reports receipts and inbound messages that arrive outside a send
    /// (SMPP <c>deliver_sm</c>). HTTP callbacks go through <see cref="IProviderCallbacks"/> instead.</param>
    IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports);
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
/// <param name="HardBounce">The address itself does not exist (SMTP 550 5.1.1, an invalid number, an unregistered or expired push
/// token): it is suppressed, and a push token is removed from the profile.</param>
/// <param name="ProviderDown">The provider itself failed (connection refused, 5xx, authentication failure, an SMPP bind that
/// failed), not this message: the next provider of the channel takes over and this one is retried later. A permanent
/// per-recipient error never sets this.</param>
/// <param name="RetryAfter">How long the provider asked us to wait (HTTP Retry-After, SMPP throttling).</param>
public sealed record ProviderResult(ProviderOutcome Outcome, string Detail, string? ProviderMessageId = null, bool HardBounce = false, TimeSpan? RetryAfter = null,
    bool ProviderDown = false)
{
    public bool Succeeded => Outcome is ProviderOutcome.Accepted or ProviderOutcome.Delivered;
}
