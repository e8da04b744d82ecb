using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using static Chuda.Domain.Tests.Segments.SegmentTestKit;

namespace Chuda.Domain.Tests.Segments;

public class SegmentEvaluatorTests
{
    private const string Traits = """
        {"plan":"pro","age":30,"score":2.5,"beta":true,"nickname":null,"email":"ann@example.com",
         "address":{"city":"Berlin","zip":"10115"},"interests":["ski","jazz",3],
         "trial_ends_at":"2026-05-03T12:00:00Z","signed_up_at":"2026-04-01","big":1e300}
        """;

    [Theory]
    [InlineData("""{"trait":"plan","op":"eq","value":"pro"}""", true)]
    [InlineData("""{"trait":"plan","op":"eq","value":"Pro"}""", false)]
    [InlineData("""{"trait":"age","op":"eq","value":30.0}""", true)]
    [InlineData("""{"trait":"age","op":"eq","value":"30"}""", false)]
    [InlineData("""{"trait":"beta","op":"eq","value":true}""", true)]
    [InlineData("""{"trait":"address.city","op":"eq","value":"Berlin"}""", true)]
    [InlineData("""{"trait":"address.city.name","op":"eq","value":"Berlin"}""", false)]
    [InlineData("""{"trait":"plan","op":"neq","value":"free"}""", true)]
    [InlineData("""{"trait":"plan","op":"neq","value":"pro"}""", false)]
    [InlineData("""{"trait":"missing","op":"neq","value":"pro"}""", true)]
    [InlineData("""{"trait":"age","op":"gt","value":29}""", true)]
    [InlineData("""{"trait":"age","op":"gt","value":30}""", false)]
    [InlineData("""{"trait":"age","op":"gte","value":30}""", true)]
    [InlineData("""{"trait":"age","op":"lt","value":30}""", false)]
    [InlineData("""{"trait":"score","op":"lt","value":2.51}""", true)]
    [InlineData("""{"trait":"score","op":"lte","value":2.5}""", true)]
    [InlineData("""{"trait":"big","op":"gt","value":1000000}""", true)]
    [InlineData("""{"trait":"plan","op":"gt","value":1}""", false)]
    [InlineData("""{"trait":"email","op":"contains","value":"@example"}""", true)]
    [InlineData("""{"trait":"email","op":"contains","value":"@EXAMPLE"}""", false)]
    [InlineData("""{"trait":"interests","op":"contains","value":"jazz"}""", true)]
    [InlineData("""{"trait":"interests","op":"contains","value":3}""", true)]
    [InlineData("""{"trait":"interests","op":"contains","value":"ja"}""", false)]
    [InlineData("""{"trait":"email","op":"starts_with","value":"ann@"}""", true)]
    [InlineData("""{"trait":"email","op":"starts_with","value":"bob@"}""", false)]
    [InlineData("""{"trait":"plan","op":"in","value":["team","pro"]}""", true)]
    [InlineData("""{"trait":"age","op":"in","value":[1,30]}""", true)]
    [InlineData("""{"trait":"plan","op":"in","value":["team"]}""", false)]
    [InlineData("""{"trait":"plan","op":"not_in","value":["team"]}""", true)]
    [InlineData("""{"trait":"missing","op":"not_in","value":["team"]}""", true)]
    [InlineData("""{"trait":"plan","op":"not_in","value":["pro"]}""", false)]
    [InlineData("""{"trait":"plan","op":"exists"}""", true)]
    [InlineData("""{"trait":"address.zip","op":"exists"}""", true)]
    [InlineData("""{"trait":"nickname","op":"exists"}""", false)]
    [InlineData("""{"trait":"nickname","op":"not_exists"}""", true)]
    [InlineData("""{"trait":"missing","op":"not_exists"}""", true)]
    [InlineData("""{"trait":"signed_up_at","op":"before","value":"2026-04-02"}""", true)]
    [InlineData("""{"trait":"signed_up_at","op":"before","value":"2026-04-01T00:00:00Z"}""", false)]
    [InlineData("""{"trait":"signed_up_at","op":"after","value":"2026-03-31T23:00:00-02:00"}""", false)]
    [InlineData("""{"trait":"signed_up_at","op":"after","value":"2026-03-31T23:00:00+02:00"}""", true)]
    [InlineData("""{"trait":"signed_up_at","op":"within_last","value":"P31D"}""", true)]
    [InlineData("""{"trait":"signed_up_at","op":"within_last","value":"P30D"}""", false)]
    [InlineData("""{"trait":"signed_up_at","op":"more_than_ago","value":"P30D"}""", true)]
    [InlineData("""{"trait":"trial_ends_at","op":"within_next","value":"P3D"}""", true)]
    [InlineData("""{"trait":"trial_ends_at","op":"within_next","value":"P1D"}""", false)]
    [InlineData("""{"trait":"trial_ends_at","op":"more_than_ahead","value":"P1D"}""", true)]
    [InlineData("""{"trait":"trial_ends_at","op":"within_last","value":"P30D"}""", false)]
    [InlineData("""{"trait":"plan","op":"within_last","value":"P30D"}""", false)]
    [InlineData("""{"not":{"trait":"plan","op":"before","value":"2030-01-01"}}""", true)]
    public void Trait_operators(string rule, bool expected) =>
        Assert.Equal(expected, Eval(Rule(rule), Facts(Traits), T0));

