using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Domain.Workspaces;

namespace Chuda.Storage;

/// <summary>
/// A store that forwards every call to another one; override what a decorator changes (timing, fault injection,
/// tracing), as <c>DelegatingHandler</c> does for HTTP. Wrap transactions with <see cref="DelegatingProfileTransaction"/>.
/// </summary>
public abstract partial class DelegatingStore(IChudaStore inner) : IChudaStore
{
    protected IChudaStore Inner { get; } = inner;

    public virtual string Kind => Inner.Kind;
    public virtual int MaxWriterPartitions => Inner.MaxWriterPartitions;
    public virtual Task MigrateAsync(CancellationToken cancellationToken) => Inner.MigrateAsync(cancellationToken);
    public virtual Task<IReadOnlyList<int>> GetAppliedMigrationsAsync(CancellationToken cancellationToken) => Inner.GetAppliedMigrationsAsync(cancellationToken);
    public virtual Task<Workspace> CreateWorkspaceAsync(string name, string salt, DateTimeOffset createdAt, CancellationToken cancellationToken) => Inner.CreateWorkspaceAsync(name, salt, createdAt, cancellationToken);
    public virtual Task<Workspace?> FindWorkspaceAsync(string name, CancellationToken cancellationToken) => Inner.FindWorkspaceAsync(name, cancellationToken);
    public virtual Task<Workspace?> GetWorkspaceAsync(long id, CancellationToken cancellationToken) => Inner.GetWorkspaceAsync(id, cancellationToken);
    public virtual Task<IReadOnlyList<Workspace>> ListWorkspacesAsync(CancellationToken cancellationToken) => Inner.ListWorkspacesAsync(cancellationToken);
    public virtual Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken) => Inner.AddApiKeyAsync(key, cancellationToken);
    public virtual Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancellationToken) => Inner.FindApiKeyAsync(hash, cancellationToken);
    public virtual Task<int> RevokeApiKeysAsync(long workspaceId, ApiKeyKind kind, DateTimeOffset revokedAt, CancellationToken cancellationToken) => Inner.RevokeApiKeysAsync(workspaceId, kind, revokedAt, cancellationToken);
    public virtual Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(long workspaceId, bool includeRevoked, CancellationToken cancellationToken) => Inner.ListApiKeysAsync(workspaceId, includeRevoked, cancellationToken);
    public virtual Task<bool> RevokeApiKeyAsync(long workspaceId, string hash, DateTimeOffset revokedAt, CancellationToken cancellationToken) => Inner.RevokeApiKeyAsync(workspaceId, hash, revokedAt, cancellationToken);
    public virtual Task<IProfileTransaction> BeginAsync(CancellationToken cancellationToken) => Inner.BeginAsync(cancellationToken);
    public virtual Task<ProfileRecord?> GetProfileAsync(long workspaceId, long profileId, CancellationToken cancellationToken) => Inner.GetProfileAsync(workspaceId, profileId, cancellationToken);
    public virtual Task<long?> FindProfileIdAsync(long workspaceId, IdentityKey identity, CancellationToken cancellationToken) => Inner.FindProfileIdAsync(workspaceId, identity, cancellationToken);
    public virtual Task<IReadOnlyList<IdentityKey>> GetIdentitiesAsync(long workspaceId, long profileId, CancellationToken cancellationToken) => Inner.GetIdentitiesAsync(workspaceId, profileId, cancellationToken);
    public virtual Task<IReadOnlyList<EventRow>> GetEventsAsync(long workspaceId, long profileId, int limit, EventCursor? before, CancellationToken cancellationToken) => Inner.GetEventsAsync(workspaceId, profileId, limit, before, cancellationToken);
    public virtual Task<IReadOnlyList<ProfileRecord>> GetProfilesAsync(long workspaceId, long afterId, int limit, CancellationToken cancellationToken) => Inner.GetProfilesAsync(workspaceId, afterId, limit, cancellationToken);
    public virtual Task<(long Min, long Max)?> GetProfileIdRangeAsync(long workspaceId, CancellationToken cancellationToken) => Inner.GetProfileIdRangeAsync(workspaceId, cancellationToken);
    public virtual Task<IReadOnlyList<EventRow>> GetEventsForProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, EventNameFilter filter, CancellationToken cancellationToken) => Inner.GetEventsForProfilesAsync(workspaceId, profileIds, filter, cancellationToken);
    public virtual Task<IReadOnlyDictionary<long, IReadOnlySet<string>>> GetIdentityKindsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.GetIdentityKindsAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<SegmentDefinition> CreateSegmentAsync(SegmentDefinition segment, CancellationToken cancellationToken) => Inner.CreateSegmentAsync(segment, cancellationToken);
    public virtual Task<SegmentDefinition?> GetSegmentAsync(long workspaceId, string id, CancellationToken cancellationToken) => Inner.GetSegmentAsync(workspaceId, id, cancellationToken);
    public virtual Task<IReadOnlyList<SegmentDefinition>> ListSegmentsAsync(long? workspaceId, CancellationToken cancellationToken) => Inner.ListSegmentsAsync(workspaceId, cancellationToken);
    public virtual Task<bool> UpdateSegmentAsync(SegmentDefinition segment, int expectedVersion, CancellationToken cancellationToken) => Inner.UpdateSegmentAsync(segment, expectedVersion, cancellationToken);
    public virtual Task<bool> SetBackfillProgressAsync(long workspaceId, long key, int version, long cursor, long done, SegmentStatus status, DateTimeOffset? completedAt, CancellationToken cancellationToken) => Inner.SetBackfillProgressAsync(workspaceId, key, version, cursor, done, status, completedAt, cancellationToken);
    public virtual Task<bool> DeleteSegmentAsync(long workspaceId, long key, CancellationToken cancellationToken) => Inner.DeleteSegmentAsync(workspaceId, key, cancellationToken);
    public virtual Task<IReadOnlyList<SegmentMember>> GetSegmentMembersAsync(long workspaceId, long key, long afterProfileId, int limit, CancellationToken cancellationToken) => Inner.GetSegmentMembersAsync(workspaceId, key, afterProfileId, limit, cancellationToken);
    public virtual Task<long> CountSegmentMembersAsync(long workspaceId, long key, CancellationToken cancellationToken) => Inner.CountSegmentMembersAsync(workspaceId, key, cancellationToken);
    public virtual Task<IReadOnlyDictionary<long, IReadOnlySet<long>>> GetMembershipsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.GetMembershipsAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<IReadOnlyList<Membership>> GetProfileMembershipsAsync(long workspaceId, long profileId, CancellationToken cancellationToken) => Inner.GetProfileMembershipsAsync(workspaceId, profileId, cancellationToken);
    public virtual Task<IReadOnlyList<SegmentChange>> GetSegmentChangesAsync(long workspaceId, long? key, long afterSeq, int limit, CancellationToken cancellationToken) => Inner.GetSegmentChangesAsync(workspaceId, key, afterSeq, limit, cancellationToken);
    public virtual Task<IReadOnlyList<SegmentHistoryBucket>> GetSegmentHistoryAsync(long workspaceId, long key, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket, CancellationToken cancellationToken) => Inner.GetSegmentHistoryAsync(workspaceId, key, from, to, bucket, cancellationToken);
    public virtual Task<IReadOnlyList<SegmentCheck>> GetDueSegmentChecksAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => Inner.GetDueSegmentChecksAsync(now, limit, cancellationToken);
    public virtual Task<DateTimeOffset?> GetNextSegmentCheckDueAsync(CancellationToken cancellationToken) => Inner.GetNextSegmentCheckDueAsync(cancellationToken);
    public virtual Task<long> CountProfilesAsync(long workspaceId, CancellationToken cancellationToken) => Inner.CountProfilesAsync(workspaceId, cancellationToken);
    public virtual Task<(long Profiles, long Events)> CountAsync(long workspaceId, CancellationToken cancellationToken) => Inner.CountAsync(workspaceId, cancellationToken);

    public virtual async ValueTask DisposeAsync()
    {
        await Inner.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A transaction that forwards every call to another one; override what a decorator changes.</summary>
public abstract partial class DelegatingProfileTransaction(IProfileTransaction inner) : IProfileTransaction
{
    protected IProfileTransaction Inner { get; } = inner;

    public virtual Task<IReadOnlySet<string>> FindExistingMessageIdsAsync(long workspaceId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken) => Inner.FindExistingMessageIdsAsync(workspaceId, messageIds, cancellationToken);
    public virtual Task<IReadOnlyDictionary<IdentityKey, long>> ResolveAsync(long workspaceId, IReadOnlyCollection<IdentityKey> keys, CancellationToken cancellationToken) => Inner.ResolveAsync(workspaceId, keys, cancellationToken);
    public virtual Task<IReadOnlyDictionary<long, ProfileRecord>> LoadProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.LoadProfilesAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<long> ReserveProfileIdsAsync(int count, CancellationToken cancellationToken) => Inner.ReserveProfileIdsAsync(count, cancellationToken);
    public virtual Task UpsertProfilesAsync(IReadOnlyCollection<ProfileRecord> profiles, CancellationToken cancellationToken) => Inner.UpsertProfilesAsync(profiles, cancellationToken);
    public virtual Task PutIdentitiesAsync(IReadOnlyCollection<IdentityRow> identities, CancellationToken cancellationToken) => Inner.PutIdentitiesAsync(identities, cancellationToken);
    public virtual Task AppendEventsAsync(IReadOnlyCollection<EventRow> events, CancellationToken cancellationToken) => Inner.AppendEventsAsync(events, cancellationToken);
    public virtual Task MergeProfilesAsync(long workspaceId, long fromProfileId, long expectedFromVersion, long intoProfileId, CancellationToken cancellationToken) => Inner.MergeProfilesAsync(workspaceId, fromProfileId, expectedFromVersion, intoProfileId, cancellationToken);
    public virtual Task<IReadOnlySet<string>> FindSuppressionsAsync(long workspaceId, IReadOnlyCollection<string> hashes, CancellationToken cancellationToken) => Inner.FindSuppressionsAsync(workspaceId, hashes, cancellationToken);
    public virtual Task<ErasureCounts> EraseProfileAsync(long workspaceId, long profileId, IReadOnlyCollection<SuppressionRow> suppressions, CancellationToken cancellationToken) => Inner.EraseProfileAsync(workspaceId, profileId, suppressions, cancellationToken);
    public virtual Task<IReadOnlyDictionary<long, ProfileSegmentState>> LoadSegmentStateAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.LoadSegmentStateAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<IReadOnlyList<EventRow>> LoadEventsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, EventNameFilter filter, CancellationToken cancellationToken) => Inner.LoadEventsAsync(workspaceId, profileIds, filter, cancellationToken);
    public virtual Task<IReadOnlyDictionary<long, IReadOnlySet<string>>> LoadIdentityKindsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.LoadIdentityKindsAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task ApplySegmentChangesAsync(IReadOnlyCollection<SegmentChange> changes, CancellationToken cancellationToken) => Inner.ApplySegmentChangesAsync(changes, cancellationToken);
    public virtual Task SetSegmentChecksAsync(IReadOnlyCollection<(long WorkspaceId, long ProfileId, DateTimeOffset? DueAt)> checks, CancellationToken cancellationToken) => Inner.SetSegmentChecksAsync(checks, cancellationToken);
    public virtual Task CommitAsync(CancellationToken cancellationToken) => Inner.CommitAsync(cancellationToken);

    public virtual async ValueTask DisposeAsync()
    {
        await Inner.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
