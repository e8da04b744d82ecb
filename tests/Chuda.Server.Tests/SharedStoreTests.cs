using System.Net;

namespace Chuda.Server.Tests;

/// <summary>
/// Two servers on one store (as when `chuda import` runs beside `chuda serve`): each partition caches committed
/// state, and what the other writer changed must never be lost or applied to the wrong profile.
/// </summary>
public abstract class SharedStoreTests : IAsyncLifetime
{
    private ChudaServer _a = null!;
    private ChudaServer _b = null!;

    protected abstract Task<string?> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        var store = await CreateStoreAsync();
        _a = await ChudaServer.StartAsync(store);
        _b = await ChudaServer.StartAsync(store, _a.DataDirectory);
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
    }

    [Fact]
    public async Task A_profile_changed_by_the_other_writer_is_reloaded_not_overwritten()
    {
        await _a.PostAsync("/v1/identify", """{"userId":"shared-1","traits":{"from_a":1}}""");
        await _b.PostAsync("/v1/identify", """{"userId":"shared-1","traits":{"from_b":2}}""");
        await _a.PostAsync("/v1/identify", """{"userId":"shared-1","traits":{"from_a_again":3}}""");

        var traits = (await _a.ProfileAsync("shared-1"))!.Value.GetProperty("traits");
        Assert.Equal(1, traits.GetProperty("from_a").GetInt32());
        Assert.Equal(2, traits.GetProperty("from_b").GetInt32());
        Assert.Equal(3, traits.GetProperty("from_a_again").GetInt32());
        Assert.Equal(3, (await _a.EventsAsync("shared-1")).Count);
    }

    [Fact]
    public async Task An_identity_whose_profile_the_other_writer_merged_away_follows_the_merge()
    {
        await _a.PostAsync("/v1/track", """{"anonymousId":"visitor-9","event":"Viewed"}""");
        await _b.PostAsync("/v1/identify", """{"userId":"buyer-9"}""");
        await _b.PostAsync("/v1/identify", """{"userId":"buyer-9","anonymousId":"visitor-9"}""");
        await _a.PostAsync("/v1/track", """{"anonymousId":"visitor-9","event":"Viewed Again"}""");

        var names = (await _a.EventsAsync("buyer-9")).Select(e => e.GetProperty("type").GetString() + ":" + e.GetProperty("name").GetString()).ToList();
        Assert.Contains("track:Viewed", names);
        Assert.Contains("track:Viewed Again", names);
        Assert.Equal(4, names.Count);
    }

    [Fact]
    public async Task A_person_the_other_writer_erased_stays_suppressed()
    {
        await _a.PostAsync("/v1/identify", """{"userId":"erased-9","traits":{"email":"erased9@example.com"}}""");
        Assert.Equal(HttpStatusCode.OK, (await _b.Admin.DeleteAsync("/api/v1/profiles/erased-9")).StatusCode);
        await _a.PostAsync("/v1/identify", """{"userId":"back-9","traits":{"email":"erased9@example.com"}}""");

        var back = (await _a.ProfileAsync("back-9"))!.Value;
        Assert.True(back.GetProperty("suppressed").GetBoolean());
        Assert.Equal("back-9", (await _a.GetJsonAsync("/api/v1/profiles?email=erased9%40example.com")).GetProperty("userId").GetString());
        Assert.Null(await _a.ProfileAsync("erased-9"));
    }
}

public sealed class SqliteSharedStoreTests : SharedStoreTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Sqlite();
}

public sealed class PostgresSharedStoreTests : SharedStoreTests
{
    protected override Task<string?> CreateStoreAsync() => Stores.Postgres();
}
