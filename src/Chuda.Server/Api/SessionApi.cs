using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Domain.Journeys;
using Chuda.Domain.Workspaces;
using Chuda.Engine.Workspaces;
using Chuda.Storage;

namespace Chuda.Server.Api;

/// <summary>Console sign-in sessions. Validated when the server is built.</summary>
public sealed record SessionOptions
{
    /// <summary>A session unused this long ends (sliding).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromHours(12);

    /// <summary>A session ends this long after sign-in, however active.</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Failed sign-ins allowed per client address within <see cref="FailureWindow"/>; more answer 429.</summary>
    public int MaxFailures { get; init; } = 10;

    public TimeSpan FailureWindow { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Last-seen is written at most this often per session (a request does not cost a write every time).</summary>
    public TimeSpan TouchInterval { get; init; } = TimeSpan.FromMinutes(1);

    public void Validate()
    {
        if (IdleTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(IdleTimeout), IdleTimeout, "Must be positive.");
        if (Lifetime <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Lifetime), Lifetime, "Must be positive.");
        if (MaxFailures < 1) throw new ArgumentOutOfRangeException(nameof(MaxFailures), MaxFailures, "Must be at least 1.");
        if (FailureWindow <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(FailureWindow), FailureWindow, "Must be positive.");
        if (TouchInterval < TimeSpan.Zero || TouchInterval >= IdleTimeout)
            throw new ArgumentOutOfRangeException(nameof(TouchInterval), TouchInterval, "Must be at least zero and shorter than the idle timeout.");
    }
}

public sealed record SignInRequest(string Key);

/// <param name="KeyId">The non-secret name of the admin key (as the audit log names it); the key itself is never returned.</param>
/// <param name="CsrfToken">Send it as <c>X-Chuda-Csrf</c> on every POST / PUT / PATCH / DELETE made with the session cookie.</param>
public sealed record SessionView(string Workspace, string KeyId, string CsrfToken, DateTimeOffset ExpiresAt);

/// <summary>A session that is valid now, with the caller it acts for.</summary>
public sealed record ActiveSession(ConsoleSession Session, Caller Caller);

