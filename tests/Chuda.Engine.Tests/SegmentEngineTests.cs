using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Engine.Profiles;
using Chuda.Testing;

namespace Chuda.Engine.Tests;

/// <summary>The examples, end to end through the engine: exact time flips, durable re-checks across a
/// restart, merges, backfill, and the recorded entered / exited changes with their causes.</summary>
public sealed class SegmentEngineTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 8, 6, 40, 0, TimeSpan.Zero); // 20 min before New York's DST change
    private readonly TempDirectory _data = new();
    private SegmentHarness _h = null!;

    public async Task InitializeAsync() => _h = await SegmentHarness.StartAsync(_data.Path, new FakeTimeProvider(T0));

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        _data.Dispose();
    }

    private const string AbandonedCart =
        """{"sequence":{"first":{"event":"Added To Cart"},"not_followed_by":{"event":"Order Completed"},"within":"PT30M","match":"cart_id"}}""";

    [Fact]
    public async Task Abandoned_cart_enters_exactly_30_minutes_after_the_add_and_never_for_an_ordered_cart()
    {
        await _h.CreateSegmentAsync("abandoned", AbandonedCart);
        await _h.SendAsync("""{"type":"track","userId":"ann","event":"Added To Cart","properties":{"cart_id":"c1"}}""");
        await _h.SendAsync("""{"type":"track","userId":"bob","event":"Added To Cart","properties":{"cart_id":"c2"}}""");
        _h.Time.Advance(TimeSpan.FromMinutes(10));
        // Bob orders a different cart first (does not count), then his own.
        await _h.SendAsync("""{"type":"track","userId":"bob","event":"Order Completed","properties":{"cart_id":"other"}}""");
        await _h.SendAsync("""{"type":"track","userId":"bob","event":"Order Completed","properties":{"cart_id":"c2"}}""");

        await _h.AdvanceToAsync(T0 + TimeSpan.FromMinutes(30) - TimeSpan.FromTicks(1));
        Assert.False(await _h.IsMemberAsync("abandoned", "ann"));
        await _h.AdvanceToAsync(T0 + TimeSpan.FromMinutes(30));
        Assert.True(await _h.IsMemberAsync("abandoned", "ann"));
        Assert.False(await _h.IsMemberAsync("abandoned", "bob"));

        // Preview evaluates from stored data and agrees (exact: every profile; history read only where needed).
        var rule = await _h.Service.ParseRuleAsync(_h.Workspace.Id, null, System.Text.Json.JsonDocument.Parse(AbandonedCart).RootElement, CancellationToken.None);
        var preview = await _h.Service.PreviewAsync(_h.Workspace.Id, rule, exact: true, CancellationToken.None);
        Assert.Equal((false, 1L, 2L), (preview.Estimate, preview.Count, preview.Evaluated));
        Assert.Equal("ann", Assert.Single(preview.Sample).UserId);

        var entered = Assert.Single(await _h.ChangesAsync("abandoned"));
        Assert.True(entered.Entered);
        Assert.Equal(T0 + TimeSpan.FromMinutes(30), entered.At);
        Assert.Equal(ChangeCauses.Time, entered.Cause);
        Assert.Equal(await _h.ProfileIdAsync("ann"), entered.ProfileId);
    }

    [Fact]
    public async Task Three_views_in_seven_days_exits_when_the_third_newest_turns_seven_days_old()
    {
        await _h.CreateSegmentAsync("pricing", """
            {"event":"Viewed Page","where":[{"property":"path","op":"eq","value":"/pricing"}],"count":{"op":"at_least","value":3},"within":"P7D"}
            """);
        var times = new[] { T0, T0 + TimeSpan.FromDays(1), T0 + TimeSpan.FromDays(2), T0 + TimeSpan.FromDays(3) };
        foreach (var t in times)
        {
            await _h.AdvanceToAsync(t);
            await _h.SendAsync("""{"type":"page","userId":"cy","name":"Pricing","properties":{"path":"/pricing"}}""");
        }
        Assert.True(await _h.IsMemberAsync("pricing", "cy"));
        // Four views: still three in the window when the oldest leaves (day 7), out when the second leaves (day 8).
        await _h.AdvanceToAsync(times[1] + TimeSpan.FromDays(7) - TimeSpan.FromTicks(1));
        Assert.True(await _h.IsMemberAsync("pricing", "cy"));
        await _h.AdvanceToAsync(times[1] + TimeSpan.FromDays(7));
        Assert.False(await _h.IsMemberAsync("pricing", "cy"));
        var changes = await _h.ChangesAsync("pricing");
        Assert.Equal([true, false], changes.Select(c => c.Entered));
        Assert.Equal(ChangeCauses.Event, changes[0].Cause);
        Assert.Equal(EventFact.ViewedPage, changes[0].Detail);
        Assert.Equal(times[2], changes[0].At);
        Assert.Equal(times[1] + TimeSpan.FromDays(7), changes[1].At);
        Assert.Equal(ChangeCauses.Time, changes[1].Cause);
    }

    [Fact]
    public async Task A_scheduled_flip_survives_a_restart()
    {
        await _h.CreateSegmentAsync("abandoned", AbandonedCart);
        await _h.SendAsync("""{"type":"track","userId":"dee","event":"Added To Cart","properties":{"cart_id":"c9"}}""");
        Assert.Equal(T0 + TimeSpan.FromMinutes(30), await _h.Store.GetNextSegmentCheckDueAsync(CancellationToken.None));

        await _h.RestartAsync(); // the re-check is a row, not a timer: nothing in memory carries it over
        await _h.AdvanceToAsync(T0 + TimeSpan.FromHours(5));
        Assert.True(await _h.IsMemberAsync("abandoned", "dee"));
        Assert.Equal(T0 + TimeSpan.FromMinutes(30), Assert.Single(await _h.ChangesAsync("abandoned")).At);
        Assert.Null(await _h.Store.GetNextSegmentCheckDueAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_merge_re_evaluates_the_survivor_and_records_the_exit_of_the_merged_profile()
    {
        await _h.CreateSegmentAsync("browsers", """{"event":"Viewed Page","count":{"op":"at_least","value":2}}""");
        await _h.SendAsync("""{"type":"page","anonymousId":"anon-1","name":"Home"}""");
        await _h.SendAsync("""{"type":"page","anonymousId":"anon-1","name":"Pricing"}""");
        var anonymous = await _h.Store.FindProfileIdAsync(_h.Workspace.Id, new IdentityKey(IdentityKinds.AnonymousId, "anon-1"), CancellationToken.None);
        Assert.True(await _h.IsMemberAsync("browsers", anonymous!.Value));
        await _h.SendAsync("""{"type":"identify","userId":"eve","traits":{"plan":"pro"}}""");
        Assert.False(await _h.IsMemberAsync("browsers", "eve"));

        await _h.SendAsync("""{"type":"identify","userId":"eve","anonymousId":"anon-1"}""");
        Assert.True(await _h.IsMemberAsync("browsers", "eve"));
        var changes = await _h.ChangesAsync("browsers");
        var eve = await _h.ProfileIdAsync("eve");
        var shown = string.Join("; ", changes.Select(c => $"{c.ProfileId} {c.Entered} {c.Cause}"));
        Assert.True(changes.Count == 3, shown + $" anonymous={anonymous} eve={eve}");
        Assert.Contains(changes, c => !c.Entered && c.ProfileId == anonymous.Value && c.Cause == ChangeCauses.MergedAway);
        Assert.Contains(changes, c => c.Entered && c.ProfileId == eve && c.Cause == ChangeCauses.Merge);
    }

    [Fact]
    public async Task Backfill_computes_existing_profiles_and_reports_progress()
    {
        for (var i = 0; i < 30; i++)
        {
            await _h.SendAsync($$$"""{"type":"identify","userId":"p{{{i}}}","traits":{"plan":"{{{(i % 3 == 0 ? "trial" : "pro")}}}"}}""");
        }
        var created = await _h.CreateSegmentAsync("trials", """{"trait":"plan","op":"eq","value":"trial"}""");
        Assert.Equal(SegmentStatus.Backfilling, created.Status);
        Assert.Equal(30, created.BackfillTotal);
        await _h.Backfill.RunPendingAsync(CancellationToken.None);

        var done = await _h.Store.GetSegmentAsync(_h.Workspace.Id, "trials", CancellationToken.None);
        Assert.Equal(SegmentStatus.Ready, done!.Status);
        Assert.Equal(30, done.BackfillDone);
        Assert.Equal(10, await _h.Store.CountSegmentMembersAsync(_h.Workspace.Id, done.Key, CancellationToken.None));
        Assert.All(await _h.ChangesAsync("trials"), c => Assert.Equal(ChangeCauses.Backfill, c.Cause));

        // An edit restarts the backfill with the new rule; live changes use the new rule at once.
        using var rule = System.Text.Json.JsonDocument.Parse("""{"trait":"plan","op":"eq","value":"pro"}""");
        var edited = await _h.Service.UpdateAsync(_h.Workspace.Id, "trials", new Chuda.Engine.Segments.SegmentInput(null, "pros", null, rule.RootElement), 1, CancellationToken.None);
        Assert.Equal(SegmentStatus.Backfilling, edited!.Status);
        await _h.SendAsync("""{"type":"identify","userId":"late","traits":{"plan":"pro"}}""");
        Assert.True(await _h.IsMemberAsync("trials", "late"));
        await _h.Backfill.RunPendingAsync(CancellationToken.None);
        Assert.Equal(21, await _h.Store.CountSegmentMembersAsync(_h.Workspace.Id, done.Key, CancellationToken.None));
    }

    [Fact]
    public async Task Member_of_follows_the_referenced_segment_including_its_time_flips()
    {
        await _h.CreateSegmentAsync("recent", """{"event":"Ping","within":"PT1H"}""");
        await _h.CreateSegmentAsync("recent_vip", """{"and":[{"member_of":"recent"},{"tag":"vip"}]}""");
        await _h.SendAsync("""{"type":"track","userId":"fay","event":"Ping"}""");
        Assert.False(await _h.IsMemberAsync("recent_vip", "fay"));
        await _h.SubmitAsync(new ChangeTags(_h.Workspace.Id, new IdentityKey(IdentityKinds.UserId, "fay"), ["vip"], []));
        Assert.True(await _h.IsMemberAsync("recent_vip", "fay"));
        await _h.AdvanceToAsync(T0 + TimeSpan.FromHours(1));
        Assert.False(await _h.IsMemberAsync("recent", "fay"));
        Assert.False(await _h.IsMemberAsync("recent_vip", "fay"));
        var exit = (await _h.ChangesAsync("recent_vip"))[^1];
        Assert.Equal((false, ChangeCauses.Segment, "recent"), (exit.Entered, exit.Cause, exit.Detail));
    }

    [Fact]
    public async Task A_flip_between_two_milliseconds_is_checked_at_the_next_millisecond_not_in_a_loop()
    {
        await _h.CreateSegmentAsync("trial_ending", """{"trait":"trial_ends_at","op":"within_next","value":"PT1H"}""");
        // Becomes true at 07:40:00.0005 — finer than the store keeps.
        await _h.SendAsync("""{"type":"identify","userId":"gus","traits":{"trial_ends_at":"2026-03-08T08:40:00.0005Z"}}""");
        var due = await _h.Store.GetNextSegmentCheckDueAsync(CancellationToken.None);
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 7, 40, 0, 1, TimeSpan.Zero), due);
        await _h.AdvanceToAsync(due!.Value);
        Assert.True(await _h.IsMemberAsync("trial_ending", "gus"));
        Assert.True(_h.Scheduler.Fired < 5, $"fired {_h.Scheduler.Fired} times");
    }

    [Fact]
    public async Task An_exact_count_split_between_parallel_readers_counts_every_profile_once()
    {
        for (var i = 0; i < 157; i++)
        {
            await _h.SendAsync($$$"""{"type":"track","userId":"r{{{i}}}","event":"{{{(i % 3 == 0 ? "Bought" : "Looked")}}}"}""");
        }
        var rule = await _h.Service.ParseRuleAsync(_h.Workspace.Id, null, System.Text.Json.JsonDocument.Parse("""{"event":"Bought"}""").RootElement, CancellationToken.None);
        var serial = await _h.Service.PreviewAsync(_h.Workspace.Id, rule, exact: true, CancellationToken.None);
        var parallel = await new Chuda.Engine.Segments.SegmentService(_h.Store, _h.Catalog, _h.Time, new Chuda.Engine.Segments.SegmentOptions { PreviewParallelThreshold = 10 })
            .PreviewAsync(_h.Workspace.Id, rule, exact: true, CancellationToken.None);
        Assert.Equal((53L, 157L), (serial.Count, serial.Evaluated));
        Assert.Equal((53L, 157L), (parallel.Count, parallel.Evaluated));
        Assert.Equal(serial.Sample.Select(m => m.UserId), parallel.Sample.Select(m => m.UserId)); // the 10 lowest ids either way
    }

    [Fact]
    public async Task Trait_kinds_are_inferred_from_stored_values_and_mixed_ones_stay_unknown()
    {
        await _h.SendAsync("""{"type":"identify","userId":"k1","traits":{"plan":"pro","age":30,"vip":true,"seen":"2026-01-02","note":"2026-01-02","mixed":1,"address":{"city":"Berlin"},"tags":["a"],"gone":null}}""");
        await _h.SendAsync("""{"type":"identify","userId":"k2","traits":{"plan":"free","age":41.5,"seen":"2026-02-03T10:00:00+08:00","note":"call back","mixed":"one"}}""");
        var schema = await Chuda.Engine.Segments.TraitSchema.InferAsync(_h.Store, _h.Workspace.Id, 500, CancellationToken.None);
        Assert.Equal(TraitKind.String, schema.KindOf("plan"));
        Assert.Equal(TraitKind.Number, schema.KindOf("age"));
        Assert.Equal(TraitKind.Boolean, schema.KindOf("vip"));
        Assert.Equal(TraitKind.Date, schema.KindOf("seen"));
        Assert.Equal(TraitKind.String, schema.KindOf("note")); // a date and a non-date string: a string trait
        Assert.Null(schema.KindOf("mixed"));                   // a number and a string: not checked
        Assert.Equal(TraitKind.Object, schema.KindOf("address"));
        Assert.Equal(TraitKind.String, schema.KindOf("address.city"));
        Assert.Equal(TraitKind.Array, schema.KindOf("tags"));
        Assert.Null(schema.KindOf("gone"));
        Assert.Null(schema.KindOf("never"));
    }
}
