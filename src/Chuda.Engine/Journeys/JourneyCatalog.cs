using System.Collections.Concurrent;
using System.Collections.Frozen;
using Chuda.Domain.Journeys;
using Chuda.Domain.Segments;
using Chuda.Storage;

namespace Chuda.Engine.Journeys;

/// <summary>A journey the runtime knows: its stored record, the live definition (new entries) and every version's definition
/// (instances stay on the version they entered).</summary>
public sealed record CompiledJourney(JourneyRecord Record, JourneyDefinition? Live, FrozenDictionary<int, JourneyDefinition> Versions)
{
    public long Key => Record.Key;

    /// <summary>Whether new profiles may enter now.</summary>
    public bool AcceptsEntries => Record.Status == JourneyStatus.Published && Live is not null;

    /// <summary>Whether its instances move (timers, events). Paused journeys hold everyone where they are.</summary>
    public bool Runs => Record.Status is JourneyStatus.Published or JourneyStatus.PendingApproval;
}

/// <summary>The events (by name), identity kinds and segment memberships journey rules read, loaded before walking.</summary>
public sealed record JourneyRuleReads(EventNameFilter Events, bool IdentityKinds, bool Memberships);

/// <summary>
/// The journeys of one workspace with the indexes the runtime uses on every batch: which journeys an event, a segment
/// change or a trait change can start, and which event names and segments matter to profiles already inside.
/// Immutable; replaced on every lifecycle change.
/// </summary>
public sealed class WorkspaceJourneys
{
    public static WorkspaceJourneys Empty { get; } = new([]);

    public WorkspaceJourneys(IReadOnlyList<CompiledJourney> journeys)
    {
        ByKey = journeys.ToFrozenDictionary(j => j.Key);
        var entering = journeys.Where(j => j.AcceptsEntries).ToList();
        ByTriggerEvent = Group(entering, j => j.Live!.Trigger is EventTrigger e ? [e.Match.Event] : []);
        BySegmentTrigger = Group(entering, j => j.Live!.Trigger is SegmentTrigger s ? [s.SegmentId] : []);
        ByDateTrait = Group(entering, j => j.Live!.Trigger is DateTraitTrigger d ? [TopKey(d.Trait)] : []);
        // Instances of every version react to waits, goals and exits.
        var all = journeys.SelectMany(j => j.Versions.Values).ToList();
        InstanceEvents = all.SelectMany(d => d.Exits.OfType<ExitOnEvent>().Select(e => e.Match.Event)
                .Concat(d.Goal is { } g ? [g.Match.Event] : [])
                .Concat(d.Steps.OfType<WaitForEventStep>().Select(w => w.Match.Event)))
            .ToFrozenSet(StringComparer.Ordinal);
        ExitSegments = all.SelectMany(d => d.Exits.OfType<ExitOnSegmentExit>().Select(e => e.SegmentId)).ToFrozenSet(StringComparer.Ordinal);
        InstanceTraitKeys = all.SelectMany(d => d.Steps.OfType<WaitUntilTraitStep>().Select(w => TopKey(w.Trait))).ToFrozenSet(StringComparer.Ordinal);
        HasJourneys = journeys.Count > 0;
        var rules = all.SelectMany(d => (d.EntryFilter?.Profile is { } f ? [f] : Array.Empty<SegmentRule>())
            .Concat(d.Steps.OfType<BranchStep>().SelectMany(b => b.Arms).Select(a => a.When.Profile).OfType<SegmentRule>()))
            .Select(RuleDependencies.Of).ToList();
        RuleReads = new JourneyRuleReads(EventNameFilter.For(rules.SelectMany(d => d.Events)), rules.Any(d => d.Reachability.Count > 0),
            rules.Any(d => d.Segments.Count > 0));
    }

    /// <summary>What the profile rules of entry filters and branches (all versions) read beyond traits and tags.</summary>
    public JourneyRuleReads RuleReads { get; }

    private static string TopKey(string path) => path.Split('.')[0];

    private static FrozenDictionary<string, CompiledJourney[]> Group(IEnumerable<CompiledJourney> journeys, Func<CompiledJourney, IEnumerable<string>> keys) =>
        journeys.SelectMany(j => keys(j).Select(k => (k, j))).GroupBy(x => x.k, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.Select(x => x.j).ToArray(), StringComparer.Ordinal);

    public FrozenDictionary<long, CompiledJourney> ByKey { get; }

    /// <summary>Journeys accepting entries whose trigger is this event.</summary>
    public FrozenDictionary<string, CompiledJourney[]> ByTriggerEvent { get; }

    /// <summary>Journeys accepting entries triggered by entering / leaving this segment (by segment id).</summary>
    public FrozenDictionary<string, CompiledJourney[]> BySegmentTrigger { get; }

