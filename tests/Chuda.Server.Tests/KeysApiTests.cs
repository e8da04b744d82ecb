using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Xunit;

namespace Chuda.Server.Tests;

/// <summary>Key management: listing a workspace's keys and revoking one, with its guards against lock-out, on both stores.</summary>
public abstract class KeysApiTests : ServerTestBase
{
    private async Task<JsonElement> IssueAsync(string workspace, string kind, HttpClient? admin = null)
    {
        var response = await (admin ?? Server.Admin).PostAsync($"/api/v1/workspaces/{workspace}/keys", ChudaServer.Json($$"""{"kind":"{{kind}}"}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await ChudaServer.ReadJsonAsync(response);
    }

    private async Task<List<JsonElement>> KeysAsync(string workspace, string query = "", HttpClient? admin = null)
    {
        var response = await (admin ?? Server.Admin).GetAsync($"/api/v1/workspaces/{workspace}/keys{query}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await ChudaServer.ReadJsonAsync(response)).GetProperty("keys").EnumerateArray().ToList();
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string contains)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {text}");
        Assert.Contains(contains, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_are_listed_newest_first_without_secrets_and_revoked_ones_can_be_hidden()
    {
        var initial = await KeysAsync("default");
        Assert.Equal(2, initial.Count); // the bootstrap write and admin keys
        Assert.Single(initial, k => k.GetProperty("kind").GetString() == "admin" && k.GetProperty("instanceAdmin").GetBoolean());
        Assert.Single(initial, k => k.GetProperty("kind").GetString() == "write" && !k.GetProperty("instanceAdmin").GetBoolean());

        await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System, CancellationToken.None); // distinct creation times (stored to the millisecond)
        var issued = await IssueAsync("default", "write");
        var keys = await KeysAsync("default");
        Assert.Equal(3, keys.Count);
        var newest = keys[0];
        Assert.Equal(issued.GetProperty("keyId").GetString(), newest.GetProperty("keyId").GetString());
        Assert.Matches("^key_[0-9a-f]{12}$", newest.GetProperty("keyId").GetString()!);
        Assert.Equal("write", newest.GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, newest.GetProperty("revokedAt").ValueKind);
        Assert.True(newest.GetProperty("createdAt").GetDateTimeOffset() >= keys[1].GetProperty("createdAt").GetDateTimeOffset());
        var raw = string.Join(",", keys.Select(k => k.GetRawText()));
        Assert.DoesNotContain(issued.GetProperty("key").GetString()!, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(ChudaServer.AdminKey, raw, StringComparison.Ordinal);
        Assert.Equal(new[] { "createdAt", "instanceAdmin", "keyId", "kind", "revokedAt" }, newest.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        var revoked = await Server.Admin.DeleteAsync($"/api/v1/workspaces/default/keys/{issued.GetProperty("keyId").GetString()}");
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal(3, (await KeysAsync("default")).Count);
        Assert.Equal(3, (await KeysAsync("default", "?revoked=true")).Count);
        var active = await KeysAsync("default", "?revoked=false");
        Assert.Equal(2, active.Count);
        Assert.All(active, k => Assert.Equal(JsonValueKind.Null, k.GetProperty("revokedAt").ValueKind));
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/workspaces/default/keys?revoked=maybe"), HttpStatusCode.BadRequest, "revoked");
        await AssertProblemAsync(await Server.Admin.GetAsync("/api/v1/workspaces/nope/keys"), HttpStatusCode.NotFound, "nope");
    }

    [Fact]
    public async Task Revoking_a_write_key_stops_it_at_once_and_is_audited()
    {
        var issued = await IssueAsync("default", "write");
        var keyId = issued.GetProperty("keyId").GetString()!;
        using var ingest = Server.Client(ChudaServer.Basic(issued.GetProperty("key").GetString()!));
        Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/track", """{"userId":"k1","event":"Before"}""", ingest)).StatusCode);

        var response = await Server.Admin.DeleteAsync($"/api/v1/workspaces/default/keys/{keyId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var view = await ChudaServer.ReadJsonAsync(response);
        Assert.Equal(keyId, view.GetProperty("keyId").GetString());
        Assert.Equal("write", view.GetProperty("kind").GetString());
        var revokedAt = view.GetProperty("revokedAt").GetDateTimeOffset();

        Assert.Equal(HttpStatusCode.Unauthorized, (await Server.PostAsync("/v1/track", """{"userId":"k1","event":"After"}""", ingest)).StatusCode);
        // The other write key still works.
        Assert.Equal(HttpStatusCode.OK, (await Server.PostAsync("/v1/track", """{"userId":"k1","event":"Other"}""")).StatusCode);

        // Revoking again changes nothing and is not audited twice.
        var again = await Server.Admin.DeleteAsync($"/api/v1/workspaces/default/keys/{keyId}");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(revokedAt, (await ChudaServer.ReadJsonAsync(again)).GetProperty("revokedAt").GetDateTimeOffset());

        var audit = (await Server.GetJsonAsync("/api/v1/audit")).GetProperty("entries").EnumerateArray()
            .Where(e => e.GetProperty("action").GetString() == "key.revoked").ToList();
        var entry = Assert.Single(audit);
        Assert.Equal(keyId, entry.GetProperty("targetId").GetString());
        var self = (await KeysAsync("default")).Single(k => k.GetProperty("instanceAdmin").GetBoolean()).GetProperty("keyId").GetString();
        Assert.Equal(self, entry.GetProperty("actor").GetString());

        await AssertProblemAsync(await Server.Admin.DeleteAsync("/api/v1/workspaces/default/keys/key_000000000000"), HttpStatusCode.NotFound, "key_000000000000");
    }

    [Fact]
    public async Task The_own_key_and_the_last_admin_key_cannot_be_revoked()
    {
        var created = await ChudaServer.ReadJsonAsync(await Server.Admin.PostAsync("/api/v1/workspaces", ChudaServer.Json("""{"name":"shop"}""")));
        using var shopAdmin = Server.Client(new AuthenticationHeaderValue("Bearer", created.GetProperty("adminKey").GetString()!));
        var shopAdminId = (await KeysAsync("shop", admin: shopAdmin)).Single(k => k.GetProperty("kind").GetString() == "admin").GetProperty("keyId").GetString();

        // The caller's own key: 409, whatever else exists.
        await AssertProblemAsync(await shopAdmin.DeleteAsync($"/api/v1/workspaces/shop/keys/{shopAdminId}"), HttpStatusCode.Conflict, "signed in with");
        // The instance admin may manage the workspace, but not leave it without an admin key.
        await AssertProblemAsync(await Server.Admin.DeleteAsync($"/api/v1/workspaces/shop/keys/{shopAdminId}"), HttpStatusCode.Conflict, "last active admin key");

        // With a second admin key, one of them can go.
        var second = await IssueAsync("shop", "admin", shopAdmin);
        using var secondAdmin = Server.Client(new AuthenticationHeaderValue("Bearer", second.GetProperty("key").GetString()!));
        Assert.Equal(HttpStatusCode.OK, (await secondAdmin.DeleteAsync($"/api/v1/workspaces/shop/keys/{shopAdminId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await shopAdmin.GetAsync("/api/v1/workspaces/shop/keys")).StatusCode);

        // A workspace admin sees and revokes only its own workspace's keys.
        await AssertProblemAsync(await secondAdmin.GetAsync("/api/v1/workspaces/default/keys"), HttpStatusCode.Forbidden, "own admin key");
        var defaultWrite = (await KeysAsync("default")).Single(k => k.GetProperty("kind").GetString() == "write").GetProperty("keyId").GetString();
        await AssertProblemAsync(await secondAdmin.DeleteAsync($"/api/v1/workspaces/default/keys/{defaultWrite}"), HttpStatusCode.Forbidden, "own admin key");
        // Another workspace's key id is unknown here.
        await AssertProblemAsync(await Server.Admin.DeleteAsync($"/api/v1/workspaces/shop/keys/{defaultWrite}"), HttpStatusCode.NotFound, defaultWrite!);

        // The last instance admin key is kept even when another (non-instance) admin key of default exists.
        var extra = await IssueAsync("default", "admin");
        using var extraAdmin = Server.Client(new AuthenticationHeaderValue("Bearer", extra.GetProperty("key").GetString()!));
        var instanceId = (await KeysAsync("default")).Single(k => k.GetProperty("instanceAdmin").GetBoolean()).GetProperty("keyId").GetString();
        await AssertProblemAsync(await extraAdmin.DeleteAsync($"/api/v1/workspaces/default/keys/{instanceId}"), HttpStatusCode.Conflict, "instance admin");
    }
}

public sealed class SqliteKeysApiTests : KeysApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Sqlite();
}

public sealed class PostgresKeysApiTests : KeysApiTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Postgres();
}
