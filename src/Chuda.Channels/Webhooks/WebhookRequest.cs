using System.Text;

namespace Chuda.Channels.Webhooks;

/// <summary>One webhook call. <see cref="MessageId"/> is the idempotency key: every retry of the same message must use the same one.</summary>
public sealed record WebhookRequest
{
    public required Uri Url { get; init; }

    /// <summary>Sent as <c>webhook-id</c> and signed; receivers de-duplicate on it.</summary>
    public required string MessageId { get; init; }

    public HttpMethod Method { get; init; } = HttpMethod.Post;

    public ReadOnlyMemory<byte> Body { get; init; }

    public string ContentType { get; init; } = "application/json";

    /// <summary>Extra headers. The <c>webhook-*</c> headers are the client's own and may not be set here.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>The endpoint's <c>whsec_…</c> secret; when set, the request carries a <c>webhook-signature</c>.</summary>
    public string? Secret { get; init; }

    // Keeps the secret out of logs and exception messages.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Method = {Method}, Url = {Url}, MessageId = {MessageId}, ContentType = {ContentType}, ");
        builder.Append($"Body = {Body.Length} bytes, Headers = {Headers.Count}, Secret = {(Secret is null ? "none" : "***")}");
        return true;
    }
}

/// <summary>What went wrong with a webhook call, if anything.</summary>
public enum WebhookFailure
{
    None,

    /// <summary>The URL or an address it resolved to is not allowed (SSRF rules); nothing was sent. Not retryable.</summary>
    Refused,

    /// <summary>No answer within the timeout. Retryable.</summary>
    Timeout,

    /// <summary>DNS, connect, TLS or I/O failure. Retryable.</summary>
    Connection,

    /// <summary>A 3xx answer; redirects are not followed. Not retryable: the endpoint's URL needs changing.</summary>
    Redirect,

    /// <summary>A non-2xx status: retryable for 408, 429 and 5xx, permanent otherwise.</summary>
    Status,
}

/// <summary>The outcome of one webhook call.</summary>
/// <param name="Delivered">The endpoint answered 2xx.</param>
/// <param name="StatusCode">The HTTP status, when an answer came.</param>
/// <param name="Retryable">Trying again later may succeed (timeouts, connection errors, 408, 429, 5xx).</param>
/// <param name="RetryAfter">The delay a 429 or 503 asked for in <c>Retry-After</c>.</param>
/// <param name="Error">What went wrong, for people; null when delivered.</param>
/// <param name="Duration">From the start of the call to its outcome.</param>
/// <param name="ResponseBody">The start of the response body (at most <see cref="WebhookClientOptions.MaxResponseBodyBytes"/>), UTF-8 decoded.</param>
public sealed record WebhookResult(
    bool Delivered,
    int? StatusCode,
    bool Retryable,
    TimeSpan? RetryAfter,
    string? Error,
    TimeSpan Duration,
    WebhookFailure Failure,
    string? ResponseBody);
