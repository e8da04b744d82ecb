using Chuda.Domain.Profiles;

namespace Chuda.Engine.Profiles;

/// <summary>
/// A partition's bounded cache of committed state: which profile an identity points at, and profile records.
/// Only the partition's own thread uses it, and it is written only after a commit, so on a single-writer store it is
/// exact. Anything another writer may have changed is caught before it can do harm: a cached identity whose profile
/// no longer exists is re-resolved from the store, and a stale profile version fails the store's version check, after
/// which the cache is cleared and the batch retried. Push tokens are never cached (they move between profiles).
/// <para>
/// Two generations bound memory: lookups promote entries from the old generation to the new; when the new one is
/// full it becomes the old one and the previous old one is dropped. At most 2 × capacity entries per kind.
/// </para>
/// </summary>
public sealed class PartitionCache(int identityCapacity, int profileCapacity, int historyCapacity = 0)
{
    private readonly Generations<(long Ws, IdentityKey Key), long> _identities = new(identityCapacity);
    private readonly Generations<(long Ws, long Id), ProfileRecord> _profiles = new(profileCapacity);
    private readonly Generations<(long Ws, long Id), CachedHistory> _histories = new(historyCapacity);

    public bool TryGetIdentity(long ws, IdentityKey key, out long profileId) => _identities.TryGet((ws, key), out profileId);

    public void SetIdentity(long ws, IdentityKey key, long profileId)
    {
        if (!key.Kind.StartsWith(IdentityKinds.PushPrefix, StringComparison.Ordinal)) _identities.Set((ws, key), profileId);
    }

    public void RemoveIdentity(long ws, IdentityKey key) => _identities.Remove((ws, key));

    public bool TryGetProfile(long ws, long id, out ProfileRecord record) => _profiles.TryGet((ws, id), out record!);

    public void SetProfile(ProfileRecord record) => _profiles.Set((record.WorkspaceId, record.Id), record);

    public void RemoveProfile(long ws, long id)
    {
        _profiles.Remove((ws, id));
        _histories.Remove((ws, id));
    }

    /// <summary>The segment-relevant event history of a profile as of a committed profile version (see <see cref="CachedHistory"/>).</summary>
    public bool TryGetHistory(long ws, long id, out CachedHistory history) => _histories.TryGet((ws, id), out history!);

    public void SetHistory(long ws, long id, CachedHistory history) => _histories.Set((ws, id), history);

    public void Clear()
    {
        _identities.Clear();
        _profiles.Clear();
        _histories.Clear();
    }

    private sealed class Generations<TKey, TValue>(int capacity) where TKey : notnull
    {
        private Dictionary<TKey, TValue> _new = [];
        private Dictionary<TKey, TValue> _old = [];

        public bool TryGet(TKey key, out TValue value)
        {
            if (capacity == 0)
            {
                value = default!;
                return false;
            }
            if (_new.TryGetValue(key, out value!)) return true;
            if (!_old.Remove(key, out value!)) return false;
            Set(key, value);
            return true;
        }

        public void Set(TKey key, TValue value)
        {
            if (capacity == 0) return;
            _new[key] = value;
            _old.Remove(key);
            if (_new.Count >= capacity)
            {
                _old = _new;
                _new = [];
            }
        }

        public void Remove(TKey key)
        {
            _new.Remove(key);
            _old.Remove(key);
        }

        public void Clear()
        {
            _new = [];
            _old = [];
        }
    }
}

/// <summary>
/// The events of a profile that segments read, as facts, valid for exactly one committed profile version: every
/// appended event bumps the profile's version, so a version match means no event is missing. <see cref="Names"/> is
/// the event-name set of the workspace's segments it was loaded for, and <see cref="PropertyNames"/> the names whose
/// properties were parsed (when segments change to read other events or properties, the entry is reloaded).
/// </summary>
public sealed record CachedHistory(long Version, IReadOnlySet<string> Names, IReadOnlySet<string> PropertyNames, Chuda.Domain.Segments.EventFact[] Facts);
