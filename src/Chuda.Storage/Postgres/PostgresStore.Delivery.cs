using System.Text;
using Chuda.Domain.Delivery;
using Chuda.Domain.Profiles;
using Chuda.Storage.Internal;
using Npgsql;
using NpgsqlTypes;

namespace Chuda.Storage.Postgres;

// Delivery. See IChudaStore.Delivery.cs for the contract; the SQLite store is the reference for its semantics. Message
// rows are written set-based (unnest over one array per column, in DeliveryStoreValues.MessageColumns order), several
// statements pipelined in one NpgsqlBatch where a step writes more than one table.
public sealed partial class PostgresStore
{
    /// <summary>The PostgreSQL types of <see cref="DeliveryStoreValues.MessageColumns"/>, in that order.</summary>
    private static readonly NpgsqlDbType[] MessageColumnTypes = CheckedMessageColumnTypes(
    [
        NpgsqlDbType.Bigint, NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Text,
        NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Integer, NpgsqlDbType.Text, NpgsqlDbType.Integer, NpgsqlDbType.Text,
        NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Bigint,
        NpgsqlDbType.Bigint, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.TimestampTz, NpgsqlDbType.Integer,
        NpgsqlDbType.TimestampTz, NpgsqlDbType.TimestampTz, NpgsqlDbType.TimestampTz, NpgsqlDbType.TimestampTz, NpgsqlDbType.TimestampTz,
        NpgsqlDbType.TimestampTz, NpgsqlDbType.TimestampTz, NpgsqlDbType.TimestampTz, NpgsqlDbType.TimestampTz, NpgsqlDbType.Text, NpgsqlDbType.Text,
        NpgsqlDbType.Text,
    ]);

    private static NpgsqlDbType[] CheckedMessageColumnTypes(NpgsqlDbType[] types) =>
        types.Length == DeliveryStoreValues.MessageColumns.Length
            ? types
            : throw new InvalidOperationException("The message column types do not match DeliveryStoreValues.MessageColumns.");

    private static readonly string MessageSelect = $"SELECT {DeliveryStoreValues.SelectColumns} FROM messages ";

    /// <summary>The message columns as unnest arguments from parameter <paramref name="first"/> on, with their aliases c0, c1, ….</summary>
    private static (string Arguments, string Aliases) MessageUnnest(int first)
    {
        var arguments = new StringBuilder();
        var aliases = new StringBuilder();
        for (var i = 0; i < MessageColumnTypes.Length; i++)
        {
            if (i > 0)
            {
                arguments.Append(", ");
                aliases.Append(", ");
            }
            arguments.Append('$').Append(first + i).Append("::").Append(MessageColumnTypes[i] switch
            {
                NpgsqlDbType.Bigint => "bigint",
                NpgsqlDbType.Integer => "integer",
                NpgsqlDbType.TimestampTz => "timestamptz",
                _ => "text",
            }).Append("[]");
            aliases.Append('c').Append(i);
        }
        return (arguments.ToString(), aliases.ToString());
    }

    /// <summary>
    /// New messages in the given order, with their queued timeline entries, in one statement: $1..$40 the columns, $41 the
    /// entries' details. A key the workspace has already is skipped (and gets no entry). Returns (id, ordinal) of the stored ones.
    /// </summary>
    private static readonly string InsertMessagesSql = BuildInsertMessagesSql("ON CONFLICT (workspace_id, idempotency_key) DO NOTHING");

    /// <summary>As <see cref="InsertMessagesSql"/>, but any unique index turns a row away: a digest is not opened when the person
    /// has an open one for its key (the insert waits for a concurrent transaction that opened one, and skips when it commits).</summary>
    private static readonly string OpenDigestSql = BuildInsertMessagesSql("ON CONFLICT DO NOTHING");

    private static string BuildInsertMessagesSql(string onConflict)
    {
        var (arguments, aliases) = MessageUnnest(1);
        var detail = MessageColumnTypes.Length + 1;
        return
            $"WITH u AS (SELECT * FROM unnest({arguments}, ${detail}::text[]) WITH ORDINALITY AS u({aliases}, detail, n)), " +
            $"ins AS (INSERT INTO messages ({string.Join(", ", DeliveryStoreValues.MessageColumns)}) SELECT {aliases} FROM u ORDER BY n " +
            $"{onConflict} RETURNING id, workspace_id, idempotency_key, profile_id, created_at), " +
            "ev AS (INSERT INTO message_events (workspace_id, message_id, profile_id, at, kind, channel, detail) " +
            $"SELECT ins.workspace_id, ins.id, ins.profile_id, ins.created_at, '{MessageEventKinds.Queued}', NULL, u.detail " +
            "FROM ins JOIN u ON u.c0 = ins.workspace_id AND u.c1 = ins.idempotency_key ORDER BY ins.id) " +
            "SELECT ins.id, u.n FROM ins JOIN u ON u.c0 = ins.workspace_id AND u.c1 = ins.idempotency_key";
    }

    /// <summary>Whole-row replacement by id: $1 the ids, $2..$41 the columns.</summary>
    private static readonly string UpdateMessagesSql = BuildUpdateMessagesSql();

    private static string BuildUpdateMessagesSql()
    {
        var (arguments, aliases) = MessageUnnest(2);
        var sets = string.Join(", ", DeliveryStoreValues.MessageColumns.Select((c, i) => $"{c} = u.c{i}"));
        return $"UPDATE messages m SET {sets} FROM unnest($1::bigint[], {arguments}) AS u(id, {aliases}) WHERE m.id = u.id";
    }

    private const string MessageEventColumns = "workspace_id, message_id, profile_id, at, kind, channel, detail";

    /// <summary>Tables of a profile's delivery state: moved on merge, deleted on erasure.</summary>
    private static readonly string[] DeliveryProfileTables = ["messages", "message_events", "consent_log"];

