using Chuda.Domain.Segments;
using static Chuda.Domain.Tests.Segments.SegmentTestKit;

namespace Chuda.Domain.Tests.Segments;

public class RuleParserTests
{
    [Fact]
    public void Parses_every_condition_into_its_record()
    {
        var rule = Rule("""
            {"and":[
              {"trait":"address.city","op":"eq","value":"Berlin"},
              {"trait":"age","op":"gte","value":18},
              {"trait":"plan","op":"in","value":["pro","team"]},
              {"trait":"email","op":"exists"},
              {"trait":"trial_ends_at","op":"within_next","value":"P3D"},
              {"trait":"signed_up_at","op":"before","value":"2026-01-01"},
              {"tag":"vip"},
              {"tag":"churned","op":"absent"},
              {"event":"Viewed Page","where":[{"property":"path","op":"eq","value":"/pricing"}],"count":{"op":"at_least","value":3},"within":"P7D"},
              {"not_performed":"Order Completed","within":"P30D"},
              {"sequence":{"first":{"event":"Added To Cart"},"not_followed_by":{"event":"Order Completed"},"within":"PT30M","match":"cart_id","lookback":"P7D"}},
              {"last_performed":"Order Completed","op":"more_than_ago","value":"P60D"},
              {"first_performed":"Signed Up","where":[{"property":"source","op":"starts_with","value":"ad"}],"op":"after","value":"2026-01-01T00:00:00+08:00"},
              {"reachable":"email"},
              {"reachable":"push:ios"},
              {"member_of":"seg_active"},
              {"not":{"bucket":{"salt":"holdout-2026","percent":10}}},
              {"or":[{"tag":"a"},{"tag":"b"}]}
            ]}
            """);

        var and = Assert.IsType<AndRule>(rule);
        Assert.Equal(18, and.Rules.Count);
        Assert.Equal(new TraitCondition("address.city", Comparison.Scalar(ComparisonOperator.Eq, new StringValue("Berlin"))), and.Rules[0]);
        Assert.Equal(new TraitCondition("age", Comparison.Scalar(ComparisonOperator.Gte, new NumberValue(18))), and.Rules[1]);
        Assert.Equal(new TraitCondition("plan", Comparison.Set(false, [new StringValue("pro"), new StringValue("team")])), and.Rules[2]);
        Assert.Equal(new TraitCondition("email", Comparison.Existence(true)), and.Rules[3]);
        Assert.Equal(new TraitCondition("trial_ends_at", Comparison.Relative(ComparisonOperator.WithinNext, TimeSpan.FromDays(3))), and.Rules[4]);
        Assert.Equal(new TraitCondition("signed_up_at",
            Comparison.Absolute(ComparisonOperator.Before, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))), and.Rules[5]);
        Assert.Equal(new TagCondition("vip", true), and.Rules[6]);
        Assert.Equal(new TagCondition("churned", false), and.Rules[7]);
        Assert.Equal(new EventPerformedCondition(
            new EventMatcher("Viewed Page", [new PropertyFilter("path", Comparison.Scalar(ComparisonOperator.Eq, new StringValue("/pricing")))]),
            new EventCount(CountOperator.AtLeast, 3), TimeSpan.FromDays(7)), and.Rules[8]);
        Assert.Equal(new EventNotPerformedCondition(new EventMatcher("Order Completed", []), TimeSpan.FromDays(30)), and.Rules[9]);
        Assert.Equal(new SequenceCondition(new EventMatcher("Added To Cart", []), new EventMatcher("Order Completed", []), false,
            TimeSpan.FromMinutes(30), "cart_id", TimeSpan.FromDays(7)), and.Rules[10]);
        Assert.Equal(new OccurrenceCondition(Occurrence.Last, new EventMatcher("Order Completed", []),
            Comparison.Relative(ComparisonOperator.MoreThanAgo, TimeSpan.FromDays(60))), and.Rules[11]);
        var first = Assert.IsType<OccurrenceCondition>(and.Rules[12]);
        Assert.Equal(Occurrence.First, first.Which);
        Assert.Equal(new DateTimeOffset(2025, 12, 31, 16, 0, 0, TimeSpan.Zero), first.Comparison.Instant);
        Assert.Equal(new ReachableCondition(ReachChannel.Email), and.Rules[13]);
        Assert.Equal(new ReachableCondition(ReachChannel.Push, "ios"), and.Rules[14]);
        Assert.Equal(new SegmentMembershipCondition("seg_active"), and.Rules[15]);
        Assert.Equal(new NotRule(new RandomBucketCondition("holdout-2026", 10m)), and.Rules[16]);
        Assert.Equal(new OrRule([new TagCondition("a", true), new TagCondition("b", true)]), and.Rules[17]);
    }

    [Fact]
    public void Parsing_the_same_json_twice_gives_equal_rules()
    {
        const string json = """{"or":[{"event":"A","count":{"op":"exactly","value":2}},{"trait":"x","op":"not_in","value":[1,2.5,true]}]}""";
        Assert.Equal(Rule(json), Rule(json));
        Assert.Equal(Rule(json).GetHashCode(), Rule(json).GetHashCode());
    }

    [Fact]
    public void Defaults_count_at_least_once_and_ever()
    {
        var r = Assert.IsType<EventPerformedCondition>(Rule("""{"event":"Signed Up"}"""));
        Assert.Equal(EventCount.Once, r.Count);
        Assert.Null(r.Within);
        Assert.Empty(r.Match.Where);
    }

    [Fact]
    public void Followed_by_sequence_parses()
    {
        var r = Assert.IsType<SequenceCondition>(Rule(
            """{"sequence":{"first":{"event":"Trial Started"},"followed_by":{"event":"Invited Teammate","where":[{"property":"role","op":"neq","value":"viewer"}]},"within":"P2D"}}"""));
        Assert.True(r.FollowedBy);
        Assert.Null(r.MatchProperty);
        Assert.Null(r.Lookback);
        Assert.Single(r.Then.Where);
    }

    [Theory]
    [InlineData("""{"trait":"plan","op":"equals","value":"pro"}""", "$.op", RuleErrorCodes.UnknownOperator)]
    [InlineData("""{"and":[{"tag":"x"},{"event":"A","count":{"op":"more_than","value":3}}]}""", "$.and[1].count.op", RuleErrorCodes.UnknownOperator)]
    [InlineData("""{"trait":"age","op":"gt","value":"18"}""", "$.value", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"trait":"age","op":"lte","value":true}""", "$.value", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"trait":"name","op":"starts_with","value":1}""", "$.value", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"trait":"name","op":"eq","value":null}""", "$.value", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"trait":"name","op":"eq","value":{"a":1}}""", "$.value", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"trait":"signup","op":"before","value":"yesterday"}""", "$.value", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"trait":"signup","op":"after","value":20260101}""", "$.value", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"trait":"plan","op":"in","value":"pro"}""", "$.value", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"trait":"plan","op":"in","value":[]}""", "$.value", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"trait":"plan","op":"not_in","value":["a",["b"]]}""", "$.value[1]", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"trait":"plan","op":"exists","value":true}""", "$.value", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"trait":"plan","op":"eq"}""", "$.value", RuleErrorCodes.MissingKey)]
    [InlineData("""{"trait":"plan","value":"x"}""", "$.op", RuleErrorCodes.MissingKey)]
    [InlineData("""{"trait":"plan","op":7,"value":"x"}""", "$.op", RuleErrorCodes.UnknownOperator)]
    [InlineData("""{"trait":"trial_ends_at","op":"within_next","value":"3 days"}""", "$.value", RuleErrorCodes.BadDuration)]
    [InlineData("""{"trait":"trial_ends_at","op":"within_last","value":3}""", "$.value", RuleErrorCodes.BadDuration)]
    [InlineData("""{"event":"A","within":"P1M"}""", "$.within", RuleErrorCodes.BadDuration)]
    [InlineData("""{"event":"A","within":"P0D"}""", "$.within", RuleErrorCodes.BadDuration)]
    [InlineData("""{"event":"A","within":"PT"}""", "$.within", RuleErrorCodes.BadDuration)]
    [InlineData("""{"event":"A","within":"p7d"}""", "$.within", RuleErrorCodes.BadDuration)]
    [InlineData("""{"event":"A","within":"P99999D"}""", "$.within", RuleErrorCodes.BadDuration)]
    [InlineData("""{"and":[]}""", "$.and", RuleErrorCodes.EmptyGroup)]
    [InlineData("""{"not":{"or":[]}}""", "$.not.or", RuleErrorCodes.EmptyGroup)]
    [InlineData("""{"and":{"tag":"x"}}""", "$.and", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"and":[{"tag":"x"}],"extra":1}""", "$.extra", RuleErrorCodes.UnknownKey)]
    [InlineData("""{"trait":"plan","op":"eq","value":"pro","negate":true}""", "$.negate", RuleErrorCodes.UnknownKey)]
    [InlineData("""{"event":"A","count":{"op":"at_least","value":1,"max":3}}""", "$.count.max", RuleErrorCodes.UnknownKey)]
    [InlineData("""{"tag":"x","tag":"y"}""", "$.tag", RuleErrorCodes.DuplicateKey)]
    [InlineData("""{"count":{"op":"at_least","value":3},"within":"P7D"}""", "$.event", RuleErrorCodes.MissingKey)]
    [InlineData("""{"or":[{"tag":"x"},{"where":[]}]}""", "$.or[1].event", RuleErrorCodes.MissingKey)]
    [InlineData("""{}""", "$", RuleErrorCodes.UnknownCondition)]
    [InlineData("""{"segment":"x"}""", "$", RuleErrorCodes.UnknownCondition)]
    [InlineData("""[{"tag":"x"}]""", "$", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"and":[{"tag":"x"},"vip"]}""", "$.and[1]", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"trait":"plan","tag":"x","op":"exists"}""", "$", RuleErrorCodes.AmbiguousCondition)]
    [InlineData("""{"event":"A","count":{"op":"at_least","value":0}}""", "$.count.value", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"event":"A","count":{"op":"at_most","value":-1}}""", "$.count.value", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"event":"A","count":{"op":"exactly","value":1.5}}""", "$.count.value", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"event":"A","count":{"op":"exactly","value":"2"}}""", "$.count.value", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"event":"A","count":{"op":"exactly"}}""", "$.count.value", RuleErrorCodes.MissingKey)]
    [InlineData("""{"event":"A","count":3}""", "$.count", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"event":""}""", "$.event", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"event":42}""", "$.event", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"event":"A","where":{"property":"x"}}""", "$.where", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"event":"A","where":[{"property":"ts","op":"within_last","value":"P1D"}]}""", "$.where[0].op", RuleErrorCodes.UnknownOperator)]
    [InlineData("""{"event":"A","where":[{"op":"eq","value":1}]}""", "$.where[0].property", RuleErrorCodes.MissingKey)]
    [InlineData("""{"event":"A","where":[{"property":"a..b","op":"exists"}]}""", "$.where[0].property", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"trait":"address.","op":"exists"}""", "$.trait", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"tag":"vip","op":"missing"}""", "$.op", RuleErrorCodes.UnknownOperator)]
    [InlineData("""{"tag":" "}""", "$.tag", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"not_performed":"A","count":{"op":"at_least","value":1}}""", "$.count", RuleErrorCodes.UnknownKey)]
    [InlineData("""{"sequence":{"first":{"event":"A"},"not_followed_by":{"event":"B"}}}""", "$.sequence.within", RuleErrorCodes.MissingKey)]
    [InlineData("""{"sequence":{"first":{"event":"A"},"within":"PT30M"}}""", "$.sequence.not_followed_by", RuleErrorCodes.MissingKey)]
    [InlineData("""{"sequence":{"first":{"event":"A"},"followed_by":{"event":"B"},"not_followed_by":{"event":"B"},"within":"PT30M"}}""", "$.sequence.not_followed_by", RuleErrorCodes.AmbiguousCondition)]
    [InlineData("""{"sequence":{"not_followed_by":{"event":"B"},"within":"PT30M"}}""", "$.sequence.first", RuleErrorCodes.MissingKey)]
    [InlineData("""{"sequence":{"first":{"where":[]},"not_followed_by":{"event":"B"},"within":"PT30M"}}""", "$.sequence.first.event", RuleErrorCodes.MissingKey)]
    [InlineData("""{"sequence":{"first":{"event":"A"},"not_followed_by":{"event":"B"},"within":"P1D","lookback":"PT1H"}}""", "$.sequence.lookback", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"sequence":{"first":{"event":"A"},"not_followed_by":{"event":"B"},"within":"P1D","key":"cart_id"}}""", "$.sequence.key", RuleErrorCodes.UnknownKey)]
    [InlineData("""{"sequence":"A then B"}""", "$.sequence", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"last_performed":"Order Completed","op":"within_next","value":"P1D"}""", "$.op", RuleErrorCodes.UnknownOperator)]
    [InlineData("""{"last_performed":"Order Completed","op":"eq","value":"x"}""", "$.op", RuleErrorCodes.UnknownOperator)]
    [InlineData("""{"first_performed":"A","op":"more_than_ago","value":"60 days"}""", "$.value", RuleErrorCodes.BadDuration)]
    [InlineData("""{"reachable":"fax"}""", "$.reachable", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"reachable":"push:"}""", "$.reachable", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"member_of":""}""", "$.member_of", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"bucket":{"salt":"s","percent":101}}""", "$.bucket.percent", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"bucket":{"salt":"s","percent":10.005}}""", "$.bucket.percent", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"bucket":{"salt":"s","percent":"10"}}""", "$.bucket.percent", RuleErrorCodes.TypeMismatch)]
    [InlineData("""{"bucket":{"percent":10}}""", "$.bucket.salt", RuleErrorCodes.MissingKey)]
    [InlineData("""{"bucket":10}""", "$.bucket", RuleErrorCodes.InvalidValue)]
    [InlineData("""{"and":[{"tag":"a"}""", "$", RuleErrorCodes.InvalidJson)]
    public void Reports_the_fault_with_its_json_path(string json, string path, string code)
    {
        var r = RuleParser.Parse(json);
        Assert.False(r.IsValid);
        Assert.Null(r.Rule);
        Assert.Contains(r.Errors, e => e.Path == path && e.Code == code);
    }

    [Fact]
    public void Collects_every_error_not_just_the_first()
    {
        var r = RuleParser.Parse("""{"and":[{"trait":"a","op":"gt","value":"x"},{"event":"B","within":"7d"},{"or":[]}]}""");
        Assert.Equal(["$.and[0].value", "$.and[1].within", "$.and[2].or"], r.Errors.Select(e => e.Path));
        Assert.Equal([RuleErrorCodes.TypeMismatch, RuleErrorCodes.BadDuration, RuleErrorCodes.EmptyGroup], r.Errors.Select(e => e.Code));
    }

    [Fact]
    public void Odd_key_names_are_quoted_in_paths()
    {
        var r = RuleParser.Parse("""{"tag":"x","my key":1}""");
        Assert.Equal("$['my key']", Assert.Single(r.Errors).Path);
    }

    [Fact]
    public void Declared_trait_kinds_reject_operators_that_do_not_fit()
    {
        var options = new RuleParserOptions
        {
            TraitKinds = p => p switch
            {
                "plan" => TraitKind.String,
                "age" => TraitKind.Number,
                "trial_ends_at" => TraitKind.Date,
                "tags" => TraitKind.Array,
                _ => null,
            },
        };
        Assert.Contains(RuleParser.Parse("""{"trait":"plan","op":"gt","value":3}""", options).Errors,
            e => e.Path == "$.op" && e.Code == RuleErrorCodes.TypeMismatch);
        Assert.Contains(RuleParser.Parse("""{"trait":"age","op":"eq","value":"18"}""", options).Errors,
            e => e.Path == "$.op" && e.Code == RuleErrorCodes.TypeMismatch);
        Assert.Contains(RuleParser.Parse("""{"trait":"plan","op":"within_last","value":"P1D"}""", options).Errors,
            e => e.Path == "$.op" && e.Code == RuleErrorCodes.TypeMismatch);
        Assert.Contains(RuleParser.Parse("""{"and":[{"trait":"age","op":"in","value":[1,"2"]}]}""", options).Errors,
            e => e.Path == "$.and[0].op" && e.Code == RuleErrorCodes.TypeMismatch);
        Assert.True(RuleParser.Parse("""{"trait":"age","op":"gt","value":3}""", options).IsValid);
        Assert.True(RuleParser.Parse("""{"trait":"trial_ends_at","op":"within_next","value":"P3D"}""", options).IsValid);
        Assert.True(RuleParser.Parse("""{"trait":"tags","op":"contains","value":"a"}""", options).IsValid);
        Assert.True(RuleParser.Parse("""{"trait":"unknown","op":"gt","value":3}""", options).IsValid);
    }

    [Fact]
    public void Limits_depth_and_size()
    {
        var deep = string.Concat(Enumerable.Repeat("""{"not":""", 20)) + """{"tag":"x"}""" + new string('}', 20);
        Assert.Contains(RuleParser.Parse(deep).Errors, e => e.Code == RuleErrorCodes.TooComplex);
        var wide = """{"or":[""" + string.Join(",", Enumerable.Repeat("""{"tag":"x"}""", 600)) + "]}";
        var errors = RuleParser.Parse(wide).Errors;
        Assert.Single(errors);
        Assert.Equal(RuleErrorCodes.TooComplex, errors[0].Code);
    }

    [Theory]
    [InlineData("PT30M", 30 * 60)]
    [InlineData("PT1H30M", 90 * 60)]
    [InlineData("P7D", 7 * 86400)]
    [InlineData("P1DT12H", 36 * 3600)]
    [InlineData("P2W", 14 * 86400)]
    [InlineData("PT45S", 45)]
    [InlineData("PT90M", 90 * 60)]
    public void Durations_parse_as_exact_elapsed_time(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RuleDuration.Parse(text));

    [Theory]
    [InlineData("P1Y")]
    [InlineData("P1M")]
    [InlineData("PT0S")]
    [InlineData("P1.5D")]
    [InlineData("-P1D")]
    [InlineData("P1W2D")]
    [InlineData("7d")]
    [InlineData("PT1h")]
    [InlineData(" P1D")]
    [InlineData("")]
    [InlineData("P")]
    public void Bad_durations_are_rejected(string text) => Assert.False(RuleDuration.TryParse(text, out _, out _));

    [Theory]
    [InlineData(30 * 60, "PT30M")]
    [InlineData(7 * 86400, "P7D")]
    [InlineData(36 * 3600 + 61, "P1DT12H1M1S")]
    public void Durations_format_canonically(int seconds, string text)
    {
        Assert.Equal(text, RuleDuration.Format(TimeSpan.FromSeconds(seconds)));
        Assert.Equal(TimeSpan.FromSeconds(seconds), RuleDuration.Parse(text));
    }

    [Fact]
    public void Comparison_factories_refuse_mismatched_operands()
    {
        Assert.Throws<ArgumentException>(() => Comparison.Scalar(ComparisonOperator.Gt, new StringValue("x")));
        Assert.Throws<ArgumentException>(() => Comparison.Scalar(ComparisonOperator.In, new StringValue("x")));
        Assert.Throws<ArgumentException>(() => Comparison.Set(false, []));
        Assert.Throws<ArgumentException>(() => Comparison.Relative(ComparisonOperator.Before, TimeSpan.FromDays(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Comparison.Relative(ComparisonOperator.WithinLast, TimeSpan.Zero));
        Assert.Throws<ArgumentException>(() => Comparison.Absolute(ComparisonOperator.WithinLast, T0));
    }
}
