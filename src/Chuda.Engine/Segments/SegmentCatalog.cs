using System.Collections.Frozen;
using Chuda.Domain.Segments;
using Chuda.Storage;

namespace Chuda.Engine.Segments;

/// <summary>A stored segment with its parsed rule and what the rule reads.</summary>
public sealed record CompiledSegment(SegmentDefinition Definition, SegmentRule Rule, RuleDependencies Dependencies, int Order)
{
    public long Key => Definition.Key;

    public string Id => Definition.Id;
}

/// <summary>
/// The segments of one workspace, immutable, with the indexes incremental evaluation uses: by event name, trait path,
/// tag, reachability, time dependence, and who references whom. <see cref="InOrder"/> is topological (a segment comes
/// after every segment it references), so evaluating in that order sees referenced memberships already updated.
/// </summary>
public sealed class WorkspaceSegments
{
    public static WorkspaceSegments Empty { get; } = new([]);

    private readonly FrozenDictionary<string, CompiledSegment[]> _byEvent;
    private readonly FrozenDictionary<string, CompiledSegment[]> _byTag;
    private readonly FrozenDictionary<string, CompiledSegment[]> _dependents;
    private readonly CompiledSegment[] _traitSegments;
    private readonly CompiledSegment[] _reachSegments;

    public WorkspaceSegments(IReadOnlyList<CompiledSegment> ordered)
    {
        InOrder = [.. ordered];
        ById = ordered.ToFrozenDictionary(s => s.Id, StringComparer.Ordinal);
        ByKey = ordered.ToFrozenDictionary(s => s.Key);
        _byEvent = Index(ordered, s => s.Dependencies.Events);
        _byTag = Index(ordered, s => s.Dependencies.Tags);
        _dependents = Index(ordered, s => s.Dependencies.Segments);
        _traitSegments = [.. ordered.Where(s => s.Dependencies.TraitPaths.Count > 0)];
        _reachSegments = [.. ordered.Where(s => s.Dependencies.Reachability.Count > 0)];
        TimeDependent = [.. ordered.Where(s => s.Dependencies.TimeDependent)];
        EventNames = _byEvent.Keys.ToFrozenSet(StringComparer.Ordinal);
        PropertyEventNames = ordered.SelectMany(s => PropertyReads(s.Rule)).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Event names whose properties some rule reads (property filters, a sequence's matching key); the others
    /// are only counted or timed, so their payloads need not be parsed.</summary>
    public IReadOnlySet<string> PropertyEventNames { get; }

    private static IEnumerable<string> PropertyReads(SegmentRule rule)
    {
        switch (rule)
        {
            case AndRule and:
                return and.Rules.SelectMany(PropertyReads);
            case OrRule or:
                return or.Rules.SelectMany(PropertyReads);
            case NotRule not:
                return PropertyReads(not.Rule);
            case EventPerformedCondition c:
                return Reads(c.Match);
            case EventNotPerformedCondition c:
                return Reads(c.Match);
            case OccurrenceCondition c:
                return Reads(c.Match);
            case SequenceCondition c:
                return c.MatchProperty is null ? Reads(c.First).Concat(Reads(c.Then)) : [c.First.Event, c.Then.Event];
            default:
                return [];
        }

        static IEnumerable<string> Reads(EventMatcher m) => m.Where.Count > 0 ? [m.Event] : [];
    }

    /// <summary>All segments, referenced ones before those that reference them.</summary>
    public IReadOnlyList<CompiledSegment> InOrder { get; }

    public FrozenDictionary<string, CompiledSegment> ById { get; }

    public FrozenDictionary<long, CompiledSegment> ByKey { get; }

    /// <summary>Segments whose value can change by the passage of time alone.</summary>
    public IReadOnlyList<CompiledSegment> TimeDependent { get; }

    /// <summary>Every event name some segment reads.</summary>
    public IReadOnlySet<string> EventNames { get; }

    public bool IsEmpty => InOrder.Count == 0;

    public IReadOnlyList<CompiledSegment> ReadingEvent(string name) => _byEvent.TryGetValue(name, out var s) ? s : [];

    public IReadOnlyList<CompiledSegment> ReadingTag(string tag) => _byTag.TryGetValue(tag, out var s) ? s : [];

    public IEnumerable<CompiledSegment> ReadingTrait(string path) => _traitSegments.Where(s => s.Dependencies.AffectedByTrait(path));

    public IEnumerable<CompiledSegment> ReadingIdentityKind(string kind) => _reachSegments.Where(s => s.Dependencies.AffectedByIdentityKind(kind));

    /// <summary>Segments whose rule has <c>member_of</c> the given segment.</summary>
    public IReadOnlyList<CompiledSegment> Referencing(string id) => _dependents.TryGetValue(id, out var s) ? s : [];

    /// <summary>Compiles stored definitions. A definition whose rule no longer parses (cannot happen through the API) is
    /// left out rather than stopping the workspace.</summary>
    public static WorkspaceSegments Compile(IEnumerable<SegmentDefinition> definitions)
    {
        var parsed = new Dictionary<string, (SegmentDefinition Def, SegmentRule Rule, RuleDependencies Deps)>(StringComparer.Ordinal);
        foreach (var def in definitions)
        {
            var result = RuleParser.Parse(def.RuleJson);
            if (result.Rule is { } rule) parsed[def.Id] = (def, rule, RuleDependencies.Of(rule));
        }

        // Topological order by member_of; members of a cycle (rejected on save, so only from a racing edit) are dropped.
        var ordered = new List<CompiledSegment>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 visiting, 2 done, 3 broken
        bool Visit(string id)
        {
            if (!parsed.TryGetValue(id, out var p)) return false;
            if (state.TryGetValue(id, out var s)) return s == 2;
            state[id] = 1;
            var ok = p.Deps.Segments.All(Visit);
            state[id] = ok ? 2 : 3;
            if (ok) ordered.Add(new CompiledSegment(p.Def, p.Rule, p.Deps, ordered.Count));
            return ok;
        }
        foreach (var id in parsed.Keys.Order(StringComparer.Ordinal)) Visit(id);
        return new WorkspaceSegments(ordered);
    }

    private static FrozenDictionary<string, CompiledSegment[]> Index(IEnumerable<CompiledSegment> segments, Func<CompiledSegment, IEnumerable<string>> keys) =>
        segments.SelectMany(s => keys(s).Select(k => (k, s)))
            .GroupBy(x => x.k, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.Select(x => x.s).ToArray(), StringComparer.Ordinal);
}

/// <summary>
/// The engine's view of every workspace's segments. Loaded from the store at start and replaced whenever this
/// process saves a segment; <see cref="RefreshAsync"/> also picks up edits made by another process on a shared store.
/// Readers get an immutable snapshot, so partitions never lock.
/// </summary>
public sealed class SegmentCatalog(IChudaStore store)
{
    private volatile FrozenDictionary<long, WorkspaceSegments> _byWorkspace = FrozenDictionary<long, WorkspaceSegments>.Empty;
    private readonly SemaphoreSlim _reload = new(1, 1);

    /// <summary>Raised after a reload that changed something (the backfill runner listens).</summary>
    public event Action? Changed;

    /// <summary>Raised (on a partition thread, keep it cheap) when a batch schedules a durable re-check at the given instant.</summary>
    public event Action<DateTimeOffset>? CheckScheduled;

    internal void OnCheckScheduled(DateTimeOffset due) => CheckScheduled?.Invoke(due);

    public WorkspaceSegments For(long workspaceId) => _byWorkspace.GetValueOrDefault(workspaceId) ?? WorkspaceSegments.Empty;

    public IEnumerable<CompiledSegment> All => _byWorkspace.Values.SelectMany(w => w.InOrder);

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _reload.WaitAsync(cancellationToken);
        try
        {
            var all = await store.ListSegmentsAsync(null, cancellationToken);
            var old = _byWorkspace;
            // A workspace whose definitions did not change keeps its snapshot (and the parsed rules).
            var next = all.GroupBy(s => s.WorkspaceId).ToFrozenDictionary(g => g.Key, g =>
                old.TryGetValue(g.Key, out var same) && same.InOrder.Count == g.Count() && g.All(d => same.ByKey.TryGetValue(d.Key, out var c) && c.Definition == d)
                    ? same
                    : WorkspaceSegments.Compile(g));
            var changed = next.Count != old.Count || next.Any(kv => !old.TryGetValue(kv.Key, out var was) || !ReferenceEquals(was, kv.Value));
            _byWorkspace = next;
            if (changed) Changed?.Invoke();
        }
        finally
        {
            _reload.Release();
        }
    }
}
