using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Testing;

namespace Chuda.Server.Tests;

/// <summary>
/// The journeys API through a real server: create / read / version / edit with If-Match, definition and publish errors
/// naming the step, publish, the API trigger with Idempotency-Key, approvals with a second admin key, pause / resume /
/// archive, the audit log, the funnel, where a profile is, conversions, send requests, tasks and settings.
/// </summary>
public abstract class JourneysApiTests : ServerTestBase
{
    /// <summary>An API-triggered journey: a send, a day's wait, another send; converting on Order Completed within a day.</summary>
    private const string ApiJourney = """
        {"schema":1,"name":"Onboarding","trigger":{"type":"api"},"goal":{"event":"Order Completed","within":"P1D"},
         "steps":[{"id":"hello","type":"send","template":"hello","channel":"email","next":"wait-1d"},
                  {"id":"wait-1d","type":"wait","duration":"P1D","next":"bye"},
                  {"id":"bye","type":"send","template":"bye","channels":["push","email"]}]}
        """;

    private static string AdminKeyId => KeyId(ChudaServer.AdminKey);

    // ---------- create, read, versions, edit ----------

    [Fact]
    public async Task Journeys_are_created_read_listed_and_edited_into_new_versions_with_if_match()
    {
        var response = await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json($$"""{"id":"onboarding","definition":{{ApiJourney}}}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("/api/v1/journeys/onboarding", response.Headers.Location?.OriginalString);
        var created = await ChudaServer.ReadJsonAsync(response);
        Assert.Equal("onboarding", created.GetProperty("id").GetString());
        Assert.Equal("Onboarding", created.GetProperty("name").GetString());
        Assert.Equal("draft", created.GetProperty("status").GetString());
        Assert.Equal("api", created.GetProperty("trigger").GetString());
        Assert.Equal(1, created.GetProperty("latestVersion").GetInt32());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("liveVersion").ValueKind);
        Assert.Equal(new[] { 1 }, created.GetProperty("versions").EnumerateArray().Select(v => v.GetInt32()));
        AssertSameJson(ApiJourney, created.GetProperty("definition"));
        var revision = created.GetProperty("revision").GetInt64();
        Assert.Equal($"\"{revision}\"", response.Headers.ETag?.Tag);

        // The same id again: 409 naming id. No id: one is generated.
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json($$"""{"id":"onboarding","definition":{{ApiJourney}}}""")),
            HttpStatusCode.Conflict, "id");
        var generated = await CreateAsync(null, ApiJourney);
        var generatedId = generated.GetProperty("id").GetString()!;
        Assert.Matches("^j_[0-9a-f]{12}$", generatedId);
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json($$"""{"id":"Not Valid!","definition":{{ApiJourney}}}""")),
            HttpStatusCode.BadRequest, "id");

        var list = await Server.GetJsonAsync("/api/v1/journeys");
        Assert.Equal(new[] { generatedId, "onboarding" }.Order(StringComparer.Ordinal),
            list.GetProperty("journeys").EnumerateArray().Select(j => j.GetProperty("id").GetString()));

        var get = await Server.Admin.GetAsync("/api/v1/journeys/onboarding");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal($"\"{revision}\"", get.Headers.ETag?.Tag);

        // Edit: a stale If-Match is 412 with the current revision and changes nothing; the right one makes version 2.
        var edited = ApiJourney.Replace("\"Onboarding\"", "\"Onboarding v2\"", StringComparison.Ordinal);
        var stale = await PutAsync("onboarding", edited, $"\"{revision + 5}\"");
        var problem = await AssertProblemAsync(stale, HttpStatusCode.PreconditionFailed, "If-Match");
        Assert.Equal(revision, problem.GetProperty("revision").GetInt64());
        await AssertProblemAsync(await PutAsync("onboarding", edited, "\"abc\""), HttpStatusCode.BadRequest, "If-Match");
        Assert.Equal(1, (await Server.GetJsonAsync("/api/v1/journeys/onboarding")).GetProperty("latestVersion").GetInt32());

        var put = await PutAsync("onboarding", edited, $"\"{revision}\"");
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var v2 = await ChudaServer.ReadJsonAsync(put);
        Assert.Equal(2, v2.GetProperty("latestVersion").GetInt32());
        Assert.Equal("Onboarding v2", v2.GetProperty("name").GetString());
        Assert.Equal(new[] { 1, 2 }, v2.GetProperty("versions").EnumerateArray().Select(v => v.GetInt32()));
        Assert.True(v2.GetProperty("revision").GetInt64() > revision);
        AssertSameJson(edited, v2.GetProperty("definition"));
        // Without If-Match, an edit always applies.
        Assert.Equal(HttpStatusCode.OK, (await PutAsync("onboarding", ApiJourney, null)).StatusCode);

        var versions = await Server.GetJsonAsync("/api/v1/journeys/onboarding/versions");
        var rows = versions.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal(new[] { 1, 2, 3 }, rows.Select(v => v.GetProperty("version").GetInt32()));
        Assert.All(rows, v => Assert.Equal(AdminKeyId, v.GetProperty("createdBy").GetString()));
        var first = await Server.GetJsonAsync("/api/v1/journeys/onboarding/versions/1");
        AssertSameJson(ApiJourney, first.GetProperty("definition"));
        AssertSameJson(edited, (await Server.GetJsonAsync("/api/v1/journeys/onboarding/versions/2")).GetProperty("definition"));
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/journeys/onboarding/versions/9"), HttpStatusCode.NotFound, "version");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/journeys/onboarding/versions/x"), HttpStatusCode.BadRequest, "version");

        foreach (var path in new[] { "", "/versions", "/stats", "/conversions", "/webhooks" })
            await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/journeys/nope" + path), HttpStatusCode.NotFound);
        foreach (var action in new[] { "publish", "pause", "resume", "archive", "approve", "reject", "validate" })
            await AssertProblemAsync(await Server.Admin.PostAsync($"/api/v1/journeys/nope/{action}", null), HttpStatusCode.NotFound);
        await AssertProblemAsync(await PutAsync("nope", ApiJourney, null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Canvas_layout_is_kept_with_the_version_and_checked_against_the_steps()
    {
        await CreateAsync("laid-out", ApiJourney);
        var withLayout = ApiJourney.TrimEnd()[..^1] + ""","layout":{"hello":{"x":40,"y":120.5},"bye":{"x":-80,"y":400}}}""";
        var put = await PutAsync("laid-out", withLayout, null);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var saved = await ChudaServer.ReadJsonAsync(put);
        AssertSameJson(withLayout, saved.GetProperty("definition"));
        var layout = saved.GetProperty("definition").GetProperty("layout");
        Assert.Equal(120.5, layout.GetProperty("hello").GetProperty("y").GetDouble());
        AssertSameJson(withLayout, (await Server.GetJsonAsync("/api/v1/journeys/laid-out")).GetProperty("definition"));
        AssertSameJson(withLayout, (await Server.GetJsonAsync("/api/v1/journeys/laid-out/versions/2")).GetProperty("definition"));

        // A position for a step that does not exist is a 400 naming its path.
        var ghost = ApiJourney.TrimEnd()[..^1] + ""","layout":{"ghost":{"x":1,"y":2}}}""";
        var problem = await AssertProblemAsync(await PutAsync("laid-out", ghost, null), HttpStatusCode.BadRequest);
        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal("$.definition.layout.ghost", error.GetProperty("path").GetString());
        Assert.Equal("unknown_step", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Bad_definitions_are_400_naming_the_field_and_the_step()
    {
        // An unknown step type is refused on save, naming the step by path and id.
        const string unknownType = """{"name":"Bad","trigger":{"type":"api"},"steps":[{"id":"hello","type":"send","template":"t","channel":"email","next":"fly"},{"id":"fly","type":"teleport"}]}""";
        var response = await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json($$"""{"id":"bad","definition":{{unknownType}}}"""));
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "definition.steps[1].type");
        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal("$.definition.steps[1].type", error.GetProperty("path").GetString());
        Assert.Equal("fly", error.GetProperty("step").GetString());
        Assert.Equal("unknown_step_type", error.GetProperty("code").GetString());
        Assert.Contains("teleport", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("step 'fly'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // A send without a template, and an unknown trigger: every fault is listed.
        const string twoFaults = """{"name":"Bad","trigger":{"type":"sometimes"},"steps":[{"id":"s","type":"send","channel":"email","next":"e"},{"id":"e","type":"exit"}]}""";
        problem = await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json($$"""{"definition":{{twoFaults}}}""")),
            HttpStatusCode.BadRequest, "definition.trigger.type", "definition.steps[0].template");
        Assert.Equal(new[] { "missing_template", "unknown_trigger" },
            problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("code").GetString()).Order(StringComparer.Ordinal));

        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json("""{"id":"x"}""")), HttpStatusCode.BadRequest, "definition");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json($$"""{"definition":{{ApiJourney}},"extra":1}""")),
            HttpStatusCode.BadRequest, "extra");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json("""{"definition":""")), HttpStatusCode.BadRequest, "body");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json("[]")), HttpStatusCode.BadRequest, "body");
        Assert.Empty((await Server.GetJsonAsync("/api/v1/journeys")).GetProperty("journeys").EnumerateArray());

        // Graph faults pass save and fail the publish checks: validate reports them, publish refuses with the same errors.
        const string graph = """
            {"name":"Graph","trigger":{"type":"api"},"steps":[
              {"id":"a","type":"update_profile","add_tags":["x"],"next":"b"},
              {"id":"b","type":"update_profile","add_tags":["y"],"next":"a"},
              {"id":"orphan","type":"send","template":"t","channel":"email","next":"nowhere"}]}
            """;
        await CreateAsync("graph", graph);
        var validation = await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/validate", null));
        Assert.False(validation.GetProperty("valid").GetBoolean());
        Assert.Equal(1, validation.GetProperty("version").GetInt32());
        var codes = validation.GetProperty("errors").EnumerateArray()
            .Select(e => $"{e.GetProperty("code").GetString()}@{e.GetProperty("step").GetString()}").Order(StringComparer.Ordinal).ToList();
        Assert.Contains("dangling_edge@orphan", codes);
        Assert.Contains("unreachable@orphan", codes);
        Assert.Contains(codes, c => c is "loop_without_wait@a" or "loop_without_wait@b");
        Assert.All(validation.GetProperty("errors").EnumerateArray(),
            e => Assert.StartsWith("$.definition.steps[", e.GetProperty("path").GetString(), StringComparison.Ordinal));

        problem = await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/publish", null), HttpStatusCode.BadRequest);
        Assert.Equal(codes, problem.GetProperty("errors").EnumerateArray()
            .Select(e => $"{e.GetProperty("code").GetString()}@{e.GetProperty("step").GetString()}").Order(StringComparer.Ordinal));
        Assert.Contains("definition.steps[2]", problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()));
        Assert.Equal("draft", (await Server.GetJsonAsync("/api/v1/journeys/graph")).GetProperty("status").GetString());

        // Fixed in version 2: valid, and version 1 still reports its faults.
        const string fixedGraph = """
            {"name":"Graph","trigger":{"type":"api"},"steps":[
              {"id":"a","type":"update_profile","add_tags":["x"],"next":"wait"},
              {"id":"wait","type":"wait","duration":"PT1H","next":"a"}]}
            """;
        Assert.Equal(HttpStatusCode.OK, (await PutAsync("graph", fixedGraph, null)).StatusCode);
        var ok = await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/validate", null));
        Assert.True(ok.GetProperty("valid").GetBoolean());
        Assert.Equal(2, ok.GetProperty("version").GetInt32());
        Assert.False((await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/validate?version=1", null))).GetProperty("valid").GetBoolean());
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/validate?version=7", null), HttpStatusCode.NotFound, "version");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/validate?version=zero", null), HttpStatusCode.BadRequest, "version");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/publish", ChudaServer.Json("""{"version":1}""")), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/publish", ChudaServer.Json("""{"version":"2"}""")), HttpStatusCode.BadRequest, "version");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/publish", ChudaServer.Json("""{"migrate":1}""")), HttpStatusCode.BadRequest, "migrate");
        var published = await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/graph/publish", ChudaServer.Json("""{"version":2}""")));
        Assert.Equal(2, published.GetProperty("journey").GetProperty("liveVersion").GetInt32());
    }

    // ---------- publish, trigger, where the profile is, stats ----------

    [Fact]
    public async Task Published_api_journey_is_triggered_idempotently_and_shows_where_the_profile_is()
    {
        await IdentifyAsync("u-1", """{"plan":"trial"}""");
        await CreateAsync("onboarding", ApiJourney);

        // A draft takes no entries.
        await AssertProblemAsync(await TriggerAsync("onboarding", """{"userId":"u-1"}""", null), HttpStatusCode.Conflict, "status");

        var publish = await Server.Admin.PostAsync("/api/v1/journeys/onboarding/publish", null);
        var published = await ReadOkAsync(publish);
        Assert.False(published.GetProperty("pendingApproval").GetBoolean());
        Assert.Equal(0, published.GetProperty("migrated").GetInt64());
        Assert.Equal("published", published.GetProperty("journey").GetProperty("status").GetString());
        Assert.Equal(1, published.GetProperty("journey").GetProperty("liveVersion").GetInt32());

        // First call enters; the same key and body replays the same instance; the same key with another body is 422.
        const string body = """{"userId":"u-1","properties":{"source":"crm","score":7}}""";
        var first = await TriggerAsync("onboarding", body, "call-1");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var entered = await ChudaServer.ReadJsonAsync(first);
        Assert.Equal("entered", entered.GetProperty("result").GetString());
        var instanceId = entered.GetProperty("instanceId").GetInt64();

        var again = await TriggerAsync("onboarding", body, "call-1");
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        var replayed = await ChudaServer.ReadJsonAsync(again);
        Assert.Equal("replayed", replayed.GetProperty("result").GetString());
        Assert.Equal(instanceId, replayed.GetProperty("instanceId").GetInt64());

        await AssertProblemAsync(await TriggerAsync("onboarding", """{"userId":"u-1","properties":{"source":"crm","score":8}}""", "call-1"),
            (HttpStatusCode)422, "Idempotency-Key");

        // A new key while the profile is inside: not entered, with the reason (200, not 202).
        var second = await TriggerAsync("onboarding", body, "call-2");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var refused = await ChudaServer.ReadJsonAsync(second);
        Assert.Equal("not_reentrant", refused.GetProperty("result").GetString());
        Assert.False(string.IsNullOrEmpty(refused.GetProperty("reason").GetString()));

        await AssertProblemAsync(await TriggerAsync("onboarding", """{"userId":"nobody"}""", null), HttpStatusCode.NotFound, "userId");
        await AssertProblemAsync(await TriggerAsync("onboarding", """{"properties":{}}""", null), HttpStatusCode.BadRequest, "userId");
        await AssertProblemAsync(await TriggerAsync("onboarding", """{"userId":"u-1","properties":[1]}""", null), HttpStatusCode.BadRequest, "properties");
        await AssertProblemAsync(await TriggerAsync("onboarding", """{"userId":"u-1","extra":true}""", null), HttpStatusCode.BadRequest, "extra");
        await AssertProblemAsync(await TriggerAsync("onboarding", body, new string('k', 300)), HttpStatusCode.BadRequest, "Idempotency-Key");
        await AssertProblemAsync(await TriggerAsync("nope", body, null), HttpStatusCode.NotFound);

        // Where the profile is, and why: at the wait, its timer a day out, the path it took.
        var mine = await Server.GetJsonAsync("/api/v1/profiles/u-1/journeys");
        Assert.Equal("u-1", mine.GetProperty("userId").GetString());
        var inside = Assert.Single(mine.GetProperty("journeys").EnumerateArray());
        Assert.Equal("onboarding", inside.GetProperty("journey").GetString());
        Assert.Equal(instanceId, inside.GetProperty("instanceId").GetInt64());
        Assert.Equal(1, inside.GetProperty("version").GetInt32());
        Assert.Equal("active", inside.GetProperty("status").GetString());
        Assert.Equal("wait-1d", inside.GetProperty("step").GetString());
        Assert.Equal("wait", inside.GetProperty("stepType").GetString());
        Assert.Equal("api", inside.GetProperty("trigger").GetString());
        var enteredAt = inside.GetProperty("enteredAt").GetDateTimeOffset();
        var dueAt = inside.GetProperty("dueAt").GetDateTimeOffset();
        Assert.InRange(dueAt - inside.GetProperty("stepEnteredAt").GetDateTimeOffset(), TimeSpan.FromHours(23), TimeSpan.FromHours(25));
        Assert.Equal(JsonValueKind.Null, inside.GetProperty("endedAt").ValueKind);
        var path = inside.GetProperty("path").EnumerateArray().Select(p => p.GetProperty("step").GetString()).ToList();
        Assert.Contains("hello", path);
        Assert.All(inside.GetProperty("path").EnumerateArray(), p => Assert.True(p.GetProperty("at").GetDateTimeOffset() >= enteredAt));
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/profiles/nobody/journeys"), HttpStatusCode.NotFound);
        Assert.Empty((await Server.GetJsonAsync("/api/v1/profiles/u-1/journeys?limit=1")).GetProperty("journeys").EnumerateArray().Skip(1));

        // The send request it wrote, with everything delivery needs.
        var sends = await Server.GetJsonAsync("/api/v1/send-requests?userId=u-1");
        var send = Assert.Single(sends.GetProperty("sendRequests").EnumerateArray());
        Assert.Equal("onboarding", send.GetProperty("journey").GetString());
        Assert.Equal("u-1", send.GetProperty("userId").GetString());
        Assert.Equal(instanceId, send.GetProperty("instanceId").GetInt64());
        Assert.Equal("hello", send.GetProperty("step").GetString());
        Assert.Equal("hello", send.GetProperty("template").GetString());
        AssertSameJson("""["email"]""", send.GetProperty("channels"));
        Assert.Equal("marketing", send.GetProperty("category").GetString());
        Assert.Equal("pending", send.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(send.GetProperty("idempotencyKey").GetString()));
        Assert.Equal(JsonValueKind.Null, sends.GetProperty("next").ValueKind);
        Assert.Single((await Server.GetJsonAsync("/api/v1/send-requests?journey=onboarding")).GetProperty("sendRequests").EnumerateArray());
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/send-requests?userId=nobody"), HttpStatusCode.NotFound, "userId");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/send-requests?journey=nope"), HttpStatusCode.NotFound, "journey");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/send-requests?limit=0"), HttpStatusCode.BadRequest, "limit");

        // The funnel.
        var stats = await Server.GetJsonAsync("/api/v1/journeys/onboarding/stats");
        Assert.Equal("onboarding", stats.GetProperty("journey").GetString());
        Assert.Equal(1, stats.GetProperty("entered").GetInt64());
        Assert.Equal(1, stats.GetProperty("active").GetInt64());
        Assert.Equal(0, stats.GetProperty("converted").GetInt64());
        var steps = stats.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("step").GetString()!);
        Assert.Equal(1, steps["wait-1d"].GetProperty("waiting").GetInt64());
        Assert.Equal(1, steps["hello"].GetProperty("entered").GetInt64());

        // Meeting the goal converts: the conversion is listed and counted, and the profile's entry ends.
        Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/track", """{"userId":"u-1","event":"Order Completed","properties":{"total":10}}""")).StatusCode);
        var conversions = await Server.GetJsonAsync("/api/v1/journeys/onboarding/conversions");
        var conversion = Assert.Single(conversions.GetProperty("conversions").EnumerateArray());
        Assert.Equal(instanceId, conversion.GetProperty("instanceId").GetInt64());
        Assert.Equal("u-1", conversion.GetProperty("userId").GetString());
        Assert.Equal(1, conversion.GetProperty("version").GetInt32());
        Assert.Equal(1, (await Server.GetJsonAsync("/api/v1/journeys/onboarding/stats")).GetProperty("converted").GetInt64());
        var ended = Assert.Single((await Server.GetJsonAsync("/api/v1/profiles/u-1/journeys")).GetProperty("journeys").EnumerateArray());
        Assert.Equal("converted", ended.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, ended.GetProperty("dueAt").ValueKind);
        Assert.Equal(JsonValueKind.String, ended.GetProperty("endedAt").ValueKind);
        Assert.Empty((await Server.GetJsonAsync("/api/v1/journeys/onboarding/webhooks")).GetProperty("webhooks").EnumerateArray());

        // An entry after the first ended is a new instance.
        var reentry = await ChudaServer.ReadJsonAsync(await TriggerAsync("onboarding", body, "call-3"));
        Assert.Equal("entered", reentry.GetProperty("result").GetString());
        Assert.NotEqual(instanceId, reentry.GetProperty("instanceId").GetInt64());
        Assert.Equal(2, (await Server.GetJsonAsync("/api/v1/profiles/u-1/journeys")).GetProperty("journeys").GetArrayLength());
    }

    [Fact]
    public async Task Pause_resume_and_archive_change_what_the_journey_accepts_and_are_audited()
    {
        await IdentifyAsync("u-2", "{}");
        await CreateAsync("onboarding", ApiJourney);
        await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/publish", ChudaServer.Json("{}")));
        Assert.Equal(HttpStatusCode.Accepted, (await TriggerAsync("onboarding", """{"userId":"u-2"}""", null)).StatusCode);

        var paused = await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/pause", null));
        Assert.Equal("paused", paused.GetProperty("status").GetString());
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/pause", null), HttpStatusCode.Conflict, "status");
        await AssertProblemAsync(await TriggerAsync("onboarding", """{"userId":"u-2"}""", null), HttpStatusCode.Conflict, "status");
        Assert.Equal("active", Assert.Single((await Server.GetJsonAsync("/api/v1/profiles/u-2/journeys")).GetProperty("journeys").EnumerateArray())
            .GetProperty("status").GetString());

        var resumed = await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/resume", null));
        Assert.Equal("published", resumed.GetProperty("status").GetString());
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/resume", null), HttpStatusCode.Conflict, "status");

        var archived = await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/archive", null));
        Assert.Equal("archived", archived.GetProperty("status").GetString());
        // Archived: no entries (409), no edits (409), no publish (409); everyone inside has left.
        await AssertProblemAsync(await TriggerAsync("onboarding", """{"userId":"u-2"}""", "after-archive"), HttpStatusCode.Conflict, "status");
        await AssertProblemAsync(await PutAsync("onboarding", ApiJourney, null), HttpStatusCode.Conflict, "status");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/publish", null), HttpStatusCode.Conflict, "status");
        var left = Assert.Single((await Server.GetJsonAsync("/api/v1/profiles/u-2/journeys")).GetProperty("journeys").EnumerateArray());
        Assert.Equal("exited", left.GetProperty("status").GetString());
        Assert.Equal("archived", left.GetProperty("endReason").GetString());
        var stats = await Server.GetJsonAsync("/api/v1/journeys/onboarding/stats");
        Assert.Equal(0, stats.GetProperty("active").GetInt64());
        Assert.Equal(1, stats.GetProperty("exited").GetInt64());

        // A journey entered by an event cannot be triggered through the API.
        await CreateAsync("by-event", """{"name":"By event","trigger":{"type":"event","event":"Signed Up"},"steps":[{"id":"s","type":"send","template":"t","channel":"email"}]}""");
        await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/by-event/publish", null));
        await AssertProblemAsync(await TriggerAsync("by-event", """{"userId":"u-2"}""", null), HttpStatusCode.Conflict, "status");

        var audit = await AuditAsync();
        var actions = audit.Where(a => a.GetProperty("targetId").GetString() == "onboarding").Select(a => a.GetProperty("action").GetString()).ToList();
        Assert.Equal(new[] { "journey.created", "journey.published", "journey.paused", "journey.resumed", "journey.archived" }, actions);
        Assert.All(audit, a =>
        {
            Assert.Equal(AdminKeyId, a.GetProperty("actor").GetString());
            Assert.Equal("journey", a.GetProperty("targetType").GetString());
        });
        var archive = audit.Single(a => a.GetProperty("action").GetString() == "journey.archived");
        Assert.Equal(1, archive.GetProperty("detail").GetProperty("ended").GetInt64());

        // Paging: after the last seq an empty page answers the same cursor.
        var seqs = audit.Select(a => a.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(seqs.Order(), seqs);
        var page = await Server.GetJsonAsync("/api/v1/audit?limit=2");
        Assert.Equal(2, page.GetProperty("entries").GetArrayLength());
        Assert.Equal(seqs[1], page.GetProperty("next").GetInt64());
        var end = await Server.GetJsonAsync($"/api/v1/audit?after={seqs[^1]}");
        Assert.Empty(end.GetProperty("entries").EnumerateArray());
        Assert.Equal(seqs[^1], end.GetProperty("next").GetInt64());
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/audit?after=x"), HttpStatusCode.BadRequest, "after");
    }

    // ---------- approvals, settings, keys ----------

    [Fact]
    public async Task With_approvals_on_publishing_needs_a_second_admin_key()
    {
        var settings = await Server.GetJsonAsync("/api/v1/settings");
        Assert.False(settings.GetProperty("journeyApprovals").GetBoolean());
        Assert.Equal(JsonValueKind.Null, settings.GetProperty("timeZone").ValueKind);
        var secret = settings.GetProperty("webhookSecret").GetString();
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal(secret, (await Server.GetJsonAsync("/api/v1/settings")).GetProperty("webhookSecret").GetString());

        await AssertProblemAsync(await PatchSettingsAsync("""{"timeZone":"Mars/Olympus_Mons"}"""), HttpStatusCode.BadRequest, "timeZone");
        await AssertProblemAsync(await PatchSettingsAsync("""{"journeyApprovals":"yes"}"""), HttpStatusCode.BadRequest, "journeyApprovals");
        await AssertProblemAsync(await PatchSettingsAsync("""{"approvals":true}"""), HttpStatusCode.BadRequest, "approvals");
        var patched = await ReadOkAsync(await PatchSettingsAsync("""{"timeZone":"Asia/Shanghai","journeyApprovals":true}"""));
        Assert.Equal("Asia/Shanghai", patched.GetProperty("timeZone").GetString());
        Assert.True(patched.GetProperty("journeyApprovals").GetBoolean());
        Assert.Equal(secret, patched.GetProperty("webhookSecret").GetString());
        // Unchanged values are not audited again.
        await ReadOkAsync(await PatchSettingsAsync("""{"journeyApprovals":true}"""));

        await CreateAsync("onboarding", ApiJourney);
        var publish = await Server.Admin.PostAsync("/api/v1/journeys/onboarding/publish", null);
        Assert.Equal(HttpStatusCode.Accepted, publish.StatusCode);
        var pending = await ChudaServer.ReadJsonAsync(publish);
        Assert.True(pending.GetProperty("pendingApproval").GetBoolean());
        Assert.Equal("pending_approval", pending.GetProperty("journey").GetProperty("status").GetString());
        Assert.Equal(1, pending.GetProperty("journey").GetProperty("pendingVersion").GetInt32());
        Assert.Equal(AdminKeyId, pending.GetProperty("journey").GetProperty("pendingBy").GetString());
        Assert.Equal(JsonValueKind.Null, pending.GetProperty("journey").GetProperty("liveVersion").ValueKind);

        // The key that asked cannot approve.
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/approve", null), HttpStatusCode.Forbidden);

        // A second admin key for the same workspace; the first stays valid.
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/workspaces/default/keys", ChudaServer.Json("""{"kind":"root"}""")), HttpStatusCode.BadRequest, "kind");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/workspaces/nope/keys", ChudaServer.Json("""{"kind":"admin"}""")), HttpStatusCode.NotFound);
        var issue = await Server.Admin.PostAsync("/api/v1/workspaces/default/keys", ChudaServer.Json("""{"kind":"admin"}"""));
        Assert.Equal(HttpStatusCode.Created, issue.StatusCode);
        var issued = await ChudaServer.ReadJsonAsync(issue);
        Assert.Equal("default", issued.GetProperty("workspace").GetString());
        Assert.Equal("admin", issued.GetProperty("kind").GetString());
        var secondKey = issued.GetProperty("key").GetString()!;
        Assert.StartsWith("ak_", secondKey, StringComparison.Ordinal);
        Assert.Equal(KeyId(secondKey), issued.GetProperty("keyId").GetString());
        using var second = Server.Client(new AuthenticationHeaderValue("Bearer", secondKey));

        var approve = await second.PostAsync("/api/v1/journeys/onboarding/approve", ChudaServer.Json("""{"migrate":false}"""));
        var approved = await ReadOkAsync(approve);
        Assert.False(approved.GetProperty("pendingApproval").GetBoolean());
        Assert.Equal("published", approved.GetProperty("journey").GetProperty("status").GetString());
        Assert.Equal(1, approved.GetProperty("journey").GetProperty("liveVersion").GetInt32());
        Assert.Equal(JsonValueKind.Null, approved.GetProperty("journey").GetProperty("pendingVersion").ValueKind);
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.GetAsync("/api/v1/journeys/onboarding")).StatusCode);
        await AssertProblemAsync(await second.PostAsync("/api/v1/journeys/onboarding/approve", null), HttpStatusCode.Conflict, "status");

        // A new version waits for approval while version 1 stays live; rejecting drops the request.
        Assert.Equal(HttpStatusCode.OK, (await PutAsync("onboarding", ApiJourney.Replace("\"hello\",\"channel\"", "\"hello-2\",\"channel\"", StringComparison.Ordinal), null)).StatusCode);
        var pending2 = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/publish", null));
        Assert.Equal("published", pending2.GetProperty("journey").GetProperty("status").GetString());
        Assert.Equal(2, pending2.GetProperty("journey").GetProperty("pendingVersion").GetInt32());
        Assert.Equal(1, pending2.GetProperty("journey").GetProperty("liveVersion").GetInt32());
        await AssertProblemAsync(await second.PostAsync("/api/v1/journeys/onboarding/reject", ChudaServer.Json("""{"reason":7}""")), HttpStatusCode.BadRequest, "reason");
        var rejected = await ReadOkAsync(await second.PostAsync("/api/v1/journeys/onboarding/reject", ChudaServer.Json("""{"reason":"copy not final"}""")));
        Assert.Equal("published", rejected.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, rejected.GetProperty("pendingVersion").ValueKind);
        Assert.Equal(1, rejected.GetProperty("liveVersion").GetInt32());
        await AssertProblemAsync(await second.PostAsync("/api/v1/journeys/onboarding/reject", null), HttpStatusCode.Conflict, "status");

        var audit = await AuditAsync();
        string Row(JsonElement a) => $"{a.GetProperty("action").GetString()} {a.GetProperty("targetType").GetString()}:{a.GetProperty("targetId").GetString()} by {a.GetProperty("actor").GetString()}";
        var secondId = KeyId(secondKey);
        Assert.Equal(new[]
        {
            $"settings.changed settings:time_zone by {AdminKeyId}",
            $"settings.changed settings:journeys.approvals by {AdminKeyId}",
            $"journey.created journey:onboarding by {AdminKeyId}",
            $"journey.publish_requested journey:onboarding by {AdminKeyId}",
            $"key.issued api_key:{secondId} by {AdminKeyId}",
            $"journey.approved journey:onboarding by {secondId}",
            $"journey.version_created journey:onboarding by {AdminKeyId}",
            $"journey.publish_requested journey:onboarding by {AdminKeyId}",
            $"journey.rejected journey:onboarding by {secondId}",
        }, audit.Select(Row));
        var zoneChange = audit[0].GetProperty("detail");
        Assert.Equal(JsonValueKind.Null, zoneChange.GetProperty("from").ValueKind);
        Assert.Equal("Asia/Shanghai", zoneChange.GetProperty("to").GetString());
        Assert.Equal("copy not final", audit[^1].GetProperty("detail").GetProperty("reason").GetString());

        // Approvals off again: publishing is immediate; timeZone null goes back to UTC.
        var off = await ReadOkAsync(await PatchSettingsAsync("""{"journeyApprovals":false,"timeZone":null}"""));
        Assert.False(off.GetProperty("journeyApprovals").GetBoolean());
        Assert.Equal(JsonValueKind.Null, off.GetProperty("timeZone").ValueKind);
        var direct = await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/onboarding/publish", null));
        Assert.Equal(2, direct.GetProperty("journey").GetProperty("liveVersion").GetInt32());
    }

    [Fact]
    public async Task Management_calls_need_an_admin_key()
    {
        using var anonymous = Server.Client(null);
        using var writer = Server.Client(new AuthenticationHeaderValue("Bearer", ChudaServer.WriteKey));
        foreach (var path in new[] { "/api/v1/journeys", "/api/v1/tasks", "/api/v1/audit", "/api/v1/settings", "/api/v1/send-requests" })
        {
            await AssertProblemAsync(await anonymous.GetAsync(path), HttpStatusCode.Unauthorized);
            await AssertProblemAsync(await writer.GetAsync(path), HttpStatusCode.Forbidden);
        }
        await AssertProblemAsync(await writer.PostAsync("/api/v1/journeys/x/trigger", ChudaServer.Json("""{"userId":"u"}""")), HttpStatusCode.Forbidden);

        // Another workspace's admin key cannot issue keys for 'default', and sees none of its journeys.
        var created = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/workspaces", ChudaServer.Json("""{"name":"shop-b"}""")));
        using var other = Server.Client(new AuthenticationHeaderValue("Bearer", created.GetProperty("adminKey").GetString()));
        await CreateAsync("onboarding", ApiJourney);
        await AssertProblemAsync(await other.PostAsync("/api/v1/workspaces/default/keys", ChudaServer.Json("""{"kind":"admin"}""")), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await other.GetAsync("/api/v1/journeys/onboarding"), HttpStatusCode.NotFound);
        var own = await other.PostAsync("/api/v1/workspaces/shop-b/keys", ChudaServer.Json("""{"kind":"write"}"""));
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        Assert.StartsWith("wk_", (await ChudaServer.ReadJsonAsync(own)).GetProperty("key").GetString(), StringComparison.Ordinal);
    }

    // ---------- tasks (the B2B lead follow-up sample) ----------

    [Fact]
    public async Task Tasks_from_the_b2b_sample_are_listed_filtered_paged_and_completed()
    {
        await IdentifyAsync("lead-1", """{"owner":"alice@example.com","company":"Acme"}""");
        await IdentifyAsync("lead-2", """{"company":"Globex"}""");
        await CreateAsync("b2b-lead", await File.ReadAllTextAsync(Repository.File("samples/journeys/b2b-lead-follow-up.json")));
        await ReadOkAsync(await Server.Admin.PostAsync("/api/v1/journeys/b2b-lead/publish", null));
        foreach (var lead in new[] { "lead-1", "lead-2" })
            Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/track", $$$"""{"userId":"{{{lead}}}","event":"Form Submitted","properties":{"form":"contact-sales"}}""")).StatusCode);
        // Another form does not pass the trigger's filter.
        await Server.PostAsync("/v1/track", """{"userId":"lead-2","event":"Form Submitted","properties":{"form":"newsletter"}}""");

        var all = (await Server.GetJsonAsync("/api/v1/tasks")).GetProperty("tasks").EnumerateArray().ToList();
        Assert.Equal(2, all.Count);
        var alice = all.Single(t => t.GetProperty("userId").GetString() == "lead-1");
        Assert.Equal("alice@example.com", alice.GetProperty("assignee").GetString());
        Assert.False(alice.GetProperty("fromQueue").GetBoolean());
        Assert.Equal("Call back the new lead", alice.GetProperty("title").GetString());
        Assert.Equal("Submitted the contact-sales form.", alice.GetProperty("note").GetString());
        Assert.Equal("b2b-lead", alice.GetProperty("journey").GetString());
        Assert.Equal("task", alice.GetProperty("step").GetString());
        Assert.Equal("open", alice.GetProperty("status").GetString());
        Assert.InRange(alice.GetProperty("dueAt").GetDateTimeOffset() - alice.GetProperty("createdAt").GetDateTimeOffset(),
            TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var queue = all.Single(t => t.GetProperty("userId").GetString() == "lead-2");
        Assert.Equal("inbound-sales", queue.GetProperty("assignee").GetString());
        Assert.True(queue.GetProperty("fromQueue").GetBoolean());

        // Filters: assignee, due before an instant, status.
        var before = all.Min(t => t.GetProperty("createdAt").GetDateTimeOffset());
        Assert.Equal(new[] { "lead-1" }, await TaskUsersAsync("?assignee=alice%40example.com"));
        Assert.Equal(new[] { "lead-2" }, await TaskUsersAsync("?assignee=inbound-sales"));
        Assert.Empty(await TaskUsersAsync("?assignee=bob"));
        Assert.Equal(2, (await TaskUsersAsync($"?due_before={Iso(before + TimeSpan.FromMinutes(10))}")).Length);
        Assert.Empty(await TaskUsersAsync($"?due_before={Iso(before)}"));
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/tasks?due_before=tomorrow"), HttpStatusCode.BadRequest, "due_before");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/tasks?status=closed"), HttpStatusCode.BadRequest, "status");

        // Paging by (due, id) with an opaque cursor.
        var page1 = await Server.GetJsonAsync("/api/v1/tasks?limit=1");
        var next = page1.GetProperty("next").GetString();
        Assert.NotNull(next);
        var page2 = await Server.GetJsonAsync($"/api/v1/tasks?limit=1&after={Uri.EscapeDataString(next)}");
        Assert.Equal(JsonValueKind.Null, page2.GetProperty("next").ValueKind);
        Assert.Equal(all.Select(t => t.GetProperty("id").GetInt64()),
            page1.GetProperty("tasks").EnumerateArray().Concat(page2.GetProperty("tasks").EnumerateArray()).Select(t => t.GetProperty("id").GetInt64()));
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/tasks?after=nonsense"), HttpStatusCode.BadRequest, "after");

        // Done: 200, then 409; unknown 404.
        var taskId = alice.GetProperty("id").GetInt64();
        var done = await ReadOkAsync(await Server.Admin.PostAsync($"/api/v1/tasks/{taskId}/done", null));
        Assert.Equal("done", done.GetProperty("status").GetString());
        await AssertProblemAsync(await Server.Admin.PostAsync($"/api/v1/tasks/{taskId}/done", null), HttpStatusCode.Conflict, "id");
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/tasks/987654/done", null), HttpStatusCode.NotFound);
        await AssertProblemAsync(await Server.Admin.PostAsync("/api/v1/tasks/abc/done", null), HttpStatusCode.NotFound);
        Assert.Equal(new[] { "lead-1" }, await TaskUsersAsync("?status=done"));
        Assert.Equal(new[] { "lead-2" }, await TaskUsersAsync("?status=open"));
        var doneRow = (await Server.GetJsonAsync("/api/v1/tasks?status=done")).GetProperty("tasks")[0];
        Assert.Equal(JsonValueKind.String, doneRow.GetProperty("doneAt").ValueKind);
        Assert.Contains(await AuditAsync(), a => a.GetProperty("action").GetString() == "task.done"
            && a.GetProperty("targetId").GetString() == taskId.ToString(CultureInfo.InvariantCulture));

        // The acknowledgement e-mails the journey sent next are durable send requests.
        var sends = (await Server.GetJsonAsync("/api/v1/send-requests?journey=b2b-lead")).GetProperty("sendRequests").EnumerateArray().ToList();
        Assert.Equal(new[] { "lead-1", "lead-2" }, sends.Select(s => s.GetProperty("userId").GetString()).Order(StringComparer.Ordinal));
        Assert.All(sends, s =>
        {
            Assert.Equal("we-will-call-you", s.GetProperty("template").GetString());
            Assert.Equal("transactional", s.GetProperty("category").GetString());
        });
        // Both walked to the end: completed, with the path task → ack.
        var walked = Assert.Single((await Server.GetJsonAsync("/api/v1/profiles/lead-1/journeys")).GetProperty("journeys").EnumerateArray());
        Assert.Equal("completed", walked.GetProperty("status").GetString());
        Assert.Equal(new[] { "task", "ack" }, walked.GetProperty("path").EnumerateArray().Select(p => p.GetProperty("step").GetString()).Where(s => s is "task" or "ack"));
        var stats = await Server.GetJsonAsync("/api/v1/journeys/b2b-lead/stats");
        Assert.Equal(2, stats.GetProperty("entered").GetInt64());
        Assert.Equal(2, stats.GetProperty("completed").GetInt64());
    }

    // ---------- helpers ----------

    private async Task<JsonElement> CreateAsync(string? id, string definition)
    {
        var body = id is null ? $$"""{"definition":{{definition}}}""" : $$"""{"id":"{{id}}","definition":{{definition}}}""";
        var response = await Server.Admin.PostAsync("/api/v1/journeys", ChudaServer.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create journey: {response.StatusCode} {text}");
        return await ChudaServer.ReadJsonAsync(response);
    }

    private async Task<HttpResponseMessage> PutAsync(string id, string definition, string? ifMatch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/journeys/{id}") { Content = ChudaServer.Json($$"""{"definition":{{definition}}}""") };
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return await Server.Admin.SendAsync(request);
    }

    private async Task<HttpResponseMessage> TriggerAsync(string id, string body, string? idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/journeys/{id}/trigger") { Content = ChudaServer.Json(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await Server.Admin.SendAsync(request);
    }

    private async Task<HttpResponseMessage> PatchSettingsAsync(string body) =>
        await Server.Admin.PatchAsync("/api/v1/settings", ChudaServer.Json(body));

    private async Task IdentifyAsync(string userId, string traits)
    {
        var response = await Server.PostAsync("/v1/identify", $$"""{"userId":"{{userId}}","traits":{{traits}}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<List<JsonElement>> AuditAsync()
    {
        var entries = new List<JsonElement>();
        long after = 0;
        while (true)
        {
            var page = await Server.GetJsonAsync($"/api/v1/audit?after={after}&limit=3");
            var rows = page.GetProperty("entries").EnumerateArray().ToList();
            if (rows.Count == 0) return entries;
            entries.AddRange(rows);
            after = page.GetProperty("next").GetInt64();
        }
    }

    private async Task<string[]> TaskUsersAsync(string query) =>
        [.. (await Server.GetJsonAsync("/api/v1/tasks" + query)).GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("userId").GetString()!)
            .Order(StringComparer.Ordinal)];

    private static string KeyId(string secret) => "key_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)))[..12];

    private static async Task<JsonElement> ReadOkAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected OK, got {response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
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
            var named = body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).Distinct().Order(StringComparer.Ordinal).ToList();
            Assert.True(fields.Order(StringComparer.Ordinal).SequenceEqual(named), $"expected fields [{string.Join(", ", fields)}], got [{string.Join(", ", named)}]: {text}");
        }
        return body;
    }

    private static void AssertSameJson(string expected, JsonElement actual)
    {
        using var doc = JsonDocument.Parse(expected);
        Assert.True(JsonElement.DeepEquals(doc.RootElement, actual), $"expected {expected}, got {actual.GetRawText()}");
    }

    private static string Iso(DateTimeOffset instant) => Uri.EscapeDataString(instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
}

public sealed class SqliteJourneysApiTests : JourneysApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Sqlite();
}

public sealed class PostgresJourneysApiTests : JourneysApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Postgres();
}
