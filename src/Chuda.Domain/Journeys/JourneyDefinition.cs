using Chuda.Domain.Segments;

namespace Chuda.Domain.Journeys;

/// <summary>
/// One version of a journey: how profiles enter, the steps they walk, when they convert and when they leave early.
/// Parsed and validated from JSON by <see cref="JourneyParser"/> (docs/journeys.md); immutable.
/// </summary>
/// <param name="Schema">The definition schema version (<see cref="JourneyParser.SchemaVersion"/>).</param>
/// <param name="Start">The id of the first step.</param>
/// <param name="TimeZone">The IANA zone used for local-time waits of profiles that have no zone of their own.</param>
public sealed record JourneyDefinition(
    int Schema,
    string Name,
    string? Description,
    JourneyTrigger Trigger,
    EntryFilter? EntryFilter,
    ReEntryPolicy ReEntry,
    long? EntryCap,
    JourneyGoal? Goal,
    IReadOnlyList<ExitCriterion> Exits,
    string? TimeZone,
    string Start,
    IReadOnlyList<JourneyStep> Steps)
{
    private Dictionary<string, JourneyStep>? _byId;

    /// <summary>Where the console draws each step on its canvas (step id → position); ignored by the runtime. Steps without an
    /// entry are laid out automatically.</summary>
    public IReadOnlyDictionary<string, StepPosition> Layout { get; init; } = NoLayout;

    public static IReadOnlyDictionary<string, StepPosition> NoLayout { get; } = new Dictionary<string, StepPosition>(StringComparer.Ordinal);

    /// <summary>The step with that id, or null.</summary>
    public JourneyStep? Step(string id)
    {
        _byId ??= Steps.ToDictionary(s => s.Id, StringComparer.Ordinal);
        return _byId.GetValueOrDefault(id);
    }
}

/// <summary>A step's position on the console's canvas (flow coordinates).</summary>
public sealed record StepPosition(double X, double Y);

// ---- entry ------------------------------------------------------------------------------------

/// <summary>How profiles enter a journey.</summary>
public abstract record JourneyTrigger
{
    /// <summary>The trigger's name in JSON (<c>event</c>, <c>segment_entered</c>, ...).</summary>
    public abstract string Type { get; }
}

/// <summary>A tracked event (name and property filters) enters the profile that sent it.</summary>
public sealed record EventTrigger(EventMatcher Match) : JourneyTrigger
{
    public override string Type => "event";
}

/// <summary>Entering (or, with <paramref name="Exited"/>, leaving) a segment enters the profile.</summary>
public sealed record SegmentTrigger(string SegmentId, bool Exited) : JourneyTrigger
{
    public override string Type => Exited ? "segment_exited" : "segment_entered";
}

/// <summary>
/// The date in a trait, moved by <paramref name="Offset"/> (negative: before), at local time <paramref name="At"/> in the
/// profile's zone (null: at the instant itself). A profile enters at that instant; a change of the trait moves it.
/// </summary>
public sealed record DateTraitTrigger(string Trait, TimeSpan Offset, TimeOnly? At) : JourneyTrigger
{
    public override string Type => "date_trait";
}

/// <summary><c>POST /api/v1/journeys/{id}/trigger</c> enters the named profile.</summary>
public sealed record ApiTrigger : JourneyTrigger
{
    public override string Type => "api";
}

/// <summary>
/// A broadcast to the members of a segment: once at <paramref name="Once"/> (a local date-time) or on every
/// occurrence of <paramref name="Cron"/> (five fields, local). <paramref name="PerUserZone"/>: the local time is read in
/// each member's own zone (members whose local time has passed when the run starts enter at once); otherwise in
/// <paramref name="Zone"/> (null: the journey's or workspace's zone).
/// </summary>
public sealed record BroadcastTrigger(string SegmentId, DateTime? Once, string? Cron, bool PerUserZone, string? Zone) : JourneyTrigger
{
    public override string Type => "broadcast";
}

