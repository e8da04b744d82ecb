using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Chuda.Channels.Push;

/// <summary>Compact JWS (RFC 7515) signing for the push providers' own tokens: ES256 (VAPID, APNs) and RS256 (Google OAuth).</summary>
public static class Jwt
{
    /// <summary>Signs <paramref name="header"/> and <paramref name="claims"/> (serialised as JSON) with ECDSA P-256 / SHA-256; the
    /// signature is the 64-byte IEEE P1363 form (r || s) JWS requires, not DER.</summary>
    public static string SignEs256(IReadOnlyDictionary<string, object> header, IReadOnlyDictionary<string, object> claims, ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var signingInput = SigningInput(header, claims);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>Signs with RSASSA-PKCS1-v1_5 / SHA-256.</summary>
    public static string SignRs256(IReadOnlyDictionary<string, object> header, IReadOnlyDictionary<string, object> claims, RSA key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var signingInput = SigningInput(header, claims);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    private static string SigningInput(IReadOnlyDictionary<string, object> header, IReadOnlyDictionary<string, object> claims) =>
        Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims));

    /// <summary>Splits a compact JWS into its decoded header and claims (JSON) and its signature; null when it is not one.
    /// No signature is checked here.</summary>
    public static (JsonElement Header, JsonElement Claims, byte[] SigningInput, byte[] Signature)? Decode(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
            using var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            return (header.RootElement.Clone(), claims.RootElement.Clone(), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]),
                Base64Url.DecodeFromChars(parts[2]));
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }
}
