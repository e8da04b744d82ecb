using System.Globalization;
using Chuda.Domain.Journeys;
using Chuda.Domain.Segments;
using static Chuda.Domain.Tests.Journeys.JourneyTestKit;

namespace Chuda.Domain.Tests.Journeys;

public class JourneyWalkerTests
{
    private static readonly DateTimeOffset T = Utc(2026, 5, 1, 8, 0); // 16:00 in Shanghai, 10:00 in Berlin, 04:00 in New York

    private static Func<SegmentRule, bool> Tags(params string[] tags) => r => r is TagCondition t && tags.Contains(t.Tag) == t.Present;

    private static string Send(string id, string? next = null) =>
        $"{{\"id\":\"{id}\",\"type\":\"send\",\"template\":\"tpl-{id}\",\"channel\":\"email\"" + (next is null ? "}" : $",\"next\":\"{next}\"}}");

    // ---- a whole sample walk --------------------------------------------------------------------

    [Fact]
    public void Welcome_series_walks_from_entry_to_exit()
    {
        var d = Parse(Sample("welcome-series"));
        var profile = new FakeProfile(zone: "Asia/Shanghai");

        // Entering: the welcome e-mail at once, then wait for 10:00 local (tomorrow: it is 16:00 in Shanghai).
        var r1 = Enter(d, T, profile);
        Assert.Equal(Utc(2026, 5, 2, 2, 0), r1.DueAt);
        Assert.Null(r1.EndReason);
        Assert.Null(r1.WaitingFor);
        Assert.Equal(new WalkPosition("next-morning", T, 1), r1.Position);
        Assert.Equal(["welcome:entered", "welcome:completed", "next-morning:entered"], CountStrings(r1));
        Assert.Equal(["welcome", "next-morning"], r1.Passed);
        var welcome = Assert.IsType<SendEffect>(Assert.Single(r1.Effects));
        Assert.Equal(("welcome", 1, T, "welcome"), (welcome.StepId, welcome.Seq, welcome.At, welcome.Step.Template));

        // 10:00 local: the tip, then three days.
        var r2 = Resume(d, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile);
        Assert.Equal(Utc(2026, 5, 5, 2, 0), r2.DueAt);
        Assert.Equal(new WalkPosition("wait-3d", Utc(2026, 5, 2, 2, 0), 2), r2.Position);
        Assert.Equal(["next-morning:completed", "tips:entered", "tips:completed", "wait-3d:entered"], CountStrings(r2));
        Assert.Equal(["tips", "wait-3d"], r2.Passed);
        Assert.Equal(("tips", 2, Utc(2026, 5, 2, 2, 0)), (r2.Effects[0].StepId, r2.Effects[0].Seq, r2.Effects[0].At));

        // Not activated: the nudge, then the exit step.
        var r3 = Resume(d, r2, WalkCause.TimerDue, r2.DueAt!.Value, profile);
        Assert.Equal("exit_step", r3.EndReason);
        Assert.Null(r3.DueAt);
        Assert.Equal(new WalkPosition("done", Utc(2026, 5, 5, 2, 0), 3), r3.Position);
        Assert.Equal(
            ["wait-3d:completed", "activated?:entered", "activated?:completed", "nudge:entered", "nudge:completed", "done:entered", "done:completed",
             "done:exited:exit_step"],
            CountStrings(r3));
        Assert.Equal(("nudge", 3), (r3.Effects.Single().StepId, r3.Effects.Single().Seq));
        var (rule, now) = Assert.Single(profile.Asked);
        Assert.Equal(new EventPerformedCondition(new EventMatcher("Activated", []), EventCount.Once, null), rule);
        Assert.Equal(Utc(2026, 5, 5, 2, 0), now);

        // Activated: straight to the exit, no nudge.
        profile.HoldsRule = _ => true;
        var r3b = Resume(d, r2, WalkCause.TimerDue, r2.DueAt!.Value, profile);
        Assert.Equal("exit_step", r3b.EndReason);
        Assert.Empty(r3b.Effects);
        Assert.Equal(["wait-3d:completed", "activated?:entered", "activated?:completed", "done:entered", "done:completed", "done:exited:exit_step"],
            CountStrings(r3b));
    }

