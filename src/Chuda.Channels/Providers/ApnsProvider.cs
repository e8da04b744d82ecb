using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Push;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>Settings of an <see cref="ApnsProvider"/>.</summary>
public sealed record ApnsOptions
{
    public required string TeamId { get; init; }

    public required string KeyId { get; init; }

    /// <summary>The .p8 key (PKCS#8 PEM).</summary>
    public required string PrivateKey { get; init; }

    /// <summary>The app's bundle id (<c>apns-topic</c>).</summary>
    public required string Topic { get; init; }

    /// <summary>The APNs base URL: production or sandbox, or a test server.</summary>
    public Uri Endpoint { get; init; } = ApnsProvider.Production;

    /// <summary>How long APNs keeps trying to deliver (<c>apns-expiration</c>).</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromDays(1);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Apple Push Notification service over HTTP/2 with token authentication: <c>POST /3/device/&lt;token&gt;</c> for
/// <c>ios:&lt;device token&gt;</c> recipients, multiplexed on one connection pool per provider. The <c>apns-id</c> is derived
/// from the idempotency key (stable across retries). 410 <c>Unregistered</c> and 400 <c>BadDeviceToken</c> are hard bounces;
/// other 400s are permanent; 403 <c>ExpiredProviderToken</c> renews the token and retries once, other 403s are
/// authentication failures (the provider's); 429 waits; 500/503 and an unreachable service are the provider's failure.
/// </summary>
public sealed class ApnsProvider : IChannelProvider
{
    public const string KindName = "apns";

    public const string RecipientPrefix = "ios:";

    public static readonly Uri Production = new("https://api.push.apple.com/");

    public static readonly Uri Sandbox = new("https://api.sandbox.push.apple.com/");

    /// <summary>The largest payload APNs accepts for a regular notification.</summary>
    public const int MaxPayloadBytes = 4096;

    private readonly ApnsOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly Uri _base;

    /// <exception cref="ArgumentException">The key is not a P-256 private key.</exception>
    public ApnsProvider(string id, ApnsOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        Id = id;
        _options = options;
        _time = time;
        Tokens = new ApnsProviderTokens(options.TeamId, options.KeyId, options.PrivateKey, time);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = options.Timeout,
            // Apple asks providers to keep connections open; pings keep idle ones alive through middleboxes.
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(30),
            KeepAlivePingDelay = TimeSpan.FromMinutes(1),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            EnableMultipleHttp2Connections = true,
        };
        _http = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = options.Timeout,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        _base = options.Endpoint.AbsoluteUri.EndsWith('/') ? options.Endpoint : new Uri(options.Endpoint.AbsoluteUri + "/");
    }

    public string Id { get; }

    public string Channel => "push";

    /// <summary>The provider-token cache.</summary>
    public ApnsProviderTokens Tokens { get; }

    public bool Accepts(string recipient) => recipient.StartsWith(RecipientPrefix, StringComparison.Ordinal);

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Content is not PushContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not push content");
        if (!Accepts(message.Recipient)) return new ProviderResult(ProviderOutcome.PermanentFailure, "APNs serves ios: recipients only");
        var deviceToken = message.Recipient[RecipientPrefix.Length..];
        if (deviceToken.Length is 0 or > 200 || !deviceToken.All(char.IsAsciiHexDigit))
            return new ProviderResult(ProviderOutcome.PermanentFailure, "invalid APNs device token (expected hexadecimal)", HardBounce: true);
        var body = Payload(message, content);
        if (body.Length > MaxPayloadBytes)
            return new ProviderResult(ProviderOutcome.PermanentFailure, $"the APNs payload is {body.Length} bytes; at most {MaxPayloadBytes} are allowed");
        var alert = content.Title is not null || content.Body is not null;
        var apnsId = ApnsIdFor(message.IdempotencyKey);
        var expiration = (_time.GetUtcNow() + _options.Ttl).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var collapseId = content.Data.TryGetValue("collapse_id", out var c) && c.Length is > 0 and <= 64 ? c : null;

