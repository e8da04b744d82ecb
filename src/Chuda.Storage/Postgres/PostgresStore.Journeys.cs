using Chuda.Domain.Journeys;
using Chuda.Storage.Internal;
using Npgsql;
using NpgsqlTypes;

namespace Chuda.Storage.Postgres;

// Journeys and their runtime state. See IChudaStore.Journeys.cs for the contract; the SQLite store is the reference
// for its semantics. The runtime's hot path (timer firings, event resumes) loads and writes many instances and their
// side effects per batch: each is one set-based statement over arrays (= ANY / unnest), pipelined in one NpgsqlBatch.
public sealed partial class PostgresStore
{
    private const string JourneyColumns =
        "key, workspace_id, id, name, status, latest_version, live_version, pending_version, pending_by, entries, trigger_type, " +
        "next_run_at, run_cursor, created_at, updated_at, revision";

    private const string VersionColumns = "workspace_id, journey_key, version, definition, created_at, created_by";

    internal const string InstanceColumns =
        "id, workspace_id, journey_key, version, profile_id, routing_hash, status, step_id, entered_at, step_entered_at, seq, " +
        "due_at, wait_event, entry_key, context, end_reason, ended_at, updated_at, revision";

    private const string SendColumns =
        "id, workspace_id, profile_id, journey_key, version, instance_id, step_id, seq, idempotency_key, template, channels, category, " +
        "dedup_key, context, scheduled_for, created_at, status";

    private const string TaskColumns =
        "id, workspace_id, profile_id, journey_key, instance_id, step_id, seq, title, note, assignee, from_queue, due_at, status, created_at, done_at";

    private const string WebhookColumns =
        "id, workspace_id, profile_id, journey_key, instance_id, step_id, seq, idempotency_key, url, method, headers, body, status, attempts, " +
        "next_attempt_at, last_status, last_error, created_at, updated_at";

    private const string TriggerSelect =
        "SELECT workspace_id, journey_key, idempotency_key, body_hash, outcome, instance_id, created_at FROM journey_triggers " +
        "WHERE workspace_id = $1 AND journey_key = $2 AND idempotency_key = $3";

    /// <summary>Tables holding what a profile's journey instances produced.</summary>
    private static readonly string[] JourneyOutputTables = ["send_requests", "tasks", "webhook_requests", "journey_conversions"];

    /// <summary>Tables holding a profile's journey state and output: moved on merge, deleted on erasure.</summary>
    private static readonly string[] JourneyProfileTables = ["journey_instances", .. JourneyOutputTables];

    /// <summary>
    /// Moves a merged profile's journey rows to the survivor ($1 workspace, $2 from, $3 into), as on SQLite. Its instances
    /// take the survivor's routing hash when the survivor is stored (their timers then fire in the survivor's home
    /// partition); an instance whose entry key the survivor already used in that journey (both entered the same broadcast
    /// run, say) gets a unique key, so the one-entry-per-key index holds and the merge goes through; the survivor's entry
    /// keeps the key.
    /// </summary>
    private static readonly string[] MoveJourneyRowsSql =
    [
        "UPDATE journey_instances i SET profile_id = $3, " +
        "routing_hash = coalesce((SELECT p.routing_hash FROM profiles p WHERE p.workspace_id = $1 AND p.id = $3), i.routing_hash), " +
        "entry_key = CASE WHEN EXISTS (SELECT 1 FROM journey_instances s WHERE s.journey_key = i.journey_key AND s.profile_id = $3 " +
        $"AND s.entry_key = i.entry_key) THEN i.entry_key || '{JourneyStoreValues.MergedEntryKeyInfix}' || i.id ELSE i.entry_key END " +
        "WHERE i.workspace_id = $1 AND i.profile_id = $2",
        .. JourneyOutputTables.Select(table => $"UPDATE {table} SET profile_id = $3 WHERE workspace_id = $1 AND profile_id = $2"),
    ];

    /// <summary>Open instances: <see cref="InstanceStatus.Scheduled"/> and <see cref="InstanceStatus.Active"/>.</summary>
    private const string OpenStatuses = "status IN (0, 1)";

    /// <summary>Held from an audit append to its commit, so seqs become visible in seq order (readers page with afterSeq).</summary>
    private const long AuditLockKey = 0x4348_5544_4102;

    // ---- journeys --------------------------------------------------------------------------------

