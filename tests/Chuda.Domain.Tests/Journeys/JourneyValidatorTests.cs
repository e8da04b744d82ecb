using Chuda.Domain.Journeys;
using static Chuda.Domain.Tests.Journeys.JourneyTestKit;

namespace Chuda.Domain.Tests.Journeys;

public class JourneyValidatorTests
{
    private static IReadOnlyList<JourneyError> Validate(string json, Func<string, bool>? segmentExists = null) =>
        JourneyValidator.Validate(Parse(json), segmentExists);

    private static string Send(string id, string? next = null) =>
        $"{{\"id\":\"{id}\",\"type\":\"send\",\"template\":\"t\",\"channel\":\"email\"" + (next is null ? "}" : $",\"next\":\"{next}\"}}");

    private static string Wait(string id, string? next = null) =>
        $"{{\"id\":\"{id}\",\"type\":\"wait\",\"duration\":\"P1D\"" + (next is null ? "}" : $",\"next\":\"{next}\"}}");

    [Fact]
    public void A_well_formed_journey_has_no_errors()
    {
        Assert.Empty(Validate(WithSteps(Send("a", "w") + "," + Wait("w", "b") + "," + Send("b"))));
        Assert.Empty(JourneyValidator.Validate(Parse(WithSteps(Send("a"))), _ => false)); // no segments referenced
    }

