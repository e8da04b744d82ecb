using Chuda.Channels.Providers;

namespace Chuda.Channels.WeChat;

/// <summary>What one access-token request returned: a token and its lifetime, or why there is none.</summary>
/// <param name="Failure">Set when no token was obtained: always a provider-level failure (bad credentials, IP not
/// allowed, the token endpoint unreachable), so the engine fails over.</param>
public sealed record AccessTokenFetch(string? Token, TimeSpan ExpiresIn, ProviderResult? Failure)
{
    public static AccessTokenFetch Failed(ProviderResult failure) => new(null, TimeSpan.Zero, failure);
}

/// <summary>
/// The cached access token of one WeChat official account or WeCom application. The token is fetched once and kept until
/// <c>expires_in</c> minus a safety margin (a fifth of the lifetime, at most 5 minutes: WeChat keeps the previous token valid
/// for 5 minutes after a new one is issued, and a stable token is issued with at least 300 s left). Fetches are single-flight:
/// however many sends need a token at once, one request goes to the token endpoint and they all wait for it — the plain
/// <c>/cgi-bin/token</c> call invalidates the previous token, so parallel fetches would knock each other's tokens out.
/// A send that is told its token is invalid or expired calls <see cref="Invalidate"/> with that token and asks again.
/// </summary>
public sealed class AccessTokenCache(Func<CancellationToken, Task<AccessTokenFetch>> fetch, TimeProvider time)
{
    private static readonly TimeSpan MaxMargin = TimeSpan.FromMinutes(5);
    private readonly Lock _gate = new();
    private string? _token;
    private DateTimeOffset _refreshAt;
    private Task<AccessTokenFetch>? _inflight;
    private int _fetches;

    /// <summary>Requests made to the token endpoint so far.</summary>
    public int Fetches => Volatile.Read(ref _fetches);

    /// <summary>When the cached token is refreshed: <paramref name="expiresIn"/> minus the margin.</summary>
    public static TimeSpan UsableFor(TimeSpan expiresIn)
    {
        var margin = TimeSpan.FromTicks(Math.Min(MaxMargin.Ticks, expiresIn.Ticks / 5));
        return expiresIn - margin;
    }

    /// <summary>The cached token, or the result of the (shared) fetch when there is none or it is due for refresh.</summary>
    public async Task<AccessTokenFetch> GetAsync(CancellationToken cancellationToken)
    {
        Task<AccessTokenFetch> task;
        lock (_gate)
        {
            if (_token is { } token && time.GetUtcNow() < _refreshAt) return new AccessTokenFetch(token, _refreshAt - time.GetUtcNow(), null);
            // Task.Run: the fetch starts outside the lock, and its completion (which takes the lock) cannot run before _inflight is set.
            task = _inflight ??= Task.Run(FetchAsync, CancellationToken.None);
        }
        // A caller that gives up does not cancel the shared fetch: the others still wait for it.
        return await task.WaitAsync(cancellationToken);
    }

    /// <summary>Drops <paramref name="staleToken"/> if it is still the cached one (a newer token is kept: many sends may
    /// report the same expired token).</summary>
    public void Invalidate(string staleToken)
    {
        lock (_gate)
        {
            if (string.Equals(_token, staleToken, StringComparison.Ordinal)) _token = null;
        }
    }

    private async Task<AccessTokenFetch> FetchAsync()
    {
        Interlocked.Increment(ref _fetches);
        AccessTokenFetch result;
        try
        {
            // The fetch function bounds itself with the provider's request timeout.
            result = await fetch(CancellationToken.None);
        }
        catch (Exception ex)
        {
            result = AccessTokenFetch.Failed(new ProviderResult(ProviderOutcome.TransientFailure, "access token request failed: " + ex.Message, ProviderDown: true));
        }
        lock (_gate)
        {
            if (result.Token is { Length: > 0 } token)
            {
                _token = token;
                _refreshAt = time.GetUtcNow() + UsableFor(result.ExpiresIn);
            }
            _inflight = null;
        }
        return result;
    }
}
