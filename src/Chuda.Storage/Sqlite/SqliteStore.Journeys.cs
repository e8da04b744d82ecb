using Chuda.Domain.Journeys;
using Chuda.Storage.Internal;
using Microsoft.Data.Sqlite;

namespace Chuda.Storage.Sqlite;

// Journeys and their runtime state. See IChudaStore.Journeys.cs for the contract.
public sealed partial class SqliteStore
{
    private const string JourneyColumns =
        "key, workspace_id, id, name, status, latest_version, live_version, pending_version, pending_by, entries, trigger_type, " +
        "next_run_at, run_cursor, created_at, updated_at, revision";

    private const string SendColumns =
        "id, workspace_id, profile_id, journey_key, version, instance_id, step_id, seq, idempotency_key, template, channels, category, " +
        "dedup_key, context, scheduled_for, created_at, status";

    private const string TaskColumns =
        "id, workspace_id, profile_id, journey_key, instance_id, step_id, seq, title, note, assignee, from_queue, due_at, status, created_at, done_at";

    private const string WebhookColumns =
        "id, workspace_id, profile_id, journey_key, instance_id, step_id, seq, idempotency_key, url, method, headers, body, status, attempts, " +
        "next_attempt_at, last_status, last_error, created_at, updated_at";

    /// <summary>Tables holding what a profile's journey instances produced.</summary>
    private static readonly string[] JourneyOutputTables = ["send_requests", "tasks", "webhook_requests", "journey_conversions"];

    /// <summary>Tables holding a profile's journey state and output: moved on merge, deleted on erasure.</summary>
    private static readonly string[] JourneyProfileTables = ["journey_instances", .. JourneyOutputTables];

    /// <summary>The next journey instance id not handed out by this store (guarded by the writer gate); see ReserveJourneyInstanceIdsAsync.</summary>
    private long _instanceIdFloor;

    /// <summary>
    /// Moves a merged profile's journey rows to the survivor (<c>$w</c>, <c>$from</c>, <c>$into</c> bound on
    /// <paramref name="command"/>). Its instances take the survivor's routing hash when the survivor is stored (their timers
    /// then fire in the survivor's home partition); an instance whose entry key the survivor already used in that journey
    /// (both entered the same broadcast run, say) gets a unique key, so the one-entry-per-key index holds and the merge goes
    /// through; the survivor's entry keeps the key.
    /// </summary>
    private static void MoveJourneyRows(SqliteCommand command)
    {
        command.CommandText =
            "UPDATE journey_instances SET profile_id = $into, " +
            "routing_hash = coalesce((SELECT p.routing_hash FROM profiles p WHERE p.id = $into AND p.workspace_id = $w), routing_hash), " +
            "entry_key = CASE WHEN EXISTS (SELECT 1 FROM journey_instances s WHERE s.journey_key = journey_instances.journey_key " +
            $"AND s.profile_id = $into AND s.entry_key = journey_instances.entry_key) THEN entry_key || '{JourneyStoreValues.MergedEntryKeyInfix}' || id " +
            "ELSE entry_key END " +
            "WHERE workspace_id = $w AND profile_id = $from";
        command.ExecuteNonQuery();
        foreach (var table in JourneyOutputTables)
        {
            command.CommandText = $"UPDATE {table} SET profile_id = $into WHERE workspace_id = $w AND profile_id = $from";
            command.ExecuteNonQuery();
        }
    }

    /// <summary>A listing's page size: at least one (SQLite would read a negative LIMIT as none).</summary>
    private static int Limit(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return limit;
    }

    private static object Db(DateTimeOffset? value) => value is { } v ? StoreValues.ToMillis(v) : DBNull.Value;

    private static object Db(string? value) => (object?)value ?? DBNull.Value;