    [Fact]
    public void Funnel_counts_over_a_whole_walk_add_up()
    {
        var d = Parse(Sample("welcome-series"));
        var profile = new FakeProfile(zone: "Europe/Berlin");
        var all = new List<StepCount>();
        var r = Enter(d, T, profile);
        all.AddRange(r.Counts);
        while (r.EndReason is null)
        {
            r = Resume(d, r, WalkCause.TimerDue, r.DueAt!.Value, profile);
            all.AddRange(r.Counts);
        }

        var byKind = all.GroupBy(c => c.Kind).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(7, byKind["entered"]); // welcome, next-morning, tips, wait-3d, activated?, nudge, done
        Assert.Equal(byKind["entered"], byKind["completed"]);
        Assert.Equal(1, byKind["exited:exit_step"]);
        Assert.Equal(3, byKind.Count);
        Assert.Equal(["welcome", "next-morning", "tips", "wait-3d", "activated?", "nudge", "done"],
            all.Where(c => c.Kind == "entered").Select(c => c.StepId).Distinct());
    }

    // ---- effects and their sequence numbers -----------------------------------------------------

    [Fact]
    public void Effects_get_increasing_sequence_numbers_from_the_position()
    {
        var d = Parse(Sample("security-alert"));
        var profile = new FakeProfile();
        var r = JourneyWalker.Walk(d, new WalkPosition("alert", T, 41), WalkCause.Entered, T, profile, default, NoVariants);
        Assert.Equal([42, 43, 44], r.Effects.Select(e => e.Seq));
        Assert.Equal(44, r.Position.Seq);
        Assert.IsType<SendEffect>(r.Effects[0]);
        var update = Assert.IsType<UpdateEffect>(r.Effects[1]);
        Assert.Equal(["security-review"], update.Step.AddTags);
        Assert.Same(update.Step, Assert.Single(profile.Updates)); // applied to the profile within the walk
        var hook = Assert.IsType<WebhookEffect>(r.Effects[2]);
        Assert.Equal(("notify-soc", "https://soc.example.com/hooks/failed-logins", "POST"), (hook.StepId, hook.Step.Url, hook.Step.Method));
        Assert.All(r.Effects, e => Assert.Equal(T, e.At));
        Assert.Equal("completed", r.EndReason);
        Assert.Equal(
            ["alert:entered", "alert:completed", "tag:entered", "tag:completed", "notify-soc:entered", "notify-soc:completed", "notify-soc:exited:completed"],
            CountStrings(r));
    }

    [Fact]
    public void Sequence_numbers_continue_across_waits()
    {
        var d = Parse(Sample("abandoned-cart"));
        var profile = new FakeProfile();
        var r1 = Enter(d, T, profile);
        Assert.Empty(r1.Effects);
        Assert.Equal(T.AddMinutes(30), r1.DueAt);
        var r2 = Resume(d, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile);
        Assert.Equal(("push-reminder", 1), (r2.Effects.Single().StepId, r2.Effects.Single().Seq));
        Assert.Equal(T.AddHours(24), r2.DueAt);
        var r3 = Resume(d, r2, WalkCause.TimerDue, r2.DueAt!.Value, profile);
        var sms = Assert.IsType<SendEffect>(r3.Effects.Single());
        Assert.Equal(("sms-coupon", 2, T.AddHours(24)), (sms.StepId, sms.Seq, sms.At));
        Assert.Equal(["sms", "email"], sms.Step.Channels);
        Assert.Equal("completed", r3.EndReason);
    }

    [Fact]
    public void A_task_goes_to_the_owner_trait_else_to_the_queue()
    {
        var d = Parse(Sample("b2b-lead-follow-up"));
        var owned = Enter(d, T, new FakeProfile("""{"owner":"alice@example.com"}"""));
        var task = Assert.IsType<TaskEffect>(owned.Effects[0]);
        Assert.Equal(("alice@example.com", false, T.AddMinutes(5), 1), (task.Assignee, task.FromQueue, task.DueAt, task.Seq));
        Assert.Equal(("ack", 2), (owned.Effects[1].StepId, owned.Effects[1].Seq));
        Assert.Equal("completed", owned.EndReason);

        foreach (var traits in new[] { "{}", """{"owner":""}""", """{"owner":42}""", """{"owner":null}""" })
        {
            var queued = Assert.IsType<TaskEffect>(Enter(d, T, new FakeProfile(traits)).Effects[0]);
            Assert.Equal(("inbound-sales", true), (queued.Assignee, queued.FromQueue));
        }
    }

