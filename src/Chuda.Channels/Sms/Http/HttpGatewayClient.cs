using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Chuda.Channels.Providers;
using Chuda.Channels.Webhooks;

namespace Chuda.Channels.Sms.Http;

/// <summary>How HTTP SMS and voice providers reach their vendor.</summary>
public sealed record HttpGatewayOptions
{
    /// <summary>The whole call, connect to last byte of the answer.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Only the start of an answer is read (the vendors answer with small JSON documents).</summary>
    public int MaxResponseBytes { get; init; } = 64 * 1024;

    /// <summary>Addresses a configured gateway URL may reach: like webhooks, only public addresses unless allow-listed
    /// (a gateway URL is workspace configuration, so it must not reach the operator's own network).</summary>
    public WebhookSecurityOptions Security { get; init; } = new();

    public string UserAgent { get; init; } = "Chuda-Channels/1.0";
}

/// <summary>What went wrong on the wire, if anything.</summary>
public enum HttpGatewayFailure
{
    None,
    /// <summary>The URL or an address it resolved to is refused by the SSRF rules; nothing was sent.</summary>
    Refused,
    Timeout,
    /// <summary>DNS, connect (refused), TLS or I/O failure.</summary>
    Connection,
}

/// <summary>One request to a vendor.</summary>
public sealed record HttpGatewayRequest(HttpMethod Method, Uri Url)
{
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public byte[]? Body { get; init; }

    public string? ContentType { get; init; }
}

/// <summary>The vendor's answer (or the failure to get one). <paramref name="Body"/> is UTF-8 decoded and capped.</summary>
public sealed record HttpGatewayResponse(HttpGatewayFailure Failure, int Status, string Body, TimeSpan? RetryAfter, string? Error)
{
    public bool Is2xx => Failure == HttpGatewayFailure.None && Status is >= 200 and < 300;

    /// <summary>For people: the status and the start of the body, or the failure.</summary>
    public string Describe() =>
        Failure == HttpGatewayFailure.None ? $"HTTP {Status}: {Shorten(Body)}".TrimEnd(' ', ':') : $"{Failure}: {Error}";

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    /// <summary>
    /// The outcomes that do not depend on the vendor's error codes: SSRF refusal (the configuration is wrong: permanent, provider
    /// down), timeouts and connection failures (transient, provider down), 429 (transient with Retry-After), 401/403 (authentication:
    /// provider down), 408 and 5xx (transient, provider down). Null for 2xx and the other 4xx, which the vendor mapping decides.
    /// </summary>
    public ProviderResult? CommonOutcome() => Failure switch
    {
        HttpGatewayFailure.Refused => new ProviderResult(ProviderOutcome.PermanentFailure, Describe(), ProviderDown: true),
        HttpGatewayFailure.Timeout or HttpGatewayFailure.Connection => new ProviderResult(ProviderOutcome.TransientFailure, Describe(), ProviderDown: true),
        _ => Status switch
        {
            429 => new ProviderResult(ProviderOutcome.TransientFailure, Describe(), RetryAfter: RetryAfter),
            401 or 403 or 408 or >= 500 => new ProviderResult(ProviderOutcome.TransientFailure, Describe(), RetryAfter: RetryAfter, ProviderDown: true),
            _ => null,
        },
    };
}

/// <summary>
/// A small HTTP client for SMS and voice vendors: pooled connections (one instance per provider, safe for concurrent calls), a
/// timeout for the whole call, no redirects, a capped answer, the SSRF rules applied to every address at connect time. Failures are
/// returned, not thrown; only a cancellation of the caller's token throws.
/// </summary>
public sealed class HttpGatewayClient : IDisposable
{
    /// <summary>Whether <paramref name="text"/> is an absolute http(s) URL (vendor endpoints and callback URLs in configurations).</summary>
    public static bool IsHttpUrl(string text) => Uri.TryCreate(text, UriKind.Absolute, out var u) && u.Scheme is "http" or "https";

    private readonly HttpGatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly SsrfGuard _guard;
    private readonly HttpClient _http;

    public HttpGatewayClient(HttpGatewayOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        if (options.Timeout <= TimeSpan.Zero) throw new ArgumentException("The timeout must be positive.", nameof(options));
        _options = options;
        _time = time;
        _guard = new SsrfGuard(options.Security);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            ConnectCallback = new GuardedConnector(_guard).ConnectAsync,
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    public SsrfGuard Guard => _guard;

    public async Task<HttpGatewayResponse> SendAsync(HttpGatewayRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var verdict = _guard.CheckUrl(request.Url);
        if (!verdict.Allowed) return new HttpGatewayResponse(HttpGatewayFailure.Refused, 0, "", null, verdict.Reason);
        using var message = new HttpRequestMessage(request.Method, request.Url)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(request.ContentType ?? "application/octet-stream");
        }
        message.Headers.UserAgent.ParseAdd(_options.UserAgent);
        foreach (var (name, value) in request.Headers)
        {
            if (message.Content is not null && string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                // A configured content type replaces the body type's.
                if (!MediaTypeHeaderValue.TryParse(value, out var contentType))
                    return new HttpGatewayResponse(HttpGatewayFailure.Refused, 0, "", null, $"'{value}' is not a content type");
                message.Content.Headers.ContentType = contentType;
                continue;
            }
            if (value.AsSpan().IndexOfAny('\r', '\n') >= 0 || !message.Headers.TryAddWithoutValidation(name, value)
                && (message.Content is null || !message.Content.Headers.TryAddWithoutValidation(name, value)))
                return new HttpGatewayResponse(HttpGatewayFailure.Refused, 0, "", null, $"header '{name}' cannot be sent");
        }
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var body = await ReadCappedAsync(response.Content, linked.Token);
            return new HttpGatewayResponse(HttpGatewayFailure.None, (int)response.StatusCode, Encoding.UTF8.GetString(body), RetryAfter(response), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new HttpGatewayResponse(HttpGatewayFailure.Timeout, 0, "", null, $"no answer within {_options.Timeout.TotalMilliseconds:0} ms");
        }
        catch (InvalidOperationException ex)
        {
            // The request itself cannot be sent as configured (a header the client refuses): nothing went out.
            return new HttpGatewayResponse(HttpGatewayFailure.Refused, 0, "", null, ex.Message);
        }
        catch (HttpRequestException ex) when (EndpointRefusedException.Find(ex) is { } refusal)
        {
            return new HttpGatewayResponse(HttpGatewayFailure.Refused, 0, "", null, refusal.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
        {
            return new HttpGatewayResponse(HttpGatewayFailure.Connection, 0, "", null, Describe(ex));
        }
    }

    public void Dispose() => _http.Dispose();

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (header?.Date is { } date)
        {
            var wait = date - _time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return null;
    }


    private async Task<byte[]> ReadCappedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[_options.MaxResponseBytes];
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (read == 0) break;
            total += read;
        }
        return buffer[..total];
    }


    private static string Describe(Exception ex)
    {
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!message.Contains(inner.Message, StringComparison.Ordinal)) message += ": " + inner.Message;
        }
        return message;
    }

}
