using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Chuda.Server.Api;
using Chuda.Server.Hosting;
using Chuda.Testing;
using Xunit;

namespace Chuda.Server.Tests;

/// <summary>
/// The operator console's server side: sign-in sessions (cookie, CSRF, expiry, revocation, throttling) and the dashboard and
/// profile search endpoints, on both stores. Each test starts its own server on a fake clock.
/// </summary>
public abstract class ConsoleTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private readonly JumpClock _clock = new(T0);
    private readonly TempDirectory _data = new();
    private string? _store;

    protected ChudaServer Server { get; private set; } = null!;

    protected abstract Task<string?> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        Server = await ChudaServer.StartAsync(_store, _data.Path, time: _clock);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        _data.Dispose();
    }

    private async Task RestartAsync()
    {
        await Server.StopAsync();
        await Server.App.DisposeAsync();
        Server = await ChudaServer.StartAsync(_store, _data.Path, time: _clock);
    }

    /// <summary>A browser without a cookie jar of its own: the test sends the cookie it was given.</summary>
    private HttpClient Browser() => new(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = Server.Address, Timeout = TimeSpan.FromSeconds(60) };

    private sealed record SignedIn(string Cookie, string Csrf, JsonElement Body, string SetCookie);

    private async Task<SignedIn> SignInAsync(string key = ChudaServer.AdminKey)
    {
        using var browser = Browser();
        var response = await browser.PostAsync("/api/v1/session", ChudaServer.Json(JsonSerializer.Serialize(new { key })));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        var pair = setCookie.Split(';')[0];
        Assert.StartsWith(ConsoleSessions.CookieName + "=", pair, StringComparison.Ordinal);
        var body = await ChudaServer.ReadJsonAsync(response);
        return new SignedIn(pair, body.GetProperty("csrfToken").GetString()!, body, setCookie);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, SignedIn? session, string? csrf = null, string? origin = null,
        string? json = null, bool bearer = false)
    {
        using var browser = Browser();
        using var request = new HttpRequestMessage(method, path);
        if (session is not null) request.Headers.Add("Cookie", session.Cookie);
        if (csrf is not null) request.Headers.Add(ConsoleSessions.CsrfHeader, csrf);
        if (origin is not null) request.Headers.Add("Origin", origin);
        if (bearer) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ChudaServer.AdminKey);
        if (json is not null) request.Content = ChudaServer.Json(json);
        return await browser.SendAsync(request);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string contains)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(contains, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_in_sets_a_strict_http_only_cookie_and_the_session_survives_a_reload_and_a_restart()
    {
        var s = await SignInAsync();
        Assert.Contains("path=/", s.SetCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", s.SetCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", s.SetCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", s.SetCookie.Replace("Secure", "secure", StringComparison.Ordinal).Split(';').Select(p => p.Trim()).Where(p => p == "secure"));
        var token = s.Cookie[(ConsoleSessions.CookieName.Length + 1)..];
        Assert.True(Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/') + new string('=', (4 - token.Length % 4) % 4)).Length >= 32);
        Assert.Equal("default", s.Body.GetProperty("workspace").GetString());
        var keyId = s.Body.GetProperty("keyId").GetString()!;
        Assert.StartsWith("key_", keyId, StringComparison.Ordinal);
        Assert.Equal(T0.AddHours(12), s.Body.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.DoesNotContain(ChudaServer.AdminKey, s.Body.GetRawText(), StringComparison.Ordinal);

        var again = await SendAsync(HttpMethod.Get, "/api/v1/session", s);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(s.Csrf, (await ChudaServer.ReadJsonAsync(again)).GetProperty("csrfToken").GetString());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/api/v1/segments", s)).StatusCode);

        await RestartAsync();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/api/v1/session", s)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/v1/session", null)).StatusCode);
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, "/api/v1/segments", s with { Cookie = ConsoleSessions.CookieName + "=forged" }),
            HttpStatusCode.Unauthorized, "session");

        // Sign-in is audited under the key's id, without secrets.
        var audit = (await Server.GetJsonAsync("/api/v1/audit")).GetProperty("entries").EnumerateArray().ToList();
        var created = Assert.Single(audit, e => e.GetProperty("action").GetString() == "session.created");
        Assert.Equal(keyId, created.GetProperty("actor").GetString());
        Assert.DoesNotContain(token, created.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(ChudaServer.AdminKey, created.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_in_refuses_unknown_and_write_keys_naming_the_key_field()
    {
        using var browser = Browser();
        var unknown = await browser.PostAsync("/api/v1/session", ChudaServer.Json("""{"key":"ak_nope"}"""));
        await AssertProblemAsync(unknown, HttpStatusCode.Unauthorized, "\"field\":\"key\"");
        Assert.False(unknown.Headers.Contains("Set-Cookie"));
        await AssertProblemAsync(await browser.PostAsync("/api/v1/session", ChudaServer.Json($$"""{"key":"{{ChudaServer.WriteKey}}"}""")),
            HttpStatusCode.Forbidden, "\"field\":\"key\"");
        await AssertProblemAsync(await browser.PostAsync("/api/v1/session", ChudaServer.Json("""{}""")), HttpStatusCode.BadRequest, "key");
        await AssertProblemAsync(await browser.PostAsync("/api/v1/session", ChudaServer.Json("""{"key":""}""")), HttpStatusCode.BadRequest, "key");
    }

    [Fact]
    public async Task Cookie_requests_that_change_something_need_the_csrf_token_and_this_origin()
    {
        var s = await SignInAsync();
        const string path = "/api/v1/workspaces/default/keys";
        const string body = """{"kind":"write"}""";
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, path, s, json: body), HttpStatusCode.Forbidden, "CSRF check failed");
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, path, s, csrf: "wrong", json: body), HttpStatusCode.Forbidden, "CSRF check failed");
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, path, s, csrf: s.Csrf, origin: "https://evil.example", json: body),
            HttpStatusCode.Forbidden, "CSRF check failed");
        await AssertProblemAsync(await SendAsync(HttpMethod.Delete, "/api/v1/session", s), HttpStatusCode.Forbidden, "CSRF check failed");

        var origin = Server.Address.GetLeftPart(UriPartial.Authority);
        var ok = await SendAsync(HttpMethod.Post, path, s, csrf: s.Csrf, origin: origin, json: body);
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(HttpMethod.Post, path, s, csrf: s.Csrf, json: body)).StatusCode); // no Origin: fine
        // Behind a proxy that terminates TLS the browser's origin is https:// while Kestrel sees http: same host, same site.
        Assert.Equal(HttpStatusCode.Created,
            (await SendAsync(HttpMethod.Post, path, s, csrf: s.Csrf, origin: "https://" + Server.Address.Authority, json: body)).StatusCode);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, path, s, csrf: s.Csrf, origin: "null", json: body), HttpStatusCode.Forbidden, "CSRF check failed");
        // Bearer callers need no CSRF token.
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(HttpMethod.Post, path, null, json: body, bearer: true)).StatusCode);
        // A foreign page cannot sign a browser in either.
        using var browser = Browser();
        using var signIn = new HttpRequestMessage(HttpMethod.Post, "/api/v1/session") { Content = ChudaServer.Json($$"""{"key":"{{ChudaServer.AdminKey}}"}""") };
        signIn.Headers.Add("Origin", "https://evil.example");
        await AssertProblemAsync(await browser.SendAsync(signIn), HttpStatusCode.Forbidden, "CSRF check failed");

        // What the session did is audited under the same key id as a Bearer call would be.
        var audit = (await Server.GetJsonAsync("/api/v1/audit")).GetProperty("entries").EnumerateArray()
            .Where(e => e.GetProperty("action").GetString() == "key.issued").Select(e => e.GetProperty("actor").GetString()).ToList();
        Assert.Equal(4, audit.Count);
        Assert.All(audit, a => Assert.Equal(s.Body.GetProperty("keyId").GetString(), a));
    }

    [Fact]
    public async Task Sign_out_deletes_the_session_and_expires_the_cookie()
    {
        var s = await SignInAsync();
        var response = await SendAsync(HttpMethod.Delete, "/api/v1/session", s, csrf: s.Csrf);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var cleared = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith(ConsoleSessions.CookieName + "=;", cleared, StringComparison.Ordinal);
        Assert.Contains("expires=Thu, 01 Jan 1970", cleared, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/v1/session", s)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/v1/segments", s)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(HttpMethod.Delete, "/api/v1/session", s, csrf: s.Csrf)).StatusCode); // idempotent
        var actions = (await Server.GetJsonAsync("/api/v1/audit")).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("session.deleted", actions);
    }

    [Fact]
    public async Task Rotating_the_key_ends_its_sessions()
    {
        var s = await SignInAsync();
        var rotated = await Server.Admin.PostAsync("/api/v1/workspaces/default/keys/rotate", ChudaServer.Json("""{"kind":"admin"}"""));
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, "/api/v1/segments", s), HttpStatusCode.Unauthorized, "session");
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/v1/session", s)).StatusCode);
    }

    [Fact]
    public async Task Revoking_one_key_ends_its_sessions_and_a_session_cannot_revoke_its_own_key()
    {
        var issued = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/workspaces/default/keys", ChudaServer.Json("""{"kind":"admin"}""")));
        var other = await SignInAsync(issued.GetProperty("key").GetString()!);
        var mine = await SignInAsync();
        var otherId = issued.GetProperty("keyId").GetString()!;
        var mineId = mine.Body.GetProperty("keyId").GetString()!;

        await AssertProblemAsync(await SendAsync(HttpMethod.Delete, $"/api/v1/workspaces/default/keys/{mineId}", mine, csrf: mine.Csrf),
            HttpStatusCode.Conflict, "signed in with");
        await AssertProblemAsync(await SendAsync(HttpMethod.Delete, $"/api/v1/workspaces/default/keys/{otherId}", mine), HttpStatusCode.Forbidden, "CSRF check failed");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/api/v1/session", other)).StatusCode);

        var revoked = await SendAsync(HttpMethod.Delete, $"/api/v1/workspaces/default/keys/{otherId}", mine, csrf: mine.Csrf);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, "/api/v1/segments", other), HttpStatusCode.Unauthorized, "session");
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/v1/session", other)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/api/v1/session", mine)).StatusCode);
        var audit = (await Server.GetJsonAsync("/api/v1/audit")).GetProperty("entries").EnumerateArray()
            .Single(e => e.GetProperty("action").GetString() == "key.revoked");
        Assert.Equal(mineId, audit.GetProperty("actor").GetString());
        Assert.Equal(otherId, audit.GetProperty("targetId").GetString());
    }

    [Fact]
    public async Task A_session_ends_after_12_hours_idle_and_7_days_in_all()
    {
        var idle = await SignInAsync();
        _clock.Advance(TimeSpan.FromHours(11));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/api/v1/session", idle)).StatusCode); // slides
        _clock.Advance(TimeSpan.FromHours(11));
        var seen = await SendAsync(HttpMethod.Get, "/api/v1/session", idle);
        Assert.Equal(HttpStatusCode.OK, seen.StatusCode);
        Assert.Equal(T0.AddHours(22 + 12), (await ChudaServer.ReadJsonAsync(seen)).GetProperty("expiresAt").GetDateTimeOffset());
        _clock.Advance(TimeSpan.FromHours(12));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/v1/session", idle)).StatusCode);

        var start = _clock.GetUtcNow();
        var busy = await SignInAsync();
        for (var i = 0; i < 16; i++) // 176 h: past the 168 h lifetime
        {
            _clock.Advance(TimeSpan.FromHours(11));
            var response = await SendAsync(HttpMethod.Get, "/api/v1/segments", busy);
            var expected = _clock.GetUtcNow() < start.AddDays(7) ? HttpStatusCode.OK : HttpStatusCode.Unauthorized;
            Assert.True(expected == response.StatusCode, $"after {(_clock.GetUtcNow() - start).TotalHours} h: {response.StatusCode}");
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/api/v1/session", busy)).StatusCode);
    }

    [Fact]
    public async Task Failed_sign_ins_are_throttled_per_address()
    {
        using var browser = Browser();
        for (var i = 0; i < 10; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await browser.PostAsync("/api/v1/session", ChudaServer.Json("""{"key":"ak_guess"}"""))).StatusCode);
        _clock.Advance(TimeSpan.FromMinutes(1));
        var blocked = await browser.PostAsync("/api/v1/session", ChudaServer.Json($$"""{"key":"{{ChudaServer.AdminKey}}"}"""));
        await AssertProblemAsync(blocked, (HttpStatusCode)429, "Too many failed sign-ins");
        Assert.Equal(TimeSpan.FromMinutes(4), blocked.Headers.RetryAfter?.Delta);
        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(HttpStatusCode.OK, (await browser.PostAsync("/api/v1/session", ChudaServer.Json($$"""{"key":"{{ChudaServer.AdminKey}}"}"""))).StatusCode);
    }

    [Fact]
    public async Task The_dashboard_counts_what_happened_in_the_range()
    {
        (await Server.PostAsync("/v1/identify", """{"userId":"u1","traits":{"first_name":"Mei","last_name":"Lin","email":"mei@example.com"}}""")).EnsureSuccessStatusCode();
        (await Server.PostAsync("/v1/track", """{"userId":"u1","event":"Viewed"}""")).EnsureSuccessStatusCode();
        _clock.Advance(TimeSpan.FromHours(2));
        (await Server.PostAsync("/v1/track", """{"userId":"u2","event":"Viewed"}""")).EnsureSuccessStatusCode();
        _clock.Advance(TimeSpan.FromMinutes(1));

        var view = await Server.GetJsonAsync("/api/v1/dashboard");
        Assert.Equal(_clock.GetUtcNow(), view.GetProperty("to").GetDateTimeOffset());
        Assert.Equal(_clock.GetUtcNow().AddDays(-7), view.GetProperty("from").GetDateTimeOffset());
        Assert.Equal("PT1H", view.GetProperty("interval").GetString());
        var totals = view.GetProperty("totals");
        Assert.Equal(2, totals.GetProperty("profiles").GetInt64());
        Assert.Equal(3, totals.GetProperty("events").GetInt64());
        Assert.Equal(0, totals.GetProperty("messages").GetInt64());
        Assert.Equal(2, view.GetProperty("events").GetArrayLength()); // only non-empty buckets
        Assert.Equal(3, view.GetProperty("events").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()));

        var narrow = await Server.GetJsonAsync($"/api/v1/dashboard?from={Uri.EscapeDataString(T0.AddHours(1).ToString("O"))}&to={Uri.EscapeDataString(T0.AddHours(3).ToString("O"))}&interval=PT30M");
        var bucket = Assert.Single(narrow.GetProperty("events").EnumerateArray());
        Assert.Equal(T0.AddHours(2), bucket.GetProperty("start").GetDateTimeOffset());
        Assert.Equal(1, bucket.GetProperty("count").GetInt64());

        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/dashboard?interval=PT1S"), HttpStatusCode.BadRequest, "\"field\":\"interval\"");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/dashboard?interval=soon"), HttpStatusCode.BadRequest, "\"field\":\"interval\"");
        await AssertProblemAsync(await Server.Admin.GetAsync($"/api/v1/dashboard?from={Uri.EscapeDataString(T0.AddDays(9).ToString("O"))}"), HttpStatusCode.BadRequest, "\"field\":\"from\"");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/dashboard?to=yesterday"), HttpStatusCode.BadRequest, "\"field\":\"to\"");
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Client(null).GetAsync("/api/v1/dashboard")).StatusCode);
    }

    [Fact]
    public async Task Profiles_are_searched_by_prefix_newest_first()
    {
        (await Server.PostAsync("/v1/identify", """{"userId":"mei-1","traits":{"first_name":"Mei","last_name":"Lin","email":"Mei@Example.com","phone":"+8613800138000"}}""")).EnsureSuccessStatusCode();
        _clock.Advance(TimeSpan.FromMinutes(1));
        (await Server.PostAsync("/v1/identify", """{"userId":"max","traits":{"name":"Max Mustermann"}}""")).EnsureSuccessStatusCode();

        var all = (await Server.GetJsonAsync("/api/v1/profiles")).GetProperty("profiles").EnumerateArray().ToList();
        Assert.Equal(["max", "mei-1"], all.Select(p => p.GetProperty("userId").GetString()));
        Assert.Equal("Max Mustermann", all[0].GetProperty("name").GetString());

        var mei = Assert.Single((await Server.GetJsonAsync("/api/v1/profiles?q=MEI%40ex")).GetProperty("profiles").EnumerateArray());
        Assert.Equal("mei-1", mei.GetProperty("userId").GetString());
        Assert.Equal("mei@example.com", mei.GetProperty("email").GetString());
        Assert.Equal("+8613800138000", mei.GetProperty("phone").GetString());
        Assert.Equal("Mei Lin", mei.GetProperty("name").GetString());
        Assert.True(mei.GetProperty("profileId").GetInt64() > 0);
        Assert.Equal(T0, mei.GetProperty("lastSeen").GetDateTimeOffset());
        Assert.Single((await Server.GetJsonAsync("/api/v1/profiles?q=8613800")).GetProperty("profiles").EnumerateArray());
        Assert.Equal(2, (await Server.GetJsonAsync("/api/v1/profiles?q=m")).GetProperty("profiles").GetArrayLength());
        Assert.Single((await Server.GetJsonAsync("/api/v1/profiles?q=m&limit=1")).GetProperty("profiles").EnumerateArray());
        Assert.Empty((await Server.GetJsonAsync("/api/v1/profiles?q=nobody")).GetProperty("profiles").EnumerateArray());
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/profiles?limit=0"), HttpStatusCode.BadRequest, "\"field\":\"limit\"");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/profiles?limit=101"), HttpStatusCode.BadRequest, "\"field\":\"limit\"");
        // The single-identity lookup is unchanged.
        Assert.Equal("mei-1", (await Server.GetJsonAsync("/api/v1/profiles?email=mei%40example.com")).GetProperty("userId").GetString());
    }
}

/// <summary>
/// A clock that jumps without firing timers: the engine's own timers stay real. (<see cref="FakeTimeProvider"/> fires every period of
/// every periodic timer on the way, which makes a jump of days take minutes.) Sessions only read the time.
/// </summary>
internal sealed class JumpClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

public sealed class SqliteConsoleTests : ConsoleTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Sqlite();
}

public sealed class PostgresConsoleTests : ConsoleTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Postgres();
}

/// <summary>Serving the built console: static files, SPA fallback, cache and security headers; the page shown when it is not built.</summary>
public sealed class ConsoleHostingTests : IAsyncLifetime
{
    private readonly TempDirectory _dist = new();
    private ChudaServer _server = null!;

    public async Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(_dist.Path, "index.html"), "<!doctype html><title>Chuda console</title><div id=root></div>");
        Directory.CreateDirectory(Path.Combine(_dist.Path, "assets"));
        File.WriteAllText(Path.Combine(_dist.Path, "assets", "index-abc123.js"), "console.log('hi')");
        _server = await ChudaServer.StartAsync(null, configure: o => o with { ConsoleDirectory = _dist.Path });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dist.Dispose();
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Equal(ConsoleHosting.ContentSecurityPolicy, Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("same-origin", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/index.html")]
    [InlineData("/journeys/abc")]
    [InlineData("/profiles/u%201/messages")]
    public async Task Console_pages_answer_index_html_uncached(string path)
    {
        using var client = _server.Client(null);
        var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Chuda console", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        AssertSecurityHeaders(response);
        using var head = new HttpRequestMessage(HttpMethod.Head, path);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(head)).StatusCode);
    }

    [Fact]
    public async Task Hashed_assets_are_cached_for_a_year()
    {
        using var client = _server.Client(null);
        var response = await client.GetAsync("/assets/index-abc123.js");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("console.log('hi')", await response.Content.ReadAsStringAsync());
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
        AssertSecurityHeaders(response);
    }

    [Theory]
    [InlineData("/api/v1/nope")]
    [InlineData("/api")]
    [InlineData("/v1/nope")]
    [InlineData("/t/unknown/x")]
    public async Task Unknown_api_paths_stay_404_problems(string path)
    {
        using var client = _server.Client(null);
        var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_api_still_answers_beside_the_console()
    {
        Assert.Equal(HttpStatusCode.OK, (await _server.Client(null).GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.Admin.GetAsync("/api/v1/segments")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Client(null).PostAsync("/journeys/abc", ChudaServer.Json("{}"))).StatusCode);
    }

    [Fact]
    public async Task A_body_less_post_still_reaches_an_endpoint_that_declares_a_json_body()
    {
        // Regression: as a MapFallback endpoint the console's fallback won endpoint selection over such endpoints.
        var response = await _server.Admin.PostAsync("/api/v1/journeys/nope/publish", null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("No endpoint answers", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_built_console_the_root_says_how_to_build_it()
    {
        await using var bare = await ChudaServer.StartAsync(null);
        var response = await bare.Client(null).GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("npm run build", text, StringComparison.Ordinal);
        Assert.Contains("./chuda serve", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await bare.Client(null).GetAsync("/api/v1/nope")).StatusCode);
    }
}