    [Fact]
    public void A_task_reads_a_nested_assignee_trait()
    {
        var d = Parse(WithSteps("""{"id":"t","type":"task","title":"Call","assignee_trait":"account.owner","queue":"q","due_in":"P1D"}"""));
        var task = Assert.IsType<TaskEffect>(Enter(d, T, new FakeProfile("""{"account":{"owner":"bob"}}""")).Effects.Single());
        Assert.Equal(("bob", false, T.AddDays(1)), (task.Assignee, task.FromQueue, task.DueAt));
    }

    // ---- branches -------------------------------------------------------------------------------

    private static readonly JourneyDefinition Branchy = Parse(WithSteps("""
        {"id":"br","type":"branch","branches":[
           {"when":{"entry":[{"property":"plan","op":"eq","value":"pro"}],"profile":{"tag":"vip"}},"next":"pro-vip"},
           {"when":{"entry":[{"property":"plan","op":"eq","value":"pro"}]},"next":"pro"},
           {"when":{"profile":{"tag":"vip"}},"next":"vip"},
           {"when":{"profile":{"tag":"stop"}}}],
         "else":"other"},
        """ + Send("pro-vip") + "," + Send("pro") + "," + Send("vip") + "," + Send("other")));

    [Theory]
    [InlineData("""{"plan":"pro"}""", "vip", "pro-vip")]
    [InlineData("""{"plan":"pro"}""", "", "pro")]
    [InlineData("""{"plan":"free"}""", "vip", "vip")]
    [InlineData("""{"plan":"free"}""", "", "other")]
    [InlineData("{}", "stop", null)]
    [InlineData(null, "vip", "vip")]
    [InlineData(null, "", "other")]
    public void The_first_arm_that_holds_wins(string? entry, string tag, string? expected)
    {
        var profile = new FakeProfile(holds: Tags(tag));
        var r = Enter(Branchy, T, profile, entry is null ? default : Json(entry));
        if (expected is null)
        {
            Assert.Equal(["br"], r.Passed);
            Assert.Equal("completed", r.EndReason);
            Assert.Equal(["br:entered", "br:completed", "br:exited:completed"], CountStrings(r));
            return;
        }

        Assert.Equal(["br", expected], r.Passed);
        Assert.Equal("tpl-" + expected, Assert.IsType<SendEffect>(r.Effects.Single()).Step.Template);
    }

    [Fact]
    public void The_profile_rule_is_not_asked_when_the_entry_filter_fails()
    {
        var profile = new FakeProfile(holds: Tags("vip"));
        Enter(Branchy, T, profile, Json("""{"plan":"free"}"""));
        // Arm 0 fails on the entry filter (no question), arm 1 has no profile rule, arm 2 asks: one question in all.
        var (rule, now) = Assert.Single(profile.Asked);
        Assert.Equal(new TagCondition("vip", true), rule);
        Assert.Equal(T, now);
    }

    [Fact]
    public void Holds_needs_both_parts()
    {
        var entry = new[] { new PropertyFilter("n", Comparison.Scalar(ComparisonOperator.Gte, new NumberValue(2))) };
        var rule = new TagCondition("vip", true);
        var vip = new FakeProfile(holds: Tags("vip"));
        var plain = new FakeProfile();
        Assert.True(JourneyWalker.Holds(new BranchCondition(null, []), plain, default, T));
        Assert.True(JourneyWalker.Holds(new BranchCondition(rule, entry), vip, Json("""{"n":3}"""), T));
        Assert.False(JourneyWalker.Holds(new BranchCondition(rule, entry), plain, Json("""{"n":3}"""), T));
        Assert.False(JourneyWalker.Holds(new BranchCondition(rule, entry), vip, Json("""{"n":1}"""), T));
        Assert.False(JourneyWalker.Holds(new BranchCondition(null, entry), vip, default, T)); // no entry event: filters fail
        Assert.True(JourneyWalker.Holds(new BranchCondition(rule, []), vip, default, T));
    }

    // ---- splits ---------------------------------------------------------------------------------

    private static SplitStep WinBackSplit => (SplitStep)Parse(Sample("win-back")).Step("split")!;

