using Chuda.Domain.Journeys;
using Chuda.Domain.Segments;
using static Chuda.Domain.Tests.Journeys.JourneyTestKit;

namespace Chuda.Domain.Tests.Journeys;

public class JourneyParserTests
{
    // ---- positive: every step type --------------------------------------------------------------

    [Fact]
    public void Parses_every_step_type_into_its_record()
    {
        var d = Parse(WithSteps("""
            {"id":"w-dur","type":"wait","duration":"PT1H30M","next":"w-time"},
            {"id":"w-time","type":"wait","until_time":"10:00","days":["mon","fri"],"next":"w-trait"},
            {"id":"w-trait","type":"wait","until_trait":"trial_end","offset":"-P1D","at":"09:30:15","next":"wfe"},
            {"id":"wfe","type":"wait_for_event","event":"Order Completed","where":[{"property":"total","op":"gt","value":10}],
             "match":"cart_id","timeout":"P2D","on_event":"br","on_timeout":"sp"},
            {"id":"br","type":"branch","branches":[
               {"when":{"profile":{"tag":"vip"}},"next":"send1"},
               {"when":{"entry":[{"property":"plan","op":"eq","value":"pro"}]},"next":"upd"},
               {"when":{"profile":{"member_of":"seg-a"},"entry":[{"property":"n","op":"exists"}]}}],
             "else":"hook"},
            {"id":"sp","type":"split","variants":[{"name":"a","weight":30,"next":"send1"},{"name":"b","weight":60}],
             "holdout":{"weight":10,"next":"end"}},
            {"id":"send1","type":"send","template":"tpl","channel":"push","next":"send2"},
            {"id":"send2","type":"send","template":"tpl2","channels":["sms","email"],"category":"transactional","dedup_key":"order"},
            {"id":"upd","type":"update_profile","set":{"a":{"b":1}},"unset":["old"],"add_tags":["x"],"remove_tags":["y","z"],"next":"task"},
            {"id":"hook","type":"webhook","url":"https://example.com/h?q=1","method":"put","headers":{"X-Key":"v"},"body":{"k":[1,2]}},
            {"id":"task","type":"task","title":"Call","note":"n","assignee_trait":"owner","queue":"sales","due_in":"PT5M","next":"end"},
            {"id":"end","type":"exit"}
            """));

        Assert.Equal(12, d.Steps.Count);
        Assert.Equal("w-dur", d.Start); // defaults to the first step
        Assert.Equal(new WaitDurationStep("w-dur", TimeSpan.FromMinutes(90), "w-time"), d.Steps[0]);

        var wt = Assert.IsType<WaitUntilTimeStep>(d.Steps[1]);
        Assert.Equal(new TimeOnly(10, 0), wt.At);
        Assert.Equal([DayOfWeek.Monday, DayOfWeek.Friday], wt.Days!);
        Assert.Equal("w-trait", wt.Then);
        Assert.True(wt.Waits);

        Assert.Equal(new WaitUntilTraitStep("w-trait", "trial_end", TimeSpan.FromDays(-1), new TimeOnly(9, 30, 15), "wfe"), d.Steps[2]);

        var wfe = Assert.IsType<WaitForEventStep>(d.Steps[3]);
        Assert.Equal("Order Completed", wfe.Match.Event);
        Assert.Equal(new PropertyFilter("total", Comparison.Scalar(ComparisonOperator.Gt, new NumberValue(10))), Assert.Single(wfe.Match.Where));
        Assert.Equal("cart_id", wfe.MatchKey);
        Assert.Equal(TimeSpan.FromDays(2), wfe.Timeout);
        Assert.Equal(("br", "sp"), (wfe.OnEvent, wfe.OnTimeout));
        Assert.Equal(["br", "sp"], wfe.Next);
        Assert.True(wfe.Waits);

        var br = Assert.IsType<BranchStep>(d.Steps[4]);
        Assert.Equal(3, br.Arms.Count);
        Assert.Equal(new TagCondition("vip", true), br.Arms[0].When.Profile);
        Assert.Empty(br.Arms[0].When.Entry);
        Assert.Null(br.Arms[1].When.Profile);
        Assert.Equal(new PropertyFilter("plan", Comparison.Scalar(ComparisonOperator.Eq, new StringValue("pro"))), Assert.Single(br.Arms[1].When.Entry));
        Assert.Equal(new SegmentMembershipCondition("seg-a"), br.Arms[2].When.Profile);
        Assert.Single(br.Arms[2].When.Entry);
        Assert.Null(br.Arms[2].Then);
        Assert.Equal("hook", br.Else);
        Assert.Equal(["send1", "upd", "hook"], br.Next);
        Assert.False(br.Waits);

        var sp = Assert.IsType<SplitStep>(d.Steps[5]);
        Assert.Equal([new SplitVariant("a", 30, "send1"), new SplitVariant("b", 60, null)], sp.Variants);
        Assert.Equal(new SplitVariant("holdout", 10, "end"), sp.Holdout);
        Assert.Equal(["send1", "end"], sp.Next);

        var s1 = Assert.IsType<SendStep>(d.Steps[6]);
        Assert.Equal(("tpl", "marketing", (string?)null, "send2"), (s1.Template, s1.Category, s1.DedupKey, s1.Then));
        Assert.Equal(["push"], s1.Channels);
        var s2 = Assert.IsType<SendStep>(d.Steps[7]);
        Assert.Equal(["sms", "email"], s2.Channels);
        Assert.Equal(("transactional", "order", (string?)null), (s2.Category, s2.DedupKey, s2.Then));
        Assert.Empty(s2.Next);

        var upd = Assert.IsType<UpdateProfileStep>(d.Steps[8]);
        Assert.Equal("{\"b\":1}", Json(upd.SetJson!).GetProperty("a").GetRawText());
        Assert.Equal(["old"], upd.Unset);
        Assert.Equal(["x"], upd.AddTags);
        Assert.Equal(["y", "z"], upd.RemoveTags);

        var hook = Assert.IsType<WebhookStep>(d.Steps[9]);
        Assert.Equal(("https://example.com/h?q=1", "PUT"), (hook.Url, hook.Method));
        Assert.Equal("v", hook.Headers["x-key"]); // header names are case-insensitive
        Assert.Equal("[1,2]", Json(hook.BodyJson!).GetProperty("k").GetRawText());

        Assert.Equal(new TaskStep("task", "Call", "n", "owner", "sales", TimeSpan.FromMinutes(5), "end"), d.Steps[10]);
        Assert.Equal(new ExitStep("end"), d.Steps[11]);
        Assert.Empty(d.Steps[11].Next);
        Assert.Same(d.Steps[4], d.Step("br"));
        Assert.Null(d.Step("nope"));
    }