    private static DateTimeOffset? Time(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : StoreValues.FromMillis(r.GetInt64(i));

    private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static JourneyRecord ReadJourney(SqliteDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Key: r.GetInt64(0), Id: r.GetString(2), Name: r.GetString(3), Status: (JourneyStatus)r.GetInt32(4),
        LatestVersion: r.GetInt32(5), LiveVersion: r.IsDBNull(6) ? null : r.GetInt32(6), PendingVersion: r.IsDBNull(7) ? null : r.GetInt32(7),
        PendingBy: Text(r, 8), Entries: r.GetInt64(9), TriggerType: r.GetString(10), NextRunAt: Time(r, 11), RunCursor: r.GetInt64(12),
        CreatedAt: StoreValues.FromMillis(r.GetInt64(13)), UpdatedAt: StoreValues.FromMillis(r.GetInt64(14)), Revision: r.GetInt64(15));

    internal static JourneyInstance ReadInstance(SqliteDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Id: r.GetInt64(0), JourneyKey: r.GetInt64(2), Version: r.GetInt32(3), ProfileId: r.GetInt64(4),
        RoutingHash: r.GetInt32(5), Status: (InstanceStatus)r.GetInt32(6), StepId: r.GetString(7), EnteredAt: StoreValues.FromMillis(r.GetInt64(8)),
        StepEnteredAt: StoreValues.FromMillis(r.GetInt64(9)), Seq: r.GetInt32(10), DueAt: Time(r, 11), WaitEvent: Text(r, 12),
        EntryKey: r.GetString(13), ContextJson: r.GetString(14), EndReason: Text(r, 15), EndedAt: Time(r, 16),
        UpdatedAt: StoreValues.FromMillis(r.GetInt64(17)), Revision: r.GetInt64(18));

    private static SendRequest ReadSend(SqliteDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Id: r.GetInt64(0), ProfileId: r.GetInt64(2), JourneyKey: r.GetInt64(3), Version: r.GetInt32(4),
        InstanceId: r.GetInt64(5), StepId: r.GetString(6), Seq: r.GetInt32(7), IdempotencyKey: r.GetString(8), Template: r.GetString(9),
        ChannelsJson: r.GetString(10), Category: r.GetString(11), DedupKey: Text(r, 12), ContextJson: r.GetString(13),
        ScheduledFor: StoreValues.FromMillis(r.GetInt64(14)), CreatedAt: StoreValues.FromMillis(r.GetInt64(15)), Status: r.GetString(16));

    private static JourneyTask ReadTask(SqliteDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Id: r.GetInt64(0), ProfileId: r.GetInt64(2), JourneyKey: r.GetInt64(3), InstanceId: r.GetInt64(4),
        StepId: r.GetString(5), Seq: r.GetInt32(6), Title: r.GetString(7), Note: Text(r, 8), Assignee: r.GetString(9), FromQueue: r.GetInt64(10) != 0,
        DueAt: StoreValues.FromMillis(r.GetInt64(11)), Status: r.GetString(12), CreatedAt: StoreValues.FromMillis(r.GetInt64(13)), DoneAt: Time(r, 14));

    private static WebhookRequest ReadWebhook(SqliteDataReader r) => new(
        WorkspaceId: r.GetInt64(1), Id: r.GetInt64(0), ProfileId: r.GetInt64(2), JourneyKey: r.GetInt64(3), InstanceId: r.GetInt64(4),
        StepId: r.GetString(5), Seq: r.GetInt32(6), IdempotencyKey: r.GetString(7), Url: r.GetString(8), Method: r.GetString(9),
        HeadersJson: r.GetString(10), Body: r.GetString(11), Status: r.GetString(12), Attempts: r.GetInt32(13), NextAttemptAt: Time(r, 14),
        LastStatusCode: r.IsDBNull(15) ? null : r.GetInt32(15), LastError: Text(r, 16), CreatedAt: StoreValues.FromMillis(r.GetInt64(17)),
        UpdatedAt: StoreValues.FromMillis(r.GetInt64(18)));

    private List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        using var reader = command.ExecuteReader();
        var list = new List<T>();
        while (reader.Read()) list.Add(read(reader));
        return list;
    }

    // ---- journeys ---------------------------------------------------------------------------------

