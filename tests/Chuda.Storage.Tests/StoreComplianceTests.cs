using Chuda.Domain.Profiles;
using Chuda.Domain.Workspaces;
using Xunit;

namespace Chuda.Storage.Tests;

/// <summary>
/// The storage contract, run against every backend. Each test gets a brand-new, migrated store.
/// </summary>
public abstract partial class StoreComplianceTests : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    protected IChudaStore Store { get; private set; } = null!;

    protected CancellationToken Ct => _timeout.Token;

    /// <summary>
    /// Opens a new store instance on this test's database (the same one every call), or, given a name, on another
    /// database of this test that starts empty (the same one for the same name).
    /// </summary>
    protected abstract Task<IChudaStore> OpenStoreAsync(string? otherDatabase = null);

    public virtual async Task InitializeAsync()
    {
        Store = await OpenStoreAsync();
        await Store.MigrateAsync(Ct);
    }

    public virtual async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        _timeout.Dispose();
    }

    // ---- helpers ---------------------------------------------------------------------------------

    protected Task<Workspace> NewWorkspaceAsync(string name = "default") => Store.CreateWorkspaceAsync(name, $"salt-{name}", T0, Ct);

    protected static ProfileRecord Profile(long workspaceId, long id, long version = 1, string traits = "{}", IReadOnlyList<string>? tags = null,
        string? userId = null, DateTimeOffset? lastSeen = null) =>
        new(workspaceId, id, userId, RoutingHash: unchecked((int)(id * 31)), traits, tags ?? [], Timezone: null, Locale: null,
            Suppressed: false, FirstSeen: T0, LastSeen: lastSeen ?? T0, version);

    protected static EventRow Event(long workspaceId, long profileId, string messageId, DateTimeOffset timestamp, string type = "track",
        string? name = "Clicked", string payload = """{"event":"Clicked"}""") =>
        new(workspaceId, profileId, 0, messageId, type, name, timestamp, timestamp.AddSeconds(1), payload);

    protected static IdentityRow Identity(long workspaceId, string kind, string value, long profileId) =>
        new(workspaceId, new IdentityKey(kind, value), profileId, T0);

    protected async Task InTxAsync(Func<IProfileTransaction, Task> work)
    {
        await using var tx = await Store.BeginAsync(Ct);
        await work(tx);
        await tx.CommitAsync(Ct);
    }

    /// <summary>Creates and commits a profile (version 1) with the given identities.</summary>
    protected async Task<ProfileRecord> CreateProfileAsync(long workspaceId, params IdentityKey[] identities)
    {
        ProfileRecord? profile = null;
        await InTxAsync(async tx =>
        {
            var id = await tx.ReserveProfileIdsAsync(1, Ct);
            profile = Profile(workspaceId, id);
            await tx.UpsertProfilesAsync([profile], Ct);
            await tx.PutIdentitiesAsync(identities.Select(k => new IdentityRow(workspaceId, k, id, T0)).ToArray(), Ct);
        });
        return profile!;
    }

    protected async Task AppendAsync(params EventRow[] events) => await InTxAsync(tx => tx.AppendEventsAsync(events, Ct));

    protected static void AssertProfile(ProfileRecord expected, ProfileRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.WorkspaceId, actual.WorkspaceId);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.UserId, actual.UserId);
        Assert.Equal(expected.RoutingHash, actual.RoutingHash);
        Assert.Equal(expected.TraitsJson, actual.TraitsJson);
        Assert.Equal(expected.Tags, actual.Tags);
        Assert.Equal(expected.Timezone, actual.Timezone);
        Assert.Equal(expected.Locale, actual.Locale);
        Assert.Equal(expected.Suppressed, actual.Suppressed);
        Assert.Equal(Truncated(expected.FirstSeen), actual.FirstSeen);
        Assert.Equal(Truncated(expected.LastSeen), actual.LastSeen);
        Assert.Equal(TimeSpan.Zero, actual.FirstSeen.Offset);
        Assert.Equal(expected.Version, actual.Version);
    }

    protected static DateTimeOffset Truncated(DateTimeOffset value) => DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());

    private static IdentityKey Email(string value) => new(IdentityKinds.Email, value);

    private static IdentityKey User(string value) => new(IdentityKinds.UserId, value);

    // ---- migrations ------------------------------------------------------------------------------

    [Fact]
    public async Task Migrations_are_recorded_in_order()
    {
        var applied = await Store.GetAppliedMigrationsAsync(Ct);
        Assert.NotEmpty(applied);
        Assert.Equal(1, applied[0]);
        Assert.Equal(applied.OrderBy(v => v), applied);
        Assert.Equal(applied.Distinct().Count(), applied.Count);
    }

    [Fact]
    public async Task Migrate_is_idempotent_and_keeps_data()
    {
        var before = await Store.GetAppliedMigrationsAsync(Ct);
        var ws = await NewWorkspaceAsync();
        await Store.MigrateAsync(Ct);
        await Store.MigrateAsync(Ct);
        Assert.Equal(before, await Store.GetAppliedMigrationsAsync(Ct));
        Assert.Equal(ws, await Store.FindWorkspaceAsync("default", Ct));
    }

    [Fact]
    public async Task A_fresh_database_has_no_migrations_until_migrated()
    {
        await using var fresh = await OpenStoreAsync("fresh");
        Assert.Empty(await fresh.GetAppliedMigrationsAsync(Ct));
        await fresh.MigrateAsync(Ct);
        Assert.Equal(await Store.GetAppliedMigrationsAsync(Ct), await fresh.GetAppliedMigrationsAsync(Ct));
        await using var second = await OpenStoreAsync("fresh");
        Assert.Equal(await fresh.GetAppliedMigrationsAsync(Ct), await second.GetAppliedMigrationsAsync(Ct));
    }

    [Fact]
    public async Task Several_instances_migrating_a_fresh_database_at_once_are_safe()
    {
        var stores = new List<IChudaStore>();
        try
        {
            for (var i = 0; i < 3; i++) stores.Add(await OpenStoreAsync("race"));
            await Task.WhenAll(stores.Select(s => Task.Run(() => s.MigrateAsync(Ct))));
            var applied = await stores[0].GetAppliedMigrationsAsync(Ct);
            Assert.Equal(await Store.GetAppliedMigrationsAsync(Ct), applied);
            var ws = await stores[1].CreateWorkspaceAsync("after-race", "s", T0, Ct);
            Assert.Equal(ws, await stores[2].FindWorkspaceAsync("after-race", Ct));
        }
        finally
        {
            foreach (var store in stores) await store.DisposeAsync();
        }
    }

    // ---- workspaces and keys ---------------------------------------------------------------------

    [Fact]
    public async Task Workspaces_are_created_found_and_listed()
    {
        var createdAt = T0.AddTicks(1_234_567); // 123.4567 ms: stored to the millisecond
        var a = await Store.CreateWorkspaceAsync("alpha", "salt-a", createdAt, Ct);
        var b = await Store.CreateWorkspaceAsync("beta", "salt-b", createdAt, Ct);

        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal("alpha", a.Name);
        Assert.Equal(Truncated(createdAt), a.CreatedAt);

        var found = await Store.FindWorkspaceAsync("beta", Ct);
        Assert.Equal(b, found);
        Assert.Equal("salt-b", found!.Salt);
        Assert.Equal(a, await Store.GetWorkspaceAsync(a.Id, Ct));
        Assert.Equal([a, b], await Store.ListWorkspacesAsync(Ct));
        Assert.Null(await Store.FindWorkspaceAsync("gamma", Ct));
        Assert.Null(await Store.GetWorkspaceAsync(a.Id + b.Id + 1000, Ct));
    }

    [Fact]
    public async Task A_duplicate_workspace_name_is_rejected()
    {
        var first = await NewWorkspaceAsync("acme");
        await Assert.ThrowsAsync<DuplicateNameException>(() => Store.CreateWorkspaceAsync("acme", "other", T0, Ct));
        Assert.Equal([first], await Store.ListWorkspacesAsync(Ct));
    }

    [Fact]
    public async Task Workspace_timestamps_with_an_offset_round_trip_as_the_same_instant_in_utc()
    {
        var local = new DateTimeOffset(2026, 3, 1, 20, 0, 0, 5, TimeSpan.FromHours(8));
        var ws = await Store.CreateWorkspaceAsync("shanghai", "s", local, Ct);
        var read = await Store.GetWorkspaceAsync(ws.Id, Ct);
        Assert.Equal(local, read!.CreatedAt);
        Assert.Equal(TimeSpan.Zero, read.CreatedAt.Offset);
    }

    [Fact]
    public async Task Api_keys_are_added_found_and_revoked_by_workspace_and_kind()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var write1 = new ApiKeyRecord("h-write-1", a.Id, ApiKeyKind.Write, false, T0, null);
        var write2 = new ApiKeyRecord("h-write-2", a.Id, ApiKeyKind.Write, false, T0.AddMinutes(1), null);
        var admin = new ApiKeyRecord("h-admin", a.Id, ApiKeyKind.Admin, true, T0, null);
        var otherWs = new ApiKeyRecord("h-write-b", b.Id, ApiKeyKind.Write, false, T0, null);
        foreach (var key in new[] { write1, write2, admin, otherWs }) await Store.AddApiKeyAsync(key, Ct);

        Assert.Equal(admin, await Store.FindApiKeyAsync("h-admin", Ct));
        Assert.Equal(write1, await Store.FindApiKeyAsync("h-write-1", Ct));
        Assert.Null(await Store.FindApiKeyAsync("unknown", Ct));

        var revokedAt = T0.AddHours(1);
        Assert.Equal(2, await Store.RevokeApiKeysAsync(a.Id, ApiKeyKind.Write, revokedAt, Ct));
        Assert.Equal(0, await Store.RevokeApiKeysAsync(a.Id, ApiKeyKind.Write, revokedAt.AddHours(1), Ct));

        Assert.Equal(write1 with { RevokedAt = revokedAt }, await Store.FindApiKeyAsync("h-write-1", Ct));
        Assert.Equal(write2 with { RevokedAt = revokedAt }, await Store.FindApiKeyAsync("h-write-2", Ct));
        Assert.Null((await Store.FindApiKeyAsync("h-admin", Ct))!.RevokedAt);
        Assert.Null((await Store.FindApiKeyAsync("h-write-b", Ct))!.RevokedAt);
    }

    [Fact]
    public async Task A_duplicate_api_key_hash_is_rejected()
    {
        var ws = await NewWorkspaceAsync();
        var key = new ApiKeyRecord("same", ws.Id, ApiKeyKind.Write, false, T0, null);
        await Store.AddApiKeyAsync(key, Ct);
        await Assert.ThrowsAsync<DuplicateNameException>(() => Store.AddApiKeyAsync(key with { Kind = ApiKeyKind.Admin }, Ct));
        Assert.Equal(key, await Store.FindApiKeyAsync("same", Ct));
    }

    [Fact]
    public async Task A_revoked_key_can_be_stored_as_such()
    {
        var ws = await NewWorkspaceAsync();
        var key = new ApiKeyRecord("old", ws.Id, ApiKeyKind.Admin, false, T0, T0.AddDays(1));
        await Store.AddApiKeyAsync(key, Ct);
        Assert.Equal(key, await Store.FindApiKeyAsync("old", Ct));
        Assert.Equal(0, await Store.RevokeApiKeysAsync(ws.Id, ApiKeyKind.Admin, T0.AddDays(2), Ct));
    }

    [Fact]
    public async Task Api_keys_of_a_workspace_are_listed_newest_first_with_or_without_revoked_ones()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var oldest = new ApiKeyRecord("h-1", a.Id, ApiKeyKind.Admin, true, T0, null);
        var middle = new ApiKeyRecord("h-2", a.Id, ApiKeyKind.Write, false, T0.AddMinutes(1), T0.AddMinutes(5));
        var newestB = new ApiKeyRecord("h-3b", a.Id, ApiKeyKind.Write, false, T0.AddMinutes(2), null);
        var newestA = new ApiKeyRecord("h-3a", a.Id, ApiKeyKind.Admin, false, T0.AddMinutes(2), null);
        var other = new ApiKeyRecord("h-other", b.Id, ApiKeyKind.Write, false, T0.AddMinutes(3), null);
        foreach (var key in new[] { oldest, middle, newestB, newestA, other }) await Store.AddApiKeyAsync(key, Ct);

        Assert.Equal(new[] { newestA, newestB, middle, oldest }, await Store.ListApiKeysAsync(a.Id, includeRevoked: true, Ct));
        Assert.Equal(new[] { newestA, newestB, oldest }, await Store.ListApiKeysAsync(a.Id, includeRevoked: false, Ct));
        Assert.Equal(new[] { other }, await Store.ListApiKeysAsync(b.Id, includeRevoked: true, Ct));
        Assert.Empty(await Store.ListApiKeysAsync(b.Id + a.Id + 1000, includeRevoked: true, Ct));
    }

    [Fact]
    public async Task One_api_key_is_revoked_by_hash_within_its_workspace_only()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var one = new ApiKeyRecord("h-one", a.Id, ApiKeyKind.Write, false, T0, null);
        var two = new ApiKeyRecord("h-two", a.Id, ApiKeyKind.Write, false, T0, null);
        foreach (var key in new[] { one, two }) await Store.AddApiKeyAsync(key, Ct);

        Assert.False(await Store.RevokeApiKeyAsync(b.Id, "h-one", T0.AddHours(1), Ct)); // another workspace's key
        Assert.False(await Store.RevokeApiKeyAsync(a.Id, "unknown", T0.AddHours(1), Ct));
        Assert.Null((await Store.FindApiKeyAsync("h-one", Ct))!.RevokedAt);

        Assert.True(await Store.RevokeApiKeyAsync(a.Id, "h-one", T0.AddHours(1), Ct));
        Assert.False(await Store.RevokeApiKeyAsync(a.Id, "h-one", T0.AddHours(2), Ct)); // already revoked: time kept
        Assert.Equal(one with { RevokedAt = T0.AddHours(1) }, await Store.FindApiKeyAsync("h-one", Ct));
        Assert.Equal(two, await Store.FindApiKeyAsync("h-two", Ct));
    }

    // ---- transactions ----------------------------------------------------------------------------

    [Fact]
    public async Task Disposing_without_commit_rolls_everything_back()
    {
        var ws = await NewWorkspaceAsync();
        long id;
        await using (var tx = await Store.BeginAsync(Ct))
        {
            id = await tx.ReserveProfileIdsAsync(1, Ct);
            await tx.UpsertProfilesAsync([Profile(ws.Id, id)], Ct);
            await tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.Email, "a@example.com", id)], Ct);
            await tx.AppendEventsAsync([Event(ws.Id, id, "m-1", T0)], Ct);
            await tx.EraseProfileAsync(ws.Id, id + 1000, [new SuppressionRow(ws.Id, IdentityKinds.Email, "h", "erasure", T0)], Ct);
        }

        Assert.Null(await Store.GetProfileAsync(ws.Id, id, Ct));
        Assert.Null(await Store.FindProfileIdAsync(ws.Id, Email("a@example.com"), Ct));
        Assert.Empty(await Store.GetEventsAsync(ws.Id, id, 10, null, Ct));
        Assert.Equal((0L, 0L), await Store.CountAsync(ws.Id, Ct));
        Assert.Equal(0L, await Store.CountProfilesAsync(ws.Id, Ct));
        await using var check = await Store.BeginAsync(Ct);
        Assert.Empty(await check.FindExistingMessageIdsAsync(ws.Id, ["m-1"], Ct));
        Assert.Empty(await check.FindSuppressionsAsync(ws.Id, ["h"], Ct));
    }

    [Fact]
    public async Task Commit_makes_every_write_visible()
    {
        var ws = await NewWorkspaceAsync();
        long id = 0;
        await InTxAsync(async tx =>
        {
            id = await tx.ReserveProfileIdsAsync(1, Ct);
            await tx.UpsertProfilesAsync([Profile(ws.Id, id, userId: "u-1")], Ct);
            await tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.UserId, "u-1", id)], Ct);
            await tx.AppendEventsAsync([Event(ws.Id, id, "m-1", T0)], Ct);
        });

        AssertProfile(Profile(ws.Id, id, userId: "u-1"), await Store.GetProfileAsync(ws.Id, id, Ct));
        Assert.Equal(id, await Store.FindProfileIdAsync(ws.Id, User("u-1"), Ct));
        Assert.Equal([User("u-1")], await Store.GetIdentitiesAsync(ws.Id, id, Ct));
        Assert.Single(await Store.GetEventsAsync(ws.Id, id, 10, null, Ct));
        Assert.Equal((1L, 1L), await Store.CountAsync(ws.Id, Ct));
        Assert.Equal(1L, await Store.CountProfilesAsync(ws.Id, Ct));
    }

    [Fact]
    public async Task Uncommitted_writes_are_invisible_to_readers()
    {
        var ws = await NewWorkspaceAsync();
        await using var tx = await Store.BeginAsync(Ct);
        var id = await tx.ReserveProfileIdsAsync(1, Ct);
        await tx.UpsertProfilesAsync([Profile(ws.Id, id)], Ct);
        await tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.Email, "x@example.com", id)], Ct);

        Assert.Null(await Store.GetProfileAsync(ws.Id, id, Ct));
        Assert.Null(await Store.FindProfileIdAsync(ws.Id, Email("x@example.com"), Ct));

        await tx.CommitAsync(Ct);
        Assert.NotNull(await Store.GetProfileAsync(ws.Id, id, Ct));
    }

    [Fact]
    public async Task A_transaction_reads_its_own_writes()
    {
        var ws = await NewWorkspaceAsync();
        await using var tx = await Store.BeginAsync(Ct);
        var id = await tx.ReserveProfileIdsAsync(1, Ct);
        var profile = Profile(ws.Id, id, traits: """{"plan":"pro"}""");
        await tx.UpsertProfilesAsync([profile], Ct);
        await tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.Email, "own@example.com", id)], Ct);
        await tx.AppendEventsAsync([Event(ws.Id, id, "own-1", T0)], Ct);

        var resolved = await tx.ResolveAsync(ws.Id, [Email("own@example.com"), Email("nobody@example.com")], Ct);
        Assert.Equal(new Dictionary<IdentityKey, long> { [Email("own@example.com")] = id }, resolved);
        var loaded = await tx.LoadProfilesAsync(ws.Id, [id, id + 999], Ct);
        Assert.Equal([id], loaded.Keys);
        AssertProfile(profile, loaded[id]);
        Assert.Equal(["own-1"], await tx.FindExistingMessageIdsAsync(ws.Id, ["own-1", "own-2"], Ct));
    }

    [Fact]
    public async Task A_finished_transaction_cannot_be_used()
    {
        var ws = await NewWorkspaceAsync();
        var tx = await Store.BeginAsync(Ct);
        await tx.CommitAsync(Ct);
        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => tx.AppendEventsAsync([Event(ws.Id, 1, "late", T0)], Ct));
        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => tx.CommitAsync(Ct));
        await tx.DisposeAsync();
        await tx.DisposeAsync(); // disposing twice is harmless

        // and the store still works
        await AppendAsync(Event(ws.Id, 1, "next", T0));
        Assert.Equal((0L, 1L), await Store.CountAsync(ws.Id, Ct));
    }

    [Fact]
    public async Task Empty_batches_are_fine()
    {
        var ws = await NewWorkspaceAsync();
        await InTxAsync(async tx =>
        {
            Assert.Empty(await tx.FindExistingMessageIdsAsync(ws.Id, [], Ct));
            Assert.Empty(await tx.ResolveAsync(ws.Id, [], Ct));
            Assert.Empty(await tx.LoadProfilesAsync(ws.Id, [], Ct));
            Assert.Empty(await tx.FindSuppressionsAsync(ws.Id, [], Ct));
            await tx.UpsertProfilesAsync([], Ct);
            await tx.PutIdentitiesAsync([], Ct);
            await tx.AppendEventsAsync([], Ct);
        });
        Assert.Equal((0L, 0L), await Store.CountAsync(ws.Id, Ct));
    }

    // ---- message ids -----------------------------------------------------------------------------

    [Fact]
    public async Task Stored_message_ids_are_recognised_per_workspace()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        await AppendAsync(Event(a.Id, 1, "m-1", T0), Event(a.Id, 1, "m-2", T0));
        await AppendAsync(Event(b.Id, 2, "m-3", T0));

        await using var tx = await Store.BeginAsync(Ct);
        var inA = await tx.FindExistingMessageIdsAsync(a.Id, ["m-1", "m-2", "m-3", "m-4"], Ct);
        Assert.Equal(new HashSet<string> { "m-1", "m-2" }, inA.ToHashSet());
        var inB = await tx.FindExistingMessageIdsAsync(b.Id, ["m-1", "m-2", "m-3"], Ct);
        Assert.Equal(new HashSet<string> { "m-3" }, inB.ToHashSet());
    }

    [Fact]
    public async Task The_same_message_id_in_two_workspaces_does_not_collide()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        await AppendAsync(Event(a.Id, 1, "shared", T0));
        await AppendAsync(Event(b.Id, 2, "shared", T0)); // no unique violation across workspaces
        Assert.Equal((0L, 1L), await Store.CountAsync(a.Id, Ct));
        Assert.Equal((0L, 1L), await Store.CountAsync(b.Id, Ct));
    }

    [Fact]
    public async Task Message_ids_are_case_sensitive_and_exact()
    {
        var ws = await NewWorkspaceAsync();
        await AppendAsync(Event(ws.Id, 1, "Msg-A", T0));
        await using var tx = await Store.BeginAsync(Ct);
        Assert.Equal(["Msg-A"], await tx.FindExistingMessageIdsAsync(ws.Id, ["msg-a", "Msg-A", "Msg-A ", "Msg-"], Ct));
    }

    [Fact]
    public async Task Appending_a_known_message_id_again_keeps_both_events_and_one_id()
    {
        // De-duplication is the caller's decision (FindExistingMessageIdsAsync first); the store does not fail on a repeat.
        var ws = await NewWorkspaceAsync();
        await AppendAsync(Event(ws.Id, 1, "dup", T0));
        await AppendAsync(Event(ws.Id, 1, "dup", T0.AddSeconds(1)), Event(ws.Id, 1, "dup", T0.AddSeconds(2)));
        Assert.Equal((0L, 3L), await Store.CountAsync(ws.Id, Ct));
        await using var tx = await Store.BeginAsync(Ct);
        Assert.Equal(["dup"], await tx.FindExistingMessageIdsAsync(ws.Id, ["dup", "dup"], Ct));
    }

    // ---- profiles --------------------------------------------------------------------------------

    [Fact]
    public async Task Profiles_are_inserted_and_updated_with_versions()
    {
        var ws = await NewWorkspaceAsync();
        var v1 = await CreateProfileAsync(ws.Id);
        var v2 = v1 with
        {
            UserId = "user-7",
            TraitsJson = """{"name":"Ada","plan":{"tier":"pro"}}""",
            Tags = ["a", "b"],
            Timezone = "Asia/Shanghai",
            Locale = "zh-CN",
            Suppressed = true,
            LastSeen = T0.AddDays(3).AddTicks(9_999),
            Version = 2,
        };
        await InTxAsync(tx => tx.UpsertProfilesAsync([v2], Ct));
        AssertProfile(v2, await Store.GetProfileAsync(ws.Id, v1.Id, Ct));

        var v3 = v2 with { Tags = [], UserId = null, Timezone = null, Locale = null, Suppressed = false, Version = 3 };
        await InTxAsync(tx => tx.UpsertProfilesAsync([v3], Ct));
        AssertProfile(v3, await Store.GetProfileAsync(ws.Id, v1.Id, Ct));
    }

    [Fact]
    public async Task Several_profiles_are_written_in_one_batch()
    {
        var ws = await NewWorkspaceAsync();
        var existing = await CreateProfileAsync(ws.Id);
        long first = 0;
        await InTxAsync(async tx =>
        {
            first = await tx.ReserveProfileIdsAsync(3, Ct);
            await tx.UpsertProfilesAsync(
            [
                Profile(ws.Id, first), Profile(ws.Id, first + 1, tags: ["x"]), Profile(ws.Id, first + 2),
                existing with { TraitsJson = """{"n":1}""", Version = 2 },
            ], Ct);
        });
        Assert.Equal((4L, 0L), await Store.CountAsync(ws.Id, Ct));
        Assert.Equal(["x"], (await Store.GetProfileAsync(ws.Id, first + 1, Ct))!.Tags);
        Assert.Equal(2, (await Store.GetProfileAsync(ws.Id, existing.Id, Ct))!.Version);
    }

    [Fact]
    public async Task Inserting_an_existing_profile_is_a_conflict()
    {
        var ws = await NewWorkspaceAsync();
        var p = await CreateProfileAsync(ws.Id);
        await using var tx = await Store.BeginAsync(Ct);
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.UpsertProfilesAsync([p with { TraitsJson = """{"x":1}""" }], Ct));
    }

    [Fact]
    public async Task A_stale_or_skipping_version_is_a_conflict()
    {
        var ws = await NewWorkspaceAsync();
        var v1 = await CreateProfileAsync(ws.Id);
        await InTxAsync(tx => tx.UpsertProfilesAsync([v1 with { Version = 2, TraitsJson = """{"w":"first"}""" }], Ct));

        await using (var tx = await Store.BeginAsync(Ct))
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.UpsertProfilesAsync([v1 with { Version = 2 }], Ct));
        await using (var tx = await Store.BeginAsync(Ct))
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.UpsertProfilesAsync([v1 with { Version = 4 }], Ct));

        var stored = await Store.GetProfileAsync(ws.Id, v1.Id, Ct);
        Assert.Equal(2, stored!.Version);
        Assert.Equal("""{"w":"first"}""", stored.TraitsJson);
    }

    [Fact]
    public async Task Updating_a_profile_that_does_not_exist_is_a_conflict()
    {
        var ws = await NewWorkspaceAsync();
        var p = await CreateProfileAsync(ws.Id);
        await InTxAsync(tx => tx.EraseProfileAsync(ws.Id, p.Id, [], Ct));
        await using var tx = await Store.BeginAsync(Ct);
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.UpsertProfilesAsync([p with { Version = 2 }], Ct));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.UpsertProfilesAsync([Profile(ws.Id, p.Id + 12345, version: 2)], Ct));
    }

    [Fact]
    public async Task A_conflict_rolls_back_the_whole_batch_when_disposed()
    {
        var ws = await NewWorkspaceAsync();
        var p = await CreateProfileAsync(ws.Id);
        long fresh;
        await using (var tx = await Store.BeginAsync(Ct))
        {
            fresh = await tx.ReserveProfileIdsAsync(1, Ct);
            await tx.UpsertProfilesAsync([Profile(ws.Id, fresh)], Ct);
            await tx.AppendEventsAsync([Event(ws.Id, fresh, "lost", T0)], Ct);
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.UpsertProfilesAsync([p with { Version = 3 }], Ct));
        }
        Assert.Null(await Store.GetProfileAsync(ws.Id, fresh, Ct));
        Assert.Equal((1L, 0L), await Store.CountAsync(ws.Id, Ct));
    }

    [Fact]
    public async Task An_invalid_upsert_is_rejected()
    {
        var ws = await NewWorkspaceAsync();
        await using var tx = await Store.BeginAsync(Ct);
        var id = await tx.ReserveProfileIdsAsync(1, Ct);
        await Assert.ThrowsAsync<ArgumentException>(() => tx.UpsertProfilesAsync([Profile(ws.Id, id, version: 0)], Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => tx.UpsertProfilesAsync([Profile(ws.Id, id), Profile(ws.Id, id)], Ct));
    }

    [Fact]
    public async Task Profiles_of_another_workspace_are_not_loaded()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var p = await CreateProfileAsync(a.Id);
        Assert.Null(await Store.GetProfileAsync(b.Id, p.Id, Ct));
        await using var tx = await Store.BeginAsync(Ct);
        Assert.Empty(await tx.LoadProfilesAsync(b.Id, [p.Id], Ct));
        Assert.Single(await tx.LoadProfilesAsync(a.Id, [p.Id, p.Id], Ct));
    }

    // ---- profile ids -----------------------------------------------------------------------------

    [Fact]
    public async Task Reserved_profile_ids_are_unique_and_increasing_even_across_rollbacks()
    {
        var ranges = new List<(long First, int Count)>();
        async Task ReserveAsync(int count, bool commit)
        {
            await using var tx = await Store.BeginAsync(Ct);
            ranges.Add((await tx.ReserveProfileIdsAsync(count, Ct), count));
            if (commit) await tx.CommitAsync(Ct);
        }

        await ReserveAsync(1, commit: false);
        await ReserveAsync(3, commit: true);
        await ReserveAsync(5_000, commit: false); // more than any pre-allocated block
        await ReserveAsync(1, commit: false);
        await ReserveAsync(2, commit: true);
        await using (var tx = await Store.BeginAsync(Ct))
        {
            ranges.Add((await tx.ReserveProfileIdsAsync(2, Ct), 2));
            ranges.Add((await tx.ReserveProfileIdsAsync(7, Ct), 7));
        }

        Assert.All(ranges, r => Assert.True(r.First > 0));
        for (var i = 1; i < ranges.Count; i++)
            Assert.True(ranges[i].First >= ranges[i - 1].First + ranges[i - 1].Count, $"range {i} overlaps or goes back: {string.Join(", ", ranges)}");
    }

    [Fact]
    public async Task Reserved_profile_ids_are_not_reused_after_a_restart()
    {
        long last;
        await using (var tx = await Store.BeginAsync(Ct))
        {
            last = await tx.ReserveProfileIdsAsync(10, Ct) + 9;
        }
        await Store.DisposeAsync();
        Store = await OpenStoreAsync();
        await Store.MigrateAsync(Ct);
        await using var again = await Store.BeginAsync(Ct);
        Assert.True(await again.ReserveProfileIdsAsync(1, Ct) > last);
    }

    [Fact]
    public async Task Two_store_instances_never_hand_out_the_same_id()
    {
        await using var other = await OpenStoreAsync();
        var seen = new HashSet<long>();
        for (var round = 0; round < 3; round++)
        {
            foreach (var store in new[] { Store, other })
            {
                await using var tx = await store.BeginAsync(Ct);
                var first = await tx.ReserveProfileIdsAsync(700, Ct);
                for (var i = 0; i < 700; i++) Assert.True(seen.Add(first + i), $"id {first + i} handed out twice");
                await tx.CommitAsync(Ct);
            }
        }
    }

    [Fact]
    public async Task Reserving_no_ids_is_rejected()
    {
        await using var tx = await Store.BeginAsync(Ct);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => tx.ReserveProfileIdsAsync(0, Ct));
    }

    // ---- identities ------------------------------------------------------------------------------

    [Fact]
    public async Task Identities_are_listed_by_kind_then_value()
    {
        var ws = await NewWorkspaceAsync();
        var p = await CreateProfileAsync(ws.Id,
            new IdentityKey(IdentityKinds.UserId, "u1"), Email("b@example.com"), Email("a@example.com"),
            new IdentityKey(IdentityKinds.AnonymousId, "anon-2"), new IdentityKey("push:ios", "tok"), Email("Z@example.com"));
        Assert.Equal(
            [
                new IdentityKey(IdentityKinds.AnonymousId, "anon-2"), Email("Z@example.com"), Email("a@example.com"),
                Email("b@example.com"), new IdentityKey("push:ios", "tok"), new IdentityKey(IdentityKinds.UserId, "u1"),
            ],
            await Store.GetIdentitiesAsync(ws.Id, p.Id, Ct));
    }

    [Fact]
    public async Task Putting_an_identity_moves_it_to_the_new_profile()
    {
        var ws = await NewWorkspaceAsync();
        var a = await CreateProfileAsync(ws.Id, Email("shared@example.com"), User("a"));
        var b = await CreateProfileAsync(ws.Id, User("b"));

        await InTxAsync(tx => tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.Email, "shared@example.com", b.Id)], Ct));

        Assert.Equal(b.Id, await Store.FindProfileIdAsync(ws.Id, Email("shared@example.com"), Ct));
        Assert.Equal([User("a")], await Store.GetIdentitiesAsync(ws.Id, a.Id, Ct));
        Assert.Equal([Email("shared@example.com"), User("b")], await Store.GetIdentitiesAsync(ws.Id, b.Id, Ct));
    }

    [Fact]
    public async Task Putting_the_same_identity_twice_is_idempotent_and_the_last_one_wins()
    {
        var ws = await NewWorkspaceAsync();
        var a = await CreateProfileAsync(ws.Id);
        var b = await CreateProfileAsync(ws.Id);
        await InTxAsync(tx => tx.PutIdentitiesAsync(
            [Identity(ws.Id, IdentityKinds.Phone, "+8613800138000", a.Id), Identity(ws.Id, IdentityKinds.Phone, "+8613800138000", b.Id)], Ct));
        await InTxAsync(tx => tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.Phone, "+8613800138000", b.Id)], Ct));
        Assert.Equal(b.Id, await Store.FindProfileIdAsync(ws.Id, new IdentityKey(IdentityKinds.Phone, "+8613800138000"), Ct));
        Assert.Empty(await Store.GetIdentitiesAsync(ws.Id, a.Id, Ct));
    }

    [Fact]
    public async Task A_claim_inserts_a_new_identity_and_never_takes_one_from_another_profile()
    {
        var ws = await NewWorkspaceAsync();
        var a = await CreateProfileAsync(ws.Id, Email("owned@example.com"));
        var b = await CreateProfileAsync(ws.Id);

        await InTxAsync(tx => tx.PutIdentitiesAsync(
            [Identity(ws.Id, IdentityKinds.Email, "new@example.com", b.Id) with { Claim = true },
             Identity(ws.Id, IdentityKinds.Email, "owned@example.com", a.Id) with { Claim = true }], Ct));
        Assert.Equal(b.Id, await Store.FindProfileIdAsync(ws.Id, Email("new@example.com"), Ct));

        await using (var tx = await Store.BeginAsync(Ct))
        {
            await tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.Phone, "+8613800138009", b.Id) with { Claim = true }], Ct);
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
                tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.Email, "owned@example.com", b.Id) with { Claim = true }], Ct));
        }
        Assert.Equal(a.Id, await Store.FindProfileIdAsync(ws.Id, Email("owned@example.com"), Ct));
        Assert.Null(await Store.FindProfileIdAsync(ws.Id, new IdentityKey(IdentityKinds.Phone, "+8613800138009"), Ct));
    }

    [Fact]
    public async Task Of_two_concurrent_claims_of_one_identity_exactly_one_wins()
    {
        var ws = await NewWorkspaceAsync();
        var a = await CreateProfileAsync(ws.Id);
        var b = await CreateProfileAsync(ws.Id);
        var key = new IdentityKey(IdentityKinds.AnonymousId, "raced");

        var first = await Store.BeginAsync(Ct);
        await first.PutIdentitiesAsync([new IdentityRow(ws.Id, key, a.Id, T0, Claim: true)], Ct);
        var second = Task.Run(async () =>
        {
            await using var tx = await Store.BeginAsync(Ct); // SQLite: waits for the writer; PostgreSQL: runs concurrently
            await tx.PutIdentitiesAsync([new IdentityRow(ws.Id, key, b.Id, T0, Claim: true)], Ct);
            await tx.CommitAsync(Ct);
        });
        await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System); // let the second one block on the first
        await first.CommitAsync(Ct);
        await first.DisposeAsync();

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => second);
        Assert.Equal(a.Id, await Store.FindProfileIdAsync(ws.Id, key, Ct));
    }

    [Fact]
    public async Task Identity_values_are_exact_and_kinds_are_distinct()
    {
        var ws = await NewWorkspaceAsync();
        var a = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.UserId, "42"));
        var b = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.AnonymousId, "42"));
        Assert.Equal(a.Id, await Store.FindProfileIdAsync(ws.Id, User("42"), Ct));
        Assert.Equal(b.Id, await Store.FindProfileIdAsync(ws.Id, new IdentityKey(IdentityKinds.AnonymousId, "42"), Ct));
        Assert.Null(await Store.FindProfileIdAsync(ws.Id, User("42 "), Ct));
    }

    // ---- merge -----------------------------------------------------------------------------------

    [Fact]
    public async Task Merging_moves_identities_and_events_and_deletes_the_source()
    {
        var ws = await NewWorkspaceAsync();
        var survivor = await CreateProfileAsync(ws.Id, User("known"));
        var merged = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.AnonymousId, "anon"), Email("m@example.com"));
        await AppendAsync(Event(ws.Id, survivor.Id, "s-1", T0.AddMinutes(1)), Event(ws.Id, merged.Id, "m-1", T0.AddMinutes(2)),
            Event(ws.Id, merged.Id, "m-2", T0));

        await InTxAsync(async tx =>
        {
            await tx.MergeProfilesAsync(ws.Id, merged.Id, merged.Version, survivor.Id, Ct);
            await tx.UpsertProfilesAsync([survivor with { Version = 2, TraitsJson = """{"merged":true}""" }], Ct);
        });

        Assert.Null(await Store.GetProfileAsync(ws.Id, merged.Id, Ct));
        Assert.Equal(2, (await Store.GetProfileAsync(ws.Id, survivor.Id, Ct))!.Version);
        Assert.Equal(
            [new IdentityKey(IdentityKinds.AnonymousId, "anon"), Email("m@example.com"), User("known")],
            await Store.GetIdentitiesAsync(ws.Id, survivor.Id, Ct));
        Assert.Empty(await Store.GetIdentitiesAsync(ws.Id, merged.Id, Ct));
        Assert.Equal(survivor.Id, await Store.FindProfileIdAsync(ws.Id, Email("m@example.com"), Ct));
        Assert.Equal(["m-1", "s-1", "m-2"], (await Store.GetEventsAsync(ws.Id, survivor.Id, 10, null, Ct)).Select(e => e.MessageId));
        Assert.Empty(await Store.GetEventsAsync(ws.Id, merged.Id, 10, null, Ct));
        Assert.Equal((1L, 3L), await Store.CountAsync(ws.Id, Ct));
    }

    [Fact]
    public async Task Merging_a_changed_or_missing_profile_is_a_conflict()
    {
        var ws = await NewWorkspaceAsync();
        var survivor = await CreateProfileAsync(ws.Id);
        var merged = await CreateProfileAsync(ws.Id, Email("x@example.com"));
        await InTxAsync(tx => tx.UpsertProfilesAsync([merged with { Version = 2 }], Ct));

        await using (var tx = await Store.BeginAsync(Ct))
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.MergeProfilesAsync(ws.Id, merged.Id, 1, survivor.Id, Ct));
        await using (var tx = await Store.BeginAsync(Ct))
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.MergeProfilesAsync(ws.Id, merged.Id + 5000, 1, survivor.Id, Ct));
        var other = await Store.CreateWorkspaceAsync("other", "s", T0, Ct);
        await using (var tx = await Store.BeginAsync(Ct)) // right id and version, wrong workspace
        {
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.MergeProfilesAsync(other.Id, merged.Id, 2, survivor.Id, Ct));
        }

        Assert.NotNull(await Store.GetProfileAsync(ws.Id, merged.Id, Ct));
        Assert.Equal(merged.Id, await Store.FindProfileIdAsync(ws.Id, Email("x@example.com"), Ct));
    }

    [Fact]
    public async Task Merging_a_profile_into_itself_is_rejected()
    {
        var ws = await NewWorkspaceAsync();
        var p = await CreateProfileAsync(ws.Id);
        await using var tx = await Store.BeginAsync(Ct);
        await Assert.ThrowsAsync<ArgumentException>(() => tx.MergeProfilesAsync(ws.Id, p.Id, 1, p.Id, Ct));
    }

    // ---- events ----------------------------------------------------------------------------------

    [Fact]
    public async Task Events_round_trip_every_field()
    {
        var ws = await NewWorkspaceAsync();
        var payload = """{"type":"page", "properties": {"path":"/pricing"},  "n": 1.50}""";
        var e = new EventRow(ws.Id, 7, 0, "msg-rt", "page", null, T0.AddTicks(12_345_678), T0.AddSeconds(2).AddTicks(1), payload);
        await AppendAsync(e);
        var read = Assert.Single(await Store.GetEventsAsync(ws.Id, 7, 10, null, Ct));
        Assert.True(read.Seq > 0);
        Assert.Equal(ws.Id, read.WorkspaceId);
        Assert.Equal(7, read.ProfileId);
        Assert.Equal("msg-rt", read.MessageId);
        Assert.Equal("page", read.Type);
        Assert.Null(read.Name);
        Assert.Equal(Truncated(e.Timestamp), read.Timestamp);
        Assert.Equal(Truncated(e.ReceivedAt), read.ReceivedAt);
        Assert.Equal(TimeSpan.Zero, read.Timestamp.Offset);
        Assert.Equal(payload, read.PayloadJson);
    }

    [Fact]
    public async Task Seq_follows_the_append_order()
    {
        var ws = await NewWorkspaceAsync();
        await AppendAsync(Event(ws.Id, 1, "a", T0), Event(ws.Id, 1, "b", T0), Event(ws.Id, 1, "c", T0));
        await AppendAsync(Event(ws.Id, 1, "d", T0));
        var events = await Store.GetEventsAsync(ws.Id, 1, 10, null, Ct);
        Assert.Equal(["d", "c", "b", "a"], events.Select(e => e.MessageId));
        Assert.True(events.Zip(events.Skip(1)).All(pair => pair.First.Seq > pair.Second.Seq));
    }

    [Fact]
    public async Task Events_are_paged_newest_first_with_a_cursor_and_equal_timestamps()
    {
        var ws = await NewWorkspaceAsync();
        var otherProfile = 99L;
        await AppendAsync(
            Event(ws.Id, 1, "e1", T0),
            Event(ws.Id, 1, "e2", T0.AddSeconds(5)),
            Event(ws.Id, 1, "e3", T0.AddSeconds(5)),
            Event(ws.Id, otherProfile, "x1", T0.AddSeconds(5)),
            Event(ws.Id, 1, "e4", T0.AddSeconds(5)),
            Event(ws.Id, 1, "e5", T0.AddSeconds(-3)), // arrived late: older timestamp, newer seq
            Event(ws.Id, 1, "e6", T0.AddSeconds(9)));
        await AppendAsync(Event(ws.Id, 1, "e7", T0.AddSeconds(5)));

        string[] expected = ["e6", "e7", "e4", "e3", "e2", "e1", "e5"];
        Assert.Equal(expected, (await Store.GetEventsAsync(ws.Id, 1, 100, null, Ct)).Select(e => e.MessageId));

        foreach (var pageSize in new[] { 1, 2, 3 })
        {
            var all = new List<EventRow>();
            EventCursor? cursor = null;
            while (true)
            {
                var page = await Store.GetEventsAsync(ws.Id, 1, pageSize, cursor, Ct);
                Assert.True(page.Count <= pageSize);
                if (page.Count == 0) break;
                all.AddRange(page);
                cursor = new EventCursor(page[^1].Timestamp, page[^1].Seq);
            }
            Assert.Equal(expected, all.Select(e => e.MessageId));
        }
    }

    [Fact]
    public async Task A_cursor_with_sub_millisecond_precision_still_pages_correctly()
    {
        var ws = await NewWorkspaceAsync();
        await AppendAsync(Event(ws.Id, 1, "a", T0.AddTicks(1)), Event(ws.Id, 1, "b", T0.AddTicks(2)), Event(ws.Id, 1, "c", T0.AddMilliseconds(1)));
        var first = await Store.GetEventsAsync(ws.Id, 1, 2, null, Ct);
        Assert.Equal(["c", "b"], first.Select(e => e.MessageId));
        var rest = await Store.GetEventsAsync(ws.Id, 1, 10, new EventCursor(first[^1].Timestamp.AddTicks(5), first[^1].Seq), Ct);
        Assert.Equal(["a"], rest.Select(e => e.MessageId));
    }

    [Fact]
    public async Task The_limit_is_respected_and_must_be_positive()
    {
        var ws = await NewWorkspaceAsync();
        await AppendAsync(Enumerable.Range(0, 20).Select(i => Event(ws.Id, 1, $"m{i}", T0.AddSeconds(i))).ToArray());
        var page = await Store.GetEventsAsync(ws.Id, 1, 5, null, Ct);
        Assert.Equal(["m19", "m18", "m17", "m16", "m15"], page.Select(e => e.MessageId));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.GetEventsAsync(ws.Id, 1, 0, null, Ct));
    }

    [Fact]
    public async Task A_large_batch_of_events_is_appended_in_order()
    {
        var ws = await NewWorkspaceAsync();
        var events = Enumerable.Range(0, 1_500)
            .Select(i => Event(ws.Id, 1 + (i % 3), $"bulk-{i}", T0, name: i % 2 == 0 ? null : "点击", payload: $$"""{"i":{{i}},"文本":"值"}"""))
            .ToArray();
        await InTxAsync(async tx =>
        {
            Assert.Empty(await tx.FindExistingMessageIdsAsync(ws.Id, events.Select(e => e.MessageId).ToArray(), Ct));
            await tx.AppendEventsAsync(events, Ct);
        });
        Assert.Equal((0L, 1_500L), await Store.CountAsync(ws.Id, Ct));
        var newest = await Store.GetEventsAsync(ws.Id, 1, 1_000, null, Ct);
        Assert.Equal(500, newest.Count);
        Assert.Equal(events.Where(e => e.ProfileId == 1).Select(e => e.MessageId).Reverse(), newest.Select(e => e.MessageId));
        Assert.Equal(events[3].PayloadJson, newest[^2].PayloadJson);
        Assert.Null(newest[^1].Name);
        Assert.Equal("点击", newest[^2].Name);
        await using var check = await Store.BeginAsync(Ct);
        var found = await check.FindExistingMessageIdsAsync(ws.Id, events.Select(e => e.MessageId).Append("bulk-x").ToArray(), Ct);
        Assert.Equal(1_500, found.Count);
    }

    // ---- erasure ---------------------------------------------------------------------------------

    [Fact]
    public async Task Erasure_removes_the_profile_and_keeps_suppressions_and_message_ids()
    {
        var ws = await NewWorkspaceAsync();
        var victim = await CreateProfileAsync(ws.Id, Email("gone@example.com"), new IdentityKey(IdentityKinds.Phone, "+8613800138000"), User("gone"));
        var bystander = await CreateProfileAsync(ws.Id, Email("stay@example.com"));
        await AppendAsync(Event(ws.Id, victim.Id, "v-1", T0), Event(ws.Id, victim.Id, "v-2", T0), Event(ws.Id, bystander.Id, "b-1", T0));

        ErasureCounts? counts = null;
        await InTxAsync(async tx => counts = await tx.EraseProfileAsync(ws.Id, victim.Id,
        [
            new SuppressionRow(ws.Id, IdentityKinds.Email, "hash-email", "erasure", T0),
            new SuppressionRow(ws.Id, IdentityKinds.Phone, "hash-phone", "erasure", T0),
        ], Ct));

        Assert.Equal(new ErasureCounts(Profiles: 1, Identities: 3, Events: 2, Suppressions: 2), counts);
        Assert.Null(await Store.GetProfileAsync(ws.Id, victim.Id, Ct));
        Assert.Empty(await Store.GetIdentitiesAsync(ws.Id, victim.Id, Ct));
        Assert.Null(await Store.FindProfileIdAsync(ws.Id, Email("gone@example.com"), Ct));
        Assert.Empty(await Store.GetEventsAsync(ws.Id, victim.Id, 10, null, Ct));

        Assert.NotNull(await Store.GetProfileAsync(ws.Id, bystander.Id, Ct));
        Assert.Equal(bystander.Id, await Store.FindProfileIdAsync(ws.Id, Email("stay@example.com"), Ct));
        Assert.Single(await Store.GetEventsAsync(ws.Id, bystander.Id, 10, null, Ct));
        Assert.Equal((1L, 1L), await Store.CountAsync(ws.Id, Ct));

        await using var tx = await Store.BeginAsync(Ct);
        Assert.Equal(new HashSet<string> { "hash-email", "hash-phone" }, (await tx.FindSuppressionsAsync(ws.Id, ["hash-email", "hash-phone", "hash-x"], Ct)).ToHashSet());
        Assert.Equal(new HashSet<string> { "v-1", "v-2" }, (await tx.FindExistingMessageIdsAsync(ws.Id, ["v-1", "v-2"], Ct)).ToHashSet());
    }

    [Fact]
    public async Task Erasure_does_not_touch_another_workspace()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var pa = await CreateProfileAsync(a.Id, Email("same@example.com"));
        var pb = await CreateProfileAsync(b.Id, Email("same@example.com"));
        await AppendAsync(Event(a.Id, pa.Id, "m", T0), Event(b.Id, pb.Id, "m", T0));

        // The wrong workspace erases nothing, even with the right profile id.
        ErasureCounts? wrong = null;
        await InTxAsync(async tx => wrong = await tx.EraseProfileAsync(b.Id, pa.Id, [], Ct));
        Assert.Equal(new ErasureCounts(0, 0, 0, 0), wrong);

        await InTxAsync(tx => tx.EraseProfileAsync(a.Id, pa.Id, [new SuppressionRow(a.Id, IdentityKinds.Email, "h", "erasure", T0)], Ct));
        Assert.Equal(pb.Id, await Store.FindProfileIdAsync(b.Id, Email("same@example.com"), Ct));
        Assert.Equal((1L, 1L), await Store.CountAsync(b.Id, Ct));
        Assert.Equal((0L, 0L), await Store.CountAsync(a.Id, Ct));
        await using var tx = await Store.BeginAsync(Ct);
        Assert.Empty(await tx.FindSuppressionsAsync(b.Id, ["h"], Ct));
        Assert.Equal(["h"], await tx.FindSuppressionsAsync(a.Id, ["h"], Ct));
    }

    [Fact]
    public async Task A_suppression_already_listed_is_not_counted_twice()
    {
        var ws = await NewWorkspaceAsync();
        var p1 = await CreateProfileAsync(ws.Id);
        var p2 = await CreateProfileAsync(ws.Id);
        var row = new SuppressionRow(ws.Id, IdentityKinds.Email, "h", "erasure", T0);
        ErasureCounts? first = null, second = null;
        await InTxAsync(async tx => first = await tx.EraseProfileAsync(ws.Id, p1.Id, [row], Ct));
        await InTxAsync(async tx => second = await tx.EraseProfileAsync(ws.Id, p2.Id, [row, row with { Hash = "h2" }], Ct));
        Assert.Equal(new ErasureCounts(1, 0, 0, 1), first);
        Assert.Equal(new ErasureCounts(1, 0, 0, 1), second);
    }

    [Fact]
    public async Task Erasing_an_unknown_profile_still_records_the_suppressions()
    {
        var ws = await NewWorkspaceAsync();
        ErasureCounts? counts = null;
        await InTxAsync(async tx => counts = await tx.EraseProfileAsync(ws.Id, 123_456, [new SuppressionRow(ws.Id, IdentityKinds.Phone, "p", "erasure", T0)], Ct));
        Assert.Equal(new ErasureCounts(0, 0, 0, 1), counts);
    }

    // ---- isolation -------------------------------------------------------------------------------

    [Fact]
    public async Task Workspaces_are_isolated_even_with_identical_identities_and_message_ids()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var pa = await CreateProfileAsync(a.Id, Email("twin@example.com"), User("twin"));
        var pb = await CreateProfileAsync(b.Id, Email("twin@example.com"), User("twin"));
        await AppendAsync(Event(a.Id, pa.Id, "same-id", T0));
        await AppendAsync(Event(b.Id, pb.Id, "same-id", T0), Event(b.Id, pb.Id, "only-b", T0));

        Assert.Equal(pa.Id, await Store.FindProfileIdAsync(a.Id, Email("twin@example.com"), Ct));
        Assert.Equal(pb.Id, await Store.FindProfileIdAsync(b.Id, Email("twin@example.com"), Ct));
        Assert.Empty(await Store.GetIdentitiesAsync(b.Id, pa.Id, Ct));
        Assert.Empty(await Store.GetEventsAsync(b.Id, pa.Id, 10, null, Ct));
        Assert.Null(await Store.GetProfileAsync(b.Id, pa.Id, Ct));
        Assert.Equal((1L, 1L), await Store.CountAsync(a.Id, Ct));
        Assert.Equal((1L, 2L), await Store.CountAsync(b.Id, Ct));

        await using var tx = await Store.BeginAsync(Ct);
        Assert.Equal(new Dictionary<IdentityKey, long> { [Email("twin@example.com")] = pa.Id, [User("twin")] = pa.Id },
            await tx.ResolveAsync(a.Id, [Email("twin@example.com"), User("twin")], Ct));
        Assert.Empty(await tx.FindExistingMessageIdsAsync(a.Id, ["only-b"], Ct));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => tx.MergeProfilesAsync(b.Id, pa.Id, 1, pb.Id, Ct));
    }

    [Fact]
    public async Task Counts_are_per_workspace()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        Assert.Equal((0L, 0L), await Store.CountAsync(a.Id, Ct));
        var p = await CreateProfileAsync(a.Id);
        await CreateProfileAsync(a.Id);
        await AppendAsync(Event(a.Id, p.Id, "1", T0), Event(a.Id, p.Id, "2", T0), Event(a.Id, p.Id, "3", T0));
        Assert.Equal((2L, 3L), await Store.CountAsync(a.Id, Ct));
        Assert.Equal((0L, 0L), await Store.CountAsync(b.Id, Ct));
    }

    // ---- unicode ---------------------------------------------------------------------------------

    [Fact]
    public async Task Chinese_text_round_trips_everywhere()
    {
        var ws = await Store.CreateWorkspaceAsync("工作区", "盐", T0, Ct);
        Assert.Equal(ws, await Store.FindWorkspaceAsync("工作区", Ct));

        var email = Email("用户@例子.中国");
        var wechat = new IdentityKey(IdentityKinds.WeChatOpenId, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M微信");
        var p = await CreateProfileAsync(ws.Id, email, wechat);
        var updated = p with
        {
            UserId = "用户-一",
            TraitsJson = """{"姓名":"张伟","城市":"北京","emoji":"🎉"}""",
            Tags = ["会员", "北京"],
            Timezone = "Asia/Shanghai",
            Locale = "zh-Hans-CN",
            Version = 2,
        };
        await InTxAsync(tx => tx.UpsertProfilesAsync([updated], Ct));
        await AppendAsync(Event(ws.Id, p.Id, "消息-1", T0, name: "点击按钮", payload: """{"事件":"点击按钮","值":"一二三"}"""));

        AssertProfile(updated, await Store.GetProfileAsync(ws.Id, p.Id, Ct));
        Assert.Equal(p.Id, await Store.FindProfileIdAsync(ws.Id, email, Ct));
        Assert.Equal(p.Id, await Store.FindProfileIdAsync(ws.Id, wechat, Ct));
        Assert.Equal([email, wechat], await Store.GetIdentitiesAsync(ws.Id, p.Id, Ct));
        var e = Assert.Single(await Store.GetEventsAsync(ws.Id, p.Id, 10, null, Ct));
        Assert.Equal("消息-1", e.MessageId);
        Assert.Equal("点击按钮", e.Name);
        Assert.Equal("""{"事件":"点击按钮","值":"一二三"}""", e.PayloadJson);
        await using var tx = await Store.BeginAsync(Ct);
        Assert.Equal(["消息-1"], await tx.FindExistingMessageIdsAsync(ws.Id, ["消息-1", "消息-2"], Ct));
    }

    // ---- durability and concurrency --------------------------------------------------------------

    [Fact]
    public async Task Committed_data_survives_reopening_the_store()
    {
        var ws = await NewWorkspaceAsync();
        var p = await CreateProfileAsync(ws.Id, Email("durable@example.com"));
        await AppendAsync(Event(ws.Id, p.Id, "d-1", T0));
        await Store.DisposeAsync();

        Store = await OpenStoreAsync();
        AssertProfile(p, await Store.GetProfileAsync(ws.Id, p.Id, Ct));
        Assert.Equal(p.Id, await Store.FindProfileIdAsync(ws.Id, Email("durable@example.com"), Ct));
        Assert.Equal((1L, 1L), await Store.CountAsync(ws.Id, Ct));
    }

    [Fact]
    public async Task Concurrent_writers_follow_the_partition_limit()
    {
        var ws = await NewWorkspaceAsync();
        var p = await CreateProfileAsync(ws.Id);
        var first = await Store.BeginAsync(Ct);
        try
        {
            await first.UpsertProfilesAsync([p with { Version = 2, TraitsJson = """{"by":"first"}""" }], Ct);
            var secondTask = Task.Run(async () =>
            {
                await using var second = await Store.BeginAsync(Ct);
                await second.UpsertProfilesAsync([p with { Version = 2, TraitsJson = """{"by":"second"}""" }], Ct);
                await second.CommitAsync(Ct);
            });

            // SQLite: the second batch cannot even begin. PostgreSQL: it begins and then waits on the row lock.
            var finished = await Task.WhenAny(secondTask, Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System));
            Assert.NotSame(secondTask, finished);

            await first.CommitAsync(Ct);
            await Assert.ThrowsAsync<ConcurrencyConflictException>(() => secondTask);
        }
        finally
        {
            await first.DisposeAsync();
        }
        Assert.Equal("""{"by":"first"}""", (await Store.GetProfileAsync(ws.Id, p.Id, Ct))!.TraitsJson);
    }

    [Fact]
    public async Task Writer_partitions_can_work_side_by_side_up_to_the_limit()
    {
        var ws = await NewWorkspaceAsync();
        var partitions = Math.Min(Store.MaxWriterPartitions, 4);
        Assert.True(partitions >= 1);
        var tasks = Enumerable.Range(0, partitions * 2).Select(i => Task.Run(async () =>
        {
            await using var tx = await Store.BeginAsync(Ct);
            var id = await tx.ReserveProfileIdsAsync(1, Ct);
            await tx.UpsertProfilesAsync([Profile(ws.Id, id)], Ct);
            await tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.UserId, $"user-{i}", id)], Ct);
            await tx.AppendEventsAsync([Event(ws.Id, id, $"par-{i}", T0)], Ct);
            await tx.CommitAsync(Ct);
        })).ToArray();
        await Task.WhenAll(tasks);
        Assert.Equal((partitions * 2L, partitions * 2L), await Store.CountAsync(ws.Id, Ct));
    }

    [Fact]
    public async Task Reads_proceed_while_a_batch_is_open()
    {
        var ws = await NewWorkspaceAsync();
        var p = await CreateProfileAsync(ws.Id, Email("r@example.com"));
        await using var tx = await Store.BeginAsync(Ct);
        await tx.UpsertProfilesAsync([p with { Version = 2 }], Ct);
        Assert.Equal(1, (await Store.GetProfileAsync(ws.Id, p.Id, Ct))!.Version);
        Assert.Equal(p.Id, await Store.FindProfileIdAsync(ws.Id, Email("r@example.com"), Ct));
        Assert.NotNull(await Store.FindWorkspaceAsync("default", Ct));
    }
}
