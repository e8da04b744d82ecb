namespace Chuda.Domain.Segments;

/// <summary>
/// What a rule reads, so the engine re-evaluates a segment for a profile only when a change can affect it:
/// index segments by <see cref="Events"/> and <see cref="TraitPaths"/>, and schedule a due-time re-check from
/// <see cref="SegmentEvaluator.NextChange"/> only when <see cref="TimeDependent"/>.
/// </summary>
/// <param name="Events">Event names read by event, not_performed, sequence and first/last_performed conditions
/// (page and screen calls appear as <c>Viewed Page</c> / <c>Viewed Screen</c>).</param>
/// <param name="TraitPaths">Dotted trait paths compared (see <see cref="AffectedByTrait"/> for prefix overlap).</param>
/// <param name="Tags">Tags tested.</param>
/// <param name="Reachability">Reachability conditions (see <see cref="AffectedByIdentityKind"/>).</param>
/// <param name="Segments">Ids of segments referenced by member_of: when one of their memberships changes for a
/// profile, re-evaluate this segment for it.</param>
/// <param name="UsesBucket">The rule has a random bucket (depends on the bucket key, which changes only on merge).</param>
/// <param name="TimeDependent">The rule's value can change by the passage of time alone (event conditions, sequences,
/// occurrence times, relative date traits). When false, <see cref="SegmentEvaluator.NextChange"/> is always null.</param>
public sealed record RuleDependencies(
    IReadOnlySet<string> Events,
    IReadOnlySet<string> TraitPaths,
    IReadOnlySet<string> Tags,
    IReadOnlyList<ReachableCondition> Reachability,
    IReadOnlySet<string> Segments,
    bool UsesBucket,
    bool TimeDependent)
{
    /// <summary>Collects the dependencies of a rule.</summary>
    public static RuleDependencies Of(SegmentRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var events = new SortedSet<string>(StringComparer.Ordinal);
        var traits = new SortedSet<string>(StringComparer.Ordinal);
        var tags = new SortedSet<string>(StringComparer.Ordinal);
        var reach = new List<ReachableCondition>();
        var segments = new SortedSet<string>(StringComparer.Ordinal);
        var bucket = false;
        var time = false;
        void Walk(SegmentRule r)
        {
            switch (r)
            {
                case AndRule and:
                    foreach (var c in and.Rules)
                    {
                        Walk(c);
                    }

                    break;
                case OrRule or:
                    foreach (var c in or.Rules)
                    {
                        Walk(c);
                    }

                    break;
                case NotRule not:
                    Walk(not.Rule);
                    break;
                case TraitCondition trait:
                    traits.Add(trait.Path);
                    time |= trait.Comparison.IsRelativeDate;
                    break;
                case TagCondition tag:
                    tags.Add(tag.Tag);
                    break;
                case ReachableCondition reachable:
                    if (!reach.Contains(reachable))
                    {
                        reach.Add(reachable);
                    }

                    break;
                case SegmentMembershipCondition member:
                    segments.Add(member.SegmentId);
                    break;
                case RandomBucketCondition:
                    bucket = true;
                    break;
                case EventPerformedCondition performed:
                    events.Add(performed.Match.Event);
                    time = true;
                    break;
                case EventNotPerformedCondition notPerformed:
                    events.Add(notPerformed.Match.Event);
                    time = true;
                    break;
                case OccurrenceCondition occurrence:
                    events.Add(occurrence.Match.Event);
                    time = true;
                    break;
                case SequenceCondition sequence:
                    events.Add(sequence.First.Event);
                    events.Add(sequence.Then.Event);
                    time = true;
                    break;
                default:
                    throw new ArgumentException($"Unknown rule type {r.GetType().Name}.", nameof(rule));
            }
        }

        Walk(rule);
        return new RuleDependencies(events, traits, tags, reach, segments, bucket, time);
    }

    /// <summary>True when a change of the trait at <paramref name="changedPath"/> (dotted) can affect the rule: the
    /// paths are equal, or one is a prefix of the other at a dot (a change to <c>address</c> affects
    /// <c>address.city</c>, and a change to <c>address.city</c> affects a rule on <c>address</c>).</summary>
    public bool AffectedByTrait(string changedPath)
    {
        ArgumentNullException.ThrowIfNull(changedPath);
        foreach (var p in TraitPaths)
        {
            if (p == changedPath || IsPrefix(p, changedPath) || IsPrefix(changedPath, p))
            {
                return true;
            }
        }

        return false;

        static bool IsPrefix(string prefix, string path) =>
            path.Length > prefix.Length && path[prefix.Length] == '.' && path.StartsWith(prefix, StringComparison.Ordinal);
    }

    /// <summary>True when adding or removing an identity of <paramref name="kind"/> can affect the rule.</summary>
    public bool AffectedByIdentityKind(string kind) => Reachability.Any(r => r.IsSatisfiedByKind(kind));

    /// <summary>True when an event named <paramref name="name"/> can affect the rule.</summary>
    public bool AffectedByEvent(string name) => Events.Contains(name);
}
