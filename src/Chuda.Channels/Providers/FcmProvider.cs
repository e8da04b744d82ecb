using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Push;
using Chuda.Domain.Delivery;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>Settings of an <see cref="FcmProvider"/>.</summary>
public sealed record FcmOptions
{
    public required string ProjectId { get; init; }

    public required GoogleServiceAccount ServiceAccount { get; init; }

    /// <summary>The FCM API's base URL.</summary>
    public Uri Endpoint { get; init; } = new("https://fcm.googleapis.com/");

    /// <summary>Recipient platforms this provider serves: <c>android</c>, and <c>ios</c> when the iOS app uses FCM.</summary>
    public IReadOnlyList<string> Platforms { get; init; } = ["android"];

    /// <summary>How long FCM keeps a message for an offline device.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromDays(1);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Firebase Cloud Messaging, HTTP v1 API: <c>POST {endpoint}/v1/projects/{projectId}/messages:send</c> with an OAuth 2.0
/// access token obtained for the service account (JWT bearer grant, cached until a minute before expiry; refreshed once
/// when FCM answers 401). Recipients are <c>android:&lt;token&gt;</c> (and <c>ios:&lt;token&gt;</c> when configured). Errors
/// follow FCM's <c>ErrorCode</c>s: <c>UNREGISTERED</c> and an invalid registration token are hard bounces; other
/// <c>INVALID_ARGUMENT</c>s are permanent; <c>QUOTA_EXCEEDED</c> waits; <c>UNAVAILABLE</c>/<c>INTERNAL</c>, authentication
/// failures (<c>THIRD_PARTY_AUTH_ERROR</c>, 401/403, <c>SENDER_ID_MISMATCH</c>) and unreachable servers are the provider's failure.
/// </summary>
public sealed class FcmProvider : IChannelProvider
{
    public const string KindName = "fcm";

    public const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    private readonly FcmOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly Uri _send;

    public FcmProvider(string id, FcmOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        Id = id;
        _options = options;
        _time = time;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = options.Timeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            EnableMultipleHttp2Connections = true,
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = options.Timeout };
        Tokens = new GoogleAccessTokens(options.ServiceAccount, Scope, _http, time);
        var baseUri = options.Endpoint.AbsoluteUri.EndsWith('/') ? options.Endpoint : new Uri(options.Endpoint.AbsoluteUri + "/");
        _send = new Uri(baseUri, $"v1/projects/{Uri.EscapeDataString(options.ProjectId)}/messages:send");
    }

    public string Id { get; }

    public string Channel => "push";

    /// <summary>The access-token cache.</summary>
    public GoogleAccessTokens Tokens { get; }

    public bool Accepts(string recipient) => Platform(recipient) is { } p && _options.Platforms.Contains(p);

    private static string? Platform(string recipient)
    {
        var colon = recipient.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? recipient[..colon] : null;
    }

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Content is not PushContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not push content");
        var platform = Platform(message.Recipient);
        var token = platform is null ? "" : message.Recipient[(platform.Length + 1)..];
        if (platform is null || !_options.Platforms.Contains(platform) || token.Length == 0)
            return new ProviderResult(ProviderOutcome.PermanentFailure, $"FCM provider does not serve recipient '{Truncate(message.Recipient)}'");
        var body = Body(message, content, platform, token, _options.Ttl);