    [Fact]
    public void Applies_defaults_for_optional_keys()
    {
        var d = Parse(WithSteps("""
            {"id":"s","type":"send","template":"t","channel":"email"},
            {"id":"h","type":"webhook","url":"http://example.com/"},
            {"id":"k","type":"task","title":"T","queue":"q","due_in":"P1D"},
            {"id":"u","type":"update_profile","add_tags":["a"],"next":null}
            """));
        Assert.Equal(JourneyParser.SchemaVersion, d.Schema);
        Assert.Equal(ReEntryPolicy.Default, d.ReEntry);
        Assert.Null(d.EntryFilter);
        Assert.Null(d.Goal);
        Assert.Empty(d.Exits);
        Assert.Null(d.TimeZone);
        Assert.Null(d.EntryCap);
        Assert.Null(d.Description);
        Assert.Equal("marketing", ((SendStep)d.Steps[0]).Category);
        var hook = (WebhookStep)d.Steps[1];
        Assert.Equal("POST", hook.Method);
        Assert.Empty(hook.Headers);
        Assert.Null(hook.BodyJson);
        var task = (TaskStep)d.Steps[2];
        Assert.Null(task.AssigneeTrait);
        Assert.Equal("q", task.Queue);
        var u = (UpdateProfileStep)d.Steps[3];
        Assert.Null(u.SetJson);
        Assert.Null(u.Then); // explicit null is "end here"
        Assert.Empty(u.Unset);
        Assert.Empty(u.RemoveTags);
    }

    [Fact]
    public void Parses_the_top_level_keys()
    {
        var d = Parse("""
            {"schema":1,"name":"N","description":"D","time_zone":"Asia/Shanghai","start":"b","entry_cap":1000,
             "trigger":{"type":"event","event":"Signed Up","where":[{"property":"source","op":"eq","value":"ad"}]},
             "entry_filter":{"profile":{"trait":"plan","op":"eq","value":"pro"},"entry":[{"property":"n","op":"gte","value":2}]},
             "re_entry":{"policy":"after_cooldown","cooldown":"P30D"},
             "goal":{"event":"Order Completed","where":[{"property":"total","op":"gt","value":0}],"within":"P7D","match":"cart_id"},
             "exit":[{"event":"Unsubscribed"},{"event":"Order Cancelled","match":"order_id"},{"segment_exited":"active"}],
             "steps":[{"id":"a","type":"exit"},{"id":"b","type":"wait","duration":"PT1M","next":"a"}]}
            """);
        Assert.Equal(("N", "D", "Asia/Shanghai", "b", (long?)1000), (d.Name, d.Description, d.TimeZone, d.Start, d.EntryCap));
        var trigger = Assert.IsType<EventTrigger>(d.Trigger);
        Assert.Equal("Signed Up", trigger.Match.Event);
        Assert.Single(trigger.Match.Where);
        Assert.Equal("event", trigger.Type);
        Assert.Equal(new TraitCondition("plan", Comparison.Scalar(ComparisonOperator.Eq, new StringValue("pro"))), d.EntryFilter!.Profile);
        Assert.Single(d.EntryFilter.Entry);
        Assert.Equal(new ReEntryPolicy(ReEntryKind.AfterCooldown, TimeSpan.FromDays(30)), d.ReEntry);
        Assert.Equal(("Order Completed", TimeSpan.FromDays(7), "cart_id"), (d.Goal!.Match.Event, d.Goal.Within, d.Goal.MatchKey));
        Assert.Single(d.Goal.Match.Where);
        Assert.Equal(3, d.Exits.Count);
        Assert.Equal(new ExitOnEvent(new EventMatcher("Unsubscribed", []), null), d.Exits[0]);
        Assert.Equal(new ExitOnEvent(new EventMatcher("Order Cancelled", []), "order_id"), d.Exits[1]);
        Assert.Equal(new ExitOnSegmentExit("active"), d.Exits[2]);
    }

    [Theory]
    [InlineData("""{"policy":"once"}""", ReEntryKind.Once, 0)]
    [InlineData("""{"policy":"not_while_active"}""", ReEntryKind.NotWhileActive, 0)]
    [InlineData("""{"policy":"after_cooldown","cooldown":"PT2H"}""", ReEntryKind.AfterCooldown, 120)]
    public void Parses_every_re_entry_policy(string reEntry, ReEntryKind kind, int cooldownMinutes)
    {
        var d = Parse(WithSteps("""{"id":"e","type":"exit"}""", "\"re_entry\":" + reEntry + ","));
        Assert.Equal(new ReEntryPolicy(kind, TimeSpan.FromMinutes(cooldownMinutes)), d.ReEntry);
    }

    // ---- positive: every trigger type -----------------------------------------------------------

    [Fact]
    public void Parses_every_trigger_type()
    {
        Assert.Equal(new SegmentTrigger("dormant", false), Parse(WithTrigger("""{"type":"segment_entered","segment":"dormant"}""")).Trigger);
        var exited = Assert.IsType<SegmentTrigger>(Parse(WithTrigger("""{"type":"segment_exited","segment":"active"}""")).Trigger);
        Assert.Equal(("active", true, "segment_exited"), (exited.SegmentId, exited.Exited, exited.Type));
        Assert.Equal(new DateTraitTrigger("trial_end", TimeSpan.FromDays(-3), new TimeOnly(10, 0)),
            Parse(WithTrigger("""{"type":"date_trait","trait":"trial_end","offset":"-P3D","at":"10:00"}""")).Trigger);
        Assert.Equal(new DateTraitTrigger("birthday", TimeSpan.Zero, null), Parse(WithTrigger("""{"type":"date_trait","trait":"birthday"}""")).Trigger);
        Assert.Equal(new DateTraitTrigger("renewal", TimeSpan.FromHours(12), null),
            Parse(WithTrigger("""{"type":"date_trait","trait":"renewal","offset":"PT12H"}""")).Trigger);
        Assert.IsType<ApiTrigger>(Parse(WithTrigger("""{"type":"api"}""")).Trigger);
        var once = Assert.IsType<BroadcastTrigger>(Parse(WithTrigger(
            """{"type":"broadcast","segment":"all","at":"2026-12-01T10:00","time_zone":"Europe/Berlin"}""")).Trigger);
        Assert.Equal(("all", new DateTime(2026, 12, 1, 10, 0, 0), (string?)null, false, "Europe/Berlin"),
            (once.SegmentId, once.Once!.Value, once.Cron, once.PerUserZone, once.Zone));
        Assert.Equal(DateTimeKind.Unspecified, once.Once.Value.Kind);
        var cron = Assert.IsType<BroadcastTrigger>(Parse(WithTrigger(
            """{"type":"broadcast","segment":"all","cron":"0 10 * * 1","time_zone":"user"}""")).Trigger);
        Assert.Equal(((DateTime?)null, "0 10 * * 1", true, (string?)null), (cron.Once, cron.Cron, cron.PerUserZone, cron.Zone));
        var plain = Assert.IsType<BroadcastTrigger>(Parse(WithTrigger("""{"type":"broadcast","segment":"all","at":"2026-12-01T10:00:30"}""")).Trigger);
        Assert.Equal((new DateTime(2026, 12, 1, 10, 0, 30), false, (string?)null), (plain.Once!.Value, plain.PerUserZone, plain.Zone));
    }

