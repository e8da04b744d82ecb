using System.Security.Cryptography;
using System.Text;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Domain.Workspaces;
using System.Text.Json;
using Chuda.Domain.Journeys;
using Chuda.Engine.Journeys;
using Chuda.Engine.Segments;
using Chuda.Storage;

namespace Chuda.Engine.Profiles;

/// <summary>
/// Applies one batch of <see cref="ProfileCommand"/>s in a single store transaction: de-duplicates message ids,
/// resolves identities, merges anonymous history into known profiles, updates traits, tags and identities and
/// appends the events. Runs on exactly one partition's thread, so it needs no locks; the store's version checks
/// catch the rare cross-partition race (a merge of a profile homed elsewhere) and the caller retries.
/// </summary>
/// <remarks>With a <see cref="SegmentCatalog"/>, the same transaction also re-evaluates the segments each change can
/// affect (see <see cref="SegmentStage"/>), so membership commits atomically with the change that caused it.</remarks>
public sealed class ProfileBatchProcessor(
    IChudaStore store,
    Func<long, CancellationToken, ValueTask<Workspace>> workspaces,
    SegmentCatalog? segments = null,
    TimeProvider? time = null,
    int segmentHistoryMaxEvents = 500,
    JourneyCatalog? journeys = null,
    JourneyOptions? journeyOptions = null)
{
    private readonly JourneyOptions _journeyOptions = journeyOptions ?? new JourneyOptions();

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private const int IdBlock = 256;

    /// <summary>
    /// Applies <paramref name="commands"/> (none of them an <see cref="EraseProfile"/>) and commits.
    /// Returns one outcome per command; <see cref="Forward"/> means the command belongs to another partition
    /// and was not applied here.
    /// </summary>
    /// <remarks>The caller clears <paramref name="cache"/> when this throws.</remarks>
    public async Task<CommandOutcome[]> ApplyAsync(
        IReadOnlyList<ProfileCommand> commands, int partition, int partitionCount, PartitionCache cache, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var batch = new Batch(tx, partition, partitionCount, cache, segments, _time.GetUtcNow(), segmentHistoryMaxEvents, journeys, _journeyOptions);
        await batch.LoadAsync(commands, workspaces, cancellationToken);

        var outcomes = new CommandOutcome[commands.Count];
        for (var i = 0; i < commands.Count; i++)
        {
            outcomes[i] = commands[i] switch
            {
                IngestMessage m => await batch.ApplyMessageAsync(m, cancellationToken),
                ChangeTags t => batch.ApplyTags(t),
                PatchTraits p => batch.ApplyTraits(p),
                RecheckSegments r => batch.ApplyRecheck(r),
                FireJourneyTimer f => batch.ApplyTimer(f),
                EnterJourney e => batch.ApplyEntry(e),
                PartitionBarrier => CommandOutcome.Applied,
                EraseProfile => throw new ArgumentException("Erasures run in a transaction of their own.", nameof(commands)),
                _ => throw new ArgumentException($"Unknown command {commands[i].GetType().Name}.", nameof(commands)),
            };
        }

        await batch.WriteAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        batch.Committed();
        if (batch.EarliestCheck is { } due) segments?.OnCheckScheduled(due); // after the commit, so the scheduler can see the row
        if (batch.EarliestTimer is { } timer) journeys?.OnTimerScheduled(timer);
        if (batch.QueuedWebhooks) journeys?.OnWebhooksQueued();
        if (batch.EarliestMessage is { } message) journeys?.OnMessagesQueued(message);
        return outcomes;
    }

    /// <summary>Erases one profile in a transaction of its own.</summary>
    public async Task<CommandOutcome> EraseAsync(EraseProfile command, int partition, int partitionCount, PartitionCache cache, CancellationToken cancellationToken)
    {
        var ws = command.WorkspaceId;
        await using var tx = await store.BeginAsync(cancellationToken);
        var resolved = await tx.ResolveAsync(ws, [command.Target], cancellationToken);
        if (!resolved.TryGetValue(command.Target, out var profileId)) return CommandOutcome.NotFound;
        var loaded = await tx.LoadProfilesAsync(ws, [profileId], cancellationToken);
        if (!loaded.TryGetValue(profileId, out var profile)) return CommandOutcome.NotFound;
        if (partitionCount > 1 && StableHash.Partition(profile.RoutingHash, partitionCount) != partition)
            return new Forward(StableHash.Partition(profile.RoutingHash, partitionCount));

        var contactPoints = new HashSet<IdentityKey>();
        foreach (var key in await store.GetIdentitiesAsync(ws, profileId, cancellationToken))
        {
            if (IdentityKinds.IsContactPoint(key.Kind)) contactPoints.Add(key);
        }
        foreach (var key in Traits.ContactPoints(profile.TraitsJson)) contactPoints.Add(key);

        var suppressions = contactPoints
            .Select(k => new SuppressionRow(ws, k.Kind, SuppressionHash(command.WorkspaceSalt, k), "erased", command.At))
            .DistinctBy(s => s.Hash)
            .ToList();
        var counts = await tx.EraseProfileAsync(ws, profileId, suppressions, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        // Cached identities of the erased profile now point at nothing: the next batch that meets one re-resolves it.
        cache.RemoveProfile(ws, profileId);
        return new Erased(counts);
    }

    /// <summary>Salted SHA-256 of a normalised contact point, as kept on the suppression list.</summary>
    public static string SuppressionHash(string salt, IdentityKey key)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes($"{salt}|{key.Kind}|{key.Value}"));
        return Convert.ToHexStringLower(bytes);
    }

    private sealed class ProfileState(ProfileRecord record, bool isNew)
    {
        public long Id => Record.Id;
        public ProfileRecord Record { get; set; } = record;
        public bool IsNew { get; } = isNew;
        public long LoadedVersion { get; } = isNew ? 0 : record.Version;
        public bool Dirty { get; set; } = isNew;
        public bool MergedAway { get; set; }
    }

    private sealed class Batch(IProfileTransaction tx, int partition, int partitionCount, PartitionCache cache, SegmentCatalog? segments,
        DateTimeOffset now, int historyMaxEvents, JourneyCatalog? journeys, JourneyOptions journeyOptions) : IBatchProfiles
    {
        private readonly Dictionary<long, JourneyInput> _journeyInputs = [];
        private readonly List<SegmentChange> _segmentChanges = [];
        private readonly HashSet<(long Ws, long Id)> _journeyUpdated = [];
        private bool _mergesEvaluated;
        private readonly HashSet<(long Ws, long Id)> _zoneChanged = [];

        /// <summary>The earliest journey timer this batch set.</summary>
        public DateTimeOffset? EarliestTimer { get; private set; }

        public bool QueuedWebhooks { get; private set; }

        /// <summary>The earliest due time of the messages journeys queued in this batch.</summary>
        public DateTimeOffset? EarliestMessage { get; private set; }

        private JourneyInput JourneyInputFor(long ws)
        {
            if (!_journeyInputs.TryGetValue(ws, out var input)) _journeyInputs[ws] = input = new JourneyInput();
            return input;
        }

        private readonly List<(long Ws, long Id, WorkspaceSegments Segments, EventFact[] Facts)> _histories = [];
        private readonly Dictionary<(long Ws, long Id), SegmentTouch> _touches = [];
        private readonly Dictionary<(long Ws, long Id), long[]> _mergedMemberships = [];

        /// <summary>The earliest re-check this batch scheduled.</summary>
        public DateTimeOffset? EarliestCheck { get; private set; }
        private readonly Dictionary<(long Ws, IdentityKey Key), long> _identities = [];
        private readonly Dictionary<(long Ws, long Id), ProfileState> _profiles = [];
        private readonly Dictionary<(long Ws, long Id), long> _redirects = [];
        private readonly Dictionary<(long Ws, IdentityKey Key), IdentityRow> _pendingIdentities = [];
        private readonly List<EventRow> _events = [];
        private readonly List<(long Ws, long From, long FromVersion, long Into)> _merges = [];
        private readonly Dictionary<long, HashSet<string>> _existingMessageIds = [];
        private readonly HashSet<(long Ws, string MessageId)> _batchMessageIds = [];
        private readonly Dictionary<long, HashSet<string>> _suppressed = [];
        private readonly Dictionary<long, string> _salts = [];
        private readonly Dictionary<(long Ws, IdentityKey Key), long> _fromCache = [];
        private long _nextId;
        private long _idsLeft;

        public async Task LoadAsync(IReadOnlyList<ProfileCommand> commands, Func<long, CancellationToken, ValueTask<Workspace>> workspaces, CancellationToken ct)
        {
            foreach (var group in commands.GroupBy(c => c.WorkspaceId))
            {
                var ws = group.Key;
                var workspace = await workspaces(ws, ct);
                _salts[ws] = workspace.Salt;
                var messageIds = new List<string>();
                var keys = new HashSet<IdentityKey>();
                var hashes = new HashSet<string>();
                var byId = new HashSet<long>();
                foreach (var command in group)
                {
                    switch (command)
                    {
                        case IngestMessage { Message: var m }:
                            messageIds.Add(m.MessageId);
                            if (m.UserId is not null) keys.Add(new(IdentityKinds.UserId, m.UserId));
                            if (m.AnonymousId is not null) keys.Add(new(IdentityKinds.AnonymousId, m.AnonymousId));
                            if (m.PreviousId is not null)
                            {
                                keys.Add(new(IdentityKinds.UserId, m.PreviousId));
                                keys.Add(new(IdentityKinds.AnonymousId, m.PreviousId));
                            }
                            foreach (var key in m.Identities) keys.Add(key);
                            break;
                        case ProfileEdit edit:
                            keys.Add(edit.Target);
                            break;
                        case RecheckSegments recheck:
                            byId.Add(recheck.ProfileId);
                            break;
                        case FireJourneyTimer:
                            break; // the journey stage loads the profile only if the steps it runs read it
                        case EnterJourney { Target: { } target }:
                            keys.Add(target);
                            break;
                        case EnterJourney { ProfileId: { } pid }:
                            byId.Add(pid);
                            break;
                    }
                }
                if (byId.Count > 0) await LoadProfilesByIdAsync(ws, byId, ct);

                _existingMessageIds[ws] = messageIds.Count == 0
                    ? []
                    : [.. await tx.FindExistingMessageIdsAsync(ws, messageIds, ct)];
                await ResolveAsync(ws, keys, ct);

                // Only contact points that no profile holds yet can be ones an erasure suppressed (erasure deletes
                // the identities it suppresses); one held by a suppressed profile is handled in Apply.
                foreach (var key in keys)
                {
                    if (IdentityKinds.IsContactPoint(key.Kind) && !_identities.ContainsKey((ws, key)))
                        hashes.Add(SuppressionHash(workspace.Salt, key));
                }
                _suppressed[ws] = hashes.Count == 0 ? [] : [.. await tx.FindSuppressionsAsync(ws, hashes, ct)];
            }
        }

        /// <summary>Identities and their profiles: from the partition cache where it has them, else from the store.</summary>
        private async Task ResolveAsync(long ws, HashSet<IdentityKey> keys, CancellationToken ct)
        {
            var fromStore = new List<IdentityKey>();
            var cachedKeys = new List<IdentityKey>();
            foreach (var key in keys)
            {
                if (cache.TryGetIdentity(ws, key, out var id))
                {
                    _identities[(ws, key)] = id;
                    _fromCache[(ws, key)] = id;
                    cachedKeys.Add(key);
                }
                else
                {
                    fromStore.Add(key);
                }
            }
            if (fromStore.Count > 0)
            {
                foreach (var (key, id) in await tx.ResolveAsync(ws, fromStore, ct)) _identities[(ws, key)] = id;
            }
            var missing = await LoadProfilesAsync(ws, keys, ct);
            if (missing.Count == 0) return;

            // A cached identity pointed at a profile that is gone (merged away or erased by another writer): ask the store.
            var stale = cachedKeys.Where(k => missing.Contains(_identities[(ws, k)])).ToList();
            foreach (var key in stale)
            {
                _identities.Remove((ws, key));
                _fromCache.Remove((ws, key));
                cache.RemoveIdentity(ws, key);
            }
            if (stale.Count == 0) return;
            foreach (var (key, id) in await tx.ResolveAsync(ws, stale, ct)) _identities[(ws, key)] = id;
            await LoadProfilesAsync(ws, stale, ct);
        }

        private async Task LoadProfilesByIdAsync(long ws, HashSet<long> ids, CancellationToken ct)
        {
            var wanted = new List<long>();
            foreach (var id in ids)
            {
                if (_profiles.ContainsKey((ws, id))) continue;
                if (cache.TryGetProfile(ws, id, out var record)) _profiles[(ws, id)] = new ProfileState(record, isNew: false);
                else wanted.Add(id);
            }
            if (wanted.Count == 0) return;
            foreach (var (id, record) in await tx.LoadProfilesAsync(ws, wanted, ct)) _profiles[(ws, id)] = new ProfileState(record, isNew: false);
        }

        /// <summary>Loads the profiles the given keys resolved to; returns the ids that do not exist.</summary>
        private async Task<HashSet<long>> LoadProfilesAsync(long ws, IEnumerable<IdentityKey> keys, CancellationToken ct)
        {
            var wanted = new HashSet<long>();
            foreach (var key in keys)
            {
                if (!_identities.TryGetValue((ws, key), out var id) || _profiles.ContainsKey((ws, id))) continue;
                if (cache.TryGetProfile(ws, id, out var record)) _profiles[(ws, id)] = new ProfileState(record, isNew: false);
                else wanted.Add(id);
            }
            if (wanted.Count == 0) return wanted;
            foreach (var (id, record) in await tx.LoadProfilesAsync(ws, wanted.ToList(), ct))
            {
                _profiles[(ws, id)] = new ProfileState(record, isNew: false);
                wanted.Remove(id);
            }
            return wanted;
        }

        /// <summary>
        /// Optimistic read validation. A cached identity whose profile this batch writes is covered by the store's
        /// version check; one it only read (the first owner of a shared e-mail, a suppressed owner) is re-read here, and
        /// if another writer moved or erased it meanwhile the batch is retried on fresh state.
        /// </summary>
        private async Task ValidateCachedReadsAsync(CancellationToken ct)
        {
            foreach (var group in _fromCache.Where(IsOnlyRead).GroupBy(kv => kv.Key.Ws))
            {
                var keys = group.Select(kv => kv.Key.Key).ToList();
                var current = await tx.ResolveAsync(group.Key, keys, ct);
                foreach (var ((ws, key), cachedId) in group)
                {
                    if (!current.TryGetValue(key, out var id) || id != cachedId)
                        throw new ConcurrencyConflictException($"Identity {key} changed since this partition cached it.");
                }
            }
        }

        private bool IsOnlyRead(KeyValuePair<(long Ws, IdentityKey Key), long> entry)
        {
            var (ws, _) = entry.Key;
            if (!_profiles.TryGetValue((ws, entry.Value), out var state)) return true;
            return !state.Dirty && !state.MergedAway;
        }

        /// <summary>After the commit: what this batch read and wrote is now the committed state.</summary>
        public void Committed()
        {
            foreach (var (ws, from, _, _) in _merges) cache.RemoveProfile(ws, from);
            foreach (var state in _profiles.Values)
            {
                if (state.MergedAway) continue;
                cache.SetProfile(state.Dirty ? state.Record with { Version = state.LoadedVersion + 1 } : state.Record);
            }
            foreach (var ((ws, key), id) in _identities) cache.SetIdentity(ws, key, Resolve(ws, id));
            foreach (var (ws, id, snapshot, facts) in _histories)
            {
                if (!_profiles.TryGetValue((ws, id), out var state) || state.MergedAway) continue;
                cache.SetHistory(ws, id, new CachedHistory(state.Dirty ? state.LoadedVersion + 1 : state.LoadedVersion,
                    snapshot.EventNames, snapshot.PropertyEventNames, facts));
            }
        }

        public async ValueTask<CommandOutcome> ApplyMessageAsync(IngestMessage command, CancellationToken ct)
        {
            var ws = command.WorkspaceId;
            var m = command.Message;
            if (_existingMessageIds[ws].Contains(m.MessageId) || _batchMessageIds.Contains((ws, m.MessageId)))
                return CommandOutcome.Duplicate;

            var byUser = m.UserId is null ? null : Find(ws, new(IdentityKinds.UserId, m.UserId));
            var byAnonymous = m.AnonymousId is null ? null : Find(ws, new(IdentityKinds.AnonymousId, m.AnonymousId));

            // Commands for a profile that lives on another partition go there, unapplied.
            if (ForeignHome(byUser ?? byAnonymous) is { } home) return new Forward(home);

            ProfileState target;
            if (m.Type == MessageType.Alias)
            {
                target = await ApplyAliasAsync(ws, m, byUser, command.RoutingKey, ct);
            }
            else if (byUser is not null && byAnonymous is not null && byUser != byAnonymous)
            {
                // Anonymous history joins the known user. Two known users are never merged implicitly.
                if (byAnonymous.Record.UserId is null) Merge(ws, byAnonymous, byUser);
                target = byUser;
            }
            else if (byUser is not null)
            {
                target = byUser;
                if (m.AnonymousId is not null && byAnonymous is null) Claim(ws, new(IdentityKinds.AnonymousId, m.AnonymousId), target, move: false, m.ReceivedAt);
            }
            else if (byAnonymous is not null)
            {
                if (m.UserId is null)
                {
                    target = byAnonymous;
                }
                else if (byAnonymous.Record.UserId is null)
                {
                    target = byAnonymous;
                    target.Record = target.Record with { UserId = m.UserId };
                    Touch(ws, target).MarkAll(ChangeCauses.Identity); // the random-bucket key changed
                    Claim(ws, new(IdentityKinds.UserId, m.UserId), target, move: false, m.ReceivedAt);
                }
                else
                {
                    // A device's anonymous id that already belongs to another known user (shared device):
                    // the new user gets a profile of their own; the anonymous id stays where it is.
                    target = await CreateAsync(ws, command.RoutingKey, m.UserId, m, ct);
                }
            }
            else
            {
                target = await CreateAsync(ws, command.RoutingKey, m.UserId, m, ct);
                if (m.AnonymousId is not null) Claim(ws, new(IdentityKinds.AnonymousId, m.AnonymousId), target, move: false, m.ReceivedAt);
            }

            Apply(ws, target, m);
            _batchMessageIds.Add((ws, m.MessageId));
            return CommandOutcome.Applied;
        }

        private async ValueTask<ProfileState> ApplyAliasAsync(long ws, SegmentMessage m, ProfileState? byUser, string routingKey, CancellationToken ct)
        {
            var userId = m.UserId!;
            var previousId = m.PreviousId!;
            var previous = Find(ws, new(IdentityKinds.UserId, previousId)) ?? Find(ws, new(IdentityKinds.AnonymousId, previousId));
            if (previous is null)
            {
                var target = byUser ?? await CreateAsync(ws, routingKey, userId, m, ct);
                Claim(ws, new(IdentityKinds.AnonymousId, previousId), target, move: false, m.ReceivedAt);
                return target;
            }
            if (byUser is null)
            {
                if (previous.Record.UserId is null || previous.Record.UserId == previousId)
                {
                    previous.Record = previous.Record with { UserId = userId };
                    Touch(ws, previous).MarkAll(ChangeCauses.Identity);
                }
                Claim(ws, new(IdentityKinds.UserId, userId), previous, move: false, m.ReceivedAt);
                previous.Dirty = true;
                return previous;
            }
            if (previous != byUser) Merge(ws, previous, byUser); // an explicit alias merges even two known profiles
            return byUser;
        }

        public CommandOutcome ApplyTags(ChangeTags command)
        {
            if (Find(command.WorkspaceId, command.Target) is not { } profile) return CommandOutcome.NotFound;
            if (ForeignHome(profile) is { } home) return new Forward(home);
            var tags = new SortedSet<string>(profile.Record.Tags, StringComparer.Ordinal);
            foreach (var tag in command.Add) tags.Add(tag);
            foreach (var tag in command.Remove) tags.Remove(tag);
            profile.Record = profile.Record with { Tags = [.. tags] };
            profile.Dirty = true;
            var touch = Touch(command.WorkspaceId, profile);
            touch.Tags.UnionWith(command.Add);
            touch.Tags.UnionWith(command.Remove);
            return CommandOutcome.Applied;
        }

        public CommandOutcome ApplyTraits(PatchTraits command)
        {
            if (Find(command.WorkspaceId, command.Target) is not { } profile) return CommandOutcome.NotFound;
            if (ForeignHome(profile) is { } home) return new Forward(home);
            profile.Record = profile.Record with { TraitsJson = TraitMerge.Merge(profile.Record.TraitsJson, command.Traits) };
            profile.Dirty = true;
            Touch(command.WorkspaceId, profile).AddTraitKeys(command.Traits);
            return CommandOutcome.Applied;
        }

        public CommandOutcome ApplyRecheck(RecheckSegments command)
        {
            var ws = command.WorkspaceId;
            if (!_profiles.TryGetValue((ws, command.ProfileId), out var profile) || profile.MergedAway) return CommandOutcome.NotFound;
            if (ForeignHome(profile) is { } home) return new Forward(home);
            var touch = Touch(ws, profile);
            if (command.DueAt is { } due && (touch.TimeDue is not { } t || due < t)) touch.TimeDue = due;
            if (command.SegmentKeys is { } keys) touch.Backfill.UnionWith(keys);
            return CommandOutcome.Applied;
        }

        public CommandOutcome ApplyTimer(FireJourneyTimer command)
        {
            var ws = command.WorkspaceId;
            if (_profiles.TryGetValue((ws, command.ProfileId), out var profile) && profile.MergedAway) return CommandOutcome.NotFound;
            var home = partitionCount <= 1 ? partition : StableHash.Partition(command.RoutingHash, partitionCount);
            if (home != partition) return new Forward(home);
            JourneyInputFor(ws).Timers.Add(command);
            return CommandOutcome.Applied;
        }

        public CommandOutcome ApplyEntry(EnterJourney command)
        {
            var ws = command.WorkspaceId;
            ProfileState? profile = command.Target is { } target
                ? Find(ws, target)
                : _profiles.GetValueOrDefault((ws, command.ProfileId!.Value));
            if (profile is null || profile.MergedAway) return CommandOutcome.NotFound;
            if (ForeignHome(profile) is { } home) return new Forward(home);
            var outcome = new JourneyEntryOutcome();
            JourneyInputFor(ws).Entries.Add((command, profile.Id, outcome));
            return outcome;
        }

        public async Task EnsureLoadedAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken ct)
        {
            var missing = profileIds.Where(id => !_profiles.ContainsKey((workspaceId, Resolve(workspaceId, id)))).ToHashSet();
            if (missing.Count > 0) await LoadProfilesByIdAsync(workspaceId, missing, ct);
        }

        public ProfileRecord? Get(long workspaceId, long profileId) =>
            _profiles.TryGetValue((workspaceId, Resolve(workspaceId, profileId)), out var state) && !state.MergedAway ? state.Record : null;

        public void Update(long workspaceId, long profileId, UpdateProfileStep step)
        {
            if (!_profiles.TryGetValue((workspaceId, Resolve(workspaceId, profileId)), out var state) || state.MergedAway) return;
            var record = state.Record;
            var touch = Touch(workspaceId, state);
            if (step.SetJson is { } set)
            {
                using var doc = JsonDocument.Parse(set);
                record = record with { TraitsJson = TraitMerge.Merge(record.TraitsJson, doc.RootElement) };
                touch.AddTraitKeys(doc.RootElement);
            }
            foreach (var path in step.Unset)
            {
                using var doc = JsonDocument.Parse(UnsetPatch(path));
                record = record with { TraitsJson = TraitMerge.Merge(record.TraitsJson, doc.RootElement) };
                touch.AddTraitKeys(doc.RootElement);
            }
            if (step.AddTags.Count > 0 || step.RemoveTags.Count > 0)
            {
                var tags = new SortedSet<string>(record.Tags, StringComparer.Ordinal);
                foreach (var tag in step.AddTags) tags.Add(tag);
                foreach (var tag in step.RemoveTags) tags.Remove(tag);
                record = record with { Tags = [.. tags] };
                touch.Tags.UnionWith(step.AddTags);
                touch.Tags.UnionWith(step.RemoveTags);
            }
            state.Record = record;
            state.Dirty = true;
            _journeyUpdated.Add((workspaceId, state.Id));
        }

        /// <summary>A traits patch that sets the dotted path to null (TraitMerge unsets nulls).</summary>
        private static string UnsetPatch(string path)
        {
            var parts = path.Split('.');
            var sb = new System.Text.StringBuilder();
            foreach (var part in parts) sb.Append('{').Append(JsonSerializer.Serialize(part)).Append(':');
            sb.Append("null");
            sb.Append('}', parts.Length);
            return sb.ToString();
        }

        private SegmentTouch Touch(long ws, ProfileState profile)
        {
            if (!_touches.TryGetValue((ws, profile.Id), out var touch)) _touches[(ws, profile.Id)] = touch = new SegmentTouch();
            return touch;
        }

        public async Task WriteAsync(CancellationToken ct)
        {
            await ValidateCachedReadsAsync(ct);
            if (_pendingIdentities.Count > 0) await tx.PutIdentitiesAsync(_pendingIdentities.Values, ct);
            if (segments is not null)
            {
                // The merge deletes the merged profile's memberships: read them first, to record its exits.
                foreach (var group in _merges.GroupBy(m => m.Ws).Where(g => !segments.For(g.Key).IsEmpty))
                {
                    var states = await tx.LoadSegmentStateAsync(group.Key, [.. group.Select(m => m.From)], ct);
                    foreach (var (id, state) in states) _mergedMemberships[(group.Key, id)] = [.. state.Memberships.Keys];
                }
            }
            foreach (var (ws, from, fromVersion, into) in _merges)
                await tx.MergeProfilesAsync(ws, from, fromVersion, Resolve(ws, into), ct);
            if (_events.Count > 0)
            {
                for (var i = 0; i < _events.Count; i++)
                {
                    var e = _events[i];
                    var owner = Resolve(e.WorkspaceId, e.ProfileId);
                    if (owner != e.ProfileId) _events[i] = e with { ProfileId = owner };
                }
                await tx.AppendEventsAsync(_events, ct);
            }
            // Segments read the batch's events and merges (the transaction sees its own writes); a membership change
            // bumps the profile's version, so two writers can never both record it.
            if (segments is not null) await EvaluateSegmentsAsync(segments, ct);
            if (journeys is not null) await RunJourneysAsync(journeys, ct);
            var upserts = new List<ProfileRecord>();
            foreach (var state in _profiles.Values)
            {
                if (!state.Dirty || state.MergedAway) continue;
                upserts.Add(state.Record with { Version = state.LoadedVersion + 1 });
            }
            if (upserts.Count > 0) await tx.UpsertProfilesAsync(upserts, ct);
        }

        /// <summary>
        /// Journeys see the batch's events, the segment changes it caused, trait changes, due timers and entries. Profile
        /// updates made by journey steps are evaluated against segments in a further round (and their segment changes
        /// against journeys), at most <see cref="MaxJourneyRounds"/> rounds per batch.
        /// </summary>
        private async Task RunJourneysAsync(JourneyCatalog catalog, CancellationToken ct)
        {
            // Workspaces without journeys cost nothing here (ingestion stays as fast as before).
            if (_journeyInputs.Count == 0 && !_profiles.Keys.Select(k => k.Ws).Distinct().Any(ws => catalog.For(ws).HasJourneys)) return;
            foreach (var e in _events)
            {
                var input = JourneyInputFor(e.WorkspaceId);
                if (!input.Events.TryGetValue(e.ProfileId, out var list)) input.Events[e.ProfileId] = list = [];
                list.Add(e);
            }
            foreach (var c in _segmentChanges) JourneyInputFor(c.WorkspaceId).SegmentChanges.Add(c);
            foreach (var (ws, id) in _zoneChanged) JourneyInputFor(ws).ZoneChanged.Add(Resolve(ws, id));
            AddTraitKeys(_touches);
            for (var round = 0; round < MaxJourneyRounds && _journeyInputs.Count > 0; round++)
            {
                foreach (var (ws, input) in _journeyInputs)
                {
                    var snapshot = catalog.For(ws);
                    if (!snapshot.HasJourneys || input.IsEmpty) continue;
                    var stage = new JourneyStage(tx, ws, snapshot, segments?.For(ws) ?? WorkspaceSegments.Empty, this, now, partition,
                        journeyOptions.LateTolerance);
                    await stage.RunAsync(input, ct);
                    if (stage.EarliestTimer is { } t && (EarliestTimer is not { } e || t < e)) EarliestTimer = t;
                    QueuedWebhooks |= stage.QueuedWebhooks;
                    if (stage.EarliestMessage is { } m && (EarliestMessage is not { } em || m < em)) EarliestMessage = m;
                }
                _journeyInputs.Clear();
                if (_journeyUpdated.Count == 0 || segments is null) break;
                // Journey steps changed profiles: their segments, then journeys again with what that changed.
                var updated = _journeyUpdated.ToList();
                _journeyUpdated.Clear();
                var touches = updated.Where(k => _touches.ContainsKey(k)).ToDictionary(k => k, k => _touches[k]);
                _touches.Clear();
                _segmentChanges.Clear();
                foreach (var (k, t) in touches) _touches[k] = t;
                await EvaluateSegmentsAsync(segments, ct);
                foreach (var c in _segmentChanges) JourneyInputFor(c.WorkspaceId).SegmentChanges.Add(c);
                AddTraitKeys(touches);
            }
        }

        private const int MaxJourneyRounds = 3;

        private void AddTraitKeys(IReadOnlyDictionary<(long Ws, long Id), SegmentTouch> touches)
        {
            foreach (var ((ws, id), touch) in touches)
            {
                // Only date triggers and date waits read trait changes.
                var snapshot = journeys!.For(ws);
                if (snapshot.ByDateTrait.Count == 0 && snapshot.InstanceTraitKeys.Count == 0) continue;
                var survivor = Resolve(ws, id);
                if (!_profiles.TryGetValue((ws, survivor), out var state) || state.MergedAway) continue;
                HashSet<string> keys;
                if (touch.All)
                {
                    using var doc = JsonDocument.Parse(state.Record.TraitsJson);
                    keys = doc.RootElement.ValueKind == JsonValueKind.Object ? [.. doc.RootElement.EnumerateObject().Select(p => p.Name)] : [];
                }
                else
                {
                    keys = [.. touch.TraitKeys];
                }
                if (keys.Count == 0) continue;
                var input = JourneyInputFor(ws);
                if (!input.TraitKeys.TryGetValue(survivor, out var set)) input.TraitKeys[survivor] = set = new HashSet<string>(StringComparer.Ordinal);
                set.UnionWith(keys);
            }
        }

        private async Task EvaluateSegmentsAsync(SegmentCatalog catalog, CancellationToken ct)
        {
            // Merges are recorded once, in the first round (journey rounds only re-evaluate what journey steps changed).
            var merges = _mergesEvaluated ? [] : _merges;
            _mergesEvaluated = true;
            if (_touches.Count == 0 && merges.Count == 0) return;
            // Fold what happened to merged-away profiles into their survivors.
            var touched = new Dictionary<(long Ws, long Id), SegmentTouch>();
            foreach (var ((ws, id), touch) in _touches)
            {
                var survivor = Resolve(ws, id);
                if (!touched.TryGetValue((ws, survivor), out var into)) touched[(ws, survivor)] = into = new SegmentTouch();
                if (survivor != id) into.MarkAll(ChangeCauses.Merge);
                if (touch.All) into.MarkAll(touch.AllCause ?? ChangeCauses.Created);
                into.AbsorbMerged(touch);
            }
            foreach (var (ws, _, _, into) in merges)
            {
                var survivor = Resolve(ws, into);
                if (!touched.TryGetValue((ws, survivor), out var t)) touched[(ws, survivor)] = t = new SegmentTouch();
                t.MarkAll(ChangeCauses.Merge);
            }
            foreach (var group in touched.GroupBy(kv => kv.Key.Ws))
            {
                var ws = group.Key;
                var snapshot = catalog.For(ws);
                // Without segments, only a fired re-check has something to do (clear it): keep ingest free of the rest.
                if (snapshot.IsEmpty && group.All(t => t.Value.TimeDue is null)) continue;
                var profiles = new Dictionary<long, (ProfileRecord, SegmentTouch)>();
                foreach (var ((_, id), touch) in group)
                {
                    if (_profiles.TryGetValue((ws, id), out var state) && !state.MergedAway) profiles[id] = (state.Record, touch);
                }
                var mergedAway = merges.Where(m => m.Ws == ws)
                    .Select(m => (m.From, Resolve(ws, m.Into), (IReadOnlyCollection<long>)_mergedMemberships.GetValueOrDefault((ws, m.From), [])))
                    .ToList();
                var survivors = mergedAway.Select(m => m.Item2).ToHashSet();
                var uncacheable = profiles.Keys.Where(id => survivors.Contains(id) || _profiles[(ws, id)].IsNew).ToHashSet();
                var history = new HistoryInput(cache, historyMaxEvents,
                    profiles.Keys.ToDictionary(id => id, id => _profiles[(ws, id)].LoadedVersion), uncacheable,
                    _events.Where(e => e.WorkspaceId == ws).GroupBy(e => e.ProfileId).ToDictionary(g => g.Key, g => g.ToList()));
                var changed = await SegmentStage.RunAsync(tx, ws, snapshot, profiles, mergedAway, now,
                    due => EarliestCheck = EarliestCheck is { } e && e <= due ? e : due, history, ct, _segmentChanges);
                foreach (var (id, facts) in history.Pending) _histories.Add((ws, id, snapshot, facts));
                foreach (var id in changed) _profiles[(ws, id)].Dirty = true;
            }
        }

        /// <summary>A contact point an erasure suppressed, or one already held by a suppressed profile. Ask before claiming it.</summary>
        private bool IsSuppressed(long ws, IdentityKey key)
        {
            if (Find(ws, key) is { } owner) return owner.Record.Suppressed;
            return _suppressed[ws].Contains(SuppressionHash(_salts[ws], key));
        }

        private int? ForeignHome(ProfileState? profile)
        {
            if (profile is null || profile.IsNew || partitionCount <= 1) return null;
            var home = StableHash.Partition(profile.Record.RoutingHash, partitionCount);
            return home == partition ? null : home;
        }

        private long Resolve(long ws, long id)
        {
            while (_redirects.TryGetValue((ws, id), out var next)) id = next;
            return id;
        }

        private ProfileState? Find(long ws, IdentityKey key)
        {
            if (!_identities.TryGetValue((ws, key), out var id)) return null;
            return _profiles.GetValueOrDefault((ws, Resolve(ws, id)));
        }

        private async ValueTask<ProfileState> CreateAsync(long ws, string routingKey, string? userId, SegmentMessage m, CancellationToken ct)
        {
            if (_idsLeft == 0)
            {
                _nextId = await tx.ReserveProfileIdsAsync(IdBlock, ct);
                _idsLeft = IdBlock;
            }
            var id = _nextId++;
            _idsLeft--;
            var record = new ProfileRecord(
                ws, id, userId, StableHash.RoutingHash(ws, routingKey), "{}", [], null, null, false,
                m.Timestamp, m.Timestamp, 1);
            var state = new ProfileState(record, isNew: true);
            _profiles[(ws, id)] = state;
            Touch(ws, state).MarkAll(ChangeCauses.Created);
            if (userId is not null) Claim(ws, new(IdentityKinds.UserId, userId), state, move: false, m.ReceivedAt);
            return state;
        }

        /// <summary>
        /// Points an identity at a profile. Contact points and ids are first-come (a shared e-mail never moves to,
        /// or merges, another profile); push tokens move to the profile that reported them last (devices change hands).
        /// </summary>
        private void Claim(long ws, IdentityKey key, ProfileState profile, bool move, DateTimeOffset at)
        {
            var known = _identities.TryGetValue((ws, key), out var current);
            if (known && (Resolve(ws, current) == profile.Id || !move)) return;
            _identities[(ws, key)] = profile.Id;
            // An identity this batch saw as new is claimed (insert-only): if another partition claims it first, the
            // store reports a conflict and the batch is retried with fresh reads, so it never silently moves.
            _pendingIdentities[(ws, key)] = new IdentityRow(ws, key, profile.Id, at, Claim: !known);
        }

        private void Merge(long ws, ProfileState from, ProfileState into)
        {
            var a = into.Record;
            var b = from.Record;
            into.Record = a with
            {
                UserId = a.UserId ?? b.UserId,
                TraitsJson = TraitMerge.MergeObjects(a.TraitsJson, b.TraitsJson),
                Tags = [.. new SortedSet<string>(a.Tags.Concat(b.Tags), StringComparer.Ordinal)],
                Timezone = a.Timezone ?? b.Timezone,
                Locale = a.Locale ?? b.Locale,
                Suppressed = a.Suppressed || b.Suppressed,
                FirstSeen = a.FirstSeen < b.FirstSeen ? a.FirstSeen : b.FirstSeen,
                LastSeen = a.LastSeen > b.LastSeen ? a.LastSeen : b.LastSeen,
            };
            into.Dirty = true;
            from.MergedAway = true;
            _redirects[(ws, from.Id)] = into.Id;
            if (!from.IsNew) _merges.Add((ws, from.Id, from.LoadedVersion, into.Id));

            foreach (var (key, row) in _pendingIdentities.ToList())
            {
                if (row.ProfileId == from.Id) _pendingIdentities[key] = row with { ProfileId = into.Id };
            }
            foreach (var key in _identities.Where(kv => kv.Key.Ws == ws && kv.Value == from.Id).Select(kv => kv.Key).ToList())
                _identities[key] = into.Id;
        }

        private void Apply(long ws, ProfileState target, SegmentMessage m)
        {
            var r = target.Record;
            if (m.Type == MessageType.Identify && m.Traits.ValueKind == System.Text.Json.JsonValueKind.Object)
                r = r with { TraitsJson = TraitMerge.Merge(r.TraitsJson, m.Traits) };
            if (m.Timezone is not null && m.Timezone != r.Timezone)
            {
                if (!target.IsNew) _zoneChanged.Add((ws, target.Id));
                r = r with { Timezone = m.Timezone };
            }
            if (m.Locale is not null) r = r with { Locale = m.Locale };
            if (m.Timestamp < r.FirstSeen) r = r with { FirstSeen = m.Timestamp };
            if (m.Timestamp > r.LastSeen) r = r with { LastSeen = m.Timestamp };
            foreach (var key in m.Identities)
            {
                if (IdentityKinds.IsContactPoint(key.Kind) && IsSuppressed(ws, key)) r = r with { Suppressed = true };
                Claim(ws, key, target, move: key.Kind.StartsWith(IdentityKinds.PushPrefix, StringComparison.Ordinal), m.ReceivedAt);
            }
            var touch = Touch(ws, target);
            target.Record = r;
            target.Dirty = true;
            if (m.Type == MessageType.Identify) touch.AddTraitKeys(m.Traits);
            foreach (var key in m.Identities) touch.IdentityKinds.Add(key.Kind);
            switch (m.Type)
            {
                case MessageType.Track when m.Event is not null:
                    touch.Events.Add(m.Event);
                    break;
                case MessageType.Page:
                    touch.Events.Add(EventFact.ViewedPage);
                    break;
                case MessageType.Screen:
                    touch.Events.Add(EventFact.ViewedScreen);
                    break;
            }
            _events.Add(new EventRow(ws, target.Id, 0, m.MessageId, m.TypeName, m.Event ?? m.Name, m.Timestamp, m.ReceivedAt, m.Json));
        }
    }
}

/// <summary>The command belongs to the profile's home partition and must be re-queued there.</summary>
public sealed record Forward(int Partition) : CommandOutcome;