/// <summary>Who may enter, checked at entry: a segment rule over the profile, and filters on the entry event's properties.</summary>
public sealed record EntryFilter(SegmentRule? Profile, IReadOnlyList<PropertyFilter> Entry);

public enum ReEntryKind
{
    /// <summary>A profile enters at most once, ever.</summary>
    Once,
    /// <summary>A profile may enter again once its previous entry has ended.</summary>
    NotWhileActive,
    /// <summary>A profile may enter again once its previous entry has ended and <see cref="ReEntryPolicy.Cooldown"/> has passed since it entered.</summary>
    AfterCooldown,
}

public sealed record ReEntryPolicy(ReEntryKind Kind, TimeSpan Cooldown)
{
    public static ReEntryPolicy Default { get; } = new(ReEntryKind.NotWhileActive, TimeSpan.Zero);
}

/// <summary>Meeting the goal event within <paramref name="Within"/> of entry converts the profile and ends its walk.
/// <paramref name="MatchKey"/>: the event's property at that path must equal the entry event's.</summary>
public sealed record JourneyGoal(EventMatcher Match, TimeSpan Within, string? MatchKey);

/// <summary>Ends a walk early: an event (optionally matching a key of the entry event), or leaving a segment.</summary>
public abstract record ExitCriterion;

public sealed record ExitOnEvent(EventMatcher Match, string? MatchKey) : ExitCriterion;

public sealed record ExitOnSegmentExit(string SegmentId) : ExitCriterion;

// ---- steps ------------------------------------------------------------------------------------

/// <summary>One node of the journey graph. <see cref="Next"/> is every outgoing edge (null entries are "end here").</summary>
public abstract record JourneyStep(string Id)
{
    public abstract string Type { get; }

    /// <summary>The step ids this step can continue to.</summary>
    public abstract IEnumerable<string> Next { get; }

    /// <summary>Whether walking through this step takes time (breaks a loop).</summary>
    public virtual bool Waits => false;
}

/// <summary>Wait a fixed duration.</summary>
public sealed record WaitDurationStep(string Id, TimeSpan Duration, string? Then) : JourneyStep(Id)
{
    public override string Type => "wait";
    public override IEnumerable<string> Next => Then is null ? [] : [Then];
    public override bool Waits => true;
}

/// <summary>Wait until the next <paramref name="At"/> in the profile's zone (today's if still ahead, else tomorrow's),
/// optionally restricted to some <paramref name="Days"/> of the week.</summary>
public sealed record WaitUntilTimeStep(string Id, TimeOnly At, IReadOnlyList<DayOfWeek>? Days, string? Then) : JourneyStep(Id)
{
    public override string Type => "wait";
    public override IEnumerable<string> Next => Then is null ? [] : [Then];
    public override bool Waits => true;
}

/// <summary>Wait until the date in a trait, moved by <paramref name="Offset"/>, at local time <paramref name="At"/> when given.
/// A missing trait or an instant already past continues at once.</summary>
public sealed record WaitUntilTraitStep(string Id, string Trait, TimeSpan Offset, TimeOnly? At, string? Then) : JourneyStep(Id)
{
    public override string Type => "wait";
    public override IEnumerable<string> Next => Then is null ? [] : [Then];
    public override bool Waits => true;
}

/// <summary>Wait for an event (optionally with the entry event's value at <paramref name="MatchKey"/>) for at most <paramref name="Timeout"/>.</summary>
public sealed record WaitForEventStep(string Id, EventMatcher Match, string? MatchKey, TimeSpan Timeout, string? OnEvent, string? OnTimeout)
    : JourneyStep(Id)
{
    public override string Type => "wait_for_event";
    public override IEnumerable<string> Next => new[] { OnEvent, OnTimeout }.OfType<string>();
    public override bool Waits => true;
}

/// <summary>A condition of a branch: a segment rule over the profile (may use <c>member_of</c>) and filters on the entry
/// event's properties; both must hold (an absent part holds).</summary>
public sealed record BranchCondition(SegmentRule? Profile, IReadOnlyList<PropertyFilter> Entry);