    [Fact]
    public void Pick_is_stable_per_key_and_step()
    {
        var split = WinBackSplit;
        for (var i = 0; i < 200; i++)
        {
            var key = "user-" + i.ToString(CultureInfo.InvariantCulture);
            Assert.Same(JourneyWalker.Pick(split, key), JourneyWalker.Pick(split, key));
            Assert.Equal(JourneyWalker.Pick(split, key), JourneyWalker.Pick(split with { }, key));
        }
    }

    [Fact]
    public void Pick_follows_the_weights_over_ten_thousand_keys()
    {
        var split = WinBackSplit;
        var counts = Enumerable.Range(0, 10_000).Select(i => JourneyWalker.Pick(split, "profile-" + i.ToString(CultureInfo.InvariantCulture)).Name)
            .GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(["coupon-10", "coupon-20", "holdout"], counts.Keys.Order());
        Assert.InRange(counts["coupon-20"], 4_300, 4_700);
        Assert.InRange(counts["coupon-10"], 4_300, 4_700);
        Assert.InRange(counts["holdout"], 800, 1_200);

        var uneven = new SplitStep("s", [new SplitVariant("a", 1, null), new SplitVariant("b", 3, null)], null);
        var a = Enumerable.Range(0, 10_000).Count(i => JourneyWalker.Pick(uneven, "k" + i.ToString(CultureInfo.InvariantCulture)).Name == "a");
        Assert.InRange(a, 2_300, 2_700);
    }

    [Fact]
    public void Picks_of_different_steps_are_independent()
    {
        var s1 = new SplitStep("s1", [new SplitVariant("a", 1, null), new SplitVariant("b", 1, null)], null);
        var s2 = s1 with { Id = "s2" };
        var same = Enumerable.Range(0, 10_000).Count(i =>
        {
            var key = "k" + i.ToString(CultureInfo.InvariantCulture);
            return JourneyWalker.Pick(s1, key).Name == JourneyWalker.Pick(s2, key).Name;
        });
        Assert.InRange(same, 4_700, 5_300); // like two coins, not the same coin
    }

    [Fact]
    public void A_single_variant_takes_everyone()
    {
        var s = new SplitStep("s", [new SplitVariant("only", 7, "x")], null);
        Assert.All(Enumerable.Range(0, 100), i => Assert.Equal("only", JourneyWalker.Pick(s, i.ToString(CultureInfo.InvariantCulture)).Name));
    }

    private static string KeyPicking(SplitStep split, string variant) =>
        Enumerable.Range(0, 10_000).Select(i => "user-" + i.ToString(CultureInfo.InvariantCulture)).First(k => JourneyWalker.Pick(split, k).Name == variant);

    [Fact]
    public void A_split_records_the_variant_and_follows_it()
    {
        var d = Parse(Sample("win-back"));
        var profile = new FakeProfile(key: KeyPicking(WinBackSplit, "coupon-10"));
        var r1 = Enter(d, T, profile);
        Assert.Equal(T.AddDays(7), r1.DueAt);
        Assert.Empty(r1.Variants);
        var r2 = Resume(d, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile);
        Assert.Equal("coupon-10", r2.Variants["split"]);
        Assert.Equal("coupon-10", Assert.IsType<SendEffect>(r2.Effects.Single()).Step.Template);
        Assert.Equal(2, r2.Effects.Single().Seq);
        Assert.Equal("completed", r2.EndReason);
        Assert.Equal(["wait-7d:completed", "split:entered", "split:completed", "coupon-10:entered", "coupon-10:completed", "coupon-10:exited:completed"],
            CountStrings(r2));
    }

    [Fact]
    public void A_holdout_without_next_ends_the_walk()
    {
        var d = Parse(Sample("win-back"));
        var profile = new FakeProfile(key: KeyPicking(WinBackSplit, "holdout"));
        var r1 = Enter(d, T, profile);
        var r2 = Resume(d, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile);
        Assert.Equal("holdout", r2.EndReason);
        Assert.Equal("holdout", r2.Variants["split"]);
        Assert.Empty(r2.Effects);
        Assert.Equal(new WalkPosition("split", T.AddDays(7), 1), r2.Position);
        Assert.Equal(["wait-7d:completed", "split:entered", "split:completed", "split:exited:holdout"], CountStrings(r2));
    }

