using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Chuda.Server.Tests;

/// <summary>The management API: profiles, tags, traits, erasure, workspaces and keys, on both stores.</summary>
public abstract class ManagementTests : ServerTestBase
{
    [Fact]
    public async Task Management_needs_an_admin_key()
    {
        using var none = Server.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await none.GetAsync("/api/v1/profiles/x")).StatusCode);
        using var write = Server.Client(new AuthenticationHeaderValue("Bearer", ChudaServer.WriteKey));
        Assert.Equal(HttpStatusCode.Forbidden, (await write.GetAsync("/api/v1/profiles/x")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.GetAsync("/api/v1/profiles/x")).StatusCode);
    }

    [Fact]
    public async Task Tags_are_added_and_removed()
    {
        await Server.PostAsync("/v1/identify", """{"userId":"tagged"}""");
        var added = await Server.Admin.PostAsync("/api/v1/profiles/tagged/tags", ChudaServer.Json("""{"tags":["vip","beta","会员"]}"""));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var tags = (await ChudaServer.ReadJsonAsync(added)).GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Equal(["beta", "vip", "会员"], tags);

        var removed = await Server.Admin.DeleteAsync("/api/v1/profiles/tagged/tags?tags=beta");
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        var request = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/profiles/tagged/tags") { Content = ChudaServer.Json("""{"tags":["vip"]}""") };
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.SendAsync(request)).StatusCode);
        var profile = (await Server.ProfileAsync("tagged"))!.Value;
        Assert.Equal(["会员"], profile.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var bad = await Server.Admin.PostAsync("/api/v1/profiles/tagged/tags", ChudaServer.Json("""{"tags":["ok", 5]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("tags[1]", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.PostAsync("/api/v1/profiles/nobody/tags", ChudaServer.Json("""{"tags":["x"]}"""))).StatusCode);
    }

    [Fact]
    public async Task Patch_deep_merges_traits()
    {
        await Server.PostAsync("/v1/identify", """{"userId":"p","traits":{"plan":"free","prefs":{"lang":"zh","sms":true}}}""");
        var response = await Server.Admin.PatchAsync("/api/v1/profiles/p", ChudaServer.Json("""{"traits":{"plan":"pro","prefs":{"sms":null}}}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var traits = (await ChudaServer.ReadJsonAsync(response)).GetProperty("traits");
        Assert.Equal("pro", traits.GetProperty("plan").GetString());
        Assert.Equal("zh", traits.GetProperty("prefs").GetProperty("lang").GetString());
        Assert.False(traits.GetProperty("prefs").TryGetProperty("sms", out _));

        var bad = await Server.Admin.PatchAsync("/api/v1/profiles/p", ChudaServer.Json("""{"traits":"nope"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("traits", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_needs_exactly_one_valid_identity()
    {
        // With no identity at all it is a search (the console's profile list), not a lookup.
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.GetAsync("/api/v1/profiles")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Server.Admin.GetAsync("/api/v1/profiles?email=")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Server.Admin.GetAsync("/api/v1/profiles?email=a%40b.c&phone=1")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Server.Admin.GetAsync("/api/v1/profiles?email=a%40b.c&q=a")).StatusCode);
        var badPhone = await Server.Admin.GetAsync("/api/v1/profiles?phone=abc");
        Assert.Equal(HttpStatusCode.BadRequest, badPhone.StatusCode);
        Assert.Contains("phone", await badPhone.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.GetAsync("/api/v1/profiles?email=nobody%40example.com")).StatusCode);
    }

    [Fact]
    public async Task Erasure_removes_the_person_and_keeps_them_unmarketable()
    {
        await Server.PostAsync("/v1/identify", """{"userId":"gone","anonymousId":"gone-anon","traits":{"email":"Gone@Example.com","phone":"+86 138 0013 8001"}}""");
        await Server.PostAsync("/v1/track", """{"userId":"gone","event":"Viewed","messageId":"gone-m1"}""");
        await Server.PostAsync("/v1/identify", """{"userId":"stays","traits":{"email":"stays@example.com"}}""");

        var erased = await Server.Admin.DeleteAsync("/api/v1/profiles/gone");
        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        var report = await ChudaServer.ReadJsonAsync(erased);
        Assert.Equal(1, report.GetProperty("profiles").GetInt32());
        Assert.Equal(2, report.GetProperty("events").GetInt32());
        Assert.True(report.GetProperty("identities").GetInt32() >= 4);
        Assert.Equal(2, report.GetProperty("suppressions").GetInt32());

        Assert.Null(await Server.ProfileAsync("gone"));
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.GetAsync("/api/v1/profiles?email=gone%40example.com")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.GetAsync("/api/v1/profiles?anonymousId=gone-anon")).StatusCode);
        Assert.NotNull(await Server.ProfileAsync("stays"));
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.DeleteAsync("/api/v1/profiles/gone")).StatusCode);

        // A later import with the same e-mail does not silently make the person marketable again.
        await Server.PostAsync("/v1/identify", """{"userId":"gone-again","traits":{"email":"gone@example.com"}}""");
        Assert.True((await Server.ProfileAsync("gone-again"))!.Value.GetProperty("suppressed").GetBoolean());
        Assert.False((await Server.ProfileAsync("stays"))!.Value.GetProperty("suppressed").GetBoolean());

        // A replay of an erased event is still recognised as a duplicate.
        await Server.PostAsync("/v1/track", """{"userId":"gone-again","event":"Viewed","messageId":"gone-m1"}""");
        Assert.Single(await Server.EventsAsync("gone-again"));
    }

    [Fact]
    public async Task Workspaces_are_isolated_from_each_other()
    {
        var created = await Server.Admin.PostAsync("/api/v1/workspaces", ChudaServer.Json("""{"name":"shop-b"}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var keys = await ChudaServer.ReadJsonAsync(created);
        using var ingestB = Server.Client(ChudaServer.Basic(keys.GetProperty("writeKey").GetString()!));
        using var adminB = Server.Client(new AuthenticationHeaderValue("Bearer", keys.GetProperty("adminKey").GetString()!));

        await Server.PostAsync("/v1/identify", """{"userId":"same","traits":{"ws":"default"},"messageId":"same-msg"}""");
        await Server.PostAsync("/v1/identify", """{"userId":"same","traits":{"ws":"b"},"messageId":"same-msg"}""", ingestB);
        await Server.PostAsync("/v1/identify", """{"userId":"only-b","traits":{"email":"b@example.com"}}""", ingestB);

        Assert.Equal("default", (await Server.ProfileAsync("same"))!.Value.GetProperty("traits").GetProperty("ws").GetString());
        Assert.Equal("b", (await Server.ProfileAsync("same", adminB))!.Value.GetProperty("traits").GetProperty("ws").GetString());
        Assert.Null(await Server.ProfileAsync("only-b"));
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.GetAsync("/api/v1/profiles?email=b%40example.com")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.DeleteAsync("/api/v1/profiles/only-b")).StatusCode);
        Assert.NotNull(await Server.ProfileAsync("only-b", adminB));

        // B's admin is not an instance admin and cannot touch default's keys.
        Assert.Equal(HttpStatusCode.Forbidden, (await adminB.PostAsync("/api/v1/workspaces", ChudaServer.Json("""{"name":"shop-c"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await adminB.PostAsync("/api/v1/workspaces/default/keys/rotate", ChudaServer.Json("""{"kind":"write"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await Server.Admin.PostAsync("/api/v1/workspaces", ChudaServer.Json("""{"name":"shop-b"}"""))).StatusCode);
        var badName = await Server.Admin.PostAsync("/api/v1/workspaces", ChudaServer.Json("""{"name":"Bad Name!"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Contains("name", await badName.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var list = await Server.GetJsonAsync("/api/v1/workspaces");
        Assert.Equal(["default", "shop-b"], list.EnumerateArray().Select(w => w.GetProperty("name").GetString()).Order());
    }

    [Fact]
    public async Task Rotated_keys_replace_the_old_ones()
    {
        var created = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/workspaces", ChudaServer.Json("""{"name":"rot"}""")));
        var oldWrite = created.GetProperty("writeKey").GetString()!;
        using var adminRot = Server.Client(new AuthenticationHeaderValue("Bearer", created.GetProperty("adminKey").GetString()!));

        var rotated = await adminRot.PostAsync("/api/v1/workspaces/rot/keys/rotate", ChudaServer.Json("""{"kind":"write"}"""));
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var newWrite = (await ChudaServer.ReadJsonAsync(rotated)).GetProperty("key").GetString()!;
        Assert.NotEqual(oldWrite, newWrite);

        using var oldClient = Server.Client(ChudaServer.Basic(oldWrite));
        using var newClient = Server.Client(ChudaServer.Basic(newWrite));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.PostAsync("/v1/track", """{"userId":"k","event":"E"}""", oldClient)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/track", """{"userId":"k","event":"E"}""", newClient)).StatusCode);

        var badKind = await adminRot.PostAsync("/api/v1/workspaces/rot/keys/rotate", ChudaServer.Json("""{"kind":"root"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, badKind.StatusCode);
        Assert.Contains("kind", await badKind.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

public sealed class SqliteManagementTests : ManagementTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Sqlite();
}

public sealed class PostgresManagementTests : ManagementTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Postgres();
}
