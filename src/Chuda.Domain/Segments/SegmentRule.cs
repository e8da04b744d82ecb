namespace Chuda.Domain.Segments;

/// <summary>
/// A node of a segment rule tree. Immutable, with value equality. Obtain one from <see cref="RuleParser.Parse"/>
/// (which validates it), evaluate it with <see cref="SegmentEvaluator"/>, index it with <see cref="RuleDependencies"/>.
/// The JSON language is described in <c>docs/segments.md</c>.
/// </summary>
public abstract record SegmentRule
{
    private protected SegmentRule()
    {
    }
}

/// <summary><c>{"and":[...]}</c>: true when every rule is true (at least one rule).</summary>
public sealed record AndRule(ValueList<SegmentRule> Rules) : SegmentRule;

/// <summary><c>{"or":[...]}</c>: true when any rule is true (at least one rule).</summary>
public sealed record OrRule(ValueList<SegmentRule> Rules) : SegmentRule;

/// <summary><c>{"not":{...}}</c>: the negation of a rule.</summary>
public sealed record NotRule(SegmentRule Rule) : SegmentRule;

/// <summary><c>{"trait":"address.city","op":"eq","value":"Berlin"}</c>: a comparison of the trait at a dotted path.</summary>
/// <param name="Path">Dotted path into the traits object (<c>address.city</c>); each segment is a property name.</param>
public sealed record TraitCondition(string Path, Comparison Comparison) : SegmentRule;

/// <summary><c>{"tag":"vip"}</c> / <c>{"tag":"vip","op":"absent"}</c>.</summary>
public sealed record TagCondition(string Tag, bool Present) : SegmentRule;

/// <summary>A filter on an event's <c>properties</c>: <c>{"property":"item.sku","op":"eq","value":"A1"}</c>.
/// Relative date operators are not allowed here (use before / after).</summary>
public sealed record PropertyFilter(string Path, Comparison Comparison);

/// <summary>Which events count: those named <paramref name="Event"/> whose properties pass every filter.</summary>
public sealed record EventMatcher(string Event, ValueList<PropertyFilter> Where);

/// <summary>How many matching events are required.</summary>
public enum CountOperator
{
    /// <summary><c>at_least</c>: count ≥ N (N ≥ 1).</summary>
    AtLeast,
    /// <summary><c>exactly</c>: count = N (N ≥ 0).</summary>
    Exactly,
    /// <summary><c>at_most</c>: count ≤ N (N ≥ 0).</summary>
    AtMost,
}

/// <summary>A count requirement: <c>{"op":"at_least","value":3}</c>.</summary>
public sealed record EventCount(CountOperator Op, int Value)
{
    /// <summary>At least once: the default.</summary>
    public static EventCount Once { get; } = new(CountOperator.AtLeast, 1);

    /// <summary>True when <paramref name="count"/> satisfies the requirement.</summary>
    public bool IsSatisfiedBy(int count) => Op switch
    {
        CountOperator.AtLeast => count >= Value,
        CountOperator.Exactly => count == Value,
        _ => count <= Value,
    };
}

/// <summary>
/// <c>{"event":"Viewed Page","where":[...],"count":{"op":"at_least","value":3},"within":"P7D"}</c>: the number of
/// matching events that happened (timestamp ≤ now) and, when <paramref name="Within"/> is set, are younger than it
/// (now − within &lt; timestamp), satisfies <paramref name="Count"/>. <paramref name="Within"/> null means ever.
/// </summary>
public sealed record EventPerformedCondition(EventMatcher Match, EventCount Count, TimeSpan? Within) : SegmentRule;

/// <summary><c>{"not_performed":"Order Completed","within":"P30D"}</c>: no matching event in the window
/// (or ever, when <paramref name="Within"/> is null).</summary>
public sealed record EventNotPerformedCondition(EventMatcher Match, TimeSpan? Within) : SegmentRule;