    [Fact]
    public void A_dangling_edge_names_the_step_and_the_target()
    {
        var e = Assert.Single(Validate(WithSteps(Send("a", "w") + "," + Wait("w", "ghost"))));
        Assert.Equal(("$.steps[1]", "w", JourneyErrorCodes.DanglingEdge), (e.Path, e.Step, e.Code));
        Assert.Contains("'ghost'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dangling_edges_of_every_edge_kind_are_found()
    {
        var errors = Validate(WithSteps("""
            {"id":"wfe","type":"wait_for_event","event":"E","timeout":"P1D","on_event":"x1","on_timeout":"br"},
            {"id":"br","type":"branch","branches":[{"when":{"profile":{"tag":"a"}},"next":"x2"}],"else":"sp"},
            {"id":"sp","type":"split","variants":[{"name":"a","weight":1,"next":"x3"},{"name":"b","weight":1,"next":"end"}],"holdout":{"weight":1,"next":"x4"}},
            {"id":"end","type":"exit"}
            """));
        Assert.Equal([("wfe", "x1"), ("br", "x2"), ("sp", "x3"), ("sp", "x4")],
            errors.Select(e => (e.Step!, e.Message.Split('\'')[3])));
        Assert.All(errors, e => Assert.Equal(JourneyErrorCodes.DanglingEdge, e.Code));
    }

    [Fact]
    public void An_unreachable_step_is_named()
    {
        var errors = Validate(WithSteps(Send("a") + "," + Send("orphan", "b") + "," + Send("b")));
        Assert.Equal([("$.steps[1]", "orphan", JourneyErrorCodes.Unreachable), ("$.steps[2]", "b", JourneyErrorCodes.Unreachable)],
            errors.Select(e => (e.Path, e.Step, e.Code)));
        Assert.Contains("'orphan'", errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reachability_starts_at_the_start_step()
    {
        var errors = Validate(WithSteps(Send("a", "b") + "," + Send("b"), "\"start\":\"b\","));
        var e = Assert.Single(errors);
        Assert.Equal(("a", JourneyErrorCodes.Unreachable), (e.Step, e.Code));
    }

    [Fact]
    public void A_missing_start_step_is_a_dangling_start()
    {
        var errors = Validate(WithSteps(Send("a"), "\"start\":\"nope\","));
        var e = Assert.Single(errors); // no unreachable noise when there is no start
        Assert.Equal(("$.start", (string?)null, JourneyErrorCodes.DanglingEdge), (e.Path, e.Step, e.Code));
        Assert.Contains("'nope'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_loop_without_a_wait_names_a_step_on_the_loop()
    {
        var errors = Validate(WithSteps(Send("a", "b") + "," + Send("b", "c") + "," + Send("c", "b")));
        var e = Assert.Single(errors);
        Assert.Equal(JourneyErrorCodes.LoopWithoutWait, e.Code);
        Assert.Contains(e.Step, new[] { "b", "c" });
        Assert.Equal($"$.steps[{(e.Step == "b" ? 1 : 2)}]", e.Path);
        Assert.Contains("b", e.Message, StringComparison.Ordinal);
        Assert.Contains("c", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_self_loop_without_a_wait_is_an_error()
    {
        var e = Assert.Single(Validate(WithSteps("""{"id":"a","type":"update_profile","add_tags":["x"],"next":"a"}""")));
        Assert.Equal(("$.steps[0]", "a", JourneyErrorCodes.LoopWithoutWait), (e.Path, e.Step, e.Code));
    }

    [Fact]
    public void A_loop_through_a_branch_without_a_wait_is_an_error()
    {
        var errors = Validate(WithSteps("""
            {"id":"check","type":"branch","branches":[{"when":{"profile":{"tag":"done"}},"next":"end"}],"else":"tag"},
            {"id":"tag","type":"update_profile","add_tags":["done"],"next":"check"},
            {"id":"end","type":"exit"}
            """));
        var e = Assert.Single(errors);
        Assert.Equal(JourneyErrorCodes.LoopWithoutWait, e.Code);
        Assert.Contains(e.Step, new[] { "check", "tag" });
    }

    [Fact]
    public void A_loop_through_a_wait_is_fine()
    {
        Assert.Empty(Validate(WithSteps(Send("a", "w") + "," + Wait("w", "a"))));
        Assert.Empty(Validate(WithSteps("""
            {"id":"check","type":"branch","branches":[{"when":{"profile":{"tag":"done"}},"next":"end"}],"else":"remind"},
            {"id":"remind","type":"send","template":"t","channel":"email","next":"wait"},
            {"id":"wait","type":"wait_for_event","event":"Done","timeout":"P1D","on_event":"end","on_timeout":"check"},
            {"id":"end","type":"exit"}
            """)));
        Assert.Empty(Validate(WithSteps("""{"id":"w","type":"wait","until_time":"10:00","next":"w"}""")));
    }

    [Fact]
    public void Two_separate_loops_are_each_reported_once()
    {
        var errors = Validate(WithSteps(Send("a", "b") + "," + Send("b", "a") + "," + Send("c", "d") + "," + Send("d", "c")
            , "\"start\":\"a\","));
        var loops = errors.Where(e => e.Code == JourneyErrorCodes.LoopWithoutWait).ToList();
        Assert.Equal(2, loops.Count);
        Assert.Contains(loops, e => e.Step is "a" or "b");
        Assert.Contains(loops, e => e.Step is "c" or "d");
        Assert.Equal(2, errors.Count(e => e.Code == JourneyErrorCodes.Unreachable)); // c and d
    }

    [Fact]
    public void Segment_references_are_checked_only_when_asked()
    {
        var json = """
            {"name":"t","trigger":{"type":"segment_entered","segment":"s-trigger"},
             "entry_filter":{"profile":{"member_of":"s-filter"}},
             "exit":[{"event":"E"},{"segment_exited":"s-exit"}],
             "steps":[
               {"id":"a","type":"send","template":"t","channel":"email","next":"br"},
               {"id":"br","type":"branch","branches":[
                  {"when":{"profile":{"tag":"x"}},"next":"end"},
                  {"when":{"profile":{"or":[{"member_of":"s-branch"},{"not":{"member_of":"known"}}]}},"next":"end"}]},
               {"id":"end","type":"exit"}]}
            """;
        Assert.Empty(Validate(json));
        Assert.Empty(Validate(json, _ => true));
        var errors = Validate(json, id => id == "known");
        Assert.Equal(
            [("$.trigger.segment", null, "s-trigger"), ("$.exit[1].segment_exited", null, "s-exit"), ("$.entry_filter.profile", null, "s-filter"),
             ("$.steps[1].branches", "br", "s-branch")],
            errors.Select(e => (e.Path, e.Step, e.Message.Split('\'')[1])));
        Assert.All(errors, e => Assert.Equal(JourneyErrorCodes.UnknownSegment, e.Code));
    }

    [Theory]
    [InlineData("""{"type":"segment_exited","segment":"gone"}""")]
    [InlineData("""{"type":"broadcast","segment":"gone","cron":"0 10 * * *"}""")]
    public void Trigger_segments_of_every_kind_are_checked(string trigger)
    {
        var e = Assert.Single(JourneyValidator.Validate(Parse(WithTrigger(trigger)), id => id != "gone"));
        Assert.Equal(("$.trigger.segment", JourneyErrorCodes.UnknownSegment), (e.Path, e.Code));
    }

    [Fact]
    public void Every_sample_references_its_segments()
    {
        var asked = new List<string>();
        foreach (var name in SampleNames)
        {
            JourneyValidator.Validate(Parse(Sample(name)), id =>
            {
                asked.Add(id);
                return true;
            });
        }

        Assert.Equal(["dormant", "dormant", "three-failed-logins"], asked.Order());
    }

    [Fact]
    public void A_hand_built_definition_with_a_missing_step_is_reported()
    {
        // Definitions normally come from the parser, but the validator must not throw on odd graphs.
        var d = new JourneyDefinition(1, "t", null, new ApiTrigger(), null, ReEntryPolicy.Default, null, null, [], null, "a",
            [new SendStep("a", "t", ["email"], "marketing", null, "b"), new WaitDurationStep("b", TimeSpan.FromHours(1), "c"),
             new BranchStep("c", [], "a")]);
        Assert.Empty(JourneyValidator.Validate(d)); // a → b (wait) → c → a: the wait breaks the loop
    }
}
