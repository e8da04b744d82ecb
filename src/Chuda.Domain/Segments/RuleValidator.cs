namespace Chuda.Domain.Segments;

/// <summary>Checks that need other segments: unknown <c>member_of</c> targets and reference cycles.</summary>
public static class RuleValidator
{
    /// <summary>
    /// Checks the <c>member_of</c> references of segment <paramref name="id"/> whose (new) rule is
    /// <paramref name="rule"/>. <paramref name="lookup"/> returns the stored rule of another segment, or null when no
    /// such segment exists; it is never asked for <paramref name="id"/> itself (the new rule is used instead).
    /// Errors carry the JSON path of the offending <c>member_of</c> in <paramref name="rule"/>:
    /// <see cref="RuleErrorCodes.UnknownSegment"/>, or <see cref="RuleErrorCodes.Cycle"/> with the cycle in the message
    /// (<c>a → b → a</c>). Referencing itself directly is a cycle.
    /// </summary>
    public static IReadOnlyList<RuleError> CheckReferences(string id, SegmentRule rule, Func<string, SegmentRule?> lookup)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(lookup);
        var errors = new List<RuleError>();
        var cache = new Dictionary<string, SegmentRule?>(StringComparer.Ordinal) { [id] = rule };
        SegmentRule? Get(string s)
        {
            if (!cache.TryGetValue(s, out var r))
            {
                r = lookup(s);
                cache[s] = r;
            }

            return r;
        }

        foreach (var (refId, path) in References(rule, "$"))
        {
            if (refId == id)
            {
                errors.Add(new RuleError(path, RuleErrorCodes.Cycle, $"segment '{id}' cannot be a member of itself"));
                continue;
            }

            if (Get(refId) is null)
            {
                errors.Add(new RuleError(path, RuleErrorCodes.UnknownSegment, $"segment '{refId}' does not exist"));
                continue;
            }

            var chain = new List<string> { id, refId };
            var onChain = new HashSet<string>(StringComparer.Ordinal) { id, refId };
            // Segments proven (in this search) to lead back to id by no path.
            var clean = new HashSet<string>(StringComparer.Ordinal);
            if (FindCycle(refId, id, Get, chain, onChain, clean))
            {
                errors.Add(new RuleError(path, RuleErrorCodes.Cycle, "member_of references form a cycle: " + string.Join(" → ", chain)));
            }
        }

        return errors;
    }

    /// <summary>Depth-first search from <paramref name="from"/> for a path back to <paramref name="target"/>.
    /// Unknown segments met on the way are not this rule's fault and are skipped.</summary>
    private static bool FindCycle(string from, string target, Func<string, SegmentRule?> get, List<string> chain,
        HashSet<string> onChain, HashSet<string> clean)
    {
        if (clean.Contains(from) || get(from) is not { } rule)
        {
            return false;
        }

        foreach (var (next, _) in References(rule, "$"))
        {
            if (next == target)
            {
                chain.Add(target);
                return true;
            }

            if (!onChain.Add(next))
            {
                continue; // a cycle not through target: reported when that segment is saved
            }

            chain.Add(next);
            if (FindCycle(next, target, get, chain, onChain, clean))
            {
                return true;
            }

            chain.RemoveAt(chain.Count - 1);
            onChain.Remove(next);
        }

        clean.Add(from);
        return false;
    }

    /// <summary>The <c>member_of</c> references of a rule with their JSON paths, in document order.</summary>
    public static IEnumerable<(string SegmentId, string Path)> References(SegmentRule rule, string path = "$")
    {
        ArgumentNullException.ThrowIfNull(rule);
        switch (rule)
        {
            case AndRule and:
                for (var i = 0; i < and.Rules.Count; i++)
                {
                    foreach (var r in References(and.Rules[i], RuleParser.Index(RuleParser.Child(path, "and"), i)))
                    {
                        yield return r;
                    }
                }

                break;
            case OrRule or:
                for (var i = 0; i < or.Rules.Count; i++)
                {
                    foreach (var r in References(or.Rules[i], RuleParser.Index(RuleParser.Child(path, "or"), i)))
                    {
                        yield return r;
                    }
                }

                break;
            case NotRule not:
                foreach (var r in References(not.Rule, RuleParser.Child(path, "not")))
                {
                    yield return r;
                }

                break;
            case SegmentMembershipCondition member:
                yield return (member.SegmentId, RuleParser.Child(path, "member_of"));
                break;
        }
    }
}
