using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Storage.Internal;
using Npgsql;
using NpgsqlTypes;

namespace Chuda.Storage.Postgres;

// Segments, membership, change history and re-checks. Lists of ids are bound as arrays (= ANY / unnest), so each
// statement has a fixed text and is auto-prepared whatever the count.
public sealed partial class PostgresStore
{
    internal const string SegmentColumns =
        "key, workspace_id, id, name, description, rule, version, status, created_at, updated_at, " +
        "backfill_cursor, backfill_done, backfill_total, backfill_started_at, backfill_completed_at";

    /// <summary>Events of the listed profiles selected by an <see cref="EventNameFilter"/>; uses events_profile.</summary>
    private const string LoadEventsSql =
        "SELECT seq, profile_id, message_id, type, name, occurred_at, received_at, payload FROM events " +
        "WHERE workspace_id = $1 AND profile_id = ANY($2) " +
        "AND ((type = 'track' AND name = ANY($3)) OR (type = 'page' AND $4) OR (type = 'screen' AND $5))";

    /// <summary>
    /// Held (transaction-scoped) from a batch's first change-history insert to its commit, so seqs of
    /// <c>segment_changes</c> become visible in seq order: a consumer that has read seq n can never later find a
    /// smaller one committed by a slower concurrent batch (which it would skip for good, paging with afterSeq).
    /// Only batches that record changes take it, and only for their tail.
    /// </summary>
    private const long SegmentChangesLockKey = 0x4348_5544_4101;

    private const string LoadIdentityKindsSql =
        "SELECT DISTINCT profile_id, kind FROM identities WHERE workspace_id = $1 AND profile_id = ANY($2)";

    // ---- scans -----------------------------------------------------------------------------------

