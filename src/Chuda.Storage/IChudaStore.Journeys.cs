using Chuda.Domain.Journeys;

namespace Chuda.Storage;

/// <summary>Journeys, their runtime state (instances, whose due time is the timer), their outgoing requests (sends,
/// tasks, webhooks), funnel counters, API-trigger idempotency, the audit log and workspace settings.</summary>
public partial interface IChudaStore
{
    // ---- journeys ----------------------------------------------------------------------------

    /// <summary>Stores a new journey with its first version; the store assigns <see cref="JourneyRecord.Key"/> (the passed key and
    /// the version's journey key are ignored). Throws <see cref="DuplicateNameException"/> when the workspace has that id.</summary>
    Task<JourneyRecord> CreateJourneyAsync(JourneyRecord journey, JourneyVersionRecord firstVersion, CancellationToken cancellationToken);

    Task<JourneyRecord?> GetJourneyAsync(long workspaceId, string id, CancellationToken cancellationToken);

    Task<JourneyRecord?> GetJourneyByKeyAsync(long workspaceId, long key, CancellationToken cancellationToken);

    /// <summary>Journeys of one workspace, or of all when null; ordered by workspace, then id (ordinal).</summary>
    Task<IReadOnlyList<JourneyRecord>> ListJourneysAsync(long? workspaceId, CancellationToken cancellationToken);

    /// <summary>Replaces the journey's mutable fields (everything but key, id, created_at and entries) if its stored revision is
    /// <paramref name="expectedRevision"/>, storing revision + 1, and adds <paramref name="newVersion"/> when given (its journey key is
    /// the journey's). False (nothing written) when the revision does not match or the journey is gone.</summary>
    Task<bool> UpdateJourneyAsync(JourneyRecord journey, long expectedRevision, JourneyVersionRecord? newVersion, CancellationToken cancellationToken);

    /// <summary>Stores the run cursor and next run time of a broadcast or activation walk (no revision check: only the runner writes them).</summary>
    Task SetJourneyRunAsync(long workspaceId, long key, long runCursor, DateTimeOffset? nextRunAt, CancellationToken cancellationToken);

    Task<JourneyVersionRecord?> GetJourneyVersionAsync(long workspaceId, long journeyKey, int version, CancellationToken cancellationToken);

