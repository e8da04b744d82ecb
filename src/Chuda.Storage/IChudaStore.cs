using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Domain.Workspaces;

namespace Chuda.Storage;

/// <summary>
/// The one storage contract. SQLite (embedded, default) and PostgreSQL implement it, and both must pass the
/// compliance suite in <c>tests/Chuda.Storage.Tests</c> in full.
/// <para>
/// Writes to profiles happen only inside an <see cref="IProfileTransaction"/> opened by the partition that owns
/// them (see docs/architecture.md); reads may come from anywhere.
/// </para>
/// </summary>
public partial interface IChudaStore : IAsyncDisposable
{
    /// <summary><c>sqlite</c> or <c>postgresql</c>.</summary>
    string Kind { get; }

    /// <summary>How many partitions may write at once. SQLite has a single writer, so 1.</summary>
    int MaxWriterPartitions { get; }

    /// <summary>Creates the schema or upgrades it with the versioned migrations. Idempotent.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Applied migration versions, ascending.</summary>
    Task<IReadOnlyList<int>> GetAppliedMigrationsAsync(CancellationToken cancellationToken);

    // ---- workspaces and keys -------------------------------------------------------------

    /// <summary>Creates a workspace. Throws <see cref="DuplicateNameException"/> when the name is taken.</summary>
    Task<Workspace> CreateWorkspaceAsync(string name, string salt, DateTimeOffset createdAt, CancellationToken cancellationToken);

    Task<Workspace?> FindWorkspaceAsync(string name, CancellationToken cancellationToken);

    Task<Workspace?> GetWorkspaceAsync(long id, CancellationToken cancellationToken);

