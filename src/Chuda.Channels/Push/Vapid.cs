using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Chuda.Channels.Push;

/// <summary>A VAPID key pair, both parts base64url without padding: the public key uncompressed (65 bytes), the private key the
/// raw 32-byte scalar <c>d</c>.</summary>
public sealed record VapidKeyPair(string PublicKey, string PrivateKey);

/// <summary>
/// VAPID (RFC 8292): the application server identifies itself to a push service with an ES256 JWT whose audience is the push
/// service's origin, sent as <c>Authorization: vapid t=&lt;jwt&gt;, k=&lt;public key&gt;</c>.
/// </summary>
public static class Vapid
{
    /// <summary>A new P-256 key pair for VAPID (what the API and console offer when a Web Push provider is created).</summary>
    public static VapidKeyPair GenerateKeys()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(true);
        var publicKey = Base64Url.EncodeToString(WebPushEncryptor.ExportPublicKey(key));
        var privateKey = Base64Url.EncodeToString(parameters.D);
        CryptographicOperations.ZeroMemory(parameters.D);
        return new VapidKeyPair(publicKey, privateKey);
    }

    /// <summary>Loads a key pair; throws <see cref="ArgumentException"/> when either part is malformed or they do not match.</summary>
    public static ECDsa ImportKeys(string publicKey, string privateKey)
    {
        byte[] q, d;
        try
        {
            q = Base64Url.DecodeFromChars(publicKey);
            d = Base64Url.DecodeFromChars(privateKey);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException("VAPID keys must be base64url.", ex);
        }
        if (q.Length != 65 || q[0] != 0x04) throw new ArgumentException("The VAPID public key must be an uncompressed P-256 point (65 bytes, base64url).", nameof(publicKey));
        if (d.Length != 32) throw new ArgumentException("The VAPID private key must be the 32-byte P-256 scalar d, base64url.", nameof(privateKey));
        var key = ECDsa.Create();
        try
        {
            key.ImportParameters(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                D = d,
                Q = new ECPoint { X = q[1..33], Y = q[33..] },
            });
        }
        catch (CryptographicException ex)
        {
            key.Dispose();
            throw new ArgumentException("The VAPID private key does not belong to the public key (or is not a P-256 key).", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
        return key;
    }

    /// <summary>The VAPID JWT: header <c>{"typ":"JWT","alg":"ES256"}</c>, claims <c>{"aud", "exp", "sub"}</c>.</summary>
    /// <param name="audience">The push service's origin (<see cref="AudienceOf"/>).</param>
    /// <param name="subject">A <c>mailto:</c> or <c>https:</c> contact for the push service's operator.</param>
    public static string CreateToken(ECDsa key, string audience, DateTimeOffset expires, string subject) =>
        Jwt.SignEs256(
            new Dictionary<string, object> { ["typ"] = "JWT", ["alg"] = "ES256" },
            new Dictionary<string, object> { ["aud"] = audience, ["exp"] = expires.ToUnixTimeSeconds(), ["sub"] = subject },
            key);

    /// <summary>The <c>Authorization</c> header value.</summary>
    public static string AuthorizationHeader(string token, string publicKey) => $"vapid t={token}, k={publicKey}";

    /// <summary>The origin of a push endpoint: <c>scheme://host[:port]</c> (the port only when it is not the scheme's default).</summary>
    public static string AudienceOf(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return endpoint.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>Whether <paramref name="subject"/> is a contact RFC 8292 accepts: a <c>mailto:</c> or <c>https:</c> URI.</summary>
    public static bool IsValidSubject(string? subject) =>
        subject is not null && Uri.TryCreate(subject, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeMailto || uri.Scheme == Uri.UriSchemeHttps);
}

/// <summary>
/// Signs VAPID tokens for one key pair and caches them per audience (push service origin): a token lives
/// <see cref="Lifetime"/> (12 h; RFC 8292 allows at most 24 h) and is replaced once less than a quarter of it is left.
/// Thread-safe.
/// </summary>
public sealed class VapidSigner : IDisposable
{
    /// <summary>How long a token is valid (its <c>exp</c> minus the time it was signed).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private static readonly TimeSpan RenewBefore = TimeSpan.FromHours(3);

    private const int MaxAudiences = 1024;

    private readonly ECDsa _key;
    private readonly TimeProvider _time;
    private readonly string _subject;
    private readonly ConcurrentDictionary<string, (string Header, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);
    private readonly Lock _sign = new();

    /// <exception cref="ArgumentException">The keys are malformed or do not match, or the subject is not mailto:/https:.</exception>
    public VapidSigner(string publicKey, string privateKey, string subject, TimeProvider time)
    {
        if (!Vapid.IsValidSubject(subject)) throw new ArgumentException("The VAPID subject must be a mailto: or https: URI.", nameof(subject));
        _key = Vapid.ImportKeys(publicKey, privateKey);
        PublicKey = publicKey;
        _subject = subject;
        _time = time;
    }

    /// <summary>The public key, base64url (the <c>k</c> parameter and the subscriptions' <c>applicationServerKey</c>).</summary>
    public string PublicKey { get; }

    /// <summary>Tokens signed so far (cache misses), for tests and metrics.</summary>
    public int Signed { get; private set; }

    /// <summary>The <c>Authorization</c> header value for a push to <paramref name="endpoint"/>.</summary>
    public string AuthorizationFor(Uri endpoint)
    {
        var audience = Vapid.AudienceOf(endpoint);
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(audience, out var cached) && cached.Expires - now > RenewBefore) return cached.Header;
        lock (_sign)
        {
            if (_cache.TryGetValue(audience, out cached) && cached.Expires - now > RenewBefore) return cached.Header;
            // exp is whole seconds: round down so that the token never outlives the 24-hour limit by a fraction.
            var expires = DateTimeOffset.FromUnixTimeSeconds((now + Lifetime).ToUnixTimeSeconds());
            var header = Vapid.AuthorizationHeader(Vapid.CreateToken(_key, audience, expires, _subject), PublicKey);
            // Endpoints come from browsers: keep the cache bounded even if subscriptions name many origins.
            if (_cache.Count >= MaxAudiences) _cache.Clear();
            _cache[audience] = (header, expires);
            Signed++;
            return header;
        }
    }

    public void Dispose() => _key.Dispose();
}