    /// <summary>All versions of a journey, ascending.</summary>
    Task<IReadOnlyList<JourneyVersionRecord>> ListJourneyVersionsAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken);

    /// <summary>Journeys (all workspaces) with a <see cref="JourneyRecord.NextRunAt"/> at or before <paramref name="now"/>.</summary>
    Task<IReadOnlyList<JourneyRecord>> GetDueJourneyRunsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    // ---- instances and timers ------------------------------------------------------------------

    /// <summary>Open instances (active or scheduled) with a due time at or before <paramref name="now"/>, ordered by (due, id),
    /// strictly after the cursor (<paramref name="afterDue"/>, <paramref name="afterId"/>) when given; across workspaces.
    /// Instances of journeys that are paused are held (their due time is kept aside) and not returned.</summary>
    Task<IReadOnlyList<JourneyTimer>> GetDueJourneyTimersAsync(DateTimeOffset now, int limit, DateTimeOffset? afterDue, long afterId,
        CancellationToken cancellationToken);

    /// <summary>The earliest pending timer, or null.</summary>
    Task<DateTimeOffset?> GetNextJourneyTimerDueAsync(CancellationToken cancellationToken);

    /// <summary>A profile's instances (all statuses), newest entry first.</summary>
    Task<IReadOnlyList<JourneyInstance>> GetProfileJourneyInstancesAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken);

    Task<JourneyInstance?> GetJourneyInstanceAsync(long workspaceId, long instanceId, CancellationToken cancellationToken);

    /// <summary>Open instances of a journey, ascending by id after <paramref name="afterId"/> (for pause, migration and archive walks).</summary>
    Task<IReadOnlyList<JourneyInstance>> GetOpenJourneyInstancesAsync(long workspaceId, long journeyKey, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Pauses (<paramref name="hold"/>) or resumes a journey's timers: holding moves every open instance's due time aside
    /// so no timer fires; resuming puts them back, with any time already past moved to <paramref name="resumeAt"/> or later
    /// (spread by the caller's stagger). Returns how many instances were changed.</summary>
    Task<long> HoldJourneyTimersAsync(long workspaceId, long journeyKey, bool hold, DateTimeOffset resumeAt, CancellationToken cancellationToken);

    /// <summary>Active and waiting counts per (version, step) of a journey's open instances.</summary>
    Task<IReadOnlyList<JourneyStat>> GetJourneyWaitingAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken);

    /// <summary>Funnel counters of a journey summed over shards, ordered by version, step, kind.</summary>
    Task<IReadOnlyList<JourneyStat>> GetJourneyStatsAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken);

    /// <summary>Conversions of a journey, ascending by instance id after <paramref name="afterInstanceId"/>.</summary>
    Task<IReadOnlyList<JourneyConversion>> GetJourneyConversionsAsync(long workspaceId, long journeyKey, long afterInstanceId, int limit, CancellationToken cancellationToken);

    // ---- outgoing requests -----------------------------------------------------------------------

    /// <summary>Send requests ascending by id after <paramref name="afterId"/>; of one profile and/or journey when given.</summary>
    Task<IReadOnlyList<SendRequest>> GetSendRequestsAsync(long workspaceId, long? profileId, long? journeyKey, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Tasks ascending by (due, id); filtered by assignee, due strictly before, and status when given; after the (due, id) cursor.</summary>
    Task<IReadOnlyList<JourneyTask>> GetTasksAsync(long workspaceId, string? assignee, DateTimeOffset? dueBefore, string? status,
        DateTimeOffset? afterDue, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Marks an open task done; false when it does not exist or is done already.</summary>
    Task<bool> CompleteTaskAsync(long workspaceId, long taskId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Pending webhook requests whose next attempt is due, oldest first, across workspaces.</summary>
    Task<IReadOnlyList<WebhookRequest>> GetDueWebhooksAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>The earliest next attempt of a pending webhook, or null.</summary>
    Task<DateTimeOffset?> GetNextWebhookDueAsync(CancellationToken cancellationToken);

    /// <summary>Records an attempt's outcome: status (<c>pending</c>, <c>delivered</c>, <c>failed</c>), attempts, next attempt, last status code and error.</summary>
    Task UpdateWebhookAsync(WebhookRequest request, CancellationToken cancellationToken);

    /// <summary>Webhook requests of a workspace ascending by id after <paramref name="afterId"/>, of one journey when given.</summary>
    Task<IReadOnlyList<WebhookRequest>> GetWebhooksAsync(long workspaceId, long? journeyKey, long afterId, int limit, CancellationToken cancellationToken);

    // ---- triggers, audit, settings ------------------------------------------------------------

    Task<JourneyTriggerRecord?> FindJourneyTriggerAsync(long workspaceId, long journeyKey, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Appends an audit entry (the store assigns <see cref="AuditEntry.Seq"/>).</summary>
    Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken);

    /// <summary>Audit entries of a workspace, ascending by seq after <paramref name="afterSeq"/>.</summary>
    Task<IReadOnlyList<AuditEntry>> GetAuditAsync(long workspaceId, long afterSeq, int limit, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, string>> GetWorkspaceSettingsAsync(long workspaceId, CancellationToken cancellationToken);

    /// <summary>Sets (value not null) or removes a workspace setting.</summary>
    Task SetWorkspaceSettingAsync(long workspaceId, string name, string? value, CancellationToken cancellationToken);
}

public partial interface IProfileTransaction
{
    /// <summary>Open instances (active or scheduled) of the given profiles, ascending by id.</summary>
    Task<IReadOnlyList<JourneyInstance>> LoadOpenJourneyInstancesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken);

    /// <summary>Instances by id (any status); missing ids are absent.</summary>
    Task<IReadOnlyDictionary<long, JourneyInstance>> LoadJourneyInstancesAsync(long workspaceId, IReadOnlyCollection<long> instanceIds, CancellationToken cancellationToken);

    /// <summary>For each (journey, profile) among the given profiles that ever entered (scheduled entries excluded): the latest entry instant,
    /// and whether any entry is still active.</summary>
    Task<IReadOnlyDictionary<(long JourneyKey, long ProfileId), (DateTimeOffset LastEnteredAt, bool Active)>> LoadJourneyEntriesAsync(
        long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken);

    /// <summary>Whether the profile has an instance (any status) of that journey with that entry key.</summary>
    Task<bool> JourneyEntryExistsAsync(long workspaceId, long journeyKey, long profileId, string entryKey, CancellationToken cancellationToken);

    /// <summary>Reserves up to <paramref name="count"/> entries under the journey's cap (<paramref name="cap"/> null: no cap) and
    /// returns how many were granted; the journey's entry counter grows by that many.</summary>
    Task<long> ReserveJourneyEntriesAsync(long workspaceId, long journeyKey, long count, long? cap, CancellationToken cancellationToken);

    /// <summary>Reserves ids for new instances (unique across the store, never reused), returning the first of <paramref name="count"/>.</summary>
    Task<long> ReserveJourneyInstanceIdsAsync(int count, CancellationToken cancellationToken);

    /// <summary>Inserts instances with Revision 1 and updates the others when their stored revision is Revision − 1; a revision
    /// that does not fit, or an entry key already used by that profile in that journey, throws <see cref="ConcurrencyConflictException"/>.</summary>
    Task SaveJourneyInstancesAsync(IReadOnlyCollection<JourneyInstance> instances, CancellationToken cancellationToken);

    /// <summary>Writes the side effects of journey transitions: send requests, tasks, webhook requests (ids assigned by the store;
    /// a repeated (instance, seq) is ignored), conversions and counter deltas (added to the shard's counter).</summary>
    Task WriteJourneyEffectsAsync(IReadOnlyCollection<SendRequest> sends, IReadOnlyCollection<JourneyTask> tasks, IReadOnlyCollection<WebhookRequest> webhooks,
        IReadOnlyCollection<JourneyConversion> conversions, IReadOnlyCollection<JourneyStatDelta> stats, CancellationToken cancellationToken);

    /// <summary>Records an API trigger's idempotency key; throws <see cref="ConcurrencyConflictException"/> when the key is recorded already.</summary>
    Task RecordJourneyTriggerAsync(JourneyTriggerRecord trigger, CancellationToken cancellationToken);

    /// <summary>As <see cref="IChudaStore.FindJourneyTriggerAsync"/>, seeing this transaction's writes.</summary>
    Task<JourneyTriggerRecord?> FindJourneyTriggerAsync(long workspaceId, long journeyKey, string idempotencyKey, CancellationToken cancellationToken);
}
