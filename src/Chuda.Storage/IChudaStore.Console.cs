namespace Chuda.Storage;

/// <summary>
/// A console sign-in session. The cookie token itself is never stored: only its SHA-256 hash (lower-case hex).
/// </summary>
/// <param name="KeyHash">Hash of the admin key the session was opened with; when that key is revoked the session is dead.</param>
/// <param name="ExpiresAt">The effective expiry: the earlier of the idle deadline and the absolute one.</param>
public sealed record ConsoleSession(string TokenHash, long WorkspaceId, string KeyHash, string CsrfToken, DateTimeOffset CreatedAt,
    DateTimeOffset LastSeenAt, DateTimeOffset ExpiresAt);

/// <summary>A count in one time bucket starting at <paramref name="Start"/>.</summary>
public sealed record TimeBucketCount(DateTimeOffset Start, long Count);

/// <summary>Messages created in one bucket, by channel (null when none was chosen) and current status.</summary>
public sealed record MessageBucketCount(DateTimeOffset Start, string? Channel, string Status, long Count);

/// <summary>What the console's dashboard charts: only non-empty buckets, ascending (messages then by channel and status).</summary>
public sealed record DashboardCounts(IReadOnlyList<TimeBucketCount> Events, IReadOnlyList<MessageBucketCount> Messages,
    IReadOnlyList<TimeBucketCount> Conversions);

/// <summary>One profile found by <see cref="IChudaStore.SearchProfilesAsync"/>, with its smallest e-mail and phone identity.</summary>
public sealed record ProfileSearchHit(long ProfileId, string? UserId, string? Email, string? Phone, string TraitsJson, DateTimeOffset LastSeen);

/// <summary>The operator console: sign-in sessions, dashboard counts and profile search.</summary>
public partial interface IChudaStore
{
    // ---- console sessions ---------------------------------------------------------------------

    /// <summary>Stores a new session. Throws <see cref="DuplicateNameException"/> when one with that token hash exists.</summary>
    Task AddConsoleSessionAsync(ConsoleSession session, CancellationToken cancellationToken);

    /// <summary>The session with this token hash, expired or not; null when unknown.</summary>
    Task<ConsoleSession?> FindConsoleSessionAsync(string tokenHash, CancellationToken cancellationToken);

    /// <summary>Records activity: sets last-seen and expiry. False when the session no longer exists.</summary>
    Task<bool> TouchConsoleSessionAsync(string tokenHash, DateTimeOffset lastSeenAt, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Deletes a session; false when it did not exist.</summary>
    Task<bool> DeleteConsoleSessionAsync(string tokenHash, CancellationToken cancellationToken);

    /// <summary>Deletes every session whose expiry is at or before <paramref name="now"/>; returns how many.</summary>
    Task<int> DeleteExpiredConsoleSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    // ---- dashboard and search -----------------------------------------------------------------

    /// <summary>
    /// Counts per bucket of <paramref name="bucket"/> length starting at <paramref name="from"/>, for rows with
    /// <c>from ≤ time &lt; to</c>: events by receive time, messages by creation time (grouped by channel and current status),
    /// journey goal conversions by their time. Computed by the database (GROUP BY), not by loading rows. Instants are taken at
    /// the stored (millisecond) precision; <paramref name="bucket"/> is whole milliseconds, at least one (else
    /// <see cref="ArgumentOutOfRangeException"/>).
    /// </summary>
    Task<DashboardCounts> GetDashboardCountsAsync(long workspaceId, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket, CancellationToken cancellationToken);

    /// <summary>
    /// Profiles whose user id, e-mail (compared lower-cased, as stored) or phone starts with <paramref name="prefix"/> (ordinal;
    /// for a prefix of digits, phones starting with <c>+</c> and those digits match too), or every profile when the prefix is null
    /// or empty; newest last-seen first (then id descending), at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<ProfileSearchHit>> SearchProfilesAsync(long workspaceId, string? prefix, int limit, CancellationToken cancellationToken);
}
