using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Chuda.Channels.Push;

/// <summary>The fields of a Google service-account key file that OAuth needs.</summary>
/// <param name="PrivateKeyPem">The RSA private key, PEM (PKCS#8 <c>BEGIN PRIVATE KEY</c>, as Google issues it).</param>
public sealed record GoogleServiceAccount(string ClientEmail, string PrivateKeyPem, Uri TokenUri, string? PrivateKeyId = null, string? ProjectId = null)
{
    public static readonly Uri DefaultTokenUri = new("https://oauth2.googleapis.com/token");

    /// <summary>Reads a service-account JSON (an object, or a string holding one); problems are returned by field name.</summary>
    public static GoogleServiceAccount? Parse(JsonElement json, out List<(string Field, string Message)> problems)
    {
        problems = [];
        if (json.ValueKind == JsonValueKind.String)
        {
            try
            {
                using var document = JsonDocument.Parse(json.GetString()!);
                return Parse(document.RootElement.Clone(), out problems);
            }
            catch (JsonException)
            {
                problems.Add(("", "expected the service-account JSON (an object or a string holding it)"));
                return null;
            }
        }
        if (json.ValueKind != JsonValueKind.Object)
        {
            problems.Add(("", "expected the service-account JSON: {\"client_email\", \"private_key\", \"token_uri\", …}"));
            return null;
        }
        var email = PushHttp.String(json, "client_email");
        var key = PushHttp.String(json, "private_key");
        var tokenUriText = PushHttp.String(json, "token_uri");
        if (string.IsNullOrWhiteSpace(email)) problems.Add(("client_email", "required"));
        if (string.IsNullOrWhiteSpace(key)) problems.Add(("private_key", "required: the PEM private key"));
        else
        {
            try
            {
                using var rsa = RSA.Create();
                rsa.ImportFromPem(key);
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                problems.Add(("private_key", "not an RSA private key in PEM: " + ex.Message));
            }
        }
        Uri? tokenUri = DefaultTokenUri;
        if (tokenUriText is not null && (!Uri.TryCreate(tokenUriText, UriKind.Absolute, out tokenUri) || (tokenUri.Scheme != Uri.UriSchemeHttps && tokenUri.Scheme != Uri.UriSchemeHttp)))
            problems.Add(("token_uri", "expected an http(s) URL"));
        if (problems.Count > 0) return null;
        return new GoogleServiceAccount(email!, key!, tokenUri!, PushHttp.String(json, "private_key_id"), PushHttp.String(json, "project_id"));
    }
}

/// <summary>Raised when Google's token endpoint does not give an access token.</summary>
public sealed class GoogleAuthException(string message) : Exception(message);

/// <summary>
/// OAuth 2.0 access tokens for a service account (RFC 7523 JWT bearer grant): an RS256 assertion
/// <c>{iss: client_email, scope, aud: token_uri, iat, exp: iat + 1 h}</c> is exchanged at the token endpoint, and the token is
/// reused until a minute before it expires. One refresh at a time; thread-safe.
/// </summary>
public sealed class GoogleAccessTokens : IDisposable
{
    private static readonly TimeSpan Margin = TimeSpan.FromMinutes(1);

    private readonly GoogleServiceAccount _account;
    private readonly string _scope;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly RSA _key;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private Cached? _cached;
    private int _requests;

    private sealed record Cached(string Token, DateTimeOffset Expires);

    public GoogleAccessTokens(GoogleServiceAccount account, string scope, HttpClient http, TimeProvider time)
    {
        _account = account;
        _scope = scope;
        _http = http;
        _time = time;
        _key = RSA.Create();
        _key.ImportFromPem(account.PrivateKeyPem);
    }

    /// <summary>Token requests made so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>A valid access token, from the cache when it has more than a minute left.</summary>
    /// <exception cref="GoogleAuthException">The token endpoint refused or could not be reached.</exception>
    public async Task<string> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _cached) is { } c && c.Expires - _time.GetUtcNow() > Margin) return c.Token;
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _cached) is { } again && again.Expires - _time.GetUtcNow() > Margin) return again.Token;
            var fresh = await RequestAsync(cancellationToken);
            Volatile.Write(ref _cached, fresh);
            return fresh.Token;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>Drops <paramref name="token"/> from the cache (the API answered 401 to it); a newer token is kept.</summary>
    public void Invalidate(string token)
    {
        var current = Volatile.Read(ref _cached);
        if (current is not null && current.Token == token) Interlocked.CompareExchange(ref _cached, null, current);
    }

    /// <summary>The signed assertion (public for tests and diagnostics).</summary>
    public string CreateAssertion(DateTimeOffset now)
    {
        var header = new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = "JWT" };
        if (_account.PrivateKeyId is { Length: > 0 } kid) header["kid"] = kid;
        var iat = now.ToUnixTimeSeconds();
        return Jwt.SignRs256(header, new Dictionary<string, object>
        {
            ["iss"] = _account.ClientEmail,
            ["scope"] = _scope,
            ["aud"] = _account.TokenUri.ToString(),
            ["iat"] = iat,
            ["exp"] = iat + 3600,
        }, _key);
    }

    private async Task<Cached> RequestAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        var now = _time.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, _account.TokenUri)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "urn:ietf:params:oauth:grant-type:jwt-bearer",
                ["assertion"] = CreateAssertion(now),
            }),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GoogleAuthException("the token endpoint did not answer in time");
        }
        catch (HttpRequestException ex)
        {
            throw new GoogleAuthException("the token endpoint is unreachable: " + ex.Message);
        }
        using (response)
        {
            var body = await PushHttp.ReadBodyAsync(response, cancellationToken);
            var json = PushHttp.ParseObject(body);
            if (!response.IsSuccessStatusCode)
            {
                var error = PushHttp.String(json, "error") ?? "";
                var description = PushHttp.String(json, "error_description") ?? PushHttp.Excerpt(body);
                throw new GoogleAuthException($"the token endpoint answered {(int)response.StatusCode} {error} {description}".TrimEnd());
            }
            if (PushHttp.String(json, "access_token") is not { Length: > 0 } token)
                throw new GoogleAuthException("the token endpoint's answer has no access_token");
            var lifetime = json.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) && seconds > 0 ? seconds : 3600;
            return new Cached(token, now + TimeSpan.FromSeconds(lifetime));
        }
    }

    public void Dispose()
    {
        _key.Dispose();
        _refresh.Dispose();
    }
}
