using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Chuda.Server.Tests;

/// <summary>
/// Delivery through a real server: templates and preview, the transactional send with Idempotency-Key, the policy,
/// providers with write-only secrets, message timelines and the sandbox, signed tracking links (no open redirect),
/// one-click unsubscribe and the preference page, and the in-app inbox with HMAC user tokens and live SSE updates.
/// </summary>
public abstract partial class DeliveryApiTests : ServerTestBase
{
    private const string Hello = """
        {"name":"Hello","defaultLocale":"en","locales":{
          "en":{"email":{"subject":"Hi {{profile.first_name}}","html":"<p>Hello {{profile.first_name}}, <a href=\"https://shop.example/cart?x=1&amp;y=2\">cart</a></p>"},
                "in_app":{"title":"Hi {{profile.first_name}}","body":"Your order {{event.order}} shipped","action":{"label":"Track","url":"https://shop.example/o"}}},
          "zh-Hans":{"email":{"subject":"你好 {{profile.first_name}}","text":"你好"}}}}
        """;

    private async Task SetUpAsync(bool quiet = false)
    {
        (await Server.Admin.PutAsync("/api/v1/templates/hello", ChudaServer.Json(Hello))).EnsureSuccessStatusCode();
        if (!quiet) (await Server.Admin.PutAsync("/api/v1/delivery/policy", ChudaServer.Json("""{"quietHours":null}"""))).EnsureSuccessStatusCode();
        (await Server.PostAsync("/v1/identify", """{"userId":"u1","traits":{"first_name":"Mei","email":"mei@example.com"}}""")).EnsureSuccessStatusCode();
    }