    Task<IReadOnlyList<Workspace>> ListWorkspacesAsync(CancellationToken cancellationToken);

    Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    /// <summary>The key with this hash, revoked or not; null when unknown.</summary>
    Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancellationToken);

    /// <summary>Marks every unrevoked key of that workspace and kind revoked at <paramref name="revokedAt"/>; returns how many.</summary>
    Task<int> RevokeApiKeysAsync(long workspaceId, ApiKeyKind kind, DateTimeOffset revokedAt, CancellationToken cancellationToken);

    /// <summary>The keys of a workspace, newest first (ties by hash); revoked ones only when <paramref name="includeRevoked"/>.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(long workspaceId, bool includeRevoked, CancellationToken cancellationToken);

    /// <summary>Marks the one key with this exact hash revoked at <paramref name="revokedAt"/>, if it belongs to that workspace and
    /// is not revoked yet; returns whether it did (false for an unknown key, another workspace's key or one already revoked).</summary>
    Task<bool> RevokeApiKeyAsync(long workspaceId, string hash, DateTimeOffset revokedAt, CancellationToken cancellationToken);

    // ---- profile writes ---------------------------------------------------------------------

    /// <summary>Opens the unit of work a partition applies one batch in. Nothing is visible until <see cref="IProfileTransaction.CommitAsync"/>.</summary>
    Task<IProfileTransaction> BeginAsync(CancellationToken cancellationToken);

    // ---- reads ------------------------------------------------------------------------------

    Task<ProfileRecord?> GetProfileAsync(long workspaceId, long profileId, CancellationToken cancellationToken);

    /// <summary>The profile an identity points at, or null.</summary>
    Task<long?> FindProfileIdAsync(long workspaceId, IdentityKey identity, CancellationToken cancellationToken);

    /// <summary>All identities of a profile, ordered by kind then value.</summary>
    Task<IReadOnlyList<IdentityKey>> GetIdentitiesAsync(long workspaceId, long profileId, CancellationToken cancellationToken);

    /// <summary>A profile's events newest first (timestamp desc, then seq desc), strictly older than <paramref name="before"/> when given.</summary>
    Task<IReadOnlyList<EventRow>> GetEventsAsync(long workspaceId, long profileId, int limit, EventCursor? before, CancellationToken cancellationToken);

    /// <summary>Profiles of a workspace with id greater than <paramref name="afterId"/>, ascending by id (backfill and scans).</summary>
    Task<IReadOnlyList<ProfileRecord>> GetProfilesAsync(long workspaceId, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Smallest and largest profile id of a workspace; null when it has none.</summary>
    Task<(long Min, long Max)?> GetProfileIdRangeAsync(long workspaceId, CancellationToken cancellationToken);

    /// <summary>The events of the given profiles that <paramref name="filter"/> selects, in no particular order.</summary>
    Task<IReadOnlyList<EventRow>> GetEventsForProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, EventNameFilter filter, CancellationToken cancellationToken);

    /// <summary>The distinct identity kinds of each of the given profiles (profiles without identities are absent).</summary>
    Task<IReadOnlyDictionary<long, IReadOnlySet<string>>> GetIdentityKindsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken);

    // ---- segments -------------------------------------------------------------------------

    /// <summary>Stores a new segment; the store assigns <see cref="SegmentDefinition.Key"/> (the passed value is ignored) and
    /// returns the stored record. Throws <see cref="DuplicateNameException"/> when the workspace already has that id.</summary>
    Task<SegmentDefinition> CreateSegmentAsync(SegmentDefinition segment, CancellationToken cancellationToken);

    Task<SegmentDefinition?> GetSegmentAsync(long workspaceId, string id, CancellationToken cancellationToken);

    /// <summary>The segments of one workspace, or of all when <paramref name="workspaceId"/> is null; ordered by workspace, then id (ordinal).</summary>
    Task<IReadOnlyList<SegmentDefinition>> ListSegmentsAsync(long? workspaceId, CancellationToken cancellationToken);

    /// <summary>Replaces the segment with the same workspace and key if its stored version is <paramref name="expectedVersion"/>;
    /// false (nothing written) otherwise or when it no longer exists. <see cref="SegmentDefinition.Id"/> and
    /// <see cref="SegmentDefinition.CreatedAt"/> are the segment's own and are not replaced; every other field is.</summary>
    Task<bool> UpdateSegmentAsync(SegmentDefinition segment, int expectedVersion, CancellationToken cancellationToken);

    /// <summary>Records backfill progress if the stored version is still <paramref name="version"/> (an edit restarts the
    /// backfill, and a stale runner must not overwrite it); false otherwise. Sets the cursor, done count, status and
    /// completion time (null clears it); the other backfill fields are left as they are.</summary>
    Task<bool> SetBackfillProgressAsync(long workspaceId, long key, int version, long cursor, long done, SegmentStatus status,
        DateTimeOffset? completedAt, CancellationToken cancellationToken);

    /// <summary>Deletes a segment with its membership rows and its change history; false when it did not exist.</summary>
    Task<bool> DeleteSegmentAsync(long workspaceId, long key, CancellationToken cancellationToken);

    /// <summary>Members with profile id greater than <paramref name="afterProfileId"/>, ascending by profile id, with their user id
    /// (null also when the profile row is gone).</summary>
    Task<IReadOnlyList<SegmentMember>> GetSegmentMembersAsync(long workspaceId, long key, long afterProfileId, int limit, CancellationToken cancellationToken);

    Task<long> CountSegmentMembersAsync(long workspaceId, long key, CancellationToken cancellationToken);

    /// <summary>The segments a profile is a member of, ascending by key.</summary>
    Task<IReadOnlyList<Membership>> GetProfileMembershipsAsync(long workspaceId, long profileId, CancellationToken cancellationToken);

    /// <summary>The segment keys each of the given profiles is a member of (profiles with none are absent), in one query.</summary>
    Task<IReadOnlyDictionary<long, IReadOnlySet<long>>> GetMembershipsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken);

    /// <summary>Recorded membership changes with seq greater than <paramref name="afterSeq"/>, ascending by seq; of one segment
    /// or of all segments of the workspace when <paramref name="key"/> is null.</summary>
    Task<IReadOnlyList<SegmentChange>> GetSegmentChangesAsync(long workspaceId, long? key, long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>Entries and exits of a segment per bucket of <paramref name="bucket"/> length starting at <paramref name="from"/>,
    /// for changes with <c>from ≤ At &lt; to</c>; only buckets with at least one change, ascending. Instants are taken at the stored
    /// (millisecond) precision; <paramref name="bucket"/> is whole milliseconds, at least one (else <see cref="ArgumentOutOfRangeException"/>).</summary>
    Task<IReadOnlyList<SegmentHistoryBucket>> GetSegmentHistoryAsync(long workspaceId, long key, DateTimeOffset from, DateTimeOffset to,
        TimeSpan bucket, CancellationToken cancellationToken);

    /// <summary>Re-checks due at or before <paramref name="now"/>, oldest first (then by workspace and profile id), across all workspaces,
    /// with the profile's routing hash. A check whose profile no longer exists is left out.</summary>
    Task<IReadOnlyList<SegmentCheck>> GetDueSegmentChecksAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>The earliest pending re-check, or null; like <see cref="GetDueSegmentChecksAsync"/>, it ignores checks whose profile no longer exists.</summary>
    Task<DateTimeOffset?> GetNextSegmentCheckDueAsync(CancellationToken cancellationToken);

    /// <summary>Number of profiles of a workspace (cheap: does not count events).</summary>
    Task<long> CountProfilesAsync(long workspaceId, CancellationToken cancellationToken);

    /// <summary>Number of profiles and events of a workspace (for tests, stats and import reports).</summary>
    Task<(long Profiles, long Events)> CountAsync(long workspaceId, CancellationToken cancellationToken);
}

