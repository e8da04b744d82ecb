using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Chuda.Domain.Profiles;
using Chuda.Domain.Workspaces;
using Chuda.Storage;

namespace Chuda.Bench;

/// <summary>
/// <c>inproc --breakdown</c>: a decorator that times every store call the engine makes, so a run shows how a
/// partition's time splits between the store (per call) and the engine's own work (parse/resolve/merge, the rest).
/// </summary>
public sealed class TimedStore(IChudaStore inner) : IChudaStore
{
    private readonly ConcurrentDictionary<string, (long Calls, long Ticks, long Items)> _stats = new(StringComparer.Ordinal);

    internal async Task<T> Time<T>(string name, int items, Func<Task<T>> call)
    {
        var t0 = Stopwatch.GetTimestamp();
        try
        {
            return await call();
        }
        finally
        {
            var ticks = Stopwatch.GetTimestamp() - t0;
            _stats.AddOrUpdate(name, (1, ticks, items), (_, s) => (s.Calls + 1, s.Ticks + ticks, s.Items + items));
        }
    }

    internal Task Time(string name, int items, Func<Task> call) => Time(name, items, async () =>
    {
        await call();
        return 0;
    });

    public string Describe(TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"  store-call breakdown over {elapsed.TotalSeconds:0.0} s wall (sum of call durations; one writer partition on SQLite):");
        foreach (var (name, s) in _stats.OrderByDescending(kv => kv.Value.Ticks))
        {
            var seconds = s.Ticks / (double)Stopwatch.Frequency;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"    {name,-28} {seconds,8:0.00} s ({100 * seconds / elapsed.TotalSeconds,5:0.0}% of wall)  calls={s.Calls,7}  items={s.Items,9}  {1e6 * seconds / Math.Max(1, s.Items),8:0.0} µs/item");
        }
        return sb.ToString();
    }

    public string Kind => inner.Kind;
    public int MaxWriterPartitions => inner.MaxWriterPartitions;
    public Task MigrateAsync(CancellationToken cancellationToken) => inner.MigrateAsync(cancellationToken);
    public Task<IReadOnlyList<int>> GetAppliedMigrationsAsync(CancellationToken cancellationToken) => inner.GetAppliedMigrationsAsync(cancellationToken);
    public Task<Workspace> CreateWorkspaceAsync(string name, string salt, DateTimeOffset createdAt, CancellationToken cancellationToken) => inner.CreateWorkspaceAsync(name, salt, createdAt, cancellationToken);
    public Task<Workspace?> FindWorkspaceAsync(string name, CancellationToken cancellationToken) => inner.FindWorkspaceAsync(name, cancellationToken);
    public Task<Workspace?> GetWorkspaceAsync(long id, CancellationToken cancellationToken) => inner.GetWorkspaceAsync(id, cancellationToken);
    public Task<IReadOnlyList<Workspace>> ListWorkspacesAsync(CancellationToken cancellationToken) => inner.ListWorkspacesAsync(cancellationToken);
    public Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken) => inner.AddApiKeyAsync(key, cancellationToken);
    public Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancellationToken) => inner.FindApiKeyAsync(hash, cancellationToken);
    public Task<int> RevokeApiKeysAsync(long workspaceId, ApiKeyKind kind, DateTimeOffset revokedAt, CancellationToken cancellationToken) => inner.RevokeApiKeysAsync(workspaceId, kind, revokedAt, cancellationToken);
    public async Task<IProfileTransaction> BeginAsync(CancellationToken cancellationToken) =>
        new TimedTransaction(this, await Time("BeginAsync (incl. gate wait)", 1, () => inner.BeginAsync(cancellationToken)));
    public Task<ProfileRecord?> GetProfileAsync(long workspaceId, long profileId, CancellationToken cancellationToken) => inner.GetProfileAsync(workspaceId, profileId, cancellationToken);
    public Task<long?> FindProfileIdAsync(long workspaceId, IdentityKey identity, CancellationToken cancellationToken) => inner.FindProfileIdAsync(workspaceId, identity, cancellationToken);
    public Task<IReadOnlyList<IdentityKey>> GetIdentitiesAsync(long workspaceId, long profileId, CancellationToken cancellationToken) => inner.GetIdentitiesAsync(workspaceId, profileId, cancellationToken);
    public Task<IReadOnlyList<EventRow>> GetEventsAsync(long workspaceId, long profileId, int limit, EventCursor? before, CancellationToken cancellationToken) => inner.GetEventsAsync(workspaceId, profileId, limit, before, cancellationToken);
    public Task<(long Profiles, long Events)> CountAsync(long workspaceId, CancellationToken cancellationToken) => inner.CountAsync(workspaceId, cancellationToken);
    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private sealed class TimedTransaction(TimedStore s, IProfileTransaction tx) : IProfileTransaction
    {
        public Task<IReadOnlySet<string>> FindExistingMessageIdsAsync(long workspaceId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken) =>
            s.Time("FindExistingMessageIds", messageIds.Count, () => tx.FindExistingMessageIdsAsync(workspaceId, messageIds, cancellationToken));
        public Task<IReadOnlyDictionary<IdentityKey, long>> ResolveAsync(long workspaceId, IReadOnlyCollection<IdentityKey> keys, CancellationToken cancellationToken) =>
            s.Time("Resolve", keys.Count, () => tx.ResolveAsync(workspaceId, keys, cancellationToken));
        public Task<IReadOnlyDictionary<long, ProfileRecord>> LoadProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) =>
            s.Time("LoadProfiles", profileIds.Count, () => tx.LoadProfilesAsync(workspaceId, profileIds, cancellationToken));
        public Task<long> ReserveProfileIdsAsync(int count, CancellationToken cancellationToken) =>
            s.Time("ReserveProfileIds", count, () => tx.ReserveProfileIdsAsync(count, cancellationToken));
        public Task UpsertProfilesAsync(IReadOnlyCollection<ProfileRecord> profiles, CancellationToken cancellationToken) =>
            s.Time("UpsertProfiles", profiles.Count, () => tx.UpsertProfilesAsync(profiles, cancellationToken));
        public Task PutIdentitiesAsync(IReadOnlyCollection<IdentityRow> identities, CancellationToken cancellationToken) =>
            s.Time("PutIdentities", identities.Count, () => tx.PutIdentitiesAsync(identities, cancellationToken));
        public Task AppendEventsAsync(IReadOnlyCollection<EventRow> events, CancellationToken cancellationToken) =>
            s.Time("AppendEvents", events.Count, () => tx.AppendEventsAsync(events, cancellationToken));
        public Task MergeProfilesAsync(long workspaceId, long fromProfileId, long expectedFromVersion, long intoProfileId, CancellationToken cancellationToken) =>
            s.Time("MergeProfiles", 1, () => tx.MergeProfilesAsync(workspaceId, fromProfileId, expectedFromVersion, intoProfileId, cancellationToken));
        public Task<IReadOnlySet<string>> FindSuppressionsAsync(long workspaceId, IReadOnlyCollection<string> hashes, CancellationToken cancellationToken) =>
            s.Time("FindSuppressions", hashes.Count, () => tx.FindSuppressionsAsync(workspaceId, hashes, cancellationToken));
        public Task<ErasureCounts> EraseProfileAsync(long workspaceId, long profileId, IReadOnlyCollection<SuppressionRow> suppressions, CancellationToken cancellationToken) =>
            s.Time("EraseProfile", 1, () => tx.EraseProfileAsync(workspaceId, profileId, suppressions, cancellationToken));
        public Task CommitAsync(CancellationToken cancellationToken) => s.Time("Commit", 1, () => tx.CommitAsync(cancellationToken));
        public ValueTask DisposeAsync() => tx.DisposeAsync();
    }
}