    [Fact]
    public void A_holdout_with_next_continues()
    {
        var d = Parse(WithSteps("""
            {"id":"s","type":"split","variants":[{"name":"test","weight":1,"next":"test"}],"holdout":{"weight":1,"next":"control"}},
            """ + Send("test") + "," + Send("control")));
        var split = (SplitStep)d.Step("s")!;
        var r = Enter(d, T, new FakeProfile(key: KeyPicking(split, "holdout")));
        Assert.Equal(["s", "control"], r.Passed);
        Assert.Equal("holdout", r.Variants["s"]);
        Assert.Equal("completed", r.EndReason);
    }

    [Fact]
    public void Earlier_variants_are_kept()
    {
        var d = Parse(WithSteps(Send("a")));
        var earlier = new Dictionary<string, string> { ["other-split"] = "b" };
        var r = JourneyWalker.Walk(d, new WalkPosition("a", T, 0), WalkCause.Entered, T, new FakeProfile(), default, earlier);
        Assert.Equal("b", r.Variants["other-split"]);
        Assert.Single(r.Variants);
    }

    // ---- wait for an event ----------------------------------------------------------------------

    [Fact]
    public void A_wait_for_event_waits_with_its_timeout()
    {
        var d = Parse(Sample("payment-failed"));
        var r = Enter(d, T, new FakeProfile());
        Assert.Equal(T.AddDays(2), r.DueAt);
        Assert.Same(d.Step("wait-retry"), r.WaitingFor);
        Assert.Equal(("Payment Succeeded", "invoice_id"), (r.WaitingFor!.Match.Event, r.WaitingFor.MatchKey));
        Assert.Equal(new WalkPosition("wait-retry", T, 1), r.Position);
        Assert.Equal(["notice:entered", "notice:completed", "wait-retry:entered"], CountStrings(r));
    }

    [Fact]
    public void The_event_resumes_to_on_event()
    {
        var d = Parse(Sample("payment-failed"));
        var profile = new FakeProfile();
        var waiting = Enter(d, T, profile);
        var r = Resume(d, waiting, WalkCause.EventArrived, T.AddHours(3), profile);
        Assert.Equal("exit_step", r.EndReason);
        Assert.Empty(r.Effects);
        Assert.Null(r.WaitingFor);
        Assert.Equal(["wait-retry:completed", "done:entered", "done:completed", "done:exited:exit_step"], CountStrings(r));
        Assert.Equal(T.AddHours(3), r.Position.StepEnteredAt);
    }

    [Fact]
    public void The_timeout_resumes_to_on_timeout_and_counts_timed_out()
    {
        var d = Parse(Sample("payment-failed"));
        var profile = new FakeProfile();
        var waiting = Enter(d, T, profile);
        var at = waiting.DueAt!.Value;
        var r = Resume(d, waiting, WalkCause.TimerDue, at, profile);
        Assert.Equal("exit_step", r.EndReason);
        Assert.Equal(
            ["wait-retry:timed_out", "wait-retry:completed", "reminder:entered", "reminder:completed", "billing-task:entered", "billing-task:completed",
             "done:entered", "done:completed", "done:exited:exit_step"],
            CountStrings(r));
        Assert.Equal([2, 3], r.Effects.Select(e => e.Seq));
        var task = Assert.IsType<TaskEffect>(r.Effects[1]);
        Assert.Equal(("billing", true, at.AddDays(1)), (task.Assignee, task.FromQueue, task.DueAt));
    }

    [Fact]
    public void A_wait_for_event_without_a_branch_for_the_outcome_ends()
    {
        var d = Parse(WithSteps("""{"id":"w","type":"wait_for_event","event":"E","timeout":"PT1H","on_event":"s"},""" + Send("s")));
        var profile = new FakeProfile();
        var waiting = Enter(d, T, profile);
        var timedOut = Resume(d, waiting, WalkCause.TimerDue, T.AddHours(1), profile);
        Assert.Equal("completed", timedOut.EndReason);
        Assert.Equal(["w:timed_out", "w:completed", "w:exited:completed"], CountStrings(timedOut));
        var arrived = Resume(d, waiting, WalkCause.EventArrived, T.AddMinutes(5), profile);
        Assert.Equal(["w:completed", "s:entered", "s:completed", "s:exited:completed"], CountStrings(arrived));
    }

    // ---- wait until a local time ----------------------------------------------------------------

