using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Providers;

namespace Chuda.Channels.Sms.Http;

/// <summary>
/// What Twilio's REST API and its webhooks have in common, for the SMS preset and the voice provider: HTTP Basic authentication
/// with the account SID and auth token, form-encoded requests, JSON error bodies (<c>{"code": 21211, "message": …}</c>) and the
/// <c>X-Twilio-Signature</c> on webhooks.
/// </summary>
public static class TwilioApi
{
    public const string DefaultEndpoint = "https://api.twilio.com";

    public const string SignatureHeader = "X-Twilio-Signature";

    /// <summary>An empty TwiML answer: Twilio expects XML from its webhooks (and replies nothing to an inbound SMS with it).</summary>
    public const string EmptyTwiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

    /// <summary>The account settings every Twilio-shaped provider has — <c>endpoint</c> (default <see cref="DefaultEndpoint"/>),
    /// <c>accountSid</c>, <c>authToken</c>, <c>statusCallbackUrl</c> — read and checked, problems added to <paramref name="errors"/>.</summary>
    internal static (string Endpoint, string? AccountSid, string? AuthToken, string? StatusCallbackUrl) ReadAccount(JsonElement config,
        List<(string Path, string Message)> errors)
    {
        string? Str(string name) => config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var endpoint = Str("endpoint") ?? DefaultEndpoint;
        if (!HttpGatewayClient.IsHttpUrl(endpoint)) errors.Add(("$.config.endpoint", "expected an absolute http(s) URL"));
        var sid = Str("accountSid");
        if (sid is null || !sid.StartsWith("AC", StringComparison.Ordinal) || sid.Length != 34 || !sid[2..].All(char.IsAsciiHexDigit))
            errors.Add(("$.config.accountSid", "required: the account SID (AC followed by 32 hex digits)"));
        var token = Str("authToken");
        if (string.IsNullOrEmpty(token)) errors.Add(("$.config.authToken", "required"));
        var callback = Str("statusCallbackUrl");
        if (callback is not null && !HttpGatewayClient.IsHttpUrl(callback)) errors.Add(("$.config.statusCallbackUrl", "expected an absolute http(s) URL"));
        return (endpoint, sid, token, callback);
    }

    public static string BasicAuthorization(string accountSid, string authToken) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(accountSid + ":" + authToken));

    /// <summary>
    /// Twilio's request signature: the full URL (with its query string), then every POST parameter sorted by name, each name
    /// immediately followed by its value (values of a repeated name in sorted order), signed with HMAC-SHA1 keyed by the auth token,
    /// base64-encoded. Nothing is URL-encoded or separated.
    /// </summary>
    public static string ComputeSignature(string authToken, string url, IEnumerable<KeyValuePair<string, string>> postParameters)
    {
        ArgumentNullException.ThrowIfNull(authToken);
        ArgumentNullException.ThrowIfNull(url);
        var data = new StringBuilder(url);
        foreach (var (name, value) in postParameters.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal))
            data.Append(name).Append(value);
#pragma warning disable CA5350 // Twilio's scheme is HMAC-SHA1; HMAC does not rely on SHA-1's collision resistance.
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(data.ToString())));
#pragma warning restore CA5350
    }

    /// <summary>
    /// Verifies a webhook: the signature over the URL as received, and (as Twilio's own helper libraries do, since proxies add or drop
    /// it) over the same URL with the default port added or removed. A GET callback signs the URL only; a POST signs the URL and its
    /// form parameters. Compared in constant time.
    /// </summary>
    public static bool VerifySignature(string authToken, ProviderCallback callback, IReadOnlyList<KeyValuePair<string, string>> postParameters)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (!callback.Headers.TryGetValue(SignatureHeader, out var given) || given.Length == 0) return false;
        var presented = Encoding.ASCII.GetBytes(given.Trim());
        var matched = false;
        foreach (var url in UrlVariants(callback.Url))
        {
            var expected = Encoding.ASCII.GetBytes(ComputeSignature(authToken, url, postParameters));
            matched |= CryptographicOperations.FixedTimeEquals(expected, presented);
        }
        return matched;
    }

    private static IEnumerable<string> UrlVariants(Uri url)
    {
        var text = url.OriginalString;
        yield return text;
        var defaultPort = url.Scheme == Uri.UriSchemeHttps ? 443 : 80;
        if (url.Port == defaultPort)
        {
            // The URL as received has the default port implicitly or explicitly: try the other spelling.
            var authority = url.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);
            var rest = url.GetComponents(UriComponents.PathAndQuery | UriComponents.Fragment, UriFormat.UriEscaped);
            var withPort = $"{url.Scheme}://{url.IdnHost}:{defaultPort}{rest}";
            var withoutPort = authority + rest;
            if (withPort != text) yield return withPort;
            if (withoutPort != text) yield return withoutPort;
        }
    }

    /// <summary>The request parameters of a callback: the form fields of a POST (from the body), the query of a GET.</summary>
    public static List<KeyValuePair<string, string>> Parameters(ProviderCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (string.Equals(callback.Method, "GET", StringComparison.OrdinalIgnoreCase)) return [.. callback.Query];
        try
        {
            return FormEncoding.Parse(new UTF8Encoding(false, true).GetString(callback.Body.Span));
        }
        catch (DecoderFallbackException)
        {
            return [];
        }
    }

    /// <summary>The <c>code</c> and <c>message</c> of a Twilio error body, when it is one.</summary>
    public static (int? Code, string? Message) ParseError(string body)
    {
        if (body.Length == 0 || body[0] != '{') return (null, null);
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            int? code = root.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : null;
            var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return (code, message);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    /// <summary>The <c>sid</c> of a created resource (a message <c>SM…</c>, a call <c>CA…</c>).</summary>
    public static string? ParseSid(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("sid", out var sid) && sid.ValueKind == JsonValueKind.String ? sid.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The result of a create call (message or call): 2xx with a <c>sid</c> → Accepted; error codes per <paramref name="classify"/>
    /// first (Twilio's code says more than its status), then the common HTTP mapping, then permanent.
    /// </summary>
    public static ProviderResult Classify(HttpGatewayResponse response, Func<int, string, ProviderResult?> classify)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(classify);
        if (response.Is2xx)
        {
            return ParseSid(response.Body) is { } sid
                ? new ProviderResult(ProviderOutcome.Accepted, $"HTTP {response.Status}", sid)
                : new ProviderResult(ProviderOutcome.TransientFailure, "a 2xx answer without a sid: " + response.Describe(), ProviderDown: true);
        }
        var (code, message) = response.Failure == HttpGatewayFailure.None ? ParseError(response.Body) : (null, null);
        if (code is { } c)
        {
            var detail = $"HTTP {response.Status}, Twilio error {c}: {message}";
            if (c == 20429) return new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: response.RetryAfter);
            if (c is 20003 or 20005) return new ProviderResult(ProviderOutcome.TransientFailure, detail, ProviderDown: true);
            if (classify(c, detail) is { } specific) return specific;
        }
        return response.CommonOutcome() ?? new ProviderResult(ProviderOutcome.PermanentFailure, response.Describe());
    }
}
