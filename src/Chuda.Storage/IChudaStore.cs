using Chuda.Domain.Profiles;
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
public interface IChudaStore : IAsyncDisposable
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

    /// <summary>Number of profiles and events of a workspace (for tests, stats and import reports).</summary>
    Task<(long Profiles, long Events)> CountAsync(long workspaceId, CancellationToken cancellationToken);
}

/// <summary>
/// A partition's unit of work over one batch. Reads see the transaction's own writes. Disposing without
/// <see cref="CommitAsync"/> rolls everything back. A transaction is used by one thread at a time.
/// </summary>
public interface IProfileTransaction : IAsyncDisposable
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
    /// to the survivor, and its profile row is deleted. The caller writes the survivor's merged state with <see cref="UpsertProfilesAsync"/>.
    /// <paramref name="expectedFromVersion"/> guards against a concurrent write to the merged profile (<see cref="ConcurrencyConflictException"/>).
    /// </summary>
    Task MergeProfilesAsync(long workspaceId, long fromProfileId, long expectedFromVersion, long intoProfileId, CancellationToken cancellationToken);

    /// <summary>Of the given salted hashes, those on the workspace's suppression list.</summary>
    Task<IReadOnlySet<string>> FindSuppressionsAsync(long workspaceId, IReadOnlyCollection<string> hashes, CancellationToken cancellationToken);

    /// <summary>
    /// Erasure: deletes the profile, its identities and events, and adds the suppression rows. Message ids stay (they
    /// carry no personal data) so a replay is still recognised as a duplicate.
    /// </summary>
    Task<ErasureCounts> EraseProfileAsync(long workspaceId, long profileId, IReadOnlyCollection<SuppressionRow> suppressions, CancellationToken cancellationToken);

    Task CommitAsync(CancellationToken cancellationToken);
}

/// <summary>A write lost a race with another writer; the caller rolls back and retries the batch.</summary>
public sealed class ConcurrencyConflictException(string message) : Exception(message);

/// <summary>A unique name (workspace) is already taken.</summary>
public sealed class DuplicateNameException(string message) : Exception(message);