    /// <summary>
    /// Moves a merged profile's delivery rows to the survivor ($1 workspace, $2 from, $3 into), as on SQLite. When both
    /// have an open digest for the same key, the merged one's items join the survivor's and it is closed as merged (one
    /// open digest per person and key). Subscriptions the survivor has already stay the survivor's; cool-downs keep the later end.
    /// </summary>
    private static readonly string[] MoveDeliveryRowsSql =
    [
        "UPDATE messages i SET digest_id = s.id FROM messages d, messages s " +
        "WHERE d.workspace_id = $1 AND d.profile_id = $2 AND d.status = 'collecting' " +
        "AND s.workspace_id = $1 AND s.profile_id = $3 AND s.digest_key = d.digest_key AND s.status = 'collecting' " +
        "AND i.digest_id = d.id AND i.id <> d.id",
        $"UPDATE messages d SET status = '{MessageStatuses.Merged}', due_at = NULL, reason = 'merged into m_' || s.id || ' (profiles merged)' FROM messages s " +
        "WHERE d.workspace_id = $1 AND d.profile_id = $2 AND d.status = 'collecting' " +
        "AND s.workspace_id = $1 AND s.profile_id = $3 AND s.digest_key = d.digest_key AND s.status = 'collecting'",
        .. DeliveryProfileTables.Select(table => $"UPDATE {table} SET profile_id = $3 WHERE workspace_id = $1 AND profile_id = $2"),
        "INSERT INTO subscriptions (workspace_id, profile_id, category, channel, state, source, at) " +
        "SELECT workspace_id, $3, category, channel, state, source, at FROM subscriptions WHERE workspace_id = $1 AND profile_id = $2 " +
        "ON CONFLICT (workspace_id, profile_id, category, channel) DO NOTHING",
        "INSERT INTO cool_downs (workspace_id, profile_id, until, reason, created_at) " +
        "SELECT workspace_id, $3, until, reason, created_at FROM cool_downs WHERE workspace_id = $1 AND profile_id = $2 " +
        "ON CONFLICT (workspace_id, profile_id) DO UPDATE SET until = excluded.until, reason = excluded.reason WHERE excluded.until > cool_downs.until",
        "DELETE FROM subscriptions WHERE workspace_id = $1 AND profile_id = $2",
        "DELETE FROM cool_downs WHERE workspace_id = $1 AND profile_id = $2",
    ];

    /// <summary>Tables whose rows of an erased profile are deleted ($1 workspace, $2 profile).</summary>
    private static readonly string[] DeliveryErasureTables = [.. DeliveryProfileTables, "subscriptions", "cool_downs"];

    /// <summary>How often a digest join looks again after a concurrent one opened (and then closed) the digest.</summary>
    private const int DigestJoinAttempts = 5;

    private static OutboundMessage ReadMessage(NpgsqlDataReader r) =>
        DeliveryStoreValues.Read(r.IsDBNull, r.GetInt64, r.GetString, r.GetFieldValue<DateTimeOffset>);

    private static MessageEvent ReadMessageEvent(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.IsDBNull(2) ? null : r.GetInt64(2),
        r.GetFieldValue<DateTimeOffset>(3), r.GetString(4), TextOrNull(r, 5), r.GetString(6));

    /// <summary>One array parameter per message column, in column order.</summary>
    private static NpgsqlParameter[] MessageArrays(IReadOnlyList<OutboundMessage> messages)
    {
        var rows = new object?[messages.Count][];
        for (var i = 0; i < rows.Length; i++) rows[i] = DeliveryStoreValues.Values(messages[i], t => t is { } v ? StoreValues.Truncate(v) : null);
        var parameters = new NpgsqlParameter[MessageColumnTypes.Length];
        for (var c = 0; c < parameters.Length; c++)
        {
            var column = c;
            parameters[c] = MessageColumnTypes[c] switch
            {
                NpgsqlDbType.Bigint => P(Array.ConvertAll(rows, r => (long?)r[column])),
                NpgsqlDbType.Integer => P(Array.ConvertAll(rows, r => (int?)r[column])),
                NpgsqlDbType.TimestampTz => P(Array.ConvertAll(rows, r => (DateTimeOffset?)r[column])),
                _ => P(Array.ConvertAll(rows, r => (string?)r[column])),
            };
        }
        return parameters;
    }

