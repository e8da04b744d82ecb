using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Tests.Sms;

namespace Chuda.Server.Tests;

/// <summary>
/// Channels through a real server: an SMS sent over SMPP to the scripted npm <c>smpp</c> SMSC, its deliver_sm receipt on the
/// message timeline and an inbound <c>TD</c> unsubscribing the sender; provider limits, health and callback URLs in the API;
/// vendor callbacks at <c>/callbacks/{workspace}/{provider}</c> verified by the vendor's signature (Twilio's scheme, computed
/// here independently); VAPID keys.
/// </summary>
public abstract class ChannelsApiTests : ServerTestBase
{
    private const string Template = """
        {"name":"Code","defaultLocale":"zh-Hans","locales":{"zh-Hans":{"sms":{"text":"【商城】您的验证码是{{event.code}}，5分钟内有效。"}}}}
        """;

    private async Task<JsonElement> WaitForMessageAsync(string id, Func<JsonElement, bool> done)
    {
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(30); // wall-clock deadline of a test poll
        while (true)
        {
            var m = await Server.GetJsonAsync($"/api/v1/messages/{id}");
            if (done(m)) return m;
            if (TimeProvider.System.GetUtcNow() > deadline) throw new TimeoutException($"message {id} stayed {m.GetRawText()}");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
    }

    private async Task<JsonElement> PutProviderAsync(string id, string body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await Server.Admin.PutAsync($"/api/v1/providers/{id}", ChudaServer.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task An_SMS_goes_out_over_SMPP_its_receipt_marks_it_delivered_and_an_inbound_TD_unsubscribes_the_sender()
    {
        // The SMSC answers submits to 8613900000077 and then sends an inbound message from moFrom carrying the submitted text.
        await using var smsc = await ScriptSmppServer.StartAsync(new { moFrom = "8613800138001" });
        (await Server.Admin.PutAsync("/api/v1/templates/code", ChudaServer.Json(Template))).EnsureSuccessStatusCode();
        (await Server.Admin.PutAsync("/api/v1/delivery/policy", ChudaServer.Json("""{"quietHours":null}"""))).EnsureSuccessStatusCode();
        (await Server.PostAsync("/v1/identify", """{"userId":"u1","traits":{"phone":"+8613800138001"}}""")).EnsureSuccessStatusCode();
        var provider = await PutProviderAsync("smsc", $$$"""
            {"channel":"sms","kind":"smpp","ratePerSecond":50,"maxConcurrency":4,
             "config":{"host":"127.0.0.1","port":{{{smsc.Port}}},"systemId":"chuda","password":"secret","sourceAddress":"10690000"}}
            """);
        Assert.Equal("***", provider.GetProperty("config").GetProperty("password").GetString());
        Assert.Equal((50.0, 4), (provider.GetProperty("ratePerSecond").GetDouble(), provider.GetProperty("maxConcurrency").GetInt32()));

        var send = await Server.Admin.PostAsync("/api/v1/send", ChudaServer.Json("""
            {"to":{"userId":"u1"},"template":"code","channels":["sms"],"category":"transactional","data":{"code":"4821"}}
            """));
        Assert.Equal(HttpStatusCode.Accepted, send.StatusCode);
        var id = (await ChudaServer.ReadJsonAsync(send)).GetProperty("messageId").GetString()!;
        var delivered = await WaitForMessageAsync(id, m => m.GetProperty("status").GetString() == "delivered");
        Assert.Equal("smsc", delivered.GetProperty("provider").GetString());
        var timeline = delivered.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("kind").GetString() + ": " + e.GetProperty("detail").GetString()).ToList();
        Assert.Contains(timeline, t => t!.StartsWith("delivered: ", StringComparison.Ordinal) && t.Contains("(reported by smsc)", StringComparison.Ordinal));
        var submit = Assert.Single(smsc.Submits);
        Assert.Equal("【商城】您的验证码是4821，5分钟内有效。", (string?)submit["text"]);
        Assert.Equal(8, (int)submit["dataCoding"]!);

        var health = (await Server.GetJsonAsync("/api/v1/providers/smsc")).GetProperty("health");
        Assert.Equal(("closed", 1), (health.GetProperty("circuit").GetString(), health.GetProperty("accepted").GetInt32()));

        // The person answers "TD": the SMSC delivers it as an inbound message; marketing SMS to them stops.
        var mo = await Server.Admin.PostAsync("/api/v1/send", ChudaServer.Json("""
            {"to":{"phone":"+8613900000077"},"content":{"name":"mo","defaultLocale":"en","locales":{"en":{"sms":{"text":"TD"}}}},"channels":["sms"],"category":"transactional"}
            """));
        Assert.Equal(HttpStatusCode.Accepted, mo.StatusCode);
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(30);
        while (true)
        {
            var subs = await Server.GetJsonAsync("/api/v1/profiles/u1/subscriptions");
            if (subs.GetProperty("subscriptions").EnumerateArray().Any(s => s.GetProperty("channel").GetString() == "sms"
                    && s.GetProperty("state").GetString() == "unsubscribed" && s.GetProperty("category").GetString() == "marketing"))
                break;
            Assert.True(TimeProvider.System.GetUtcNow() < deadline, "the inbound TD did not unsubscribe u1: " + subs.GetRawText());
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
    }

    [Fact]
    public async Task Provider_limits_are_validated_and_the_provider_list_shows_callback_urls_and_health()
    {
        var bad = await Server.Admin.PutAsync("/api/v1/providers/x", ChudaServer.Json("""{"channel":"sms","kind":"sandbox","ratePerSecond":-1}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("ratePerSecond", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var badConcurrency = await Server.Admin.PutAsync("/api/v1/providers/x", ChudaServer.Json("""{"channel":"sms","kind":"sandbox","maxConcurrency":0}"""));
        Assert.Equal(HttpStatusCode.BadRequest, badConcurrency.StatusCode);
        var badKind = await Server.Admin.PutAsync("/api/v1/providers/x", ChudaServer.Json("""{"channel":"voice","kind":"smpp","config":{}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, badKind.StatusCode);
        Assert.Contains("$.channel", await badKind.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await Server.GetJsonAsync("/api/v1/providers")).EnumerateArray());

        await PutProviderAsync("tw", """
            {"channel":"sms","kind":"twilio_sms","priority":1,"config":{"accountSid":"AC0123456789abcdef0123456789abcdef","authToken":"tok","from":"+15005550006"}}
            """);
        await PutProviderAsync("sms-backup", """{"channel":"sms","kind":"sandbox","priority":2,"enabled":false}""");
        var list = (await Server.GetJsonAsync("/api/v1/providers")).EnumerateArray().ToList();
        Assert.Equal(["tw", "sms-backup"], list.Select(p => p.GetProperty("id").GetString()));
        Assert.EndsWith("/callbacks/", list[0].GetProperty("callbackUrl").GetString()![..^("1/tw".Length)], StringComparison.Ordinal);
        Assert.Equal("closed", list[0].GetProperty("health").GetProperty("circuit").GetString());
        Assert.Equal("disabled", list[1].GetProperty("health").GetProperty("circuit").GetString());
        Assert.Equal("***", list[0].GetProperty("config").GetProperty("authToken").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.GetAsync("/api/v1/providers/nope")).StatusCode);

        var keys = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/providers/vapid-keys", null));
        Assert.Equal(65, Convert.FromBase64String(Pad(keys.GetProperty("publicKey").GetString()!)).Length);
        Assert.Equal(32, Convert.FromBase64String(Pad(keys.GetProperty("privateKey").GetString()!)).Length);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.Client(null).PostAsync("/api/v1/providers/vapid-keys", null)).StatusCode);
    }

    [Fact]
    public async Task Vendor_callbacks_count_only_with_a_valid_signature()
    {
        (await Server.PostAsync("/v1/identify", """{"userId":"u1","traits":{"phone":"+8613800138001"}}""")).EnsureSuccessStatusCode();
        var provider = await PutProviderAsync("tw", """
            {"channel":"sms","kind":"twilio_sms","config":{"accountSid":"AC0123456789abcdef0123456789abcdef","authToken":"s3cret-token","from":"+15005550006"}}
            """);
        var url = provider.GetProperty("callbackUrl").GetString()!;
        Assert.StartsWith(Server.Address.ToString(), url, StringComparison.Ordinal);

        var inbound = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["From"] = "+8613800138001", ["To"] = "+15005550006", ["Body"] = "STOP", ["MessageSid"] = "SM1" };
        // Tampered: signed for another body.
        var forged = await PostFormAsync(url, inbound, Sign("s3cret-token", url, new SortedDictionary<string, string>(inbound) { ["Body"] = "hello" }));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Empty((await Server.GetJsonAsync("/api/v1/profiles/u1/subscriptions")).GetProperty("subscriptions").EnumerateArray());
        var unsigned = await PostFormAsync(url, inbound, null);
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);

