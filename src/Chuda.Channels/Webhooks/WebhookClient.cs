using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chuda.Channels.Webhooks;

/// <summary>
/// Sends webhooks, one call at a time, safely: the host is resolved here and every address it resolves to is
/// checked by the <see cref="SsrfGuard"/> when each connection is opened (so a name that points at — or is rebound
/// to — an internal address is refused before any byte is sent); redirects are not followed; the whole call has a
/// timeout; only the start of the answer is read. Requests with a secret are signed as Standard Webhooks. Build one
/// per process and share it; it pools connections.
/// </summary>
public sealed class WebhookClient : IDisposable
{
    private static readonly HashSet<string> OwnHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        StandardWebhookSigner.IdHeader, StandardWebhookSigner.TimestampHeader, StandardWebhookSigner.SignatureHeader,
    };

    private readonly WebhookClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HttpClient _http;

    public WebhookClient(WebhookClientOptions options, TimeProvider timeProvider, ILogger<WebhookClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        _options = options;
        _time = timeProvider;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Guard = new SsrfGuard(options.Security);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxResponseHeadersLength = 64,
            ConnectCallback = new GuardedConnector(Guard).ConnectAsync,
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    /// <summary>The SSRF rules this client applies.</summary>
    public SsrfGuard Guard { get; }

    /// <summary>
    /// Sends <paramref name="request"/> once. Failures are returned, classified, not thrown; only a cancellation of
    /// <paramref name="cancellationToken"/> throws.
    /// </summary>
    /// <exception cref="ArgumentException">The request itself is malformed (content type, a header).</exception>
    public async Task<WebhookResult> SendAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.MessageId);
        if (request.MessageId.Any(c => c is < '!' or > '~'))
            throw new ArgumentException("A webhook message id is visible ASCII without spaces.", nameof(request));
        var started = _time.GetTimestamp();
        var host = request.Url.IsAbsoluteUri ? request.Url.IdnHost : "";

        var verdict = Guard.CheckUrl(request.Url);
        if (!verdict.Allowed) return Refused(request, host, verdict.Reason!, started);

        using var message = BuildMessage(request);
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var body = await ReadCappedAsync(response.Content, linked.Token);
            return Classify(request, host, response, body, started);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Our timeout, or the handler's connect timeout (the same length): either way the endpoint was too slow.
            return Failed(request, host, WebhookFailure.Timeout, null, true, $"no answer within {_options.Timeout.TotalMilliseconds:0} ms", started);
        }
        catch (HttpRequestException ex) when (EndpointRefusedException.Find(ex) is { } refusal)
        {
            return Refused(request, host, refusal.Message, started);
        }
        catch (HttpRequestException ex)
        {
            return Failed(request, host, WebhookFailure.Connection, null, true, Describe(ex), started);
        }
        catch (IOException ex)
        {
            return Failed(request, host, WebhookFailure.Connection, null, true, Describe(ex), started);
        }
    }

    public void Dispose() => _http.Dispose();

    private HttpRequestMessage BuildMessage(WebhookRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType))
            throw new ArgumentException($"'{request.ContentType}' is not a content type.", nameof(request));
        var message = new HttpRequestMessage(request.Method, request.Url)
        {
            Content = new ReadOnlyMemoryContent(request.Body),
            // HTTP/3 runs over QUIC, which does not go through ConnectCallback and so would bypass the address checks.
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        try
        {
            message.Content.Headers.ContentType = contentType;
            message.Headers.UserAgent.ParseAdd(_options.UserAgent);
            foreach (var (name, value) in request.Headers)
            {
                if (OwnHeaders.Contains(name))
                    throw new ArgumentException($"Header '{name}' is set by the webhook client.", nameof(request));
                if (!message.Headers.TryAddWithoutValidation(name, value) && !message.Content.Headers.TryAddWithoutValidation(name, value))
                    throw new ArgumentException($"Header '{name}' cannot be set on a webhook request.", nameof(request));
            }
            var timestamp = _time.GetUtcNow();
            message.Headers.Add(StandardWebhookSigner.IdHeader, request.MessageId);
            message.Headers.Add(StandardWebhookSigner.TimestampHeader, timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
            if (request.Secret is not null)
            {
                message.Headers.Add(StandardWebhookSigner.SignatureHeader,
                    StandardWebhookSigner.Sign(request.Secret, request.MessageId, timestamp, request.Body.Span));
            }
            return message;
        }
        catch
        {
            message.Dispose();
            throw;
        }
    }


    private async Task<byte[]> ReadCappedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var cap = _options.MaxResponseBodyBytes;
        if (cap == 0) return [];
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[cap];
        var total = 0;
        while (total < cap)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (read == 0) break;
            total += read;
        }
        return buffer[..total];
    }

    private WebhookResult Classify(WebhookRequest request, string host, HttpResponseMessage response, byte[] body, long started)
    {
        var status = (int)response.StatusCode;
        var text = body.Length == 0 ? null : Encoding.UTF8.GetString(body);
        if (status is >= 200 and < 300)
        {
            var duration = _time.GetElapsedTime(started);
            WebhookLog.Delivered(_logger, request.MessageId, host, status, duration.TotalMilliseconds);
            return new WebhookResult(true, status, false, null, null, duration, WebhookFailure.None, text);
        }
        if (status is >= 300 and < 400)
        {
            var location = response.Headers.Location is { } l ? $" to {l}" : "";
            return Failed(request, host, WebhookFailure.Redirect, status, false,
                $"redirected ({status}){location}; redirects are not followed, change the endpoint's URL", started, text);
        }
        var retryable = status is 408 or 429 or >= 500;
        var retryAfter = status is 429 or 503 ? RetryAfter(response) : null;
        return Failed(request, host, WebhookFailure.Status, status, retryable, $"{status} {response.ReasonPhrase}".TrimEnd(), started, text, retryAfter);
    }

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

    private WebhookResult Refused(WebhookRequest request, string host, string reason, long started)
    {
        WebhookLog.Refused(_logger, request.MessageId, host, reason);
        return new WebhookResult(false, null, false, null, "refused: " + reason, _time.GetElapsedTime(started), WebhookFailure.Refused, null);
    }

    private WebhookResult Failed(
        WebhookRequest request, string host, WebhookFailure failure, int? status, bool retryable, string error, long started,
        string? body = null, TimeSpan? retryAfter = null)
    {
        WebhookLog.Failed(_logger, request.MessageId, host, failure, status, retryable, error);
        return new WebhookResult(false, status, retryable, retryAfter, error, _time.GetElapsedTime(started), failure, body);
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