    private static NpgsqlParameter LongOrNull(long? value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)value ?? DBNull.Value };

    // ---- templates ---------------------------------------------------------------------------

    private const string TemplateColumns = "workspace_id, id, latest_version, approved_version, created_at, updated_at";
    private const string TemplateVersionColumns = "workspace_id, template_id, version, definition, created_at, created_by, approved_at, approved_by";

    private static TemplateRecord ReadTemplate(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.IsDBNull(3) ? null : r.GetInt32(3),
        r.GetFieldValue<DateTimeOffset>(4), r.GetFieldValue<DateTimeOffset>(5));

    private static TemplateVersionRecord ReadTemplateVersion(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetString(3),
        r.GetFieldValue<DateTimeOffset>(4), TextOrNull(r, 5), TimeOrNull(r, 6), TextOrNull(r, 7));

    public async Task<TemplateRecord?> GetTemplateAsync(long workspaceId, string id, CancellationToken cancellationToken) =>
        (await QueryAsync($"SELECT {TemplateColumns} FROM templates WHERE workspace_id = $1 AND id = $2", ReadTemplate, cancellationToken,
            P(workspaceId), P(id))).FirstOrDefault();

    public async Task<IReadOnlyList<TemplateRecord>> ListTemplatesAsync(long workspaceId, CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {TemplateColumns} FROM templates WHERE workspace_id = $1 ORDER BY id", ReadTemplate, cancellationToken, P(workspaceId));

    public async Task<TemplateVersionRecord?> GetTemplateVersionAsync(long workspaceId, string id, int? version, CancellationToken cancellationToken) =>
        (version is { } v
            ? await QueryAsync($"SELECT {TemplateVersionColumns} FROM template_versions WHERE workspace_id = $1 AND template_id = $2 AND version = $3",
                ReadTemplateVersion, cancellationToken, P(workspaceId), P(id), P(v))
            : await QueryAsync($"SELECT {TemplateVersionColumns} FROM template_versions WHERE workspace_id = $1 AND template_id = $2 " +
                "ORDER BY version DESC LIMIT 1", ReadTemplateVersion, cancellationToken, P(workspaceId), P(id))).FirstOrDefault();

    public async Task<IReadOnlyList<TemplateVersionRecord>> ListTemplateVersionsAsync(long workspaceId, string id, CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {TemplateVersionColumns} FROM template_versions WHERE workspace_id = $1 AND template_id = $2 ORDER BY version DESC",
            ReadTemplateVersion, cancellationToken, P(workspaceId), P(id));

    public async Task<TemplateRecord?> AddTemplateVersionAsync(long workspaceId, string id, string definitionJson, DateTimeOffset at, string? by, int? expectedLatest,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(definitionJson);
        var time = StoreValues.Truncate(at);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            // The template row is locked, so concurrent additions number their versions one after the other.
            int? latest;
            await using (var select = new NpgsqlCommand("SELECT latest_version FROM templates WHERE workspace_id = $1 AND id = $2 FOR UPDATE", connection, tx))
            {
                select.Parameters.Add(P(workspaceId));
                select.Parameters.Add(P(id));
                latest = await select.ExecuteScalarAsync(cancellationToken) is int l ? l : null;
            }
            if (expectedLatest is { } expected && expected != (latest ?? 0)) return null;
            var version = (latest ?? 0) + 1;
            // The version is written only when the template row was.
            var template = latest is null
                ? "INSERT INTO templates (workspace_id, id, latest_version, approved_version, created_at, updated_at) VALUES ($1, $2, $3, NULL, $4, $4) " +
                  $"ON CONFLICT (workspace_id, id) DO NOTHING RETURNING {TemplateColumns}"
                : $"UPDATE templates SET latest_version = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2 RETURNING {TemplateColumns}";
            TemplateRecord? record;
            await using (var write = new NpgsqlCommand(
                $"WITH t AS ({template}), v AS (INSERT INTO template_versions (workspace_id, template_id, version, definition, created_at, created_by) " +
                $"SELECT $1, $2, $3, $5, $4, $6 FROM t) SELECT {TemplateColumns} FROM t", connection, tx))
            {
                write.Parameters.Add(P(workspaceId));
                write.Parameters.Add(P(id));
                write.Parameters.Add(P(version));
                write.Parameters.Add(P(time));
                write.Parameters.Add(P(definitionJson));
                write.Parameters.Add(TextOrNull(by));
                record = (await ReadAllAsync(write, ReadTemplate, cancellationToken)).FirstOrDefault();
            }
            if (record is not null)
            {
                await tx.CommitAsync(cancellationToken);
                return record;
            }
            // A concurrent addition created the template first: look again (its row is now there to lock).
            if (attempt >= 3) throw new ConcurrencyConflictException($"Template '{id}' was created concurrently.");
        }
    }

    public async Task<bool> ApproveTemplateVersionAsync(long workspaceId, string id, int version, string? by, DateTimeOffset at, CancellationToken cancellationToken)
    {
        // One statement: the template's approved version moves only when the version exists.
        await using var command = _dataSource.CreateCommand(
            "WITH v AS (UPDATE template_versions SET approved_at = $4, approved_by = $5 WHERE workspace_id = $1 AND template_id = $2 AND version = $3 RETURNING version), " +
            "t AS (UPDATE templates SET approved_version = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2 " +
            "AND (approved_version IS NULL OR approved_version < $3) AND EXISTS (SELECT 1 FROM v)) " +
            "SELECT count(*) FROM v");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(id));
        command.Parameters.Add(P(version));
        command.Parameters.Add(P(StoreValues.Truncate(at)));
        command.Parameters.Add(TextOrNull(by));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! > 0;
    }

    public async Task<bool> DeleteTemplateAsync(long workspaceId, string id, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "WITH v AS (DELETE FROM template_versions WHERE workspace_id = $1 AND template_id = $2) DELETE FROM templates WHERE workspace_id = $1 AND id = $2");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(id));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    // ---- the outbox --------------------------------------------------------------------------

    /// <summary>
    /// Stores the messages whose keys are new, each with its queued entry, in one statement on <paramref name="command"/>'s
    /// connection. Returns per message the id it was stored with, or null when its key exists (or came earlier in the list).
    /// </summary>
    private static async Task<long?[]> InsertMessageRowsAsync(Func<string, NpgsqlCommand> command, IReadOnlyList<OutboundMessage> messages,
        CancellationToken cancellationToken, bool openDigest = false)
    {
        var ids = new long?[messages.Count];
        // A key repeated within the list is a repeat of its first occurrence (as when inserted one by one).
        var seen = new HashSet<(long, string)>();
        var first = new List<int>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            if (seen.Add((messages[i].WorkspaceId, messages[i].IdempotencyKey))) first.Add(i);
        }
        var rows = first.ConvertAll(i => messages[i]);
        await using var insert = command(openDigest ? OpenDigestSql : InsertMessagesSql);
        insert.Parameters.AddRange(MessageArrays(rows));
        insert.Parameters.Add(P(rows.ConvertAll(DeliveryStoreValues.QueuedDetail).ToArray()));
        await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) ids[first[(int)reader.GetInt64(1) - 1]] = reader.GetInt64(0);
        return ids;
    }

    public async Task<IReadOnlyList<(OutboundMessage Message, bool Created)>> InsertMessagesAsync(IReadOnlyList<OutboundMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) return [];
        var ids = await InsertMessageRowsAsync(_dataSource.CreateCommand, messages, cancellationToken);
        var result = new (OutboundMessage, bool)[messages.Count];
        var repeats = new List<int>();
        for (var i = 0; i < messages.Count; i++)
        {
            if (ids[i] is { } id) result[i] = (messages[i] with { Id = id }, true);
            else repeats.Add(i);
        }
        if (repeats.Count > 0)
        {
            // A later statement: it sees the rows of whoever stored these keys (the insert waited for them to commit).
            var found = (await QueryAsync($"SELECT {DeliveryStoreValues.SelectColumns} FROM messages m " +
                    "JOIN unnest($1::bigint[], $2::text[]) AS k(w, key) ON m.workspace_id = k.w AND m.idempotency_key = k.key", ReadMessage, cancellationToken,
                    P(repeats.ConvertAll(i => messages[i].WorkspaceId).ToArray()), P(repeats.ConvertAll(i => messages[i].IdempotencyKey).ToArray())))
                .ToDictionary(m => (m.WorkspaceId, m.IdempotencyKey));
            foreach (var i in repeats)
            {
                result[i] = found.TryGetValue((messages[i].WorkspaceId, messages[i].IdempotencyKey), out var existing)
                    ? (existing, false)
                    : throw new ConcurrencyConflictException($"The message with key '{messages[i].IdempotencyKey}' was deleted concurrently.");
            }
        }
        return result;
    }

    public async Task<IReadOnlyList<OutboundMessage>> GetDueMessagesAsync(Lane lane, DateTimeOffset now, int limit, IReadOnlyCollection<long> exclude,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exclude);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var sql = MessageSelect + "WHERE lane = $1 AND due_at IS NOT NULL AND due_at <= $2 ";
        if (exclude.Count == 0)
            return await QueryAsync(sql + "ORDER BY due_at, id LIMIT $3", ReadMessage, cancellationToken, P((int)lane), P(StoreValues.Truncate(now)), P(limit));
        return await QueryAsync(sql + "AND NOT (id = ANY($4)) ORDER BY due_at, id LIMIT $3", ReadMessage, cancellationToken,
            P((int)lane), P(StoreValues.Truncate(now)), P(limit), P(exclude.ToArray()));
    }

    public async Task<DateTimeOffset?> GetNextMessageDueAsync(CancellationToken cancellationToken)
    {
        // Per lane, so each lookup is one step of the partial index; least() ignores a lane with none.
        await using var command = _dataSource.CreateCommand(
            "SELECT least((SELECT min(due_at) FROM messages WHERE lane = 0 AND due_at IS NOT NULL), " +
            "(SELECT min(due_at) FROM messages WHERE lane = 1 AND due_at IS NOT NULL))");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? TimeOrNull(reader, 0) : null;
    }

    public async Task<OutboundMessage?> GetMessageAsync(long workspaceId, long id, CancellationToken cancellationToken) =>
        (await QueryAsync(MessageSelect + "WHERE id = $2 AND workspace_id = $1", ReadMessage, cancellationToken, P(workspaceId), P(id))).FirstOrDefault();

    public async Task<IReadOnlyList<OutboundMessage>> GetMessagesAsync(long workspaceId, IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0) return [];
        return await QueryAsync(MessageSelect + "WHERE id = ANY($2) AND workspace_id = $1 ORDER BY id", ReadMessage, cancellationToken,
            P(workspaceId), P(ids.Distinct().ToArray()));
    }

    public async Task<OutboundMessage?> FindMessageByKeyAsync(long workspaceId, string idempotencyKey, CancellationToken cancellationToken) =>
        (await QueryAsync(MessageSelect + "WHERE workspace_id = $1 AND idempotency_key = $2", ReadMessage, cancellationToken,
            P(workspaceId), P(idempotencyKey))).FirstOrDefault();

    public async Task<OutboundMessage?> FindMessageByProviderIdAsync(long workspaceId, string providerMessageId, CancellationToken cancellationToken) =>
        (await QueryAsync(MessageSelect + "WHERE provider_message_id = $2 AND workspace_id = $1 ORDER BY id DESC LIMIT 1", ReadMessage, cancellationToken,
            P(workspaceId), P(providerMessageId))).FirstOrDefault();

    /// <summary>The WHERE clause of a message query ($1 the workspace) and its parameters.</summary>
    private static (string Where, List<NpgsqlParameter> Parameters) MessageFilter(long workspaceId, MessageQuery q)
    {
        ArgumentNullException.ThrowIfNull(q);
        var where = new StringBuilder("workspace_id = $1");
        var parameters = new List<NpgsqlParameter> { P(workspaceId) };
        void Add(string left, NpgsqlParameter value)
        {
            parameters.Add(value);
            where.Append(" AND ").Append(left).Append('$').Append(parameters.Count);
        }
        if (q.ProfileId is { } p) Add("profile_id = ", P(p));
        if (q.Channel is { } c) Add("channel = ", P(c));
        if (q.Status is { } s) Add("status = ", P(s));
        if (q.Provider is { } pr) Add("provider = ", P(pr));
        if (q.Archived is { } a) where.Append(a ? " AND archived_at IS NOT NULL" : " AND archived_at IS NULL");
        if (q.Unread is { } u) where.Append(u ? " AND read_at IS NULL" : " AND read_at IS NOT NULL");
        if (q.BeforeId is { } b) Add("id < ", P(b));
        return (where.ToString(), parameters);
    }

    public async Task<IReadOnlyList<OutboundMessage>> ListMessagesAsync(long workspaceId, MessageQuery query, CancellationToken cancellationToken)
    {
        var (where, parameters) = MessageFilter(workspaceId, query);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(query.Limit);
        parameters.Add(P(query.Limit));
        return await QueryAsync(MessageSelect + $"WHERE {where} ORDER BY id DESC LIMIT ${parameters.Count}", ReadMessage, cancellationToken, [.. parameters]);
    }

    public async Task<long> CountMessagesAsync(long workspaceId, MessageQuery query, CancellationToken cancellationToken)
    {
        var (where, parameters) = MessageFilter(workspaceId, query);
        await using var command = _dataSource.CreateCommand($"SELECT count(*) FROM messages WHERE {where}");
        command.Parameters.AddRange(parameters.ToArray());
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<OutboundMessage>> GetDigestItemsAsync(long workspaceId, long digestId, CancellationToken cancellationToken) =>
        await QueryAsync(MessageSelect + "WHERE digest_id = $2 AND workspace_id = $1 AND id <> $2 ORDER BY id", ReadMessage, cancellationToken,
            P(workspaceId), P(digestId));

    public async Task<IReadOnlyList<MessageEvent>> GetMessageEventsAsync(long workspaceId, long messageId, CancellationToken cancellationToken) =>
        await QueryAsync($"SELECT {MessageEventColumns} FROM message_events WHERE message_id = $2 AND workspace_id = $1 ORDER BY seq", ReadMessageEvent,
            cancellationToken, P(workspaceId), P(messageId));

    public async Task<IReadOnlyList<MessageEvent>> GetProfileMessageEventsAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryAsync($"SELECT {MessageEventColumns} FROM message_events WHERE workspace_id = $1 AND profile_id = $2 ORDER BY seq DESC LIMIT $3",
            ReadMessageEvent, cancellationToken, P(workspaceId), P(profileId), P(limit));
    }

    public async Task ApplyDeliveryAsync(DeliveryWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var batch = new NpgsqlBatch(connection, tx))
        {
            AddDeliveryWrite(batch, write);
            if (batch.BatchCommands.Count == 0) return;
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>The statements of one dispatcher step, with the meaning of applying its parts one by one in order (as on SQLite).</summary>
    private static void AddDeliveryWrite(NpgsqlBatch batch, DeliveryWrite write)
    {
        ArgumentNullException.ThrowIfNull(write.Updates);
        ArgumentNullException.ThrowIfNull(write.Events);
        if (write.Updates.Count > 0)
        {
            // The last replacement of a row wins; rows are locked in id order.
            var updates = write.Updates.GroupBy(m => m.Id).Select(g => g.Last()).OrderBy(m => m.Id).ToArray();
            batch.BatchCommands.Add(BatchCommand(UpdateMessagesSql, [P(Array.ConvertAll(updates, m => m.Id)), .. MessageArrays(updates)]));
        }
        AddEvents(batch, write.Events);
        if (write.Suppressions is { Count: > 0 } suppressions)
        {
            // The first of several for one address wins, as does an existing one; keys in order, so concurrent steps wait
            // for each other instead of deadlocking.
            var s = suppressions
                .GroupBy(x => (x.WorkspaceId, x.Kind, x.Address))
                .Select(g => g.First())
                .OrderBy(x => x.WorkspaceId).ThenBy(x => x.Kind, StringComparer.Ordinal).ThenBy(x => x.Address, StringComparer.Ordinal)
                .ToArray();
            batch.BatchCommands.Add(BatchCommand(
                "INSERT INTO delivery_suppressions (workspace_id, kind, address, reason, detail, created_at) " +
                "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) " +
                "ON CONFLICT (workspace_id, kind, address) DO NOTHING",
                P(Array.ConvertAll(s, x => x.WorkspaceId)),
                P(Array.ConvertAll(s, x => x.Kind)),
                P(Array.ConvertAll(s, x => x.Address)),
                P(Array.ConvertAll(s, x => x.Reason)),
                P(Array.ConvertAll(s, x => x.Detail)),
                P(Array.ConvertAll(s, x => StoreValues.Truncate(x.CreatedAt)))));
        }
        if (write.CoolDowns is { Count: > 0 } coolDowns)
        {
            // An upsert cannot touch a row twice: of several for one profile the first with the latest end stands for them
            // (applied in order, a later one replaces only an earlier end).
            var c = coolDowns
                .GroupBy(x => (x.WorkspaceId, x.ProfileId))
                .Select(g => g.Aggregate((best, next) => StoreValues.ToMillis(next.Until) > StoreValues.ToMillis(best.Until) ? next : best))
                .OrderBy(x => x.WorkspaceId).ThenBy(x => x.ProfileId)
                .ToArray();
            batch.BatchCommands.Add(BatchCommand(
                "INSERT INTO cool_downs (workspace_id, profile_id, until, reason, created_at) " +
                "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::timestamptz[]) " +
                "ON CONFLICT (workspace_id, profile_id) DO UPDATE SET until = excluded.until, reason = excluded.reason, created_at = excluded.created_at " +
                "WHERE excluded.until > cool_downs.until",
                P(Array.ConvertAll(c, x => x.WorkspaceId)),
                P(Array.ConvertAll(c, x => x.ProfileId)),
                P(Array.ConvertAll(c, x => StoreValues.Truncate(x.Until))),
                P(Array.ConvertAll(c, x => x.Reason)),
                P(Array.ConvertAll(c, x => StoreValues.Truncate(x.CreatedAt)))));
        }
        if (write.Subscriptions is { Count: > 0 } subscriptions) AddSubscriptions(batch, subscriptions);
        if (write.RemovedIdentities is { Count: > 0 } removed)
        {
            var r = removed.ToArray();
            batch.BatchCommands.Add(BatchCommand(
                "DELETE FROM identities i USING unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS x(w, k, v, p) " +
                "WHERE i.workspace_id = x.w AND i.kind = x.k AND i.value = x.v AND i.profile_id = x.p",
                P(Array.ConvertAll(r, x => x.WorkspaceId)),
                P(Array.ConvertAll(r, x => x.Kind)),
                P(Array.ConvertAll(r, x => x.Value)),
                P(Array.ConvertAll(r, x => x.ProfileId))));
        }
    }

    private static void AddEvents(NpgsqlBatch batch, IReadOnlyList<MessageEvent> events)
    {
        if (events.Count == 0) return;
        var e = events as MessageEvent[] ?? events.ToArray();
        batch.BatchCommands.Add(BatchCommand(
            $"INSERT INTO message_events ({MessageEventColumns}) SELECT u.w, u.m, u.p, u.at, u.k, u.c, u.d FROM unnest($1::bigint[], $2::bigint[], " +
            "$3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS u(w, m, p, at, k, c, d, n) ORDER BY u.n",
            P(Array.ConvertAll(e, x => x.WorkspaceId)),
            P(Array.ConvertAll(e, x => x.MessageId)),
            P(Array.ConvertAll(e, x => x.ProfileId)),
            P(Array.ConvertAll(e, x => StoreValues.Truncate(x.At))),
            P(Array.ConvertAll(e, x => x.Kind)),
            P(Array.ConvertAll(e, x => x.Channel)),
            P(Array.ConvertAll(e, x => x.Detail))));
    }

    /// <summary>Upserts (the last for one key wins, keys in order) and appends every one to the consent log, in the given order.</summary>
    private static void AddSubscriptions(NpgsqlBatch batch, IReadOnlyList<Subscription> subscriptions)
    {
        var all = subscriptions as Subscription[] ?? subscriptions.ToArray();
        var current = all
            .GroupBy(x => (x.WorkspaceId, x.ProfileId, x.Category, x.Channel))
            .Select(g => g.Last())
            .OrderBy(x => x.WorkspaceId).ThenBy(x => x.ProfileId).ThenBy(x => x.Category, StringComparer.Ordinal).ThenBy(x => x.Channel, StringComparer.Ordinal)
            .ToArray();
        batch.BatchCommands.Add(BatchCommand(
            "INSERT INTO subscriptions (workspace_id, profile_id, category, channel, state, source, at) " +
            "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::timestamptz[]) " +
            "ON CONFLICT (workspace_id, profile_id, category, channel) DO UPDATE SET state = excluded.state, source = excluded.source, at = excluded.at",
            SubscriptionArrays(current)));
        batch.BatchCommands.Add(BatchCommand(
            "INSERT INTO consent_log (workspace_id, profile_id, category, channel, state, source, at) " +
            "SELECT u.w, u.p, u.k, u.c, u.s, u.src, u.at FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::text[], " +
            "$7::timestamptz[]) WITH ORDINALITY AS u(w, p, k, c, s, src, at, n) ORDER BY u.n",
            SubscriptionArrays(all)));
    }

    private static NpgsqlParameter[] SubscriptionArrays(Subscription[] s) =>
    [
        P(Array.ConvertAll(s, x => x.WorkspaceId)),
        P(Array.ConvertAll(s, x => x.ProfileId)),
        P(Array.ConvertAll(s, x => x.Category)),
        P(Array.ConvertAll(s, x => x.Channel)),
        P(Array.ConvertAll(s, x => (int)x.State)),
        P(Array.ConvertAll(s, x => x.Source)),
        P(Array.ConvertAll(s, x => StoreValues.Truncate(x.At))),
    ];

    public async Task<OutboundMessage> JoinDigestAsync(OutboundMessage item, OutboundMessage newDigest, IReadOnlyList<MessageEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(newDigest);
        ArgumentNullException.ThrowIfNull(events);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        OutboundMessage? digest;
        for (var attempt = 1; ; attempt++)
        {
            // The open digest, locked: a dispatcher step closing it waits for this join (or, having closed it first, hides it).
            digest = await FindOpenDigestAsync(connection, tx, item, cancellationToken);
            if (digest is not null) break;
            // None: open one. The unique index on open digests turns a concurrent opening into a skipped insert (after
            // waiting for that transaction to commit); the next look then finds its digest.
            var ids = await InsertMessageRowsAsync(sql => new NpgsqlCommand(sql, connection, tx), [newDigest], cancellationToken, openDigest: true);
            if (ids[0] is { } id)
            {
                digest = newDigest with { Id = id };
                break;
            }
            digest = await FindOpenDigestAsync(connection, tx, item, cancellationToken);
            if (digest is not null) break;
            await using (var key = new NpgsqlCommand("SELECT 1 FROM messages WHERE workspace_id = $1 AND idempotency_key = $2", connection, tx))
            {
                key.Parameters.Add(P(newDigest.WorkspaceId));
                key.Parameters.Add(P(newDigest.IdempotencyKey));
                if (await key.ExecuteScalarAsync(cancellationToken) is not null)
                    throw new ConcurrencyConflictException($"Digest key '{newDigest.IdempotencyKey}' exists already.");
            }
            // The concurrent digest was closed again in between: try once more.
            if (attempt >= DigestJoinAttempts)
                throw new ConcurrencyConflictException($"No open digest '{item.DigestKey}' could be joined for profile {item.ProfileId}.");
        }
        var digestId = digest.Id;
        await using (var batch = new NpgsqlBatch(connection, tx))
        {
            AddDeliveryWrite(batch, new DeliveryWrite([item with { DigestId = digestId }],
                [.. events.Select(e => e.MessageId == 0 ? e with { MessageId = digestId } : e)]));
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        return digest;
    }

    private static async Task<OutboundMessage?> FindOpenDigestAsync(NpgsqlConnection connection, NpgsqlTransaction tx, OutboundMessage item,
        CancellationToken cancellationToken)
    {
        await using var find = new NpgsqlCommand(MessageSelect +
            $"WHERE workspace_id = $1 AND profile_id = $2 AND digest_key = $3 AND status = '{MessageStatuses.Collecting}' FOR UPDATE", connection, tx);
        find.Parameters.Add(P(item.WorkspaceId));
        find.Parameters.Add(LongOrNull(item.ProfileId));
        find.Parameters.Add(TextOrNull(item.DigestKey));
        return (await ReadAllAsync(find, ReadMessage, cancellationToken)).FirstOrDefault();
    }

    public async Task<int> RecoverSendingMessagesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            $"UPDATE messages SET due_at = $1 WHERE status = '{MessageStatuses.Sending}' AND (due_at IS NULL OR due_at > $1)");
        command.Parameters.Add(P(StoreValues.Truncate(now)));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // ---- what the pipeline reads about people ------------------------------------------------

    public async Task<IReadOnlyDictionary<long, List<LedgerEntry>>> LoadLedgersAsync(long workspaceId, IReadOnlyCollection<long> profileIds, DateTimeOffset since,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        var result = new Dictionary<long, List<LedgerEntry>>();
        if (profileIds.Count == 0) return result;
        var rows = await QueryAsync("SELECT profile_id, id, dispatched_at, channel, category, lane, dedup_key, " +
            "(opened_at IS NOT NULL OR clicked_at IS NOT NULL OR read_at IS NOT NULL) FROM messages " +
            "WHERE workspace_id = $1 AND profile_id = ANY($2) AND dispatched_at >= $3 ORDER BY dispatched_at, id",
            r => (r.GetInt64(0), new LedgerEntry(r.GetInt64(1), r.GetFieldValue<DateTimeOffset>(2), TextOrNull(r, 3), r.GetString(4), (Lane)r.GetInt32(5),
                TextOrNull(r, 6), r.GetBoolean(7))),
            cancellationToken, P(workspaceId), P(profileIds.Distinct().ToArray()), P(StoreValues.Truncate(since)));
        foreach (var (p, e) in rows)
        {
            if (!result.TryGetValue(p, out var list)) result[p] = list = [];
            list.Add(e);
        }
        return result;
    }

    public async Task<IReadOnlyDictionary<long, ProfileRecord>> GetProfilesByIdAsync(long workspaceId, IReadOnlyCollection<long> profileIds,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        if (profileIds.Count == 0) return new Dictionary<long, ProfileRecord>();
        var rows = await QueryAsync($"SELECT {ProfileColumns} FROM profiles WHERE workspace_id = $1 AND id = ANY($2)", ReadProfile, cancellationToken,
            P(workspaceId), P(profileIds.Distinct().ToArray()));
        return rows.ToDictionary(p => p.Id);
    }

    public async Task<IReadOnlyList<Subscription>> LoadSubscriptionsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        if (profileIds.Count == 0) return [];
        return await QueryAsync("SELECT workspace_id, profile_id, category, channel, state, source, at FROM subscriptions " +
            "WHERE workspace_id = $1 AND profile_id = ANY($2) ORDER BY profile_id, category, channel",
            r => new Subscription(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), (SubscriptionState)r.GetInt32(4), r.GetString(5),
                r.GetFieldValue<DateTimeOffset>(6)),
            cancellationToken, P(workspaceId), P(profileIds.Distinct().ToArray()));
    }

    public async Task<IReadOnlyList<CoolDown>> LoadCoolDownsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        if (profileIds.Count == 0) return [];
        return await QueryAsync("SELECT workspace_id, profile_id, until, reason, created_at FROM cool_downs WHERE workspace_id = $1 AND profile_id = ANY($2) " +
            "ORDER BY profile_id",
            r => new CoolDown(r.GetInt64(0), r.GetInt64(1), r.GetFieldValue<DateTimeOffset>(2), r.GetString(3), r.GetFieldValue<DateTimeOffset>(4)),
            cancellationToken, P(workspaceId), P(profileIds.Distinct().ToArray()));
    }

    public async Task<IReadOnlyDictionary<long, IReadOnlyList<IdentityKey>>> LoadIdentitiesAsync(long workspaceId, IReadOnlyCollection<long> profileIds,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        var result = new Dictionary<long, IReadOnlyList<IdentityKey>>();
        if (profileIds.Count == 0) return result;
        var rows = await QueryAsync("SELECT profile_id, kind, value FROM identities WHERE workspace_id = $1 AND profile_id = ANY($2) " +
            "ORDER BY profile_id, created_at, kind COLLATE \"C\", value COLLATE \"C\"",
            r => (r.GetInt64(0), new IdentityKey(r.GetString(1), r.GetString(2))), cancellationToken, P(workspaceId), P(profileIds.Distinct().ToArray()));
        foreach (var group in rows.GroupBy(r => r.Item1)) result[group.Key] = [.. group.Select(g => g.Item2)];
        return result;
    }

    private const string SuppressionColumns = "workspace_id, kind, address, reason, detail, created_at";

    private static DeliverySuppression ReadSuppression(NpgsqlDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), TextOrNull(r, 4), r.GetFieldValue<DateTimeOffset>(5));

    public async Task<IReadOnlyList<DeliverySuppression>> FindDeliverySuppressionsAsync(long workspaceId, IReadOnlyCollection<(string Kind, string Address)> addresses,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count == 0) return [];
        var pairs = addresses.Distinct().ToArray();
        return await QueryAsync($"SELECT {SuppressionColumns} FROM delivery_suppressions " +
            "WHERE workspace_id = $1 AND (kind, address) IN (SELECT * FROM unnest($2::text[], $3::text[])) ORDER BY kind, address",
            ReadSuppression, cancellationToken, P(workspaceId), P(Array.ConvertAll(pairs, a => a.Kind)), P(Array.ConvertAll(pairs, a => a.Address)));
    }

    // ---- consent, suppressions, cool-downs -----------------------------------------------------

    public async Task SetSubscriptionsAsync(IReadOnlyList<Subscription> subscriptions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriptions);
        if (subscriptions.Count == 0) return;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var batch = new NpgsqlBatch(connection, tx))
        {
            AddSubscriptions(batch, subscriptions);
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ConsentRecord>> GetConsentLogAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryAsync("SELECT workspace_id, profile_id, category, channel, state, source, at FROM consent_log " +
            "WHERE workspace_id = $1 AND profile_id = $2 ORDER BY seq DESC LIMIT $3",
            r => new ConsentRecord(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), (SubscriptionState)r.GetInt32(4), r.GetString(5),
                r.GetFieldValue<DateTimeOffset>(6)),
            cancellationToken, P(workspaceId), P(profileId), P(limit));
    }

    public async Task<IReadOnlyList<DeliverySuppression>> ListDeliverySuppressionsAsync(long workspaceId, string? kind, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return kind is null
            ? await QueryAsync($"SELECT {SuppressionColumns} FROM delivery_suppressions WHERE workspace_id = $1 ORDER BY created_at DESC, kind, address LIMIT $2",
                ReadSuppression, cancellationToken, P(workspaceId), P(limit))
            : await QueryAsync($"SELECT {SuppressionColumns} FROM delivery_suppressions WHERE workspace_id = $1 AND kind = $3 " +
                "ORDER BY created_at DESC, kind, address LIMIT $2", ReadSuppression, cancellationToken, P(workspaceId), P(limit), P(kind));
    }

    public async Task<bool> RemoveDeliverySuppressionAsync(long workspaceId, string kind, string address, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM delivery_suppressions WHERE workspace_id = $1 AND kind = $2 AND address = $3");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(kind));
        command.Parameters.Add(P(address));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    // ---- providers ---------------------------------------------------------------------------

    private const string ProviderColumns = "workspace_id, id, channel, kind, priority, enabled, config, updated_at, rate_per_second, max_concurrency";

    private static ProviderRecord ReadProvider(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4),
        r.GetBoolean(5), r.GetString(6), r.GetFieldValue<DateTimeOffset>(7), r.IsDBNull(8) ? null : r.GetDouble(8), r.IsDBNull(9) ? null : r.GetInt32(9));

    public async Task<IReadOnlyList<ProviderRecord>> ListProvidersAsync(long? workspaceId, CancellationToken cancellationToken) =>
        workspaceId is { } w
            ? await QueryAsync($"SELECT {ProviderColumns} FROM providers WHERE workspace_id = $1 ORDER BY workspace_id, channel, priority, id", ReadProvider,
                cancellationToken, P(w))
            : await QueryAsync($"SELECT {ProviderColumns} FROM providers ORDER BY workspace_id, channel, priority, id", ReadProvider, cancellationToken);

    public async Task SaveProviderAsync(ProviderRecord provider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(provider);
        await using var command = _dataSource.CreateCommand(
            $"INSERT INTO providers ({ProviderColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) " +
            "ON CONFLICT (workspace_id, id) DO UPDATE SET channel = excluded.channel, kind = excluded.kind, priority = excluded.priority, " +
            "enabled = excluded.enabled, config = excluded.config, updated_at = excluded.updated_at, rate_per_second = excluded.rate_per_second, " +
            "max_concurrency = excluded.max_concurrency");
        command.Parameters.Add(P(provider.WorkspaceId));
        command.Parameters.Add(P(provider.Id));
        command.Parameters.Add(P(provider.Channel));
        command.Parameters.Add(P(provider.Kind));
        command.Parameters.Add(P(provider.Priority));
        command.Parameters.Add(P(provider.Enabled));
        command.Parameters.Add(P(provider.ConfigJson));
        command.Parameters.Add(P(StoreValues.Truncate(provider.UpdatedAt)));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Double, Value = (object?)provider.RatePerSecond ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer, Value = (object?)provider.MaxConcurrency ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> DeleteProviderAsync(long workspaceId, string id, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM providers WHERE workspace_id = $1 AND id = $2");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(id));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    private sealed partial class PostgresProfileTransaction
    {
        public async Task RecordMessageConversionsAsync(IReadOnlyCollection<Domain.Journeys.JourneyConversion> conversions, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(conversions);
            foreach (var c in conversions)
            {
                var prefix = "j" + c.InstanceId.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await using var command = new NpgsqlCommand(
                    "INSERT INTO message_events (workspace_id, message_id, profile_id, at, kind, channel, detail) " +
                    "SELECT workspace_id, id, profile_id, $1, 'converted', channel, $2 FROM messages " +
                    "WHERE workspace_id = $3 AND idempotency_key >= $4 AND idempotency_key < $5 AND sent_at IS NOT NULL", connection, tx);
                command.Parameters.Add(new NpgsqlParameter { Value = c.At });
                command.Parameters.Add(new NpgsqlParameter { Value = "the journey's goal was met (step " + c.LastStep + ")" });
                command.Parameters.Add(new NpgsqlParameter { Value = c.WorkspaceId });
                command.Parameters.Add(new NpgsqlParameter { Value = prefix + "-" });
                command.Parameters.Add(new NpgsqlParameter { Value = prefix + "." });
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        public async Task InsertMessagesAsync(IReadOnlyList<OutboundMessage> messages, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(messages);
            ObjectDisposedException.ThrowIf(_finished, this);
            if (messages.Count == 0) return;
            await InsertMessageRowsAsync(Command, messages, cancellationToken);
        }
    }
}
