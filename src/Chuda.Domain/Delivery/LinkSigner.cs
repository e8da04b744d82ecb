using System.Security.Cryptography;
using System.Text;

namespace Chuda.Domain.Delivery;

/// <summary>
/// HMAC-SHA256 signatures for the links Chuda puts in messages (click redirects, the open pixel, unsubscribe and
/// preference pages) and for in-app user tokens. A link without a valid signature is refused: a click link can never be
/// turned into an open redirect by editing its URL. Keys are per workspace (32 random bytes); verification is constant-time.
/// </summary>
public sealed class LinkSigner(byte[] key)
{
    private readonly byte[] _key = (byte[])key.Clone();

    /// <summary>A URL-safe signature of <paramref name="purpose"/> and <paramref name="parts"/> (16 bytes, base64url).</summary>
    public string Sign(string purpose, params string[] parts)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, Payload(purpose, parts), mac);
        return Base64Url(mac[..16]);
    }

    public bool Verify(string? signature, string purpose, params string[] parts)
    {
        if (string.IsNullOrEmpty(signature) || signature.Length > 64) return false;
        var expected = Encoding.ASCII.GetBytes(Sign(purpose, parts));
        var given = Encoding.ASCII.GetBytes(signature);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    /// <summary>The in-app user token for <paramref name="userId"/>: hex HMAC-SHA256 of the user id with the workspace's inbox
    /// secret. A customer's backend computes the same value and hands it to its signed-in user's app.</summary>
    public static string UserToken(string inboxSecret, string userId) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(inboxSecret), Encoding.UTF8.GetBytes(userId)));

    public static bool VerifyUserToken(string inboxSecret, string userId, string? token) =>
        token is { Length: 64 } && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(UserToken(inboxSecret, userId)),
            Encoding.ASCII.GetBytes(token.ToLowerInvariant()));

    public static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[]? FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        s += (s.Length % 4) switch { 2 => "==", 3 => "=", _ => "" };
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Each field length-prefixed, so no choice of parts can be re-split into another that signs the same.</summary>
    private static byte[] Payload(string purpose, string[] parts)
    {
        var sb = new StringBuilder();
        foreach (var p in (string[])[purpose, .. parts]) sb.Append(p.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(':').Append(p);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