        var token = Tokens.Current();
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_base, "3/device/" + deviceToken.ToLowerInvariant()))
            {
                Content = new ByteArrayContent(body),
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Content.Headers.ContentType = PushHttp.Json;
            request.Headers.Authorization = new AuthenticationHeaderValue("bearer", token);
            request.Headers.TryAddWithoutValidation("apns-topic", _options.Topic);
            request.Headers.TryAddWithoutValidation("apns-push-type", alert ? "alert" : "background");
            request.Headers.TryAddWithoutValidation("apns-priority", alert ? "10" : "5");
            request.Headers.TryAddWithoutValidation("apns-expiration", expiration);
            request.Headers.TryAddWithoutValidation("apns-id", apnsId);
            if (collapseId is not null) request.Headers.TryAddWithoutValidation("apns-collapse-id", collapseId);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, cancellationToken);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new ProviderResult(ProviderOutcome.TransientFailure, $"APNs did not answer within {_options.Timeout.TotalSeconds:0} s", ProviderDown: true);
            }
            catch (HttpRequestException ex)
            {
                return new ProviderResult(ProviderOutcome.TransientFailure, "APNs unreachable: " + ex.Message, ProviderDown: true);
            }
            using (response)
            {
                var status = (int)response.StatusCode;
                if (status == 200)
                {
                    var id = response.Headers.TryGetValues("apns-id", out var ids) ? ids.FirstOrDefault() : null;
                    return new ProviderResult(ProviderOutcome.Accepted, "APNs answered 200", id ?? apnsId);
                }
                var text = await PushHttp.ReadBodyAsync(response, cancellationToken);
                var reason = PushHttp.String(PushHttp.ParseObject(text), "reason") ?? "";
                if (status == 403 && reason == "ExpiredProviderToken" && attempt == 0)
                {
                    token = Tokens.Renew(token);
                    continue;
                }
                return Classify(status, reason, text, PushHttp.RetryAfter(response, _time));
            }
        }
    }

    /// <summary>Apple's documented status codes and reasons as outcomes.</summary>
    public static ProviderResult Classify(int status, string reason, string body, TimeSpan? retryAfter)
    {
        var detail = $"APNs answered {status} {(reason.Length > 0 ? reason : PushHttp.Excerpt(body))}".TrimEnd();
        return (status, reason) switch
        {
            (410, _) or (400, "BadDeviceToken") => new ProviderResult(ProviderOutcome.PermanentFailure, detail, HardBounce: true),
            (400, _) or (413, _) => new ProviderResult(ProviderOutcome.PermanentFailure, detail),
            (403, _) => new ProviderResult(ProviderOutcome.TransientFailure, detail, ProviderDown: true),
            (429, _) => new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: retryAfter),
            (>= 500, _) => new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: retryAfter, ProviderDown: true),
            _ => new ProviderResult(ProviderOutcome.PermanentFailure, detail),
        };
    }

    /// <summary>A UUID (lower-case, 8-4-4-4-12) derived from the idempotency key, so a retry carries the same <c>apns-id</c>.</summary>
    public static string ApnsIdFor(string idempotencyKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5 layout (name-based, SHA-derived)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        var hex = Convert.ToHexStringLower(hash.AsSpan(0, 16));
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..32]}";
    }

    /// <summary>The JSON payload: <c>{"aps": {"alert": {"title", "body"}, "sound": "default", "mutable-content": 1}, …data,
    /// "deep_link", "image", "message_id"}</c>; without title and body a background push (<c>"content-available": 1</c>).</summary>
    public static byte[] Payload(ProviderMessage message, PushContent content)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(content);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteStartObject("aps");
            if (content.Title is not null || content.Body is not null)
            {
                w.WriteStartObject("alert");
                if (content.Title is { } title) w.WriteString("title", title);
                if (content.Body is { } text) w.WriteString("body", text);
                w.WriteEndObject();
                w.WriteString("sound", "default");
                if (content.Image is not null) w.WriteNumber("mutable-content", 1);
            }
            else
            {
                w.WriteNumber("content-available", 1);
            }
            w.WriteEndObject();
            foreach (var (key, value) in content.Data)
            {
                if (key is not ("aps" or "deep_link" or "image" or "message_id")) w.WriteString(key, value);
            }
            if (content.DeepLink is { } link) w.WriteString("deep_link", link);
            if (content.Image is { } image) w.WriteString("image", image);
            w.WriteString("message_id", message.MessageId);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        Tokens.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Creates APNs providers. Configuration:
/// <code>
/// {"teamId": "ABCDE12345",                 // the Apple developer team id (iss)
///  "keyId": "XYZ987WVU6",                  // the key's id (kid)
///  "privateKey": "-----BEGIN PRIVATE KEY-----…",   // the .p8 file; secret
///  "topic": "com.shop.app",                // the app's bundle id
///  "environment": "production",            // or "sandbox"
///  "endpoint": "https://…",                // optional base URL override (tests, proxies)
///  "ttlSeconds": 86400,                    // optional, 0-2419200
///  "timeoutSeconds": 30}                   // optional
/// </code>
/// </summary>
public sealed class ApnsProviderFactory(TimeProvider time) : IProviderFactory
{
    public string Kind => ApnsProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["push"];

    public IReadOnlyList<string> SecretFields { get; } = ["privateKey"];

    private static readonly string[] Known = ["teamId", "keyId", "privateKey", "topic", "environment", "endpoint", "ttlSeconds", "timeoutSeconds"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string, string)>();
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"teamId\": …, \"keyId\": …, \"privateKey\": …, \"topic\": …}"));
            return errors;
        }
        foreach (var p in config.EnumerateObject())
        {
            if (!Known.Contains(p.Name)) errors.Add(($"$.config.{p.Name}", $"unknown property; expected {string.Join(", ", Known)}"));
        }
        static bool IsAppleId(string? s) => s is { Length: 10 } && s.All(char.IsAsciiLetterOrDigit);
        if (!IsAppleId(PushHttp.String(config, "teamId"))) errors.Add(("$.config.teamId", "required: the 10-character Apple team id"));
        if (!IsAppleId(PushHttp.String(config, "keyId"))) errors.Add(("$.config.keyId", "required: the 10-character key id"));
        if (PushHttp.String(config, "privateKey") is not { Length: > 0 } pem) errors.Add(("$.config.privateKey", "required: the .p8 key (PEM)"));
        else
        {
            try
            {
                using var key = ApnsProviderTokens.ImportKey(pem);
            }
            catch (ArgumentException ex)
            {
                errors.Add(("$.config.privateKey", ex.Message));
            }
        }
        if (string.IsNullOrWhiteSpace(PushHttp.String(config, "topic"))) errors.Add(("$.config.topic", "required: the app's bundle id"));
        if (config.TryGetProperty("environment", out _) && PushHttp.String(config, "environment") is not ("production" or "sandbox"))
            errors.Add(("$.config.environment", "expected production or sandbox"));
        if (config.TryGetProperty("endpoint", out var u)
            && (u.ValueKind != JsonValueKind.String || !Uri.TryCreate(u.GetString(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
            errors.Add(("$.config.endpoint", "expected an http(s) URL"));
        if (config.TryGetProperty("ttlSeconds", out var ttl) && (!ttl.TryGetInt32(out var t) || t is < 0 or > 2_419_200))
            errors.Add(("$.config.ttlSeconds", "expected 0-2419200 (28 days)"));
        if (config.TryGetProperty("timeoutSeconds", out var timeout) && (!timeout.TryGetInt32(out var s) || s is < 1 or > 300))
            errors.Add(("$.config.timeoutSeconds", "expected 1-300"));
        return errors;
    }

    public static ApnsOptions Options(JsonElement config)
    {
        int Int(string name, int fallback) => config.TryGetProperty(name, out var v) && v.TryGetInt32(out var n) ? n : fallback;
        var endpoint = PushHttp.String(config, "endpoint") is { } e ? new Uri(e)
            : PushHttp.String(config, "environment") == "sandbox" ? ApnsProvider.Sandbox : ApnsProvider.Production;
        return new ApnsOptions
        {
            TeamId = PushHttp.String(config, "teamId") ?? "",
            KeyId = PushHttp.String(config, "keyId") ?? "",
            PrivateKey = PushHttp.String(config, "privateKey") ?? "",
            Topic = PushHttp.String(config, "topic") ?? "",
            Endpoint = endpoint,
            Ttl = TimeSpan.FromSeconds(Int("ttlSeconds", 86_400)),
            Timeout = TimeSpan.FromSeconds(Int("timeoutSeconds", 30)),
        };
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports) =>
        new ApnsProvider(id, Options(config), time);
}