/// <summary>
/// Console sessions: an admin key is exchanged for a random 256-bit token in an HttpOnly, SameSite=Strict cookie; the store keeps
/// only the token's SHA-256 hash. A session lives until it is idle for <see cref="SessionOptions.IdleTimeout"/>, reaches
/// <see cref="SessionOptions.Lifetime"/>, is signed out, or its key is revoked.
/// </summary>
public sealed class ConsoleSessions(IChudaStore store, WorkspaceDirectory directory, TimeProvider time, SessionOptions options)
{
    public const string CookieName = "chuda_session";
    public const string CsrfHeader = "X-Chuda-Csrf";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.Ordinal);
    private DateTimeOffset _nextPurge = DateTimeOffset.MinValue;

    public SessionOptions Options => options;

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>A short, non-secret name of a session for the audit log.</summary>
    public static string SessionIdOf(string tokenHash) => "sess_" + tokenHash[..12];

    /// <summary>Opens a session for an admin caller; returns the cookie token (shown once, to the browser) and the stored row.</summary>
    public async Task<(string Token, ConsoleSession Session)> OpenAsync(Caller caller, string keyHash, CancellationToken cancellationToken)
    {
        await PurgeExpiredAsync(cancellationToken);
        var now = time.GetUtcNow();
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond)); // the stored precision
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var csrf = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var session = new ConsoleSession(Hash(token), caller.Workspace.Id, keyHash, csrf, now, now, Expiry(now, now));
        await store.AddConsoleSessionAsync(session, cancellationToken);
        return (token, session);
    }

    /// <summary>The session a cookie token names if it is valid now (recording the activity), else null; a dead session's row is deleted.</summary>
    public async Task<ActiveSession?> AuthenticateAsync(string? token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 256) return null;
        var hash = Hash(token);
        var session = await store.FindConsoleSessionAsync(hash, cancellationToken);
        if (session is null) return null;
        var now = time.GetUtcNow();
        var key = await store.FindApiKeyAsync(session.KeyHash, cancellationToken);
        if (Expiry(session.CreatedAt, session.LastSeenAt) <= now || session.ExpiresAt <= now
            || key is not { RevokedAt: null, Kind: ApiKeyKind.Admin } || key.WorkspaceId != session.WorkspaceId)
        {
            await store.DeleteConsoleSessionAsync(hash, cancellationToken);
            return null;
        }
        if (now - session.LastSeenAt >= options.TouchInterval)
        {
            var expires = Expiry(session.CreatedAt, now);
            if (!await store.TouchConsoleSessionAsync(hash, now, expires, cancellationToken)) return null; // signed out meanwhile
            session = session with { LastSeenAt = now, ExpiresAt = expires };
        }
        var workspace = await directory.GetAsync(session.WorkspaceId, cancellationToken);
        return new ActiveSession(session, new Caller(workspace, key.Kind, key.InstanceAdmin, WorkspaceDirectory.KeyIdOf(key.Hash)));
    }

    public Task<bool> CloseAsync(string tokenHash, CancellationToken cancellationToken) => store.DeleteConsoleSessionAsync(tokenHash, cancellationToken);

    private DateTimeOffset Expiry(DateTimeOffset createdAt, DateTimeOffset lastSeenAt)
    {
        var idle = lastSeenAt + options.IdleTimeout;
        var absolute = createdAt + options.Lifetime;
        return idle < absolute ? idle : absolute;
    }

    private async Task PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (now < _nextPurge) return;
            _nextPurge = now + TimeSpan.FromMinutes(10);
        }
        await store.DeleteExpiredConsoleSessionsAsync(now, cancellationToken);
    }

    // ---- sign-in throttling ------------------------------------------------------------------

    /// <summary>How long the client must wait before trying again, or null when it may try now.</summary>
    public TimeSpan? RetryAfter(string client)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!_failures.TryGetValue(client, out var queue)) return null;
            Expire(queue, now);
            if (queue.Count == 0)
            {
                _failures.Remove(client);
                return null;
            }
            return queue.Count < options.MaxFailures ? null : queue.Peek() + options.FailureWindow - now;
        }
    }

    public void RecordFailure(string client)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_failures.Count > 10_000)
            {
                // Bounded: forget clients whose failures have all aged out, and if that is not enough, everyone.
                foreach (var (name, queue) in _failures.ToList())
                {
                    Expire(queue, now);
                    if (queue.Count == 0) _failures.Remove(name);
                }
                if (_failures.Count > 10_000) _failures.Clear();
            }
            if (!_failures.TryGetValue(client, out var q)) _failures[client] = q = new Queue<DateTimeOffset>();
            q.Enqueue(now);
            while (q.Count > options.MaxFailures) q.Dequeue();
        }
    }

    public void RecordSuccess(string client)
    {
        lock (_gate) _failures.Remove(client);
    }

    private void Expire(Queue<DateTimeOffset> queue, DateTimeOffset now)
    {
        while (queue.Count > 0 && queue.Peek() + options.FailureWindow <= now) queue.Dequeue();
    }
}

