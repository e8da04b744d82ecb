using System.Net;
using System.Text.Json;

namespace Chuda.Server.Tests;

/// <summary>The Segment Tracking API as a client sees it, on both stores.</summary>
public abstract class IngestionTests : ServerTestBase
{
    [Fact]
    public async Task Health_answers_200_with_the_store_kind()
    {
        var health = await Server.GetJsonAsync("/health");
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(Server.Store is null ? "sqlite" : "postgresql", health.GetProperty("store").GetString());
    }

    [Fact]
    public async Task Track_with_basic_auth_is_stored_and_answered_like_segment()
    {
        var response = await Server.PostAsync("/v1/track", """{"userId":"u1","event":"Order Completed","properties":{"total":99.5},"messageId":"m-1"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await ChudaServer.ReadJsonAsync(response)).GetProperty("success").GetBoolean());

        var events = await Server.EventsAsync("u1");
        var e = Assert.Single(events);
        Assert.Equal("track", e.GetProperty("type").GetString());
        Assert.Equal("Order Completed", e.GetProperty("name").GetString());
        Assert.Equal(99.5, e.GetProperty("payload").GetProperty("properties").GetProperty("total").GetDouble());
    }

    [Fact]
    public async Task Write_key_in_the_body_is_accepted()
    {
        using var anonymous = Server.Client(null);
        var response = await anonymous.PostAsync("/v1/identify", ChudaServer.Json($$$"""{"writeKey":"{{{ChudaServer.WriteKey}}}","userId":"u2","traits":{"plan":"pro"}}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var profile = await Server.ProfileAsync("u2");
        Assert.Equal("pro", profile!.Value.GetProperty("traits").GetProperty("plan").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wk_wrong")]
    [InlineData(ChudaServer.AdminKey)]
    public async Task A_missing_wrong_or_admin_key_cannot_ingest(string? key)
    {
        using var client = Server.Client(key is null ? null : ChudaServer.Basic(key));
        var response = await client.PostAsync("/v1/track", ChudaServer.Json("""{"userId":"u3","event":"x"}"""));
        Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, response.StatusCode.ToString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Null(await Server.ProfileAsync("u3"));
    }

    [Theory]
    [InlineData("/v1/track", """{"userId":"u","event":"x",""", "$")]
    [InlineData("/v1/track", """{"event":"x"}""", "userId")]
    [InlineData("/v1/track", """{"userId":"u"}""", "event")]
    [InlineData("/v1/track", """{"userId":"u","event":"x","properties":[1]}""", "properties")]
    [InlineData("/v1/identify", """{"userId":"u","traits":{},"context":{"timezone":"Mars/Olympus_Mons"}}""", "context.timezone")]
    [InlineData("/v1/batch", """{"batch":[{"type":"track","userId":"u","event":"x"},{"type":"bogus","userId":"u"}]}""", "batch[1].type")]
    [InlineData("/v1/alias", """{"userId":"u"}""", "previousId")]
    public async Task Bad_input_is_a_400_problem_naming_the_field(string path, string body, string field)
    {
        var response = await Server.PostAsync(path, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await ChudaServer.ReadJsonAsync(response);
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Contains(fields, f => f!.StartsWith(field, StringComparison.Ordinal) || (field == "$" && f is "$" or "body"));
    }

    [Fact]
    public async Task A_nul_character_is_refused_with_a_400_not_stored_or_failed_later()
    {
        var response = await Server.PostAsync("/v1/batch", """{"batch":[{"type":"track","userId":"nul-ok","event":"E"},{"type":"track","userId":"nul\u0000id","event":"E"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("batch[1].userId", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/track", """{"userId":"nul-ok","event":"E"}""")).StatusCode);
    }

    [Fact]
    public async Task A_batch_with_one_invalid_event_is_rejected_whole()
    {
        var response = await Server.PostAsync("/v1/batch", """
            {"batch":[
              {"type":"identify","userId":"good","traits":{"a":1}},
              {"type":"track","userId":"good2","event":"ok"},
              {"type":"track","userId":"bad"}
            ]}
            """);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("batch[2].event", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(await Server.ProfileAsync("good"));
        Assert.Null(await Server.ProfileAsync("good2"));
    }

    [Fact]
    public async Task Too_large_event_and_batch_are_413()
    {
        var big = new string('x', 33 * 1024);
        var single = await Server.PostAsync("/v1/track", $$$"""{"userId":"u","event":"x","properties":{"blob":"{{{big}}}"}}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, single.StatusCode);

        var inBatch = await Server.PostAsync("/v1/batch", $$$"""{"batch":[{"type":"track","userId":"u","event":"x","properties":{"blob":"{{{big}}}"}}]}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, inBatch.StatusCode);

        var many = string.Join(",", Enumerable.Range(0, 2501).Select(i => $$"""{"type":"track","userId":"u{{i}}","event":"e"}"""));
        var tooMany = await Server.PostAsync("/v1/batch", $$"""{"batch":[{{many}}]}""");
        Assert.True(tooMany.StatusCode == HttpStatusCode.RequestEntityTooLarge, tooMany.StatusCode.ToString());

        var huge = await Server.PostAsync("/v1/batch", $$"""{"batch":[],"pad":"{{new string('y', 520 * 1024)}}"}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Null(await Server.ProfileAsync("u"));
    }

    [Fact]
    public async Task A_repeated_message_id_is_acknowledged_and_applied_once()
    {
        const string body = """{"userId":"dup","event":"Clicked","messageId":"same-id"}""";
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/track", body)).StatusCode);
        await Server.PostAsync("/v1/batch", """{"batch":[{"type":"track","userId":"dup","event":"Clicked","messageId":"same-id"},{"type":"track","userId":"dup","event":"Clicked","messageId":"same-id"}]}""");
        Assert.Single(await Server.EventsAsync("dup"));
    }

    [Fact]
    public async Task Message_ids_are_remembered_across_restarts()
    {
        await Server.PostAsync("/v1/track", """{"userId":"r","event":"E","messageId":"persist-1"}""");
        await RestartAsync();
        await Server.PostAsync("/v1/track", """{"userId":"r","event":"E","messageId":"persist-1"}""");
        Assert.Single(await Server.EventsAsync("r"));
    }

    [Fact]
    public async Task Clock_skew_is_corrected_with_sent_at()
    {
        // The device clock is 1 hour fast: it says it sent at 11:00 what it recorded at 10:59.
        var sentAt = TimeProvider.System.GetUtcNow().AddHours(1);
        var timestamp = sentAt.AddMinutes(-1);
        await Server.PostAsync("/v1/track", $$"""{"userId":"skew","event":"E","timestamp":"{{timestamp:O}}","sentAt":"{{sentAt:O}}"}""");
        var stored = DateTimeOffset.Parse((await Server.EventsAsync("skew"))[0].GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var expected = TimeProvider.System.GetUtcNow().AddMinutes(-1);
        Assert.True((stored - expected).Duration() < TimeSpan.FromSeconds(30), $"stored {stored:O}, expected about {expected:O}");
    }

    [Fact]
    public async Task Identify_merges_anonymous_history_into_the_known_profile()
    {
        await Server.PostAsync("/v1/page", """{"anonymousId":"anon-1","name":"Pricing"}""");
        await Server.PostAsync("/v1/track", """{"anonymousId":"anon-1","event":"Added to Cart","properties":{"cart_id":"c1"}}""");
        await Server.PostAsync("/v1/identify", """{"userId":"known-1","traits":{"email":"A@Example.com"}}""");
        await Server.PostAsync("/v1/identify", """{"userId":"known-1","anonymousId":"anon-1","traits":{"name":"李雷"}}""");

        var profile = (await Server.ProfileAsync("known-1"))!.Value;
        Assert.Contains("anon-1", profile.GetProperty("anonymousIds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("李雷", profile.GetProperty("traits").GetProperty("name").GetString());
        var names = (await Server.EventsAsync("known-1")).Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(4, names.Count);
        Assert.Contains("page", names);

        var byAnon = await Server.GetJsonAsync("/api/v1/profiles?anonymousId=anon-1");
        Assert.Equal("known-1", byAnon.GetProperty("userId").GetString());
        var byEmail = await Server.GetJsonAsync("/api/v1/profiles?email=a%40example.com");
        Assert.Equal("known-1", byEmail.GetProperty("userId").GetString());
    }

    [Fact]
    public async Task Two_known_users_sharing_an_email_are_never_merged()
    {
        await Server.PostAsync("/v1/identify", """{"userId":"alice","traits":{"email":"shared@example.com"}}""");
        await Server.PostAsync("/v1/identify", """{"userId":"bob","traits":{"email":"shared@example.com"}}""");
        var alice = (await Server.ProfileAsync("alice"))!.Value;
        var bob = (await Server.ProfileAsync("bob"))!.Value;
        Assert.Equal("alice", alice.GetProperty("userId").GetString());
        Assert.Equal("bob", bob.GetProperty("userId").GetString());
        Assert.Single(await Server.EventsAsync("alice"));
        Assert.Single(await Server.EventsAsync("bob"));
    }

    [Fact]
    public async Task An_anonymous_id_of_another_known_user_does_not_merge_two_known_users()
    {
        await Server.PostAsync("/v1/identify", """{"userId":"first","anonymousId":"shared-device"}""");
        await Server.PostAsync("/v1/identify", """{"userId":"second","traits":{"x":1}}""");
        await Server.PostAsync("/v1/track", """{"userId":"second","anonymousId":"shared-device","event":"E"}""");
        Assert.Single(await Server.EventsAsync("first"));
        Assert.Equal(2, (await Server.EventsAsync("second")).Count);
    }

    [Fact]
    public async Task Alias_merges_previous_id_into_user_id()
    {
        await Server.PostAsync("/v1/identify", """{"userId":"old-id","traits":{"a":1,"shared":"old"}}""");
        await Server.PostAsync("/v1/identify", """{"userId":"new-id","traits":{"b":2,"shared":"new"}}""");
        Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/alias", """{"previousId":"old-id","userId":"new-id"}""")).StatusCode);

        var merged = (await Server.ProfileAsync("new-id"))!.Value;
        var traits = merged.GetProperty("traits");
        Assert.Equal(1, traits.GetProperty("a").GetInt32());
        Assert.Equal(2, traits.GetProperty("b").GetInt32());
        Assert.Equal("new", traits.GetProperty("shared").GetString());
        Assert.Equal(3, (await Server.EventsAsync("new-id")).Count);
        var viaOld = (await Server.ProfileAsync("old-id"))!.Value;
        Assert.Equal("new-id", viaOld.GetProperty("userId").GetString());
    }

    [Fact]
    public async Task Merging_is_idempotent_and_safe_under_concurrent_events_for_both_ids()
    {
        // Several rounds: the interleavings differ each time, and on PostgreSQL the two ids usually live on
        // different partitions, so both may try to create the profile or claim an id at the same moment.
        for (var round = 0; round < 6; round++)
        {
            var anon = $"cc-anon-{round}";
            var user = $"cc-user-{round}";
            var tasks = new List<Task<HttpResponseMessage>>();
            for (var i = 0; i < 30; i++)
            {
                tasks.Add(Server.PostAsync("/v1/track", $$"""{"anonymousId":"{{anon}}","event":"A{{i}}"}"""));
                tasks.Add(Server.PostAsync("/v1/track", $$"""{"userId":"{{user}}","event":"U{{i}}"}"""));
                if (i % 10 == 0) tasks.Add(Server.PostAsync("/v1/identify", $$"""{"userId":"{{user}}","anonymousId":"{{anon}}"}"""));
            }
            foreach (var response in await Task.WhenAll(tasks)) Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            // Whatever the interleaving, after one more identify every event is on the one known profile.
            await Server.PostAsync("/v1/identify", $$"""{"userId":"{{user}}","anonymousId":"{{anon}}"}""");
            var events = await Server.EventsAsync(user);
            Assert.Equal(30 + 30 + 3 + 1, events.Count);
            var byAnon = await Server.GetJsonAsync($"/api/v1/profiles?anonymousId={anon}");
            Assert.Equal(user, byAnon.GetProperty("userId").GetString());
        }
    }

    [Fact]
    public async Task Traits_deep_merge_and_null_unsets()
    {
        await Server.PostAsync("/v1/identify", """{"userId":"t","traits":{"address":{"city":"上海","zip":"200000"},"plan":"free","age":30}}""");
        await Server.PostAsync("/v1/identify", """{"userId":"t","traits":{"address":{"city":"北京"},"plan":null}}""");
        var traits = (await Server.ProfileAsync("t"))!.Value.GetProperty("traits");
        Assert.Equal("北京", traits.GetProperty("address").GetProperty("city").GetString());
        Assert.Equal("200000", traits.GetProperty("address").GetProperty("zip").GetString());
        Assert.False(traits.TryGetProperty("plan", out _));
        Assert.Equal(30, traits.GetProperty("age").GetInt32());
    }

    [Fact]
    public async Task Context_sets_timezone_locale_phone_and_push_token()
    {
        await Server.PostAsync("/v1/identify", """
            {"userId":"ctx","traits":{"phone":"138 0013 8000"},
             "context":{"timezone":"Asia/Shanghai","locale":"zh-CN","device":{"type":"ios","token":"apns-token-1"},
                        "externalIds":[{"id":"o6_bmjrPTlm6_2sgVt7hMZOPfL2M","type":"wechat_openid","collection":"users","encoding":"none"}]}}
            """);
        var profile = (await Server.ProfileAsync("ctx"))!.Value;
        Assert.Equal("Asia/Shanghai", profile.GetProperty("timezone").GetString());
        Assert.Equal("zh-CN", profile.GetProperty("locale").GetString());
        var identities = profile.GetProperty("identities").EnumerateArray()
            .Select(i => $"{i.GetProperty("type").GetString()}={i.GetProperty("value").GetString()}").ToList();
        Assert.Contains("phone=+8613800138000", identities);
        Assert.Contains("push:ios=apns-token-1", identities);
        Assert.Contains("wechat_openid=o6_bmjrPTlm6_2sgVt7hMZOPfL2M", identities);

        Assert.Equal("ctx", (await Server.GetJsonAsync("/api/v1/profiles?phone=%2B8613800138000")).GetProperty("userId").GetString());
        Assert.Equal("ctx", (await Server.GetJsonAsync("/api/v1/profiles?externalId=wechat_openid:o6_bmjrPTlm6_2sgVt7hMZOPfL2M")).GetProperty("userId").GetString());
    }

    [Fact]
    public async Task Events_page_newest_first_with_a_cursor()
    {
        var start = DateTimeOffset.Parse("2026-03-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var batch = string.Join(",", Enumerable.Range(0, 25).Select(i =>
            $$"""{"type":"track","userId":"pager","event":"E{{i}}","timestamp":"{{start.AddMinutes(i):O}}"}"""));
        Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/batch", $$"""{"batch":[{{batch}}]}""")).StatusCode);

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Server.GetJsonAsync($"/api/v1/profiles/pager/events?limit=10{(cursor is null ? "" : "&before=" + Uri.EscapeDataString(cursor))}");
            seen.AddRange(page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("name").GetString()!));
            cursor = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
        }
        while (cursor is not null);
        Assert.Equal(Enumerable.Range(0, 25).Reverse().Select(i => $"E{i}"), seen);

        var bad = await Server.Admin.GetAsync("/api/v1/profiles/pager/events?before=nonsense");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("before", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_event_that_got_a_2xx_survives_a_graceful_stop_under_load()
    {
        const int clients = 40;
        var tasks = Enumerable.Range(0, clients).Select(async c =>
        {
            await Task.Yield();
            try
            {
                var body = "{\"batch\":[" + string.Join(",", Enumerable.Range(0, 100).Select(i => $$"""{"type":"track","userId":"drain-{{c}}","event":"E{{i}}"}""")) + "]}";
                return (await Server.PostAsync("/v1/batch", body)).StatusCode;
            }
            catch (HttpRequestException)
            {
                return (HttpStatusCode)0; // refused after shutdown began: not acknowledged
            }
        }).ToList();
        await Task.WhenAny(tasks);
        await Server.StopAsync(); // SIGTERM path: stop accepting, drain what was accepted
        var outcomes = await Task.WhenAll(tasks);
        await RestartAsync();
        var acknowledged = 0;
        for (var c = 0; c < clients; c++)
        {
            if (outcomes[c] != HttpStatusCode.OK) continue;
            acknowledged++;
            Assert.Equal(100, (await Server.EventsAsync($"drain-{c}")).Count);
        }
        Assert.True(acknowledged > 0);
    }
}

public sealed class SqliteIngestionTests : IngestionTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Sqlite();
}

public sealed class PostgresIngestionTests : IngestionTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Postgres();
}