    [Fact]
    public void Trigger_types_are_listed()
    {
        Assert.Equal(["event", "segment_entered", "segment_exited", "date_trait", "api", "broadcast"], JourneyParser.TriggerTypes);
        Assert.Equal(["wait", "wait_for_event", "branch", "split", "send", "update_profile", "webhook", "task", "exit"], JourneyParser.StepTypes);
    }

    // ---- samples --------------------------------------------------------------------------------

    [Fact]
    public void Every_sample_parses_and_validates()
    {
        var files = Directory.GetFiles(Chuda.Testing.Repository.File("samples/journeys"), "*.json").Select(Path.GetFileNameWithoutExtension).Order().ToArray();
        Assert.Equal(SampleNames, files);
        foreach (var name in SampleNames)
        {
            var r = JourneyParser.Parse(Sample(name));
            Assert.True(r.IsValid, name + ": " + string.Join("; ", r.Errors));
            Assert.Empty(JourneyValidator.Validate(r.Definition!, _ => true));
        }
    }

    [Fact]
    public void Samples_parse_to_the_expected_shapes()
    {
        var trial = Parse(Sample("trial-expiry"));
        Assert.Equal(new DateTraitTrigger("trial_end", TimeSpan.FromDays(-3), new TimeOnly(10, 0)), trial.Trigger);
        Assert.Equal(new WaitUntilTraitStep("wait-1-day-after", "trial_end", TimeSpan.FromDays(1), new TimeOnly(10, 0), "1-day-after"), trial.Step("wait-1-day-after"));

        var winBack = Parse(Sample("win-back"));
        var split = Assert.IsType<SplitStep>(winBack.Step("split"));
        Assert.Equal([45, 45], split.Variants.Select(v => v.Weight));
        Assert.Equal(new SplitVariant("holdout", 10, null), split.Holdout);
        Assert.Equal(new ReEntryPolicy(ReEntryKind.AfterCooldown, TimeSpan.FromDays(90)), winBack.ReEntry);
        Assert.Equal(new ExitOnSegmentExit("dormant"), Assert.Single(winBack.Exits));

        var welcome = Parse(Sample("welcome-series"));
        Assert.Equal(new ReEntryPolicy(ReEntryKind.Once, TimeSpan.Zero), welcome.ReEntry);
        Assert.IsType<WaitUntilTimeStep>(welcome.Step("next-morning"));
        Assert.IsType<BranchStep>(welcome.Step("activated?"));

        var cart = Parse(Sample("abandoned-cart"));
        Assert.Equal("cart_id", cart.Goal!.MatchKey);
        Assert.Equal(TimeSpan.FromDays(3), cart.Goal.Within);
        Assert.Equal(["sms", "email"], ((SendStep)cart.Step("sms-coupon")!).Channels);

        var payment = Parse(Sample("payment-failed"));
        Assert.Equal(("done", "reminder"), (((WaitForEventStep)payment.Step("wait-retry")!).OnEvent, ((WaitForEventStep)payment.Step("wait-retry")!).OnTimeout));

        Assert.Equal(new SegmentTrigger("three-failed-logins", false), Parse(Sample("security-alert")).Trigger);
        Assert.Equal("owner", ((TaskStep)Parse(Sample("b2b-lead-follow-up")).Step("task")!).AssigneeTrait);
    }

    // ---- strict errors: steps -------------------------------------------------------------------

    [Fact]
    public void Unknown_step_type_names_the_type_and_the_step()
    {
        var e = SingleError(Second("""{"id":"b","type":"sms"}"""), "$.steps[1].type", "b", JourneyErrorCodes.UnknownStepType);
        Assert.Contains("'sms'", e.Message, StringComparison.Ordinal);
        Assert.Contains("wait_for_event", e.Message, StringComparison.Ordinal);
        Assert.Equal("$.steps[1].type (step 'b'): " + e.Message + " (unknown_step_type)", e.ToString());
    }

    [Theory]
    [InlineData("""{"id":"b","type":"exit","colour":"red"}""", "$.steps[1].colour")]
    [InlineData("""{"id":"b","type":"wait","duration":"PT1H","next":"c","then":"d"}""", "$.steps[1].then")]
    [InlineData("""{"id":"b","type":"send","template":"t","channel":"email","Template":"x"}""", "$.steps[1].Template")]
    [InlineData("""{"id":"b","type":"branch","branches":[{"when":{"profile":{"tag":"a"}},"next":"c","else":"d"}]}""", "$.steps[1].branches[0].else")]
    [InlineData("""{"id":"b","type":"branch","branches":[{"when":{"profile":{"tag":"a"},"segment":"x"}}]}""", "$.steps[1].branches[0].when.segment")]
    [InlineData("""{"id":"b","type":"split","variants":[{"name":"a","weight":1,"label":"x"}]}""", "$.steps[1].variants[0].label")]
    [InlineData("""{"id":"b","type":"split","variants":[{"name":"a","weight":1}],"holdout":{"weight":1,"name":"h"}}""", "$.steps[1].holdout.name")]
    [InlineData("""{"id":"b","type":"update_profile","add_tags":["a"],"tags":["x"]}""", "$.steps[1].tags")]
    [InlineData("""{"id":"b","type":"webhook","url":"https://e.com","secret":"s"}""", "$.steps[1].secret")]
    [InlineData("""{"id":"b","type":"task","title":"T","queue":"q","due_in":"P1D","assignee":"bob"}""", "$.steps[1].assignee")]
    [InlineData("""{"id":"b","type":"wait_for_event","event":"E","timeout":"P1D","every":"x"}""", "$.steps[1].every")]
    [InlineData("""{"id":"b","type":"exit","a b":1}""", "$.steps[1]['a b']")]
    public void Unknown_keys_in_steps_are_errors_with_the_step(string step, string path) =>
        SingleError(Second(step), path, "b", JourneyErrorCodes.UnknownKey);

