using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Storage.Internal;
using Microsoft.Data.Sqlite;

namespace Chuda.Storage.Sqlite;

// Segments, membership, change history and re-checks. Reads outside a transaction use their own pooled connection;
// writes go through the writer gate. Lists of ids and names are bound as one JSON array and expanded with json_each,
// so a statement has a fixed text (prepared once) whatever the number of ids, and the planner probes the index per id.
public sealed partial class SqliteStore
{
    internal const string SegmentColumns =
        "key, workspace_id, id, name, description, rule, version, status, created_at, updated_at, " +
        "backfill_cursor, backfill_done, backfill_total, backfill_started_at, backfill_completed_at";

    // ---- scans -----------------------------------------------------------------------------------

    public Task<IReadOnlyList<ProfileRecord>> GetProfilesAsync(long workspaceId, long afterId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText =
            $"SELECT {SqliteCommands.ProfileColumns} FROM profiles WHERE workspace_id = $w AND id > $after ORDER BY id LIMIT $limit";
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var list = new List<ProfileRecord>();
        while (reader.Read()) list.Add(SqliteCommands.ReadProfile(reader));
        return Task.FromResult<IReadOnlyList<ProfileRecord>>(list);
    }

    public Task<(long Min, long Max)?> GetProfileIdRangeAsync(long workspaceId, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        // Two sub-selects: SQLite's min/max optimisation (one index probe) applies to a query with a single aggregate.
        command.CommandText =
            "SELECT (SELECT min(id) FROM profiles WHERE workspace_id = $w), (SELECT max(id) FROM profiles WHERE workspace_id = $w)";
        command.Parameters.AddWithValue("$w", workspaceId);
        using var reader = command.ExecuteReader();
        reader.Read();
        return Task.FromResult<(long, long)?>(reader.IsDBNull(0) ? null : (reader.GetInt64(0), reader.GetInt64(1)));
    }

