using System.Runtime.CompilerServices;
using Chuda.Domain.Journeys;

namespace Chuda.Engine.Journeys;

/// <summary>What walking part of a definition reads, so a timer firing loads the profile only when it is needed.</summary>
internal static class JourneyReads
{
    private static readonly ConditionalWeakTable<JourneyDefinition, Dictionary<string, bool>> Cache = [];

    /// <summary>Whether resuming the waiting step <paramref name="stepId"/> (and running on to the next wait) reads the profile:
    /// local-time and date waits (zone, traits), branches, splits (bucket key), tasks (assignee), updates and webhooks (traits).</summary>
    public static bool ResumeReadsProfile(JourneyDefinition definition, string stepId)
    {
        var cache = Cache.GetOrCreateValue(definition);
        lock (cache)
        {
            if (cache.TryGetValue(stepId, out var known)) return known;
            var reads = Compute(definition, stepId);
            cache[stepId] = reads;
            return reads;
        }
    }

    private static bool Compute(JourneyDefinition definition, string stepId)
    {
        if (definition.Step(stepId) is not { } resumed) return true;
        if (resumed is WaitUntilTimeStep or WaitUntilTraitStep) return true;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>(resumed.Next);
        while (queue.Count > 0)
        {
            var id = queue.Dequeue();
            if (!seen.Add(id)) continue;
            switch (definition.Step(id))
            {
                case null:
                case BranchStep or SplitStep or TaskStep or UpdateProfileStep or WebhookStep or WaitUntilTimeStep or WaitUntilTraitStep:
                    return true;
                case WaitDurationStep or WaitForEventStep or ExitStep:
                    continue; // the walk stops here
                case { } step:
                    foreach (var next in step.Next) queue.Enqueue(next);
                    break;
            }
        }
        return false;
    }
}
