using Chuda.Domain.Journeys;

namespace Chuda.Storage;

// Journey members of the delegating decorators (see DelegatingStore).
public abstract partial class DelegatingStore
{
    public virtual Task<JourneyRecord> CreateJourneyAsync(JourneyRecord journey, JourneyVersionRecord firstVersion, CancellationToken cancellationToken) => Inner.CreateJourneyAsync(journey, firstVersion, cancellationToken);
    public virtual Task<JourneyRecord?> GetJourneyAsync(long workspaceId, string id, CancellationToken cancellationToken) => Inner.GetJourneyAsync(workspaceId, id, cancellationToken);
    public virtual Task<JourneyRecord?> GetJourneyByKeyAsync(long workspaceId, long key, CancellationToken cancellationToken) => Inner.GetJourneyByKeyAsync(workspaceId, key, cancellationToken);
    public virtual Task<IReadOnlyList<JourneyRecord>> ListJourneysAsync(long? workspaceId, CancellationToken cancellationToken) => Inner.ListJourneysAsync(workspaceId, cancellationToken);
    public virtual Task<bool> UpdateJourneyAsync(JourneyRecord journey, long expectedRevision, JourneyVersionRecord? newVersion, CancellationToken cancellationToken) => Inner.UpdateJourneyAsync(journey, expectedRevision, newVersion, cancellationToken);
    public virtual Task SetJourneyRunAsync(long workspaceId, long key, long runCursor, DateTimeOffset? nextRunAt, CancellationToken cancellationToken) => Inner.SetJourneyRunAsync(workspaceId, key, runCursor, nextRunAt, cancellationToken);
    public virtual Task<JourneyVersionRecord?> GetJourneyVersionAsync(long workspaceId, long journeyKey, int version, CancellationToken cancellationToken) => Inner.GetJourneyVersionAsync(workspaceId, journeyKey, version, cancellationToken);
    public virtual Task<IReadOnlyList<JourneyVersionRecord>> ListJourneyVersionsAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken) => Inner.ListJourneyVersionsAsync(workspaceId, journeyKey, cancellationToken);
    public virtual Task<IReadOnlyList<JourneyRecord>> GetDueJourneyRunsAsync(DateTimeOffset now, CancellationToken cancellationToken) => Inner.GetDueJourneyRunsAsync(now, cancellationToken);
    public virtual Task<IReadOnlyList<JourneyTimer>> GetDueJourneyTimersAsync(DateTimeOffset now, int limit, DateTimeOffset? afterDue, long afterId, CancellationToken cancellationToken) => Inner.GetDueJourneyTimersAsync(now, limit, afterDue, afterId, cancellationToken);
    public virtual Task<DateTimeOffset?> GetNextJourneyTimerDueAsync(CancellationToken cancellationToken) => Inner.GetNextJourneyTimerDueAsync(cancellationToken);
    public virtual Task<IReadOnlyList<JourneyInstance>> GetProfileJourneyInstancesAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken) => Inner.GetProfileJourneyInstancesAsync(workspaceId, profileId, limit, cancellationToken);
    public virtual Task<JourneyInstance?> GetJourneyInstanceAsync(long workspaceId, long instanceId, CancellationToken cancellationToken) => Inner.GetJourneyInstanceAsync(workspaceId, instanceId, cancellationToken);
    public virtual Task<IReadOnlyList<JourneyInstance>> GetOpenJourneyInstancesAsync(long workspaceId, long journeyKey, long afterId, int limit, CancellationToken cancellationToken) => Inner.GetOpenJourneyInstancesAsync(workspaceId, journeyKey, afterId, limit, cancellationToken);
    public virtual Task<long> HoldJourneyTimersAsync(long workspaceId, long journeyKey, bool hold, DateTimeOffset resumeAt, CancellationToken cancellationToken) => Inner.HoldJourneyTimersAsync(workspaceId, journeyKey, hold, resumeAt, cancellationToken);
    public virtual Task<IReadOnlyList<JourneyStat>> GetJourneyWaitingAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken) => Inner.GetJourneyWaitingAsync(workspaceId, journeyKey, cancellationToken);
    public virtual Task<IReadOnlyList<JourneyStat>> GetJourneyStatsAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken) => Inner.GetJourneyStatsAsync(workspaceId, journeyKey, cancellationToken);
    public virtual Task<IReadOnlyList<JourneyConversion>> GetJourneyConversionsAsync(long workspaceId, long journeyKey, long afterInstanceId, int limit, CancellationToken cancellationToken) => Inner.GetJourneyConversionsAsync(workspaceId, journeyKey, afterInstanceId, limit, cancellationToken);
    public virtual Task<IReadOnlyList<SendRequest>> GetSendRequestsAsync(long workspaceId, long? profileId, long? journeyKey, long afterId, int limit, CancellationToken cancellationToken) => Inner.GetSendRequestsAsync(workspaceId, profileId, journeyKey, afterId, limit, cancellationToken);
    public virtual Task<IReadOnlyList<JourneyTask>> GetTasksAsync(long workspaceId, string? assignee, DateTimeOffset? dueBefore, string? status, DateTimeOffset? afterDue, long afterId, int limit, CancellationToken cancellationToken) => Inner.GetTasksAsync(workspaceId, assignee, dueBefore, status, afterDue, afterId, limit, cancellationToken);
    public virtual Task<bool> CompleteTaskAsync(long workspaceId, long taskId, DateTimeOffset at, CancellationToken cancellationToken) => Inner.CompleteTaskAsync(workspaceId, taskId, at, cancellationToken);
    public virtual Task<IReadOnlyList<WebhookRequest>> GetDueWebhooksAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => Inner.GetDueWebhooksAsync(now, limit, cancellationToken);
    public virtual Task<DateTimeOffset?> GetNextWebhookDueAsync(CancellationToken cancellationToken) => Inner.GetNextWebhookDueAsync(cancellationToken);
    public virtual Task UpdateWebhookAsync(WebhookRequest request, CancellationToken cancellationToken) => Inner.UpdateWebhookAsync(request, cancellationToken);
    public virtual Task<IReadOnlyList<WebhookRequest>> GetWebhooksAsync(long workspaceId, long? journeyKey, long afterId, int limit, CancellationToken cancellationToken) => Inner.GetWebhooksAsync(workspaceId, journeyKey, afterId, limit, cancellationToken);
    public virtual Task<JourneyTriggerRecord?> FindJourneyTriggerAsync(long workspaceId, long journeyKey, string idempotencyKey, CancellationToken cancellationToken) => Inner.FindJourneyTriggerAsync(workspaceId, journeyKey, idempotencyKey, cancellationToken);
    public virtual Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken) => Inner.AppendAuditAsync(entry, cancellationToken);
    public virtual Task<IReadOnlyList<AuditEntry>> GetAuditAsync(long workspaceId, long afterSeq, int limit, CancellationToken cancellationToken) => Inner.GetAuditAsync(workspaceId, afterSeq, limit, cancellationToken);
    public virtual Task<IReadOnlyDictionary<string, string>> GetWorkspaceSettingsAsync(long workspaceId, CancellationToken cancellationToken) => Inner.GetWorkspaceSettingsAsync(workspaceId, cancellationToken);
    public virtual Task SetWorkspaceSettingAsync(long workspaceId, string name, string? value, CancellationToken cancellationToken) => Inner.SetWorkspaceSettingAsync(workspaceId, name, value, cancellationToken);
}