    public async Task<JourneyRecord> CreateJourneyAsync(JourneyRecord journey, JourneyVersionRecord firstVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journey);
        ArgumentNullException.ThrowIfNull(firstVersion);
        var key = await WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText =
                "INSERT INTO journeys (workspace_id, id, name, status, latest_version, live_version, pending_version, pending_by, entries, trigger_type, " +
                "next_run_at, run_cursor, created_at, updated_at, revision) VALUES ($w, $id, $n, $s, $lv, $live, $pv, $pb, $e, $tt, $nr, $rc, $c, $u, $rev) " +
                "ON CONFLICT (workspace_id, id) DO NOTHING RETURNING key";
            BindJourney(command, journey);
            command.Parameters.AddWithValue("$id", journey.Id);
            command.Parameters.AddWithValue("$e", journey.Entries);
            command.Parameters.AddWithValue("$c", StoreValues.ToMillis(journey.CreatedAt));
            if (command.ExecuteScalar() is not long k) return (long?)null;
            InsertVersion(connection, tx, firstVersion with { JourneyKey = k });
            tx.Commit();
            return k;
        }, cancellationToken);
        if (key is null) throw new DuplicateNameException($"The workspace already has a journey '{journey.Id}'.");
        return JourneyStoreValues.Normalize(journey) with { Key = key.Value };
    }

    private static void BindJourney(SqliteCommand command, JourneyRecord j)
    {
        var ps = command.Parameters;
        ps.AddWithValue("$w", j.WorkspaceId);
        ps.AddWithValue("$n", j.Name);
        ps.AddWithValue("$s", (int)j.Status);
        ps.AddWithValue("$lv", j.LatestVersion);
        ps.AddWithValue("$live", (object?)j.LiveVersion ?? DBNull.Value);
        ps.AddWithValue("$pv", (object?)j.PendingVersion ?? DBNull.Value);
        ps.AddWithValue("$pb", Db(j.PendingBy));
        ps.AddWithValue("$tt", j.TriggerType);
        ps.AddWithValue("$nr", Db(j.NextRunAt));
        ps.AddWithValue("$rc", j.RunCursor);
        ps.AddWithValue("$u", StoreValues.ToMillis(j.UpdatedAt));
        ps.AddWithValue("$rev", j.Revision);
    }

    private static void InsertVersion(SqliteConnection connection, SqliteTransaction tx, JourneyVersionRecord v)
    {
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = "INSERT INTO journey_versions (workspace_id, journey_key, version, definition, created_at, created_by) VALUES ($w, $j, $v, $d, $c, $b)";
        command.Parameters.AddWithValue("$w", v.WorkspaceId);
        command.Parameters.AddWithValue("$j", v.JourneyKey);
        command.Parameters.AddWithValue("$v", v.Version);
        command.Parameters.AddWithValue("$d", v.DefinitionJson);
        command.Parameters.AddWithValue("$c", StoreValues.ToMillis(v.CreatedAt));
        command.Parameters.AddWithValue("$b", Db(v.CreatedBy));
        command.ExecuteNonQuery();
    }

    public Task<JourneyRecord?> GetJourneyAsync(long workspaceId, string id, CancellationToken cancellationToken) =>
        Task.FromResult(Query($"SELECT {JourneyColumns} FROM journeys WHERE workspace_id = $w AND id = $id", ReadJourney, ("$w", workspaceId), ("$id", id)).FirstOrDefault());

    public Task<JourneyRecord?> GetJourneyByKeyAsync(long workspaceId, long key, CancellationToken cancellationToken) =>
        Task.FromResult(Query($"SELECT {JourneyColumns} FROM journeys WHERE workspace_id = $w AND key = $k", ReadJourney, ("$w", workspaceId), ("$k", key)).FirstOrDefault());

    public Task<IReadOnlyList<JourneyRecord>> ListJourneysAsync(long? workspaceId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JourneyRecord>>(workspaceId is { } w
            ? Query($"SELECT {JourneyColumns} FROM journeys WHERE workspace_id = $w ORDER BY id", ReadJourney, ("$w", w))
            : Query($"SELECT {JourneyColumns} FROM journeys ORDER BY workspace_id, id", ReadJourney));

    public Task<bool> UpdateJourneyAsync(JourneyRecord journey, long expectedRevision, JourneyVersionRecord? newVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(journey);
        return WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText =
                "UPDATE journeys SET name = $n, status = $s, latest_version = $lv, live_version = $live, pending_version = $pv, pending_by = $pb, " +
                "trigger_type = $tt, next_run_at = $nr, run_cursor = $rc, updated_at = $u, revision = $expected + 1 " +
                "WHERE workspace_id = $w AND key = $k AND revision = $expected";
            BindJourney(command, journey);
            command.Parameters.AddWithValue("$k", journey.Key);
            command.Parameters.AddWithValue("$expected", expectedRevision);
            if (command.ExecuteNonQuery() == 0) return false;
            if (newVersion is not null) InsertVersion(connection, tx, newVersion with { JourneyKey = journey.Key });
            tx.Commit();
            return true;
        }, cancellationToken);
    }

    public Task SetJourneyRunAsync(long workspaceId, long key, long runCursor, DateTimeOffset? nextRunAt, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE journeys SET run_cursor = $rc, next_run_at = $nr WHERE workspace_id = $w AND key = $k";
            command.Parameters.AddWithValue("$rc", runCursor);
            command.Parameters.AddWithValue("$nr", Db(nextRunAt));
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$k", key);
            return command.ExecuteNonQuery();
        }, cancellationToken);

    private static JourneyVersionRecord ReadVersion(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetInt64(1), r.GetInt32(2), r.GetString(3), StoreValues.FromMillis(r.GetInt64(4)), Text(r, 5));

    public Task<JourneyVersionRecord?> GetJourneyVersionAsync(long workspaceId, long journeyKey, int version, CancellationToken cancellationToken) =>
        Task.FromResult(Query("SELECT workspace_id, journey_key, version, definition, created_at, created_by FROM journey_versions " +
            "WHERE workspace_id = $w AND journey_key = $j AND version = $v", ReadVersion, ("$w", workspaceId), ("$j", journeyKey), ("$v", version)).FirstOrDefault());

    public Task<IReadOnlyList<JourneyVersionRecord>> ListJourneyVersionsAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JourneyVersionRecord>>(Query("SELECT workspace_id, journey_key, version, definition, created_at, created_by FROM journey_versions " +
            "WHERE workspace_id = $w AND journey_key = $j ORDER BY version", ReadVersion, ("$w", workspaceId), ("$j", journeyKey)));

    public Task<IReadOnlyList<JourneyRecord>> GetDueJourneyRunsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JourneyRecord>>(Query($"SELECT {JourneyColumns} FROM journeys WHERE next_run_at IS NOT NULL AND next_run_at <= $now ORDER BY next_run_at, key",
            ReadJourney, ("$now", StoreValues.ToMillis(now))));

    // ---- instances and timers -------------------------------------------------------------------------

    public Task<IReadOnlyList<JourneyTimer>> GetDueJourneyTimersAsync(DateTimeOffset now, int limit, DateTimeOffset? afterDue, long afterId, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        // Only open instances are timers: a closed one that kept a due time must not fire (again and again).
        var sql = afterDue is null
            ? "SELECT workspace_id, id, profile_id, routing_hash, due_at FROM journey_instances WHERE due_at IS NOT NULL AND due_at <= $now " +
              "AND status IN (0, 1) ORDER BY due_at, id LIMIT $limit"
            : "SELECT workspace_id, id, profile_id, routing_hash, due_at FROM journey_instances WHERE due_at IS NOT NULL AND due_at <= $now " +
              "AND (due_at > $ad OR (due_at = $ad AND id > $ai)) AND status IN (0, 1) ORDER BY due_at, id LIMIT $limit";
        return Task.FromResult<IReadOnlyList<JourneyTimer>>(Query(sql,
            r => new JourneyTimer(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt32(3), StoreValues.FromMillis(r.GetInt64(4))),
            ("$now", StoreValues.ToMillis(now)), ("$limit", Limit(limit)), ("$ad", afterDue is { } a ? StoreValues.ToMillis(a) : 0L), ("$ai", afterId)));
    }

    public Task<DateTimeOffset?> GetNextJourneyTimerDueAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Query("SELECT min(due_at) FROM journey_instances WHERE due_at IS NOT NULL AND status IN (0, 1)", r => Time(r, 0)).FirstOrDefault());

    public Task<IReadOnlyList<JourneyInstance>> GetProfileJourneyInstancesAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JourneyInstance>>(Query($"SELECT {SqliteCommands.InstanceColumns} FROM journey_instances " +
            "WHERE workspace_id = $w AND profile_id = $p ORDER BY entered_at DESC, id DESC LIMIT $limit", ReadInstance,
            ("$w", workspaceId), ("$p", profileId), ("$limit", Limit(limit))));

    public Task<JourneyInstance?> GetJourneyInstanceAsync(long workspaceId, long instanceId, CancellationToken cancellationToken) =>
        Task.FromResult(Query($"SELECT {SqliteCommands.InstanceColumns} FROM journey_instances WHERE workspace_id = $w AND id = $id", ReadInstance,
            ("$w", workspaceId), ("$id", instanceId)).FirstOrDefault());

    public Task<IReadOnlyList<JourneyInstance>> GetOpenJourneyInstancesAsync(long workspaceId, long journeyKey, long afterId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JourneyInstance>>(Query($"SELECT {SqliteCommands.InstanceColumns} FROM journey_instances " +
            "WHERE journey_key = $j AND status IN (0, 1) AND id > $after AND workspace_id = $w ORDER BY id LIMIT $limit", ReadInstance,
            ("$w", workspaceId), ("$j", journeyKey), ("$after", afterId), ("$limit", Limit(limit))));

    public Task<long> HoldJourneyTimersAsync(long workspaceId, long journeyKey, bool hold, DateTimeOffset resumeAt, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = hold
                ? "UPDATE journey_instances SET held_due_at = due_at, due_at = NULL WHERE journey_key = $j AND workspace_id = $w AND status IN (0, 1) AND due_at IS NOT NULL"
                : "UPDATE journey_instances SET due_at = max(held_due_at, $at), held_due_at = NULL WHERE journey_key = $j AND workspace_id = $w AND held_due_at IS NOT NULL";
            command.Parameters.AddWithValue("$j", journeyKey);
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$at", StoreValues.ToMillis(resumeAt));
            return (long)command.ExecuteNonQuery();
        }, cancellationToken);

    public Task<IReadOnlyList<JourneyStat>> GetJourneyWaitingAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JourneyStat>>(Query(
            "SELECT version, step_id, CASE status WHEN 0 THEN 'scheduled' ELSE 'waiting' END, count(*) FROM journey_instances " +
            "WHERE journey_key = $j AND status IN (0, 1) AND workspace_id = $w GROUP BY version, step_id, status ORDER BY version, step_id, 3",
            r => new JourneyStat(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetInt64(3)), ("$w", workspaceId), ("$j", journeyKey)));

    public Task<IReadOnlyList<JourneyStat>> GetJourneyStatsAsync(long workspaceId, long journeyKey, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JourneyStat>>(Query(
            "SELECT version, step_id, kind, sum(count) FROM journey_stats WHERE journey_key = $j AND workspace_id = $w " +
            "GROUP BY version, step_id, kind ORDER BY version, step_id, kind",
            r => new JourneyStat(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetInt64(3)), ("$w", workspaceId), ("$j", journeyKey)));

    public Task<IReadOnlyList<JourneyConversion>> GetJourneyConversionsAsync(long workspaceId, long journeyKey, long afterInstanceId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JourneyConversion>>(Query(
            "SELECT workspace_id, journey_key, version, instance_id, profile_id, at, last_step, variants FROM journey_conversions " +
            "WHERE journey_key = $j AND instance_id > $after AND workspace_id = $w ORDER BY instance_id LIMIT $limit",
            r => new JourneyConversion(r.GetInt64(0), r.GetInt64(1), r.GetInt32(2), r.GetInt64(3), r.GetInt64(4), StoreValues.FromMillis(r.GetInt64(5)), r.GetString(6), r.GetString(7)),
            ("$w", workspaceId), ("$j", journeyKey), ("$after", afterInstanceId), ("$limit", Limit(limit))));

    // ---- outgoing requests ------------------------------------------------------------------------------

    public Task<IReadOnlyList<SendRequest>> GetSendRequestsAsync(long workspaceId, long? profileId, long? journeyKey, long afterId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<SendRequest>>(Query($"SELECT {SendColumns} FROM send_requests WHERE workspace_id = $w AND id > $after " +
            "AND ($p IS NULL OR profile_id = $p) AND ($j IS NULL OR journey_key = $j) ORDER BY id LIMIT $limit", ReadSend,
            ("$w", workspaceId), ("$after", afterId), ("$p", profileId), ("$j", journeyKey), ("$limit", Limit(limit))));

    public Task<IReadOnlyList<JourneyTask>> GetTasksAsync(long workspaceId, string? assignee, DateTimeOffset? dueBefore, string? status,
        DateTimeOffset? afterDue, long afterId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JourneyTask>>(Query($"SELECT {TaskColumns} FROM tasks WHERE workspace_id = $w " +
            "AND ($a IS NULL OR assignee = $a) AND ($db IS NULL OR due_at < $db) AND ($s IS NULL OR status = $s) " +
            "AND ($ad IS NULL OR due_at > $ad OR (due_at = $ad AND id > $ai)) ORDER BY due_at, id LIMIT $limit", ReadTask,
            ("$w", workspaceId), ("$a", assignee), ("$db", dueBefore is { } d ? StoreValues.ToMillis(d) : null), ("$s", status),
            ("$ad", afterDue is { } a ? StoreValues.ToMillis(a) : null), ("$ai", afterId), ("$limit", Limit(limit))));

    public Task<bool> CompleteTaskAsync(long workspaceId, long taskId, DateTimeOffset at, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE tasks SET status = 'done', done_at = $at WHERE workspace_id = $w AND id = $id AND status = 'open'";
            command.Parameters.AddWithValue("$at", StoreValues.ToMillis(at));
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$id", taskId);
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);

    public Task<IReadOnlyList<WebhookRequest>> GetDueWebhooksAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<WebhookRequest>>(Query($"SELECT {WebhookColumns} FROM webhook_requests WHERE status = 'pending' " +
            "AND next_attempt_at <= $now ORDER BY next_attempt_at, id LIMIT $limit", ReadWebhook, ("$now", StoreValues.ToMillis(now)), ("$limit", Limit(limit))));

    public Task<DateTimeOffset?> GetNextWebhookDueAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Query("SELECT min(next_attempt_at) FROM webhook_requests WHERE status = 'pending'", r => Time(r, 0)).FirstOrDefault());

    public Task UpdateWebhookAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE webhook_requests SET status = $s, attempts = $a, next_attempt_at = $next, last_status = $ls, last_error = $le, " +
                "updated_at = $u WHERE workspace_id = $w AND id = $id";
            command.Parameters.AddWithValue("$s", request.Status);
            command.Parameters.AddWithValue("$a", request.Attempts);
            command.Parameters.AddWithValue("$next", Db(request.NextAttemptAt));
            command.Parameters.AddWithValue("$ls", (object?)request.LastStatusCode ?? DBNull.Value);
            command.Parameters.AddWithValue("$le", Db(request.LastError));
            command.Parameters.AddWithValue("$u", StoreValues.ToMillis(request.UpdatedAt));
            command.Parameters.AddWithValue("$w", request.WorkspaceId);
            command.Parameters.AddWithValue("$id", request.Id);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<IReadOnlyList<WebhookRequest>> GetWebhooksAsync(long workspaceId, long? journeyKey, long afterId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<WebhookRequest>>(Query($"SELECT {WebhookColumns} FROM webhook_requests WHERE workspace_id = $w " +
            "AND ($j IS NULL OR journey_key = $j) AND id > $after ORDER BY id LIMIT $limit", ReadWebhook,
            ("$w", workspaceId), ("$j", journeyKey), ("$after", afterId), ("$limit", Limit(limit))));

    // ---- triggers, audit, settings --------------------------------------------------------------------

    private static JourneyTriggerRecord ReadTrigger(SqliteDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3),
        r.GetString(4), r.IsDBNull(5) ? null : r.GetInt64(5), StoreValues.FromMillis(r.GetInt64(6)));

    private const string TriggerSelect = "SELECT workspace_id, journey_key, idempotency_key, body_hash, outcome, instance_id, created_at FROM journey_triggers " +
        "WHERE workspace_id = $w AND journey_key = $j AND idempotency_key = $k";

    public Task<JourneyTriggerRecord?> FindJourneyTriggerAsync(long workspaceId, long journeyKey, string idempotencyKey, CancellationToken cancellationToken) =>
        Task.FromResult(Query(TriggerSelect, ReadTrigger, ("$w", workspaceId), ("$j", journeyKey), ("$k", idempotencyKey)).FirstOrDefault());

    public Task AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO audit_log (workspace_id, at, actor, action, target_type, target_id, detail) VALUES ($w, $at, $a, $act, $tt, $ti, $d)";
            command.Parameters.AddWithValue("$w", entry.WorkspaceId);
            command.Parameters.AddWithValue("$at", StoreValues.ToMillis(entry.At));
            command.Parameters.AddWithValue("$a", entry.Actor);
            command.Parameters.AddWithValue("$act", entry.Action);
            command.Parameters.AddWithValue("$tt", entry.TargetType);
            command.Parameters.AddWithValue("$ti", entry.TargetId);
            command.Parameters.AddWithValue("$d", Db(entry.DetailJson));
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<IReadOnlyList<AuditEntry>> GetAuditAsync(long workspaceId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<AuditEntry>>(Query("SELECT workspace_id, seq, at, actor, action, target_type, target_id, detail FROM audit_log " +
            "WHERE workspace_id = $w AND seq > $after ORDER BY seq LIMIT $limit",
            r => new AuditEntry(r.GetInt64(0), r.GetInt64(1), StoreValues.FromMillis(r.GetInt64(2)), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), Text(r, 7)),
            ("$w", workspaceId), ("$after", afterSeq), ("$limit", Limit(limit))));

    public Task<IReadOnlyDictionary<string, string>> GetWorkspaceSettingsAsync(long workspaceId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(Query("SELECT name, value FROM workspace_settings WHERE workspace_id = $w",
            r => (r.GetString(0), r.GetString(1)), ("$w", workspaceId)).ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal));

    public Task SetWorkspaceSettingAsync(long workspaceId, string name, string? value, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = value is null
                ? "DELETE FROM workspace_settings WHERE workspace_id = $w AND name = $n"
                : "INSERT INTO workspace_settings (workspace_id, name, value) VALUES ($w, $n, $v) ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value";
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$n", name);
            command.Parameters.AddWithValue("$v", Db(value));
            return command.ExecuteNonQuery();
        }, cancellationToken);

    private sealed partial class SqliteProfileTransaction
    {
        public Task<IReadOnlyList<JourneyInstance>> LoadOpenJourneyInstancesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            var command = Use(_commands.LoadOpenInstances);
            var list = new List<JourneyInstance>();
            command.Parameters[0].Value = workspaceId;
            foreach (var id in profileIds.Distinct()) // a profile named twice still has each instance once
            {
                command.Parameters[1].Value = id;
                using var reader = command.ExecuteReader();
                while (reader.Read()) list.Add(ReadInstance(reader));
            }
            list.Sort((a, b) => a.Id.CompareTo(b.Id));
            return Task.FromResult<IReadOnlyList<JourneyInstance>>(list);
        }

        public Task<IReadOnlyDictionary<long, JourneyInstance>> LoadJourneyInstancesAsync(long workspaceId, IReadOnlyCollection<long> instanceIds, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(instanceIds);
            var command = Use(_commands.LoadInstance);
            var found = new Dictionary<long, JourneyInstance>();
            command.Parameters[1].Value = workspaceId;
            foreach (var id in instanceIds)
            {
                command.Parameters[0].Value = id;
                using var reader = command.ExecuteReader();
                if (reader.Read()) found[id] = ReadInstance(reader);
            }
            return Task.FromResult<IReadOnlyDictionary<long, JourneyInstance>>(found);
        }

        public Task<IReadOnlyDictionary<(long JourneyKey, long ProfileId), (DateTimeOffset LastEnteredAt, bool Active)>> LoadJourneyEntriesAsync(
            long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(profileIds);
            var command = Use(_commands.LoadEntries);
            var found = new Dictionary<(long, long), (DateTimeOffset, bool)>();
            command.Parameters[0].Value = workspaceId;
            foreach (var id in profileIds)
            {
                command.Parameters[1].Value = id;
                using var reader = command.ExecuteReader();
                while (reader.Read()) found[(reader.GetInt64(0), id)] = (StoreValues.FromMillis(reader.GetInt64(1)), reader.GetInt64(2) != 0);
            }
            return Task.FromResult<IReadOnlyDictionary<(long JourneyKey, long ProfileId), (DateTimeOffset LastEnteredAt, bool Active)>>(found);
        }

        public Task<bool> JourneyEntryExistsAsync(long workspaceId, long journeyKey, long profileId, string entryKey, CancellationToken cancellationToken)
        {
            var command = Use(_commands.EntryExists);
            command.Parameters[0].Value = journeyKey;
            command.Parameters[1].Value = profileId;
            command.Parameters[2].Value = entryKey;
            return Task.FromResult(command.ExecuteScalar() is not null);
        }

        public Task<long> ReserveJourneyEntriesAsync(long workspaceId, long journeyKey, long count, long? cap, CancellationToken cancellationToken)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            using var command = Use(store._writer.CreateCommand());
            command.CommandText = "SELECT entries FROM journeys WHERE workspace_id = $w AND key = $k";
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$k", journeyKey);
            if (command.ExecuteScalar() is not long entries) return Task.FromResult(0L);
            var granted = cap is { } c ? Math.Max(0, Math.Min(count, c - entries)) : count;
            if (granted > 0)
            {
                command.CommandText = "UPDATE journeys SET entries = entries + $n WHERE workspace_id = $w AND key = $k";
                command.Parameters.AddWithValue("$n", granted);
                command.ExecuteNonQuery();
            }
            return Task.FromResult(granted);
        }

        public Task<long> ReserveJourneyInstanceIdsAsync(int count, CancellationToken cancellationToken)
        {
            StoreValues.ValidateReservation(count);
            // The counter advances inside the batch; should the batch roll back, the store remembers how far it got, and the
            // next reservation starts past that (never reuse), as profile ids do.
            var command = Use(_commands.ReserveInstanceIds);
            command.Parameters[0].Value = count;
            command.Parameters[1].Value = store._instanceIdFloor;
            var first = (long)command.ExecuteScalar()!;
            store._instanceIdFloor = first + count;
            return Task.FromResult(first);
        }

        public Task SaveJourneyInstancesAsync(IReadOnlyCollection<JourneyInstance> instances, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(instances);
            foreach (var i in instances)
            {
                var insert = i.Revision == 1;
                var command = Use(insert ? _commands.InsertInstance : _commands.UpdateInstance);
                var ps = command.Parameters;
                ps["$id"].Value = i.Id;
                ps["$w"].Value = i.WorkspaceId;
                ps["$v"].Value = i.Version;
                ps["$p"].Value = i.ProfileId;
                ps["$s"].Value = (int)i.Status;
                ps["$step"].Value = i.StepId;
                ps["$sa"].Value = StoreValues.ToMillis(i.StepEnteredAt);
                ps["$seq"].Value = i.Seq;
                ps["$due"].Value = Db(i.DueAt);
                ps["$we"].Value = Db(i.WaitEvent);
                ps["$ctx"].Value = i.ContextJson;
                ps["$er"].Value = Db(i.EndReason);
                ps["$ended"].Value = Db(i.EndedAt);
                ps["$u"].Value = StoreValues.ToMillis(i.UpdatedAt);
                ps["$rev"].Value = i.Revision;
                ps["$ea"].Value = StoreValues.ToMillis(i.EnteredAt);
                if (insert)
                {
                    ps["$j"].Value = i.JourneyKey;
                    ps["$h"].Value = i.RoutingHash;
                    ps["$ek"].Value = i.EntryKey;
                }
                if (command.ExecuteNonQuery() == 0)
                {
                    throw new ConcurrencyConflictException(insert
                        ? $"Journey instance {i.Id} or its entry '{i.EntryKey}' exists already."
                        : $"Journey instance {i.Id} is not at revision {i.Revision - 1}.");
                }
            }
            return Task.CompletedTask;
        }

        public Task WriteJourneyEffectsAsync(IReadOnlyCollection<SendRequest> sends, IReadOnlyCollection<JourneyTask> tasks, IReadOnlyCollection<WebhookRequest> webhooks,
            IReadOnlyCollection<JourneyConversion> conversions, IReadOnlyCollection<JourneyStatDelta> stats, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(sends);
            ArgumentNullException.ThrowIfNull(tasks);
            ArgumentNullException.ThrowIfNull(webhooks);
            ArgumentNullException.ThrowIfNull(conversions);
            ArgumentNullException.ThrowIfNull(stats);
            if (sends.Count > 0)
            {
                var command = Use(_commands.InsertSend);
                var ps = command.Parameters;
                foreach (var s in sends)
                {
                    ps[0].Value = s.WorkspaceId;
                    ps[1].Value = s.ProfileId;
                    ps[2].Value = s.JourneyKey;
                    ps[3].Value = s.Version;
                    ps[4].Value = s.InstanceId;
                    ps[5].Value = s.StepId;
                    ps[6].Value = s.Seq;
                    ps[7].Value = s.IdempotencyKey;
                    ps[8].Value = s.Template;
                    ps[9].Value = s.ChannelsJson;
                    ps[10].Value = s.Category;
                    ps[11].Value = Db(s.DedupKey);
                    ps[12].Value = s.ContextJson;
                    ps[13].Value = StoreValues.ToMillis(s.ScheduledFor);
                    ps[14].Value = StoreValues.ToMillis(s.CreatedAt);
                    ps[15].Value = s.Status;
                    command.ExecuteNonQuery();
                }
            }
            if (tasks.Count > 0)
            {
                var command = Use(_commands.InsertTask);
                var ps = command.Parameters;
                foreach (var t in tasks)
                {
                    ps[0].Value = t.WorkspaceId;
                    ps[1].Value = t.ProfileId;
                    ps[2].Value = t.JourneyKey;
                    ps[3].Value = t.InstanceId;
                    ps[4].Value = t.StepId;
                    ps[5].Value = t.Seq;
                    ps[6].Value = t.Title;
                    ps[7].Value = Db(t.Note);
                    ps[8].Value = t.Assignee;
                    ps[9].Value = t.FromQueue ? 1 : 0;
                    ps[10].Value = StoreValues.ToMillis(t.DueAt);
                    ps[11].Value = t.Status;
                    ps[12].Value = StoreValues.ToMillis(t.CreatedAt);
                    ps[13].Value = Db(t.DoneAt);
                    command.ExecuteNonQuery();
                }
            }
            if (webhooks.Count > 0)
            {
                var command = Use(_commands.InsertWebhook);
                var ps = command.Parameters;
                foreach (var w in webhooks)
                {
                    ps[0].Value = w.WorkspaceId;
                    ps[1].Value = w.ProfileId;
                    ps[2].Value = w.JourneyKey;
                    ps[3].Value = w.InstanceId;
                    ps[4].Value = w.StepId;
                    ps[5].Value = w.Seq;
                    ps[6].Value = w.IdempotencyKey;
                    ps[7].Value = w.Url;
                    ps[8].Value = w.Method;
                    ps[9].Value = w.HeadersJson;
                    ps[10].Value = w.Body;
                    ps[11].Value = w.Status;
                    ps[12].Value = w.Attempts;
                    ps[13].Value = Db(w.NextAttemptAt);
                    ps[14].Value = (object?)w.LastStatusCode ?? DBNull.Value;
                    ps[15].Value = Db(w.LastError);
                    ps[16].Value = StoreValues.ToMillis(w.CreatedAt);
                    ps[17].Value = StoreValues.ToMillis(w.UpdatedAt);
                    command.ExecuteNonQuery();
                }
            }
            if (conversions.Count > 0)
            {
                var command = Use(_commands.InsertConversion);
                var ps = command.Parameters;
                foreach (var c in conversions)
                {
                    ps[0].Value = c.WorkspaceId;
                    ps[1].Value = c.JourneyKey;
                    ps[2].Value = c.Version;
                    ps[3].Value = c.InstanceId;
                    ps[4].Value = c.ProfileId;
                    ps[5].Value = StoreValues.ToMillis(c.At);
                    ps[6].Value = c.LastStep;
                    ps[7].Value = c.VariantsJson;
                    command.ExecuteNonQuery();
                }
            }
            if (stats.Count > 0)
            {
                var command = Use(_commands.AddStat);
                var ps = command.Parameters;
                foreach (var s in stats)
                {
                    ps[0].Value = s.WorkspaceId;
                    ps[1].Value = s.JourneyKey;
                    ps[2].Value = s.Version;
                    ps[3].Value = s.StepId;
                    ps[4].Value = s.Kind;
                    ps[5].Value = s.Shard;
                    ps[6].Value = s.Delta;
                    command.ExecuteNonQuery();
                }
            }
            return Task.CompletedTask;
        }

        public Task RecordJourneyTriggerAsync(JourneyTriggerRecord trigger, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(trigger);
            using var command = Use(store._writer.CreateCommand());
            command.CommandText = "INSERT INTO journey_triggers (workspace_id, journey_key, idempotency_key, body_hash, outcome, instance_id, created_at) " +
                "VALUES ($w, $j, $k, $h, $o, $i, $c) ON CONFLICT DO NOTHING";
            command.Parameters.AddWithValue("$w", trigger.WorkspaceId);
            command.Parameters.AddWithValue("$j", trigger.JourneyKey);
            command.Parameters.AddWithValue("$k", trigger.IdempotencyKey);
            command.Parameters.AddWithValue("$h", trigger.BodyHash);
            command.Parameters.AddWithValue("$o", trigger.Outcome);
            command.Parameters.AddWithValue("$i", (object?)trigger.InstanceId ?? DBNull.Value);
            command.Parameters.AddWithValue("$c", StoreValues.ToMillis(trigger.CreatedAt));
            if (command.ExecuteNonQuery() == 0) throw new ConcurrencyConflictException($"Idempotency key '{trigger.IdempotencyKey}' is recorded already.");
            return Task.CompletedTask;
        }

        public Task<JourneyTriggerRecord?> FindJourneyTriggerAsync(long workspaceId, long journeyKey, string idempotencyKey, CancellationToken cancellationToken)
        {
            using var command = Use(store._writer.CreateCommand());
            command.CommandText = TriggerSelect;
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$j", journeyKey);
            command.Parameters.AddWithValue("$k", idempotencyKey);
            using var reader = command.ExecuteReader();
            return Task.FromResult(reader.Read() ? ReadTrigger(reader) : null);
        }
    }
}