        var ok = await PostFormAsync(url, inbound, Sign("s3cret-token", url, inbound));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("text/xml", ok.Content.Headers.ContentType?.MediaType);
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(20);
        while (!(await Server.GetJsonAsync("/api/v1/profiles/u1/subscriptions")).GetProperty("subscriptions").EnumerateArray()
                   .Any(s => s.GetProperty("state").GetString() == "unsubscribed"))
        {
            Assert.True(TimeProvider.System.GetUtcNow() < deadline, "the signed STOP did not unsubscribe u1");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await PostFormAsync(url.Replace("/tw", "/nope", StringComparison.Ordinal), inbound, null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await PostFormAsync(new Uri(Server.Address, "/callbacks/987654/tw").ToString(), inbound, null)).StatusCode);
    }

    private async Task<HttpResponseMessage> PostFormAsync(string url, IDictionary<string, string> form, string? signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        if (signature is not null) request.Headers.Add("X-Twilio-Signature", signature);
        using var client = Server.Client(null);
        return await client.SendAsync(request);
    }

    /// <summary>Twilio's documented scheme: base64(HMAC-SHA1(auth token, URL + each POST parameter's name and value, sorted by name)).</summary>
    private static string Sign(string token, string url, SortedDictionary<string, string> form)
    {
        var data = new StringBuilder(url);
        foreach (var (k, v) in form) data.Append(k).Append(v);
#pragma warning disable CA5350 // Twilio's signature scheme is HMAC-SHA1
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(data.ToString())));
#pragma warning restore CA5350
    }

    private static string Pad(string b64url)
    {
        var s = b64url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }
}

public sealed class SqliteChannelsApiTests : ChannelsApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Sqlite();
}

public sealed class PostgresChannelsApiTests : ChannelsApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Postgres();
}
