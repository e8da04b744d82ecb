using System.Text.Json;
using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Engine.Profiles;
using Chuda.Storage;

namespace Chuda.Engine.Segments;

/// <summary>What happened to one profile in a batch, as far as segments care.</summary>
internal sealed class SegmentTouch
{
    /// <summary>Re-evaluate every segment (new profile, merge, changed user id).</summary>
    public bool All { get; set; }

    public string? AllCause { get; set; }

    public HashSet<string> Events { get; } = new(StringComparer.Ordinal);

    public HashSet<string> TraitKeys { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Tags { get; } = new(StringComparer.Ordinal);

    public HashSet<string> IdentityKinds { get; } = new(StringComparer.Ordinal);

    /// <summary>A durable re-check fired; the due instant it was scheduled for.</summary>
    public DateTimeOffset? TimeDue { get; set; }

    /// <summary>Segments a backfill asks to evaluate.</summary>
    public HashSet<long> Backfill { get; } = [];

    public void MarkAll(string cause)
    {
        if (!All) AllCause = cause;
        All = true;
    }

    public void AbsorbMerged(SegmentTouch other)
    {
        Events.UnionWith(other.Events);
        TraitKeys.UnionWith(other.TraitKeys);
        Tags.UnionWith(other.Tags);
        IdentityKinds.UnionWith(other.IdentityKinds);
        Backfill.UnionWith(other.Backfill);
        if (other.TimeDue is { } due && (TimeDue is not { } mine || due < mine)) TimeDue = due;
    }

    /// <summary>Adds the top-level keys of a traits object: a rule on <c>a.b</c> is affected by a change of <c>a</c>.</summary>
    public void AddTraitKeys(JsonElement traits)
    {
        if (traits.ValueKind != JsonValueKind.Object) return;
        foreach (var p in traits.EnumerateObject()) TraitKeys.Add(p.Name);
    }
}

/// <summary>
/// The segment step of a partition batch, run inside its transaction after the events are appended: for each touched
/// profile it re-evaluates only the segments the change can affect (and those that reference them), records every
/// membership change, and keeps the profile's durable re-check at the earliest instant time alone can flip one of its
/// segments.
/// </summary>
internal static class SegmentStage
{
    /// <returns>The profiles whose membership changed (their row version must be bumped).</returns>
    public static async Task<IReadOnlySet<long>> RunAsync(
        IProfileTransaction tx,
        long workspaceId,
        WorkspaceSegments segments,
        IReadOnlyDictionary<long, (ProfileRecord Record, SegmentTouch Touch)> touched,
        IReadOnlyList<(long From, long Into, IReadOnlyCollection<long> Memberships)> mergedAway,
        DateTimeOffset now,
        Action<DateTimeOffset> checkScheduled,
        HistoryInput history,
        CancellationToken ct,
        List<SegmentChange>? applied = null)
    {
        var changedProfiles = new HashSet<long>();
        if (touched.Count == 0 && mergedAway.Count == 0) return changedProfiles;

        // A workspace without segments costs nothing but clearing re-checks that fired (their segment was deleted).
        var stateIds = segments.IsEmpty ? [.. touched.Where(t => t.Value.Touch.TimeDue is not null).Select(t => t.Key)] : touched.Keys.ToList();
        var states = stateIds.Count == 0
            ? new Dictionary<long, ProfileSegmentState>()
            : await tx.LoadSegmentStateAsync(workspaceId, stateIds, ct);
        var changes = new List<SegmentChange>();
        var checks = new List<(long, long, DateTimeOffset?)>();

        // A merged-away profile is gone (the merge deleted its rows); record its exits so entries − exits stays the membership.
        foreach (var (from, into, memberships) in mergedAway)
        {
            foreach (var key in memberships.Order())
            {
                changes.Add(new SegmentChange(workspaceId, key, from, false, now, ChangeCauses.MergedAway,
                    into.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        if (segments.IsEmpty)
        {
            // No segments: forget memberships of deleted segments lazily and drop re-checks that fired.
            foreach (var (id, (_, touch)) in touched)
            {
                var state = states.GetValueOrDefault(id) ?? ProfileSegmentState.Empty;
                if (state.CheckDue is not null && touch.TimeDue is not null) checks.Add((workspaceId, id, null));
            }
        }
        else
        {
            // Which segments each profile needs, and whether that takes its history (every event name any segment reads,
            // so one cached history serves all of them) and its identity kinds.
            var plans = new Dictionary<long, bool[]>();
            var needEvents = new List<long>();
            var needKinds = new List<long>();
            foreach (var (id, (_, touch)) in touched)
            {
                var plan = Plan(segments, touch);
                plans[id] = plan;
                bool events = false, kinds = false;
                for (var i = 0; i < plan.Length; i++)
                {
                    if (!plan[i]) continue;
                    var deps = segments.InOrder[i].Dependencies;
                    events |= deps.Events.Count > 0;
                    kinds |= deps.Reachability.Count > 0;
                }
                if (events) needEvents.Add(id);
                if (kinds) needKinds.Add(id);
            }

            var eventsByProfile = await LoadHistoriesAsync(tx, workspaceId, segments, touched, needEvents, history, ct);
            var kindsByProfile = needKinds.Count == 0
                ? new Dictionary<long, IReadOnlySet<string>>()
                : await tx.LoadIdentityKindsAsync(workspaceId, needKinds, ct);

            foreach (var (id, (record, touch)) in touched)
            {
                var state = states.GetValueOrDefault(id) ?? ProfileSegmentState.Empty;
                var facts = SegmentFacts.Build(record, kindsByProfile.GetValueOrDefault(id), eventsByProfile.GetValueOrDefault(id) ?? (IEnumerable<EventFact>)[]);
                var before = changes.Count;
                var due = Evaluate(segments, plans[id], touch, state, facts, id, workspaceId, now, changes);
                if (changes.Count > before) changedProfiles.Add(id);
                if (due != state.CheckDue)
                {
                    checks.Add((workspaceId, id, due));
                    if (due is { } d) checkScheduled(d);
                }
            }
        }

        if (changes.Count > 0) await tx.ApplySegmentChangesAsync(changes, ct);
        if (checks.Count > 0) await tx.SetSegmentChecksAsync(checks, ct);
        applied?.AddRange(changes);
        return changedProfiles;
    }

    /// <summary>
    /// The segment-relevant history of the profiles that need it: from the partition's cache when it holds the
    /// profile's committed version (plus this batch's events), else from the store (which already sees this batch's
    /// events). Every history at hand is handed back in <see cref="HistoryInput.Pending"/>, to be cached after the commit.
    /// </summary>
    private static async Task<Dictionary<long, List<EventFact>>> LoadHistoriesAsync(
        IProfileTransaction tx, long workspaceId, WorkspaceSegments segments,
        IReadOnlyDictionary<long, (ProfileRecord Record, SegmentTouch Touch)> touched, List<long> needEvents, HistoryInput history, CancellationToken ct)
    {
        var names = segments.EventNames;
        var result = new Dictionary<long, List<EventFact>>();
        var need = needEvents.ToHashSet();
        var missing = new List<long>();
        foreach (var id in touched.Keys)
        {
            if (!history.Uncacheable.Contains(id) && history.Cache.TryGetHistory(workspaceId, id, out var cached)
                && cached.Version == history.LoadedVersions.GetValueOrDefault(id, -1) && SameNames(cached.Names, names)
                && SameNames(cached.PropertyNames, segments.PropertyEventNames))
            {
                var list = new List<EventFact>(cached.Facts);
                foreach (var row in history.BatchEvents.GetValueOrDefault(id) ?? [])
                {
                    // As the store keeps it (milliseconds), so a cached history equals a reloaded one to the tick.
                    var stored = row with { Timestamp = TruncateToMillisecond(row.Timestamp) };
                    if (EventFact.FromRow(stored, segments.PropertyEventNames) is { } fact && names.Contains(fact.Name)) list.Add(fact);
                }
                result[id] = list;
            }
            else if (need.Contains(id))
            {
                missing.Add(id);
            }
        }
        if (missing.Count > 0)
        {
            foreach (var id in missing) result[id] = [];
            foreach (var row in await tx.LoadEventsAsync(workspaceId, missing, EventNameFilter.For(names), ct))
            {
                if (EventFact.FromRow(row, segments.PropertyEventNames) is { } fact) result[row.ProfileId].Add(fact);
            }
        }
        // Keep the histories of profiles that are active (sent an event now), not of those a backfill or a re-check
        // walks through once: those would only push the active ones out.
        foreach (var (id, list) in result)
        {
            if (list.Count <= history.MaxEvents && !history.Uncacheable.Contains(id) && touched[id].Touch.Events.Count > 0)
                history.Pending[id] = [.. list];
        }
        return result;
    }

    private static bool SameNames(IReadOnlySet<string> cached, IReadOnlySet<string> current) =>
        ReferenceEquals(cached, current) || (cached.Count == current.Count && cached.SetEquals(current));

    /// <summary>The segments (by <see cref="CompiledSegment.Order"/>) a touch can affect, closed over member_of.</summary>
    internal static bool[] Plan(WorkspaceSegments segments, SegmentTouch touch)
    {
        var plan = new bool[segments.InOrder.Count];
        if (touch.All)
        {
            Array.Fill(plan, true);
            return plan;
        }
        foreach (var name in touch.Events)
        {
            foreach (var s in segments.ReadingEvent(name)) plan[s.Order] = true;
        }
        foreach (var key in touch.TraitKeys)
        {
            foreach (var s in segments.ReadingTrait(key)) plan[s.Order] = true;
        }
        foreach (var tag in touch.Tags)
        {
            foreach (var s in segments.ReadingTag(tag)) plan[s.Order] = true;
        }
        foreach (var kind in touch.IdentityKinds)
        {
            foreach (var s in segments.ReadingIdentityKind(kind)) plan[s.Order] = true;
        }
        if (touch.TimeDue is not null)
        {
            foreach (var s in segments.TimeDependent) plan[s.Order] = true;
        }
        foreach (var key in touch.Backfill)
        {
            if (segments.ByKey.TryGetValue(key, out var s)) plan[s.Order] = true;
        }
        // Referencing segments come later in InOrder, so one forward pass closes the set.
        for (var i = 0; i < plan.Length; i++)
        {
            if (!plan[i]) continue;
            foreach (var r in segments.Referencing(segments.InOrder[i].Id)) plan[r.Order] = true;
        }
        return plan;
    }

    private static DateTimeOffset? Evaluate(
        WorkspaceSegments segments, bool[] plan, SegmentTouch touch, ProfileSegmentState state, ProfileFacts facts,
        long profileId, long workspaceId, DateTimeOffset now, List<SegmentChange> changes)
    {
        var value = new Dictionary<string, bool>(StringComparer.Ordinal);
        bool IsMemberOf(string id)
        {
            if (value.TryGetValue(id, out var v)) return v;
            return segments.ById.TryGetValue(id, out var s) && state.Memberships.ContainsKey(s.Key);
        }

        var changedIds = new HashSet<string>(StringComparer.Ordinal);
        var allTimeDependent = true;
        DateTimeOffset? next = null;
        foreach (var s in segments.InOrder)
        {
            if (!plan[s.Order])
            {
                if (s.Dependencies.TimeDependent) allTimeDependent = false;
                continue;
            }
            var member = SegmentEvaluator.Evaluate(s.Rule, facts, now, IsMemberOf);
            value[s.Id] = member;
            var was = state.Memberships.ContainsKey(s.Key);
            if (member != was)
            {
                changedIds.Add(s.Id);
                var (cause, detail, at) = CauseOf(s, touch, changedIds, now);
                changes.Add(new SegmentChange(workspaceId, s.Key, profileId, member, at, cause, detail));
            }
            if (s.Dependencies.TimeDependent && SegmentEvaluator.NextChange(s.Rule, facts, now, IsMemberOf) is { } exact)
            {
                // Stores keep milliseconds: round up, so the re-check never comes due before the flip (it would find
                // nothing changed and schedule the same millisecond again).
                var n = CeilingToMillisecond(exact);
                if (next is not { } m || n < m) next = n;
            }
        }

        // Segments not evaluated keep whatever re-check they had (even an overdue one that has not run yet), so keep
        // the earlier of the two. When every time-dependent segment was evaluated (a re-check fired, a new profile, a
        // merge), the result is exact.
        if (!allTimeDependent && state.CheckDue is { } existing && (next is not { } x || existing < x))
            next = existing;
        return next;
    }

    internal static DateTimeOffset TruncateToMillisecond(DateTimeOffset t) =>
        new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);

    internal static DateTimeOffset CeilingToMillisecond(DateTimeOffset t)
    {
        var rest = t.UtcTicks % TimeSpan.TicksPerMillisecond;
        return rest == 0 ? t.ToUniversalTime() : new DateTimeOffset(t.UtcTicks - rest + TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
    }

    private static (string Cause, string? Detail, DateTimeOffset At) CauseOf(CompiledSegment s, SegmentTouch touch, HashSet<string> changedIds, DateTimeOffset now)
    {
        if (touch.Backfill.Contains(s.Key)) return (ChangeCauses.Backfill, null, now);
        // An event the segment reads is the cause even when it also created or merged the profile: a journey
        // triggered by "entered because of Added To Cart" must see brand-new visitors too.
        foreach (var name in touch.Events)
        {
            if (s.Dependencies.AffectedByEvent(name)) return (ChangeCauses.Event, name, now);
        }
        if (touch.All) return (touch.AllCause ?? ChangeCauses.Created, null, now);
        foreach (var key in touch.TraitKeys)
        {
            if (s.Dependencies.AffectedByTrait(key)) return (ChangeCauses.Traits, key, now);
        }
        foreach (var tag in touch.Tags)
        {
            if (s.Dependencies.Tags.Contains(tag)) return (ChangeCauses.Tags, tag, now);
        }
        foreach (var kind in touch.IdentityKinds)
        {
            if (s.Dependencies.AffectedByIdentityKind(kind)) return (ChangeCauses.Identity, kind, now);
        }
        foreach (var referenced in s.Dependencies.Segments)
        {
            if (changedIds.Contains(referenced)) return (ChangeCauses.Segment, referenced, now);
        }
        if (touch.TimeDue is { } due) return (ChangeCauses.Time, null, due < now ? due : now);
        return (ChangeCauses.Time, null, now);
    }
}

/// <summary>What the segment step needs to use and refill the partition's history cache.</summary>
internal sealed class HistoryInput(
    PartitionCache cache, int maxEvents, IReadOnlyDictionary<long, long> loadedVersions, IReadOnlySet<long> uncacheable,
    IReadOnlyDictionary<long, List<EventRow>> batchEvents)
{
    public PartitionCache Cache { get; } = cache;

    public int MaxEvents { get; } = maxEvents;

    /// <summary>The committed version each touched profile was read at.</summary>
    public IReadOnlyDictionary<long, long> LoadedVersions { get; } = loadedVersions;

    /// <summary>Profiles whose cached history cannot be trusted or kept (new in this batch, or a merge survivor).</summary>
    public IReadOnlySet<long> Uncacheable { get; } = uncacheable;

    /// <summary>This batch's events per (resolved) profile.</summary>
    public IReadOnlyDictionary<long, List<EventRow>> BatchEvents { get; } = batchEvents;

    /// <summary>Histories to cache once the batch commits.</summary>
    public Dictionary<long, EventFact[]> Pending { get; } = [];
}

/// <summary>Builds the facts segment rules read from stored profile data; the live engine, backfill, preview and the
/// tests' from-scratch oracle all use this one function.</summary>
public static class SegmentFacts
{
    public static ProfileFacts Build(ProfileRecord profile, IReadOnlySet<string>? identityKinds, IEnumerable<EventRow> events) =>
        Build(profile, identityKinds, events.Select(EventFact.FromRow).OfType<EventFact>());

    public static ProfileFacts Build(ProfileRecord profile, IReadOnlySet<string>? identityKinds, IEnumerable<EventFact> events)
    {
        ArgumentNullException.ThrowIfNull(profile);
        using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(profile.TraitsJson) ? "{}" : profile.TraitsJson);
        return new ProfileFacts(doc.RootElement.Clone(), profile.Tags, identityKinds ?? (IEnumerable<string>)[], BucketKey(profile), events);
    }

    /// <summary>The random-bucket key: the user id, else a hash of the anonymous id that created the profile (never a
    /// storage id, so a profile keeps its bucket while it stays anonymous; it moves once, when the person is identified).</summary>
    public static string BucketKey(ProfileRecord profile) =>
        profile.UserId ?? "~" + profile.RoutingHash.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