    /// <summary>Journeys accepting entries relative to a date trait, by the trait's top-level key.</summary>
    public FrozenDictionary<string, CompiledJourney[]> ByDateTrait { get; }

    /// <summary>Event names an open instance may react to (waits, goals, exit criteria).</summary>
    public IReadOnlySet<string> InstanceEvents { get; }

    /// <summary>Segment ids whose exit ends an open instance.</summary>
    public IReadOnlySet<string> ExitSegments { get; }

    /// <summary>Top-level trait keys date waits read (a change re-times a waiting instance at its next firing).</summary>
    public IReadOnlySet<string> InstanceTraitKeys { get; }

    public bool HasJourneys { get; }

    public CompiledJourney? Find(long key) => ByKey.GetValueOrDefault(key);
}

/// <summary>
/// The engine's view of every workspace's journeys (draft-only journeys are left out). Loaded at start and reloaded by
/// the journey service after each lifecycle change; readers take immutable snapshots. Parsed definitions are cached
/// by (journey, version) since versions never change.
/// </summary>
public sealed class JourneyCatalog(IChudaStore store)
{
    private volatile FrozenDictionary<long, WorkspaceJourneys> _byWorkspace = FrozenDictionary<long, WorkspaceJourneys>.Empty;
    private readonly ConcurrentDictionary<(long Key, int Version), JourneyDefinition> _definitions = new();
    private readonly SemaphoreSlim _reload = new(1, 1);

    /// <summary>Raised after a reload (the broadcast runner listens).</summary>
    public event Action? Changed;

    /// <summary>Raised (on a partition thread; keep it cheap) after a commit that set a timer, with its due time.</summary>
    public event Action<DateTimeOffset>? TimerScheduled;

    /// <summary>Raised after a commit that queued webhook calls.</summary>
    public event Action? WebhooksQueued;

    internal void OnTimerScheduled(DateTimeOffset due) => TimerScheduled?.Invoke(due);

    internal void OnWebhooksQueued() => WebhooksQueued?.Invoke();

    /// <summary>Raised after a commit that queued messages for delivery, with the earliest one's due time.</summary>
    public event Action<DateTimeOffset>? MessagesQueued;

    internal void OnMessagesQueued(DateTimeOffset due) => MessagesQueued?.Invoke(due);

    public WorkspaceJourneys For(long workspaceId) => _byWorkspace.GetValueOrDefault(workspaceId) ?? WorkspaceJourneys.Empty;

    public IEnumerable<CompiledJourney> All => _byWorkspace.Values.SelectMany(w => w.ByKey.Values);

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _reload.WaitAsync(cancellationToken);
        try
        {
            var journeys = await store.ListJourneysAsync(null, cancellationToken);
            var compiled = new List<CompiledJourney>();
            foreach (var j in journeys)
            {
                if (j.LiveVersion is null && j.Status is JourneyStatus.Draft or JourneyStatus.PendingApproval) continue;
                var versions = new Dictionary<int, JourneyDefinition>();
                foreach (var v in await store.ListJourneyVersionsAsync(j.WorkspaceId, j.Key, cancellationToken))
                {
                    if (j.LiveVersion is { } live && v.Version > live) continue; // drafts newer than the live version do not run
                    if (!_definitions.TryGetValue((j.Key, v.Version), out var def))
                    {
                        var parsed = JourneyParser.Parse(v.DefinitionJson);
                        if (parsed.Definition is null) continue;
                        _definitions[(j.Key, v.Version)] = def = parsed.Definition;
                    }
                    versions[v.Version] = def;
                }
                var liveDef = j.LiveVersion is { } lv ? versions.GetValueOrDefault(lv) : null;
                compiled.Add(new CompiledJourney(j, liveDef, versions.ToFrozenDictionary()));
            }
            _byWorkspace = compiled.GroupBy(c => c.Record.WorkspaceId).ToFrozenDictionary(g => g.Key, g => new WorkspaceJourneys([.. g]));
            Changed?.Invoke();
        }
        finally
        {
            _reload.Release();
        }
    }

    /// <summary>The parsed definition of one version (cached; versions are immutable).</summary>
    public async Task<JourneyDefinition?> DefinitionAsync(long workspaceId, long key, int version, CancellationToken cancellationToken)
    {
        if (_definitions.TryGetValue((key, version), out var def)) return def;
        var stored = await store.GetJourneyVersionAsync(workspaceId, key, version, cancellationToken);
        if (stored is null || JourneyParser.Parse(stored.DefinitionJson).Definition is not { } parsed) return null;
        _definitions[(key, version)] = parsed;
        return parsed;
    }
}
