using System.Text.Json;

namespace Chuda.Domain.Segments;

/// <summary>
/// Pure evaluation of segment rules: whether a profile is a member at an instant (<see cref="Evaluate"/>), and the
/// next instant at which that can change by time alone (<see cref="NextChange"/>). Time is always an argument;
/// windows are measured on instants (UTC), so daylight-saving changes never stretch or shrink them.
/// </summary>
public static class SegmentEvaluator
{
    /// <summary>True when the profile described by <paramref name="facts"/> satisfies <paramref name="rule"/> at
    /// <paramref name="now"/>. Events with a timestamp after <paramref name="now"/> have not happened yet and are ignored.
    /// <paramref name="isMemberOf"/> answers <c>member_of</c> conditions (the current membership of other segments).</summary>
    public static bool Evaluate(SegmentRule rule, ProfileFacts facts, DateTimeOffset now, Func<string, bool> isMemberOf)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(isMemberOf);
        return Eval(rule, facts, now.UtcTicks, isMemberOf);
    }

    /// <summary>
    /// The earliest instant after <paramref name="now"/> at which <see cref="Evaluate"/> may return a different value
    /// with no new events, trait, tag or identity changes and no change of other segments' membership; null when
    /// time alone can never change it. The result is exact for this rule's own conditions (windows sliding, sequence
    /// timeouts, date traits, first/last occurrence thresholds, events whose timestamp is still in the future): the
    /// value is constant on <c>(now, result)</c> and differs at <c>result</c>. Flips of referenced segments are not
    /// included: the engine re-evaluates dependents when those change (see <see cref="RuleDependencies.Segments"/>).
    /// </summary>
    public static DateTimeOffset? NextChange(SegmentRule rule, ProfileFacts facts, DateTimeOffset now, Func<string, bool> isMemberOf)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(isMemberOf);
        var next = Line(rule, facts, now.UtcTicks, isMemberOf).Next;
        return next is { } t && t <= DateTimeOffset.MaxValue.UtcTicks ? new DateTimeOffset(t, TimeSpan.Zero) : null;
    }

    /// <summary>Whether an event (its name as rules see it, and its properties) matches an event matcher.</summary>
    public static bool Matches(EventMatcher matcher, string eventName, JsonElement properties)
    {
        ArgumentNullException.ThrowIfNull(matcher);
        return string.Equals(matcher.Event, eventName, StringComparison.Ordinal)
            && Matching.Passes(matcher, new EventFact(eventName, default, properties));
    }

    /// <summary>Whether a properties object passes every property filter (date filters compare with <paramref name="now"/>).</summary>
    public static bool PassesFilters(IReadOnlyList<PropertyFilter> filters, JsonElement properties, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(filters);
        foreach (var f in filters)
        {
            if (!Matching.Test(f.Comparison, properties, f.Path, now.UtcTicks)) return false;
        }
        return true;
    }

    /// <summary>The value at a dotted path of a JSON object (<c>address.city</c>); false when a step is missing.</summary>
    public static bool TryGetPath(JsonElement root, string path, out JsonElement value)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Matching.TryGetPath(root, path, out value);
    }

    /// <summary>Whether the profile's bucket key falls in a random bucket.</summary>
    public static bool InBucket(RandomBucketCondition bucket, string bucketKey)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        return Bucketing.Position(bucket.Salt, bucketKey) < (int)(bucket.Percent * 100);
    }

    /// <summary>
    /// Evaluates what can be decided without the profile's events: event conditions (event, not_performed, sequence,
    /// first/last_performed) are unknown and combine by three-valued logic (false AND unknown is false, true OR
    /// unknown is true). Returns the value when the rule is decided regardless of the events, null otherwise, so the
    /// caller loads event history only for the profiles (and segments) that need it.
    /// </summary>
    public static bool? EvaluateWithoutEvents(SegmentRule rule, ProfileFacts facts, DateTimeOffset now, Func<string, bool> isMemberOf)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(isMemberOf);
        return Partial(rule, facts, now.UtcTicks, isMemberOf);
    }

    private static bool? Partial(SegmentRule rule, ProfileFacts facts, long now, Func<string, bool> isMemberOf)
    {
        switch (rule)
        {
            case AndRule and:
            {
                bool? result = true;
                foreach (var r in and.Rules)
                {
                    var v = Partial(r, facts, now, isMemberOf);
                    if (v == false) return false;
                    if (v is null) result = null;
                }

                return result;
            }
            case OrRule or:
            {
                bool? result = false;
                foreach (var r in or.Rules)
                {
                    var v = Partial(r, facts, now, isMemberOf);
                    if (v == true) return true;
                    if (v is null) result = null;
                }

                return result;
            }
            case NotRule not:
                return !Partial(not.Rule, facts, now, isMemberOf);
            case EventPerformedCondition or EventNotPerformedCondition or OccurrenceCondition or SequenceCondition:
                return null;
            default:
                return Eval(rule, facts, now, isMemberOf);
        }
    }

    // ---------- direct evaluation ----------

    private static bool Eval(SegmentRule rule, ProfileFacts facts, long now, Func<string, bool> isMemberOf)
    {
        switch (rule)
        {
            case AndRule and:
                foreach (var r in and.Rules)
                {
                    if (!Eval(r, facts, now, isMemberOf))
                    {
                        return false;
                    }
                }

                return true;
            case OrRule or:
                foreach (var r in or.Rules)
                {
                    if (Eval(r, facts, now, isMemberOf))
                    {
                        return true;
                    }
                }

                return false;
            case NotRule not:
                return !Eval(not.Rule, facts, now, isMemberOf);
            case TraitCondition trait:
                return Matching.Test(trait.Comparison, facts.Traits, trait.Path, now);
            case TagCondition tag:
                return facts.Tags.Contains(tag.Tag) == tag.Present;
            case ReachableCondition reach:
                return facts.IdentityKinds.Any(reach.IsSatisfiedByKind);
            case SegmentMembershipCondition member:
                return isMemberOf(member.SegmentId);
            case RandomBucketCondition bucket:
                return InBucket(bucket, facts.BucketKey);
            case EventPerformedCondition performed:
                return performed.Count.IsSatisfiedBy(CountAt(performed.Match, performed.Within, facts, now));
            case EventNotPerformedCondition notPerformed:
                return CountAt(notPerformed.Match, notPerformed.Within, facts, now) == 0;
            case OccurrenceCondition occurrence:
                return EvalOccurrence(occurrence, facts, now);
            case SequenceCondition sequence:
                return EvalSequence(sequence, facts, now);
            default:
                throw new ArgumentException($"Unknown rule type {rule.GetType().Name}.", nameof(rule));
        }
    }

    private static int CountAt(EventMatcher match, TimeSpan? within, ProfileFacts facts, long now)
    {
        var n = 0;
        foreach (var e in facts.EventsNamed(match.Event))
        {
            var t = e.Timestamp.UtcTicks;
            if (t <= now && (within is not { } w || now - w.Ticks < t) && Matching.Passes(match, e))
            {
                n++;
            }
        }

        return n;
    }

    private static bool EvalOccurrence(OccurrenceCondition c, ProfileFacts facts, long now)
    {
        long? found = null;
        foreach (var e in facts.EventsNamed(c.Match.Event))
        {
            var t = e.Timestamp.UtcTicks;
            if (t > now || !Matching.Passes(c.Match, e))
            {
                continue;
            }

            if (found is null || (c.Which == Occurrence.First ? t < found : t > found))
            {
                found = t;
            }
        }

        return found is { } o && Matching.TestDate(c.Comparison, o, now);
    }

    private static bool EvalSequence(SequenceCondition c, ProfileFacts facts, long now)
    {
        var w = c.Within.Ticks;
        var thens = Matching.Matches(c.Then, facts);
        foreach (var a in Matching.Matches(c.First, facts))
        {
            var ta = a.Timestamp.UtcTicks;
            if (ta > now || (c.Lookback is { } lb && now - lb.Ticks >= ta))
            {
                continue;
            }

            JsonElement key = default;
            if (c.MatchProperty is { } mp && !TryKey(a, mp, out key))
            {
                continue;
            }

            if (c.FollowedBy)
            {
                if (thens.Any(b => b.Timestamp.UtcTicks >= ta && b.Timestamp.UtcTicks < ta + w && b.Timestamp.UtcTicks <= now
                        && KeyMatches(b, c.MatchProperty, key)))
                {
                    return true;
                }
            }
            else if (ta + w <= now && !thens.Any(b => b.Timestamp.UtcTicks >= ta && b.Timestamp.UtcTicks < ta + w
                         && KeyMatches(b, c.MatchProperty, key)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryKey(EventFact e, string path, out JsonElement key) =>
        Matching.TryGetPath(e.Properties, path, out key) && key.ValueKind != JsonValueKind.Null;

    private static bool KeyMatches(EventFact b, string? path, JsonElement key) =>
        path is null || (Matching.TryGetPath(b.Properties, path, out var v) && JsonElement.DeepEquals(v, key));

    // ---------- timelines for NextChange ----------

    private static Timeline Line(SegmentRule rule, ProfileFacts facts, long now, Func<string, bool> isMemberOf)
    {
        switch (rule)
        {
            case AndRule and:
                return Fold(and.Rules, facts, now, isMemberOf, static (x, y) => x && y, shortCircuit: false);
            case OrRule or:
                return Fold(or.Rules, facts, now, isMemberOf, static (x, y) => x || y, shortCircuit: true);
            case NotRule not:
                return Line(not.Rule, facts, now, isMemberOf).Not();
            case TraitCondition trait when trait.Comparison.IsRelativeDate:
                return TraitLine(trait, facts, now);
            case EventPerformedCondition performed:
                return CountLine(performed.Match, performed.Within, performed.Count.IsSatisfiedBy, facts, now);
            case EventNotPerformedCondition notPerformed:
                return CountLine(notPerformed.Match, notPerformed.Within, static n => n == 0, facts, now);
            case OccurrenceCondition occurrence:
                return OccurrenceLine(occurrence, facts, now);
            case SequenceCondition sequence:
                return SequenceLine(sequence, facts, now);
            default:
                return Timeline.Constant(Eval(rule, facts, now, isMemberOf));
        }
    }

    private static Timeline Fold(ValueList<SegmentRule> rules, ProfileFacts facts, long now, Func<string, bool> isMemberOf,
        Func<bool, bool, bool> f, bool shortCircuit)
    {
        Timeline? acc = null;
        foreach (var r in rules)
        {
            var line = Line(r, facts, now, isMemberOf);
            // A child that is constantly false (and) / true (or) decides the group for good.
            if (line.Toggles.Length == 0 && line.Initial == shortCircuit)
            {
                return Timeline.Constant(shortCircuit);
            }

            acc = acc is null ? line : Timeline.Combine(acc, line, f);
        }

        return acc ?? Timeline.Constant(!shortCircuit);
    }

    private static Timeline TraitLine(TraitCondition trait, ProfileFacts facts, long now)
    {
        if (!Matching.TryGetPath(facts.Traits, trait.Path, out var value) || !Matching.TryDate(value, out var t))
        {
            return Timeline.False;
        }

        return Timeline.FromIntervals([DateInterval(trait.Comparison, t)], now);
    }

    /// <summary>The instants <c>now</c> at which a date comparison on <paramref name="t"/> holds, as <c>[start, end)</c>.</summary>
    private static (long Start, long End) DateInterval(Comparison c, long t)
    {
        var d = c.Duration?.Ticks ?? 0;
        return c.Op switch
        {
            ComparisonOperator.WithinLast => (t, t + d),                 // now - d < t <= now
            ComparisonOperator.WithinNext => (t - d, t),                 // now < t <= now + d
            ComparisonOperator.MoreThanAgo => (t + d, long.MaxValue),    // t <= now - d
            ComparisonOperator.MoreThanAhead => (long.MinValue, t - d),  // t > now + d
            _ => Matching.TestDate(c, t, 0) ? (long.MinValue, long.MaxValue) : (0, 0),
        };
    }

    private static Timeline CountLine(EventMatcher match, TimeSpan? within, Func<int, bool> predicate, ProfileFacts facts, long now)
    {
        var w = within?.Ticks;
        var count = 0;
        var deltas = new List<(long At, int Delta)>();
        foreach (var e in Matching.Matches(match, facts))
        {
            var t = e.Timestamp.UtcTicks;
            var leaves = w is { } wt ? t + wt : long.MaxValue;
            if (t <= now && now < leaves)
            {
                count++;
            }
            else if (t > now)
            {
                deltas.Add((t, +1));
            }

            if (leaves > now && leaves != long.MaxValue)
            {
                deltas.Add((leaves, -1));
            }
        }

        var value = predicate(count);
        var initial = value;
        deltas.Sort((a, b) => a.At.CompareTo(b.At));
        var toggles = new List<long>();
        for (var i = 0; i < deltas.Count;)
        {
            var at = deltas[i].At;
            while (i < deltas.Count && deltas[i].At == at)
            {
                count += deltas[i++].Delta;
            }

            if (predicate(count) != value)
            {
                value = !value;
                toggles.Add(at);
            }
        }

        return new Timeline(initial, [.. toggles]);
    }

    private static Timeline OccurrenceLine(OccurrenceCondition c, ProfileFacts facts, long now)
    {
        var times = Matching.Matches(c.Match, facts).Select(e => e.Timestamp.UtcTicks).Distinct().ToList();
        if (times.Count == 0)
        {
            return Timeline.False;
        }

        var intervals = new List<(long, long)>();
        // The occurrence is times[i] on [times[i], times[i+1]) for last, times[0] on [times[0], ∞) for first.
        var pieces = c.Which == Occurrence.First ? 1 : times.Count;
        for (var i = 0; i < pieces; i++)
        {
            var segEnd = c.Which == Occurrence.First || i + 1 == times.Count ? long.MaxValue : times[i + 1];
            if (segEnd <= now)
            {
                continue;
            }

            var (s, e) = DateInterval(c.Comparison, times[i]);
            var start = Math.Max(s, times[i]);
            var end = Math.Min(e, segEnd);
            if (start < end)
            {
                intervals.Add((start, end));
            }
        }

        return Timeline.FromIntervals(intervals, now);
    }

    private static Timeline SequenceLine(SequenceCondition c, ProfileFacts facts, long now)
    {
        var w = c.Within.Ticks;
        var thens = Matching.Matches(c.Then, facts);
        var intervals = new List<(long, long)>();
        foreach (var a in Matching.Matches(c.First, facts))
        {
            var ta = a.Timestamp.UtcTicks;
            var end = c.Lookback is { } lb ? ta + lb.Ticks : long.MaxValue;
            if (end <= now)
            {
                continue;
            }

            JsonElement key = default;
            if (c.MatchProperty is { } mp && !TryKey(a, mp, out key))
            {
                continue;
            }

            long? firstThen = null;
            foreach (var b in thens)
            {
                var tb = b.Timestamp.UtcTicks;
                if (tb >= ta && tb < ta + w && KeyMatches(b, c.MatchProperty, key))
                {
                    firstThen = tb;
                    break;
                }
            }

            if (c.FollowedBy && firstThen is { } fb)
            {
                intervals.Add((fb, end));
            }
            else if (!c.FollowedBy && firstThen is null)
            {
                intervals.Add((ta + w, end));
            }
        }

        return Timeline.FromIntervals(intervals, now);
    }
}
