using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Chuda.Channels.Webhooks;

/// <summary>Why <see cref="StandardWebhookSigner.Verify"/> accepted or refused a webhook.</summary>
public enum WebhookVerification
{
    Valid,
    MissingHeaders,
    InvalidTimestamp,
    TimestampOutOfTolerance,
    NoMatchingSignature,
}

/// <summary>
/// Signatures as the Standard Webhooks specification defines them: <c>webhook-signature: v1,&lt;base64
/// HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")&gt;</c>, where the secret is <c>whsec_</c> followed by
/// the base64 key and the timestamp is in unix seconds. See docs/webhooks.md.
/// </summary>
public static class StandardWebhookSigner
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";
    public const string SecretPrefix = "whsec_";

    private const int NewKeyBytes = 32;
    private const int HashBytes = 32;

    /// <summary>A new random secret: <c>whsec_</c> + base64 of 32 random bytes.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(NewKeyBytes));

    /// <summary>The <c>webhook-signature</c> value (<c>v1,…</c>) for a message; the timestamp counts in whole seconds.</summary>
    public static string Sign(string secret, string messageId, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        Span<byte> hash = stackalloc byte[HashBytes];
        ComputeHash(DecodeSecret(secret), messageId, timestamp.ToUnixTimeSeconds(), body, hash);
        return "v1," + Convert.ToBase64String(hash);
    }

    /// <summary>As <see cref="Sign(string, string, DateTimeOffset, ReadOnlySpan{byte})"/> for a UTF-8 body.</summary>
    public static string Sign(string secret, string messageId, DateTimeOffset timestamp, string body) =>
        Sign(secret, messageId, timestamp, Encoding.UTF8.GetBytes(body));

    /// <summary>
    /// Checks a received webhook: the headers must be present, the timestamp within <paramref name="tolerance"/> of
    /// <paramref name="now"/> (either side), and one of the space-separated <c>v1,</c> signatures must match the body
    /// exactly as received (compared in constant time).
    /// </summary>
    public static WebhookVerification Verify(
        string secret, string? messageId, string? timestamp, string? signature, ReadOnlySpan<byte> body,
        DateTimeOffset now, TimeSpan tolerance)
    {
        var key = DecodeSecret(secret);
        if (string.IsNullOrEmpty(messageId) || string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature))
            return WebhookVerification.MissingHeaders;
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return WebhookVerification.InvalidTimestamp;
        var skew = now.ToUnixTimeSeconds() - seconds;
        if (Math.Abs((double)skew) > tolerance.TotalSeconds) return WebhookVerification.TimestampOutOfTolerance;

        Span<byte> expected = stackalloc byte[HashBytes];
        ComputeHash(key, messageId, seconds, body, expected);
        Span<byte> candidate = stackalloc byte[HashBytes + 3];
        foreach (var part in signature.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!part.StartsWith("v1,", StringComparison.Ordinal)) continue;
            if (Convert.TryFromBase64String(part[3..], candidate, out var written) && written == HashBytes
                && CryptographicOperations.FixedTimeEquals(candidate[..HashBytes], expected))
                return WebhookVerification.Valid;
        }
        return WebhookVerification.NoMatchingSignature;
    }

    private static byte[] DecodeSecret(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var encoded = secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret;
        byte[] key;
        try
        {
            key = Convert.FromBase64String(encoded);
        }
        catch (FormatException)
        {
            throw new ArgumentException("A webhook secret is 'whsec_' followed by a base64 key.", nameof(secret));
        }
        if (key.Length == 0) throw new ArgumentException("The webhook secret's key is empty.", nameof(secret));
        return key;
    }

    private static void ComputeHash(byte[] key, string messageId, long unixSeconds, ReadOnlySpan<byte> body, Span<byte> hash)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{messageId}.{unixSeconds}.")));
        hmac.AppendData(body);
        hmac.GetHashAndReset(hash);
    }
}