/// <summary>
/// A sequence: an occurrence <c>a</c> of <paramref name="First"/> followed (or not) by <paramref name="Then"/> within
/// <paramref name="Within"/> after it.
/// <list type="bullet">
/// <item><c>not_followed_by</c> (<paramref name="FollowedBy"/> false): true when some <c>a</c> has
/// <c>a + within ≤ now</c> and no matching <c>b</c> with <c>a ≤ b &lt; a + within</c>. Becomes true exactly at
/// <c>a + within</c>.</item>
/// <item><c>followed_by</c> (true): true when some <c>a</c> has a matching <c>b</c> with <c>a ≤ b &lt; a + within</c>
/// and <c>b ≤ now</c>.</item>
/// </list>
/// When <paramref name="MatchProperty"/> is set, <c>b</c> must have the same value at that property path as <c>a</c>,
/// and occurrences of <c>a</c> without it are ignored. When <paramref name="Lookback"/> is set, only <c>a</c> with
/// <c>now − lookback &lt; a</c> count (it must exceed <paramref name="Within"/>).
/// </summary>
public sealed record SequenceCondition(
    EventMatcher First,
    EventMatcher Then,
    bool FollowedBy,
    TimeSpan Within,
    string? MatchProperty,
    TimeSpan? Lookback) : SegmentRule;

/// <summary>Which occurrence of an event an <see cref="OccurrenceCondition"/> looks at.</summary>
public enum Occurrence
{
    /// <summary><c>first_performed</c>: the earliest matching event that happened.</summary>
    First,
    /// <summary><c>last_performed</c>: the latest matching event that happened.</summary>
    Last,
}

/// <summary><c>{"last_performed":"Order Completed","op":"more_than_ago","value":"P60D"}</c>: the time of the first /
/// last matching event (timestamp ≤ now) compared with before, after, within_last or more_than_ago.
/// False when the event never happened.</summary>
public sealed record OccurrenceCondition(Occurrence Which, EventMatcher Match, Comparison Comparison) : SegmentRule;

/// <summary>A contact channel for <see cref="ReachableCondition"/>.</summary>
public enum ReachChannel
{
    /// <summary><c>email</c>: an <c>email</c> identity.</summary>
    Email,
    /// <summary><c>phone</c>: a <c>phone</c> identity.</summary>
    Phone,
    /// <summary><c>push</c> (any <c>push:*</c> identity) or <c>push:&lt;platform&gt;</c>.</summary>
    Push,
    /// <summary><c>wechat</c>: a <c>wechat_openid</c> identity.</summary>
    WeChat,
}

/// <summary><c>{"reachable":"email"}</c>: the profile has an identity of that channel.
/// <paramref name="PushPlatform"/> narrows <see cref="ReachChannel.Push"/> to <c>push:&lt;platform&gt;</c>.</summary>
public sealed record ReachableCondition(ReachChannel Channel, string? PushPlatform = null) : SegmentRule
{
    /// <summary>True when an identity of <paramref name="identityKind"/> makes the profile reachable this way.</summary>
    public bool IsSatisfiedByKind(string identityKind) => Channel switch
    {
        ReachChannel.Email => identityKind == Profiles.IdentityKinds.Email,
        ReachChannel.Phone => identityKind == Profiles.IdentityKinds.Phone,
        ReachChannel.WeChat => identityKind == Profiles.IdentityKinds.WeChatOpenId,
        _ => PushPlatform is null
            ? identityKind.StartsWith(Profiles.IdentityKinds.PushPrefix, StringComparison.Ordinal)
              && identityKind.Length > Profiles.IdentityKinds.PushPrefix.Length
            : identityKind == Profiles.IdentityKinds.PushPrefix + PushPlatform,
    };
}

/// <summary><c>{"member_of":"seg_42"}</c>: the profile is a member of another segment (cycles are rejected by
/// <see cref="RuleValidator.CheckReferences"/>).</summary>
public sealed record SegmentMembershipCondition(string SegmentId) : SegmentRule;

/// <summary><c>{"bucket":{"salt":"holdout-2026","percent":10}}</c>: the profile's stable bucket
/// (<see cref="Bucketing.Position"/> of its bucket key and <paramref name="Salt"/>, 0..9999) is below
/// <c>percent × 100</c>. Percent is 0..100 with at most two decimals.</summary>
public sealed record RandomBucketCondition(string Salt, decimal Percent) : SegmentRule;
