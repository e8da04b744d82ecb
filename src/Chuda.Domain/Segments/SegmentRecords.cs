namespace Chuda.Domain.Segments;

/// <summary>Where a segment's membership computation stands.</summary>
public enum SegmentStatus
{
    /// <summary>Created or edited: existing profiles are being evaluated (see <see cref="SegmentDefinition.BackfillDone"/>).
    /// Live changes are already evaluated with the current rule.</summary>
    Backfilling = 0,

    /// <summary>Every profile has been evaluated with the current rule; membership is exact and kept so incrementally.</summary>
    Ready = 1,
}

/// <summary>
/// A stored segment. <paramref name="Id"/> is the public, workspace-unique id rules reference with <c>member_of</c>;
/// <paramref name="Key"/> is the store-assigned number membership rows use (unique across the store, never reused).
/// </summary>
/// <param name="RuleJson">The rule as submitted (validated JSON).</param>
/// <param name="Version">1 on creation, +1 on every edit of the rule, name or description.</param>
/// <param name="BackfillCursor">The last profile id the backfill of this version has evaluated (0 before it starts).</param>
/// <param name="BackfillDone">Profiles evaluated by the backfill of this version.</param>
/// <param name="BackfillTotal">Profiles the workspace had when the backfill started (an estimate of the work).</param>
public sealed record SegmentDefinition(
    long WorkspaceId,
    string Id,
    long Key,
    string Name,
    string? Description,
    string RuleJson,
    int Version,
    SegmentStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long BackfillCursor,
    long BackfillDone,
    long BackfillTotal,
    DateTimeOffset? BackfillStartedAt,
    DateTimeOffset? BackfillCompletedAt);

/// <summary>A profile's membership of one segment.</summary>
public readonly record struct Membership(long SegmentKey, DateTimeOffset Since);

/// <summary>One member of a segment, for paging.</summary>
public sealed record SegmentMember(long ProfileId, string? UserId, DateTimeOffset Since);

/// <summary>What made a membership change: the kind of change, and a detail (the event name, the merged profile...).</summary>
public static class ChangeCauses
{
    public const string Event = "event";
    public const string Traits = "traits";
    public const string Tags = "tags";
    public const string Identity = "identity";
    public const string Created = "created";
    public const string Merge = "merge";
    public const string MergedAway = "merged_away";
    public const string Time = "time";
    public const string Backfill = "backfill";
    public const string Segment = "segment";
}

/// <summary>
/// A recorded membership change (<c>segment entered</c> / <c>segment exited</c>): what journeys consume for segment
/// triggers and what the history endpoint aggregates.
/// </summary>
/// <param name="Seq">Store-assigned, increasing; 0 before it is stored. Consumers page with it.</param>
/// <param name="At">The instant the membership changed: for a time-based flip, the exact instant the rule's value
/// changed (the due time), even if the check ran a little later; otherwise when the change was applied.</param>
/// <param name="Cause">One of <see cref="ChangeCauses"/>.</param>
/// <param name="Detail">E.g. the event name for <see cref="ChangeCauses.Event"/>, the referenced segment for
/// <see cref="ChangeCauses.Segment"/>; null when there is nothing to add.</param>
public sealed record SegmentChange(
    long WorkspaceId,
    long SegmentKey,
    long ProfileId,
    bool Entered,
    DateTimeOffset At,
    string Cause,
    string? Detail,
    long Seq = 0);

/// <summary>A durable re-check: at <paramref name="DueAt"/> the time-dependent segments of the profile may change value.</summary>
public sealed record SegmentCheck(long WorkspaceId, long ProfileId, int RoutingHash, DateTimeOffset DueAt);

/// <summary>Entries and exits of one segment in one time bucket.</summary>
public sealed record SegmentHistoryBucket(DateTimeOffset Start, long Entered, long Exited);

/// <summary>What the engine needs to know about a profile's segments before re-evaluating them in a batch.</summary>
/// <param name="Memberships">Current memberships (segment key → since).</param>
/// <param name="CheckDue">The profile's pending re-check, if any.</param>
public sealed record ProfileSegmentState(IReadOnlyDictionary<long, DateTimeOffset> Memberships, DateTimeOffset? CheckDue)
{
    public static ProfileSegmentState Empty { get; } = new(new Dictionary<long, DateTimeOffset>(), null);
}