public abstract partial class DelegatingProfileTransaction
{
    public virtual Task<IReadOnlyList<JourneyInstance>> LoadOpenJourneyInstancesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.LoadOpenJourneyInstancesAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<IReadOnlyDictionary<long, JourneyInstance>> LoadJourneyInstancesAsync(long workspaceId, IReadOnlyCollection<long> instanceIds, CancellationToken cancellationToken) => Inner.LoadJourneyInstancesAsync(workspaceId, instanceIds, cancellationToken);
    public virtual Task<IReadOnlyDictionary<(long JourneyKey, long ProfileId), (DateTimeOffset LastEnteredAt, bool Active)>> LoadJourneyEntriesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.LoadJourneyEntriesAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<bool> JourneyEntryExistsAsync(long workspaceId, long journeyKey, long profileId, string entryKey, CancellationToken cancellationToken) => Inner.JourneyEntryExistsAsync(workspaceId, journeyKey, profileId, entryKey, cancellationToken);
    public virtual Task<long> ReserveJourneyEntriesAsync(long workspaceId, long journeyKey, long count, long? cap, CancellationToken cancellationToken) => Inner.ReserveJourneyEntriesAsync(workspaceId, journeyKey, count, cap, cancellationToken);
    public virtual Task<long> ReserveJourneyInstanceIdsAsync(int count, CancellationToken cancellationToken) => Inner.ReserveJourneyInstanceIdsAsync(count, cancellationToken);
    public virtual Task SaveJourneyInstancesAsync(IReadOnlyCollection<JourneyInstance> instances, CancellationToken cancellationToken) => Inner.SaveJourneyInstancesAsync(instances, cancellationToken);
    public virtual Task WriteJourneyEffectsAsync(IReadOnlyCollection<SendRequest> sends, IReadOnlyCollection<JourneyTask> tasks, IReadOnlyCollection<WebhookRequest> webhooks, IReadOnlyCollection<JourneyConversion> conversions, IReadOnlyCollection<JourneyStatDelta> stats, CancellationToken cancellationToken) => Inner.WriteJourneyEffectsAsync(sends, tasks, webhooks, conversions, stats, cancellationToken);
    public virtual Task RecordJourneyTriggerAsync(JourneyTriggerRecord trigger, CancellationToken cancellationToken) => Inner.RecordJourneyTriggerAsync(trigger, cancellationToken);
    public virtual Task<JourneyTriggerRecord?> FindJourneyTriggerAsync(long workspaceId, long journeyKey, string idempotencyKey, CancellationToken cancellationToken) => Inner.FindJourneyTriggerAsync(workspaceId, journeyKey, idempotencyKey, cancellationToken);
}