    public Task<IReadOnlyList<EventRow>> GetEventsForProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, EventNameFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        ArgumentNullException.ThrowIfNull(filter);
        if (profileIds.Count == 0 || filter.IsEmpty) return Task.FromResult<IReadOnlyList<EventRow>>([]);
        using var connection = OpenReader();
        using var command = SqliteCommands.CreateLoadEvents(connection);
        return Task.FromResult(SqliteCommands.ExecuteLoadEvents(command, workspaceId, profileIds, filter));
    }

    public Task<IReadOnlyDictionary<long, IReadOnlySet<string>>> GetIdentityKindsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        if (profileIds.Count == 0) return Task.FromResult<IReadOnlyDictionary<long, IReadOnlySet<string>>>(new Dictionary<long, IReadOnlySet<string>>());
        using var connection = OpenReader();
        using var command = SqliteCommands.CreateLoadIdentityKinds(connection);
        return Task.FromResult(SqliteCommands.ExecuteLoadIdentityKinds(command, workspaceId, profileIds));
    }

    // ---- segments --------------------------------------------------------------------------------

    public async Task<SegmentDefinition> CreateSegmentAsync(SegmentDefinition segment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentException.ThrowIfNullOrEmpty(segment.Id);
        var key = await WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                "INSERT INTO segments (workspace_id, id, name, description, rule, version, status, created_at, updated_at, " +
                "backfill_cursor, backfill_done, backfill_total, backfill_started_at, backfill_completed_at) " +
                "VALUES ($w, $id, $n, $d, $r, $v, $s, $c, $u, $bc, $bd, $bt, $bs, $be) " +
                "ON CONFLICT (workspace_id, id) DO NOTHING RETURNING key";
            BindSegment(command, segment);
            return command.ExecuteScalar() is long value ? value : (long?)null;
        }, cancellationToken);
        return key is { } k
            ? SegmentStoreValues.Normalize(segment) with { Key = k }
            : throw new DuplicateNameException($"Workspace {segment.WorkspaceId} already has a segment '{segment.Id}'.");
    }

    public Task<SegmentDefinition?> GetSegmentAsync(long workspaceId, string id, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SegmentColumns} FROM segments WHERE workspace_id = $w AND id = $id";
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        return Task.FromResult(reader.Read() ? ReadSegment(reader) : null);
    }

    public Task<IReadOnlyList<SegmentDefinition>> ListSegmentsAsync(long? workspaceId, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        var where = workspaceId is null ? "" : "WHERE workspace_id = $w ";
        command.CommandText = $"SELECT {SegmentColumns} FROM segments {where}ORDER BY workspace_id, id";
        if (workspaceId is { } w) command.Parameters.AddWithValue("$w", w);
        using var reader = command.ExecuteReader();
        var list = new List<SegmentDefinition>();
        while (reader.Read()) list.Add(ReadSegment(reader));
        return Task.FromResult<IReadOnlyList<SegmentDefinition>>(list);
    }

    public Task<bool> UpdateSegmentAsync(SegmentDefinition segment, int expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(segment);
        return WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            // id and created_at are the segment's identity and birth: they are not replaced.
            command.CommandText =
                "UPDATE segments SET name = $n, description = $d, rule = $r, version = $v, status = $s, updated_at = $u, " +
                "backfill_cursor = $bc, backfill_done = $bd, backfill_total = $bt, backfill_started_at = $bs, backfill_completed_at = $be " +
                "WHERE workspace_id = $w AND key = $key AND version = $expected";
            BindSegment(command, segment);
            command.Parameters.AddWithValue("$key", segment.Key);
            command.Parameters.AddWithValue("$expected", expectedVersion);
            return command.ExecuteNonQuery() > 0;
        }, cancellationToken);
    }

    public Task<bool> SetBackfillProgressAsync(long workspaceId, long key, int version, long cursor, long done, SegmentStatus status,
        DateTimeOffset? completedAt, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                "UPDATE segments SET backfill_cursor = $cursor, backfill_done = $done, status = $s, backfill_completed_at = $be " +
                "WHERE workspace_id = $w AND key = $key AND version = $v";
            command.Parameters.AddWithValue("$cursor", cursor);
            command.Parameters.AddWithValue("$done", done);
            command.Parameters.AddWithValue("$s", (int)status);
            command.Parameters.AddWithValue("$be", Millis(completedAt));
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$v", version);
            return command.ExecuteNonQuery() > 0;
        }, cancellationToken);

    public Task<bool> DeleteSegmentAsync(long workspaceId, long key, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$key", key);
            command.CommandText = "DELETE FROM segments WHERE workspace_id = $w AND key = $key";
            if (command.ExecuteNonQuery() == 0) return false; // rolled back by the using (nothing written)
            command.CommandText = "DELETE FROM segment_members WHERE workspace_id = $w AND segment_key = $key";
            command.ExecuteNonQuery();
            command.CommandText = "DELETE FROM segment_changes WHERE workspace_id = $w AND segment_key = $key";
            command.ExecuteNonQuery();
            tx.Commit();
            return true;
        }, cancellationToken);

    public Task<IReadOnlyList<SegmentMember>> GetSegmentMembersAsync(long workspaceId, long key, long afterProfileId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT m.profile_id, p.user_id, m.since FROM segment_members m " +
            "LEFT JOIN profiles p ON p.id = m.profile_id AND p.workspace_id = m.workspace_id " +
            "WHERE m.workspace_id = $w AND m.segment_key = $key AND m.profile_id > $after ORDER BY m.profile_id LIMIT $limit";
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$after", afterProfileId);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var list = new List<SegmentMember>();
        while (reader.Read())
        {
            list.Add(new SegmentMember(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                StoreValues.FromMillis(reader.GetInt64(2))));
        }
        return Task.FromResult<IReadOnlyList<SegmentMember>>(list);
    }

    public Task<long> CountSegmentMembersAsync(long workspaceId, long key, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM segment_members WHERE workspace_id = $w AND segment_key = $key";
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$key", key);
        return Task.FromResult((long)command.ExecuteScalar()!);
    }

    public Task<IReadOnlyDictionary<long, IReadOnlySet<long>>> GetMembershipsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        var result = new Dictionary<long, IReadOnlySet<long>>();
        if (profileIds.Count == 0) return Task.FromResult<IReadOnlyDictionary<long, IReadOnlySet<long>>>(result);
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = SqliteCommands.LoadMembershipsSql;
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$ids", SegmentStoreValues.IdsJson(profileIds));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var profileId = reader.GetInt64(0);
            if (!result.TryGetValue(profileId, out var keys)) result[profileId] = keys = new HashSet<long>();
            ((HashSet<long>)keys).Add(reader.GetInt64(1));
        }
        return Task.FromResult<IReadOnlyDictionary<long, IReadOnlySet<long>>>(result);
    }

    public Task<IReadOnlyList<Membership>> GetProfileMembershipsAsync(long workspaceId, long profileId, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT segment_key, since FROM segment_members WHERE workspace_id = $w AND profile_id = $p ORDER BY segment_key";
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$p", profileId);
        using var reader = command.ExecuteReader();
        var list = new List<Membership>();
        while (reader.Read()) list.Add(new Membership(reader.GetInt64(0), StoreValues.FromMillis(reader.GetInt64(1))));
        return Task.FromResult<IReadOnlyList<Membership>>(list);
    }

    public Task<IReadOnlyList<SegmentChange>> GetSegmentChangesAsync(long workspaceId, long? key, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        var segment = key is null ? "" : "AND segment_key = $key ";
        command.CommandText =
            "SELECT seq, segment_key, profile_id, entered, at, cause, detail FROM segment_changes " +
            $"WHERE workspace_id = $w {segment}AND seq > $after ORDER BY seq LIMIT $limit";
        command.Parameters.AddWithValue("$w", workspaceId);
        if (key is { } k) command.Parameters.AddWithValue("$key", k);
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var list = new List<SegmentChange>();
        while (reader.Read())
        {
            list.Add(new SegmentChange(
                workspaceId,
                reader.GetInt64(1),
                reader.GetInt64(2),
                reader.GetInt64(3) != 0,
                StoreValues.FromMillis(reader.GetInt64(4)),
                reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetInt64(0)));
        }
        return Task.FromResult<IReadOnlyList<SegmentChange>>(list);
    }

    public Task<IReadOnlyList<SegmentHistoryBucket>> GetSegmentHistoryAsync(long workspaceId, long key, DateTimeOffset from, DateTimeOffset to,
        TimeSpan bucket, CancellationToken cancellationToken)
    {
        var bucketMs = SegmentStoreValues.BucketMillis(bucket);
        var fromMs = StoreValues.ToMillis(from);
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        // at >= from, so integer division is the floor.
        command.CommandText =
            "SELECT (at - $from) / $bucket AS b, sum(entered), count(*) - sum(entered) FROM segment_changes " +
            "WHERE workspace_id = $w AND segment_key = $key AND at >= $from AND at < $to GROUP BY b ORDER BY b";
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$from", fromMs);
        command.Parameters.AddWithValue("$to", StoreValues.ToMillis(to));
        command.Parameters.AddWithValue("$bucket", bucketMs);
        using var reader = command.ExecuteReader();
        var list = new List<SegmentHistoryBucket>();
        while (reader.Read())
            list.Add(new SegmentHistoryBucket(StoreValues.FromMillis(fromMs + reader.GetInt64(0) * bucketMs), reader.GetInt64(1), reader.GetInt64(2)));
        return Task.FromResult<IReadOnlyList<SegmentHistoryBucket>>(list);
    }

    public Task<IReadOnlyList<SegmentCheck>> GetDueSegmentChecksAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        // A check whose profile is gone (it should not outlive it) is left out rather than routed nowhere.
        command.CommandText =
            "SELECT c.workspace_id, c.profile_id, p.routing_hash, c.due_at FROM segment_checks c " +
            "JOIN profiles p ON p.id = c.profile_id AND p.workspace_id = c.workspace_id " +
            "WHERE c.due_at <= $now ORDER BY c.due_at, c.workspace_id, c.profile_id LIMIT $limit";
        command.Parameters.AddWithValue("$now", StoreValues.ToMillis(now));
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var list = new List<SegmentCheck>();
        while (reader.Read())
            list.Add(new SegmentCheck(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt32(2), StoreValues.FromMillis(reader.GetInt64(3))));
        return Task.FromResult<IReadOnlyList<SegmentCheck>>(list);
    }

    public Task<DateTimeOffset?> GetNextSegmentCheckDueAsync(CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        // Same join as the due scan, so a check that scan would skip never keeps a poller waking up.
        command.CommandText =
            "SELECT c.due_at FROM segment_checks c JOIN profiles p ON p.id = c.profile_id AND p.workspace_id = c.workspace_id " +
            "ORDER BY c.due_at LIMIT 1";
        return Task.FromResult(command.ExecuteScalar() is long ms ? StoreValues.FromMillis(ms) : (DateTimeOffset?)null);
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static object Millis(DateTimeOffset? value) => value is { } v ? StoreValues.ToMillis(v) : DBNull.Value;

    private static void BindSegment(SqliteCommand command, SegmentDefinition s)
    {
        var ps = command.Parameters;
        ps.AddWithValue("$w", s.WorkspaceId);
        ps.AddWithValue("$id", s.Id);
        ps.AddWithValue("$n", s.Name);
        ps.AddWithValue("$d", (object?)s.Description ?? DBNull.Value);
        ps.AddWithValue("$r", s.RuleJson);
        ps.AddWithValue("$v", s.Version);
        ps.AddWithValue("$s", (int)s.Status);
        ps.AddWithValue("$c", StoreValues.ToMillis(s.CreatedAt));
        ps.AddWithValue("$u", StoreValues.ToMillis(s.UpdatedAt));
        ps.AddWithValue("$bc", s.BackfillCursor);
        ps.AddWithValue("$bd", s.BackfillDone);
        ps.AddWithValue("$bt", s.BackfillTotal);
        ps.AddWithValue("$bs", Millis(s.BackfillStartedAt));
        ps.AddWithValue("$be", Millis(s.BackfillCompletedAt));
    }

    /// <summary>Reads a row selected with <see cref="SegmentColumns"/>.</summary>
    private static SegmentDefinition ReadSegment(SqliteDataReader r) => new(
        WorkspaceId: r.GetInt64(1),
        Id: r.GetString(2),
        Key: r.GetInt64(0),
        Name: r.GetString(3),
        Description: r.IsDBNull(4) ? null : r.GetString(4),
        RuleJson: r.GetString(5),
        Version: r.GetInt32(6),
        Status: (SegmentStatus)r.GetInt32(7),
        CreatedAt: StoreValues.FromMillis(r.GetInt64(8)),
        UpdatedAt: StoreValues.FromMillis(r.GetInt64(9)),
        BackfillCursor: r.GetInt64(10),
        BackfillDone: r.GetInt64(11),
        BackfillTotal: r.GetInt64(12),
        BackfillStartedAt: r.IsDBNull(13) ? null : StoreValues.FromMillis(r.GetInt64(13)),
        BackfillCompletedAt: r.IsDBNull(14) ? null : StoreValues.FromMillis(r.GetInt64(14)));

    private sealed partial class SqliteProfileTransaction
    {
        public Task<IReadOnlyDictionary<long, ProfileSegmentState>> LoadSegmentStateAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            var memberships = new Dictionary<long, Dictionary<long, DateTimeOffset>>();
            var checks = new Dictionary<long, DateTimeOffset>();
            if (profileIds.Count > 0)
            {
                var ids = SegmentStoreValues.IdsJson(profileIds);
                var members = Use(_commands.LoadMemberships);
                members.Parameters[0].Value = workspaceId;
                members.Parameters[1].Value = ids;
                using (var reader = members.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        var profileId = reader.GetInt64(0);
                        if (!memberships.TryGetValue(profileId, out var map)) memberships[profileId] = map = [];
                        map[reader.GetInt64(1)] = StoreValues.FromMillis(reader.GetInt64(2));
                    }
                }
                var due = Use(_commands.LoadChecks);
                due.Parameters[0].Value = workspaceId;
                due.Parameters[1].Value = ids;
                using (var reader = due.ExecuteReader())
                {
                    while (reader.Read()) checks[reader.GetInt64(0)] = StoreValues.FromMillis(reader.GetInt64(1));
                }
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
            return Task.FromResult<IReadOnlyDictionary<long, ProfileSegmentState>>(result);
        }

        public Task<IReadOnlyList<EventRow>> LoadEventsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, EventNameFilter filter, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            ArgumentNullException.ThrowIfNull(filter);
            var command = Use(_commands.LoadEvents);
            if (profileIds.Count == 0 || filter.IsEmpty) return Task.FromResult<IReadOnlyList<EventRow>>([]);
            return Task.FromResult(SqliteCommands.ExecuteLoadEvents(command, workspaceId, profileIds, filter));
        }

        public Task<IReadOnlyDictionary<long, IReadOnlySet<string>>> LoadIdentityKindsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            var command = Use(_commands.LoadIdentityKinds);
            if (profileIds.Count == 0) return Task.FromResult<IReadOnlyDictionary<long, IReadOnlySet<string>>>(new Dictionary<long, IReadOnlySet<string>>());
            return Task.FromResult(SqliteCommands.ExecuteLoadIdentityKinds(command, workspaceId, profileIds));
        }

        public Task ApplySegmentChangesAsync(IReadOnlyCollection<SegmentChange> changes, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(changes);
            var enter = Use(_commands.InsertMember);
            var exit = Use(_commands.DeleteMember);
            var record = Use(_commands.InsertChange);
            foreach (var change in changes)
            {
                var at = StoreValues.ToMillis(change.At);
                var membership = change.Entered ? enter : exit;
                var m = membership.Parameters;
                m[0].Value = change.WorkspaceId;
                m[1].Value = change.SegmentKey;
                m[2].Value = change.ProfileId;
                if (change.Entered) m[3].Value = at;
                membership.ExecuteNonQuery();

                var c = record.Parameters;
                c[0].Value = change.WorkspaceId;
                c[1].Value = change.SegmentKey;
                c[2].Value = change.ProfileId;
                c[3].Value = change.Entered ? 1 : 0;
                c[4].Value = at;
                c[5].Value = change.Cause;
                c[6].Value = (object?)change.Detail ?? DBNull.Value;
                record.ExecuteNonQuery();
            }
            return Task.CompletedTask;
        }

        public Task SetSegmentChecksAsync(IReadOnlyCollection<(long WorkspaceId, long ProfileId, DateTimeOffset? DueAt)> checks, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(checks);
            var put = Use(_commands.PutCheck);
            var delete = Use(_commands.DeleteCheck);
            foreach (var (workspaceId, profileId, dueAt) in checks)
            {
                var command = dueAt is null ? delete : put;
                var ps = command.Parameters;
                ps[0].Value = workspaceId;
                ps[1].Value = profileId;
                if (dueAt is { } d) ps[2].Value = StoreValues.ToMillis(d);
                command.ExecuteNonQuery();
            }
            return Task.CompletedTask;
        }
    }
}
