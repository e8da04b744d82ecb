namespace Chuda.Domain.Journeys;

/// <summary>Lifecycle of a journey: draft → published (through pending_approval when the workspace requires approvals)
/// → paused ⇄ published → archived.</summary>
public enum JourneyStatus
{
    Draft = 0,
    PendingApproval = 1,
    Published = 2,
    Paused = 3,
    Archived = 4,
}

/// <summary>A stored journey: its identity, lifecycle and versions (definitions are in <see cref="JourneyVersionRecord"/>).</summary>
/// <param name="Key">Store-assigned number used by instance rows.</param>
/// <param name="Id">The public slug in URLs, unique per workspace.</param>
/// <param name="LatestVersion">The newest version (the one edits go to).</param>
/// <param name="LiveVersion">The version new entries walk; null until first published.</param>
/// <param name="PendingVersion">The version waiting for approval, with who asked (<paramref name="PendingBy"/>, an admin key id).</param>
/// <param name="Entries">Entries so far (all versions), counted for the entry cap.</param>
/// <param name="TriggerType">The live (else latest) version's trigger type, for the runtime's indexes.</param>
/// <param name="NextRunAt">Broadcasts and date-trait activations: when the scheduler next has work for this journey.</param>
/// <param name="RunCursor">Progress of the current broadcast run or activation walk (a profile id), resumed after a restart.</param>
/// <param name="Revision">Incremented on every update; optimistic concurrency for edits (If-Match).</param>
public sealed record JourneyRecord(
    long WorkspaceId,
    long Key,
    string Id,
    string Name,
    JourneyStatus Status,
    int LatestVersion,
    int? LiveVersion,
    int? PendingVersion,
    string? PendingBy,
    long Entries,
    string TriggerType,
    DateTimeOffset? NextRunAt,
    long RunCursor,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Revision);

/// <summary>One immutable version of a journey's definition (JSON as saved).</summary>
public sealed record JourneyVersionRecord(long WorkspaceId, long JourneyKey, int Version, string DefinitionJson, DateTimeOffset CreatedAt, string? CreatedBy);

public enum InstanceStatus
{
    /// <summary>Not entered yet: a date-trait or per-user-zone broadcast entry due at <see cref="JourneyInstance.DueAt"/>.</summary>
    Scheduled = 0,
    Active = 1,
    Completed = 2,
    Exited = 3,
    Converted = 4,
}

/// <summary>
/// One entry of one profile into a journey, and where it stands. The timer is the row itself: <see cref="DueAt"/> set
/// means "wake me then" (a wait, a wait-for-event timeout or a scheduled entry).
/// </summary>
/// <param name="EntryKey">What caused the entry (event message id, segment change, API idempotency key, broadcast run);
/// one profile enters one journey at most once per entry key.</param>
/// <param name="Seq">Side effects produced so far; each has idempotency key <c>j{Id}-{Seq}</c>.</param>
/// <param name="WaitEvent">The event name a wait_for_event step waits for (null otherwise).</param>
/// <param name="ContextJson">Entry event name and properties, split variants, the steps passed (see the engine's JourneyContext).</param>
/// <param name="Revision">Incremented on every write; a write with a stale revision is a concurrency conflict.</param>
public sealed record JourneyInstance(
    long WorkspaceId,
    long Id,
    long JourneyKey,
    int Version,
    long ProfileId,
    int RoutingHash,
    InstanceStatus Status,
    string StepId,
    DateTimeOffset EnteredAt,
    DateTimeOffset StepEnteredAt,
    int Seq,
    DateTimeOffset? DueAt,
    string? WaitEvent,
    string EntryKey,
    string ContextJson,
    string? EndReason,
    DateTimeOffset? EndedAt,
    DateTimeOffset UpdatedAt,
    long Revision)
{
    public bool IsOpen => Status is InstanceStatus.Active or InstanceStatus.Scheduled;
}

/// <summary>A due timer: the instance to wake and where its profile lives.</summary>
public sealed record JourneyTimer(long WorkspaceId, long InstanceId, long ProfileId, int RoutingHash, DateTimeOffset DueAt);

/// <summary>A send step's durable request for the delivery pipeline: everything delivery needs to render and route the
/// message. <see cref="IdempotencyKey"/> is unique per side effect (<c>j{instance}-{seq}</c>).</summary>
/// <param name="Channels">Ordered channel preference as JSON array.</param>
/// <param name="ContextJson">Entry event and journey context for the template.</param>
/// <param name="ScheduledFor">The logical instant of the step (its timer's due time), to measure lateness.</param>
/// <param name="Status"><c>pending</c> until the delivery pipeline takes it.</param>
public sealed record SendRequest(
    long WorkspaceId,
    long Id,
    long ProfileId,
    long JourneyKey,
    int Version,
    long InstanceId,
    string StepId,
    int Seq,
    string IdempotencyKey,
    string Template,
    string ChannelsJson,
    string Category,
    string? DedupKey,
    string ContextJson,
    DateTimeOffset ScheduledFor,
    DateTimeOffset CreatedAt,
    string Status);

/// <summary>A follow-up task for a person (a sales owner, a service queue).</summary>
public sealed record JourneyTask(
    long WorkspaceId,
    long Id,
    long ProfileId,
    long JourneyKey,
    long InstanceId,
    string StepId,
    int Seq,
    string Title,
    string? Note,
    string Assignee,
    bool FromQueue,
    DateTimeOffset DueAt,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DoneAt);

/// <summary>A queued webhook call of a journey step, retried with backoff until delivered or given up.</summary>
public sealed record WebhookRequest(
    long WorkspaceId,
    long Id,
    long ProfileId,
    long JourneyKey,
    long InstanceId,
    string StepId,
    int Seq,
    string IdempotencyKey,
    string Url,
    string Method,
    string HeadersJson,
    string Body,
    string Status,
    int Attempts,
    DateTimeOffset? NextAttemptAt,
    int? LastStatusCode,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>A conversion: the goal was met, attributed to the journey version, the last step passed and the split variants.</summary>
public sealed record JourneyConversion(long WorkspaceId, long JourneyKey, int Version, long InstanceId, long ProfileId, DateTimeOffset At,
    string LastStep, string VariantsJson);

/// <summary>A funnel counter increment (counters are sharded by partition so writers never contend).</summary>
public sealed record JourneyStatDelta(long WorkspaceId, long JourneyKey, int Version, string StepId, string Kind, int Shard, long Delta);

/// <summary>A funnel counter, summed over shards.</summary>
public sealed record JourneyStat(int Version, string StepId, string Kind, long Count);

/// <summary>The API-trigger idempotency record: the key, the hash of the body it came with, and the instance it made (if any).</summary>
public sealed record JourneyTriggerRecord(long WorkspaceId, long JourneyKey, string IdempotencyKey, string BodyHash, string Outcome,
    long? InstanceId, DateTimeOffset CreatedAt);

/// <summary>One audit log entry: who (an admin key id) did what to which object.</summary>
public sealed record AuditEntry(long WorkspaceId, long Seq, DateTimeOffset At, string Actor, string Action, string TargetType, string TargetId, string? DetailJson);
