using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Xunit;

namespace Chuda.Storage.Tests;

// The segment part of the storage contract: scans for backfill and evaluation, segment definitions, membership,
// change history, history buckets and time-based re-checks.
public abstract partial class StoreComplianceTests
{
    protected static SegmentDefinition Segment(long workspaceId, string id, string name = "Segment", int version = 1,
        SegmentStatus status = SegmentStatus.Backfilling, string rule = """{"trait":"plan","eq":"pro"}""", string? description = null,
        DateTimeOffset? createdAt = null) =>
        new(workspaceId, id, Key: 0, name, description, rule, version, status,
            CreatedAt: createdAt ?? T0, UpdatedAt: createdAt ?? T0,
            BackfillCursor: 0, BackfillDone: 0, BackfillTotal: 0, BackfillStartedAt: null, BackfillCompletedAt: null);

    protected static SegmentChange Enter(long workspaceId, long key, long profileId, DateTimeOffset at, string cause = ChangeCauses.Event,
        string? detail = "Clicked") => new(workspaceId, key, profileId, true, at, cause, detail);

    protected static SegmentChange Exit(long workspaceId, long key, long profileId, DateTimeOffset at, string cause = ChangeCauses.Traits,
        string? detail = null) => new(workspaceId, key, profileId, false, at, cause, detail);

    protected Task ApplyAsync(params SegmentChange[] changes) => InTxAsync(tx => tx.ApplySegmentChangesAsync(changes, Ct));

    protected Task SetChecksAsync(params (long WorkspaceId, long ProfileId, DateTimeOffset? DueAt)[] checks) =>
        InTxAsync(tx => tx.SetSegmentChecksAsync(checks, Ct));

    /// <summary>Creates and commits <paramref name="count"/> profiles (version 1), ascending ids.</summary>
    protected async Task<List<ProfileRecord>> CreateProfilesAsync(long workspaceId, int count, Func<long, string?>? userId = null)
    {
        var profiles = new List<ProfileRecord>();
        await InTxAsync(async tx =>
        {
            var first = await tx.ReserveProfileIdsAsync(count, Ct);
            for (var i = 0; i < count; i++) profiles.Add(Profile(workspaceId, first + i, userId: userId?.Invoke(first + i)));
            await tx.UpsertProfilesAsync(profiles, Ct);
        });
        return profiles;
    }

    private static Dictionary<long, DateTimeOffset> Members(params (long Key, DateTimeOffset Since)[] entries) =>
        entries.ToDictionary(e => e.Key, e => e.Since);

    private static void AssertState(ProfileSegmentState expected, ProfileSegmentState actual)
    {
        Assert.Equal(expected.Memberships.OrderBy(x => x.Key), actual.Memberships.OrderBy(x => x.Key));
        Assert.Equal(expected.CheckDue, actual.CheckDue);
    }

    private static string[] Ids(IEnumerable<EventRow> events) => events.Select(e => e.MessageId).Order(StringComparer.Ordinal).ToArray();

    // ---- migrations ------------------------------------------------------------------------------

    [Fact]
    public async Task The_applied_migrations_are_one_to_six()
    {
        Assert.Equal([1, 2, 3, 4, 5, 6], await Store.GetAppliedMigrationsAsync(Ct));
    }

    // ---- scans -----------------------------------------------------------------------------------

    [Fact]
    public async Task Profiles_are_paged_by_id_within_a_workspace()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var pa1 = await CreateProfilesAsync(a.Id, 3);
        var pb = await CreateProfilesAsync(b.Id, 2);
        var pa2 = await CreateProfilesAsync(a.Id, 2);
        var ids = pa1.Concat(pa2).Select(p => p.Id).ToArray();

