using System.Security.Cryptography;

namespace Chuda.Channels.Push;

/// <summary>
/// APNs provider authentication tokens: an ES256 JWT, header <c>{"alg": "ES256", "kid": keyId}</c>, claims
/// <c>{"iss": teamId, "iat": now}</c>, signed with the .p8 key. Apple refuses tokens older than an hour and answers
/// <c>TooManyProviderTokenUpdates</c> when they change more often than every 20 minutes, so one token is used for
/// <see cref="Lifetime"/> (50 min). Thread-safe.
/// </summary>
public sealed class ApnsProviderTokens : IDisposable
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(50);

    private readonly ECDsa _key;
    private readonly string _teamId;
    private readonly string _keyId;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private (string Token, DateTimeOffset IssuedAt)? _current;

    /// <param name="privateKeyPem">The .p8 file's contents (PKCS#8 PEM, P-256).</param>
    /// <exception cref="ArgumentException">The key is not a P-256 private key in PEM.</exception>
    public ApnsProviderTokens(string teamId, string keyId, string privateKeyPem, TimeProvider time)
    {
        _key = ImportKey(privateKeyPem);
        _teamId = teamId;
        _keyId = keyId;
        _time = time;
    }

    /// <summary>Tokens signed so far.</summary>
    public int Signed { get; private set; }

    /// <summary>Reads a .p8 key; throws <see cref="ArgumentException"/> when it is not a P-256 private key.</summary>
    public static ECDsa ImportKey(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256) throw new ArgumentException("The APNs key must be a P-256 (ES256) key.", nameof(pem));
            key.ExportParameters(true); // a public key alone has no D: refuse it
            return key;
        }
        catch (CryptographicException ex)
        {
            key.Dispose();
            throw new ArgumentException("The APNs key is not a P-256 private key in PEM (.p8): " + ex.Message, nameof(pem), ex);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>The current token, signing a new one when there is none or it is <see cref="Lifetime"/> old.</summary>
    public string Current()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_current is { } c && now - c.IssuedAt < Lifetime) return c.Token;
            return Sign(now);
        }
    }

    /// <summary>Replaces <paramref name="rejected"/> (APNs answered <c>ExpiredProviderToken</c>) unless it was replaced already.</summary>
    public string Renew(string rejected)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_current is { } c && c.Token != rejected && now - c.IssuedAt < Lifetime) return c.Token;
            return Sign(now);
        }
    }

    // Under _gate.
    private string Sign(DateTimeOffset now)
    {
        var token = Jwt.SignEs256(
            new Dictionary<string, object> { ["alg"] = "ES256", ["kid"] = _keyId },
            new Dictionary<string, object> { ["iss"] = _teamId, ["iat"] = now.ToUnixTimeSeconds() },
            _key);
        _current = (token, now);
        Signed++;
        return token;
    }

    public void Dispose() => _key.Dispose();
}