    public async Task<JourneyRecord> CreateJourneyAsync(JourneyRecord journey, JourneyVersionRecord firstVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journey);
        ArgumentNullException.ThrowIfNull(firstVersion);
        var j = JourneyStoreValues.Normalize(journey);
        // One statement: the version is written only when the journey was.
        await using var command = _dataSource.CreateCommand(
            "WITH j AS (INSERT INTO journeys (workspace_id, name, status, latest_version, live_version, pending_version, pending_by, trigger_type, " +
            "next_run_at, run_cursor, updated_at, revision, id, entries, created_at) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (workspace_id, id) DO NOTHING RETURNING key) " +
            $"INSERT INTO journey_versions ({VersionColumns}) SELECT $16, j.key, $17, $18, $19, $20 FROM j RETURNING journey_key");
        command.Parameters.AddRange(JourneyParameters(j));
        command.Parameters.Add(P(j.Revision));
        command.Parameters.Add(P(j.Id));
        command.Parameters.Add(P(j.Entries));
        command.Parameters.Add(P(j.CreatedAt));
        command.Parameters.AddRange(VersionParameters(firstVersion));
        return await command.ExecuteScalarAsync(cancellationToken) is long key
            ? j with { Key = key }
            : throw new DuplicateNameException($"The workspace already has a journey '{journey.Id}'.");
    }

    /// <summary>$1..$11: workspace_id, then the mutable fields but the revision, in the order of the INSERT and UPDATE statements.</summary>
    private static NpgsqlParameter[] JourneyParameters(JourneyRecord j) =>
    [
        P(j.WorkspaceId),
        P(j.Name),
        P((int)j.Status),
        P(j.LatestVersion),
        IntOrNull(j.LiveVersion),
        IntOrNull(j.PendingVersion),
        TextOrNull(j.PendingBy),
        P(j.TriggerType),
        TimestampOrNull(j.NextRunAt),
        P(j.RunCursor),
        P(StoreValues.Truncate(j.UpdatedAt)),
    ];

    /// <summary>The version's workspace id, version, definition, created_at and created_by (the journey key comes from the statement).</summary>
    private static NpgsqlParameter[] VersionParameters(JourneyVersionRecord v) =>
    [
        P(v.WorkspaceId),
        P(v.Version),
        P(v.DefinitionJson),
        P(StoreValues.Truncate(v.CreatedAt)),
        TextOrNull(v.CreatedBy),
    ];

    public async Task<JourneyRecord?> GetJourneyAsync(long workspaceId, string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {JourneyColumns} FROM journeys WHERE workspace_id = $1 AND id = $2", ReadJourney, cancellationToken,
            P(workspaceId), P(id))).FirstOrDefault();

    public async Task<JourneyRecord?> GetJourneyByKeyAsync(long workspaceId, long key, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {JourneyColumns} FROM journeys WHERE workspace_id = $1 AND key = $2", ReadJourney, cancellationToken,
            P(workspaceId), P(key))).FirstOrDefault();

    public async Task<IReadOnlyList<JourneyRecord>> ListJourneysAsync(long? workspaceId, CancellationToken cancellationToken) =>
        workspaceId is { } w
            ? await QueryAsync($"SELECT {JourneyColumns} FROM journeys WHERE workspace_id = $1 ORDER BY id", ReadJourney, cancellationToken, P(w))
            : await QueryAsync($"SELECT {JourneyColumns} FROM journeys ORDER BY workspace_id, id", ReadJourney, cancellationToken);

    public async Task<bool> UpdateJourneyAsync(JourneyRecord journey, long expectedRevision, JourneyVersionRecord? newVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journey);
        // key, id, created_at and entries are not replaced; the stored revision becomes expected + 1 (not the record's).
        const string update =
            "UPDATE journeys SET name = $2, status = $3, latest_version = $4, live_version = $5, pending_version = $6, pending_by = $7, " +
            "trigger_type = $8, next_run_at = $9, run_cursor = $10, updated_at = $11, revision = $12 + 1 " +
            "WHERE workspace_id = $1 AND key = $13 AND revision = $12";
        // With a new version, one statement: the version is written only when the update was.
        await using var command = _dataSource.CreateCommand(newVersion is null
            ? update
            : $"WITH u AS ({update} RETURNING key) INSERT INTO journey_versions ({VersionColumns}) SELECT $14, u.key, $15, $16, $17, $18 FROM u");
        command.Parameters.AddRange(JourneyParameters(journey));
        command.Parameters.Add(P(expectedRevision));
        command.Parameters.Add(P(journey.Key));
        if (newVersion is not null) command.Parameters.AddRange(VersionParameters(newVersion));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task SetJourneyRunAsync(long workspaceId, long key, long runCursor, DateTimeOffset? nextRunAt, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("UPDATE journeys SET run_cursor = $3, next_run_at = $4 WHERE workspace_id = $1 AND key = $2");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(key));
        command.Parameters.Add(P(runCursor));
        command.Parameters.Add(TimestampOrNull(nextRunAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<JourneyVersionRecord?> GetJourneyVersionAsync(long workspaceId, long journeyKey, int version, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {VersionColumns} FROM journey_versions WHERE workspace_id = $1 AND journey_key = $2 AND version = $3",
            ReadVersion, cancellationToken, P(workspaceId), P(journeyKey), P(version))).FirstOrDefault();

    public async Task<IReadOnlyList<JourneyVersionRecord>> ListJourneyVersionsAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {VersionColumns} FROM journey_versions WHERE workspace_id = $1 AND journey_key = $2 ORDER BY version",
            ReadVersion, cancellationToken, P(workspaceId), P(journeyKey));

    public async Task<IReadOnlyList<JourneyRecord>> GetDueJourneyRunsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {JourneyColumns} FROM journeys WHERE next_run_at <= $1 ORDER BY next_run_at, key", ReadJourney, cancellationToken,
            P(StoreValues.Truncate(now)));

    // ---- instances and timers --------------------------------------------------------------------

    public async Task<IReadOnlyList<JourneyTimer>> GetDueJourneyTimersAsync(DateTimeOffset now, int limit, DateTimeOffset? afterDue, long afterId,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        // Held instances have no due_at, so they are not here; journey_instances_due serves both the filter and the order.
        var cursor = afterDue is null ? "" : "AND (due_at, id) > ($3, $4) ";
        var parameters = afterDue is { } a
            ? new NpgsqlParameter[] { P(StoreValues.Truncate(now)), P(limit), P(StoreValues.Truncate(a)), P(afterId) }
            : [P(StoreValues.Truncate(now)), P(limit)];
        return await QueryAsync(
            "SELECT workspace_id, id, profile_id, routing_hash, due_at FROM journey_instances " +
            $"WHERE due_at <= $1 {cursor}AND {OpenStatuses} ORDER BY due_at, id LIMIT $2",
            r => new JourneyTimer(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt32(3), r.GetFieldValue<DateTimeOffset>(4)),
            cancellationToken, parameters);
    }

    public async Task<DateTimeOffset?> GetNextJourneyTimerDueAsync(CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT due_at FROM journey_instances WHERE due_at IS NOT NULL AND {OpenStatuses} ORDER BY due_at LIMIT 1",
            r => (DateTimeOffset?)r.GetFieldValue<DateTimeOffset>(0), cancellationToken)).FirstOrDefault();

    public async Task<IReadOnlyList<JourneyInstance>> GetProfileJourneyInstancesAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryAsync($"SELECT {InstanceColumns} FROM journey_instances WHERE workspace_id = $1 AND profile_id = $2 " +
            "ORDER BY entered_at DESC, id DESC LIMIT $3", ReadInstance, cancellationToken, P(workspaceId), P(profileId), P(limit));
    }

    public async Task<JourneyInstance?> GetJourneyInstanceAsync(long workspaceId, long instanceId, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {InstanceColumns} FROM journey_instances WHERE id = $2 AND workspace_id = $1", ReadInstance, cancellationToken,
            P(workspaceId), P(instanceId))).FirstOrDefault();

    public async Task<IReadOnlyList<JourneyInstance>> GetOpenJourneyInstancesAsync(long workspaceId, long journeyKey, long afterId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryAsync($"SELECT {InstanceColumns} FROM journey_instances " +
            $"WHERE journey_key = $2 AND {OpenStatuses} AND id > $3 AND workspace_id = $1 ORDER BY id LIMIT $4", ReadInstance, cancellationToken,
            P(workspaceId), P(journeyKey), P(afterId), P(limit));
    }

    public async Task<long> HoldJourneyTimersAsync(long workspaceId, long journeyKey, bool hold, DateTimeOffset resumeAt, CancellationToken cancellationToken)
    {
        // Rows are locked in id order (as batches lock the instances they save), so a pause racing with the partitions
        // waits instead of deadlocking. The outer conditions are checked again on the row as locked.
        await using var command = _dataSource.CreateCommand(hold
            ? "UPDATE journey_instances i SET held_due_at = i.due_at, due_at = NULL FROM (SELECT id FROM journey_instances " +
              $"WHERE journey_key = $2 AND workspace_id = $1 AND {OpenStatuses} AND due_at IS NOT NULL ORDER BY id FOR UPDATE) s " +
              "WHERE i.id = s.id AND i.status IN (0, 1) AND i.due_at IS NOT NULL"
            : "UPDATE journey_instances i SET due_at = GREATEST(i.held_due_at, $3), held_due_at = NULL FROM (SELECT id FROM journey_instances " +
              "WHERE journey_key = $2 AND workspace_id = $1 AND held_due_at IS NOT NULL ORDER BY id FOR UPDATE) s " +
              "WHERE i.id = s.id AND i.held_due_at IS NOT NULL");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(journeyKey));
        if (!hold) command.Parameters.Add(P(StoreValues.Truncate(resumeAt)));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<JourneyStat>> GetJourneyWaitingAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken) =>
        await QueryAsync(
            "SELECT version, step_id, CASE status WHEN 0 THEN 'scheduled' ELSE 'waiting' END COLLATE \"C\" AS kind, count(*) FROM journey_instances " +
            $"WHERE journey_key = $2 AND {OpenStatuses} AND workspace_id = $1 GROUP BY version, step_id, status ORDER BY version, step_id, kind",
            r => new JourneyStat(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetInt64(3)), cancellationToken, P(workspaceId), P(journeyKey));

    public async Task<IReadOnlyList<JourneyStat>> GetJourneyStatsAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken) =>
        await QueryAsync(
            "SELECT version, step_id, kind, sum(count)::bigint FROM journey_stats WHERE journey_key = $2 AND workspace_id = $1 " +
            "GROUP BY version, step_id, kind ORDER BY version, step_id, kind",
            r => new JourneyStat(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetInt64(3)), cancellationToken, P(workspaceId), P(journeyKey));

    public async Task<IReadOnlyList<JourneyConversion>> GetJourneyConversionsAsync(long workspaceId, long journeyKey, long afterInstanceId, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryAsync(
            "SELECT workspace_id, journey_key, version, instance_id, profile_id, at, last_step, variants FROM journey_conversions " +
            "WHERE journey_key = $2 AND instance_id > $3 AND workspace_id = $1 ORDER BY instance_id LIMIT $4",
            r => new JourneyConversion(r.GetInt64(0), r.GetInt64(1), r.GetInt32(2), r.GetInt64(3), r.GetInt64(4), r.GetFieldValue<DateTimeOffset>(5),
                r.GetString(6), r.GetString(7)),
            cancellationToken, P(workspaceId), P(journeyKey), P(afterInstanceId), P(limit));
    }

    // ---- outgoing requests -----------------------------------------------------------------------

    public async Task<IReadOnlyList<SendRequest>> GetSendRequestsAsync(long workspaceId, long? profileId, long? journeyKey, long afterId, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var filter = new Filter(P(workspaceId), P(afterId), P(limit));
        if (profileId is { } p) filter.Add("profile_id = ", P(p));
        if (journeyKey is { } j) filter.Add("journey_key = ", P(j));
        return await QueryAsync($"SELECT {SendColumns} FROM send_requests WHERE workspace_id = $1 AND id > $2{filter.Sql} ORDER BY id LIMIT $3",
            ReadSend, cancellationToken, filter.Parameters);
    }

    public async Task<IReadOnlyList<JourneyTask>> GetTasksAsync(long workspaceId, string? assignee, DateTimeOffset? dueBefore, string? status,
        DateTimeOffset? afterDue, long afterId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var filter = new Filter(P(workspaceId), P(limit));
        if (assignee is not null) filter.Add("assignee = ", P(assignee));
        if (dueBefore is { } d) filter.Add("due_at < ", P(StoreValues.Truncate(d)));
        if (status is not null) filter.Add("status = ", P(status));
        if (afterDue is { } a) filter.Add("(due_at, id) > ", P(StoreValues.Truncate(a)), P(afterId));
        return await QueryAsync($"SELECT {TaskColumns} FROM tasks WHERE workspace_id = $1{filter.Sql} ORDER BY due_at, id LIMIT $2",
            ReadTask, cancellationToken, filter.Parameters);
    }

    public async Task<bool> CompleteTaskAsync(long workspaceId, long taskId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("UPDATE tasks SET status = 'done', done_at = $3 WHERE workspace_id = $1 AND id = $2 AND status = 'open'");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(taskId));
        command.Parameters.Add(P(StoreValues.Truncate(at)));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<WebhookRequest>> GetDueWebhooksAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryAsync($"SELECT {WebhookColumns} FROM webhook_requests WHERE status = 'pending' AND next_attempt_at <= $1 " +
            "ORDER BY next_attempt_at, id LIMIT $2", ReadWebhook, cancellationToken, P(StoreValues.Truncate(now)), P(limit));
    }

    public async Task<DateTimeOffset?> GetNextWebhookDueAsync(CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT next_attempt_at FROM webhook_requests WHERE status = 'pending' AND next_attempt_at IS NOT NULL ORDER BY next_attempt_at LIMIT 1",
            r => (DateTimeOffset?)r.GetFieldValue<DateTimeOffset>(0), cancellationToken)).FirstOrDefault();

    public async Task UpdateWebhookAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var command = _dataSource.CreateCommand(
            "UPDATE webhook_requests SET status = $3, attempts = $4, next_attempt_at = $5, last_status = $6, last_error = $7, updated_at = $8 " +
            "WHERE workspace_id = $1 AND id = $2");
        command.Parameters.Add(P(request.WorkspaceId));
        command.Parameters.Add(P(request.Id));
        command.Parameters.Add(P(request.Status));
        command.Parameters.Add(P(request.Attempts));
        command.Parameters.Add(TimestampOrNull(request.NextAttemptAt));
        command.Parameters.Add(IntOrNull(request.LastStatusCode));
        command.Parameters.Add(TextOrNull(request.LastError));
        command.Parameters.Add(P(StoreValues.Truncate(request.UpdatedAt)));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<WebhookRequest>> GetWebhooksAsync(long workspaceId, long? journeyKey, long afterId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var filter = new Filter(P(workspaceId), P(afterId), P(limit));
        if (journeyKey is { } j) filter.Add("journey_key = ", P(j));
        return await QueryAsync($"SELECT {WebhookColumns} FROM webhook_requests WHERE workspace_id = $1{filter.Sql} AND id > $2 ORDER BY id LIMIT $3",
            ReadWebhook, cancellationToken, filter.Parameters);
    }

    // ---- triggers, audit, settings ---------------------------------------------------------------

    public async Task<JourneyTriggerRecord?> FindJourneyTriggerAsync(long workspaceId, long journeyKey, string idempotencyKey, CancellationToken cancellationToken) =>
        (await QueryAsync(TriggerSelect, ReadTrigger, cancellationToken, P(workspaceId), P(journeyKey), P(idempotencyKey))).FirstOrDefault();

    public async Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var batch = new NpgsqlBatch(connection, tx))
        {
            batch.BatchCommands.Add(BatchCommand("SELECT pg_advisory_xact_lock($1)", P(AuditLockKey)));
            batch.BatchCommands.Add(BatchCommand(
                "INSERT INTO audit_log (workspace_id, at, actor, action, target_type, target_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                P(entry.WorkspaceId), P(StoreValues.Truncate(entry.At)), P(entry.Actor), P(entry.Action), P(entry.TargetType), P(entry.TargetId),
                TextOrNull(entry.DetailJson)));
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<AuditEntry>> GetAuditAsync(long workspaceId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryAsync("SELECT workspace_id, seq, at, actor, action, target_type, target_id, detail FROM audit_log " +
            "WHERE workspace_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            r => new AuditEntry(r.GetInt64(0), r.GetInt64(1), r.GetFieldValue<DateTimeOffset>(2), r.GetString(3), r.GetString(4), r.GetString(5),
                r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7)),
            cancellationToken, P(workspaceId), P(afterSeq), P(limit));
    }

    public async Task<IReadOnlyDictionary<string, string>> GetWorkspaceSettingsAsync(long workspaceId, CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT name, value FROM workspace_settings WHERE workspace_id = $1", r => (Name: r.GetString(0), Value: r.GetString(1)),
            cancellationToken, P(workspaceId))).ToDictionary(x => x.Name, x => x.Value, StringComparer.Ordinal);

    public async Task SetWorkspaceSettingAsync(long workspaceId, string name, string? value, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        await using var command = _dataSource.CreateCommand(value is null
            ? "DELETE FROM workspace_settings WHERE workspace_id = $1 AND name = $2"
            : "INSERT INTO workspace_settings (workspace_id, name, value) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(name));
        if (value is not null) command.Parameters.Add(P(value));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddRange(parameters);
        return await ReadAllAsync(command, read, cancellationToken);
    }

    private static async Task<List<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<T>();
        while (await reader.ReadAsync(cancellationToken)) list.Add(read(reader));
        return list;
    }

    /// <summary>Optional conditions of a listing, appended as <c>AND …</c> with the next parameter numbers after the fixed ones.</summary>
    private sealed class Filter(params NpgsqlParameter[] fixedParameters)
    {
        private readonly List<NpgsqlParameter> _parameters = [.. fixedParameters];

        public string Sql { get; private set; } = "";

        public NpgsqlParameter[] Parameters => [.. _parameters];

        /// <summary>Appends <c>AND {left}$n</c>, or with two values <c>AND {left}($n, $n+1)</c>.</summary>
        public void Add(string left, params NpgsqlParameter[] values)
        {
            var numbers = new List<string>();
            foreach (var value in values)
            {
                _parameters.Add(value);
                numbers.Add($"${_parameters.Count}");
            }
            Sql += values.Length == 1 ? $" AND {left}{numbers[0]}" : $" AND {left}({string.Join(", ", numbers)})";
        }
    }

    private static NpgsqlParameter IntOrNull(int? value) => new() { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)value ?? DBNull.Value };

    private static DateTimeOffset? TimeOrNull(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetFieldValue<DateTimeOffset>(i);

    private static string? TextOrNull(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? Truncate(DateTimeOffset? value) => value is { } v ? StoreValues.Truncate(v) : null;

    private static JourneyRecord ReadJourney(NpgsqlDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Key: r.GetInt64(0), Id: r.GetString(2), Name: r.GetString(3), Status: (JourneyStatus)r.GetInt32(4),
        LatestVersion: r.GetInt32(5), LiveVersion: r.IsDBNull(6) ? null : r.GetInt32(6), PendingVersion: r.IsDBNull(7) ? null : r.GetInt32(7),
        PendingBy: TextOrNull(r, 8), Entries: r.GetInt64(9), TriggerType: r.GetString(10), NextRunAt: TimeOrNull(r, 11), RunCursor: r.GetInt64(12),
        CreatedAt: r.GetFieldValue<DateTimeOffset>(13), UpdatedAt: r.GetFieldValue<DateTimeOffset>(14), Revision: r.GetInt64(15));

    private static JourneyVersionRecord ReadVersion(NpgsqlDataReader r) =>
        new(r.GetInt64(0), r.GetInt64(1), r.GetInt32(2), r.GetString(3), r.GetFieldValue<DateTimeOffset>(4), TextOrNull(r, 5));

    private static JourneyInstance ReadInstance(NpgsqlDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Id: r.GetInt64(0), JourneyKey: r.GetInt64(2), Version: r.GetInt32(3), ProfileId: r.GetInt64(4),
        RoutingHash: r.GetInt32(5), Status: (InstanceStatus)r.GetInt32(6), StepId: r.GetString(7), EnteredAt: r.GetFieldValue<DateTimeOffset>(8),
        StepEnteredAt: r.GetFieldValue<DateTimeOffset>(9), Seq: r.GetInt32(10), DueAt: TimeOrNull(r, 11), WaitEvent: TextOrNull(r, 12),
        EntryKey: r.GetString(13), ContextJson: r.GetString(14), EndReason: TextOrNull(r, 15), EndedAt: TimeOrNull(r, 16),
        UpdatedAt: r.GetFieldValue<DateTimeOffset>(17), Revision: r.GetInt64(18));

    private static SendRequest ReadSend(NpgsqlDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Id: r.GetInt64(0), ProfileId: r.GetInt64(2), JourneyKey: r.GetInt64(3), Version: r.GetInt32(4),
        InstanceId: r.GetInt64(5), StepId: r.GetString(6), Seq: r.GetInt32(7), IdempotencyKey: r.GetString(8), Template: r.GetString(9),
        ChannelsJson: r.GetString(10), Category: r.GetString(11), DedupKey: TextOrNull(r, 12), ContextJson: r.GetString(13),
        ScheduledFor: r.GetFieldValue<DateTimeOffset>(14), CreatedAt: r.GetFieldValue<DateTimeOffset>(15), Status: r.GetString(16));

    private static JourneyTask ReadTask(NpgsqlDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Id: r.GetInt64(0), ProfileId: r.GetInt64(2), JourneyKey: r.GetInt64(3), InstanceId: r.GetInt64(4),
        StepId: r.GetString(5), Seq: r.GetInt32(6), Title: r.GetString(7), Note: TextOrNull(r, 8), Assignee: r.GetString(9), FromQueue: r.GetBoolean(10),
        DueAt: r.GetFieldValue<DateTimeOffset>(11), Status: r.GetString(12), CreatedAt: r.GetFieldValue<DateTimeOffset>(13), DoneAt: TimeOrNull(r, 14));

    private static WebhookRequest ReadWebhook(NpgsqlDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Id: r.GetInt64(0), ProfileId: r.GetInt64(2), JourneyKey: r.GetInt64(3), InstanceId: r.GetInt64(4),
        StepId: r.GetString(5), Seq: r.GetInt32(6), IdempotencyKey: r.GetString(7), Url: r.GetString(8), Method: r.GetString(9),
        HeadersJson: r.GetString(10), Body: r.GetString(11), Status: r.GetString(12), Attempts: r.GetInt32(13), NextAttemptAt: TimeOrNull(r, 14),
        LastStatusCode: r.IsDBNull(15) ? null : r.GetInt32(15), LastError: TextOrNull(r, 16), CreatedAt: r.GetFieldValue<DateTimeOffset>(17),
        UpdatedAt: r.GetFieldValue<DateTimeOffset>(18));

    private static JourneyTriggerRecord ReadTrigger(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3),
        r.GetString(4), r.IsDBNull(5) ? null : r.GetInt64(5), r.GetFieldValue<DateTimeOffset>(6));

    // ---- the partition's unit of work ------------------------------------------------------------

    private sealed partial class PostgresProfileTransaction
    {
        public async Task<IReadOnlyList<JourneyInstance>> LoadOpenJourneyInstancesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            ObjectDisposedException.ThrowIf(_finished, this);
            if (profileIds.Count == 0) return [];
            await using var command = Command(
                $"SELECT {InstanceColumns} FROM journey_instances WHERE workspace_id = $1 AND profile_id = ANY($2) AND {OpenStatuses} ORDER BY id");
            command.Parameters.Add(P(workspaceId));
            command.Parameters.Add(P(profileIds.Distinct().ToArray()));
            return await ReadAllAsync(command, ReadInstance, cancellationToken);
        }

        public async Task<IReadOnlyDictionary<long, JourneyInstance>> LoadJourneyInstancesAsync(long workspaceId, IReadOnlyCollection<long> instanceIds,
            CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(instanceIds);
            ObjectDisposedException.ThrowIf(_finished, this);
            if (instanceIds.Count == 0) return new Dictionary<long, JourneyInstance>();
            await using var command = Command($"SELECT {InstanceColumns} FROM journey_instances WHERE id = ANY($2) AND workspace_id = $1");
            command.Parameters.Add(P(workspaceId));
            command.Parameters.Add(P(instanceIds.Distinct().ToArray()));
            return (await ReadAllAsync(command, ReadInstance, cancellationToken)).ToDictionary(i => i.Id);
        }

        public async Task<IReadOnlyDictionary<(long JourneyKey, long ProfileId), (DateTimeOffset LastEnteredAt, bool Active)>> LoadJourneyEntriesAsync(
            long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            ObjectDisposedException.ThrowIf(_finished, this);
            if (profileIds.Count == 0) return new Dictionary<(long, long), (DateTimeOffset, bool)>();
            // Scheduled entries (status 0) have not happened yet.
            await using var command = Command(
                "SELECT journey_key, profile_id, max(entered_at), bool_or(status = 1) FROM journey_instances " +
                "WHERE workspace_id = $1 AND profile_id = ANY($2) AND status <> 0 GROUP BY journey_key, profile_id");
            command.Parameters.Add(P(workspaceId));
            command.Parameters.Add(P(profileIds.Distinct().ToArray()));
            var rows = await ReadAllAsync(command, r => (Key: (r.GetInt64(0), r.GetInt64(1)), Value: (r.GetFieldValue<DateTimeOffset>(2), r.GetBoolean(3))),
                cancellationToken);
            return rows.ToDictionary(x => x.Key, x => x.Value);
        }

        public async Task<bool> JourneyEntryExistsAsync(long workspaceId, long journeyKey, long profileId, string entryKey, CancellationToken cancellationToken)
        {
            await using var command = Command("SELECT 1 FROM journey_instances WHERE journey_key = $1 AND profile_id = $2 AND entry_key = $3");
            command.Parameters.Add(P(journeyKey));
            command.Parameters.Add(P(profileId));
            command.Parameters.Add(P(entryKey));
            return await command.ExecuteScalarAsync(cancellationToken) is not null;
        }

        public async Task<long> ReserveJourneyEntriesAsync(long workspaceId, long journeyKey, long count, long? cap, CancellationToken cancellationToken)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            // FOR UPDATE makes a concurrent reservation wait for this transaction, then compute its grant from the entries
            // this one committed (READ COMMITTED re-reads the locked row); the grant is computed and added in one statement.
            await using var command = Command(
                "WITH c AS (SELECT key, CASE WHEN $4::bigint IS NULL THEN $3 ELSE GREATEST(0, LEAST($3, $4::bigint - entries)) END AS granted " +
                "FROM journeys WHERE workspace_id = $1 AND key = $2 FOR UPDATE) " +
                "UPDATE journeys j SET entries = j.entries + c.granted FROM c WHERE j.key = c.key RETURNING c.granted");
            command.Parameters.Add(P(workspaceId));
            command.Parameters.Add(P(journeyKey));
            command.Parameters.Add(P(count));
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)cap ?? DBNull.Value });
            return await command.ExecuteScalarAsync(cancellationToken) is long granted ? granted : 0;
        }

        public Task<long> ReserveJourneyInstanceIdsAsync(int count, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            return store._journeyInstanceIds.ReserveAsync(count, cancellationToken);
        }

        private const string InstanceArrays =
            "unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::integer[], $5::bigint[], $6::integer[], $7::integer[], $8::text[], " +
            "$9::timestamptz[], $10::timestamptz[], $11::integer[], $12::timestamptz[], $13::text[], $14::text[], $15::text[], $16::text[], " +
            "$17::timestamptz[], $18::timestamptz[], $19::bigint[]) " +
            "AS u(id, w, j, v, p, h, s, step, ea, sa, seq, due, we, ek, ctx, er, ended, upd, rev)";

        public async Task SaveJourneyInstancesAsync(IReadOnlyCollection<JourneyInstance> instances, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(instances);
            ObjectDisposedException.ThrowIf(_finished, this);
            if (instances.Count == 0) return;
            // Writes of one instance apply in the given order, as a sequence of single writes would: its n-th write goes into
            // round n. Within a round, rows are in id order so concurrent batches lock them in the same order.
            var rounds = new List<List<JourneyInstance>>();
            var writes = new Dictionary<long, int>();
            foreach (var instance in instances)
            {
                var n = writes.GetValueOrDefault(instance.Id);
                writes[instance.Id] = n + 1;
                if (rounds.Count == n) rounds.Add([]);
                rounds[n].Add(instance);
            }
            await using var batch = Batch();
            var expected = new List<(int Count, bool Insert)>();
            foreach (var round in rounds)
            {
                var inserts = round.Where(i => i.Revision == 1).OrderBy(i => i.Id).ToArray();
                var updates = round.Where(i => i.Revision != 1).OrderBy(i => i.Id).ToArray();
                if (inserts.Length > 0)
                {
                    // Either unique index (the id, or the entry key of that profile in that journey) turns a row away.
                    batch.BatchCommands.Add(BatchCommand(
                        $"INSERT INTO journey_instances ({InstanceColumns}) SELECT * FROM {InstanceArrays} ON CONFLICT DO NOTHING",
                        InstanceParameters(inserts)));
                    expected.Add((inserts.Length, true));
                }
                if (updates.Length > 0)
                {
                    // As on SQLite: while the journey is paused (held_due_at set) a new due time is held too; no due time
                    // clears the held one. entered_at moves when a scheduled entry starts; journey_key, routing_hash and entry_key never change.
                    batch.BatchCommands.Add(BatchCommand(
                        "UPDATE journey_instances i SET version = u.v, profile_id = u.p, status = u.s, step_id = u.step, entered_at = u.ea, step_entered_at = u.sa, seq = u.seq, " +
                        "due_at = CASE WHEN i.held_due_at IS NOT NULL AND u.due IS NOT NULL THEN NULL ELSE u.due END, " +
                        "held_due_at = CASE WHEN i.held_due_at IS NOT NULL AND u.due IS NOT NULL THEN u.due ELSE NULL END, " +
                        "wait_event = u.we, context = u.ctx, end_reason = u.er, ended_at = u.ended, updated_at = u.upd, revision = u.rev " +
                        $"FROM {InstanceArrays} WHERE i.id = u.id AND i.workspace_id = u.w AND i.revision = u.rev - 1",
                        InstanceParameters(updates)));
                    expected.Add((updates.Length, false));
                }
            }
            await batch.ExecuteNonQueryAsync(cancellationToken);
            for (var i = 0; i < expected.Count; i++)
            {
                var (count, insert) = expected[i];
                var done = batch.BatchCommands[i].RecordsAffected;
                if (done == count) continue;
                throw new ConcurrencyConflictException(insert
                    ? $"Of {count} new journey instances, {count - done} exist already or reuse an entry key."
                    : $"Of {count} journey instance updates, {count - done} found another revision (changed or deleted concurrently).");
            }
        }

        private static NpgsqlParameter[] InstanceParameters(JourneyInstance[] x) =>
        [
            P(Array.ConvertAll(x, i => i.Id)),
            P(Array.ConvertAll(x, i => i.WorkspaceId)),
            P(Array.ConvertAll(x, i => i.JourneyKey)),
            P(Array.ConvertAll(x, i => i.Version)),
            P(Array.ConvertAll(x, i => i.ProfileId)),
            P(Array.ConvertAll(x, i => i.RoutingHash)),
            P(Array.ConvertAll(x, i => (int)i.Status)),
            P(Array.ConvertAll(x, i => i.StepId)),
            P(Array.ConvertAll(x, i => StoreValues.Truncate(i.EnteredAt))),
            P(Array.ConvertAll(x, i => StoreValues.Truncate(i.StepEnteredAt))),
            P(Array.ConvertAll(x, i => i.Seq)),
            P(Array.ConvertAll(x, i => Truncate(i.DueAt))),
            P(Array.ConvertAll(x, i => i.WaitEvent)),
            P(Array.ConvertAll(x, i => i.EntryKey)),
            P(Array.ConvertAll(x, i => i.ContextJson)),
            P(Array.ConvertAll(x, i => i.EndReason)),
            P(Array.ConvertAll(x, i => Truncate(i.EndedAt))),
            P(Array.ConvertAll(x, i => StoreValues.Truncate(i.UpdatedAt))),
            P(Array.ConvertAll(x, i => i.Revision)),
        ];

        public async Task WriteJourneyEffectsAsync(IReadOnlyCollection<SendRequest> sends, IReadOnlyCollection<JourneyTask> tasks,
            IReadOnlyCollection<WebhookRequest> webhooks, IReadOnlyCollection<JourneyConversion> conversions, IReadOnlyCollection<JourneyStatDelta> stats,
            CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(sends);
            ArgumentNullException.ThrowIfNull(tasks);
            ArgumentNullException.ThrowIfNull(webhooks);
            ArgumentNullException.ThrowIfNull(conversions);
            ArgumentNullException.ThrowIfNull(stats);
            ObjectDisposedException.ThrowIf(_finished, this);
            // One round trip for all of it. Ids follow the given order (ORDER BY the ordinality); a repeated (instance, seq)
            // — a replayed transition — is turned away by the unique index.
            await using var batch = Batch();
            if (sends.Count > 0)
            {
                var s = sends as SendRequest[] ?? sends.ToArray();
                batch.BatchCommands.Add(BatchCommand(
                    "INSERT INTO send_requests (workspace_id, profile_id, journey_key, version, instance_id, step_id, seq, idempotency_key, template, " +
                    "channels, category, dedup_key, context, scheduled_for, created_at, status) " +
                    "SELECT u.w, u.p, u.j, u.v, u.i, u.step, u.seq, u.k, u.t, u.ch, u.cat, u.dd, u.ctx, u.sf, u.c, u.s FROM unnest($1::bigint[], " +
                    "$2::bigint[], $3::bigint[], $4::integer[], $5::bigint[], $6::text[], $7::integer[], $8::text[], $9::text[], $10::text[], $11::text[], " +
                    "$12::text[], $13::text[], $14::timestamptz[], $15::timestamptz[], $16::text[]) " +
                    "WITH ORDINALITY AS u(w, p, j, v, i, step, seq, k, t, ch, cat, dd, ctx, sf, c, s, n) ORDER BY u.n " +
                    "ON CONFLICT (instance_id, seq) DO NOTHING",
                    P(Array.ConvertAll(s, x => x.WorkspaceId)),
                    P(Array.ConvertAll(s, x => x.ProfileId)),
                    P(Array.ConvertAll(s, x => x.JourneyKey)),
                    P(Array.ConvertAll(s, x => x.Version)),
                    P(Array.ConvertAll(s, x => x.InstanceId)),
                    P(Array.ConvertAll(s, x => x.StepId)),
                    P(Array.ConvertAll(s, x => x.Seq)),
                    P(Array.ConvertAll(s, x => x.IdempotencyKey)),
                    P(Array.ConvertAll(s, x => x.Template)),
                    P(Array.ConvertAll(s, x => x.ChannelsJson)),
                    P(Array.ConvertAll(s, x => x.Category)),
                    P(Array.ConvertAll(s, x => x.DedupKey)),
                    P(Array.ConvertAll(s, x => x.ContextJson)),
                    P(Array.ConvertAll(s, x => StoreValues.Truncate(x.ScheduledFor))),
                    P(Array.ConvertAll(s, x => StoreValues.Truncate(x.CreatedAt))),
                    P(Array.ConvertAll(s, x => x.Status))));
            }
            if (tasks.Count > 0)
            {
                var t = tasks as JourneyTask[] ?? tasks.ToArray();
                batch.BatchCommands.Add(BatchCommand(
                    "INSERT INTO tasks (workspace_id, profile_id, journey_key, instance_id, step_id, seq, title, note, assignee, from_queue, due_at, " +
                    "status, created_at, done_at) " +
                    "SELECT u.w, u.p, u.j, u.i, u.step, u.seq, u.t, u.note, u.a, u.q, u.due, u.s, u.c, u.done FROM unnest($1::bigint[], $2::bigint[], " +
                    "$3::bigint[], $4::bigint[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::text[], $10::boolean[], $11::timestamptz[], " +
                    "$12::text[], $13::timestamptz[], $14::timestamptz[]) " +
                    "WITH ORDINALITY AS u(w, p, j, i, step, seq, t, note, a, q, due, s, c, done, n) ORDER BY u.n " +
                    "ON CONFLICT (instance_id, seq) DO NOTHING",
                    P(Array.ConvertAll(t, x => x.WorkspaceId)),
                    P(Array.ConvertAll(t, x => x.ProfileId)),
                    P(Array.ConvertAll(t, x => x.JourneyKey)),
                    P(Array.ConvertAll(t, x => x.InstanceId)),
                    P(Array.ConvertAll(t, x => x.StepId)),
                    P(Array.ConvertAll(t, x => x.Seq)),
                    P(Array.ConvertAll(t, x => x.Title)),
                    P(Array.ConvertAll(t, x => x.Note)),
                    P(Array.ConvertAll(t, x => x.Assignee)),
                    P(Array.ConvertAll(t, x => x.FromQueue)),
                    P(Array.ConvertAll(t, x => StoreValues.Truncate(x.DueAt))),
                    P(Array.ConvertAll(t, x => x.Status)),
                    P(Array.ConvertAll(t, x => StoreValues.Truncate(x.CreatedAt))),
                    P(Array.ConvertAll(t, x => Truncate(x.DoneAt)))));
            }
            if (webhooks.Count > 0)
            {
                var h = webhooks as WebhookRequest[] ?? webhooks.ToArray();
                batch.BatchCommands.Add(BatchCommand(
                    "INSERT INTO webhook_requests (workspace_id, profile_id, journey_key, instance_id, step_id, seq, idempotency_key, url, method, headers, " +
                    "body, status, attempts, next_attempt_at, last_status, last_error, created_at, updated_at) " +
                    "SELECT u.w, u.p, u.j, u.i, u.step, u.seq, u.k, u.url, u.m, u.h, u.b, u.s, u.a, u.next, u.ls, u.le, u.c, u.upd FROM unnest(" +
                    "$1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::text[], $10::text[], " +
                    "$11::text[], $12::text[], $13::integer[], $14::timestamptz[], $15::integer[], $16::text[], $17::timestamptz[], $18::timestamptz[]) " +
                    "WITH ORDINALITY AS u(w, p, j, i, step, seq, k, url, m, h, b, s, a, next, ls, le, c, upd, n) ORDER BY u.n " +
                    "ON CONFLICT (instance_id, seq) DO NOTHING",
                    P(Array.ConvertAll(h, x => x.WorkspaceId)),
                    P(Array.ConvertAll(h, x => x.ProfileId)),
                    P(Array.ConvertAll(h, x => x.JourneyKey)),
                    P(Array.ConvertAll(h, x => x.InstanceId)),
                    P(Array.ConvertAll(h, x => x.StepId)),
                    P(Array.ConvertAll(h, x => x.Seq)),
                    P(Array.ConvertAll(h, x => x.IdempotencyKey)),
                    P(Array.ConvertAll(h, x => x.Url)),
                    P(Array.ConvertAll(h, x => x.Method)),
                    P(Array.ConvertAll(h, x => x.HeadersJson)),
                    P(Array.ConvertAll(h, x => x.Body)),
                    P(Array.ConvertAll(h, x => x.Status)),
                    P(Array.ConvertAll(h, x => x.Attempts)),
                    P(Array.ConvertAll(h, x => Truncate(x.NextAttemptAt))),
                    P(Array.ConvertAll(h, x => x.LastStatusCode)),
                    P(Array.ConvertAll(h, x => x.LastError)),
                    P(Array.ConvertAll(h, x => StoreValues.Truncate(x.CreatedAt))),
                    P(Array.ConvertAll(h, x => StoreValues.Truncate(x.UpdatedAt)))));
            }
            if (conversions.Count > 0)
            {
                var c = conversions as JourneyConversion[] ?? conversions.ToArray();
                batch.BatchCommands.Add(BatchCommand(
                    "INSERT INTO journey_conversions (workspace_id, journey_key, version, instance_id, profile_id, at, last_step, variants) " +
                    "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::integer[], $4::bigint[], $5::bigint[], $6::timestamptz[], $7::text[], $8::text[]) " +
                    "ON CONFLICT DO NOTHING",
                    P(Array.ConvertAll(c, x => x.WorkspaceId)),
                    P(Array.ConvertAll(c, x => x.JourneyKey)),
                    P(Array.ConvertAll(c, x => x.Version)),
                    P(Array.ConvertAll(c, x => x.InstanceId)),
                    P(Array.ConvertAll(c, x => x.ProfileId)),
                    P(Array.ConvertAll(c, x => StoreValues.Truncate(x.At))),
                    P(Array.ConvertAll(c, x => x.LastStep)),
                    P(Array.ConvertAll(c, x => x.VariantsJson))));
            }
            if (stats.Count > 0)
            {
                // One row per counter (an upsert cannot touch a row twice), summed, in key order for lock ordering.
                var d = stats
                    .GroupBy(x => (x.JourneyKey, x.Version, x.StepId, x.Kind, x.Shard))
                    .Select(g => g.First() with { Delta = g.Sum(x => x.Delta) })
                    .OrderBy(x => x.JourneyKey).ThenBy(x => x.Version).ThenBy(x => x.StepId, StringComparer.Ordinal)
                    .ThenBy(x => x.Kind, StringComparer.Ordinal).ThenBy(x => x.Shard)
                    .ToArray();
                batch.BatchCommands.Add(BatchCommand(
                    "INSERT INTO journey_stats (workspace_id, journey_key, version, step_id, kind, shard, count) " +
                    "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::integer[], $4::text[], $5::text[], $6::integer[], $7::bigint[]) " +
                    "ON CONFLICT (journey_key, version, step_id, kind, shard) DO UPDATE SET count = journey_stats.count + excluded.count",
                    P(Array.ConvertAll(d, x => x.WorkspaceId)),
                    P(Array.ConvertAll(d, x => x.JourneyKey)),
                    P(Array.ConvertAll(d, x => x.Version)),
                    P(Array.ConvertAll(d, x => x.StepId)),
                    P(Array.ConvertAll(d, x => x.Kind)),
                    P(Array.ConvertAll(d, x => x.Shard)),
                    P(Array.ConvertAll(d, x => x.Delta))));
            }
            if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        public async Task RecordJourneyTriggerAsync(JourneyTriggerRecord trigger, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(trigger);
            // A concurrent batch recording the same key makes this wait for it; if it commits, nothing is inserted here.
            await using var command = Command(
                "INSERT INTO journey_triggers (workspace_id, journey_key, idempotency_key, body_hash, outcome, instance_id, created_at) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING");
            command.Parameters.Add(P(trigger.WorkspaceId));
            command.Parameters.Add(P(trigger.JourneyKey));
            command.Parameters.Add(P(trigger.IdempotencyKey));
            command.Parameters.Add(P(trigger.BodyHash));
            command.Parameters.Add(P(trigger.Outcome));
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)trigger.InstanceId ?? DBNull.Value });
            command.Parameters.Add(P(StoreValues.Truncate(trigger.CreatedAt)));
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                throw new ConcurrencyConflictException($"Idempotency key '{trigger.IdempotencyKey}' is recorded already.");
        }

        public async Task<JourneyTriggerRecord?> FindJourneyTriggerAsync(long workspaceId, long journeyKey, string idempotencyKey, CancellationToken cancellationToken)
        {
            await using var command = Command(TriggerSelect);
            command.Parameters.Add(P(workspaceId));
            command.Parameters.Add(P(journeyKey));
            command.Parameters.Add(P(idempotencyKey));
            return (await ReadAllAsync(command, ReadTrigger, cancellationToken)).FirstOrDefault();
        }
    }
}
