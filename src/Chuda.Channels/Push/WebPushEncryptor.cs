using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Chuda.Channels.Push;

/// <summary>
/// Web Push message encryption (RFC 8291) with the <c>aes128gcm</c> content coding (RFC 8188): an ephemeral P-256 key pair per
/// message, ECDH with the subscription's <c>p256dh</c> key, HKDF-SHA-256 keyed by the subscription's <c>auth</c> secret, and one
/// AES-128-GCM record (padding delimiter 0x02) after the header <c>salt(16) || rs(4, 4096) || idlen(1, 65) || keyid (the
/// ephemeral public key, uncompressed)</c>. Thread-safe: every call uses its own keys.
/// </summary>
public static class WebPushEncryptor
{
    /// <summary>The record size written in the header: push services must accept a 4096-octet body (RFC 8030 §7.2).</summary>
    public const int RecordSize = 4096;

    /// <summary>Octets of the aes128gcm header: salt, record size, key id length and the 65-octet key id.</summary>
    public const int HeaderLength = 16 + 4 + 1 + 65;

    /// <summary>The largest plaintext that fits in one 4096-octet record: 4096 - 86 (header) - 16 (tag) - 1 (delimiter) = 3993.</summary>
    public const int MaxPayloadLength = RecordSize - HeaderLength - 16 - 1;

    private static readonly byte[] KeyInfoLabel = Encoding.ASCII.GetBytes("WebPush: info\0");
    private static readonly byte[] CekInfo = Encoding.ASCII.GetBytes("Content-Encoding: aes128gcm\0");
    private static readonly byte[] NonceInfo = Encoding.ASCII.GetBytes("Content-Encoding: nonce\0");

    /// <summary>Encrypts <paramref name="plaintext"/> for a subscription; the result is the complete request body.</summary>
    /// <param name="userAgentPublicKey">The subscription's <c>p256dh</c> key: 65 octets, uncompressed (0x04 || X || Y).</param>
    /// <param name="authSecret">The subscription's 16-octet <c>auth</c> secret.</param>
    /// <exception cref="ArgumentException">A key is malformed, or the plaintext is longer than <see cref="MaxPayloadLength"/>.</exception>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> userAgentPublicKey, ReadOnlySpan<byte> authSecret)
    {
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Span<byte> salt = stackalloc byte[16];
        RandomNumberGenerator.Fill(salt);
        return Encrypt(plaintext, userAgentPublicKey, authSecret, ephemeral, salt);
    }

    /// <summary>Encryption with a given ephemeral key pair and salt (for RFC 8291's test vector; never reuse either in production).</summary>
    internal static byte[] Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> userAgentPublicKey, ReadOnlySpan<byte> authSecret,
        ECDiffieHellman ephemeral, ReadOnlySpan<byte> salt)
    {
        if (plaintext.Length > MaxPayloadLength)
            throw new ArgumentException($"The payload is {plaintext.Length} bytes; at most {MaxPayloadLength} fit in one Web Push record.", nameof(plaintext));
        if (authSecret.Length != 16) throw new ArgumentException("The auth secret must be 16 bytes.", nameof(authSecret));
        if (salt.Length != 16) throw new ArgumentException("The salt must be 16 bytes.", nameof(salt));

        using var userAgent = ImportPublicKey(userAgentPublicKey);
        var ecdhSecret = ephemeral.DeriveRawSecretAgreement(userAgent.PublicKey);
        var applicationServerPublicKey = ExportPublicKey(ephemeral);

        // IKM = HKDF(salt = auth_secret, IKM = ecdh_secret, info = "WebPush: info\0" || ua_public || as_public, L = 32)
        var keyInfo = new byte[KeyInfoLabel.Length + 65 + 65];
        KeyInfoLabel.CopyTo(keyInfo, 0);
        userAgentPublicKey.CopyTo(keyInfo.AsSpan(KeyInfoLabel.Length));
        applicationServerPublicKey.CopyTo(keyInfo, KeyInfoLabel.Length + 65);
        Span<byte> ikm = stackalloc byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ecdhSecret, ikm, authSecret, keyInfo);
        CryptographicOperations.ZeroMemory(ecdhSecret);

        // PRK = HKDF-Extract(salt, IKM); CEK and NONCE are expanded from it.
        Span<byte> prk = stackalloc byte[32];
        HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt, prk);
        Span<byte> cek = stackalloc byte[16];
        Span<byte> nonce = stackalloc byte[12];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, cek, CekInfo);
        HKDF.Expand(HashAlgorithmName.SHA256, prk, nonce, NonceInfo);

        var body = new byte[HeaderLength + plaintext.Length + 1 + 16];
        salt.CopyTo(body);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(16), RecordSize);
        body[20] = 65;
        applicationServerPublicKey.CopyTo(body, 21);

        // The single (and so last) record: plaintext || 0x02, no further padding.
        var record = body.AsSpan(HeaderLength, plaintext.Length + 1);
        plaintext.CopyTo(record);
        record[^1] = 0x02;
        using (var aes = new AesGcm(cek, 16))
        {
            aes.Encrypt(nonce, record, record, body.AsSpan(HeaderLength + record.Length, 16));
        }
        CryptographicOperations.ZeroMemory(ikm);
        CryptographicOperations.ZeroMemory(prk);
        CryptographicOperations.ZeroMemory(cek);
        return body;
    }

    /// <summary>Reads an uncompressed P-256 public key (0x04 || X || Y); throws <see cref="ArgumentException"/> when it is not one.</summary>
    internal static ECDiffieHellman ImportPublicKey(ReadOnlySpan<byte> uncompressed)
    {
        if (uncompressed.Length != 65 || uncompressed[0] != 0x04)
            throw new ArgumentException("The p256dh key must be an uncompressed P-256 point (65 bytes starting with 0x04).", nameof(uncompressed));
        var parameters = new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = uncompressed[1..33].ToArray(), Y = uncompressed[33..].ToArray() },
        };
        try
        {
            return ECDiffieHellman.Create(parameters);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException("The p256dh key is not a point on P-256.", nameof(uncompressed), ex);
        }
    }

    /// <summary>The uncompressed form (0x04 || X || Y) of a P-256 key's public part.</summary>
    internal static byte[] ExportPublicKey(AsymmetricAlgorithm key)
    {
        var q = key switch
        {
            ECDiffieHellman dh => dh.ExportParameters(false).Q,
            ECDsa dsa => dsa.ExportParameters(false).Q,
            _ => throw new ArgumentException("expected an EC key", nameof(key)),
        };
        var result = new byte[65];
        result[0] = 0x04;
        q.X!.CopyTo(result, 1);
        q.Y!.CopyTo(result, 33);
        return result;
    }
}