    private async Task<JsonElement> WaitForMessageAsync(string id, Func<JsonElement, bool> done)
    {
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(20); // wall-clock deadline of a test poll
        while (true)
        {
            var m = await Server.GetJsonAsync($"/api/v1/messages/{id}");
            if (done(m)) return m;
            if (TimeProvider.System.GetUtcNow() > deadline) throw new TimeoutException($"message {id} stayed {m.GetRawText()}");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
    }

    private async Task<string> SendAsync(string body, string? key = null, HttpStatusCode expected = HttpStatusCode.Accepted)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/send") { Content = ChudaServer.Json(body) };
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        var response = await Server.Admin.SendAsync(request);
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await ChudaServer.ReadJsonAsync(response)).GetProperty("messageId").GetString()!;
    }

    // ---------- templates ----------

    [Fact]
    public async Task Templates_are_versioned_validated_with_paths_and_previewed_for_a_real_profile()
    {
        await SetUpAsync();
        var bad = await Server.Admin.PutAsync("/api/v1/templates/broken", ChudaServer.Json("""{"name":"x","defaultLocale":"en","locales":{"en":{"fax":{}}}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        Assert.Contains("$.locales.en.fax", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var v2 = await Server.Admin.PutAsync("/api/v1/templates/hello", ChudaServer.Json(Hello));
        Assert.Equal(2, (await ChudaServer.ReadJsonAsync(v2)).GetProperty("latestVersion").GetInt32());
        using var stale = new HttpRequestMessage(HttpMethod.Put, "/api/v1/templates/hello") { Content = ChudaServer.Json(Hello) };
        stale.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await Server.Admin.SendAsync(stale)).StatusCode);
        Assert.Equal(2, (await Server.GetJsonAsync("/api/v1/templates/hello/versions")).GetArrayLength());

        var preview = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/templates/hello/preview",
            ChudaServer.Json("""{"userId":"u1","channel":"in_app"}""")));
        var channel = preview.GetProperty("channels")[0];
        Assert.Equal("Hi Mei", channel.GetProperty("content").GetProperty("title").GetString());
        // event.order is unknown for this preview: reported, not rendered as a blank.
        Assert.Contains(channel.GetProperty("problems").EnumerateArray(), p => p.GetProperty("variable").GetString() == "event.order");
        Assert.False(channel.GetProperty("ok").GetBoolean());

        var zh = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/templates/hello/preview",
            ChudaServer.Json("""{"userId":"u1","channel":"email","locale":"zh-Hans-CN"}""")));
        Assert.Equal("你好 Mei", zh.GetProperty("channels")[0].GetProperty("content").GetProperty("subject").GetString());
    }

    // ---------- send ----------

    [Fact]
    public async Task The_send_API_answers_problems_naming_the_field_and_is_idempotent()
    {
        await SetUpAsync();
        var missing = await Server.Admin.PostAsync("/api/v1/send", ChudaServer.Json("""{"template":"hello"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("\"to\"", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var unknown = await Server.Admin.PostAsync("/api/v1/send", ChudaServer.Json("""{"to":{"userId":"u1"},"template":"nope"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("$.template", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var badEmail = await Server.Admin.PostAsync("/api/v1/send", ChudaServer.Json("""{"to":{"email":"not-an-address"},"template":"hello"}"""));
        Assert.Contains("$.to.email", await badEmail.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        const string body = """{"to":{"userId":"u1"},"template":"hello","channels":["email"],"data":{"order":"A-1"}}""";
        var first = await SendAsync(body, "order-A-1");
        var again = await SendAsync(body, "order-A-1", HttpStatusCode.OK);
        Assert.Equal(first, again);
        using var other = new HttpRequestMessage(HttpMethod.Post, "/api/v1/send")
        {
            Content = ChudaServer.Json("""{"to":{"userId":"u1"},"template":"hello","channels":["email"],"data":{"order":"A-2"}}"""),
        };
        other.Headers.Add("Idempotency-Key", "order-A-1");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await Server.Admin.SendAsync(other)).StatusCode);

        var m = await WaitForMessageAsync(first, m => m.GetProperty("status").GetString() == "delivered");
        Assert.Equal("sandbox", m.GetProperty("provider").GetString());
        Assert.Equal("transactional", m.GetProperty("lane").GetString());
        Assert.Equal("Hi Mei", m.GetProperty("content").GetProperty("subject").GetString());
        var kinds = m.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Equal(["queued", "routed", "sent", "delivered"], kinds);
        var sandbox = await Server.GetJsonAsync("/api/v1/sandbox");
        Assert.Equal(first, Assert.Single(sandbox.GetProperty("messages").EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_raw_address_with_no_profile_is_sent_to_that_address()
    {
        await SetUpAsync();
        var id = await SendAsync("""{"to":{"email":"Guest@Example.com"},"template":"hello"}""");
        var m = await WaitForMessageAsync(id, m => m.GetProperty("status").GetString() == "delivered");
        Assert.Equal("guest@example.com", m.GetProperty("recipient").GetString());
    }

    // ---------- policy and providers ----------

    [Fact]
    public async Task The_policy_is_validated_with_paths_and_provider_secrets_are_write_only()
    {
        var bad = await Server.Admin.PutAsync("/api/v1/delivery/policy", ChudaServer.Json("""{"quietHours":{"start":"25:00","end":"08:00"},"frequencyCaps":[{"limit":3,"period":"month"}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var text = await bad.Content.ReadAsStringAsync();
        Assert.Contains("$.quietHours.start", text, StringComparison.Ordinal);
        Assert.Contains("$.frequencyCaps[0].period", text, StringComparison.Ordinal);
        var ok = await Server.Admin.PutAsync("/api/v1/delivery/policy", ChudaServer.Json("""{"frequencyCaps":[{"limit":3,"period":"calendar_day","channel":"sms"}]}"""));
        ok.EnsureSuccessStatusCode();
        var policy = await Server.GetJsonAsync("/api/v1/delivery/policy");
        Assert.Equal("22:00", policy.GetProperty("quietHours").GetProperty("start").GetString());
        Assert.Equal("sms", policy.GetProperty("frequencyCaps")[0].GetProperty("channel").GetString());

        // The SSRF guard refuses loopback webhook endpoints at configuration time.
        var refused = await Server.Admin.PutAsync("/api/v1/providers/hook", ChudaServer.Json(
            """{"channel":"webhook","kind":"webhook","config":{"url":"http://127.0.0.1:9/x","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("$.config.url", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var saved = await Server.Admin.PutAsync("/api/v1/providers/hook", ChudaServer.Json(
            """{"channel":"webhook","kind":"webhook","config":{"url":"https://hooks.example.com/chuda","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}"""));
        saved.EnsureSuccessStatusCode();
        Assert.Equal("***", (await ChudaServer.ReadJsonAsync(saved)).GetProperty("config").GetProperty("secret").GetString());
        // A later edit without the secret keeps it.
        (await Server.Admin.PutAsync("/api/v1/providers/hook", ChudaServer.Json(
            """{"channel":"webhook","kind":"webhook","priority":2,"config":{"url":"https://hooks.example.com/chuda"}}"""))).EnsureSuccessStatusCode();
        var listed = Assert.Single((await Server.GetJsonAsync("/api/v1/providers")).EnumerateArray());
        Assert.Equal("***", listed.GetProperty("config").GetProperty("secret").GetString());
        Assert.Equal(2, listed.GetProperty("priority").GetInt32());
        Assert.DoesNotContain("MfKQ9r8", (await Server.Admin.GetStringAsync("/api/v1/providers")), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await Server.Admin.DeleteAsync("/api/v1/providers/hook")).StatusCode);
    }

    // ---------- tracking ----------

    private static string Href(string html, string contains)
    {
        foreach (Match m in Regex.Matches(html, "(?:href|src)=\"([^\"]+)\""))
        {
            var url = WebUtility.HtmlDecode(m.Groups[1].Value);
            if (url.Contains(contains, StringComparison.Ordinal)) return url;
        }
        throw new InvalidOperationException($"no link with {contains} in {html}");
    }

    [Fact]
    public async Task Signed_click_links_redirect_tampered_ones_never_do_and_the_open_pixel_counts_once_signed()
    {
        await SetUpAsync();
        var id = await SendAsync("""{"to":{"userId":"u1"},"template":"hello","channels":["email"],"category":"marketing"}""");
        var m = await WaitForMessageAsync(id, m => m.GetProperty("status").GetString() == "delivered");
        var html = m.GetProperty("content").GetProperty("html").GetString()!;
        var click = Href(html, "/t/c/");
        Assert.StartsWith(Server.Address.ToString(), click, StringComparison.Ordinal);

        using var noRedirect = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Server.Address };
        var redirect = await noRedirect.GetAsync(click);
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("https://shop.example/cart?x=1&y=2", redirect.Headers.Location?.OriginalString);

        // The same signature with another target, an unsigned link, and a changed message id: no redirect, ever.
        var evil = Regex.Replace(click, "u=[^&]+", "u=" + Uri.EscapeDataString("https://evil.example/phish"));
        foreach (var link in new[] { evil, Regex.Replace(click, "&s=[^&]+", ""), Regex.Replace(click, @"/t/c/(\d+)/(\d+)", "/t/c/$1/999999") })
        {
            var response = await noRedirect.GetAsync(link);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Null(response.Headers.Location);
        }

        var pixel = await noRedirect.GetAsync(Href(html, "/t/o/"));
        Assert.Equal("image/gif", pixel.Content.Headers.ContentType?.MediaType);
        var forged = await noRedirect.GetAsync(Regex.Replace(Href(html, "/t/o/"), "s=[^&]+", "s=AAAA"));
        Assert.Equal("image/gif", forged.Content.Headers.ContentType?.MediaType); // a pixel either way
        var after = await Server.GetJsonAsync($"/api/v1/messages/{id}");
        Assert.NotEqual(JsonValueKind.Null, after.GetProperty("openedAt").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, after.GetProperty("clickedAt").ValueKind);
        var kinds = after.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Single(kinds, k => k == "opened");
        Assert.Single(kinds, k => k == "clicked");
    }

    [Fact]
    public async Task One_click_unsubscribe_works_by_POST_only_and_the_preference_page_saves_topics()
    {
        await SetUpAsync();
        (await Server.Admin.PutAsync("/api/v1/templates/links", ChudaServer.Json("""
            {"name":"links","defaultLocale":"en","locales":{"en":{"email":{"subject":"{{message.unsubscribe_url}}","text":"{{message.preferences_url}}"}}}}
            """))).EnsureSuccessStatusCode();
        var id = await SendAsync("""{"to":{"userId":"u1"},"template":"links","channels":["email"],"category":"newsletter"}""");
        var m = await WaitForMessageAsync(id, m => m.GetProperty("status").GetString() == "delivered");
        var unsubscribe = m.GetProperty("content").GetProperty("subject").GetString()!;
        var preferences = m.GetProperty("content").GetProperty("text").GetString()!;
        Assert.StartsWith(Server.Address + "u/", unsubscribe, StringComparison.Ordinal);

        using var client = new HttpClient { BaseAddress = Server.Address };
        var page = await client.GetAsync(unsubscribe);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var subs = await Server.GetJsonAsync("/api/v1/profiles/u1/subscriptions");
        Assert.Equal(0, subs.GetProperty("subscriptions").GetArrayLength()); // a GET (a mail scanner following links) changes nothing

        var oneClick = await client.PostAsync(unsubscribe, new StringContent("List-Unsubscribe=One-Click", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.OK, oneClick.StatusCode);
        subs = await Server.GetJsonAsync("/api/v1/profiles/u1/subscriptions");
        var sub = Assert.Single(subs.GetProperty("subscriptions").EnumerateArray());
        Assert.Equal(("newsletter", "email", "unsubscribed"), (sub.GetProperty("category").GetString(), sub.GetProperty("channel").GetString(),
            sub.GetProperty("state").GetString()));
        Assert.Equal("unsubscribe link " + id, sub.GetProperty("source").GetString());

        var tampered = await client.PostAsync(unsubscribe.Replace("s=", "s=x", StringComparison.Ordinal), new StringContent("List-Unsubscribe=One-Click"));
        Assert.Equal(HttpStatusCode.BadRequest, tampered.StatusCode);

        var prefs = await client.GetStringAsync(preferences);
        Assert.Contains("newsletter", prefs, StringComparison.Ordinal);
        var saved = await client.PostAsync(preferences, new FormUrlEncodedContent([new("all", "marketing"), new("all", "newsletter"), new("on", "newsletter")]));
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        subs = await Server.GetJsonAsync("/api/v1/profiles/u1/subscriptions");
        var states = subs.GetProperty("subscriptions").EnumerateArray()
            .ToDictionary(s => s.GetProperty("category").GetString() + "/" + s.GetProperty("channel").GetString(), s => s.GetProperty("state").GetString());
        Assert.Equal("unsubscribed", states["marketing/*"]);
        Assert.Equal("subscribed", states["newsletter/*"]);
        Assert.True(subs.GetProperty("consentLog").GetArrayLength() >= 3);

        // The next newsletter by e-mail is not sent: marketing is off.
        var next = await SendAsync("""{"to":{"userId":"u1"},"template":"links","channels":["email"],"category":"newsletter"}""");
        var blocked = await WaitForMessageAsync(next, m => m.GetProperty("status").GetString() == "dropped");
        Assert.Contains("unsubscribed", blocked.GetProperty("timeline").GetRawText(), StringComparison.Ordinal);
    }

    // ---------- in-app inbox ----------

    [Fact]
    public async Task The_inbox_needs_the_user_s_HMAC_token_and_streams_new_messages_over_SSE()
    {
        await SetUpAsync();
        var secret = (await Server.GetJsonAsync("/api/v1/inbox/secret")).GetProperty("secret").GetString()!;
        var token = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes("u1")));
        using var app = Server.Client(ChudaServer.Basic(ChudaServer.WriteKey));
        app.DefaultRequestHeaders.Add("X-Chuda-User", "u1");

        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/v1/inbox/messages"))
        {
            wrong.Headers.Add("X-Chuda-User-Token", new string('0', 64));
            Assert.Equal(HttpStatusCode.Unauthorized, (await app.SendAsync(wrong)).StatusCode);
        }
        app.DefaultRequestHeaders.Add("X-Chuda-User-Token", token);
        Assert.Equal(0, (await ChudaServer.ReadJsonAsync(await app.GetAsync("/api/v1/inbox/messages"))).GetProperty("messages").GetArrayLength());

        // A live client (EventSource style: credentials in the query).
        using var sse = new HttpClient { BaseAddress = Server.Address, Timeout = Timeout.InfiniteTimeSpan };
        using var stream = await sse.GetStreamAsync($"/api/v1/inbox/stream?writeKey={ChudaServer.WriteKey}&user=u1&token={token}");
        using var reader = new StreamReader(stream);
        Assert.Equal(": connected", await reader.ReadLineAsync());

        var id = await SendAsync("""{"to":{"userId":"u1"},"template":"hello","channels":["in_app"],"data":{"order":"B-7"}}""");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        string? line;
        do
        {
            line = await reader.ReadLineAsync(cts.Token);
        }
        while (line is not null && !line.StartsWith("data:", StringComparison.Ordinal));
        Assert.Equal($$"""data: {"id":"{{id}}"}""", line);

        var page = await ChudaServer.ReadJsonAsync(await app.GetAsync("/api/v1/inbox/messages"));
        var item = Assert.Single(page.GetProperty("messages").EnumerateArray());
        Assert.Equal(("Hi Mei", "Your order B-7 shipped", "Track"), (item.GetProperty("title").GetString(), item.GetProperty("body").GetString(),
            item.GetProperty("actionLabel").GetString()));
        Assert.Equal(1, page.GetProperty("unread").GetInt64());

        Assert.Equal(HttpStatusCode.NoContent, (await app.PostAsync($"/api/v1/inbox/messages/{id}/read", null)).StatusCode);
        Assert.Equal(0, (await ChudaServer.ReadJsonAsync(await app.GetAsync("/api/v1/inbox/unread-count"))).GetProperty("unread").GetInt64());
        Assert.Equal(HttpStatusCode.NoContent, (await app.PostAsync($"/api/v1/inbox/messages/{id}/archive", null)).StatusCode);
        Assert.Equal(0, (await ChudaServer.ReadJsonAsync(await app.GetAsync("/api/v1/inbox/messages"))).GetProperty("messages").GetArrayLength());
        Assert.Equal(1, (await ChudaServer.ReadJsonAsync(await app.GetAsync("/api/v1/inbox/messages?archived=true"))).GetProperty("messages").GetArrayLength());

        // Another user's token cannot touch it.
        using var other = Server.Client(ChudaServer.Basic(ChudaServer.WriteKey));
        other.DefaultRequestHeaders.Add("X-Chuda-User", "u2");
        other.DefaultRequestHeaders.Add("X-Chuda-User-Token", Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes("u2"))));
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsync($"/api/v1/inbox/messages/{id}/read", null)).StatusCode);
    }

    [Fact]
    public async Task With_template_approvals_on_only_an_approved_version_is_sent_and_the_author_cannot_approve()
    {
        await SetUpAsync();
        var patched = await ChudaServer.ReadJsonAsync(await Server.Admin.PatchAsync("/api/v1/settings", ChudaServer.Json("""{"templateApprovals":true}""")));
        Assert.True(patched.GetProperty("templateApprovals").GetBoolean());
        var blocked = await SendAsync("""{"to":{"userId":"u1"},"template":"hello","channels":["email"]}""");
        var failed = await WaitForMessageAsync(blocked, m => m.GetProperty("status").GetString() == "failed");
        Assert.Contains("has no approved version", failed.GetProperty("timeline").GetRawText(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Forbidden, (await Server.Admin.PostAsync("/api/v1/templates/hello/versions/1/approve", null)).StatusCode);
        var issued = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/workspaces/default/keys", ChudaServer.Json("""{"kind":"admin"}""")));
        using var reviewer = Server.Client(new AuthenticationHeaderValue("Bearer", issued.GetProperty("key").GetString()));
        var approved = await ChudaServer.ReadJsonAsync(await reviewer.PostAsync("/api/v1/templates/hello/versions/1/approve", null));
        Assert.NotEqual(JsonValueKind.Null, approved.GetProperty("approvedAt").ValueKind);
        Assert.Equal(1, (await Server.GetJsonAsync("/api/v1/templates/hello")).GetProperty("approvedVersion").GetInt32());

        var sent = await SendAsync("""{"to":{"userId":"u1"},"template":"hello","channels":["email"]}""");
        await WaitForMessageAsync(sent, m => m.GetProperty("status").GetString() == "delivered");
    }

    // ---------- timelines ----------

    [Fact]
    public async Task A_person_s_deliveries_show_every_decision_with_its_reason()
    {
        await SetUpAsync();
        (await Server.Admin.PutAsync("/api/v1/delivery/policy", ChudaServer.Json("""{"quietHours":null,"frequencyCaps":[{"limit":1,"period":"rolling_day"}]}""")))
            .EnsureSuccessStatusCode();
        var first = await SendAsync("""{"to":{"userId":"u1"},"template":"hello","channels":["email"],"category":"marketing"}""");
        await WaitForMessageAsync(first, m => m.GetProperty("status").GetString() == "delivered");
        var second = await SendAsync("""{"to":{"userId":"u1"},"template":"hello","channels":["email"],"category":"marketing"}""");
        var dropped = await WaitForMessageAsync(second, m => m.GetProperty("status").GetString() == "dropped");
        Assert.Equal("dropped: cap 1/24h reached", dropped.GetProperty("reason").GetString());
        var deliveries = await Server.GetJsonAsync("/api/v1/profiles/u1/deliveries");
        Assert.Contains(deliveries.GetProperty("events").EnumerateArray(), e => e.GetProperty("messageId").GetString() == second
            && e.GetProperty("detail").GetString() == "dropped: cap 1/24h reached");
        var list = await Server.GetJsonAsync("/api/v1/messages?userId=u1&status=dropped");
        Assert.Equal(second, Assert.Single(list.GetProperty("messages").EnumerateArray()).GetProperty("id").GetString());
    }
}

public sealed class SqliteDeliveryApiTests : DeliveryApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Sqlite();
}

public sealed class PostgresDeliveryApiTests : DeliveryApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Postgres();
}
