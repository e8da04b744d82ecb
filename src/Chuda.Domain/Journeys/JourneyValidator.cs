namespace Chuda.Domain.Journeys;

/// <summary>
/// The publish checks on a parsed definition, each error naming the step it concerns: the start step and every edge
/// point at existing steps; every step is reachable from the start; every cycle passes a waiting step (else a profile
/// would loop without end in one transaction); segments named by triggers, exits and conditions exist.
/// </summary>
public static class JourneyValidator
{
    /// <param name="segmentExists">Whether the workspace has a segment with that id (null: not checked).</param>
    public static IReadOnlyList<JourneyError> Validate(JourneyDefinition definition, Func<string, bool>? segmentExists = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new List<JourneyError>();
        var byId = definition.Steps.ToDictionary(s => s.Id, StringComparer.Ordinal);
        if (!byId.ContainsKey(definition.Start))
            errors.Add(new JourneyError("$.start", null, JourneyErrorCodes.DanglingEdge, $"the start step '{definition.Start}' does not exist"));

        for (var i = 0; i < definition.Steps.Count; i++)
        {
            var step = definition.Steps[i];
            foreach (var next in step.Next)
            {
                if (!byId.ContainsKey(next))
                    errors.Add(new JourneyError($"$.steps[{i}]", step.Id, JourneyErrorCodes.DanglingEdge, $"step '{step.Id}' continues to '{next}', which does not exist"));
            }
        }

        // Reachability from the start.
        var reached = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        if (byId.ContainsKey(definition.Start))
        {
            queue.Enqueue(definition.Start);
            reached.Add(definition.Start);
        }
        while (queue.Count > 0)
        {
            foreach (var next in byId[queue.Dequeue()].Next)
            {
                if (byId.ContainsKey(next) && reached.Add(next)) queue.Enqueue(next);
            }
        }
        for (var i = 0; i < definition.Steps.Count; i++)
        {
            var step = definition.Steps[i];
            if (!reached.Contains(step.Id) && byId.ContainsKey(definition.Start))
                errors.Add(new JourneyError($"$.steps[{i}]", step.Id, JourneyErrorCodes.Unreachable, $"no path from the start step '{definition.Start}' leads to '{step.Id}'"));
        }

        // Cycles among non-waiting steps (Tarjan-free: DFS with colours over the graph without waiting steps).
        var colour = new Dictionary<string, int>(StringComparer.Ordinal);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in definition.Steps)
        {
            if (!step.Waits) Visit(step.Id, []);
        }

        void Visit(string id, List<string> stack)
        {
            colour[id] = 1;
            stack.Add(id);
            foreach (var next in byId[id].Next)
            {
                if (!byId.TryGetValue(next, out var n) || n.Waits) continue;
                var c = colour.GetValueOrDefault(next);
                if (c == 1)
                {
                    var loop = stack.Skip(stack.IndexOf(next)).ToList();
                    if (reported.Add(string.Join(">", loop.Order(StringComparer.Ordinal))))
                    {
                        var index = definition.Steps.ToList().FindIndex(s => s.Id == next);
                        errors.Add(new JourneyError($"$.steps[{index}]", next, JourneyErrorCodes.LoopWithoutWait,
                            $"the loop {string.Join(" → ", loop.Append(next))} has no wait; add a wait step to it"));
                    }
                }
                else if (c == 0)
                {
                    Visit(next, stack);
                }
            }
            stack.RemoveAt(stack.Count - 1);
            colour[id] = 2;
        }

        if (segmentExists is not null)
        {
            void CheckSegment(string id, string path, string? step)
            {
                if (!segmentExists(id))
                    errors.Add(new JourneyError(path, step, JourneyErrorCodes.UnknownSegment, $"no segment has id '{id}'"));
            }
            switch (definition.Trigger)
            {
                case SegmentTrigger s: CheckSegment(s.SegmentId, "$.trigger.segment", null); break;
                case BroadcastTrigger b: CheckSegment(b.SegmentId, "$.trigger.segment", null); break;
            }
            for (var i = 0; i < definition.Exits.Count; i++)
            {
                if (definition.Exits[i] is ExitOnSegmentExit e) CheckSegment(e.SegmentId, $"$.exit[{i}].segment_exited", null);
            }
            foreach (var id in definition.EntryFilter?.Profile is { } rule ? Segments.RuleDependencies.Of(rule).Segments : Enumerable.Empty<string>())
                CheckSegment(id, "$.entry_filter.profile", null);
            for (var i = 0; i < definition.Steps.Count; i++)
            {
                if (definition.Steps[i] is not BranchStep b) continue;
                foreach (var arm in b.Arms)
                {
                    foreach (var id in arm.When.Profile is { } r ? Segments.RuleDependencies.Of(r).Segments : Enumerable.Empty<string>())
                        CheckSegment(id, $"$.steps[{i}].branches", b.Id);
                }
            }
        }
        return errors;
    }
}