    private static readonly JourneyDefinition AtTen = Parse(WithSteps("""{"id":"w","type":"wait","until_time":"10:00","next":"s"},""" + Send("s")));

    [Fact]
    public void A_local_time_wait_fires_and_continues_when_the_zone_is_unchanged()
    {
        var profile = new FakeProfile(zone: "Asia/Shanghai");
        var r1 = Enter(AtTen, T, profile);
        Assert.Equal(Utc(2026, 5, 2, 2, 0), r1.DueAt);
        var r2 = Resume(AtTen, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile);
        Assert.Equal("completed", r2.EndReason);
        Assert.Equal(["w:completed", "s:entered", "s:completed", "s:exited:completed"], CountStrings(r2));
    }

    [Fact]
    public void A_local_time_wait_is_resolved_again_when_the_profile_changed_zone()
    {
        var profile = new FakeProfile(zone: "Asia/Shanghai");
        var r1 = Enter(AtTen, T, profile);
        Assert.Equal(Utc(2026, 5, 2, 2, 0), r1.DueAt); // 10:00 in Shanghai

        profile.TimeZone = "Europe/Berlin"; // moved: 10:00 in Berlin is six hours later
        var r2 = Resume(AtTen, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile);
        Assert.Equal(Utc(2026, 5, 2, 8, 0), r2.DueAt);
        Assert.Null(r2.EndReason);
        Assert.Empty(r2.Effects);
        Assert.Empty(r2.Counts);
        Assert.Empty(r2.Passed);
        Assert.Equal(new WalkPosition("w", T, 0), r2.Position); // still the same wait, entered at T

        var r3 = Resume(AtTen, r2, WalkCause.TimerDue, r2.DueAt!.Value, profile);
        Assert.Equal("completed", r3.EndReason);
        Assert.Equal(["w:completed", "s:entered", "s:completed", "s:exited:completed"], CountStrings(r3));
    }

    [Fact]
    public void A_local_time_wait_continues_at_once_when_the_new_zone_reached_it_already()
    {
        var profile = new FakeProfile(zone: "America/New_York");
        var r1 = Enter(AtTen, T, profile); // 04:00 in New York
        Assert.Equal(Utc(2026, 5, 1, 14, 0), r1.DueAt);
        profile.TimeZone = "Europe/London"; // T is 09:00 in London: its 10:00 (09:00Z) came before the timer
        var r2 = Resume(AtTen, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile);
        Assert.Equal("completed", r2.EndReason);
        Assert.Equal(Utc(2026, 5, 1, 14, 0), r2.Effects.Single().At);
    }

    [Fact]
    public void A_local_time_wait_uses_the_profile_zone_else_the_journey_zone_else_utc()
    {
        var withZone = Parse(WithSteps("""{"id":"w","type":"wait","until_time":"10:00","next":"s"},""" + Send("s"), "\"time_zone\":\"Asia/Shanghai\","));
        Assert.Equal(Utc(2026, 5, 2, 2, 0), Enter(withZone, T, new FakeProfile()).DueAt);
        Assert.Equal(Utc(2026, 5, 2, 2, 0), Enter(withZone, T, new FakeProfile(zone: "Not/AZone")).DueAt);
        Assert.Equal(Utc(2026, 5, 1, 14, 0), Enter(withZone, T, new FakeProfile(zone: "America/New_York")).DueAt);
        Assert.Equal(Utc(2026, 5, 1, 10, 0), Enter(AtTen, T, new FakeProfile()).DueAt);
        Assert.Equal(Shanghai, JourneyWalker.Zone(withZone, new FakeProfile()));
        Assert.Equal(TimeZoneInfo.Utc, JourneyWalker.Zone(AtTen, new FakeProfile()));
    }

    [Fact]
    public void A_local_time_wait_with_days_waits_for_the_day()
    {
        var d = Parse(WithSteps("""{"id":"w","type":"wait","until_time":"09:30","days":["sat","sun"],"next":"s"},""" + Send("s")));
        Assert.Equal(Utc(2026, 5, 2, 7, 30), Enter(d, T, new FakeProfile(zone: "Europe/Berlin")).DueAt); // Friday → Saturday 09:30 CEST
    }

