using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Chuda.Domain.Profiles;
using Chuda.Storage;

namespace Chuda.Bench;

/// <summary>
/// <c>inproc --breakdown</c>: a decorator that times every store call the engine makes, so a run shows how a
/// partition's time splits between the store (per call) and the engine's own work (parse/resolve/merge, the rest).
/// </summary>
public sealed class TimedStore(IChudaStore inner) : DelegatingStore(inner)
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

    public override async Task<IProfileTransaction> BeginAsync(CancellationToken cancellationToken) =>
        new TimedTransaction(this, await Time("BeginAsync (incl. gate wait)", 1, () => Inner.BeginAsync(cancellationToken)));

    private sealed class TimedTransaction(TimedStore s, IProfileTransaction tx) : DelegatingProfileTransaction(tx)
    {
        public override Task<IReadOnlySet<string>> FindExistingMessageIdsAsync(long workspaceId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken) =>
            s.Time("FindExistingMessageIds", messageIds.Count, () => Inner.FindExistingMessageIdsAsync(workspaceId, messageIds, cancellationToken));
        public override Task<IReadOnlyDictionary<IdentityKey, long>> ResolveAsync(long workspaceId, IReadOnlyCollection<IdentityKey> keys, CancellationToken cancellationToken) =>
            s.Time("Resolve", keys.Count, () => Inner.ResolveAsync(workspaceId, keys, cancellationToken));
        public override Task<IReadOnlyDictionary<long, ProfileRecord>> LoadProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) =>
            s.Time("LoadProfiles", profileIds.Count, () => Inner.LoadProfilesAsync(workspaceId, profileIds, cancellationToken));
        public override Task<long> ReserveProfileIdsAsync(int count, CancellationToken cancellationToken) =>
            s.Time("ReserveProfileIds", count, () => Inner.ReserveProfileIdsAsync(count, cancellationToken));
        public override Task UpsertProfilesAsync(IReadOnlyCollection<ProfileRecord> profiles, CancellationToken cancellationToken) =>
            s.Time("UpsertProfiles", profiles.Count, () => Inner.UpsertProfilesAsync(profiles, cancellationToken));
        public override Task PutIdentitiesAsync(IReadOnlyCollection<IdentityRow> identities, CancellationToken cancellationToken) =>
            s.Time("PutIdentities", identities.Count, () => Inner.PutIdentitiesAsync(identities, cancellationToken));
        public override Task AppendEventsAsync(IReadOnlyCollection<EventRow> events, CancellationToken cancellationToken) =>
            s.Time("AppendEvents", events.Count, () => Inner.AppendEventsAsync(events, cancellationToken));
        public override Task MergeProfilesAsync(long workspaceId, long fromProfileId, long expectedFromVersion, long intoProfileId, CancellationToken cancellationToken) =>
            s.Time("MergeProfiles", 1, () => Inner.MergeProfilesAsync(workspaceId, fromProfileId, expectedFromVersion, intoProfileId, cancellationToken));
        public override Task<IReadOnlySet<string>> FindSuppressionsAsync(long workspaceId, IReadOnlyCollection<string> hashes, CancellationToken cancellationToken) =>
            s.Time("FindSuppressions", hashes.Count, () => Inner.FindSuppressionsAsync(workspaceId, hashes, cancellationToken));
        public override Task<ErasureCounts> EraseProfileAsync(long workspaceId, long profileId, IReadOnlyCollection<SuppressionRow> suppressions, CancellationToken cancellationToken) =>
            s.Time("EraseProfile", 1, () => Inner.EraseProfileAsync(workspaceId, profileId, suppressions, cancellationToken));
        public override Task CommitAsync(CancellationToken cancellationToken) => s.Time("Commit", 1, () => Inner.CommitAsync(cancellationToken));
    }
}