    [Fact]
    public void Date_trait_windows_have_exact_half_open_bounds()
    {
        var facts = Facts("""{"d":"2026-05-01T12:00:00Z"}""");
        var t = T0;
        var last = Rule("""{"trait":"d","op":"within_last","value":"P1D"}""");
        Assert.False(Eval(last, facts, t.AddTicks(-1)));
        Assert.True(Eval(last, facts, t));
        Assert.True(Eval(last, facts, t.AddDays(1).AddTicks(-1)));
        Assert.False(Eval(last, facts, t.AddDays(1)));
        var next = Rule("""{"trait":"d","op":"within_next","value":"P1D"}""");
        Assert.False(Eval(next, facts, t.AddDays(-1).AddTicks(-1)));
        Assert.True(Eval(next, facts, t.AddDays(-1)));
        Assert.True(Eval(next, facts, t.AddTicks(-1)));
        Assert.False(Eval(next, facts, t));
        var ago = Rule("""{"trait":"d","op":"more_than_ago","value":"P1D"}""");
        Assert.False(Eval(ago, facts, t.AddDays(1).AddTicks(-1)));
        Assert.True(Eval(ago, facts, t.AddDays(1)));
        var ahead = Rule("""{"trait":"d","op":"more_than_ahead","value":"P1D"}""");
        Assert.True(Eval(ahead, facts, t.AddDays(-1).AddTicks(-1)));
        Assert.False(Eval(ahead, facts, t.AddDays(-1)));

        Assert.Equal(t, Next(last, facts, t.AddHours(-5)));
        Assert.Equal(t.AddDays(1), Next(last, facts, t));
        Assert.Null(Next(last, facts, t.AddDays(1)));
        Assert.Equal(t.AddDays(-1), Next(next, facts, t.AddDays(-2)));
        Assert.Equal(t, Next(next, facts, t.AddDays(-1)));
        Assert.Equal(t.AddDays(1), Next(ago, facts, t));
        Assert.Null(Next(ago, facts, t.AddDays(2)));
        Assert.Equal(t.AddDays(-1), Next(ahead, facts, t.AddDays(-3)));
    }

    [Fact]
    public void Tags_reachability_membership_and_bucket()
    {
        var facts = Facts(tags: ["vip"], kinds: [IdentityKinds.Email, "push:ios", IdentityKinds.AnonymousId]);
        Assert.True(Eval(Rule("""{"tag":"vip"}"""), facts, T0));
        Assert.False(Eval(Rule("""{"tag":"vip","op":"absent"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"tag":"beta","op":"absent"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"tag":"vip","op":"present"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"reachable":"email"}"""), facts, T0));
        Assert.False(Eval(Rule("""{"reachable":"phone"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"reachable":"push"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"reachable":"push:ios"}"""), facts, T0));
        Assert.False(Eval(Rule("""{"reachable":"push:android"}"""), facts, T0));
        Assert.False(Eval(Rule("""{"reachable":"wechat"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"reachable":"wechat"}"""), Facts(kinds: [IdentityKinds.WeChatOpenId]), T0));
        Assert.True(Eval(Rule("""{"reachable":"phone"}"""), Facts(kinds: [IdentityKinds.Phone]), T0));

        var member = Rule("""{"member_of":"seg_a"}""");
        Assert.True(Eval(member, facts, T0, id => id == "seg_a"));
        Assert.False(Eval(member, facts, T0, id => id == "seg_b"));

        Assert.True(Eval(Rule("""{"bucket":{"salt":"s","percent":100}}"""), facts, T0));
        Assert.False(Eval(Rule("""{"bucket":{"salt":"s","percent":0}}"""), facts, T0));
        var position = Bucketing.Position("s", "user-1");
        var below = (position + 1) / 100m;
        Assert.True(Eval(new RandomBucketCondition("s", below), facts, T0));
        Assert.False(Eval(new RandomBucketCondition("s", position / 100m), facts, T0));
        foreach (var r in new[] { """{"tag":"vip"}""", """{"reachable":"email"}""", """{"bucket":{"salt":"s","percent":50}}""", """{"trait":"a","op":"exists"}""" })
        {
            Assert.Null(Next(Rule(r), facts, T0));
        }
    }

