namespace Chuda.Storage;

public abstract partial class DelegatingStore
{
    public virtual Task AddConsoleSessionAsync(ConsoleSession session, CancellationToken cancellationToken) => Inner.AddConsoleSessionAsync(session, cancellationToken);
    public virtual Task<ConsoleSession?> FindConsoleSessionAsync(string tokenHash, CancellationToken cancellationToken) => Inner.FindConsoleSessionAsync(tokenHash, cancellationToken);
    public virtual Task<bool> TouchConsoleSessionAsync(string tokenHash, DateTimeOffset lastSeenAt, DateTimeOffset expiresAt, CancellationToken cancellationToken) => Inner.TouchConsoleSessionAsync(tokenHash, lastSeenAt, expiresAt, cancellationToken);
    public virtual Task<bool> DeleteConsoleSessionAsync(string tokenHash, CancellationToken cancellationToken) => Inner.DeleteConsoleSessionAsync(tokenHash, cancellationToken);
    public virtual Task<int> DeleteExpiredConsoleSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken) => Inner.DeleteExpiredConsoleSessionsAsync(now, cancellationToken);
    public virtual Task<DashboardCounts> GetDashboardCountsAsync(long workspaceId, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket, CancellationToken cancellationToken) => Inner.GetDashboardCountsAsync(workspaceId, from, to, bucket, cancellationToken);
    public virtual Task<IReadOnlyList<ProfileSearchHit>> SearchProfilesAsync(long workspaceId, string? prefix, int limit, CancellationToken cancellationToken) => Inner.SearchProfilesAsync(workspaceId, prefix, limit, cancellationToken);
}