    [Theory]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"steps":[{"id":"a","type":"exit"}],"colour":1}""", "$.colour")]
    [InlineData("""{"name":"t","trigger":{"type":"api","segment":"x"},"steps":[{"id":"a","type":"exit"}]}""", "$.trigger.segment")]
    [InlineData("""{"name":"t","trigger":{"type":"event","event":"E","count":2},"steps":[{"id":"a","type":"exit"}]}""", "$.trigger.count")]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"goal":{"event":"E","within":"P1D","by":"x"},"steps":[{"id":"a","type":"exit"}]}""", "$.goal.by")]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"re_entry":{"policy":"once","max":2},"steps":[{"id":"a","type":"exit"}]}""", "$.re_entry.max")]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"exit":[{"segment_exited":"s","event":"E"}],"steps":[{"id":"a","type":"exit"}]}""", "$.exit[0].event")]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"exit":[{"event":"E","within":"P1D"}],"steps":[{"id":"a","type":"exit"}]}""", "$.exit[0].within")]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"entry_filter":{"profile":{"tag":"a"},"where":[]},"steps":[{"id":"a","type":"exit"}]}""", "$.entry_filter.where")]
    public void Unknown_keys_outside_steps_have_no_step(string json, string path) =>
        SingleError(json, path, null, JourneyErrorCodes.UnknownKey);

    [Fact]
    public void Duplicate_keys_are_errors()
    {
        SingleError(Second("""{"id":"b","type":"wait","duration":"PT1H","duration":"PT2H"}"""), "$.steps[1].duration", "b", JourneyErrorCodes.DuplicateKey);
        SingleError("""{"name":"a","name":"b","trigger":{"type":"api"},"steps":[{"id":"a","type":"exit"}]}""", "$.name", null, JourneyErrorCodes.DuplicateKey);
    }

    [Fact]
    public void Duplicate_step_ids_are_errors_on_the_second_one()
    {
        var e = SingleError(WithSteps("""{"id":"a","type":"exit"},{"id":"b","type":"exit"},{"id":"a","type":"wait","duration":"PT1H"}"""),
            "$.steps[2].id", "a", JourneyErrorCodes.DuplicateStep);
        Assert.Contains("'a'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"exit"}""")]
    [InlineData("""{"id":"","type":"exit"}""")]
    [InlineData("""{"id":7,"type":"exit"}""")]
    [InlineData("""{"id":null,"type":"exit"}""")]
    [InlineData("""{"id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","type":"exit"}""")] // 65 characters
    [InlineData("\"exit\"")]
    public void A_step_without_a_valid_id_is_an_error_without_a_step(string step) =>
        SingleError(Second(step), "$.steps[1].id", null, JourneyErrorCodes.MissingKey);

    [Fact]
    public void A_64_character_id_is_fine() =>
        Assert.Equal(new string('a', 64), Parse(WithSteps("{\"id\":\"" + new string('a', 64) + "\",\"type\":\"exit\"}")).Start);

    [Theory]
    [InlineData("""{"id":"b"}""")]
    [InlineData("""{"id":"b","type":3}""")]
    public void A_step_without_a_type_is_an_error(string step) =>
        SingleError(Second(step), "$.steps[1].type", "b", JourneyErrorCodes.MissingKey);

    [Fact]
    public void A_wait_needs_exactly_one_form()
    {
        SingleError(Second("""{"id":"b","type":"wait","next":"c"}"""), "$.steps[1]", "b", JourneyErrorCodes.WaitNeverEnds);
        SingleError(Second("""{"id":"b","type":"wait","duration":"PT1H","until_time":"10:00"}"""), "$.steps[1]", "b", JourneyErrorCodes.InvalidValue);
        SingleError(Second("""{"id":"b","type":"wait","until_time":"10:00","until_trait":"d"}"""), "$.steps[1]", "b", JourneyErrorCodes.InvalidValue);
        SingleError(Second("""{"id":"b","type":"wait","duration":"PT1H","until_time":"10:00","until_trait":"d"}"""), "$.steps[1]", "b",
            JourneyErrorCodes.InvalidValue);
    }

    [Theory]
    [InlineData("""{"id":"b","type":"wait","duration":"P1D","at":"10:00"}""", "$.steps[1].at")]
    [InlineData("""{"id":"b","type":"wait","duration":"P1D","days":["mon"]}""", "$.steps[1].days")]
    [InlineData("""{"id":"b","type":"wait","duration":"P1D","offset":"-PT1H"}""", "$.steps[1].offset")]
    [InlineData("""{"id":"b","type":"wait","until_time":"10:00","at":"11:00"}""", "$.steps[1].at")]
    [InlineData("""{"id":"b","type":"wait","until_time":"10:00","offset":"PT1H"}""", "$.steps[1].offset")]
    [InlineData("""{"id":"b","type":"wait","until_trait":"d","days":["mon"]}""", "$.steps[1].days")]
    public void Keys_of_another_wait_form_are_errors_not_silently_ignored(string step, string path) =>
        SingleError(Second(step), path, "b", JourneyErrorCodes.UnknownKey);

    [Fact]
    public void A_wait_for_event_without_timeout_never_ends() =>
        SingleError(Second("""{"id":"b","type":"wait_for_event","event":"Paid","on_event":"c"}"""), "$.steps[1].timeout", "b", JourneyErrorCodes.WaitNeverEnds);

    [Fact]
    public void A_wait_for_event_needs_an_event() =>
        SingleError(Second("""{"id":"b","type":"wait_for_event","timeout":"P1D"}"""), "$.steps[1].event", "b", JourneyErrorCodes.MissingKey);

    [Fact]
    public void A_wait_for_event_filter_error_is_inside_the_step() =>
        SingleError(Second("""{"id":"b","type":"wait_for_event","event":"E","where":[{"property":"x","op":"nope","value":1}],"timeout":"P1D"}"""),
            "$.steps[1].where[0].op", "b", RuleErrorCodes.UnknownOperator);

    [Fact]
    public void A_send_without_template_is_missing_template() =>
        SingleError(Second("""{"id":"b","type":"send","channel":"email"}"""), "$.steps[1].template", "b", JourneyErrorCodes.MissingTemplate);

    [Theory]
    [InlineData("""{"id":"b","type":"send","template":"t"}""", "$.steps[1]", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"send","template":"t","channel":"email","channels":["sms"]}""", "$.steps[1]", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"send","template":"t","channels":[]}""", "$.steps[1].channels", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"send","template":"t","channels":["sms",""]}""", "$.steps[1].channels", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"send","template":"t","channels":"sms"}""", "$.steps[1].channels", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"send","template":"  ","channel":"sms"}""", "$.steps[1].template", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"send","template":5,"channel":"sms"}""", "$.steps[1].template", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"send","template":"t","channel":"email","category":""}""", "$.steps[1].category", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"send","template":"t","channel":"email","next":3}""", "$.steps[1].next", JourneyErrorCodes.InvalidValue)]
    public void Send_step_errors(string step, string path, string code) => SingleError(Second(step), path, "b", code);

    [Theory]
    [InlineData("7d")]
    [InlineData("P1Y")]
    [InlineData("P1M")]
    [InlineData("PT0S")]
    [InlineData("pt1h")]
    [InlineData("-PT1H")]
    [InlineData("")]
    public void Bad_durations_are_errors(string duration) =>
        SingleError(Second("{\"id\":\"b\",\"type\":\"wait\",\"duration\":\"" + duration + "\"}"), "$.steps[1].duration", "b", RuleErrorCodes.BadDuration);

    [Fact]
    public void A_duration_must_be_a_string() =>
        SingleError(Second("""{"id":"b","type":"wait","duration":3600}"""), "$.steps[1].duration", "b", RuleErrorCodes.BadDuration);

    [Fact]
    public void Negative_offsets_are_allowed_for_date_offsets()
    {
        Assert.Equal(TimeSpan.FromHours(-36),
            ((WaitUntilTraitStep)Parse(WithSteps("""{"id":"b","type":"wait","until_trait":"d","offset":"-P1DT12H"}""")).Steps[0]).Offset);
        Assert.Equal(TimeSpan.FromDays(-14), ((DateTraitTrigger)Parse(WithTrigger("""{"type":"date_trait","trait":"d","offset":"-P2W"}""")).Trigger).Offset);
        Assert.Equal(TimeSpan.FromDays(7), ((DateTraitTrigger)Parse(WithTrigger("""{"type":"date_trait","trait":"d","offset":"P7D"}""")).Trigger).Offset);
    }

    [Theory]
    [InlineData("""{"id":"b","type":"wait","until_trait":"d","offset":"--P1D"}""", "$.steps[1].offset")]
    [InlineData("""{"id":"b","type":"wait","until_trait":"d","offset":"-7d"}""", "$.steps[1].offset")]
    [InlineData("""{"id":"b","type":"wait_for_event","event":"E","timeout":"-P1D"}""", "$.steps[1].timeout")]
    [InlineData("""{"id":"b","type":"task","title":"T","queue":"q","due_in":"-PT5M"}""", "$.steps[1].due_in")]
    public void Negative_durations_are_errors_where_not_allowed_in_steps(string step, string path) =>
        SingleError(Second(step), path, "b", RuleErrorCodes.BadDuration);

    [Theory]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"goal":{"event":"E","within":"-P1D"},"steps":[{"id":"a","type":"exit"}]}""", "$.goal.within")]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"re_entry":{"policy":"after_cooldown","cooldown":"-P1D"},"steps":[{"id":"a","type":"exit"}]}""", "$.re_entry.cooldown")]
    [InlineData("""{"name":"t","trigger":{"type":"date_trait","trait":"d","offset":"P1Y"},"steps":[{"id":"a","type":"exit"}]}""", "$.trigger.offset")]
    public void Negative_or_bad_durations_outside_steps_are_errors(string json, string path) =>
        SingleError(json, path, null, RuleErrorCodes.BadDuration);

    [Theory]
    [InlineData("\"25:00\"")]
    [InlineData("\"24:00\"")]
    [InlineData("\"10\"")]
    [InlineData("\"10:00 AM\"")]
    [InlineData("\"9:00\"")]
    [InlineData("\"10:60\"")]
    [InlineData("\"10:00:00.5\"")]
    [InlineData("1000")]
    [InlineData("null")]
    public void Bad_times_of_day_are_errors(string time)
    {
        SingleError(Second("{\"id\":\"b\",\"type\":\"wait\",\"until_time\":" + time + "}"), "$.steps[1].until_time", "b", JourneyErrorCodes.InvalidValue);
        SingleError(Second("{\"id\":\"b\",\"type\":\"wait\",\"until_trait\":\"d\",\"at\":" + time + "}"), "$.steps[1].at", "b", JourneyErrorCodes.InvalidValue);
        SingleError(WithTrigger("{\"type\":\"date_trait\",\"trait\":\"d\",\"at\":" + time + "}"), "$.trigger.at", null, JourneyErrorCodes.InvalidValue);
    }

    [Theory]
    [InlineData("""["monday"]""")]
    [InlineData("""["Mon"]""")]
    [InlineData("""[]""")]
    [InlineData("""[1]""")]
    [InlineData("\"mon\"")]
    public void Bad_days_are_errors(string days) =>
        SingleError(Second("{\"id\":\"b\",\"type\":\"wait\",\"until_time\":\"10:00\",\"days\":" + days + "}"), "$.steps[1].days", "b", JourneyErrorCodes.InvalidValue);

    [Fact]
    public void Every_day_name_parses()
    {
        var w = (WaitUntilTimeStep)Parse(WithSteps("""{"id":"b","type":"wait","until_time":"23:59:59","days":["sun","mon","tue","wed","thu","fri","sat"]}""")).Steps[0];
        Assert.Equal(Enum.GetValues<DayOfWeek>(), w.Days!);
        Assert.Equal(new TimeOnly(23, 59, 59), w.At);
    }

    [Theory]
    [InlineData("Mars/Olympus")]
    [InlineData("Europe/Berlinn")]
    [InlineData("CEST+2")]
    public void Unknown_zones_are_errors(string zone)
    {
        var e = SingleError(WithSteps("""{"id":"a","type":"exit"}""", "\"time_zone\":\"" + zone + "\","), "$.time_zone", null, JourneyErrorCodes.UnknownZone);
        Assert.Contains(zone, e.Message, StringComparison.Ordinal);
        SingleError(WithTrigger("{\"type\":\"broadcast\",\"segment\":\"s\",\"cron\":\"0 10 * * *\",\"time_zone\":\"" + zone + "\"}"),
            "$.trigger.time_zone", null, JourneyErrorCodes.UnknownZone);
    }

    [Theory]
    [InlineData("UTC")]
    [InlineData("Asia/Shanghai")]
    [InlineData("America/New_York")]
    [InlineData("Europe/Berlin")]
    public void Iana_zones_are_accepted(string zone) =>
        Assert.Equal(zone, Parse(WithSteps("""{"id":"a","type":"exit"}""", "\"time_zone\":\"" + zone + "\",")).TimeZone);

    [Theory]
    [InlineData("""{"type":"broadcast","segment":"s"}""", "$.trigger", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"type":"broadcast","segment":"s","at":"2026-12-01T10:00","cron":"0 10 * * *"}""", "$.trigger", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"type":"broadcast","at":"2026-12-01T10:00"}""", "$.trigger.segment", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"type":"broadcast","segment":"s","at":"2026-12-01T10:00Z"}""", "$.trigger.at", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"type":"broadcast","segment":"s","at":"2026-12-01T10:00+01:00"}""", "$.trigger.at", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"type":"broadcast","segment":"s","at":"2026-12-01"}""", "$.trigger.at", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"type":"broadcast","segment":"s","at":"2026-02-30T10:00"}""", "$.trigger.at", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"type":"broadcast","segment":"s","at":1767261600}""", "$.trigger.at", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"type":"broadcast","segment":"s","cron":"0 10 * *"}""", "$.trigger.cron", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"type":"broadcast","segment":"s","cron":"60 10 * * *"}""", "$.trigger.cron", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"type":"broadcast","segment":"s","cron":"0 10 * * mon"}""", "$.trigger.cron", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"type":"broadcast","segment":"s","cron":"*/0 * * * *"}""", "$.trigger.cron", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"type":"broadcast","segment":"s","cron":"0 10 * * *","time_zone":5}""", "$.trigger.time_zone", JourneyErrorCodes.InvalidValue)]
    public void Broadcast_errors(string trigger, string path, string code) => SingleError(WithTrigger(trigger), path, null, code);

    [Fact]
    public void A_bad_cron_error_carries_the_cron_message()
    {
        var e = SingleError(WithTrigger("""{"type":"broadcast","segment":"s","cron":"0 25 * * *"}"""), "$.trigger.cron", null, JourneyErrorCodes.InvalidValue);
        Assert.Contains("0..23", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("10001")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("\"10\"")]
    [InlineData("null")]
    public void Split_weights_out_of_range_are_errors(string weight)
    {
        SingleError(Second("{\"id\":\"b\",\"type\":\"split\",\"variants\":[{\"name\":\"a\",\"weight\":" + weight + "}]}"),
            "$.steps[1].variants[0].weight", "b", JourneyErrorCodes.InvalidValue);
        SingleError(Second("{\"id\":\"b\",\"type\":\"split\",\"variants\":[{\"name\":\"a\",\"weight\":1}],\"holdout\":{\"weight\":" + weight + "}}"),
            "$.steps[1].holdout.weight", "b", JourneyErrorCodes.InvalidValue);
    }

    [Fact]
    public void Split_weights_at_the_bounds_are_fine()
    {
        var s = (SplitStep)Parse(WithSteps("""{"id":"s","type":"split","variants":[{"name":"a","weight":1},{"name":"b","weight":10000}]}""")).Steps[0];
        Assert.Equal([1, 10000], s.Variants.Select(v => v.Weight));
        Assert.Null(s.Holdout);
    }

    [Theory]
    [InlineData("""{"id":"b","type":"split","variants":[]}""", "$.steps[1].variants")]
    [InlineData("""{"id":"b","type":"split","variants":{"name":"a","weight":1}}""", "$.steps[1].variants")]
    [InlineData("""{"id":"b","type":"split","variants":[{"name":"a","weight":1},{"name":"a","weight":2}]}""", "$.steps[1].variants")]
    public void Split_shape_errors(string step, string path) => SingleError(Second(step), path, "b", JourneyErrorCodes.InvalidValue);

    [Fact]
    public void A_split_variant_needs_a_name() =>
        SingleError(Second("""{"id":"b","type":"split","variants":[{"weight":1}]}"""), "$.steps[1].variants[0].name", "b", JourneyErrorCodes.MissingKey);

    [Fact]
    public void An_invalid_branch_rule_error_points_inside_the_profile_rule()
    {
        var e = SingleError(Second("""{"id":"b","type":"branch","branches":[{"when":{"profile":{"trait":"plan","op":"bogus","value":"x"}},"next":"c"}]}"""),
            "$.steps[1].branches[0].when.profile.op", "b", RuleErrorCodes.UnknownOperator);
        Assert.Contains("bogus", e.Message, StringComparison.Ordinal);
        SingleError(Second("""{"id":"b","type":"branch","branches":[{"when":{"profile":{"tag":"a"}}},{"when":{"profile":{"and":[{"tag":"a"},{"event":"E","within":"7d"}]}}}]}"""),
            "$.steps[1].branches[1].when.profile.and[1].within", "b", RuleErrorCodes.BadDuration);
        SingleError(Second("""{"id":"b","type":"branch","branches":[{"when":{"profile":{"or":[]}}}]}"""),
            "$.steps[1].branches[0].when.profile.or", "b", RuleErrorCodes.EmptyGroup);
        SingleError(Second("""{"id":"b","type":"branch","branches":[{"when":{"profile":{"colour":"red"}}}]}"""),
            "$.steps[1].branches[0].when.profile", "b", RuleErrorCodes.UnknownCondition);
    }

    [Fact]
    public void An_invalid_branch_entry_filter_error_points_inside_the_entry_filters() =>
        SingleError(Second("""{"id":"b","type":"branch","branches":[{"when":{"entry":[{"property":"a","op":"eq","value":1},{"property":"n","op":"gt","value":"x"}]}}]}"""),
            "$.steps[1].branches[0].when.entry[1].value", "b", RuleErrorCodes.TypeMismatch);

    [Theory]
    [InlineData("""{"id":"b","type":"branch","branches":[]}""", "$.steps[1].branches", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"branch","branches":[{"when":{}}]}""", "$.steps[1].branches[0].when", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"branch","branches":[{"next":"c"}]}""", "$.steps[1].branches[0].when", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"branch","branches":[{"when":"vip"}]}""", "$.steps[1].branches[0].when", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"branch","else":"c"}""", "$.steps[1].branches", JourneyErrorCodes.MissingKey)]
    public void Branch_shape_errors(string step, string path, string code) => SingleError(Second(step), path, "b", code);

    [Fact]
    public void Entry_filter_errors_map_to_their_path()
    {
        SingleError(WithSteps("""{"id":"a","type":"exit"}""", """ "entry_filter":{"entry":[{"property":"n","op":"gt","value":"x"}]}, """),
            "$.entry_filter.entry[0].value", null, RuleErrorCodes.TypeMismatch);
        SingleError(WithSteps("""{"id":"a","type":"exit"}""", """ "entry_filter":{"entry":[{"property":"n","op":"between","value":1}]}, """),
            "$.entry_filter.entry[0].op", null, RuleErrorCodes.UnknownOperator);
        SingleError(WithSteps("""{"id":"a","type":"exit"}""", """ "entry_filter":{"profile":{"trait":"n","op":"gt"}}, """),
            "$.entry_filter.profile.value", null, RuleErrorCodes.MissingKey);
        SingleError(WithSteps("""{"id":"a","type":"exit"}""", """ "entry_filter":{}, """), "$.entry_filter", null, JourneyErrorCodes.MissingKey);
    }

    [Fact]
    public void Trigger_where_errors_map_to_their_path()
    {
        SingleError(WithTrigger("""{"type":"event","event":"E","where":[{"property":"a","op":"exists"},{"property":"n","op":"gt","value":"x"}]}"""),
            "$.trigger.where[1].value", null, RuleErrorCodes.TypeMismatch);
        SingleError(WithTrigger("""{"type":"event","event":""}"""), "$.trigger.event", null, RuleErrorCodes.InvalidValue);
        SingleError(WithTrigger("""{"type":"event"}"""), "$.trigger.event", null, JourneyErrorCodes.MissingKey);
    }

    [Fact]
    public void Goal_and_exit_filter_errors_map_to_their_path()
    {
        SingleError("""{"name":"t","trigger":{"type":"api"},"goal":{"event":"E","where":[{"property":"n","op":"gt","value":"x"}],"within":"P1D"},"steps":[{"id":"a","type":"exit"}]}""",
            "$.goal.where[0].value", null, RuleErrorCodes.TypeMismatch);
        SingleError("""{"name":"t","trigger":{"type":"api"},"exit":[{"event":"A"},{"event":"E","where":[{"property":"n","op":"gt","value":"x"}]}],"steps":[{"id":"a","type":"exit"}]}""",
            "$.exit[1].where[0].value", null, RuleErrorCodes.TypeMismatch);
        SingleError("""{"name":"t","trigger":{"type":"api"},"goal":{"event":"E"},"steps":[{"id":"a","type":"exit"}]}""", "$.goal.within", null, JourneyErrorCodes.MissingKey);
        SingleError("""{"name":"t","trigger":{"type":"api"},"exit":{"event":"E"},"steps":[{"id":"a","type":"exit"}]}""", "$.exit", null, JourneyErrorCodes.InvalidValue);
    }

    [Theory]
    [InlineData("""{"id":"b","type":"update_profile"}""", "$.steps[1]", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"update_profile","unset":[]}""", "$.steps[1]", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"update_profile","set":[1],"add_tags":["a"]}""", "$.steps[1].set", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"update_profile","add_tags":"vip"}""", "$.steps[1].add_tags", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"webhook"}""", "$.steps[1].url", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"webhook","url":"ftp://example.com/x"}""", "$.steps[1].url", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"webhook","url":"/relative"}""", "$.steps[1].url", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"webhook","url":"https://e.com","method":"GET"}""", "$.steps[1].method", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"webhook","url":"https://e.com","headers":{"X-Sig":1}}""", "$.steps[1].headers['X-Sig']", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"webhook","url":"https://e.com","headers":["a"]}""", "$.steps[1].headers", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"id":"b","type":"task","title":"T","due_in":"P1D"}""", "$.steps[1]", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"task","queue":"q","due_in":"P1D"}""", "$.steps[1].title", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"task","title":"T","queue":"q"}""", "$.steps[1].due_in", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"id":"b","type":"exit","next":"c"}""", "$.steps[1].next", JourneyErrorCodes.UnknownKey)]
    public void Other_step_errors(string step, string path, string code) => SingleError(Second(step), path, "b", code);

    [Fact]
    public void Errors_in_several_steps_each_name_their_own_step()
    {
        var errors = Errors(WithSteps("""
            {"id":"a","type":"send","channel":"email"},
            {"id":"ok","type":"exit"},
            {"id":"c","type":"wait"}
            """, """ "exit":[{"event":"E","bad":1}], """));
        Assert.Equal(
            [("$.exit[0].bad", null, JourneyErrorCodes.UnknownKey), ("$.steps[0].template", "a", JourneyErrorCodes.MissingTemplate),
             ("$.steps[2]", "c", JourneyErrorCodes.WaitNeverEnds)],
            errors.Select(e => (e.Path, e.Step, e.Code)));
    }

    // ---- strict errors: document ----------------------------------------------------------------

    [Theory]
    [InlineData("2")]
    [InlineData("0")]
    [InlineData("\"1\"")]
    [InlineData("1.5")]
    public void Unsupported_schema_versions_are_errors(string schema) =>
        SingleError("{\"schema\":" + schema + ",\"name\":\"t\",\"trigger\":{\"type\":\"api\"},\"steps\":[{\"id\":\"a\",\"type\":\"exit\"}]}",
            "$.schema", null, JourneyErrorCodes.UnsupportedSchema);

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"name\":\"t\",}")]
    [InlineData("{'name':'t'}")]
    [InlineData("{\"name\":\"t\"} {}")]
    public void Invalid_json_is_an_error_at_the_root(string json) => SingleError(json, "$", null, JourneyErrorCodes.InvalidJson);

    [Theory]
    [InlineData("[]")]
    [InlineData("\"journey\"")]
    [InlineData("null")]
    public void A_document_that_is_not_an_object_is_an_error(string json) => SingleError(json, "$", null, JourneyErrorCodes.InvalidValue);

    [Fact]
    public void Required_top_level_keys_are_each_reported()
    {
        var errors = Errors("{}");
        Assert.Equal([("$.name", JourneyErrorCodes.MissingKey), ("$.trigger", JourneyErrorCodes.MissingKey), ("$.steps", JourneyErrorCodes.MissingKey)],
            errors.Select(e => (e.Path, e.Code)));
        Assert.All(errors, e => Assert.Null(e.Step));
    }

    [Theory]
    [InlineData("""{"name":"t","trigger":{"type":"sms"},"steps":[{"id":"a","type":"exit"}]}""", "$.trigger.type", JourneyErrorCodes.UnknownTrigger)]
    [InlineData("""{"name":"t","trigger":{"event":"E"},"steps":[{"id":"a","type":"exit"}]}""", "$.trigger.type", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"name":"t","trigger":"api","steps":[{"id":"a","type":"exit"}]}""", "$.trigger.type", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"name":"t","trigger":{"type":"segment_entered"},"steps":[{"id":"a","type":"exit"}]}""", "$.trigger.segment", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"name":"t","trigger":{"type":"date_trait"},"steps":[{"id":"a","type":"exit"}]}""", "$.trigger.trait", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"name":"","trigger":{"type":"api"},"steps":[{"id":"a","type":"exit"}]}""", "$.name", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"steps":[]}""", "$.steps", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"steps":{}}""", "$.steps", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"entry_cap":0,"steps":[{"id":"a","type":"exit"}]}""", "$.entry_cap", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"entry_cap":2.5,"steps":[{"id":"a","type":"exit"}]}""", "$.entry_cap", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"re_entry":{"policy":"sometimes"},"steps":[{"id":"a","type":"exit"}]}""", "$.re_entry.policy", JourneyErrorCodes.InvalidValue)]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"re_entry":{"policy":"after_cooldown"},"steps":[{"id":"a","type":"exit"}]}""", "$.re_entry.cooldown", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"re_entry":{},"steps":[{"id":"a","type":"exit"}]}""", "$.re_entry.policy", JourneyErrorCodes.MissingKey)]
    [InlineData("""{"name":"t","trigger":{"type":"api"},"start":7,"steps":[{"id":"a","type":"exit"}]}""", "$.start", JourneyErrorCodes.InvalidValue)]
    public void Document_errors(string json, string path, string code) => SingleError(json, path, null, code);

    [Fact]
    public void Too_many_steps_is_too_complex()
    {
        var steps = string.Join(",", Enumerable.Range(0, JourneyParser.MaxSteps + 1).Select(i => $"{{\"id\":\"s{i}\",\"type\":\"exit\"}}"));
        SingleError(WithSteps(steps), "$.steps", null, JourneyErrorCodes.TooComplex);
        var ok = string.Join(",", Enumerable.Range(0, JourneyParser.MaxSteps).Select(i => $"{{\"id\":\"s{i}\",\"type\":\"exit\"}}"));
        Assert.Equal(JourneyParser.MaxSteps, Parse(WithSteps(ok)).Steps.Count);
    }

    [Fact]
    public void The_parser_does_not_check_the_graph()
    {
        // Dangling edges and a missing start are the validator's.
        var d = Parse("""{"name":"t","trigger":{"type":"api"},"start":"nope","steps":[{"id":"a","type":"wait","duration":"PT1H","next":"ghost"}]}""");
        Assert.Equal("nope", d.Start);
    }

    // ---- layout (canvas positions) --------------------------------------------------------------

    private const string LaidOut = """
        {"name":"t","trigger":{"type":"api"},
         "steps":[{"id":"a","type":"wait","duration":"PT1H","next":"b"},{"id":"b","type":"exit"}],
         "layout":{"a":{"x":120,"y":-40.5},"b":{"x":1e3,"y":0}}}
        """;

    [Fact]
    public void Layout_is_parsed_into_positions_per_step()
    {
        var d = Parse(LaidOut);
        Assert.Equal(2, d.Layout.Count);
        Assert.Equal(new StepPosition(120, -40.5), d.Layout["a"]);
        Assert.Equal(new StepPosition(1000, 0), d.Layout["b"]);
        Assert.Empty(Parse(WithSteps("""{"id":"a","type":"exit"}""")).Layout);
        // A partial layout is fine (the console lays out the rest), and so is an empty one.
        Assert.Equal(["a"], Parse(WithSteps("""{"id":"a","type":"exit"},{"id":"b","type":"exit"}""", "\"layout\":{\"a\":{\"x\":1,\"y\":2}},")).Layout.Keys);
        Assert.Empty(Parse(WithSteps("""{"id":"a","type":"exit"}""", "\"layout\":{},")).Layout);
    }

    [Fact]
    public void Layout_survives_a_round_trip_through_the_stored_text()
    {
        // Versions are stored as the submitted text and parsed again when read: the layout comes back the same.
        var first = Parse(LaidOut);
        var again = Parse(System.Text.Json.JsonSerializer.Serialize(Json(LaidOut)));
        Assert.Equal(first.Layout, again.Layout);
        // The runtime ignores it: the steps are the same as without a layout.
        var bare = Parse("""{"name":"t","trigger":{"type":"api"},"steps":[{"id":"a","type":"wait","duration":"PT1H","next":"b"},{"id":"b","type":"exit"}]}""");
        Assert.Empty(bare.Layout);
        Assert.Equal(bare.Steps, first.Steps);
    }

    [Fact]
    public void Layout_key_that_is_not_a_step_is_an_error_naming_its_path()
    {
        var e = SingleError(WithSteps("""{"id":"a","type":"exit"}""", "\"layout\":{\"a\":{\"x\":1,\"y\":2},\"ghost\":{\"x\":1,\"y\":2}},"),
            "$.layout.ghost", null, JourneyErrorCodes.UnknownStep);
        Assert.Contains("'ghost'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"layout\":[],", "$.layout", null, JourneyErrorCodes.InvalidValue)]
    [InlineData("\"layout\":{\"a\":{\"x\":\"1\",\"y\":2}},", "$.layout.a.x", "a", JourneyErrorCodes.InvalidValue)]
    [InlineData("\"layout\":{\"a\":{\"x\":1,\"y\":1e999}},", "$.layout.a.y", "a", JourneyErrorCodes.InvalidValue)]
    [InlineData("\"layout\":{\"a\":{\"x\":1}},", "$.layout.a.y", "a", JourneyErrorCodes.MissingKey)]
    [InlineData("\"layout\":{\"a\":{\"x\":1,\"y\":2,\"z\":3}},", "$.layout.a.z", "a", JourneyErrorCodes.UnknownKey)]
    [InlineData("\"layout\":{\"a\":[1,2]},", "$.layout.a", "a", JourneyErrorCodes.InvalidValue)]
    public void Layout_positions_are_finite_x_y_numbers(string layout, string path, string? step, string code) =>
        SingleError(WithSteps("""{"id":"a","type":"exit"}""", layout), path, step, code);
}