/// <summary><c>/api/v1/session</c>: console sign-in with an admin key, the current session, sign-out.</summary>
public static class SessionApi
{
    public static IEndpointRouteBuilder MapSessionApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/session").WithTags("Console session");
        group.MapPost("/", SignInAsync).WithName("sign-in")
            .WithSummary("Exchange an admin key for a console session: sets the HttpOnly chuda_session cookie and returns the CSRF token")
            .Accepts<SignInRequest>("application/json")
            .Produces<SessionView>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(429);
        group.MapGet("/", GetAsync).WithName("get-session").WithSummary("The current console session (401 when signed out or expired)")
            .Produces<SessionView>().ProducesProblem(401);
        group.MapDelete("/", SignOutAsync).WithName("sign-out")
            .WithSummary("End the console session (needs X-Chuda-Csrf) and expire its cookie")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(403);
        return app;
    }

    private static async Task<IResult> SignInAsync(HttpContext context, ConsoleSessions sessions, WorkspaceDirectory directory, IChudaStore store, TimeProvider time)
    {
        if (!Auth.SameOrigin(context.Request)) return Problems.Forbidden("CSRF check failed: the request's Origin is not this server.");
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (sessions.RetryAfter(client) is { } wait)
        {
            var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.Named(StatusCodes.Status429TooManyRequests, "Too many requests", "key",
                $"Too many failed sign-ins from this address; try again in {seconds} s.");
        }
        string? key;
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return Problems.Field("body", "Expected a JSON object.");
            if (!doc.RootElement.TryGetProperty("key", out var value)) return Problems.Field("key", "Required: the workspace admin key (ak_…).");
            if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString())) return Problems.Field("key", "Must be a non-empty string.");
            key = value.GetString()!.Trim();
        }
        catch (JsonException ex)
        {
            return Problems.Field("body", "Malformed JSON: " + ex.Message);
        }
        var caller = await directory.AuthenticateAsync(key, context.RequestAborted);
        if (caller is null)
        {
            sessions.RecordFailure(client);
            return Problems.Named(StatusCodes.Status401Unauthorized, "Unauthorized", "key", "The key is unknown or revoked.");
        }
        if (caller.Kind != ApiKeyKind.Admin)
            return Problems.Named(StatusCodes.Status403Forbidden, "Forbidden", "key", "A write key can only send events; sign in with an admin key (ak_…).");
        sessions.RecordSuccess(client);
        var (token, session) = await sessions.OpenAsync(caller, WorkspaceDirectory.Hash(key), context.RequestAborted);
        SetCookie(context, token, session.CreatedAt + sessions.Options.Lifetime);
        await store.AppendAuditAsync(new AuditEntry(caller.Workspace.Id, 0, time.GetUtcNow(), caller.KeyId, "session.created", "console_session",
            ConsoleSessions.SessionIdOf(session.TokenHash), JsonSerializer.Serialize(new Dictionary<string, string> { ["address"] = client })), context.RequestAborted);
        return TypedResults.Ok(View(caller, session));
    }

    private static async Task<IResult> GetAsync(HttpContext context, ConsoleSessions sessions)
    {
        var active = await sessions.AuthenticateAsync(context.Request.Cookies[ConsoleSessions.CookieName], context.RequestAborted);
        if (active is null) return Problems.Unauthorized("Not signed in, or the session has ended; sign in with an admin key.");
        return TypedResults.Ok(View(active.Caller, active.Session));
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, ConsoleSessions sessions, IChudaStore store, TimeProvider time)
    {
        var active = await sessions.AuthenticateAsync(context.Request.Cookies[ConsoleSessions.CookieName], context.RequestAborted);
        if (active is not null)
        {
            if (Auth.CsrfProblem(context.Request, active.Session) is { } problem) return problem;
            if (await sessions.CloseAsync(active.Session.TokenHash, context.RequestAborted))
            {
                await store.AppendAuditAsync(new AuditEntry(active.Caller.Workspace.Id, 0, time.GetUtcNow(), active.Caller.KeyId, "session.deleted",
                    "console_session", ConsoleSessions.SessionIdOf(active.Session.TokenHash), null), context.RequestAborted);
            }
        }
        context.Response.Cookies.Delete(ConsoleSessions.CookieName, CookieOptions(context, null));
        return TypedResults.NoContent();
    }

    private static SessionView View(Caller caller, ConsoleSession session) =>
        new(caller.Workspace.Name, caller.KeyId, session.CsrfToken, session.ExpiresAt);

    private static void SetCookie(HttpContext context, string token, DateTimeOffset expires) =>
        context.Response.Cookies.Append(ConsoleSessions.CookieName, token, CookieOptions(context, expires));

    private static CookieOptions CookieOptions(HttpContext context, DateTimeOffset? expires) => new()
    {
        Path = "/",
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Expires = expires,
        IsEssential = true,
    };
}
