using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Push;
using Chuda.Channels.Webhooks;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>Settings of a <see cref="WebPushProvider"/>.</summary>
public sealed record WebPushOptions
{
    public required string VapidPublicKey { get; init; }

    public required string VapidPrivateKey { get; init; }

    /// <summary>A <c>mailto:</c> or <c>https:</c> contact the push services can reach the sender at.</summary>
    public required string Subject { get; init; }

    /// <summary>How long a push service keeps a message for an offline browser (the <c>TTL</c> header).</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromDays(1);

    /// <summary><c>very-low</c>, <c>low</c>, <c>normal</c> or <c>high</c> (RFC 8030 §5.3); null sends none.</summary>
    public string? Urgency { get; init; }

    /// <summary>The HTTP timeout of one push.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Web Push (RFC 8030) to browsers: recipients are <c>web:&lt;subscription JSON&gt;</c>. The payload
/// <c>{"title", "body", "data", "url", "image", "messageId"}</c> is encrypted for the subscription (RFC 8291, aes128gcm) and
/// POSTed to its endpoint with a VAPID (RFC 8292) authorization cached per push service. 201/202 is accepted (the
/// <c>Location</c> header is the provider message id); 404/410 mean the subscription is gone (a hard bounce: the engine removes
/// it); 413 and other 4xx are permanent; 429 waits for <c>Retry-After</c>; 401/403 (VAPID refused) and 5xx or an unreachable
/// service are the provider's failure. Endpoints are written by browsers, so they go through the SSRF guard.
/// </summary>
public sealed class WebPushProvider : IChannelProvider
{
    public const string KindName = "webpush";

    private readonly WebPushOptions _options;
    private readonly TimeProvider _time;
    private readonly SsrfGuard _guard;
    private readonly VapidSigner _vapid;
    private readonly HttpClient _http;

    /// <exception cref="ArgumentException">The VAPID keys or subject are invalid.</exception>
    public WebPushProvider(string id, WebPushOptions options, TimeProvider time, SsrfGuard guard)
    {
        ArgumentNullException.ThrowIfNull(options);
        Id = id;
        _options = options;
        _time = time;
        _guard = guard;
        _vapid = new VapidSigner(options.VapidPublicKey, options.VapidPrivateKey, options.Subject, time);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            EnableMultipleHttp2Connections = true,
            ConnectCallback = new GuardedConnector(guard).ConnectAsync,
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = options.Timeout };
    }

    public string Id { get; }

    public string Channel => "push";

    /// <summary>The VAPID signer (its public key is the subscriptions' <c>applicationServerKey</c>).</summary>
    public VapidSigner Vapid => _vapid;

    public bool Accepts(string recipient) => recipient.StartsWith(WebPushSubscription.RecipientPrefix, StringComparison.Ordinal);

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Content is not PushContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not push content");
        if (WebPushSubscription.Parse(message.Recipient, out var problem) is not { } subscription)
            return new ProviderResult(ProviderOutcome.PermanentFailure, "invalid Web Push subscription: " + problem, HardBounce: true);
        if (_guard.CheckUrl(subscription.Endpoint) is { Allowed: false } refused)
            return new ProviderResult(ProviderOutcome.PermanentFailure, "push endpoint refused: " + refused.Reason, HardBounce: true);

        var payload = Payload(message, content);
        if (payload.Length > WebPushEncryptor.MaxPayloadLength)
            return new ProviderResult(ProviderOutcome.PermanentFailure,
                $"the push payload is {payload.Length} bytes; a Web Push message holds at most {WebPushEncryptor.MaxPayloadLength}");
        var body = WebPushEncryptor.Encrypt(payload, subscription.P256dh, subscription.Auth);

        using var request = new HttpRequestMessage(HttpMethod.Post, subscription.Endpoint)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Content.Headers.ContentEncoding.Add("aes128gcm");
        request.Headers.TryAddWithoutValidation("TTL", ((long)_options.Ttl.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_options.Urgency is { } urgency) request.Headers.TryAddWithoutValidation("Urgency", urgency);
        // A retry of the same message replaces an undelivered earlier attempt at the push service instead of adding a second one.
        request.Headers.TryAddWithoutValidation("Topic", TopicFor(message.IdempotencyKey));
        request.Headers.TryAddWithoutValidation("Authorization", _vapid.AuthorizationFor(subscription.Endpoint));

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (Exception ex) when (EndpointRefusedException.Find(ex) is { } why)
        {
            return new ProviderResult(ProviderOutcome.PermanentFailure, "push endpoint refused: " + why, HardBounce: true);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProviderResult(ProviderOutcome.TransientFailure, $"the push service did not answer within {_options.Timeout.TotalSeconds:0} s", ProviderDown: true);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return new ProviderResult(ProviderOutcome.TransientFailure, "push service unreachable: " + ex.Message, ProviderDown: true);
        }
        using (response)
        {
            return await ClassifyAsync(response, cancellationToken);
        }
    }

