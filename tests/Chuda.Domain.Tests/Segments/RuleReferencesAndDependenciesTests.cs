using Chuda.Domain.Segments;
using static Chuda.Domain.Tests.Segments.SegmentTestKit;

namespace Chuda.Domain.Tests.Segments;

public class RuleReferencesAndDependenciesTests
{
    private static Func<string, SegmentRule?> Store(params (string Id, string Json)[] segments)
    {
        var map = segments.ToDictionary(s => s.Id, s => Rule(s.Json));
        return id => map.GetValueOrDefault(id);
    }

    [Fact]
    public void Known_acyclic_references_pass()
    {
        var lookup = Store(("a", """{"tag":"x"}"""), ("b", """{"member_of":"a"}"""));
        Assert.Empty(RuleValidator.CheckReferences("c", Rule("""{"and":[{"member_of":"a"},{"member_of":"b"}]}"""), lookup));
    }

    [Fact]
    public void Unknown_segment_is_reported_at_its_path()
    {
        var errors = RuleValidator.CheckReferences("c", Rule("""{"and":[{"tag":"x"},{"not":{"member_of":"ghost"}}]}"""), Store());
        var e = Assert.Single(errors);
        Assert.Equal("$.and[1].not.member_of", e.Path);
        Assert.Equal(RuleErrorCodes.UnknownSegment, e.Code);
    }

    [Fact]
    public void Self_reference_is_a_cycle()
    {
        var e = Assert.Single(RuleValidator.CheckReferences("a", Rule("""{"member_of":"a"}"""), Store()));
        Assert.Equal(RuleErrorCodes.Cycle, e.Code);
        Assert.Equal("$.member_of", e.Path);
    }

    [Fact]
    public void Indirect_cycle_is_reported_with_its_chain()
    {
        // Editing a so that it references c, while c → b → a already.
        var lookup = Store(("a", """{"tag":"x"}"""), ("b", """{"member_of":"a"}"""), ("c", """{"or":[{"tag":"y"},{"member_of":"b"}]}"""));
        var errors = RuleValidator.CheckReferences("a", Rule("""{"or":[{"tag":"z"},{"member_of":"c"}]}"""), lookup);
        var e = Assert.Single(errors);
        Assert.Equal("$.or[1].member_of", e.Path);
        Assert.Equal(RuleErrorCodes.Cycle, e.Code);
        Assert.Contains("a → c → b → a", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cycle_elsewhere_does_not_hang_or_blame_this_segment()
    {
        var lookup = Store(("x", """{"member_of":"y"}"""), ("y", """{"member_of":"x"}"""));
        Assert.Empty(RuleValidator.CheckReferences("n", Rule("""{"member_of":"x"}"""), lookup));
    }

    [Fact]
    public void Dependencies_list_what_a_rule_reads()
    {
        var deps = RuleDependencies.Of(Rule("""
            {"and":[
              {"trait":"address.city","op":"eq","value":"Berlin"},
              {"or":[{"tag":"vip"},{"not":{"tag":"churned"}}]},
              {"event":"Viewed Page","within":"P7D"},
              {"sequence":{"first":{"event":"Added To Cart"},"not_followed_by":{"event":"Order Completed"},"within":"PT30M"}},
              {"last_performed":"Logged In","op":"more_than_ago","value":"P30D"},
              {"reachable":"push:ios"},
              {"member_of":"seg_a"},
              {"bucket":{"salt":"s","percent":10}}
            ]}
            """));
        Assert.Equal(["Added To Cart", "Logged In", "Order Completed", "Viewed Page"], deps.Events);
        Assert.Equal(["address.city"], deps.TraitPaths);
        Assert.Equal(["churned", "vip"], deps.Tags);
        Assert.Equal(["seg_a"], deps.Segments);
        Assert.True(deps.UsesBucket);
        Assert.True(deps.TimeDependent);
        Assert.True(deps.AffectedByTrait("address"));
        Assert.True(deps.AffectedByTrait("address.city"));
        Assert.False(deps.AffectedByTrait("address.zip"));
        Assert.False(deps.AffectedByTrait("addressbook"));
        Assert.True(deps.AffectedByIdentityKind("push:ios"));
        Assert.False(deps.AffectedByIdentityKind("push:android"));
        Assert.False(deps.AffectedByIdentityKind("email"));
        Assert.True(deps.AffectedByEvent("Logged In"));
        Assert.False(deps.AffectedByEvent("Signed Up"));
    }

    [Fact]
    public void Static_rules_are_not_time_dependent_but_relative_date_traits_are()
    {
        Assert.False(RuleDependencies.Of(Rule("""{"and":[{"trait":"plan","op":"eq","value":"pro"},{"trait":"d","op":"before","value":"2026-01-01"}]}""")).TimeDependent);
        Assert.True(RuleDependencies.Of(Rule("""{"trait":"d","op":"within_next","value":"P3D"}""")).TimeDependent);
        Assert.True(RuleDependencies.Of(Rule("""{"trait":"a.b","op":"exists"}""")).AffectedByTrait("a.b.c"));
    }
}