public sealed record BranchArm(BranchCondition When, string? Then);

/// <summary>The first arm whose condition holds, else <paramref name="Else"/>.</summary>
public sealed record BranchStep(string Id, IReadOnlyList<BranchArm> Arms, string? Else) : JourneyStep(Id)
{
    public override string Type => "branch";
    public override IEnumerable<string> Next => Arms.Select(a => a.Then).Append(Else).OfType<string>();
}

public sealed record SplitVariant(string Name, int Weight, string? Then);

/// <summary>Random split by weights, stable per profile and step (see <see cref="Bucketing"/>); the hold-out variant, when
/// given, takes its weight and ends the walk unless it names a step.</summary>
public sealed record SplitStep(string Id, IReadOnlyList<SplitVariant> Variants, SplitVariant? Holdout) : JourneyStep(Id)
{
    public override string Type => "split";
    public override IEnumerable<string> Next => Variants.Select(v => v.Then).Append(Holdout?.Then).OfType<string>();
}

/// <summary>Send a message: writes a durable send request for the delivery pipeline.</summary>
/// <param name="Channels">Ordered channel preference (first reachable wins; later ones are fallbacks).</param>
/// <param name="Category">Message category: <c>transactional</c>, <c>marketing</c> or a custom topic.</param>
public sealed record SendStep(string Id, string Template, IReadOnlyList<string> Channels, string Category, string? DedupKey, string? Then)
    : JourneyStep(Id)
{
    public override string Type => "send";
    public override IEnumerable<string> Next => Then is null ? [] : [Then];

    /// <summary>How long the dedup key blocks another message to the person (null: the workspace default).</summary>
    public TimeSpan? DedupWindow { get; init; }

    /// <summary>Messages with the same digest key within the window become one digest (null: no digest).</summary>
    public string? DigestKey { get; init; }

    public TimeSpan? DigestWindow { get; init; }

    /// <summary>Not sent after this long (a deferred promotion that would arrive too late is dropped as expired).</summary>
    public TimeSpan? ExpiresAfter { get; init; }

    /// <summary>Try the next channel when the chosen one has not delivered (or been read) within this long.</summary>
    public TimeSpan? FallbackAfter { get; init; }

    /// <summary><c>delivered</c> or <c>read</c>.</summary>
    public string? FallbackUntil { get; init; }
}

/// <summary>Change the profile: deep-merge <paramref name="SetJson"/> into the traits, remove <paramref name="Unset"/> paths, add and remove tags.</summary>
public sealed record UpdateProfileStep(string Id, string? SetJson, IReadOnlyList<string> Unset, IReadOnlyList<string> AddTags,
    IReadOnlyList<string> RemoveTags, string? Then) : JourneyStep(Id)
{
    public override string Type => "update_profile";
    public override IEnumerable<string> Next => Then is null ? [] : [Then];
}

/// <summary>Call a URL (Standard Webhooks signed, retried with backoff, SSRF-guarded). The walk continues once the call is queued.</summary>
public sealed record WebhookStep(string Id, string Url, string Method, IReadOnlyDictionary<string, string> Headers, string? BodyJson, string? Then)
    : JourneyStep(Id)
{
    public override string Type => "webhook";
    public override IEnumerable<string> Next => Then is null ? [] : [Then];
}

/// <summary>Create a follow-up task for a person: the assignee is the value of <paramref name="AssigneeTrait"/> on the profile,
/// else <paramref name="Queue"/>; due <paramref name="DueIn"/> after creation.</summary>
public sealed record TaskStep(string Id, string Title, string? Note, string? AssigneeTrait, string? Queue, TimeSpan DueIn, string? Then)
    : JourneyStep(Id)
{
    public override string Type => "task";
    public override IEnumerable<string> Next => Then is null ? [] : [Then];
}

/// <summary>End the walk here.</summary>
public sealed record ExitStep(string Id) : JourneyStep(Id)
{
    public override string Type => "exit";
    public override IEnumerable<string> Next => [];
}