/// <summary>
/// A partition's unit of work over one batch. Reads see the transaction's own writes. Disposing without
/// <see cref="CommitAsync"/> rolls everything back. A transaction is used by one thread at a time.
/// </summary>
public partial interface IProfileTransaction : IAsyncDisposable
{
    /// <summary>Of <paramref name="messageIds"/>, those already stored for the workspace (retained as long as the store keeps them, also after erasure).</summary>
    Task<IReadOnlySet<string>> FindExistingMessageIdsAsync(long workspaceId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken);

    /// <summary>For each of <paramref name="keys"/> that is known, the profile it points at.</summary>
    Task<IReadOnlyDictionary<IdentityKey, long>> ResolveAsync(long workspaceId, IReadOnlyCollection<IdentityKey> keys, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<long, ProfileRecord>> LoadProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken);

    /// <summary>Reserves <paramref name="count"/> consecutive new profile ids and returns the first. Ids are unique across the store and never reused, even if this transaction rolls back.</summary>
    Task<long> ReserveProfileIdsAsync(int count, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts (Version == 1) or updates (Version == stored + 1) profiles. A version that does not fit, or an update of
    /// a profile that no longer exists, throws <see cref="ConcurrencyConflictException"/>.
    /// </summary>
    Task UpsertProfilesAsync(IReadOnlyCollection<ProfileRecord> profiles, CancellationToken cancellationToken);

    /// <summary>
    /// Points each identity at its profile: inserts it, or moves it when it pointed elsewhere. A row with
    /// <see cref="IdentityRow.Claim"/> set never moves an identity: if it points at another profile, this throws
    /// <see cref="ConcurrencyConflictException"/> (two partitions raced to claim it; the loser retries with fresh reads).
    /// </summary>
    Task PutIdentitiesAsync(IReadOnlyCollection<IdentityRow> identities, CancellationToken cancellationToken);

    /// <summary>Appends events (assigning <see cref="EventRow.Seq"/> in the given order) and records their message ids for de-duplication.</summary>
    Task AppendEventsAsync(IReadOnlyCollection<EventRow> events, CancellationToken cancellationToken);

    /// <summary>
    /// Merges profile <paramref name="fromProfileId"/> into <paramref name="intoProfileId"/>: its identities and events move
    /// to the survivor, and its profile row, segment memberships and re-check are deleted. The caller writes the survivor's merged state with <see cref="UpsertProfilesAsync"/>.
    /// <paramref name="expectedFromVersion"/> guards against a concurrent write to the merged profile (<see cref="ConcurrencyConflictException"/>).
    /// </summary>
    Task MergeProfilesAsync(long workspaceId, long fromProfileId, long expectedFromVersion, long intoProfileId, CancellationToken cancellationToken);

    /// <summary>Of the given salted hashes, those on the workspace's suppression list.</summary>
    Task<IReadOnlySet<string>> FindSuppressionsAsync(long workspaceId, IReadOnlyCollection<string> hashes, CancellationToken cancellationToken);

    /// <summary>
    /// Erasure: deletes the profile, its identities, events, segment memberships, membership history and re-check, and adds the suppression rows. Message ids stay (they
    /// carry no personal data) so a replay is still recognised as a duplicate.
    /// </summary>
    Task<ErasureCounts> EraseProfileAsync(long workspaceId, long profileId, IReadOnlyCollection<SuppressionRow> suppressions, CancellationToken cancellationToken);

    /// <summary>For each of <paramref name="profileIds"/>: its memberships and pending re-check (<see cref="ProfileSegmentState.Empty"/> when none).</summary>
    Task<IReadOnlyDictionary<long, ProfileSegmentState>> LoadSegmentStateAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken);