    [Fact]
    public void A_duration_wait_resumes_to_its_next()
    {
        var d = Parse(WithSteps("""{"id":"w","type":"wait","duration":"PT90M","next":"s"},""" + Send("s")));
        var profile = new FakeProfile();
        var r1 = Enter(d, T, profile);
        Assert.Equal(T.AddMinutes(90), r1.DueAt);
        var r2 = Resume(d, r1, WalkCause.TimerDue, T.AddMinutes(91), profile); // a late timer still continues
        Assert.Equal("completed", r2.EndReason);
        Assert.Equal(T.AddMinutes(91), r2.Effects.Single().At);
    }

    // ---- wait until a date trait ----------------------------------------------------------------

    private static readonly JourneyDefinition UntilRenewal = Parse(WithSteps(
        """{"id":"w","type":"wait","until_trait":"billing.renewal","offset":"-P1D","at":"09:00","next":"s"},""" + Send("s")));

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"billing":{}}""")]
    [InlineData("""{"billing":{"renewal":null}}""")]
    [InlineData("""{"billing":{"renewal":20260601}}""")]
    [InlineData("""{"billing":{"renewal":"soon"}}""")]
    [InlineData("""{"billing":{"renewal":"2026-04-01"}}""")]
    [InlineData("""{"billing":{"renewal":"2026-05-02"}}""")] // one day before at 09:00 = 1 May 09:00 CEST = 07:00Z: just past
    public void A_trait_wait_with_a_missing_or_past_date_continues_at_once(string traits)
    {
        var r = Enter(UntilRenewal, T, new FakeProfile(traits, zone: "Europe/Berlin"));
        Assert.Null(r.DueAt);
        Assert.Equal("completed", r.EndReason);
        Assert.Equal(["w:entered", "w:completed", "s:entered", "s:completed", "s:exited:completed"], CountStrings(r));
    }

    [Fact]
    public void A_trait_wait_due_exactly_now_continues()
    {
        // 2 May minus one day at 10:00 Berlin = 1 May 08:00Z = T.
        var d = Parse(WithSteps("""{"id":"w","type":"wait","until_trait":"d","offset":"-P1D","at":"10:00","next":"s"},""" + Send("s")));
        Assert.Equal("completed", Enter(d, T, new FakeProfile("""{"d":"2026-05-02"}""", zone: "Europe/Berlin")).EndReason);
    }

    [Fact]
    public void A_trait_wait_with_a_future_date_waits_and_follows_a_moved_date()
    {
        var profile = new FakeProfile("""{"billing":{"renewal":"2026-06-01"}}""", zone: "Europe/Berlin");
        var r1 = Enter(UntilRenewal, T, profile);
        Assert.Equal(Utc(2026, 5, 31, 7, 0), r1.DueAt); // 31 May 09:00 CEST
        Assert.Equal(["w:entered"], CountStrings(r1));

        // The renewal moved later before the timer fired: wait again.
        profile.Traits = Json("""{"billing":{"renewal":"2026-06-10"}}""");
        var r2 = Resume(UntilRenewal, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile);
        Assert.Equal(Utc(2026, 6, 9, 7, 0), r2.DueAt);
        Assert.Empty(r2.Counts);
        Assert.Equal(new WalkPosition("w", T, 0), r2.Position);

        // The trait was removed: continue.
        profile.Traits = Json("{}");
        var r3 = Resume(UntilRenewal, r2, WalkCause.TimerDue, r2.DueAt!.Value, profile);
        Assert.Equal("completed", r3.EndReason);
        Assert.Equal(["w:completed", "s:entered", "s:completed", "s:exited:completed"], CountStrings(r3));
    }

    [Fact]
    public void Trial_expiry_sends_at_ten_local_before_and_after_the_trial_end()
    {
        var d = Parse(Sample("trial-expiry"));
        var profile = new FakeProfile("""{"trial_end":"2026-06-10"}""", zone: "America/New_York");
        var entered = Utc(2026, 6, 7, 14, 0); // 10:00 EDT, three days before
        var r1 = Enter(d, entered, profile);
        Assert.Equal(Utc(2026, 6, 9, 14, 0), r1.DueAt);
        Assert.Equal(("3-days-before", 1), (r1.Effects.Single().StepId, r1.Effects.Single().Seq));
        var r2 = Resume(d, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile);
        Assert.Equal(Utc(2026, 6, 11, 14, 0), r2.DueAt);
        Assert.Equal(("1-day-before", 2), (r2.Effects.Single().StepId, r2.Effects.Single().Seq));
        var r3 = Resume(d, r2, WalkCause.TimerDue, r2.DueAt!.Value, profile);
        Assert.Equal(("1-day-after", 3), (r3.Effects.Single().StepId, r3.Effects.Single().Seq));
        Assert.Equal("completed", r3.EndReason);
        Assert.Equal(["wait-1-day-after:completed", "1-day-after:entered", "1-day-after:completed", "1-day-after:exited:completed"], CountStrings(r3));
    }

    // ---- endings and guards ---------------------------------------------------------------------

    [Fact]
    public void An_exit_step_ends_with_exit_step()
    {
        var d = Parse(WithSteps(Send("a", "x") + ",{\"id\":\"x\",\"type\":\"exit\"}," + Send("never")));
        var r = Enter(d, T, new FakeProfile());
        Assert.Equal("exit_step", r.EndReason);
        Assert.Equal(new WalkPosition("x", T, 1), r.Position);
        Assert.Equal(["a:entered", "a:completed", "x:entered", "x:completed", "x:exited:exit_step"], CountStrings(r));
    }

    [Fact]
    public void A_walk_that_loops_without_a_wait_stops()
    {
        // The validator refuses this; the walker still must not spin forever.
        var d = new JourneyDefinition(1, "loop", null, new ApiTrigger(), null, ReEntryPolicy.Default, null, null, [], null, "a",
            [new BranchStep("a", [], "b"), new BranchStep("b", [], "a")]);
        var r = Enter(d, T, new FakeProfile());
        Assert.Equal("too_many_steps", r.EndReason);
        Assert.Equal("exited:too_many_steps", r.Counts[^1].Kind);
        Assert.Equal(JourneyWalker.MaxStepsPerWalk, r.Passed.Count);
    }

    [Fact]
    public void Resuming_a_step_that_does_not_wait_throws()
    {
        var d = Parse(WithSteps(Send("a")));
        Assert.Throws<InvalidOperationException>(() =>
            JourneyWalker.Walk(d, new WalkPosition("a", T, 0), WalkCause.TimerDue, T, new FakeProfile(), default, NoVariants));
        Assert.Throws<InvalidOperationException>(() =>
            JourneyWalker.Walk(d, new WalkPosition("ghost", T, 0), WalkCause.Entered, T, new FakeProfile(), default, NoVariants));
    }

    [Fact]
    public void Entry_properties_reach_branches_after_waits()
    {
        var d = Parse(WithSteps("""
            {"id":"w","type":"wait","duration":"PT1H","next":"br"},
            {"id":"br","type":"branch","branches":[{"when":{"entry":[{"property":"total","op":"gte","value":100}]},"next":"big"}],"else":"small"},
            """ + Send("big") + "," + Send("small")));
        var profile = new FakeProfile();
        var entry = Json("""{"total":250}""");
        var r1 = Enter(d, T, profile, entry);
        Assert.Equal(["br", "big"], Resume(d, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile, entry).Passed);
        Assert.Equal(["br", "small"], Resume(d, r1, WalkCause.TimerDue, r1.DueAt!.Value, profile, Json("""{"total":5}""")).Passed);
    }

    [Fact]
    public void Every_sample_can_be_walked_to_its_end()
    {
        foreach (var name in SampleNames)
        {
            var d = Parse(Sample(name));
            var profile = new FakeProfile("""{"trial_end":"2026-06-10","owner":"o"}""", zone: "Europe/Berlin");
            var at = T;
            var r = Enter(d, at, profile, Json("""{"cart_id":"c1","amount":5,"invoice_id":"i1","form":"contact-sales"}"""));
            var seq = 0;
            for (var hops = 0; r.EndReason is null; hops++)
            {
                Assert.True(hops < 10, name);
                Assert.True(r.DueAt > at, name);
                Assert.All(r.Effects, e => Assert.Equal(++seq, e.Seq));
                at = r.DueAt!.Value;
                r = Resume(d, r, WalkCause.TimerDue, at, profile);
            }

            Assert.All(r.Effects, e => Assert.Equal(++seq, e.Seq));
            Assert.Equal(seq, r.Position.Seq);
            Assert.Contains(r.EndReason, new[] { "completed", "exit_step", "holdout" });
        }
    }
}