        for (var attempt = 0; ; attempt++)
        {
            string accessToken;
            try
            {
                accessToken = await Tokens.GetAsync(cancellationToken);
            }
            catch (GoogleAuthException ex)
            {
                return new ProviderResult(ProviderOutcome.TransientFailure, "FCM authentication failed: " + ex.Message, ProviderDown: true);
            }
            using var request = new HttpRequestMessage(HttpMethod.Post, _send)
            {
                Content = new ByteArrayContent(body),
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            };
            request.Content.Headers.ContentType = PushHttp.Json;
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, cancellationToken);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new ProviderResult(ProviderOutcome.TransientFailure, $"FCM did not answer within {_options.Timeout.TotalSeconds:0} s", ProviderDown: true);
            }
            catch (HttpRequestException ex)
            {
                return new ProviderResult(ProviderOutcome.TransientFailure, "FCM unreachable: " + ex.Message, ProviderDown: true);
            }
            using (response)
            {
                var text = await PushHttp.ReadBodyAsync(response, cancellationToken);
                var json = PushHttp.ParseObject(text);
                if (response.IsSuccessStatusCode)
                    return new ProviderResult(ProviderOutcome.Accepted, $"FCM answered {(int)response.StatusCode}", PushHttp.String(json, "name"));
                var error = FcmError.From((int)response.StatusCode, json, text);
                // An expired or revoked access token: fetch a new one and try once more.
                if (error.HttpStatus == 401 && error.ErrorCode != "THIRD_PARTY_AUTH_ERROR" && attempt == 0)
                {
                    Tokens.Invalidate(accessToken);
                    continue;
                }
                return error.ToResult(PushHttp.RetryAfter(response, _time));
            }
        }
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>The <c>messages:send</c> body: <c>{"message": {"token", "notification", "data", "android" | "apns"}}</c>.</summary>
    public static byte[] Body(ProviderMessage message, PushContent content, string platform, string token, TimeSpan ttl)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(content);
        var alert = content.Title is not null || content.Body is not null;
        var urgent = Categories.IsTransactional(message.Category);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteStartObject("message");
            w.WriteString("token", token);
            if (alert || content.Image is not null)
            {
                w.WriteStartObject("notification");
                if (content.Title is { } title) w.WriteString("title", title);
                if (content.Body is { } text) w.WriteString("body", text);
                if (content.Image is { } image) w.WriteString("image", image);
                w.WriteEndObject();
            }
            // FCM data values are strings only.
            w.WriteStartObject("data");
            foreach (var (key, value) in content.Data) w.WriteString(key, value);
            if (content.DeepLink is { } link) w.WriteString("deep_link", link);
            w.WriteString("message_id", message.MessageId);
            w.WriteEndObject();
            if (platform == "ios")
            {
                w.WriteStartObject("apns");
                w.WriteStartObject("headers");
                w.WriteString("apns-priority", alert ? "10" : "5");
                w.WriteString("apns-push-type", alert ? "alert" : "background");
                w.WriteEndObject();
                w.WriteStartObject("payload");
                w.WriteStartObject("aps");
                if (alert) w.WriteString("sound", "default");
                else w.WriteNumber("content-available", 1);
                if (content.Image is not null) w.WriteNumber("mutable-content", 1);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            else
            {
                w.WriteStartObject("android");
                w.WriteString("priority", urgent ? "high" : "normal");
                w.WriteString("ttl", ((long)ttl.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s");
                w.WriteEndObject();
            }
            w.WriteEndObject();
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

/// <summary>An FCM v1 error answer: <c>{"error": {"code", "message", "status", "details": [{"@type": "…FcmError", "errorCode"}, {"@type": "…BadRequest", "fieldViolations"}]}}</c>.</summary>
public sealed record FcmError(int HttpStatus, string? Status, string? ErrorCode, string Message, IReadOnlyList<string> FieldViolations)
{
    public static FcmError From(int httpStatus, JsonElement json, string text)
    {
        var error = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? e : default;
        string? code = null;
        var fields = new List<string>();
        if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
        {
            foreach (var detail in details.EnumerateArray())
            {
                var type = PushHttp.String(detail, "@type") ?? "";
                if (type.EndsWith("google.firebase.fcm.v1.FcmError", StringComparison.Ordinal)) code ??= PushHttp.String(detail, "errorCode");
                if (type.EndsWith("google.rpc.BadRequest", StringComparison.Ordinal) && detail.TryGetProperty("fieldViolations", out var violations)
                    && violations.ValueKind == JsonValueKind.Array)
                {
                    foreach (var v in violations.EnumerateArray())
                    {
                        if (PushHttp.String(v, "field") is { } field) fields.Add(field);
                    }
                }
            }
        }
        var message = PushHttp.String(error, "message") ?? PushHttp.Excerpt(text);
        return new FcmError(httpStatus, PushHttp.String(error, "status"), code, message, fields);
    }

    /// <summary>Whether the error says the registration token itself is malformed or unknown (FCM's "invalid registration").</summary>
    public bool InvalidToken =>
        FieldViolations.Contains("message.token")
        || (ErrorCode == "INVALID_ARGUMENT" && Message.Contains("registration token", StringComparison.OrdinalIgnoreCase));

    public ProviderResult ToResult(TimeSpan? retryAfter)
    {
        var detail = new StringBuilder($"FCM answered {HttpStatus}");
        if ((ErrorCode ?? Status) is { } name) detail.Append(' ').Append(name);
        if (Message.Length > 0) detail.Append(": ").Append(PushHttp.Excerpt(Message));
        var text = detail.ToString();
        return (ErrorCode ?? Status, HttpStatus) switch
        {
            ("UNREGISTERED", _) => new ProviderResult(ProviderOutcome.PermanentFailure, text, HardBounce: true),
            ("INVALID_ARGUMENT", _) => new ProviderResult(ProviderOutcome.PermanentFailure, text, HardBounce: InvalidToken),
            ("QUOTA_EXCEEDED", _) or (_, 429) => new ProviderResult(ProviderOutcome.TransientFailure, text, RetryAfter: retryAfter),
            // The token belongs to another sender (Firebase project) or the project's APNs / web credentials are wrong: another
            // provider of the channel may serve it.
            ("SENDER_ID_MISMATCH", _) or ("THIRD_PARTY_AUTH_ERROR", _) => new ProviderResult(ProviderOutcome.TransientFailure, text, ProviderDown: true),
            ("UNAVAILABLE", _) or ("INTERNAL", _) or (_, >= 500) => new ProviderResult(ProviderOutcome.TransientFailure, text, RetryAfter: retryAfter, ProviderDown: true),
            (_, 401 or 403) => new ProviderResult(ProviderOutcome.TransientFailure, text, ProviderDown: true),
            // 404 without UNREGISTERED: the project or API path does not exist (a configuration error).
            (_, 404) => new ProviderResult(ProviderOutcome.TransientFailure, text, ProviderDown: true),
            _ => new ProviderResult(ProviderOutcome.PermanentFailure, text),
        };
    }
}

/// <summary>
/// Creates FCM providers. Configuration:
/// <code>
/// {"projectId": "shop-12345",
///  "serviceAccount": {"type": "service_account", "client_email": "…@….iam.gserviceaccount.com",
///                     "private_key": "-----BEGIN PRIVATE KEY-----…", "private_key_id": "…",
///                     "token_uri": "https://oauth2.googleapis.com/token", …},   // secret; the key file as downloaded (or a string of it)
///  "endpoint": "https://fcm.googleapis.com",   // optional base URL override
///  "tokenUri": "https://oauth2.googleapis.com/token",   // optional, overrides the key file's token_uri
///  "platforms": ["android", "ios"],            // optional, default ["android"]
///  "ttlSeconds": 86400,                        // optional, 0-2419200
///  "timeoutSeconds": 30}                       // optional
/// </code>
/// </summary>
public sealed class FcmProviderFactory(TimeProvider time) : IProviderFactory
{
    public string Kind => FcmProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["push"];

    public IReadOnlyList<string> SecretFields { get; } = ["serviceAccount"];

    private static readonly string[] Known = ["projectId", "serviceAccount", "endpoint", "tokenUri", "platforms", "ttlSeconds", "timeoutSeconds"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string, string)>();
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"projectId\": …, \"serviceAccount\": {…}}"));
            return errors;
        }
        foreach (var p in config.EnumerateObject())
        {
            if (!Known.Contains(p.Name)) errors.Add(($"$.config.{p.Name}", $"unknown property; expected {string.Join(", ", Known)}"));
        }
        var projectId = PushHttp.String(config, "projectId");
        if (string.IsNullOrWhiteSpace(projectId) || !projectId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            errors.Add(("$.config.projectId", "required: the Firebase project id"));
        if (!config.TryGetProperty("serviceAccount", out var account))
            errors.Add(("$.config.serviceAccount", "required: the service account key JSON"));
        else if (GoogleServiceAccount.Parse(account, out var problems) is null)
        {
            foreach (var (field, message) in problems)
                errors.Add((field.Length == 0 || account.ValueKind == JsonValueKind.String ? "$.config.serviceAccount" : $"$.config.serviceAccount.{field}",
                    field.Length == 0 ? message : $"{field}: {message}"));
        }
        foreach (var name in new[] { "endpoint", "tokenUri" })
        {
            if (config.TryGetProperty(name, out var u)
                && (u.ValueKind != JsonValueKind.String || !Uri.TryCreate(u.GetString(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
                errors.Add(($"$.config.{name}", "expected an http(s) URL"));
        }
        if (config.TryGetProperty("platforms", out var platforms)
            && (platforms.ValueKind != JsonValueKind.Array || platforms.GetArrayLength() == 0
                || platforms.EnumerateArray().Any(p => p.ValueKind != JsonValueKind.String || p.GetString() is not ("android" or "ios"))))
            errors.Add(("$.config.platforms", "expected a non-empty list of \"android\" and/or \"ios\""));
        if (config.TryGetProperty("ttlSeconds", out var ttl) && (!ttl.TryGetInt32(out var t) || t is < 0 or > 2_419_200))
            errors.Add(("$.config.ttlSeconds", "expected 0-2419200 (28 days)"));
        if (config.TryGetProperty("timeoutSeconds", out var timeout) && (!timeout.TryGetInt32(out var s) || s is < 1 or > 300))
            errors.Add(("$.config.timeoutSeconds", "expected 1-300"));
        return errors;
    }

    public static FcmOptions Options(JsonElement config)
    {
        int Int(string name, int fallback) => config.TryGetProperty(name, out var v) && v.TryGetInt32(out var n) ? n : fallback;
        var account = GoogleServiceAccount.Parse(config.GetProperty("serviceAccount"), out var problems)
            ?? throw new ArgumentException("invalid service account: " + string.Join("; ", problems.Select(p => $"{p.Field}: {p.Message}")));
        if (PushHttp.String(config, "tokenUri") is { } tokenUri) account = account with { TokenUri = new Uri(tokenUri) };
        var options = new FcmOptions
        {
            ProjectId = PushHttp.String(config, "projectId") ?? account.ProjectId ?? "",
            ServiceAccount = account,
            Ttl = TimeSpan.FromSeconds(Int("ttlSeconds", 86_400)),
            Timeout = TimeSpan.FromSeconds(Int("timeoutSeconds", 30)),
        };
        if (PushHttp.String(config, "endpoint") is { } endpoint) options = options with { Endpoint = new Uri(endpoint) };
        if (config.TryGetProperty("platforms", out var platforms) && platforms.ValueKind == JsonValueKind.Array)
            options = options with { Platforms = [.. platforms.EnumerateArray().Select(p => p.GetString()!).Distinct()] };
        return options;
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports) =>
        new FcmProvider(id, Options(config), time);
}