    private async Task<ProviderResult> ClassifyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            var location = response.Headers.Location?.ToString();
            return new ProviderResult(ProviderOutcome.Accepted, $"push service answered {status}", location);
        }
        var detail = $"push service answered {status}";
        var text = PushHttp.Excerpt(await PushHttp.ReadBodyAsync(response, cancellationToken));
        if (text.Length > 0) detail += ": " + text;
        return status switch
        {
            404 or 410 => new ProviderResult(ProviderOutcome.PermanentFailure, detail + " (subscription expired or unsubscribed)", HardBounce: true),
            413 => new ProviderResult(ProviderOutcome.PermanentFailure, detail + " (payload too large)"),
            429 => new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: PushHttp.RetryAfter(response, _time)),
            // The push service refused our VAPID credentials: every message would fail the same way.
            401 or 403 => new ProviderResult(ProviderOutcome.TransientFailure, detail + " (VAPID authorization refused)", ProviderDown: true),
            >= 500 => new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: PushHttp.RetryAfter(response, _time), ProviderDown: true),
            _ => new ProviderResult(ProviderOutcome.PermanentFailure, detail),
        };
    }


    /// <summary>The clear-text payload: <c>{"title", "body", "data", "url", "image", "messageId"}</c>, absent fields left out.</summary>
    public static byte[] Payload(ProviderMessage message, PushContent content)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(content);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            if (content.Title is { } title) writer.WriteString("title", title);
            if (content.Body is { } body) writer.WriteString("body", body);
            if (content.Data.Count > 0)
            {
                writer.WriteStartObject("data");
                foreach (var (key, value) in content.Data) writer.WriteString(key, value);
                writer.WriteEndObject();
            }
            if (content.DeepLink is { } url) writer.WriteString("url", url);
            if (content.Image is { } image) writer.WriteString("image", image);
            writer.WriteString("messageId", message.MessageId);
            writer.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>The <c>Topic</c> header: 32 base64url characters of a digest of the idempotency key.</summary>
    public static string TopicFor(string idempotencyKey) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)))[..32];

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        _vapid.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Creates Web Push providers. Configuration:
/// <code>
/// {"vapidPublicKey": "B…(base64url, 65-byte uncompressed P-256 point)",
///  "vapidPrivateKey": "…(base64url, the 32-byte private scalar; secret)",
///  "subject": "mailto:ops@shop.example",   // or https://…
///  "ttlSeconds": 86400,                     // optional, 0-2419200
///  "urgency": "normal",                     // optional: very-low, low, normal, high
///  "timeoutSeconds": 30}                    // optional
/// </code>
/// <see cref="Vapid.GenerateKeys"/> makes a key pair. Endpoints are checked against <paramref name="security"/>'s SSRF rules
/// (public addresses only unless allow-listed).
/// </summary>
public sealed class WebPushProviderFactory(TimeProvider time, WebhookSecurityOptions? security = null) : IProviderFactory
{
    private readonly SsrfGuard _guard = new(security ?? new WebhookSecurityOptions());

    public string Kind => WebPushProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["push"];

    public IReadOnlyList<string> SecretFields { get; } = ["vapidPrivateKey"];

    private static readonly string[] Known = ["vapidPublicKey", "vapidPrivateKey", "subject", "ttlSeconds", "urgency", "timeoutSeconds"];

    private static readonly string[] Urgencies = ["very-low", "low", "normal", "high"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string, string)>();
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"vapidPublicKey\": …, \"vapidPrivateKey\": …, \"subject\": \"mailto:…\"}"));
            return errors;
        }
        foreach (var p in config.EnumerateObject())
        {
            if (!Known.Contains(p.Name)) errors.Add(($"$.config.{p.Name}", $"unknown property; expected {string.Join(", ", Known)}"));
        }
        var publicKey = PushHttp.String(config, "vapidPublicKey");
        var privateKey = PushHttp.String(config, "vapidPrivateKey");
        if (string.IsNullOrEmpty(publicKey)) errors.Add(("$.config.vapidPublicKey", "required: the VAPID public key (base64url, 65 bytes uncompressed)"));
        if (string.IsNullOrEmpty(privateKey)) errors.Add(("$.config.vapidPrivateKey", "required: the VAPID private key (base64url, 32 bytes)"));
        if (!string.IsNullOrEmpty(publicKey) && !string.IsNullOrEmpty(privateKey))
        {
            try
            {
                using var key = Push.Vapid.ImportKeys(publicKey, privateKey);
            }
            catch (ArgumentException ex)
            {
                errors.Add((ex.ParamName == "publicKey" ? "$.config.vapidPublicKey" : "$.config.vapidPrivateKey", ex.Message));
            }
        }
        if (!Push.Vapid.IsValidSubject(PushHttp.String(config, "subject")))
            errors.Add(("$.config.subject", "required: a mailto: or https: contact (RFC 8292)"));
        if (config.TryGetProperty("ttlSeconds", out var ttl) && (!ttl.TryGetInt32(out var t) || t is < 0 or > 2_419_200))
            errors.Add(("$.config.ttlSeconds", "expected 0-2419200 (28 days)"));
        if (config.TryGetProperty("timeoutSeconds", out var timeout) && (!timeout.TryGetInt32(out var s) || s is < 1 or > 300))
            errors.Add(("$.config.timeoutSeconds", "expected 1-300"));
        if (config.TryGetProperty("urgency", out var urgency) && (urgency.ValueKind != JsonValueKind.String || !Urgencies.Contains(urgency.GetString())))
            errors.Add(("$.config.urgency", "expected very-low, low, normal or high"));
        return errors;
    }

    public static WebPushOptions Options(JsonElement config)
    {
        int Int(string name, int fallback) => config.TryGetProperty(name, out var v) && v.TryGetInt32(out var n) ? n : fallback;
        return new WebPushOptions
        {
            VapidPublicKey = PushHttp.String(config, "vapidPublicKey") ?? "",
            VapidPrivateKey = PushHttp.String(config, "vapidPrivateKey") ?? "",
            Subject = PushHttp.String(config, "subject") ?? "",
            Ttl = TimeSpan.FromSeconds(Int("ttlSeconds", 86_400)),
            Urgency = PushHttp.String(config, "urgency"),
            Timeout = TimeSpan.FromSeconds(Int("timeoutSeconds", 30)),
        };
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports) =>
        new WebPushProvider(id, Options(config), time, _guard);
}