    /// <summary>As <see cref="IChudaStore.GetEventsForProfilesAsync"/>, seeing this transaction's own writes.</summary>
    Task<IReadOnlyList<EventRow>> LoadEventsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, EventNameFilter filter, CancellationToken cancellationToken);

    /// <summary>As <see cref="IChudaStore.GetIdentityKindsAsync"/>, seeing this transaction's own writes.</summary>
    Task<IReadOnlyDictionary<long, IReadOnlySet<string>>> LoadIdentityKindsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken);

    /// <summary>Applies membership changes in order: an entry inserts the membership (since = At; an existing one is kept), an exit
    /// deletes it (none is fine); every change is appended to the change history with a new seq.</summary>
    Task ApplySegmentChangesAsync(IReadOnlyCollection<SegmentChange> changes, CancellationToken cancellationToken);

    /// <summary>Sets (DueAt not null) or removes (null) each profile's pending re-check.</summary>
    Task SetSegmentChecksAsync(IReadOnlyCollection<(long WorkspaceId, long ProfileId, DateTimeOffset? DueAt)> checks, CancellationToken cancellationToken);

    Task CommitAsync(CancellationToken cancellationToken);
}

/// <summary>A write lost a race with another writer; the caller rolls back and retries the batch.</summary>
public sealed class ConcurrencyConflictException(string message) : Exception(message);

/// <summary>A unique name (workspace) is already taken.</summary>
public sealed class DuplicateNameException(string message) : Exception(message);

/// <summary>
/// Which events a segment evaluation needs, by the names rules match on (<see cref="Chuda.Domain.Segments.EventFact"/>):
/// track events by event name, page calls when <c>Viewed Page</c> is wanted, screen calls when <c>Viewed Screen</c> is.
/// </summary>
public sealed record EventNameFilter(IReadOnlySet<string> TrackNames, bool Pages, bool Screens)
{
    public static EventNameFilter For(IEnumerable<string> factNames)
    {
        var names = new SortedSet<string>(factNames, StringComparer.Ordinal);
        return new EventNameFilter(names, names.Contains(EventFact.ViewedPage), names.Contains(EventFact.ViewedScreen));
    }

    public bool IsEmpty => TrackNames.Count == 0 && !Pages && !Screens;
}
