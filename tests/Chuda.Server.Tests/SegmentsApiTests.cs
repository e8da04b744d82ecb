using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Chuda.Testing;

namespace Chuda.Server.Tests;

/// <summary>
/// The segments API through a real server on both stores: create / read / edit / delete, rule validation with JSON
/// paths, backfill over existing profiles, live membership from events, tags and traits, time-based exits fired by the
/// durable re-checks (fake and real clock), members, counts, changes, history, preview and auth.
/// </summary>
public abstract class SegmentsApiTests : ServerTestBase
{
    /// <summary>The longest any test waits for background work (backfill, a re-check) before failing.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    // ---------- create, read, backfill ----------

    [Fact]
    public async Task Create_backfills_profiles_that_existed_before_it_exactly()
    {
        for (var i = 0; i < 12; i++)
            await SendAsync(Server, "/v1/identify", $$$"""{"userId":"pre-{{{i}}}","traits":{"plan":"{{{(i % 3 == 0 ? "pro" : "free")}}}"}}""");
        await SendAsync(Server, "/v1/track", """{"userId":"pre-1","event":"Order Completed","properties":{"total":120}}""");
        await SendAsync(Server, "/v1/track", """{"userId":"pre-2","event":"Order Completed","properties":{"total":20}}""");
        await SendAsync(Server, "/v1/track", """{"anonymousId":"anon-pre","event":"Order Completed","properties":{"total":500}}""");

        const string rule = """{"or":[{"trait":"plan","op":"eq","value":"pro"},{"event":"Order Completed","where":[{"property":"total","op":"gte","value":100}]}]}""";
        var response = await Server.Admin.PostAsync("/api/v1/segments",
            ChudaServer.Json($$"""{"id":"good-customers","name":"Good customers","description":"pro, or one big order","rule":{{rule}}}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("/api/v1/segments/good-customers", response.Headers.Location?.OriginalString);
        var created = await ChudaServer.ReadJsonAsync(response);
        Assert.Equal("good-customers", created.GetProperty("id").GetString());
        Assert.Equal("Good customers", created.GetProperty("name").GetString());
        Assert.Equal("pro, or one big order", created.GetProperty("description").GetString());
        Assert.Equal(1, created.GetProperty("version").GetInt32());
        Assert.Contains(created.GetProperty("status").GetString(), new[] { "backfilling", "ready" });
        AssertSameJson(rule, created.GetProperty("rule"));
        Assert.Equal(13, created.GetProperty("backfill").GetProperty("total").GetInt64());

        var ready = await WaitReadyAsync(Server, "good-customers");
        var backfill = ready.GetProperty("backfill");
        Assert.Equal(13, backfill.GetProperty("done").GetInt64());
        Assert.Equal(13, backfill.GetProperty("total").GetInt64());
        Assert.Equal(100.0, backfill.GetProperty("percent").GetDouble());
        Assert.Equal(JsonValueKind.String, backfill.GetProperty("completedAt").ValueKind);
        AssertSameJson(rule, ready.GetProperty("rule"));

        // Exactly the pro profiles, the big order and the anonymous big order (a member without a user id).
        var members = await AllMembersAsync(Server, "good-customers");
        Assert.Equal(new[] { "(anonymous)", "pre-0", "pre-1", "pre-3", "pre-6", "pre-9" }, members.Select(m => m.UserId ?? "(anonymous)").Order(StringComparer.Ordinal));
        var count = await Server.GetJsonAsync("/api/v1/segments/good-customers/count");
        Assert.Equal(6, count.GetProperty("count").GetInt64());
        Assert.True(count.GetProperty("exact").GetBoolean());
        Assert.Equal("ready", count.GetProperty("status").GetString());

        var changes = await AllChangesAsync(Server, "good-customers");
        Assert.Equal(6, changes.Count);
        Assert.All(changes, c =>
        {
            Assert.Equal("segment entered", c.GetProperty("type").GetString());
            Assert.Equal("backfill", c.GetProperty("cause").GetString());
        });
        Assert.Equal(members.Select(m => m.ProfileId).Order(), changes.Select(c => c.GetProperty("profileId").GetInt64()).Order());

        var mine = await Server.GetJsonAsync("/api/v1/profiles/pre-0/segments");
        Assert.Equal("pre-0", mine.GetProperty("userId").GetString());
        var only = Assert.Single(mine.GetProperty("segments").EnumerateArray());
        Assert.Equal("good-customers", only.GetProperty("id").GetString());
        Assert.Equal("Good customers", only.GetProperty("name").GetString());
        Assert.Empty((await Server.GetJsonAsync("/api/v1/profiles/pre-4/segments")).GetProperty("segments").EnumerateArray());
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/profiles/nobody/segments"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Segments_are_listed_read_and_unknown_ids_are_404()
    {
        var generated = await CreateAsync(Server, """{"name":"No id given","rule":{"tag":"a"}}""");
        var generatedId = generated.GetProperty("id").GetString()!;
        Assert.Matches("^seg_[0-9a-f]{12}$", generatedId);
        await CreateAsync(Server, """{"id":"b-second","name":"Second","rule":{"tag":"b"}}""");
        await CreateAsync(Server, """{"id":"a-first","name":"First","rule":{"tag":"c"}}""");

        var list = await Server.GetJsonAsync("/api/v1/segments");
        var ids = list.GetProperty("segments").EnumerateArray().Select(s => s.GetProperty("id").GetString()).ToList();
        Assert.Equal(new[] { "a-first", "b-second", generatedId }, ids);

        var one = await Server.GetJsonAsync("/api/v1/segments/b-second");
        Assert.Equal("Second", one.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, one.GetProperty("description").ValueKind);
        AssertSameJson("""{"tag":"b"}""", one.GetProperty("rule"));

        foreach (var path in new[] { "", "/members", "/count", "/history", "/changes" })
            await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/segments/nope" + path), HttpStatusCode.NotFound);
        await AssertProblemAsync(await Server.Admin.PutAsync("/api/v1/segments/nope", ChudaServer.Json("""{"name":"x","rule":{"tag":"x"}}""")), HttpStatusCode.NotFound);
        await AssertProblemAsync(await Server.Admin.DeleteAsync("/api/v1/segments/nope"), HttpStatusCode.NotFound);
    }

    // ---------- edit ----------

    [Fact]
    public async Task Put_with_a_new_rule_bumps_the_version_and_recomputes_membership()
    {
        await SendAsync(Server, "/v1/track", """{"userId":"u-a","event":"Order Completed","properties":{"total":150}}""");
        await SendAsync(Server, "/v1/track", """{"userId":"u-b","event":"Order Completed","properties":{"total":50}}""");
        await SendAsync(Server, "/v1/track", """{"userId":"u-c","event":"Order Completed","properties":{"total":300}}""");
        await CreateAsync(Server, """{"id":"spenders","name":"Spenders","rule":{"event":"Order Completed","where":[{"property":"total","op":"gte","value":100}]}}""");
        await WaitReadyAsync(Server, "spenders");
        Assert.Equal(new[] { "u-a", "u-c" }, await MemberIdsAsync(Server, "spenders"));

        const string stricter = """{"event":"Order Completed","where":[{"property":"total","op":"gte","value":200}]}""";
        var body = $$"""{"name":"Big spenders","description":"200 or more","rule":{{stricter}}}""";

        // A stale version: 412 naming If-Match, with the current version; nothing changes.
        var stale = await PutAsync("spenders", body, "\"7\"");
        var problem = await AssertProblemAsync(stale, HttpStatusCode.PreconditionFailed, "If-Match");
        Assert.Equal(1, problem.GetProperty("version").GetInt32());
        Assert.Equal(1, (await Server.GetJsonAsync("/api/v1/segments/spenders")).GetProperty("version").GetInt32());
        await AssertProblemAsync(await PutAsync("spenders", body, "abc"), HttpStatusCode.BadRequest, "If-Match");
        await AssertProblemAsync(await PutAsync("spenders", body, "\"-1\""), HttpStatusCode.BadRequest, "If-Match");

        var edited = await PutAsync("spenders", body, "\"1\"");
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        var v2 = await ChudaServer.ReadJsonAsync(edited);
        Assert.Equal(2, v2.GetProperty("version").GetInt32());
        Assert.Equal("Big spenders", v2.GetProperty("name").GetString());
        Assert.Equal("200 or more", v2.GetProperty("description").GetString());
        AssertSameJson(stricter, v2.GetProperty("rule"));
        Assert.Contains(v2.GetProperty("status").GetString(), new[] { "backfilling", "ready" });

        var ready = await WaitReadyAsync(Server, "spenders");
        Assert.Equal(2, ready.GetProperty("version").GetInt32());
        Assert.Equal(new[] { "u-c" }, await MemberIdsAsync(Server, "spenders"));
        Assert.Equal(1, (await Server.GetJsonAsync("/api/v1/segments/spenders/count")).GetProperty("count").GetInt64());
        var exits = (await AllChangesAsync(Server, "spenders")).Where(c => c.GetProperty("type").GetString() == "segment exited").ToList();
        var exit = Assert.Single(exits);
        Assert.Equal("backfill", exit.GetProperty("cause").GetString());

        // Same rule, new name (weak ETag form accepted): the version moves, the membership and its backfill do not.
        var renamed = await PutAsync("spenders", $$"""{"name":"Whales","rule":{{stricter}}}""", "W/\"2\"");
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        var v3 = await ChudaServer.ReadJsonAsync(renamed);
        Assert.Equal(3, v3.GetProperty("version").GetInt32());
        Assert.Equal("ready", v3.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, v3.GetProperty("description").ValueKind);
        Assert.Equal(ready.GetProperty("backfill").GetProperty("completedAt").GetString(), v3.GetProperty("backfill").GetProperty("completedAt").GetString());
        Assert.Equal(new[] { "u-c" }, await MemberIdsAsync(Server, "spenders"));

        // The id cannot change, and a bad rule is refused without touching the segment.
        await AssertProblemAsync(await PutAsync("spenders", $$"""{"id":"other","name":"Whales","rule":{{stricter}}}""", null), HttpStatusCode.BadRequest, "id");
        await AssertProblemAsync(await PutAsync("spenders", """{"name":"Whales","rule":{"event":"Order Completed","within":"P1M"}}""", null),
            HttpStatusCode.BadRequest, "rule.within");
        var after = await Server.GetJsonAsync("/api/v1/segments/spenders");
        Assert.Equal(3, after.GetProperty("version").GetInt32());
        AssertSameJson(stricter, after.GetProperty("rule"));
    }

    // ---------- delete ----------

    [Fact]
    public async Task Delete_answers_204_then_404_and_refuses_a_referenced_segment()
    {
        await SendAsync(Server, "/v1/identify", """{"userId":"d-1","traits":{"plan":"pro"}}""");
        await Server.Admin.PostAsync("/api/v1/profiles/d-1/tags", ChudaServer.Json("""{"tags":["vip"]}"""));
        await CreateAsync(Server, """{"id":"base","name":"Base","rule":{"tag":"vip"}}""");
        await CreateAsync(Server, """{"id":"derived","name":"Derived","rule":{"and":[{"member_of":"base"},{"trait":"plan","op":"eq","value":"pro"}]}}""");
        await WaitReadyAsync(Server, "base");
        await WaitReadyAsync(Server, "derived");
        Assert.Equal(new[] { "base", "derived" }, await ProfileSegmentIdsAsync(Server, "d-1"));

        var inUse = await Server.Admin.DeleteAsync("/api/v1/segments/base");
        var problem = await AssertProblemAsync(inUse, HttpStatusCode.Conflict, "id");
        Assert.Contains("derived", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.GetAsync("/api/v1/segments/base")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Server.Admin.DeleteAsync("/api/v1/segments/derived")).StatusCode);
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/segments/derived"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await Server.Admin.DeleteAsync("/api/v1/segments/derived"), HttpStatusCode.NotFound);
        Assert.Equal(new[] { "base" }, await ProfileSegmentIdsAsync(Server, "d-1"));
        Assert.Equal(HttpStatusCode.NoContent, (await Server.Admin.DeleteAsync("/api/v1/segments/base")).StatusCode);
        Assert.Empty(await ProfileSegmentIdsAsync(Server, "d-1"));
        Assert.Empty((await Server.GetJsonAsync("/api/v1/segments")).GetProperty("segments").EnumerateArray());

        // The id can be used again: a new segment, with no members, changes or history left from the old one.
        await CreateAsync(Server, """{"id":"base","name":"Base again","rule":{"tag":"nobody-has-this"}}""");
        await WaitReadyAsync(Server, "base");
        Assert.Empty(await MemberIdsAsync(Server, "base"));
        Assert.Empty(await AllChangesAsync(Server, "base"));
        Assert.Empty(await ProfileSegmentIdsAsync(Server, "d-1"));
    }

    // ---------- validation ----------

    [Fact]
    public async Task Invalid_segments_are_400_problems_naming_the_json_path()
    {
        async Task<JsonElement> Invalid(string body, params string[] fields) =>
            await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments", ChudaServer.Json(body)), HttpStatusCode.BadRequest, fields);

        var op = await Invalid("""{"name":"n","rule":{"trait":"plan","op":"equals","value":"x"}}""", "rule.op");
        Assert.Contains("(unknown_operator)", Messages(op), StringComparison.Ordinal);
        var gt = await Invalid("""{"name":"n","rule":{"trait":"age","op":"gt","value":"18"}}""", "rule.value");
        Assert.Contains("(type_mismatch)", Messages(gt), StringComparison.Ordinal);
        // gt on a trait whose stored values are strings (the kinds are inferred from the workspace's recent profiles).
        await SendAsync(Server, "/v1/identify", """{"userId":"kinds-1","traits":{"tier":"gold","visits":3,"renews_at":"2026-12-01T00:00:00Z"}}""");
        var onString = await Invalid("""{"name":"n","rule":{"trait":"tier","op":"gt","value":5}}""", "rule.op");
        Assert.Contains("(type_mismatch)", Messages(onString), StringComparison.Ordinal);
        await Invalid("""{"name":"n","rule":{"and":[{"trait":"visits","op":"eq","value":"3"},{"trait":"renews_at","op":"gt","value":1}]}}""",
            "rule.and[0].op", "rule.and[1].op");
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.PostAsync("/api/v1/segments/preview", ChudaServer.Json(
            """{"rule":{"and":[{"trait":"visits","op":"gte","value":2},{"trait":"renews_at","op":"within_next","value":"P30D"},{"trait":"tier","op":"starts_with","value":"g"}]}}"""))).StatusCode);
        var month = await Invalid("""{"name":"n","rule":{"event":"Ping","within":"P1M"}}""", "rule.within");
        Assert.Contains("(bad_duration)", Messages(month), StringComparison.Ordinal);
        await Invalid("""{"name":"n","rule":{"and":[{"tag":"x"},{"event":"E","count":{"op":"most","value":1}}]}}""", "rule.and[1].count.op");
        await Invalid("""{"name":"n","rule":{"trait":"plan","op":"eq","value":"pro","negate":true}}""", "rule.negate");
        await Invalid("""{"name":"n","rule":{"and":[]}}""", "rule.and");
        await Invalid("""{"name":"n","rule":{}}""", "rule");
        await Invalid("""{"name":"n","rule":"plan = pro"}""", "rule");
        await Invalid("""{"name":"n"}""", "rule");

        var unknown = await Invalid("""{"name":"n","rule":{"member_of":"does-not-exist"}}""", "rule.member_of");
        Assert.Contains("(unknown_segment)", Messages(unknown), StringComparison.Ordinal);
        var self = await Invalid("""{"id":"selfish","name":"n","rule":{"or":[{"tag":"x"},{"member_of":"selfish"}]}}""", "rule.or[1].member_of");
        Assert.Contains("(cycle)", Messages(self), StringComparison.Ordinal);

        await Invalid("""{"rule":{"tag":"x"}}""", "name");
        await Invalid("""{"name":"   ","rule":{"tag":"x"}}""", "name");
        await Invalid("""{"name":5,"rule":{"tag":"x"}}""", "name");
        await Invalid($$$"""{"name":"{{{new string('n', 201)}}}","rule":{"tag":"x"}}""", "name");
        await Invalid($$$"""{"name":"n","description":"{{{new string('d', 2001)}}}","rule":{"tag":"x"}}""", "description");
        await Invalid("""{"id":"Bad Id!","name":"n","rule":{"tag":"x"}}""", "id");
        await Invalid("""{"id":"-leading-dash","name":"n","rule":{"tag":"x"}}""", "id");
        await Invalid("""{"name":"n","rule":{"tag":"x"},"colour":"red"}""", "colour");
        await Invalid("""[{"name":"n"}]""", "body");
        await Invalid("""{"name":"n","rule":""", "body");
        // Every fault at once.
        await Invalid("""{"id":"Bad Id!","rule":{"trait":"plan","op":"equals","value":"x"}}""", "id", "name", "rule.op");

        // Nothing was saved by any of these.
        Assert.Empty((await Server.GetJsonAsync("/api/v1/segments")).GetProperty("segments").EnumerateArray());

        // A duplicate id is a 400 on id; a cycle through another segment is caught on edit.
        await CreateAsync(Server, """{"id":"a","name":"A","rule":{"tag":"x"}}""");
        var duplicate = await Invalid("""{"id":"a","name":"Again","rule":{"tag":"y"}}""", "id");
        Assert.Contains("(duplicate_id)", Messages(duplicate), StringComparison.Ordinal);
        Assert.Equal("A", (await Server.GetJsonAsync("/api/v1/segments/a")).GetProperty("name").GetString());
        await CreateAsync(Server, """{"id":"b","name":"B","rule":{"member_of":"a"}}""");
        var cycle = await AssertProblemAsync(await PutAsync("a", """{"name":"A","rule":{"not":{"member_of":"b"}}}""", null), HttpStatusCode.BadRequest,
            "rule.not.member_of");
        Assert.Contains("(cycle)", Messages(cycle), StringComparison.Ordinal);
    }

    // ---------- live membership ----------

    [Fact]
    public async Task Events_move_profiles_in_live_with_members_count_and_changes()
    {
        for (var i = 1; i <= 6; i++) await SendAsync(Server, "/v1/identify", $$"""{"userId":"live-{{i}}"}""");
        await CreateAsync(Server, """{"id":"buyers","name":"Buyers","rule":{"event":"Purchased","where":[{"property":"total","op":"gte","value":100}]}}""");
        await WaitReadyAsync(Server, "buyers");
        var empty = await Server.GetJsonAsync("/api/v1/segments/buyers/count");
        Assert.Equal(0, empty.GetProperty("count").GetInt64());
        Assert.True(empty.GetProperty("exact").GetBoolean());
        var seqBefore = await LastSeqAsync(Server, "buyers");

        await SendAsync(Server, "/v1/track", """{"userId":"live-1","event":"Purchased","properties":{"total":150}}""");
        Assert.Equal(new[] { "buyers" }, await ProfileSegmentIdsAsync(Server, "live-1"));
        Assert.Equal(1, (await Server.GetJsonAsync("/api/v1/segments/buyers/count")).GetProperty("count").GetInt64());
        var entered = Assert.Single(await AllChangesAsync(Server, "buyers", seqBefore));
        Assert.Equal("segment entered", entered.GetProperty("type").GetString());
        Assert.Equal("event", entered.GetProperty("cause").GetString());
        Assert.Equal("Purchased", entered.GetProperty("detail").GetString());
        var live1 = Assert.Single(await AllMembersAsync(Server, "buyers"));
        Assert.Equal("live-1", live1.UserId);
        Assert.Equal(live1.ProfileId, entered.GetProperty("profileId").GetInt64());

        // A purchase that does not pass the filter, and an unrelated event, change nothing.
        await SendAsync(Server, "/v1/track", """{"userId":"live-2","event":"Purchased","properties":{"total":50}}""");
        await SendAsync(Server, "/v1/track", """{"userId":"live-2","event":"Viewed Page","properties":{"total":500}}""");
        Assert.Empty(await ProfileSegmentIdsAsync(Server, "live-2"));
        Assert.Equal(1, (await Server.GetJsonAsync("/api/v1/segments/buyers/count")).GetProperty("count").GetInt64());

        // A second qualifying purchase by a member records nothing new.
        await SendAsync(Server, "/v1/track", """{"userId":"live-1","event":"Purchased","properties":{"total":999}}""");
        Assert.Single(await AllChangesAsync(Server, "buyers", seqBefore));

        foreach (var who in new[] { "live-3", "live-4", "live-5" })
            await SendAsync(Server, "/v1/track", $$$"""{"userId":"{{{who}}}","event":"Purchased","properties":{"total":100}}""");
        // Through /v1/batch too.
        await SendAsync(Server, "/v1/batch", """{"batch":[{"type":"track","userId":"live-6","event":"Purchased","properties":{"total":101}}]}""");
        Assert.Equal(5, (await Server.GetJsonAsync("/api/v1/segments/buyers/count")).GetProperty("count").GetInt64());

        // Members page by profile id: limit, then the next cursor, until next is null.
        var first = await Server.GetJsonAsync("/api/v1/segments/buyers/members?limit=2");
        Assert.Equal(2, first.GetProperty("members").GetArrayLength());
        var next = first.GetProperty("next").GetString();
        Assert.NotNull(next);
        var second = await Server.GetJsonAsync($"/api/v1/segments/buyers/members?limit=2&after={next}");
        Assert.Equal(2, second.GetProperty("members").GetArrayLength());
        var third = await Server.GetJsonAsync($"/api/v1/segments/buyers/members?limit=2&after={second.GetProperty("next").GetString()}");
        Assert.Equal(1, third.GetProperty("members").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, third.GetProperty("next").ValueKind);
        var paged = new[] { first, second, third }.SelectMany(p => p.GetProperty("members").EnumerateArray()).ToList();
        var profileIds = paged.Select(m => m.GetProperty("profileId").GetInt64()).ToList();
        Assert.Equal(profileIds.Order(), profileIds);
        Assert.Equal(profileIds.Count, profileIds.Distinct().Count());
        Assert.Equal(new[] { "live-1", "live-3", "live-4", "live-5", "live-6" }, paged.Select(m => m.GetProperty("userId").GetString()).Order(StringComparer.Ordinal));
        Assert.All(paged, m => Assert.Equal(JsonValueKind.String, m.GetProperty("since").ValueKind));

        // Changes page by sequence number, oldest first; 'next' of an empty page is the cursor passed in.
        var changes = await Server.GetJsonAsync($"/api/v1/segments/buyers/changes?after={seqBefore}&limit=3");
        Assert.Equal(3, changes.GetProperty("changes").GetArrayLength());
        var rest = await Server.GetJsonAsync($"/api/v1/segments/buyers/changes?after={changes.GetProperty("next").GetInt64()}");
        Assert.Equal(2, rest.GetProperty("changes").GetArrayLength());
        var all = changes.GetProperty("changes").EnumerateArray().Concat(rest.GetProperty("changes").EnumerateArray()).ToList();
        var seqs = all.Select(c => c.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(seqs.Order(), seqs);
        Assert.All(all, c => Assert.Equal("Purchased", c.GetProperty("detail").GetString()));
        var end = rest.GetProperty("next").GetInt64();
        var none = await Server.GetJsonAsync($"/api/v1/segments/buyers/changes?after={end}");
        Assert.Empty(none.GetProperty("changes").EnumerateArray());
        Assert.Equal(end, none.GetProperty("next").GetInt64());

        // A profile created by the qualifying event is a member at once, and the event is named as the cause
        // (a journey triggered by "entered because of Purchased" must see brand-new customers too).
        await SendAsync(Server, "/v1/track", """{"userId":"live-new","event":"Purchased","properties":{"total":100}}""");
        Assert.Equal(new[] { "buyers" }, await ProfileSegmentIdsAsync(Server, "live-new"));
        Assert.Equal(6, (await Server.GetJsonAsync("/api/v1/segments/buyers/count")).GetProperty("count").GetInt64());
        AssertChange((await AllChangesAsync(Server, "buyers", end))[^1], "segment entered", "event", "Purchased");

        // Query parameters that are not numbers are problems naming the field, not bare 400s.
        foreach (var (bad, field) in new[] { ("members?limit=abc", "limit"), ("changes?limit=x", "limit"), ("changes?after=1.5", "after") })
            await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/segments/buyers/" + bad), HttpStatusCode.BadRequest, field);
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/profiles/live-new/events?limit=ten"), HttpStatusCode.BadRequest, "limit");

        foreach (var bad in new[] { "members?limit=0", "members?limit=1001", "changes?limit=0", "changes?limit=1001" })
            await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/segments/buyers/" + bad), HttpStatusCode.BadRequest, "limit");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/segments/buyers/members?after=abc"), HttpStatusCode.BadRequest, "after");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/segments/buyers/changes?after=-1"), HttpStatusCode.BadRequest, "after");
    }

    [Fact]
    public async Task Tags_and_traits_move_profiles_with_their_causes()
    {
        await SendAsync(Server, "/v1/identify", """{"userId":"t-1","traits":{"plan":"free"}}""");
        await CreateAsync(Server, """{"id":"vips","name":"VIPs","rule":{"tag":"vip"}}""");
        await CreateAsync(Server, """{"id":"pros","name":"Pro plan","rule":{"trait":"plan","op":"eq","value":"pro"}}""");
        await CreateAsync(Server, """{"id":"berliners","name":"Berlin","rule":{"trait":"address.city","op":"eq","value":"Berlin"}}""");
        await CreateAsync(Server, """{"id":"pro-vips","name":"Pro VIPs","rule":{"and":[{"member_of":"vips"},{"member_of":"pros"}]}}""");
        foreach (var id in new[] { "vips", "pros", "berliners", "pro-vips" }) await WaitReadyAsync(Server, id);
        Assert.Empty(await ProfileSegmentIdsAsync(Server, "t-1"));

        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.PostAsync("/api/v1/profiles/t-1/tags", ChudaServer.Json("""{"tags":["vip","beta"]}"""))).StatusCode);
        Assert.Equal(new[] { "vips" }, await ProfileSegmentIdsAsync(Server, "t-1"));
        AssertChange(Assert.Single(await AllChangesAsync(Server, "vips")), "segment entered", "tags", "vip");

        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.PatchAsync("/api/v1/profiles/t-1", ChudaServer.Json("""{"traits":{"plan":"pro"}}"""))).StatusCode);
        Assert.Equal(new[] { "pro-vips", "pros", "vips" }, await ProfileSegmentIdsAsync(Server, "t-1"));
        AssertChange(Assert.Single(await AllChangesAsync(Server, "pros")), "segment entered", "traits", "plan");
        // The referencing segment follows, caused by the segment that changed.
        AssertChange(Assert.Single(await AllChangesAsync(Server, "pro-vips")), "segment entered", "segment", "pros");

        // A nested trait path is affected by a change of its top-level key.
        await Server.Admin.PatchAsync("/api/v1/profiles/t-1", ChudaServer.Json("""{"traits":{"address":{"city":"Berlin","zip":"10115"}}}"""));
        AssertChange(Assert.Single(await AllChangesAsync(Server, "berliners")), "segment entered", "traits", "address");

        // Leaving: an identify changes the trait, a tag removal the tag.
        await SendAsync(Server, "/v1/identify", """{"userId":"t-1","traits":{"plan":"free"}}""");
        var pros = await AllChangesAsync(Server, "pros");
        Assert.Equal(2, pros.Count);
        AssertChange(pros[1], "segment exited", "traits", "plan");
        AssertChange((await AllChangesAsync(Server, "pro-vips"))[1], "segment exited", "segment", "pros");
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.DeleteAsync("/api/v1/profiles/t-1/tags?tags=vip")).StatusCode);
        AssertChange((await AllChangesAsync(Server, "vips"))[1], "segment exited", "tags", "vip");
        Assert.Equal(new[] { "berliners" }, await ProfileSegmentIdsAsync(Server, "t-1"));
        Assert.Equal(0, (await Server.GetJsonAsync("/api/v1/segments/vips/count")).GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task Identify_merge_and_erasure_keep_membership_right()
    {
        await CreateAsync(Server, """{"id":"browsers","name":"Browsers","rule":{"event":"Viewed Page","count":{"op":"at_least","value":2}}}""");
        await WaitReadyAsync(Server, "browsers");

        // An anonymous visitor qualifies; identifying them with a new user id keeps the same member, now named.
        await SendAsync(Server, "/v1/page", """{"anonymousId":"anon-1","name":"Home"}""");
        await SendAsync(Server, "/v1/page", """{"anonymousId":"anon-1","name":"Pricing"}""");
        Assert.Equal(new[] { "(anonymous)" }, await MemberIdsAsync(Server, "browsers"));
        await SendAsync(Server, "/v1/identify", """{"userId":"ann","anonymousId":"anon-1"}""");
        Assert.Equal(new[] { "ann" }, await MemberIdsAsync(Server, "browsers"));
        AssertChange(Assert.Single(await AllChangesAsync(Server, "browsers")), "segment entered", "event", "Viewed Page");

        // A second visitor qualifies, then turns out to be a known user: the anonymous profile is merged into bob.
        await SendAsync(Server, "/v1/page", """{"anonymousId":"anon-2","name":"Home"}""");
        await SendAsync(Server, "/v1/page", """{"anonymousId":"anon-2","name":"Docs"}""");
        await SendAsync(Server, "/v1/identify", """{"userId":"bob"}""");
        var visitor = (await AllMembersAsync(Server, "browsers")).Single(m => m.UserId is null).ProfileId;
        await SendAsync(Server, "/v1/identify", """{"userId":"bob","anonymousId":"anon-2"}""");
        Assert.Equal(new[] { "ann", "bob" }, await MemberIdsAsync(Server, "browsers"));
        Assert.Equal(2, (await Server.GetJsonAsync("/api/v1/segments/browsers/count")).GetProperty("count").GetInt64());
        Assert.Equal(new[] { "browsers" }, await ProfileSegmentIdsAsync(Server, "bob"));
        var bob = (await AllMembersAsync(Server, "browsers")).Single(m => m.UserId == "bob").ProfileId;
        Assert.NotEqual(visitor, bob);
        var changes = await AllChangesAsync(Server, "browsers");
        var visitorChanges = changes.Where(c => c.GetProperty("profileId").GetInt64() == visitor).ToList();
        Assert.Equal(2, visitorChanges.Count);
        AssertChange(visitorChanges[0], "segment entered", "event", "Viewed Page");
        AssertChange(visitorChanges[1], "segment exited", "merged_away", bob.ToString(System.Globalization.CultureInfo.InvariantCulture));
        AssertChange(Assert.Single(changes, c => c.GetProperty("profileId").GetInt64() == bob), "segment entered", "merge", null);

        // Erasure removes the person from the segment (and, being erasure, their membership history).
        var ann = (await AllMembersAsync(Server, "browsers")).Single(m => m.UserId == "ann").ProfileId;
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.DeleteAsync("/api/v1/profiles/ann")).StatusCode);
        Assert.Equal(new[] { "bob" }, await MemberIdsAsync(Server, "browsers"));
        Assert.Equal(1, (await Server.GetJsonAsync("/api/v1/segments/browsers/count")).GetProperty("count").GetInt64());
        Assert.DoesNotContain(await AllChangesAsync(Server, "browsers"), c => c.GetProperty("profileId").GetInt64() == ann);
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/profiles/ann/segments"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Editing_a_referenced_segment_updates_the_segments_that_use_it()
    {
        await SendAsync(Server, "/v1/identify", """{"userId":"r-1","traits":{"plan":"pro"}}""");
        await SendAsync(Server, "/v1/identify", """{"userId":"r-2","traits":{"plan":"free"}}""");
        await CreateAsync(Server, """{"id":"plan-a","name":"Plan A","rule":{"trait":"plan","op":"eq","value":"pro"}}""");
        await CreateAsync(Server, """{"id":"uses-a","name":"Uses A","rule":{"member_of":"plan-a"}}""");
        await WaitReadyAsync(Server, "plan-a");
        await WaitReadyAsync(Server, "uses-a");
        Assert.Equal(new[] { "r-1" }, await MemberIdsAsync(Server, "uses-a"));
        var seq = await LastSeqAsync(Server, "uses-a");

        Assert.Equal(HttpStatusCode.OK, (await PutAsync("plan-a", """{"name":"Plan A","rule":{"trait":"plan","op":"eq","value":"free"}}""", "\"1\"")).StatusCode);
        await WaitReadyAsync(Server, "plan-a");
        Assert.Equal(new[] { "r-2" }, await MemberIdsAsync(Server, "plan-a"));
        Assert.Equal(new[] { "r-2" }, await MemberIdsAsync(Server, "uses-a"));
        var changes = await AllChangesAsync(Server, "uses-a", seq);
        Assert.Equal(2, changes.Count);
        Assert.All(changes, c => AssertChange(c, c.GetProperty("type").GetString()!, "segment", "plan-a"));
        Assert.Equal(new[] { "segment entered", "segment exited" }, changes.Select(c => c.GetProperty("type").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(1, (await Server.GetJsonAsync("/api/v1/segments/uses-a")).GetProperty("version").GetInt32());
    }

    // ---------- time ----------

    /// <summary>
    /// With a fake clock injected into the server: membership of a window rule ends exactly when the window does,
    /// through the durable re-check, and a re-check that is due while the server is down fires after a restart.
    /// </summary>
    [Fact]
    public async Task A_window_segment_exits_by_itself_at_the_exact_instant_fake_clock()
    {
        var t0 = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(t0);
        var store = await CreateStoreAsync();
        using var data = new TempDirectory();
        ChudaServer? server = await ChudaServer.StartAsync(store, data.Path, time: clock);
        try
        {
            await SendAsync(server, "/v1/identify", """{"userId":"pinger"}""");
            await SendAsync(server, "/v1/identify", """{"userId":"quiet"}""");
            var created = await CreateAsync(server, """{"id":"pinged","name":"Pinged in the last hour","rule":{"event":"Ping","within":"PT1H"}}""");
            Assert.Equal(t0, created.GetProperty("createdAt").GetDateTimeOffset());
            await WaitReadyAsync(server, "pinged");

            clock.Advance(TimeSpan.FromMinutes(10));
            var t1 = t0.AddMinutes(10);
            await SendAsync(server, "/v1/track", """{"userId":"pinger","event":"Ping"}""");
            Assert.Equal(new[] { "pinger" }, await MemberIdsAsync(server, "pinged"));
            var entered = Assert.Single(await AllChangesAsync(server, "pinged"));
            AssertChange(entered, "segment entered", "event", "Ping");
            Assert.Equal(t1, entered.GetProperty("at").GetDateTimeOffset());

            // One tick of real waiting short of the window nothing happens ...
            clock.Advance(TimeSpan.FromMinutes(59) + TimeSpan.FromSeconds(59));
            await StaysAsync(() => MemberIdsAsync(server, "pinged"), new[] { "pinger" });
            // ... and at the end of the window the re-check fires and records the exit at that very instant.
            clock.Advance(TimeSpan.FromSeconds(1));
            await EventuallyAsync(async () => (await MemberIdsAsync(server, "pinged")).Length == 0, "the window exit");
            var exited = (await AllChangesAsync(server, "pinged"))[1];
            AssertChange(exited, "segment exited", "time", null);
            Assert.Equal(t1.AddHours(1), exited.GetProperty("at").GetDateTimeOffset());
            Assert.Equal(exited.GetProperty("profileId").GetInt64(), entered.GetProperty("profileId").GetInt64());

            // History: the entry in the first hour's bucket, the exit in the second's.
            var history = await server.GetJsonAsync(
                $"/api/v1/segments/pinged/history?from={Iso(t0)}&to={Iso(t0.AddHours(3))}&interval=PT1H");
            Assert.Equal("PT1H", history.GetProperty("interval").GetString());
            Assert.Equal(t0, history.GetProperty("from").GetDateTimeOffset());
            var buckets = history.GetProperty("buckets").EnumerateArray()
                .Select(b => (b.GetProperty("start").GetDateTimeOffset(), b.GetProperty("entered").GetInt64(), b.GetProperty("exited").GetInt64())).ToList();
            Assert.Equal(new[] { (t0, 1L, 0L), (t0.AddHours(1), 0L, 1L) }, buckets);

            // A later ping starts a new window; a second ping in it pushes the end out.
            clock.Advance(TimeSpan.FromHours(1));
            var t2 = clock.GetUtcNow();
            await SendAsync(server, "/v1/track", """{"userId":"pinger","event":"Ping"}""");
            clock.Advance(TimeSpan.FromMinutes(30));
            await SendAsync(server, "/v1/track", """{"userId":"pinger","event":"Ping"}""");
            clock.Advance(TimeSpan.FromMinutes(30));
            await StaysAsync(() => MemberIdsAsync(server, "pinged"), new[] { "pinger" });
            Assert.Equal(3, (await AllChangesAsync(server, "pinged")).Count);

            // The server stops with the re-check pending; the window ends while it is down; the check fires on start.
            await server.DisposeAsync();
            server = null;
            clock.Advance(TimeSpan.FromHours(2));
            server = await ChudaServer.StartAsync(store, data.Path, time: clock);
            await EventuallyAsync(async () => (await MemberIdsAsync(server, "pinged")).Length == 0, "the exit after a restart");
            var late = (await AllChangesAsync(server, "pinged"))[3];
            AssertChange(late, "segment exited", "time", null);
            Assert.Equal(t2.AddMinutes(30).AddHours(1), late.GetProperty("at").GetDateTimeOffset());
            Assert.Empty(await MemberIdsAsync(server, "pinged"));
        }
        finally
        {
            if (server is not null) await server.DisposeAsync();
        }
    }

    /// <summary>The same through the real clock: a three-second window.</summary>
    [Fact]
    public async Task A_window_segment_exits_by_itself_real_clock()
    {
        await SendAsync(Server, "/v1/identify", """{"userId":"rt"}""");
        await CreateAsync(Server, """{"id":"recent-ping","name":"Pinged in the last 3 s","rule":{"event":"Ping","within":"PT3S"}}""");
        await WaitReadyAsync(Server, "recent-ping");

        await SendAsync(Server, "/v1/track", """{"userId":"rt","event":"Ping"}""");
        Assert.Equal(new[] { "recent-ping" }, await ProfileSegmentIdsAsync(Server, "rt"));
        var timestamp = (await Server.EventsAsync("rt")).Single(e => e.GetProperty("name").GetString() == "Ping").GetProperty("timestamp").GetDateTimeOffset();

        await EventuallyAsync(async () => (await ProfileSegmentIdsAsync(Server, "rt")).Length == 0, "the window exit");
        var changes = await AllChangesAsync(Server, "recent-ping");
        Assert.Equal(2, changes.Count);
        AssertChange(changes[0], "segment entered", "event", "Ping");
        AssertChange(changes[1], "segment exited", "time", null);
        // The exit is recorded at the instant the window ended (stored to the millisecond), not when the check ran.
        var at = changes[1].GetProperty("at").GetDateTimeOffset();
        Assert.InRange(at - timestamp.AddSeconds(3), TimeSpan.FromMilliseconds(-1), TimeSpan.Zero);
    }

    // ---------- history ----------

    [Fact]
    public async Task History_counts_entries_and_exits_and_checks_its_parameters()
    {
        await SendAsync(Server, "/v1/identify", """{"userId":"h-1"}""");
        await SendAsync(Server, "/v1/identify", """{"userId":"h-2"}""");
        await CreateAsync(Server, """{"id":"tagged","name":"Tagged","rule":{"tag":"t"}}""");
        await WaitReadyAsync(Server, "tagged");
        await Server.Admin.PostAsync("/api/v1/profiles/h-1/tags", ChudaServer.Json("""{"tags":["t"]}"""));
        await Server.Admin.PostAsync("/api/v1/profiles/h-2/tags", ChudaServer.Json("""{"tags":["t"]}"""));
        await Server.Admin.DeleteAsync("/api/v1/profiles/h-1/tags?tags=t");

        // Default: the last 7 days in hours, empty buckets left out.
        var history = await Server.GetJsonAsync("/api/v1/segments/tagged/history");
        Assert.Equal("PT1H", history.GetProperty("interval").GetString());
        Assert.Equal(TimeSpan.FromDays(7), history.GetProperty("to").GetDateTimeOffset() - history.GetProperty("from").GetDateTimeOffset());
        var buckets = history.GetProperty("buckets").EnumerateArray().ToList();
        Assert.InRange(buckets.Count, 1, 2); // the three changes are milliseconds apart, maybe across an hour boundary
        Assert.Equal(2, buckets.Sum(b => b.GetProperty("entered").GetInt64()));
        Assert.Equal(1, buckets.Sum(b => b.GetProperty("exited").GetInt64()));
        Assert.All(buckets, b => Assert.True(b.GetProperty("entered").GetInt64() + b.GetProperty("exited").GetInt64() > 0));

        // One bucket covering the changes, with explicit bounds.
        var changes = await AllChangesAsync(Server, "tagged");
        var from = changes[0].GetProperty("at").GetDateTimeOffset().AddMinutes(-1);
        var one = await Server.GetJsonAsync($"/api/v1/segments/tagged/history?from={Iso(from)}&to={Iso(from.AddDays(1))}&interval=P1D");
        Assert.Equal("P1D", one.GetProperty("interval").GetString());
        var day = Assert.Single(one.GetProperty("buckets").EnumerateArray());
        Assert.Equal(from, day.GetProperty("start").GetDateTimeOffset());
        Assert.Equal(2, day.GetProperty("entered").GetInt64());
        Assert.Equal(1, day.GetProperty("exited").GetInt64());
        // A window before the changes has no buckets.
        var before = await Server.GetJsonAsync($"/api/v1/segments/tagged/history?from={Iso(from.AddDays(-2))}&to={Iso(from)}");
        Assert.Empty(before.GetProperty("buckets").EnumerateArray());

        foreach (var interval in new[] { "P1M", "1h", "abc", "PT0S" })
            await AssertProblemAsync(await Server.Admin.GetAsync($"/api/v1/segments/tagged/history?interval={interval}"), HttpStatusCode.BadRequest, "interval");
        // Seven days in seconds is more than 10,000 buckets.
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/segments/tagged/history?interval=PT1S"), HttpStatusCode.BadRequest, "interval");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/segments/tagged/history?from=yesterday"), HttpStatusCode.BadRequest, "from");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/segments/tagged/history?to=soon"), HttpStatusCode.BadRequest, "to");
        await AssertProblemAsync(await Server.Admin.GetAsync(
            $"/api/v1/segments/tagged/history?from={Iso(from)}&to={Iso(from.AddHours(-1))}"), HttpStatusCode.BadRequest, "from");
    }

    // ---------- preview ----------

    [Fact]
    public async Task Preview_counts_exactly_in_a_small_workspace_without_saving()
    {
        for (var i = 0; i < 8; i++)
            await SendAsync(Server, "/v1/identify", $$$"""{"userId":"pv-{{{i}}}","traits":{"age":{{{20 + i * 5}}}}}""");
        const string rule = """{"trait":"age","op":"gte","value":40}""";

        async Task<JsonElement> Preview(string body, string query = "")
        {
            var response = await Server.Admin.PostAsync("/api/v1/segments/preview" + query, ChudaServer.Json(body));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await ChudaServer.ReadJsonAsync(response);
        }

        foreach (var (body, query) in new[] { ($$"""{"rule":{{rule}}}""", ""), ($$"""{"rule":{{rule}},"exact":true}""", ""), ($$"""{"rule":{{rule}}}""", "?exact=true") })
        {
            var preview = await Preview(body, query);
            Assert.False(preview.GetProperty("estimate").GetBoolean());
            Assert.Equal(4, preview.GetProperty("count").GetInt64()); // ages 40, 45, 50, 55
            Assert.Equal(4, preview.GetProperty("low").GetInt64());
            Assert.Equal(4, preview.GetProperty("high").GetInt64());
            Assert.Equal(8, preview.GetProperty("evaluated").GetInt64());
            Assert.Equal(4, preview.GetProperty("matched").GetInt64());
            Assert.Equal(8, preview.GetProperty("total").GetInt64());
            Assert.Equal(new[] { "pv-4", "pv-5", "pv-6", "pv-7" },
                preview.GetProperty("sample").EnumerateArray().Select(m => m.GetProperty("userId").GetString()).Order(StringComparer.Ordinal));
            Assert.True(preview.GetProperty("tookMs").GetDouble() >= 0);
        }

        // member_of works against saved segments.
        await CreateAsync(Server, """{"id":"young","name":"Young","rule":{"trait":"age","op":"lt","value":30}}""");
        await WaitReadyAsync(Server, "young");
        var young = await Preview("""{"rule":{"not":{"member_of":"young"}}}""");
        Assert.Equal(6, young.GetProperty("count").GetInt64());

        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments/preview",
            ChudaServer.Json("""{"rule":{"trait":"age","op":"bigger","value":40}}""")), HttpStatusCode.BadRequest, "rule.op");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments/preview",
            ChudaServer.Json("""{"rule":{"and":[{"tag":"x"},{"member_of":"nope"}]}}""")), HttpStatusCode.BadRequest, "rule.and[1].member_of");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments/preview", ChudaServer.Json("""{}""")), HttpStatusCode.BadRequest, "rule");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments/preview",
            ChudaServer.Json($$"""{"rule":{{rule}},"exact":"yes"}""")), HttpStatusCode.BadRequest, "exact");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments/preview", ChudaServer.Json("""[1]""")), HttpStatusCode.BadRequest, "body");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments/preview?exact=maybe", ChudaServer.Json($$"""{"rule":{{rule}}}""")), HttpStatusCode.BadRequest, "exact");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments/preview",
            ChudaServer.Json($$"""{"rule":{{rule}},"limit":5}""")), HttpStatusCode.BadRequest, "limit");
        // A repeated key is refused, as the rule language refuses one inside a rule (no silent "last one wins").
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments/preview",
            ChudaServer.Json($$"""{"rule":{"tag":"x"},"rule":{{rule}}}""")), HttpStatusCode.BadRequest, "rule");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/segments",
            ChudaServer.Json($$"""{"name":"a","name":"b","rule":{{rule}}}""")), HttpStatusCode.BadRequest, "name");

        // Only 'young' was saved.
        Assert.Equal(new[] { "young" }, (await Server.GetJsonAsync("/api/v1/segments")).GetProperty("segments").EnumerateArray().Select(s => s.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Preview_estimates_from_a_sample_in_a_larger_workspace()
    {
        // One more profile than the preview samples (2,000), so the default preview estimates.
        var batch = string.Join(",", Enumerable.Range(0, 2100).Select(i =>
            $$$"""{"type":"identify","userId":"big-{{{i}}}","traits":{"group":{{{i % 4}}}}}"""));
        await SendAsync(Server, "/v1/batch", $$$"""{"batch":[{{{batch}}}]}""");
        const string rule = """{"rule":{"trait":"group","op":"eq","value":0}}""";

        var estimate = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/segments/preview", ChudaServer.Json(rule)));
        Assert.True(estimate.GetProperty("estimate").GetBoolean());
        Assert.Equal(2100, estimate.GetProperty("total").GetInt64());
        var evaluated = estimate.GetProperty("evaluated").GetInt64();
        Assert.InRange(evaluated, 100, 2000);
        var count = estimate.GetProperty("count").GetInt64();
        Assert.InRange(count, estimate.GetProperty("low").GetInt64(), estimate.GetProperty("high").GetInt64());
        Assert.InRange(count, 375, 675); // 525 exactly; a sample of hundreds cannot be this far off
        Assert.InRange(estimate.GetProperty("sample").GetArrayLength(), 1, 10);

        var exact = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/segments/preview",
            ChudaServer.Json("""{"rule":{"trait":"group","op":"eq","value":0},"exact":true}""")));
        Assert.False(exact.GetProperty("estimate").GetBoolean());
        Assert.Equal(525, exact.GetProperty("count").GetInt64());
        Assert.Equal(2100, exact.GetProperty("evaluated").GetInt64());
        Assert.Equal(10, exact.GetProperty("sample").GetArrayLength());
    }

    // ---------- auth ----------

    [Fact]
    public async Task Segments_need_an_admin_key_of_their_own_workspace()
    {
        await CreateAsync(Server, """{"id":"mine","name":"Mine","rule":{"tag":"x"}}""");
        using var none = Server.Client(null);
        using var writeAsBearer = Server.Client(new AuthenticationHeaderValue("Bearer", ChudaServer.WriteKey));
        using var writeAsBasic = Server.Client(ChudaServer.Basic(ChudaServer.WriteKey));
        using var wrong = Server.Client(new AuthenticationHeaderValue("Bearer", "ak_not_a_key"));
        foreach (var (client, status) in new[]
        {
            (none, HttpStatusCode.Unauthorized), (wrong, HttpStatusCode.Unauthorized), (writeAsBasic, HttpStatusCode.Unauthorized),
            (writeAsBearer, HttpStatusCode.Forbidden),
        })
        {
            await AssertProblemAsync(await client.GetAsync("/api/v1/segments"), status);
            await AssertProblemAsync(await client.GetAsync("/api/v1/segments/mine"), status);
            await AssertProblemAsync(await client.GetAsync("/api/v1/segments/mine/members"), status);
            await AssertProblemAsync(await client.GetAsync("/api/v1/segments/mine/count"), status);
            await AssertProblemAsync(await client.GetAsync("/api/v1/segments/mine/history"), status);
            await AssertProblemAsync(await client.GetAsync("/api/v1/segments/mine/changes"), status);
            await AssertProblemAsync(await client.GetAsync("/api/v1/profiles/someone/segments"), status);
            await AssertProblemAsync(await client.PostAsync("/api/v1/segments", ChudaServer.Json("""{"name":"x","rule":{"tag":"x"}}""")), status);
            await AssertProblemAsync(await client.PostAsync("/api/v1/segments/preview", ChudaServer.Json("""{"rule":{"tag":"x"}}""")), status);
            await AssertProblemAsync(await client.PutAsync("/api/v1/segments/mine", ChudaServer.Json("""{"name":"x","rule":{"tag":"y"}}""")), status);
            await AssertProblemAsync(await client.DeleteAsync("/api/v1/segments/mine"), status);
        }
        var still = await Server.GetJsonAsync("/api/v1/segments/mine");
        Assert.Equal(1, still.GetProperty("version").GetInt32());

        // Another workspace's admin sees none of it, and may use the same id for its own segment.
        var keys = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/workspaces", ChudaServer.Json("""{"name":"shop-b"}""")));
        using var adminB = Server.Client(new AuthenticationHeaderValue("Bearer", keys.GetProperty("adminKey").GetString()!));
        Assert.Empty((await adminB.GetFromJsonAsync<JsonElement>("/api/v1/segments")).GetProperty("segments").EnumerateArray());
        await AssertProblemAsync(await adminB.GetAsync("/api/v1/segments/mine"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await adminB.DeleteAsync("/api/v1/segments/mine"), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.Created, (await adminB.PostAsync("/api/v1/segments", ChudaServer.Json("""{"id":"mine","name":"B's","rule":{"tag":"y"}}"""))).StatusCode);
        Assert.Equal("Mine", (await Server.GetJsonAsync("/api/v1/segments/mine")).GetProperty("name").GetString());
    }

    // ---------- helpers ----------

    private static async Task SendAsync(ChudaServer server, string path, string json)
    {
        var response = await server.PostAsync(path, json);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<JsonElement> CreateAsync(ChudaServer server, string json)
    {
        var response = await server.Admin.PostAsync("/api/v1/segments", ChudaServer.Json(json));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create answered {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await ChudaServer.ReadJsonAsync(response);
    }

    private Task<HttpResponseMessage> PutAsync(string id, string json, string? ifMatch)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/segments/{id}") { Content = ChudaServer.Json(json) };
        if (ifMatch is not null) Assert.True(request.Headers.TryAddWithoutValidation("If-Match", ifMatch));
        return Server.Admin.SendAsync(request);
    }

    /// <summary>Polls the segment until its backfill is done; fails after <see cref="Patience"/>.</summary>
    private static async Task<JsonElement> WaitReadyAsync(ChudaServer server, string id)
    {
        JsonElement segment = default;
        await EventuallyAsync(async () =>
        {
            segment = await server.GetJsonAsync($"/api/v1/segments/{id}");
            return segment.GetProperty("status").GetString() == "ready";
        }, $"segment '{id}' to be ready");
        return segment;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (!await condition())
        {
            if (TimeProvider.System.GetElapsedTime(started) > Patience) Assert.Fail($"Waited {Patience.TotalSeconds} s for {what}.");
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
    }

    /// <summary>Checks that a value stays as expected for a while of real time (background work had its chance).</summary>
    private static async Task StaysAsync(Func<Task<string[]>> read, string[] expected)
    {
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(expected, await read());
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }
    }

    private sealed record Member(string? UserId, long ProfileId);

    private static async Task<List<Member>> AllMembersAsync(ChudaServer server, string id)
    {
        var members = new List<Member>();
        string? after = null;
        do
        {
            var page = await server.GetJsonAsync($"/api/v1/segments/{id}/members?limit=1000" + (after is null ? "" : "&after=" + after));
            members.AddRange(page.GetProperty("members").EnumerateArray().Select(m =>
                new Member(m.GetProperty("userId").GetString(), m.GetProperty("profileId").GetInt64())));
            after = page.GetProperty("next").GetString();
        }
        while (after is not null);
        return members;
    }

    private static async Task<string[]> MemberIdsAsync(ChudaServer server, string id) =>
        [.. (await AllMembersAsync(server, id)).Select(m => m.UserId ?? "(anonymous)").Order(StringComparer.Ordinal)];

    private static async Task<List<JsonElement>> AllChangesAsync(ChudaServer server, string id, long after = 0)
    {
        var changes = new List<JsonElement>();
        while (true)
        {
            var page = await server.GetJsonAsync($"/api/v1/segments/{id}/changes?limit=1000&after={after}");
            var rows = page.GetProperty("changes").EnumerateArray().ToList();
            if (rows.Count == 0) return changes;
            changes.AddRange(rows);
            after = page.GetProperty("next").GetInt64();
        }
    }

    private static async Task<long> LastSeqAsync(ChudaServer server, string id) =>
        (await AllChangesAsync(server, id)).Select(c => c.GetProperty("seq").GetInt64()).DefaultIfEmpty(0).Max();

    private static async Task<string[]> ProfileSegmentIdsAsync(ChudaServer server, string userId) =>
        [.. (await server.GetJsonAsync($"/api/v1/profiles/{userId}/segments")).GetProperty("segments").EnumerateArray().Select(s => s.GetProperty("id").GetString()!)];

    private static void AssertChange(JsonElement change, string type, string cause, string? detail)
    {
        Assert.Equal(type, change.GetProperty("type").GetString());
        Assert.Equal(cause, change.GetProperty("cause").GetString());
        Assert.Equal(detail, change.GetProperty("detail").GetString());
    }

    /// <summary>Asserts an RFC 7807 problem with this status whose <c>errors</c> name exactly these fields; returns its body.</summary>
    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, params string[] fields)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {status}, got {response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        var body = doc.RootElement.Clone();
        if (fields.Length > 0)
        {
            var named = body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).Order(StringComparer.Ordinal).ToList();
            Assert.True(fields.Order(StringComparer.Ordinal).SequenceEqual(named), $"expected fields [{string.Join(", ", fields)}], got [{string.Join(", ", named)}]: {text}");
        }
        return body;
    }

    private static string Messages(JsonElement problem) =>
        string.Join("\n", problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("message").GetString()));

    private static void AssertSameJson(string expected, JsonElement actual)
    {
        using var doc = JsonDocument.Parse(expected);
        Assert.True(JsonElement.DeepEquals(doc.RootElement, actual), $"expected {expected}, got {actual.GetRawText()}");
    }

    private static string Iso(DateTimeOffset instant) => Uri.EscapeDataString(instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
}

public sealed class SqliteSegmentsApiTests : SegmentsApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Sqlite();
}

public sealed class PostgresSegmentsApiTests : SegmentsApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Postgres();
}