        var page1 = await Store.GetProfilesAsync(a.Id, 0, 2, Ct);
        Assert.Equal(ids[..2], page1.Select(p => p.Id));
        AssertProfile(pa1[0], page1[0]);
        var page2 = await Store.GetProfilesAsync(a.Id, page1[^1].Id, 2, Ct);
        Assert.Equal(ids[2..4], page2.Select(p => p.Id));
        var page3 = await Store.GetProfilesAsync(a.Id, page2[^1].Id, 2, Ct);
        Assert.Equal(ids[4..], page3.Select(p => p.Id));
        Assert.Empty(await Store.GetProfilesAsync(a.Id, ids[^1], 2, Ct));
        Assert.Equal(ids, (await Store.GetProfilesAsync(a.Id, 0, 100, Ct)).Select(p => p.Id));
        // An afterId between ids, and the other workspace.
        Assert.Equal(ids[3..], (await Store.GetProfilesAsync(a.Id, pb[0].Id, 100, Ct)).Select(p => p.Id));
        Assert.Equal(pb.Select(p => p.Id), (await Store.GetProfilesAsync(b.Id, 0, 100, Ct)).Select(p => p.Id));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetProfilesAsync(a.Id, 0, 0, Ct));
    }

    [Fact]
    public async Task The_profile_id_range_is_per_workspace_and_null_when_empty()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var empty = await NewWorkspaceAsync("empty");
        var pa = await CreateProfilesAsync(a.Id, 2);
        var pb = await CreateProfilesAsync(b.Id, 3);
        var pa2 = await CreateProfilesAsync(a.Id, 1);

        Assert.Null(await Store.GetProfileIdRangeAsync(empty.Id, Ct));
        Assert.Equal((pa[0].Id, pa2[0].Id), await Store.GetProfileIdRangeAsync(a.Id, Ct));
        Assert.Equal((pb[0].Id, pb[2].Id), await Store.GetProfileIdRangeAsync(b.Id, Ct));
        var single = await CreateProfilesAsync(empty.Id, 1);
        Assert.Equal((single[0].Id, single[0].Id), await Store.GetProfileIdRangeAsync(empty.Id, Ct));
    }

    [Fact]
    public async Task Events_for_profiles_are_selected_by_track_name_pages_and_screens()
    {
        var ws = await NewWorkspaceAsync("ws");
        var other = await NewWorkspaceAsync("other");
        var ps = await CreateProfilesAsync(ws.Id, 3);
        long p1 = ps[0].Id, p2 = ps[1].Id, p3 = ps[2].Id;
        await AppendAsync(
            Event(ws.Id, p1, "p1-clicked", T0, name: "Clicked"),
            Event(ws.Id, p1, "p1-bought", T0.AddMinutes(1), name: "Bought"),
            Event(ws.Id, p1, "p1-page", T0.AddMinutes(2), type: "page", name: "Pricing"),
            Event(ws.Id, p1, "p1-page-unnamed", T0.AddMinutes(3), type: "page", name: null),
            Event(ws.Id, p1, "p1-identify", T0.AddMinutes(4), type: "identify", name: null),
            Event(ws.Id, p1, "p1-track-unnamed", T0.AddMinutes(4), type: "track", name: null),
            Event(ws.Id, p2, "p2-clicked", T0.AddMinutes(5), name: "Clicked"),
            Event(ws.Id, p2, "p2-screen", T0.AddMinutes(6), type: "screen", name: "Home"),
            Event(ws.Id, p2, "p2-page-named-clicked", T0.AddMinutes(7), type: "page", name: "Clicked"),
            Event(ws.Id, p2, "p2-viewed-page-track", T0.AddMinutes(8), name: EventFact.ViewedPage),
            Event(ws.Id, p3, "p3-clicked", T0.AddMinutes(9), name: "Clicked"),
            Event(other.Id, p1, "other-clicked", T0.AddMinutes(10), name: "Clicked"));
        long[] wanted = [p1, p2];

        async Task<string[]> Select(EventNameFilter filter) => Ids(await Store.GetEventsForProfilesAsync(ws.Id, wanted, filter, Ct));

        var none = new HashSet<string>(StringComparer.Ordinal);
        Assert.Equal(["p1-clicked", "p2-clicked"], await Select(new EventNameFilter(new HashSet<string> { "Clicked" }, false, false)));
        Assert.Equal(["p1-bought", "p1-clicked", "p2-clicked"],
            await Select(new EventNameFilter(new HashSet<string> { "Clicked", "Bought", "Never" }, false, false)));
        Assert.Equal(["p1-page", "p1-page-unnamed", "p2-page-named-clicked"], await Select(new EventNameFilter(none, true, false)));
        Assert.Equal(["p2-screen"], await Select(new EventNameFilter(none, false, true)));
        Assert.Equal(["p1-bought", "p1-page", "p1-page-unnamed", "p2-page-named-clicked", "p2-viewed-page-track"],
            await Select(EventNameFilter.For([EventFact.ViewedPage, "Bought"])));
        Assert.Equal(["p1-bought", "p1-page", "p1-page-unnamed", "p2-page-named-clicked", "p2-screen"],
            await Select(new EventNameFilter(new HashSet<string> { "Bought" }, true, true)));
        Assert.Empty(await Select(new EventNameFilter(none, false, false)));
        Assert.Empty(await Store.GetEventsForProfilesAsync(ws.Id, [], EventNameFilter.For(["Clicked"]), Ct));
        Assert.Equal(["other-clicked"], Ids(await Store.GetEventsForProfilesAsync(other.Id, [p1, p2], EventNameFilter.For(["Clicked"]), Ct)));

        // Every field of a row comes back.
        var bought = Assert.Single(await Store.GetEventsForProfilesAsync(ws.Id, [p1], EventNameFilter.For(["Bought"]), Ct));
        var stored = (await Store.GetEventsAsync(ws.Id, p1, 10, null, Ct)).Single(e => e.MessageId == "p1-bought");
        Assert.Equal(stored, bought);
        Assert.Equal(p1, bought.ProfileId);
        Assert.True(bought.Seq > 0);
    }

    [Fact]
    public async Task Events_for_thousands_of_profiles_are_found()
    {
        var ws = await NewWorkspaceAsync();
        var ps = await CreateProfilesAsync(ws.Id, 1_500);
        await AppendAsync(ps.Where((_, i) => i % 3 == 0)
            .Select(p => Event(ws.Id, p.Id, $"m-{p.Id}", T0, name: "Clicked")).ToArray());
        var ids = ps.Select(p => p.Id).ToArray();

        var events = await Store.GetEventsForProfilesAsync(ws.Id, ids, EventNameFilter.For(["Clicked"]), Ct);
        Assert.Equal(500, events.Count);
        Assert.Equal(ps.Where((_, i) => i % 3 == 0).Select(p => p.Id).Order(), events.Select(e => e.ProfileId).Order());
        var kinds = await Store.GetIdentityKindsAsync(ws.Id, ids, Ct);
        Assert.Empty(kinds);
        await using var tx = await Store.BeginAsync(Ct);
        Assert.Equal(500, (await tx.LoadEventsAsync(ws.Id, ids, EventNameFilter.For(["Clicked"]), Ct)).Count);
        Assert.Equal(ids.Length, (await tx.LoadSegmentStateAsync(ws.Id, ids, Ct)).Count);
    }

    [Fact]
    public async Task Identity_kinds_are_distinct_per_profile_and_profiles_without_identities_are_absent()
    {
        var ws = await NewWorkspaceAsync("ws");
        var other = await NewWorkspaceAsync("other");
        var p1 = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.Email, "a@example.com"),
            new IdentityKey(IdentityKinds.Email, "b@example.com"), new IdentityKey(IdentityKinds.UserId, "u1"));
        var p2 = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.AnonymousId, "anon"));
        var bare = await CreateProfileAsync(ws.Id);
        var p4 = await CreateProfileAsync(other.Id, new IdentityKey(IdentityKinds.Phone, "+8613800138000"));

        var kinds = await Store.GetIdentityKindsAsync(ws.Id, [p1.Id, p2.Id, bare.Id, p4.Id, 999_999], Ct);
        Assert.Equal([p1.Id, p2.Id], kinds.Keys.Order());
        Assert.Equal(new HashSet<string> { IdentityKinds.Email, IdentityKinds.UserId }, kinds[p1.Id].ToHashSet());
        Assert.Equal(new HashSet<string> { IdentityKinds.AnonymousId }, kinds[p2.Id].ToHashSet());
        Assert.Empty(await Store.GetIdentityKindsAsync(ws.Id, [], Ct));
        Assert.Equal([IdentityKinds.Phone], (await Store.GetIdentityKindsAsync(other.Id, [p4.Id], Ct))[p4.Id]);
    }

    // ---- segment definitions -------------------------------------------------------------------

    [Fact]
    public async Task Segments_are_created_read_and_listed_by_workspace_then_id()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var createdAt = new DateTimeOffset(2026, 3, 1, 20, 0, 0, 5, TimeSpan.FromHours(8)).AddTicks(4_321); // sub-ms, +08:00
        var full = Segment(a.Id, "vip", name: "VIPs 贵宾", description: "Big spenders", rule: """{"all":[{"tag":"vip"}]}""", createdAt: createdAt) with
        {
            Key = 999,
            BackfillCursor = 17,
            BackfillDone = 5,
            BackfillTotal = 1_000_000,
            BackfillStartedAt = createdAt.AddSeconds(1),
            BackfillCompletedAt = createdAt.AddSeconds(2),
            Status = SegmentStatus.Ready,
            Version = 3,
        };
        var vip = await Store.CreateSegmentAsync(full, Ct);
        var upper = await Store.CreateSegmentAsync(Segment(a.Id, "Zeta"), Ct);
        var first = await Store.CreateSegmentAsync(Segment(a.Id, "alpha"), Ct);
        var inB = await Store.CreateSegmentAsync(Segment(b.Id, "vip"), Ct);

        var expected = full with
        {
            Key = vip.Key,
            CreatedAt = Truncated(createdAt),
            UpdatedAt = Truncated(createdAt),
            BackfillStartedAt = Truncated(createdAt.AddSeconds(1)),
            BackfillCompletedAt = Truncated(createdAt.AddSeconds(2)),
        };
        Assert.Equal(expected, vip);
        Assert.NotEqual(999, vip.Key);
        Assert.Equal(4, new[] { vip.Key, upper.Key, first.Key, inB.Key }.Distinct().Count());
        Assert.True(upper.Key > vip.Key && first.Key > upper.Key && inB.Key > first.Key);

        var read = await Store.GetSegmentAsync(a.Id, "vip", Ct);
        Assert.Equal(expected, read);
        Assert.Equal(TimeSpan.Zero, read!.CreatedAt.Offset);
        Assert.Null((await Store.GetSegmentAsync(a.Id, "alpha", Ct))!.Description);
        Assert.Null((await Store.GetSegmentAsync(a.Id, "alpha", Ct))!.BackfillStartedAt);
        Assert.Null(await Store.GetSegmentAsync(a.Id, "VIP", Ct)); // ids are exact
        Assert.Null(await Store.GetSegmentAsync(b.Id, "alpha", Ct));
        Assert.Equal(inB, await Store.GetSegmentAsync(b.Id, "vip", Ct));

        // Ordinal id order: "Zeta" < "alpha" < "vip".
        Assert.Equal(["Zeta", "alpha", "vip"], (await Store.ListSegmentsAsync(a.Id, Ct)).Select(s => s.Id));
        Assert.Equal([upper, first, expected, inB], await Store.ListSegmentsAsync(null, Ct));
        Assert.Empty(await Store.ListSegmentsAsync(b.Id + 100, Ct));
    }

    [Fact]
    public async Task A_duplicate_segment_id_in_a_workspace_is_rejected()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var original = await Store.CreateSegmentAsync(Segment(a.Id, "vip", name: "first"), Ct);
        await Assert.ThrowsAsync<DuplicateNameException>(() => Store.CreateSegmentAsync(Segment(a.Id, "vip", name: "second"), Ct));
        Assert.Equal(original, await Store.GetSegmentAsync(a.Id, "vip", Ct));
        Assert.Equal([original], await Store.ListSegmentsAsync(a.Id, Ct));
        var elsewhere = await Store.CreateSegmentAsync(Segment(b.Id, "vip"), Ct); // another workspace may
        Assert.NotEqual(original.Key, elsewhere.Key);
    }

    [Fact]
    public async Task An_update_applies_only_at_the_expected_version()
    {
        var ws = await NewWorkspaceAsync();
        var v1 = await Store.CreateSegmentAsync(Segment(ws.Id, "vip"), Ct);
        var v2 = v1 with
        {
            Name = "Renamed",
            Description = "now described",
            RuleJson = """{"tag":"vip"}""",
            Version = 2,
            UpdatedAt = T0.AddHours(1),
            BackfillStartedAt = T0.AddHours(1),
            BackfillTotal = 42,
        };
        Assert.True(await Store.UpdateSegmentAsync(v2, 1, Ct));
        Assert.Equal(v2, await Store.GetSegmentAsync(ws.Id, "vip", Ct));

        Assert.False(await Store.UpdateSegmentAsync(v2 with { Name = "stale", Version = 2 }, 1, Ct)); // someone else won
        Assert.False(await Store.UpdateSegmentAsync(v2 with { Key = v1.Key + 100, Version = 3 }, 2, Ct)); // no such key
        Assert.False(await Store.UpdateSegmentAsync(v2 with { WorkspaceId = ws.Id + 100, Version = 3 }, 2, Ct)); // other workspace
        Assert.Equal(v2, await Store.GetSegmentAsync(ws.Id, "vip", Ct));

        // The description can be cleared; id and creation time are the segment's own and stay.
        var v3 = v2 with { Description = null, Version = 3, Status = SegmentStatus.Ready, BackfillCompletedAt = T0.AddHours(2) };
        Assert.True(await Store.UpdateSegmentAsync(v3 with { CreatedAt = T0.AddDays(9) }, 2, Ct));
        Assert.Equal(v3, await Store.GetSegmentAsync(ws.Id, "vip", Ct));
    }

    [Fact]
    public async Task Backfill_progress_is_recorded_only_for_the_current_version()
    {
        var ws = await NewWorkspaceAsync();
        var v1 = await Store.CreateSegmentAsync(Segment(ws.Id, "vip") with { BackfillTotal = 10, BackfillStartedAt = T0 }, Ct);

        Assert.True(await Store.SetBackfillProgressAsync(ws.Id, v1.Key, 1, cursor: 40, done: 4, SegmentStatus.Backfilling, null, Ct));
        var progressed = v1 with { BackfillCursor = 40, BackfillDone = 4 };
        Assert.Equal(progressed, await Store.GetSegmentAsync(ws.Id, "vip", Ct));

        // An edit restarts the backfill; the stale runner's progress is refused.
        var v2 = progressed with { Version = 2, BackfillCursor = 0, BackfillDone = 0, UpdatedAt = T0.AddMinutes(5) };
        Assert.True(await Store.UpdateSegmentAsync(v2, 1, Ct));
        Assert.False(await Store.SetBackfillProgressAsync(ws.Id, v1.Key, 1, 90, 9, SegmentStatus.Ready, T0.AddMinutes(6), Ct));
        Assert.Equal(v2, await Store.GetSegmentAsync(ws.Id, "vip", Ct));
        Assert.False(await Store.SetBackfillProgressAsync(ws.Id + 100, v1.Key, 2, 90, 9, SegmentStatus.Ready, T0, Ct));
        Assert.False(await Store.SetBackfillProgressAsync(ws.Id, v1.Key + 100, 2, 90, 9, SegmentStatus.Ready, T0, Ct));

        var done = T0.AddMinutes(7).AddTicks(9_999);
        Assert.True(await Store.SetBackfillProgressAsync(ws.Id, v1.Key, 2, 100, 10, SegmentStatus.Ready, done, Ct));
        Assert.Equal(v2 with { BackfillCursor = 100, BackfillDone = 10, Status = SegmentStatus.Ready, BackfillCompletedAt = Truncated(done) },
            await Store.GetSegmentAsync(ws.Id, "vip", Ct));
    }

    [Fact]
    public async Task Deleting_a_segment_removes_its_members_and_history_only()
    {
        var ws = await NewWorkspaceAsync();
        var ps = await CreateProfilesAsync(ws.Id, 2);
        var gone = await Store.CreateSegmentAsync(Segment(ws.Id, "gone"), Ct);
        var kept = await Store.CreateSegmentAsync(Segment(ws.Id, "kept"), Ct);
        await ApplyAsync(Enter(ws.Id, gone.Key, ps[0].Id, T0), Enter(ws.Id, gone.Key, ps[1].Id, T0), Enter(ws.Id, kept.Key, ps[0].Id, T0.AddSeconds(1)),
            Exit(ws.Id, gone.Key, ps[1].Id, T0.AddSeconds(2)));

        Assert.True(await Store.DeleteSegmentAsync(ws.Id, gone.Key, Ct));
        Assert.Null(await Store.GetSegmentAsync(ws.Id, "gone", Ct));
        Assert.Equal([kept], await Store.ListSegmentsAsync(ws.Id, Ct));
        Assert.Equal(0, await Store.CountSegmentMembersAsync(ws.Id, gone.Key, Ct));
        Assert.Empty(await Store.GetSegmentChangesAsync(ws.Id, gone.Key, 0, 100, Ct));
        Assert.Equal([new Membership(kept.Key, T0.AddSeconds(1))], await Store.GetProfileMembershipsAsync(ws.Id, ps[0].Id, Ct));
        var rest = Assert.Single(await Store.GetSegmentChangesAsync(ws.Id, null, 0, 100, Ct));
        Assert.Equal(kept.Key, rest.SegmentKey);

        Assert.False(await Store.DeleteSegmentAsync(ws.Id, gone.Key, Ct));
        Assert.False(await Store.DeleteSegmentAsync(ws.Id + 100, kept.Key, Ct)); // another workspace's key
        Assert.Equal([kept], await Store.ListSegmentsAsync(ws.Id, Ct));

        // Keys are never reused, even for the same id.
        var again = await Store.CreateSegmentAsync(Segment(ws.Id, "gone"), Ct);
        Assert.True(again.Key > kept.Key);
        Assert.Equal(0, await Store.CountSegmentMembersAsync(ws.Id, again.Key, Ct));
    }

    // ---- membership and history ------------------------------------------------------------------

    [Fact]
    public async Task Members_are_paged_by_profile_id_with_their_user_id_and_counted()
    {
        var ws = await NewWorkspaceAsync();
        var ps = await CreateProfilesAsync(ws.Id, 5, id => id % 2 == 0 ? $"user-{id}" : null);
        var seg = await Store.CreateSegmentAsync(Segment(ws.Id, "vip"), Ct);
        var other = await Store.CreateSegmentAsync(Segment(ws.Id, "other"), Ct);
        // Entered in reverse order, at different times.
        await ApplyAsync(ps.AsEnumerable().Reverse().Select((p, i) => Enter(ws.Id, seg.Key, p.Id, T0.AddMinutes(i))).ToArray());
        await ApplyAsync(Enter(ws.Id, other.Key, ps[0].Id, T0));

        SegmentMember Member(int i) => new(ps[i].Id, ps[i].Id % 2 == 0 ? $"user-{ps[i].Id}" : null, T0.AddMinutes(4 - i));

        Assert.Equal([Member(0), Member(1)], await Store.GetSegmentMembersAsync(ws.Id, seg.Key, 0, 2, Ct));
        Assert.Equal([Member(2), Member(3)], await Store.GetSegmentMembersAsync(ws.Id, seg.Key, ps[1].Id, 2, Ct));
        Assert.Equal([Member(4)], await Store.GetSegmentMembersAsync(ws.Id, seg.Key, ps[3].Id, 2, Ct));
        Assert.Empty(await Store.GetSegmentMembersAsync(ws.Id, seg.Key, ps[4].Id, 2, Ct));
        Assert.Equal(5, await Store.CountSegmentMembersAsync(ws.Id, seg.Key, Ct));
        Assert.Equal(1, await Store.CountSegmentMembersAsync(ws.Id, other.Key, Ct));
        Assert.Equal(0, await Store.CountSegmentMembersAsync(ws.Id + 100, seg.Key, Ct));
        Assert.Empty(await Store.GetSegmentMembersAsync(ws.Id + 100, seg.Key, 0, 10, Ct));
        Assert.True(seg.Key < other.Key);
        Assert.Equal([new Membership(seg.Key, T0.AddMinutes(4)), new Membership(other.Key, T0)], await Store.GetProfileMembershipsAsync(ws.Id, ps[0].Id, Ct));
        Assert.Empty(await Store.GetProfileMembershipsAsync(ws.Id + 100, ps[0].Id, Ct));
        var bulk = await Store.GetMembershipsAsync(ws.Id, [ps[0].Id, ps[1].Id, ps[0].Id, ps[4].Id + 1000], Ct);
        Assert.Equal([ps[0].Id, ps[1].Id], bulk.Keys.Order());
        Assert.Equal([seg.Key, other.Key], bulk[ps[0].Id].Order());
        Assert.Equal([seg.Key], bulk[ps[1].Id]);
        Assert.Empty(await Store.GetMembershipsAsync(ws.Id + 100, [ps[0].Id], Ct));
        Assert.Empty(await Store.GetMembershipsAsync(ws.Id, [], Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetSegmentMembersAsync(ws.Id, seg.Key, 0, 0, Ct));
    }

    [Fact]
    public async Task Applying_changes_follows_their_order_and_records_every_one()
    {
        var ws = await NewWorkspaceAsync();
        var ps = await CreateProfilesAsync(ws.Id, 4);
        long p1 = ps[0].Id, p2 = ps[1].Id, p3 = ps[2].Id, p4 = ps[3].Id;
        var a = (await Store.CreateSegmentAsync(Segment(ws.Id, "a"), Ct)).Key;
        var b = (await Store.CreateSegmentAsync(Segment(ws.Id, "b"), Ct)).Key;
        var at = new DateTimeOffset(2026, 3, 1, 20, 0, 1, TimeSpan.FromHours(8)).AddTicks(5_555); // sub-ms, +08:00

        await ApplyAsync(
            Enter(ws.Id, a, p1, at),
            Enter(ws.Id, a, p1, at.AddMinutes(1)),                 // already a member: the first since stays
            Enter(ws.Id, b, p1, at.AddMinutes(2), ChangeCauses.Segment, "a"),
            Exit(ws.Id, a, p2, at.AddMinutes(3)),                  // not a member: nothing to delete, still recorded
            Enter(ws.Id, a, p3, at.AddMinutes(4)),
            Exit(ws.Id, a, p3, at.AddMinutes(5)),                  // entered and left in one batch
            Enter(ws.Id, b, p4, at.AddMinutes(6)));

        Assert.Equal([new Membership(a, Truncated(at)), new Membership(b, Truncated(at.AddMinutes(2)))],
            await Store.GetProfileMembershipsAsync(ws.Id, p1, Ct));
        Assert.Empty(await Store.GetProfileMembershipsAsync(ws.Id, p2, Ct));
        Assert.Empty(await Store.GetProfileMembershipsAsync(ws.Id, p3, Ct));

        // A second batch: an existing membership is left and re-entered (a fresh since), another entered again (kept).
        await ApplyAsync(
            Exit(ws.Id, a, p1, at.AddMinutes(10), ChangeCauses.Time, null),
            Enter(ws.Id, a, p1, at.AddMinutes(11)),
            Enter(ws.Id, b, p4, at.AddMinutes(12)),
            Exit(ws.Id, b, p1, at.AddMinutes(13)),
            Enter(ws.Id, a, p4, at.AddMinutes(14)),
            Exit(ws.Id, a, p4, at.AddMinutes(15)),
            Enter(ws.Id, a, p4, at.AddMinutes(16)));

        Assert.Equal([new Membership(a, Truncated(at.AddMinutes(11)))], await Store.GetProfileMembershipsAsync(ws.Id, p1, Ct));
        Assert.Equal([new Membership(a, Truncated(at.AddMinutes(16))), new Membership(b, Truncated(at.AddMinutes(6)))],
            await Store.GetProfileMembershipsAsync(ws.Id, p4, Ct));
        Assert.Equal(TimeSpan.Zero, (await Store.GetProfileMembershipsAsync(ws.Id, p4, Ct))[0].Since.Offset);

        var all = await Store.GetSegmentChangesAsync(ws.Id, null, 0, 100, Ct);
        Assert.Equal(14, all.Count);
        for (var i = 1; i < all.Count; i++) Assert.True(all[i].Seq > all[i - 1].Seq);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => Truncated(at.AddMinutes(i))).Concat(Enumerable.Range(10, 7).Select(i => Truncated(at.AddMinutes(i)))),
            all.Select(c => c.At));
        Assert.Equal(new SegmentChange(ws.Id, b, p1, true, Truncated(at.AddMinutes(2)), ChangeCauses.Segment, "a", all[2].Seq), all[2]);
        Assert.Equal(new SegmentChange(ws.Id, a, p1, false, Truncated(at.AddMinutes(10)), ChangeCauses.Time, null, all[7].Seq), all[7]);
        Assert.Equal(TimeSpan.Zero, all[0].At.Offset);

        // Filtered by segment, paged by seq.
        var ofB = await Store.GetSegmentChangesAsync(ws.Id, b, 0, 100, Ct);
        Assert.Equal([all[2], all[6], all[9], all[10]], ofB);
        Assert.Equal([all[9], all[10]], await Store.GetSegmentChangesAsync(ws.Id, b, all[6].Seq, 100, Ct));
        Assert.Equal([all[9]], await Store.GetSegmentChangesAsync(ws.Id, b, all[6].Seq, 1, Ct));
        Assert.Equal(all.Skip(5).Take(3), await Store.GetSegmentChangesAsync(ws.Id, null, all[4].Seq, 3, Ct));
        Assert.Empty(await Store.GetSegmentChangesAsync(ws.Id, null, all[^1].Seq, 100, Ct));
        Assert.Empty(await Store.GetSegmentChangesAsync(ws.Id + 100, null, 0, 100, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetSegmentChangesAsync(ws.Id, null, 0, 0, Ct));
    }

    [Fact]
    public async Task Changes_of_two_workspaces_are_kept_apart()
    {
        var x = await NewWorkspaceAsync("x");
        var y = await NewWorkspaceAsync("y");
        var px = (await CreateProfilesAsync(x.Id, 1))[0].Id;
        var py = (await CreateProfilesAsync(y.Id, 1))[0].Id;
        var sx = (await Store.CreateSegmentAsync(Segment(x.Id, "s"), Ct)).Key;
        var sy = (await Store.CreateSegmentAsync(Segment(y.Id, "s"), Ct)).Key;
        await ApplyAsync(Enter(x.Id, sx, px, T0), Enter(y.Id, sy, py, T0.AddSeconds(1)), Exit(x.Id, sx, px, T0.AddSeconds(2)));

        Assert.Equal([true, false], (await Store.GetSegmentChangesAsync(x.Id, null, 0, 10, Ct)).Select(c => c.Entered));
        var ofY = Assert.Single(await Store.GetSegmentChangesAsync(y.Id, null, 0, 10, Ct));
        Assert.Equal((y.Id, sy, py), (ofY.WorkspaceId, ofY.SegmentKey, ofY.ProfileId));
        Assert.Empty(await Store.GetSegmentChangesAsync(x.Id, sy, 0, 10, Ct));
        Assert.Equal(0, await Store.CountSegmentMembersAsync(x.Id, sx, Ct));
        Assert.Equal(1, await Store.CountSegmentMembersAsync(y.Id, sy, Ct));
    }

    [Fact]
    public async Task History_counts_entries_and_exits_per_bucket_from_the_start()
    {
        var ws = await NewWorkspaceAsync();
        var ps = await CreateProfilesAsync(ws.Id, 3);
        var seg = (await Store.CreateSegmentAsync(Segment(ws.Id, "s"), Ct)).Key;
        var other = (await Store.CreateSegmentAsync(Segment(ws.Id, "o"), Ct)).Key;
        await ApplyAsync(
            Enter(ws.Id, seg, ps[0].Id, T0.AddMinutes(-1)),              // before from
            Enter(ws.Id, seg, ps[1].Id, T0),                             // at from: bucket 0
            Enter(ws.Id, seg, ps[2].Id, T0.AddMinutes(20)),
            Exit(ws.Id, seg, ps[1].Id, T0.AddMinutes(30)),
            Exit(ws.Id, seg, ps[2].Id, T0.AddMinutes(59).AddSeconds(59).AddMilliseconds(999)),
            Enter(ws.Id, seg, ps[1].Id, T0.AddHours(2).AddMinutes(10)),  // bucket 2; bucket 1 is empty
            Enter(ws.Id, other, ps[0].Id, T0.AddMinutes(5)),             // another segment
            Exit(ws.Id, seg, ps[1].Id, T0.AddHours(3)));                 // at to: excluded

        Assert.Equal(
            [new SegmentHistoryBucket(T0, 2, 2), new SegmentHistoryBucket(T0.AddHours(2), 1, 0)],
            await Store.GetSegmentHistoryAsync(ws.Id, seg, T0, T0.AddHours(3), TimeSpan.FromHours(1), Ct));

        // Buckets start at from, not at a round time.
        var from = T0.AddMinutes(15);
        Assert.Equal(
            [new SegmentHistoryBucket(from, 1, 1), new SegmentHistoryBucket(from.AddMinutes(30), 0, 1), new SegmentHistoryBucket(from.AddMinutes(90), 1, 0),
             new SegmentHistoryBucket(from.AddMinutes(150), 0, 1)],
            await Store.GetSegmentHistoryAsync(ws.Id, seg, from, T0.AddDays(1), TimeSpan.FromMinutes(30), Ct));

        Assert.Equal([new SegmentHistoryBucket(T0.AddMinutes(-10), 3, 2)],
            await Store.GetSegmentHistoryAsync(ws.Id, seg, T0.AddMinutes(-10), T0.AddHours(1), TimeSpan.FromDays(1), Ct));
        Assert.Empty(await Store.GetSegmentHistoryAsync(ws.Id, seg, T0.AddHours(4), T0.AddHours(5), TimeSpan.FromHours(1), Ct));
        Assert.Empty(await Store.GetSegmentHistoryAsync(ws.Id + 100, seg, T0, T0.AddHours(3), TimeSpan.FromHours(1), Ct));
        Assert.Equal([new SegmentHistoryBucket(T0, 1, 0)],
            await Store.GetSegmentHistoryAsync(ws.Id, other, T0, T0.AddHours(3), TimeSpan.FromHours(1), Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetSegmentHistoryAsync(ws.Id, seg, T0, T0.AddHours(1), TimeSpan.Zero, Ct));
    }

    // ---- re-checks -------------------------------------------------------------------------------

    [Fact]
    public async Task Checks_are_set_replaced_and_removed()
    {
        var ws = await NewWorkspaceAsync();
        var ps = await CreateProfilesAsync(ws.Id, 3);
        Assert.Null(await Store.GetNextSegmentCheckDueAsync(Ct));
        Assert.Empty(await Store.GetDueSegmentChecksAsync(T0.AddYears(1), 10, Ct));

        await SetChecksAsync((ws.Id, ps[0].Id, T0.AddHours(2)), (ws.Id, ps[1].Id, T0.AddHours(1).AddTicks(7_777)), (ws.Id, ps[2].Id, null));
        Assert.Equal(Truncated(T0.AddHours(1).AddTicks(7_777)), await Store.GetNextSegmentCheckDueAsync(Ct));
        Assert.Equal(
            [new SegmentCheck(ws.Id, ps[1].Id, ps[1].RoutingHash, Truncated(T0.AddHours(1).AddTicks(7_777))),
             new SegmentCheck(ws.Id, ps[0].Id, ps[0].RoutingHash, T0.AddHours(2))],
            await Store.GetDueSegmentChecksAsync(T0.AddHours(2), 10, Ct));

        // Replace one (later), remove the other; the last write for a profile in a batch wins.
        await SetChecksAsync((ws.Id, ps[1].Id, T0.AddHours(5)), (ws.Id, ps[0].Id, T0.AddHours(9)), (ws.Id, ps[0].Id, null));
        Assert.Equal(T0.AddHours(5), await Store.GetNextSegmentCheckDueAsync(Ct));
        Assert.Empty(await Store.GetDueSegmentChecksAsync(T0.AddHours(4), 10, Ct));
        Assert.Equal([new SegmentCheck(ws.Id, ps[1].Id, ps[1].RoutingHash, T0.AddHours(5))],
            await Store.GetDueSegmentChecksAsync(T0.AddHours(5), 10, Ct));

        await using (var tx = await Store.BeginAsync(Ct))
        {
            var state = await tx.LoadSegmentStateAsync(ws.Id, [ps[0].Id, ps[1].Id], Ct);
            AssertState(ProfileSegmentState.Empty, state[ps[0].Id]);
            AssertState(new ProfileSegmentState(Members(), T0.AddHours(5)), state[ps[1].Id]);
        }

        await SetChecksAsync((ws.Id, ps[1].Id, null), (ws.Id, ps[2].Id, null));
        Assert.Null(await Store.GetNextSegmentCheckDueAsync(Ct));
        Assert.Empty(await Store.GetDueSegmentChecksAsync(T0.AddYears(1), 10, Ct));
    }

    [Fact]
    public async Task Due_checks_span_workspaces_oldest_first_up_to_the_limit()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        var pa = await CreateProfilesAsync(a.Id, 2);
        var pb = await CreateProfilesAsync(b.Id, 2);
        await SetChecksAsync(
            (a.Id, pa[0].Id, T0.AddMinutes(3)),
            (b.Id, pb[0].Id, T0.AddMinutes(1)),
            (a.Id, pa[1].Id, T0.AddMinutes(2)),
            (b.Id, pb[1].Id, T0.AddMinutes(10)),
            (a.Id, 987_654_321, T0)); // its profile does not exist: never reported

        var due = await Store.GetDueSegmentChecksAsync(T0.AddMinutes(5), 10, Ct);
        Assert.Equal(
            [new SegmentCheck(b.Id, pb[0].Id, pb[0].RoutingHash, T0.AddMinutes(1)),
             new SegmentCheck(a.Id, pa[1].Id, pa[1].RoutingHash, T0.AddMinutes(2)),
             new SegmentCheck(a.Id, pa[0].Id, pa[0].RoutingHash, T0.AddMinutes(3))],
            due);
        Assert.Equal(due.Take(2), await Store.GetDueSegmentChecksAsync(T0.AddMinutes(5), 2, Ct));
        Assert.Equal(due.Take(1), await Store.GetDueSegmentChecksAsync(T0.AddMinutes(1), 10, Ct));
        Assert.Empty(await Store.GetDueSegmentChecksAsync(T0.AddMinutes(1).AddTicks(-1), 10, Ct));
        Assert.Equal(T0.AddMinutes(1), await Store.GetNextSegmentCheckDueAsync(Ct));
        Assert.Equal(4, (await Store.GetDueSegmentChecksAsync(T0.AddHours(1), 100, Ct)).Count);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetDueSegmentChecksAsync(T0, 0, Ct));
    }

    // ---- transactions ----------------------------------------------------------------------------

    [Fact]
    public async Task Segment_state_is_loaded_for_every_requested_profile()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        var ps = await CreateProfilesAsync(ws.Id, 3);
        var s1 = (await Store.CreateSegmentAsync(Segment(ws.Id, "s1"), Ct)).Key;
        var s2 = (await Store.CreateSegmentAsync(Segment(ws.Id, "s2"), Ct)).Key;
        await ApplyAsync(Enter(ws.Id, s1, ps[0].Id, T0), Enter(ws.Id, s2, ps[0].Id, T0.AddSeconds(1)), Enter(ws.Id, s2, ps[1].Id, T0.AddSeconds(2)));
        await SetChecksAsync((ws.Id, ps[0].Id, T0.AddDays(1)), (ws.Id, ps[2].Id, T0.AddDays(2)));

        await using var tx = await Store.BeginAsync(Ct);
        var state = await tx.LoadSegmentStateAsync(ws.Id, [ps[0].Id, ps[1].Id, ps[2].Id, 999_999], Ct);
        Assert.Equal([ps[0].Id, ps[1].Id, ps[2].Id, 999_999], state.Keys.Order());
        AssertState(new ProfileSegmentState(Members((s1, T0), (s2, T0.AddSeconds(1))), T0.AddDays(1)), state[ps[0].Id]);
        AssertState(new ProfileSegmentState(Members((s2, T0.AddSeconds(2))), null), state[ps[1].Id]);
        AssertState(new ProfileSegmentState(Members(), T0.AddDays(2)), state[ps[2].Id]);
        AssertState(ProfileSegmentState.Empty, state[999_999]);
        var elsewhere = await tx.LoadSegmentStateAsync(other.Id, [ps[0].Id], Ct);
        AssertState(ProfileSegmentState.Empty, elsewhere[ps[0].Id]);
        Assert.Empty(await tx.LoadSegmentStateAsync(ws.Id, [], Ct));
    }

    [Fact]
    public async Task A_transaction_sees_its_own_segment_writes_events_and_identities_and_rolls_them_back()
    {
        var ws = await NewWorkspaceAsync();
        var seg = (await Store.CreateSegmentAsync(Segment(ws.Id, "s"), Ct)).Key;
        var existing = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.Email, "e@example.com"));
        await ApplyAsync(Enter(ws.Id, seg, existing.Id, T0));
        await AppendAsync(Event(ws.Id, existing.Id, "old", T0, name: "Clicked"));
        var clicked = EventNameFilter.For(["Clicked"]);

        await using (var tx = await Store.BeginAsync(Ct))
        {
            var id = await tx.ReserveProfileIdsAsync(1, Ct);
            await tx.UpsertProfilesAsync([Profile(ws.Id, id)], Ct);
            await tx.PutIdentitiesAsync([Identity(ws.Id, IdentityKinds.UserId, "new-user", id), Identity(ws.Id, IdentityKinds.Phone, "+1", existing.Id)], Ct);
            await tx.AppendEventsAsync([Event(ws.Id, id, "new", T0.AddMinutes(1), name: "Clicked"), Event(ws.Id, existing.Id, "new-2", T0.AddMinutes(2), name: "Clicked")], Ct);
            await tx.ApplySegmentChangesAsync([Enter(ws.Id, seg, id, T0.AddMinutes(3)), Exit(ws.Id, seg, existing.Id, T0.AddMinutes(4))], Ct);
            await tx.SetSegmentChecksAsync([(ws.Id, id, T0.AddHours(1)), (ws.Id, existing.Id, T0.AddHours(2))], Ct);

            var state = await tx.LoadSegmentStateAsync(ws.Id, [id, existing.Id], Ct);
            AssertState(new ProfileSegmentState(Members((seg, T0.AddMinutes(3))), T0.AddHours(1)), state[id]);
            AssertState(new ProfileSegmentState(Members(), T0.AddHours(2)), state[existing.Id]);
            Assert.Equal(["new", "new-2", "old"], Ids(await tx.LoadEventsAsync(ws.Id, [id, existing.Id], clicked, Ct)));
            Assert.Empty(await tx.LoadEventsAsync(ws.Id, [id, existing.Id], EventNameFilter.For([]), Ct));
            var kinds = await tx.LoadIdentityKindsAsync(ws.Id, [id, existing.Id], Ct);
            Assert.Equal([IdentityKinds.UserId], kinds[id]);
            Assert.Equal(new HashSet<string> { IdentityKinds.Email, IdentityKinds.Phone }, kinds[existing.Id].ToHashSet());

            // Readers see the committed state only.
            Assert.Equal([new Membership(seg, T0)], await Store.GetProfileMembershipsAsync(ws.Id, existing.Id, Ct));
            Assert.Equal(["old"], Ids(await Store.GetEventsForProfilesAsync(ws.Id, [id, existing.Id], clicked, Ct)));
            Assert.Equal([IdentityKinds.Email], (await Store.GetIdentityKindsAsync(ws.Id, [id, existing.Id], Ct))[existing.Id]);
            Assert.Null(await Store.GetNextSegmentCheckDueAsync(Ct));
            Assert.Single(await Store.GetSegmentChangesAsync(ws.Id, null, 0, 10, Ct));
        } // disposed without commit

        Assert.Equal([new Membership(seg, T0)], await Store.GetProfileMembershipsAsync(ws.Id, existing.Id, Ct));
        Assert.Equal(1, await Store.CountSegmentMembersAsync(ws.Id, seg, Ct));
        Assert.Single(await Store.GetSegmentChangesAsync(ws.Id, null, 0, 10, Ct));
        Assert.Null(await Store.GetNextSegmentCheckDueAsync(Ct));
        Assert.Equal(["old"], Ids(await Store.GetEventsForProfilesAsync(ws.Id, [existing.Id], clicked, Ct)));
        await using (var tx = await Store.BeginAsync(Ct))
        {
            AssertState(new ProfileSegmentState(Members((seg, T0)), null), (await tx.LoadSegmentStateAsync(ws.Id, [existing.Id], Ct))[existing.Id]);
            Assert.Equal([IdentityKinds.Email], (await tx.LoadIdentityKindsAsync(ws.Id, [existing.Id], Ct))[existing.Id]);
            Assert.Empty(await tx.LoadIdentityKindsAsync(ws.Id, [], Ct));
        }
    }

    [Fact]
    public async Task Committed_segment_writes_are_visible_to_readers()
    {
        var ws = await NewWorkspaceAsync();
        var p = (await CreateProfilesAsync(ws.Id, 1))[0];
        var seg = (await Store.CreateSegmentAsync(Segment(ws.Id, "s"), Ct)).Key;
        await InTxAsync(async tx =>
        {
            await tx.ApplySegmentChangesAsync([Enter(ws.Id, seg, p.Id, T0)], Ct);
            await tx.SetSegmentChecksAsync([(ws.Id, p.Id, T0.AddHours(1))], Ct);
        });
        Assert.Equal([new Membership(seg, T0)], await Store.GetProfileMembershipsAsync(ws.Id, p.Id, Ct));
        Assert.Equal(T0.AddHours(1), await Store.GetNextSegmentCheckDueAsync(Ct));
    }

    [Fact]
    public async Task Empty_segment_batches_are_fine()
    {
        var ws = await NewWorkspaceAsync();
        await InTxAsync(async tx =>
        {
            await tx.ApplySegmentChangesAsync([], Ct);
            await tx.SetSegmentChecksAsync([], Ct);
            Assert.Empty(await tx.LoadEventsAsync(ws.Id, [], EventNameFilter.For(["x"]), Ct));
        });
        Assert.Empty(await Store.GetSegmentChangesAsync(ws.Id, null, 0, 10, Ct));
    }

    // ---- merge and erasure -----------------------------------------------------------------------

    [Fact]
    public async Task Merging_drops_the_merged_profiles_memberships_and_check_and_keeps_its_history()
    {
        var ws = await NewWorkspaceAsync();
        var ps = await CreateProfilesAsync(ws.Id, 2);
        ProfileRecord survivor = ps[0], merged = ps[1];
        var s1 = (await Store.CreateSegmentAsync(Segment(ws.Id, "s1"), Ct)).Key;
        var s2 = (await Store.CreateSegmentAsync(Segment(ws.Id, "s2"), Ct)).Key;
        await ApplyAsync(Enter(ws.Id, s1, survivor.Id, T0), Enter(ws.Id, s1, merged.Id, T0.AddSeconds(1)), Enter(ws.Id, s2, merged.Id, T0.AddSeconds(2)));
        await SetChecksAsync((ws.Id, survivor.Id, T0.AddHours(3)), (ws.Id, merged.Id, T0.AddHours(1)));

        await InTxAsync(async tx =>
        {
            await tx.MergeProfilesAsync(ws.Id, merged.Id, merged.Version, survivor.Id, Ct);
            var state = await tx.LoadSegmentStateAsync(ws.Id, [merged.Id, survivor.Id], Ct);
            AssertState(ProfileSegmentState.Empty, state[merged.Id]);
            AssertState(new ProfileSegmentState(Members((s1, T0)), T0.AddHours(3)), state[survivor.Id]);
        });

        Assert.Empty(await Store.GetProfileMembershipsAsync(ws.Id, merged.Id, Ct));
        Assert.Equal([new Membership(s1, T0)], await Store.GetProfileMembershipsAsync(ws.Id, survivor.Id, Ct));
        Assert.Equal(1, await Store.CountSegmentMembersAsync(ws.Id, s1, Ct));
        Assert.Equal(0, await Store.CountSegmentMembersAsync(ws.Id, s2, Ct));
        Assert.Equal(T0.AddHours(3), await Store.GetNextSegmentCheckDueAsync(Ct));
        Assert.Equal([survivor.Id, merged.Id, merged.Id], (await Store.GetSegmentChangesAsync(ws.Id, null, 0, 10, Ct)).Select(c => c.ProfileId));
    }

    [Fact]
    public async Task Erasure_removes_memberships_history_and_check_of_the_profile_only()
    {
        var ws = await NewWorkspaceAsync();
        var ps = await CreateProfilesAsync(ws.Id, 2);
        ProfileRecord victim = ps[0], bystander = ps[1];
        var seg = (await Store.CreateSegmentAsync(Segment(ws.Id, "s"), Ct)).Key;
        await ApplyAsync(Enter(ws.Id, seg, victim.Id, T0), Enter(ws.Id, seg, bystander.Id, T0.AddSeconds(1)), Exit(ws.Id, seg, victim.Id, T0.AddSeconds(2)),
            Enter(ws.Id, seg, victim.Id, T0.AddSeconds(3)));
        await SetChecksAsync((ws.Id, victim.Id, T0.AddHours(1)), (ws.Id, bystander.Id, T0.AddHours(2)));

        await InTxAsync(tx => tx.EraseProfileAsync(ws.Id, victim.Id, [], Ct));

        Assert.Empty(await Store.GetProfileMembershipsAsync(ws.Id, victim.Id, Ct));
        Assert.Equal([new SegmentMember(bystander.Id, null, T0.AddSeconds(1))], await Store.GetSegmentMembersAsync(ws.Id, seg, 0, 10, Ct));
        var left = Assert.Single(await Store.GetSegmentChangesAsync(ws.Id, seg, 0, 10, Ct));
        Assert.Equal(bystander.Id, left.ProfileId);
        Assert.Equal([new SegmentHistoryBucket(T0, 1, 0)], await Store.GetSegmentHistoryAsync(ws.Id, seg, T0, T0.AddHours(1), TimeSpan.FromHours(1), Ct));
        Assert.Equal(T0.AddHours(2), await Store.GetNextSegmentCheckDueAsync(Ct));
        Assert.Equal([bystander.Id], (await Store.GetDueSegmentChecksAsync(T0.AddDays(1), 10, Ct)).Select(c => c.ProfileId));
    }
}
