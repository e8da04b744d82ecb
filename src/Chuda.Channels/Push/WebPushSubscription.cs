using System.Buffers.Text;
using System.Text.Json;

namespace Chuda.Channels.Push;

/// <summary>A browser's push subscription (<c>PushSubscription.toJSON()</c>): <c>{"endpoint": "https://…", "keys": {"p256dh": "…", "auth": "…"}}</c>.</summary>
/// <param name="P256dh">The user agent's public key, uncompressed (65 bytes).</param>
/// <param name="Auth">The 16-byte authentication secret.</param>
public sealed record WebPushSubscription(Uri Endpoint, byte[] P256dh, byte[] Auth)
{
    /// <summary>The recipient prefix for Web Push subscriptions in profiles.</summary>
    public const string RecipientPrefix = "web:";

    /// <summary>Parses <c>web:&lt;subscription JSON&gt;</c> (or the bare JSON); returns null with a reason when it is not a usable subscription.</summary>
    public static WebPushSubscription? Parse(string recipient, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        var json = recipient.StartsWith(RecipientPrefix, StringComparison.Ordinal) ? recipient[RecipientPrefix.Length..] : recipient;
        problem = null;
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return Fail("the subscription is not a JSON object", out problem);
            if (PushHttp.String(root, "endpoint") is not { } endpointText || !Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint)
                || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
                return Fail("the subscription has no http(s) endpoint", out problem);
            if (!root.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Object)
                return Fail("the subscription has no keys", out problem);
            var p256dh = Decode(PushHttp.String(keys, "p256dh"));
            var auth = Decode(PushHttp.String(keys, "auth"));
            if (p256dh is not { Length: 65 } || p256dh[0] != 0x04) return Fail("keys.p256dh is not an uncompressed P-256 key", out problem);
            if (auth is not { Length: 16 }) return Fail("keys.auth is not a 16-byte secret", out problem);
            return new WebPushSubscription(endpoint, p256dh, auth);
        }
        catch (JsonException)
        {
            return Fail("the subscription is not JSON", out problem);
        }
    }

    private static WebPushSubscription? Fail(string why, out string? problem)
    {
        problem = why;
        return null;
    }

    /// <summary>base64url, tolerating padding and the standard alphabet (some libraries send either).</summary>
    private static byte[]? Decode(string? text)
    {
        if (text is null) return null;
        try
        {
            return Base64Url.DecodeFromChars(text.TrimEnd('=').Replace('+', '-').Replace('/', '_'));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