    public async Task<IReadOnlyList<ProfileRecord>> GetProfilesAsync(long workspaceId, long afterId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var command = _dataSource.CreateCommand(
            $"SELECT {ProfileColumns} FROM profiles WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(afterId));
        command.Parameters.Add(P(limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<ProfileRecord>();
        while (await reader.ReadAsync(cancellationToken)) list.Add(ReadProfile(reader));
        return list;
    }

    public async Task<(long Min, long Max)?> GetProfileIdRangeAsync(long workspaceId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT (SELECT min(id) FROM profiles WHERE workspace_id = $1), (SELECT max(id) FROM profiles WHERE workspace_id = $1)");
        command.Parameters.Add(P(workspaceId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.IsDBNull(0) ? null : (reader.GetInt64(0), reader.GetInt64(1));
    }

    public async Task<IReadOnlyList<EventRow>> GetEventsForProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, EventNameFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        ArgumentNullException.ThrowIfNull(filter);
        if (profileIds.Count == 0 || filter.IsEmpty) return [];
        await using var command = _dataSource.CreateCommand(LoadEventsSql);
        return await LoadEventsAsync(command, workspaceId, profileIds, filter, cancellationToken);
    }

    public async Task<IReadOnlyDictionary<long, IReadOnlySet<string>>> GetIdentityKindsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        if (profileIds.Count == 0) return new Dictionary<long, IReadOnlySet<string>>();
        await using var command = _dataSource.CreateCommand(LoadIdentityKindsSql);
        return await LoadIdentityKindsAsync(command, workspaceId, profileIds, cancellationToken);
    }

    private static async Task<IReadOnlyList<EventRow>> LoadEventsAsync(NpgsqlCommand command, long workspaceId, IReadOnlyCollection<long> profileIds,
        EventNameFilter filter, CancellationToken cancellationToken)
    {
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(profileIds.Distinct().ToArray()));
        command.Parameters.Add(P(filter.TrackNames.ToArray()));
        command.Parameters.Add(P(filter.Pages));
        command.Parameters.Add(P(filter.Screens));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<EventRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new EventRow(
                workspaceId,
                reader.GetInt64(1),
                reader.GetInt64(0),
                reader.GetString(2),
                reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5),
                reader.GetFieldValue<DateTimeOffset>(6),
                reader.GetString(7)));
        }
        return list;
    }

    private static async Task<IReadOnlyDictionary<long, IReadOnlySet<string>>> LoadIdentityKindsAsync(NpgsqlCommand command, long workspaceId,
        IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(profileIds.Distinct().ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var found = new Dictionary<long, HashSet<string>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var profileId = reader.GetInt64(0);
            if (!found.TryGetValue(profileId, out var kinds)) found[profileId] = kinds = new HashSet<string>(StringComparer.Ordinal);
            kinds.Add(reader.GetString(1));
        }
        return found.ToDictionary(x => x.Key, x => (IReadOnlySet<string>)x.Value);
    }

    // ---- segments --------------------------------------------------------------------------------

    public async Task<SegmentDefinition> CreateSegmentAsync(SegmentDefinition segment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentException.ThrowIfNullOrEmpty(segment.Id);
        var s = SegmentStoreValues.Normalize(segment);
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO segments (workspace_id, id, name, description, rule, version, status, created_at, updated_at, " +
            "backfill_cursor, backfill_done, backfill_total, backfill_started_at, backfill_completed_at) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) " +
            "ON CONFLICT (workspace_id, id) DO NOTHING RETURNING key");
        command.Parameters.AddRange(SegmentParameters(s));
        return await command.ExecuteScalarAsync(cancellationToken) is long key
            ? s with { Key = key }
            : throw new DuplicateNameException($"Workspace {segment.WorkspaceId} already has a segment '{segment.Id}'.");
    }

    public async Task<SegmentDefinition?> GetSegmentAsync(long workspaceId, string id, CancellationToken cancellationToken) =>
        (await ReadSegmentsAsync("WHERE workspace_id = $1 AND id = $2", cancellationToken, P(workspaceId), P(id))).FirstOrDefault();

    public async Task<IReadOnlyList<SegmentDefinition>> ListSegmentsAsync(long? workspaceId, CancellationToken cancellationToken) =>
        workspaceId is { } w
            ? await ReadSegmentsAsync("WHERE workspace_id = $1", cancellationToken, P(w))
            : await ReadSegmentsAsync("", cancellationToken);

    private async Task<List<SegmentDefinition>> ReadSegmentsAsync(string where, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {SegmentColumns} FROM segments {where} ORDER BY workspace_id, id");
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<SegmentDefinition>();
        while (await reader.ReadAsync(cancellationToken)) list.Add(ReadSegment(reader));
        return list;
    }

    public async Task<bool> UpdateSegmentAsync(SegmentDefinition segment, int expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(segment);
        var s = SegmentStoreValues.Normalize(segment);
        // id and created_at are the segment's identity and birth: they are not replaced.
        await using var command = _dataSource.CreateCommand(
            "UPDATE segments SET name = $4, description = $5, rule = $6, version = $7, status = $8, updated_at = $9, " +
            "backfill_cursor = $10, backfill_done = $11, backfill_total = $12, backfill_started_at = $13, backfill_completed_at = $14 " +
            "WHERE workspace_id = $1 AND key = $2 AND version = $3");
        command.Parameters.Add(P(s.WorkspaceId));
        command.Parameters.Add(P(s.Key));
        command.Parameters.Add(P(expectedVersion));
        command.Parameters.Add(P(s.Name));
        command.Parameters.Add(TextOrNull(s.Description));
        command.Parameters.Add(P(s.RuleJson));
        command.Parameters.Add(P(s.Version));
        command.Parameters.Add(P((int)s.Status));
        command.Parameters.Add(P(s.UpdatedAt));
        command.Parameters.Add(P(s.BackfillCursor));
        command.Parameters.Add(P(s.BackfillDone));
        command.Parameters.Add(P(s.BackfillTotal));
        command.Parameters.Add(TimestampOrNull(s.BackfillStartedAt));
        command.Parameters.Add(TimestampOrNull(s.BackfillCompletedAt));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<bool> SetBackfillProgressAsync(long workspaceId, long key, int version, long cursor, long done, SegmentStatus status,
        DateTimeOffset? completedAt, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "UPDATE segments SET backfill_cursor = $4, backfill_done = $5, status = $6, backfill_completed_at = $7 " +
            "WHERE workspace_id = $1 AND key = $2 AND version = $3");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(key));
        command.Parameters.Add(P(version));
        command.Parameters.Add(P(cursor));
        command.Parameters.Add(P(done));
        command.Parameters.Add(P((int)status));
        command.Parameters.Add(TimestampOrNull(completedAt));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<bool> DeleteSegmentAsync(long workspaceId, long key, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, tx);
        batch.BatchCommands.Add(BatchCommand("DELETE FROM segments WHERE workspace_id = $1 AND key = $2", P(workspaceId), P(key)));
        batch.BatchCommands.Add(BatchCommand("DELETE FROM segment_members WHERE workspace_id = $1 AND segment_key = $2", P(workspaceId), P(key)));
        batch.BatchCommands.Add(BatchCommand("DELETE FROM segment_changes WHERE workspace_id = $1 AND segment_key = $2", P(workspaceId), P(key)));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        if (batch.BatchCommands[0].RecordsAffected == 0) return false; // rolled back on dispose
        await tx.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<SegmentMember>> GetSegmentMembersAsync(long workspaceId, long key, long afterProfileId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var command = _dataSource.CreateCommand(
            "SELECT m.profile_id, p.user_id, m.since FROM segment_members m " +
            "LEFT JOIN profiles p ON p.workspace_id = m.workspace_id AND p.id = m.profile_id " +
            "WHERE m.workspace_id = $1 AND m.segment_key = $2 AND m.profile_id > $3 ORDER BY m.profile_id LIMIT $4");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(key));
        command.Parameters.Add(P(afterProfileId));
        command.Parameters.Add(P(limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<SegmentMember>();
        while (await reader.ReadAsync(cancellationToken))
            list.Add(new SegmentMember(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
        return list;
    }

    public async Task<long> CountSegmentMembersAsync(long workspaceId, long key, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT count(*) FROM segment_members WHERE workspace_id = $1 AND segment_key = $2");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(key));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyDictionary<long, IReadOnlySet<long>>> GetMembershipsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        var result = new Dictionary<long, IReadOnlySet<long>>();
        if (profileIds.Count == 0) return result;
        await using var command = _dataSource.CreateCommand(
            "SELECT profile_id, segment_key FROM segment_members WHERE workspace_id = $1 AND profile_id = ANY($2)");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(profileIds.Distinct().ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var profileId = reader.GetInt64(0);
            if (!result.TryGetValue(profileId, out var keys)) result[profileId] = keys = new HashSet<long>();
            ((HashSet<long>)keys).Add(reader.GetInt64(1));
        }
        return result;
    }

    public async Task<IReadOnlyList<Membership>> GetProfileMembershipsAsync(long workspaceId, long profileId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT segment_key, since FROM segment_members WHERE workspace_id = $1 AND profile_id = $2 ORDER BY segment_key");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(profileId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<Membership>();
        while (await reader.ReadAsync(cancellationToken)) list.Add(new Membership(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1)));
        return list;
    }

    public async Task<IReadOnlyList<SegmentChange>> GetSegmentChangesAsync(long workspaceId, long? key, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var segment = key is null ? "" : "AND segment_key = $4 ";
        await using var command = _dataSource.CreateCommand(
            "SELECT seq, segment_key, profile_id, entered, at, cause, detail FROM segment_changes " +
            $"WHERE workspace_id = $1 {segment}AND seq > $2 ORDER BY seq LIMIT $3");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(afterSeq));
        command.Parameters.Add(P(limit));
        if (key is { } k) command.Parameters.Add(P(k));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<SegmentChange>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new SegmentChange(
                workspaceId,
                reader.GetInt64(1),
                reader.GetInt64(2),
                reader.GetBoolean(3),
                reader.GetFieldValue<DateTimeOffset>(4),
                reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetInt64(0)));
        }
        return list;
    }

    public async Task<IReadOnlyList<SegmentHistoryBucket>> GetSegmentHistoryAsync(long workspaceId, long key, DateTimeOffset from, DateTimeOffset to,
        TimeSpan bucket, CancellationToken cancellationToken)
    {
        var bucketMs = SegmentStoreValues.BucketMillis(bucket);
        var start = StoreValues.Truncate(from);
        var fromMs = StoreValues.ToMillis(start);
        // extract(epoch) is an exact numeric, and stored instants are whole milliseconds.
        await using var command = _dataSource.CreateCommand(
            "SELECT floor((extract(epoch FROM at) * 1000 - $3) / $4)::bigint AS b, count(*) FILTER (WHERE entered), count(*) FILTER (WHERE NOT entered) " +
            "FROM segment_changes WHERE workspace_id = $1 AND segment_key = $2 AND at >= $5 AND at < $6 GROUP BY b ORDER BY b");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(key));
        command.Parameters.Add(P(fromMs));
        command.Parameters.Add(P(bucketMs));
        command.Parameters.Add(P(start));
        command.Parameters.Add(P(StoreValues.Truncate(to)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<SegmentHistoryBucket>();
        while (await reader.ReadAsync(cancellationToken))
            list.Add(new SegmentHistoryBucket(StoreValues.FromMillis(fromMs + reader.GetInt64(0) * bucketMs), reader.GetInt64(1), reader.GetInt64(2)));
        return list;
    }

    public async Task<IReadOnlyList<SegmentCheck>> GetDueSegmentChecksAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        // A check whose profile is gone (it should not outlive it) is left out rather than routed nowhere.
        await using var command = _dataSource.CreateCommand(
            "SELECT c.workspace_id, c.profile_id, p.routing_hash, c.due_at FROM segment_checks c " +
            "JOIN profiles p ON p.workspace_id = c.workspace_id AND p.id = c.profile_id " +
            "WHERE c.due_at <= $1 ORDER BY c.due_at, c.workspace_id, c.profile_id LIMIT $2");
        command.Parameters.Add(P(StoreValues.Truncate(now)));
        command.Parameters.Add(P(limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<SegmentCheck>();
        while (await reader.ReadAsync(cancellationToken))
            list.Add(new SegmentCheck(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt32(2), reader.GetFieldValue<DateTimeOffset>(3)));
        return list;
    }

    public async Task<DateTimeOffset?> GetNextSegmentCheckDueAsync(CancellationToken cancellationToken)
    {
        // Same join as the due scan, so a check that scan would skip never keeps a poller waking up.
        await using var command = _dataSource.CreateCommand(
            "SELECT c.due_at FROM segment_checks c JOIN profiles p ON p.workspace_id = c.workspace_id AND p.id = c.profile_id " +
            "ORDER BY c.due_at LIMIT 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? reader.GetFieldValue<DateTimeOffset>(0) : null;
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static NpgsqlBatchCommand BatchCommand(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter TextOrNull(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter TimestampOrNull(DateTimeOffset? value) => new()
    {
        NpgsqlDbType = NpgsqlDbType.TimestampTz,
        Value = value is { } v ? StoreValues.Truncate(v) : DBNull.Value,
    };

    /// <summary>$1..$14 in column order (workspace_id .. backfill_completed_at); the record must be normalised.</summary>
    private static NpgsqlParameter[] SegmentParameters(SegmentDefinition s) =>
    [
        P(s.WorkspaceId),
        P(s.Id),
        P(s.Name),
        TextOrNull(s.Description),
        P(s.RuleJson),
        P(s.Version),
        P((int)s.Status),
        P(s.CreatedAt),
        P(s.UpdatedAt),
        P(s.BackfillCursor),
        P(s.BackfillDone),
        P(s.BackfillTotal),
        TimestampOrNull(s.BackfillStartedAt),
        TimestampOrNull(s.BackfillCompletedAt),
    ];

    /// <summary>Reads a row selected with <see cref="SegmentColumns"/>.</summary>
    private static SegmentDefinition ReadSegment(NpgsqlDataReader r) => new(
        WorkspaceId: r.GetInt64(1),
        Id: r.GetString(2),
        Key: r.GetInt64(0),
        Name: r.GetString(3),
        Description: r.IsDBNull(4) ? null : r.GetString(4),
        RuleJson: r.GetString(5),
        Version: r.GetInt32(6),
        Status: (SegmentStatus)r.GetInt32(7),
        CreatedAt: r.GetFieldValue<DateTimeOffset>(8),
        UpdatedAt: r.GetFieldValue<DateTimeOffset>(9),
        BackfillCursor: r.GetInt64(10),
        BackfillDone: r.GetInt64(11),
        BackfillTotal: r.GetInt64(12),
        BackfillStartedAt: r.IsDBNull(13) ? null : r.GetFieldValue<DateTimeOffset>(13),
        BackfillCompletedAt: r.IsDBNull(14) ? null : r.GetFieldValue<DateTimeOffset>(14));

    private sealed partial class PostgresProfileTransaction
    {
        public async Task<IReadOnlyDictionary<long, ProfileSegmentState>> LoadSegmentStateAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            var memberships = new Dictionary<long, Dictionary<long, DateTimeOffset>>();
            var checks = new Dictionary<long, DateTimeOffset>();
            if (profileIds.Count > 0)
            {
                var ids = profileIds.Distinct().ToArray();
                await using var batch = Batch();
                batch.BatchCommands.Add(BatchCommand(
                    "SELECT profile_id, segment_key, since FROM segment_members WHERE workspace_id = $1 AND profile_id = ANY($2)",
                    P(workspaceId), P(ids)));
                batch.BatchCommands.Add(BatchCommand(
                    "SELECT profile_id, due_at FROM segment_checks WHERE workspace_id = $1 AND profile_id = ANY($2)",
                    P(workspaceId), P(ids)));
                await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var profileId = reader.GetInt64(0);
                    if (!memberships.TryGetValue(profileId, out var map)) memberships[profileId] = map = [];
                    map[reader.GetInt64(1)] = reader.GetFieldValue<DateTimeOffset>(2);
                }
                await reader.NextResultAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken)) checks[reader.GetInt64(0)] = reader.GetFieldValue<DateTimeOffset>(1);
            }
            var result = new Dictionary<long, ProfileSegmentState>();
            foreach (var id in profileIds)
            {
                var hasMemberships = memberships.TryGetValue(id, out var map);
                var hasCheck = checks.TryGetValue(id, out var dueAt);
                result[id] = hasMemberships || hasCheck
                    ? new ProfileSegmentState(map ?? [], hasCheck ? dueAt : null)
                    : ProfileSegmentState.Empty;
            }
            return result;
        }

        public async Task<IReadOnlyList<EventRow>> LoadEventsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, EventNameFilter filter, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            ArgumentNullException.ThrowIfNull(filter);
            ObjectDisposedException.ThrowIf(_finished, this);
            if (profileIds.Count == 0 || filter.IsEmpty) return [];
            await using var command = Command(LoadEventsSql);
            return await PostgresStore.LoadEventsAsync(command, workspaceId, profileIds, filter, cancellationToken);
        }

        public async Task<IReadOnlyDictionary<long, IReadOnlySet<string>>> LoadIdentityKindsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            ObjectDisposedException.ThrowIf(_finished, this);
            if (profileIds.Count == 0) return new Dictionary<long, IReadOnlySet<string>>();
            await using var command = Command(LoadIdentityKindsSql);
            return await PostgresStore.LoadIdentityKindsAsync(command, workspaceId, profileIds, cancellationToken);
        }

        private const string MemberArrays = "unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[]) AS u(w, k, p, s)";

        public async Task ApplySegmentChangesAsync(IReadOnlyCollection<SegmentChange> changes, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(changes);
            ObjectDisposedException.ThrowIf(_finished, this);
            if (changes.Count == 0) return;
            var rows = changes as SegmentChange[] ?? changes.ToArray();

            // The net effect on each membership of applying the changes one by one: the last change decides whether it
            // exists; when it does, its since is the first entry after the last exit in the batch (a fresh membership,
            // replacing any stored one), or, without an exit, the first entry (kept if one is already stored).
            var exits = new List<(long W, long K, long P)>();
            var fresh = new List<(long W, long K, long P, DateTimeOffset Since)>();
            var kept = new List<(long W, long K, long P, DateTimeOffset Since)>();
            foreach (var group in rows.GroupBy(c => (c.WorkspaceId, c.SegmentKey, c.ProfileId)))
            {
                var list = group.ToList();
                var (w, k, p) = group.Key;
                var lastExit = list.FindLastIndex(c => !c.Entered);
                if (!list[^1].Entered) exits.Add((w, k, p));
                else if (lastExit >= 0) fresh.Add((w, k, p, StoreValues.Truncate(list[lastExit + 1].At)));
                else kept.Add((w, k, p, StoreValues.Truncate(list[0].At)));
            }

            await using var batch = Batch();
            batch.BatchCommands.Add(BatchCommand("SELECT pg_advisory_xact_lock($1)", P(SegmentChangesLockKey)));
            // In key order, so concurrent batches lock rows in the same order.
            if (exits.Count > 0)
            {
                var e = exits.Order().ToArray();
                batch.BatchCommands.Add(BatchCommand(
                    "DELETE FROM segment_members m USING unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(w, k, p) " +
                    "WHERE m.workspace_id = u.w AND m.segment_key = u.k AND m.profile_id = u.p",
                    P(Array.ConvertAll(e, x => x.W)), P(Array.ConvertAll(e, x => x.K)), P(Array.ConvertAll(e, x => x.P))));
            }
            if (fresh.Count > 0)
            {
                batch.BatchCommands.Add(BatchCommand(
                    $"INSERT INTO segment_members (workspace_id, segment_key, profile_id, since) SELECT u.w, u.k, u.p, u.s FROM {MemberArrays} " +
                    "ON CONFLICT (workspace_id, segment_key, profile_id) DO UPDATE SET since = excluded.since",
                    MemberParameters(fresh)));
            }
            if (kept.Count > 0)
            {
                batch.BatchCommands.Add(BatchCommand(
                    $"INSERT INTO segment_members (workspace_id, segment_key, profile_id, since) SELECT u.w, u.k, u.p, u.s FROM {MemberArrays} " +
                    "ON CONFLICT DO NOTHING",
                    MemberParameters(kept)));
            }
            // Every change, in the given order (seq follows the ordinality).
            batch.BatchCommands.Add(BatchCommand(
                "INSERT INTO segment_changes (workspace_id, segment_key, profile_id, entered, at, cause, detail) " +
                "SELECT u.w, u.k, u.p, u.e, u.a, u.c, u.d FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::boolean[], " +
                "$5::timestamptz[], $6::text[], $7::text[]) WITH ORDINALITY AS u(w, k, p, e, a, c, d, n) ORDER BY u.n",
                P(Array.ConvertAll(rows, c => c.WorkspaceId)),
                P(Array.ConvertAll(rows, c => c.SegmentKey)),
                P(Array.ConvertAll(rows, c => c.ProfileId)),
                P(Array.ConvertAll(rows, c => c.Entered)),
                P(Array.ConvertAll(rows, c => StoreValues.Truncate(c.At))),
                P(Array.ConvertAll(rows, c => c.Cause)),
                P(Array.ConvertAll(rows, c => c.Detail))));
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        private static NpgsqlParameter[] MemberParameters(List<(long W, long K, long P, DateTimeOffset Since)> rows)
        {
            var r = rows.OrderBy(x => (x.W, x.K, x.P)).ToArray();
            return
            [
                P(Array.ConvertAll(r, x => x.W)),
                P(Array.ConvertAll(r, x => x.K)),
                P(Array.ConvertAll(r, x => x.P)),
                P(Array.ConvertAll(r, x => x.Since)),
            ];
        }

        public async Task SetSegmentChecksAsync(IReadOnlyCollection<(long WorkspaceId, long ProfileId, DateTimeOffset? DueAt)> checks, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(checks);
            ObjectDisposedException.ThrowIf(_finished, this);
            if (checks.Count == 0) return;
            // The last one per profile wins, as a sequence of single writes would; in key order for lock ordering.
            var last = new Dictionary<(long W, long P), DateTimeOffset?>();
            foreach (var (w, p, due) in checks) last[(w, p)] = due;
            var puts = last.Where(x => x.Value is not null).OrderBy(x => x.Key).ToArray();
            var deletes = last.Where(x => x.Value is null).Select(x => x.Key).Order().ToArray();
            await using var batch = Batch();
            if (puts.Length > 0)
            {
                batch.BatchCommands.Add(BatchCommand(
                    "INSERT INTO segment_checks (workspace_id, profile_id, due_at) " +
                    "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) " +
                    "ON CONFLICT (workspace_id, profile_id) DO UPDATE SET due_at = excluded.due_at",
                    P(Array.ConvertAll(puts, x => x.Key.W)),
                    P(Array.ConvertAll(puts, x => x.Key.P)),
                    P(Array.ConvertAll(puts, x => StoreValues.Truncate(x.Value!.Value)))));
            }
            if (deletes.Length > 0)
            {
                batch.BatchCommands.Add(BatchCommand(
                    "DELETE FROM segment_checks c USING unnest($1::bigint[], $2::bigint[]) AS u(w, p) " +
                    "WHERE c.workspace_id = u.w AND c.profile_id = u.p",
                    P(Array.ConvertAll(deletes, x => x.W)),
                    P(Array.ConvertAll(deletes, x => x.P))));
            }
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