    [Fact]
    public void Bucket_positions_are_fixed_across_versions()
    {
        // Guards the documented algorithm: changing it would move every profile between hold-out and treatment.
        Assert.Equal(Bucketing.Position("holdout-2026", "user-1"), Bucketing.Position("holdout-2026", "user-1"));
        var sha = System.Security.Cryptography.SHA256.HashData("holdout-2026\nuser-1"u8);
        var expected = (int)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(sha) % 10_000);
        Assert.Equal(expected, Bucketing.Position("holdout-2026", "user-1"));
    }

    [Fact]
    public void Event_count_operators_and_filters()
    {
        var facts = Events(
            Ev("Viewed Page", T0.AddDays(-1), """{"path":"/pricing"}"""),
            Ev("Viewed Page", T0.AddDays(-2), """{"path":"/pricing"}"""),
            Ev("Viewed Page", T0.AddDays(-3), """{"path":"/home"}"""),
            Ev("Viewed Page", T0.AddDays(-10), """{"path":"/pricing"}"""),
            Ev("Viewed Page", T0.AddHours(1), """{"path":"/pricing"}"""));
        const string pricing = """ "where":[{"property":"path","op":"eq","value":"/pricing"}] """;
        Assert.True(Eval(Rule($$$"""{"event":"Viewed Page",{{{pricing}}}}"""), facts, T0));
        Assert.True(Eval(Rule($$$"""{"event":"Viewed Page",{{{pricing}}},"count":{"op":"exactly","value":3}}"""), facts, T0));
        Assert.True(Eval(Rule($$$"""{"event":"Viewed Page",{{{pricing}}},"count":{"op":"exactly","value":2},"within":"P7D"}"""), facts, T0));
        Assert.True(Eval(Rule($$$"""{"event":"Viewed Page",{{{pricing}}},"count":{"op":"at_most","value":2},"within":"P7D"}"""), facts, T0));
        Assert.False(Eval(Rule($$$"""{"event":"Viewed Page",{{{pricing}}},"count":{"op":"at_least","value":3},"within":"P7D"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"event":"Viewed Page","count":{"op":"at_least","value":3},"within":"P7D"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"event":"Signed Up","count":{"op":"exactly","value":0}}"""), facts, T0));
        Assert.True(Eval(Rule("""{"event":"Viewed Page","where":[{"property":"path","op":"starts_with","value":"/h"}]}"""), facts, T0));
        Assert.False(Eval(Rule("""{"event":"Viewed Page","where":[{"property":"path","op":"in","value":["/about"]}]}"""), facts, T0));
        // The future event counts from its timestamp on.
        Assert.Equal(T0.AddHours(1), Next(Rule($$$"""{"event":"Viewed Page",{{{pricing}}},"count":{"op":"at_least","value":3},"within":"P7D"}"""), facts, T0));
        Assert.True(Eval(Rule($$$"""{"event":"Viewed Page",{{{pricing}}},"count":{"op":"at_least","value":3},"within":"P7D"}"""), facts, T0.AddHours(1)));
    }

    [Fact]
    public void Event_property_filters_on_nested_paths_numbers_and_dates()
    {
        var facts = Events(Ev("Order Completed", T0.AddDays(-1),
            """{"total":120.5,"item":{"sku":"A1"},"coupon":null,"delivered_at":"2026-04-29T10:00:00Z"}"""));
        Assert.True(Eval(Rule("""{"event":"Order Completed","where":[{"property":"total","op":"gt","value":100},{"property":"item.sku","op":"eq","value":"A1"}]}"""), facts, T0));
        Assert.False(Eval(Rule("""{"event":"Order Completed","where":[{"property":"total","op":"gt","value":100},{"property":"item.sku","op":"eq","value":"B2"}]}"""), facts, T0));
        Assert.True(Eval(Rule("""{"event":"Order Completed","where":[{"property":"coupon","op":"not_exists"}]}"""), facts, T0));
        Assert.True(Eval(Rule("""{"event":"Order Completed","where":[{"property":"delivered_at","op":"before","value":"2026-04-30"}]}"""), facts, T0));
        Assert.False(Eval(Rule("""{"event":"Order Completed","where":[{"property":"delivered_at","op":"after","value":"2026-04-30"}]}"""), facts, T0));
    }

    [Fact]
    public void Pricing_three_times_in_seven_days_and_not_paid()
    {
        // Issue example 1: viewed the pricing page 3+ times in the last 7 days and has not paid.
        var rule = Rule("""
            {"and":[
              {"event":"Viewed Page","where":[{"property":"path","op":"eq","value":"/pricing"}],
               "count":{"op":"at_least","value":3},"within":"P7D"},
              {"not_performed":"Order Completed"}
            ]}
            """);
        var v1 = T0.AddDays(-6);
        var v2 = T0.AddDays(-2);
        var v3 = T0.AddHours(-1);
        var pricing = """{"path":"/pricing"}""";
        var facts = Events(Ev("Viewed Page", v1, pricing), Ev("Viewed Page", v2, pricing), Ev("Viewed Page", v3, pricing),
            Ev("Viewed Page", T0.AddHours(-2), """{"path":"/docs"}"""));
        Assert.True(Eval(rule, facts, T0));
        // Becomes false when the third-newest occurrence turns 7 days old.
        Assert.Equal(v1.AddDays(7), Next(rule, facts, T0));
        AssertNextIsExact(rule, facts, T0);
        Assert.True(Eval(rule, facts, v1.AddDays(7).AddTicks(-1)));
        Assert.False(Eval(rule, facts, v1.AddDays(7)));
        Assert.Null(Next(rule, facts, v1.AddDays(7)));

        var paid = Events([.. facts.Events, Ev("Order Completed", T0.AddMinutes(-5))]);
        Assert.False(Eval(rule, paid, T0));
        Assert.Null(Next(rule, paid, T0));
    }

    [Fact]
    public void Added_to_cart_and_no_order_within_thirty_minutes_with_the_same_cart()
    {
        // Issue example 2: true exactly at add-to-cart + 30 min, unless an order for the same cart came in between.
        var rule = Rule("""
            {"sequence":{"first":{"event":"Added To Cart"},"not_followed_by":{"event":"Order Completed"},
                         "within":"PT30M","match":"cart_id"}}
            """);
        var add = T0;
        var abandoned = Events(Ev("Added To Cart", add, """{"cart_id":"c1"}"""));
        Assert.False(Eval(rule, abandoned, add));
        Assert.Equal(add.AddMinutes(30), Next(rule, abandoned, add));
        Assert.False(Eval(rule, abandoned, add.AddMinutes(30).AddTicks(-1)));
        Assert.True(Eval(rule, abandoned, add.AddMinutes(30)));
        Assert.Null(Next(rule, abandoned, add.AddMinutes(30)));

        var ordered = Events(Ev("Added To Cart", add, """{"cart_id":"c1"}"""), Ev("Order Completed", add.AddMinutes(10), """{"cart_id":"c1"}"""));
        Assert.False(Eval(rule, ordered, add.AddHours(1)));
        Assert.Null(Next(rule, ordered, add));

        var otherCart = Events(Ev("Added To Cart", add, """{"cart_id":"c1"}"""), Ev("Order Completed", add.AddMinutes(10), """{"cart_id":"c2"}"""));
        Assert.True(Eval(rule, otherCart, add.AddHours(1)));

        var lateOrder = Events(Ev("Added To Cart", add, """{"cart_id":"c1"}"""), Ev("Order Completed", add.AddMinutes(30), """{"cart_id":"c1"}"""));
        Assert.True(Eval(rule, lateOrder, add.AddHours(1)));

        var noCartId = Events(Ev("Added To Cart", add, "{}"));
        Assert.False(Eval(rule, noCartId, add.AddHours(1)));

        // Without "match", any order in the window counts.
        var anyOrder = Rule("""{"sequence":{"first":{"event":"Added To Cart"},"not_followed_by":{"event":"Order Completed"},"within":"PT30M"}}""");
        Assert.False(Eval(anyOrder, otherCart, add.AddHours(1)));

        // A lookback ends it: the abandonment only counts for 7 days.
        var recent = Rule("""{"sequence":{"first":{"event":"Added To Cart"},"not_followed_by":{"event":"Order Completed"},"within":"PT30M","match":"cart_id","lookback":"P7D"}}""");
        Assert.Equal(add.AddDays(7), Next(recent, abandoned, add.AddHours(1)));
        Assert.False(Eval(recent, abandoned, add.AddDays(7)));
    }

    [Fact]
    public void Followed_by_sequence_is_true_from_the_follow_up_on()
    {
        var rule = Rule("""{"sequence":{"first":{"event":"Trial Started"},"followed_by":{"event":"Invited Teammate"},"within":"P2D","lookback":"P30D"}}""");
        var facts = Events(Ev("Trial Started", T0), Ev("Invited Teammate", T0.AddDays(1)), Ev("Invited Teammate", T0.AddDays(-1)));
        Assert.False(Eval(rule, facts, T0.AddHours(1)));
        Assert.Equal(T0.AddDays(1), Next(rule, facts, T0.AddHours(1)));
        Assert.True(Eval(rule, facts, T0.AddDays(1)));
        Assert.Equal(T0.AddDays(30), Next(rule, facts, T0.AddDays(1)));
        var tooLate = Events(Ev("Trial Started", T0), Ev("Invited Teammate", T0.AddDays(2)));
        Assert.False(Eval(rule, tooLate, T0.AddDays(3)));
    }

    [Fact]
    public void Last_order_more_than_sixty_days_ago()
    {
        // Issue example 3 (dormant customers).
        var rule = Rule("""{"last_performed":"Order Completed","op":"more_than_ago","value":"P60D"}""");
        var last = T0.AddDays(-50);
        var facts = Events(Ev("Order Completed", T0.AddDays(-200)), Ev("Order Completed", last));
        Assert.False(Eval(rule, facts, T0));
        Assert.Equal(last.AddDays(60), Next(rule, facts, T0));
        Assert.True(Eval(rule, facts, last.AddDays(60)));
        Assert.False(Eval(rule, Events(), T0));
        Assert.Null(Next(rule, Events(), T0));

        // A new order makes it false again from its timestamp on.
        var again = Events([.. facts.Events, Ev("Order Completed", last.AddDays(70))]);
        Assert.True(Eval(rule, again, last.AddDays(65)));
        Assert.Equal(last.AddDays(70), Next(rule, again, last.AddDays(65)));
        Assert.False(Eval(rule, again, last.AddDays(70)));
        Assert.Equal(last.AddDays(130), Next(rule, again, last.AddDays(70)));
    }

    [Fact]
    public void First_performed_compares_the_earliest_occurrence()
    {
        var facts = Events(Ev("Signed Up", T0.AddDays(-3)), Ev("Signed Up", T0.AddDays(-40)));
        Assert.False(Eval(Rule("""{"first_performed":"Signed Up","op":"within_last","value":"P7D"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"last_performed":"Signed Up","op":"within_last","value":"P7D"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"first_performed":"Signed Up","op":"before","value":"2026-04-01"}"""), facts, T0));
        Assert.True(Eval(Rule("""{"last_performed":"Signed Up","op":"after","value":"2026-04-01"}"""), facts, T0));
        var fresh = Events(Ev("Signed Up", T0.AddDays(2)));
        var firstWeek = Rule("""{"first_performed":"Signed Up","op":"within_last","value":"P7D"}""");
        Assert.False(Eval(firstWeek, fresh, T0));
        Assert.Equal(T0.AddDays(2), Next(firstWeek, fresh, T0));
        Assert.Equal(T0.AddDays(9), Next(firstWeek, fresh, T0.AddDays(2)));
    }

    [Fact]
    public void Trial_ends_within_three_days()
    {
        // Issue example 4.
        var rule = Rule("""{"and":[{"trait":"plan","op":"eq","value":"trial"},{"trait":"trial_ends_at","op":"within_next","value":"P3D"}]}""");
        var ends = T0.AddDays(5);
        var facts = Facts($$$"""{"plan":"trial","trial_ends_at":"{{{ends:O}}}"}""");
        Assert.False(Eval(rule, facts, T0));
        Assert.Equal(ends.AddDays(-3), Next(rule, facts, T0));
        Assert.True(Eval(rule, facts, ends.AddDays(-3)));
        Assert.Equal(ends, Next(rule, facts, ends.AddDays(-3)));
        Assert.False(Eval(rule, facts, ends));
        // Not a trial: the date can never make it true, so nothing is scheduled.
        Assert.Null(Next(rule, Facts($$$"""{"plan":"pro","trial_ends_at":"{{{ends:O}}}"}"""), T0));
    }

    [Fact]
    public void Not_performed_within_a_window_becomes_true_when_the_last_one_ages_out()
    {
        var rule = Rule("""{"not_performed":"Logged In","within":"P14D"}""");
        var login = T0.AddDays(-3);
        var facts = Events(Ev("Logged In", login), Ev("Logged In", T0.AddDays(-10)));
        Assert.False(Eval(rule, facts, T0));
        Assert.Equal(login.AddDays(14), Next(rule, facts, T0));
        Assert.True(Eval(rule, facts, login.AddDays(14)));
        Assert.True(Eval(Rule("""{"not_performed":"Logged In"}"""), Events(), T0));
    }

    [Fact]
    public void Groups_schedule_only_flips_that_can_change_the_result()
    {
        var window = """{"event":"A","within":"P1D"}""";
        var facts = Facts(tags: ["x"], events: [Ev("A", T0.AddHours(-1))]);
        // and with a constantly false child never changes.
        Assert.Null(Next(Rule($$$"""{"and":[{"tag":"y"},{{{window}}}]}"""), facts, T0));
        // or with a constantly true child never changes.
        Assert.Null(Next(Rule($$$"""{"or":[{"tag":"x"},{{{window}}}]}"""), facts, T0));
        Assert.Equal(T0.AddHours(23), Next(Rule($$$"""{"and":[{"tag":"x"},{{{window}}}]}"""), facts, T0));
        Assert.Equal(T0.AddHours(23), Next(Rule($$$"""{"not":{{{window}}}}"""), facts, T0));
        // Two windows that hand over to each other: A leaves at +23h exactly when B is already true → no flip then.
        var both = Events(Ev("A", T0.AddHours(-1)), Ev("B", T0.AddHours(-2)));
        var either = Rule("""{"or":[{"event":"A","within":"P1D"},{"event":"B","within":"P2D"}]}""");
        Assert.Equal(T0.AddDays(2).AddHours(-2), Next(either, both, T0));
        AssertNextIsExact(either, both, T0);
    }

    [Fact]
    public void Facts_from_storage_rows()
    {
        var profile = new ProfileRecord(1, 7, "u7", 0, """{"plan":"pro"}""", ["vip"], null, null, false, T0, T0, 1);
        EventRow Row(string type, string? name, string payload) => new(1, 7, 1, "m", type, name, T0.AddHours(-1), T0, payload);
        var facts = ProfileFacts.From(profile,
            [new IdentityKey(IdentityKinds.Email, "a@b.c"), new IdentityKey(IdentityKinds.AnonymousId, "anon")],
            [
                Row("track", "Order Completed", """{"type":"track","event":"Order Completed","properties":{"total":5}}"""),
                Row("page", "Pricing", """{"type":"page","name":"Pricing","properties":{"path":"/pricing"}}"""),
                Row("identify", null, """{"type":"identify","traits":{"x":1}}"""),
            ]);
        Assert.Equal("u7", facts.BucketKey);
        Assert.Equal(2, facts.Events.Count);
        Assert.True(Eval(Rule("""
            {"and":[{"trait":"plan","op":"eq","value":"pro"},{"tag":"vip"},{"reachable":"email"},
            {"event":"Order Completed","where":[{"property":"total","op":"eq","value":5}]},
            {"event":"Viewed Page","where":[{"property":"path","op":"eq","value":"/pricing"},{"property":"name","op":"eq","value":"Pricing"}]}]}
            """), facts, T0));
        var anonymous = ProfileFacts.From(profile with { UserId = null },
            [new IdentityKey(IdentityKinds.AnonymousId, "b"), new IdentityKey(IdentityKinds.AnonymousId, "a")], []);
        Assert.Equal("a", anonymous.BucketKey);
    }
}
