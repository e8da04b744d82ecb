using System.Globalization;
using Chuda.Domain.Delivery;
using Chuda.Domain.Profiles;
using Chuda.Storage.Internal;
using Microsoft.Data.Sqlite;

namespace Chuda.Storage.Sqlite;

// Delivery. See IChudaStore.Delivery.cs for the contract.
public sealed partial class SqliteStore
{
    private static readonly string InsertMessageSql =
        $"INSERT INTO messages ({string.Join(", ", DeliveryStoreValues.MessageColumns)}) VALUES " +
        $"({string.Join(", ", DeliveryStoreValues.MessageColumns.Select((_, i) => "$p" + i.ToString(CultureInfo.InvariantCulture)))}) " +
        "ON CONFLICT (workspace_id, idempotency_key) DO NOTHING RETURNING id";

    private static readonly string UpdateMessageSql =
        $"UPDATE messages SET {string.Join(", ", DeliveryStoreValues.MessageColumns.Select((c, i) => c + " = $p" + i.ToString(CultureInfo.InvariantCulture)))} " +
        "WHERE id = $id";

    private static readonly string MessageSelect = $"SELECT {DeliveryStoreValues.SelectColumns} FROM messages ";

    /// <summary>Tables of a profile's delivery state: moved on merge, deleted on erasure.</summary>
    private static readonly string[] DeliveryProfileTables = ["messages", "message_events", "consent_log"];

    private static OutboundMessage ReadMessage(SqliteDataReader r) =>
        DeliveryStoreValues.Read(r.IsDBNull, r.GetInt64, r.GetString, i => StoreValues.FromMillis(r.GetInt64(i)));

    private static MessageEvent ReadMessageEvent(SqliteDataReader r) => new(r.GetInt64(0), r.GetInt64(1), r.IsDBNull(2) ? null : r.GetInt64(2),
        StoreValues.FromMillis(r.GetInt64(3)), r.GetString(4), Text(r, 5), r.GetString(6));

    private static object? DbTime(DateTimeOffset? t) => t is { } v ? StoreValues.ToMillis(v) : null;

    private static void BindMessage(SqliteCommand command, OutboundMessage m)
    {
        var values = DeliveryStoreValues.Values(m, DbTime);
        var ps = command.Parameters;
        if (ps.Count == 0)
        {
            for (var i = 0; i < values.Length; i++) ps.Add(new SqliteParameter("$p" + i.ToString(CultureInfo.InvariantCulture), values[i] ?? DBNull.Value));
            return;
        }
        for (var i = 0; i < values.Length; i++) ps[i].Value = values[i] ?? DBNull.Value;
    }

    /// <summary>Moves a merged profile's delivery rows to the survivor (<c>$w</c>, <c>$from</c>, <c>$into</c> bound). When both have an
    /// open digest for the same key, the merged one's items join the survivor's and it is closed as merged (one open digest per
    /// person and key; moving it as it is would break the unique index and fail the merge). Subscriptions the survivor has already
    /// stay the survivor's; cool-downs keep the later end.</summary>
    private static void MoveDeliveryRows(SqliteCommand command)
    {
        command.CommandText = "UPDATE messages SET digest_id = s.id FROM messages d, messages s " +
            "WHERE d.workspace_id = $w AND d.profile_id = $from AND d.status = 'collecting' " +
            "AND s.workspace_id = $w AND s.profile_id = $into AND s.digest_key = d.digest_key AND s.status = 'collecting' " +
            "AND messages.digest_id = d.id AND messages.id <> d.id";
        command.ExecuteNonQuery();
        command.CommandText = $"UPDATE messages SET status = '{MessageStatuses.Merged}', due_at = NULL, " +
            "reason = 'merged into m_' || s.id || ' (profiles merged)' FROM messages s " +
            "WHERE messages.workspace_id = $w AND messages.profile_id = $from AND messages.status = 'collecting' " +
            "AND s.workspace_id = $w AND s.profile_id = $into AND s.digest_key = messages.digest_key AND s.status = 'collecting'";
        command.ExecuteNonQuery();
        foreach (var table in DeliveryProfileTables)
        {
            command.CommandText = $"UPDATE {table} SET profile_id = $into WHERE workspace_id = $w AND profile_id = $from";
            command.ExecuteNonQuery();
        }
        command.CommandText = "INSERT OR IGNORE INTO subscriptions (workspace_id, profile_id, category, channel, state, source, at) " +
            "SELECT workspace_id, $into, category, channel, state, source, at FROM subscriptions WHERE workspace_id = $w AND profile_id = $from";
        command.ExecuteNonQuery();
        command.CommandText = "INSERT INTO cool_downs (workspace_id, profile_id, until, reason, created_at) " +
            "SELECT workspace_id, $into, until, reason, created_at FROM cool_downs WHERE workspace_id = $w AND profile_id = $from " +
            "ON CONFLICT (workspace_id, profile_id) DO UPDATE SET until = excluded.until, reason = excluded.reason WHERE excluded.until > cool_downs.until";
        command.ExecuteNonQuery();
        command.CommandText = "DELETE FROM subscriptions WHERE workspace_id = $w AND profile_id = $from";
        command.ExecuteNonQuery();
        command.CommandText = "DELETE FROM cool_downs WHERE workspace_id = $w AND profile_id = $from";
        command.ExecuteNonQuery();
    }

    /// <summary>Deletes an erased profile's delivery rows (<c>$w</c>, <c>$p</c> bound).</summary>
    private static void DeleteDeliveryRows(SqliteCommand command)
    {
        foreach (var table in (string[])[.. DeliveryProfileTables, "subscriptions", "cool_downs"])
        {
            command.CommandText = $"DELETE FROM {table} WHERE workspace_id = $w AND profile_id = $p";
            command.ExecuteNonQuery();
        }
    }

    // ---- templates ---------------------------------------------------------------------------

    private static TemplateRecord ReadTemplate(SqliteDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.IsDBNull(3) ? null : r.GetInt32(3),
        StoreValues.FromMillis(r.GetInt64(4)), StoreValues.FromMillis(r.GetInt64(5)));

    private static TemplateVersionRecord ReadTemplateVersion(SqliteDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetString(3),
        StoreValues.FromMillis(r.GetInt64(4)), Text(r, 5), Time(r, 6), Text(r, 7));

    private const string TemplateColumns = "workspace_id, id, latest_version, approved_version, created_at, updated_at";
    private const string TemplateVersionColumns = "workspace_id, template_id, version, definition, created_at, created_by, approved_at, approved_by";

    public Task<TemplateRecord?> GetTemplateAsync(long workspaceId, string id, CancellationToken cancellationToken) =>
        Task.FromResult(Query($"SELECT {TemplateColumns} FROM templates WHERE workspace_id = $w AND id = $id", ReadTemplate, ("$w", workspaceId), ("$id", id))
            .FirstOrDefault());

    public Task<IReadOnlyList<TemplateRecord>> ListTemplatesAsync(long workspaceId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TemplateRecord>>(Query($"SELECT {TemplateColumns} FROM templates WHERE workspace_id = $w ORDER BY id COLLATE BINARY",
            ReadTemplate, ("$w", workspaceId)));

    public Task<TemplateVersionRecord?> GetTemplateVersionAsync(long workspaceId, string id, int? version, CancellationToken cancellationToken) =>
        Task.FromResult(Query($"SELECT {TemplateVersionColumns} FROM template_versions WHERE workspace_id = $w AND template_id = $id " +
            (version is null ? "ORDER BY version DESC LIMIT 1" : "AND version = $v"), ReadTemplateVersion, ("$w", workspaceId), ("$id", id), ("$v", version))
            .FirstOrDefault());

    public Task<IReadOnlyList<TemplateVersionRecord>> ListTemplateVersionsAsync(long workspaceId, string id, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TemplateVersionRecord>>(Query($"SELECT {TemplateVersionColumns} FROM template_versions WHERE workspace_id = $w " +
            "AND template_id = $id ORDER BY version DESC", ReadTemplateVersion, ("$w", workspaceId), ("$id", id)));

    public Task<TemplateRecord?> AddTemplateVersionAsync(long workspaceId, string id, string definitionJson, DateTimeOffset at, string? by, int? expectedLatest,
        CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$at", StoreValues.ToMillis(at));
            command.CommandText = "SELECT latest_version FROM templates WHERE workspace_id = $w AND id = $id";
            var latest = command.ExecuteScalar() is long l ? (int)l : 0;
            if (expectedLatest is { } expected && expected != latest) return null;
            var version = latest + 1;
            command.Parameters.AddWithValue("$v", version);
            command.CommandText = "INSERT INTO templates (workspace_id, id, latest_version, approved_version, created_at, updated_at) VALUES ($w, $id, $v, NULL, $at, $at) " +
                "ON CONFLICT (workspace_id, id) DO UPDATE SET latest_version = $v, updated_at = $at";
            command.ExecuteNonQuery();
            command.CommandText = "INSERT INTO template_versions (workspace_id, template_id, version, definition, created_at, created_by) VALUES ($w, $id, $v, $d, $at, $by)";
            command.Parameters.AddWithValue("$d", definitionJson);
            command.Parameters.AddWithValue("$by", (object?)by ?? DBNull.Value);
            command.ExecuteNonQuery();
            command.CommandText = $"SELECT {TemplateColumns} FROM templates WHERE workspace_id = $w AND id = $id";
            TemplateRecord record;
            using (var reader = command.ExecuteReader())
            {
                reader.Read();
                record = ReadTemplate(reader);
            }
            tx.Commit();
            return (TemplateRecord?)record;
        }, cancellationToken);

    public Task<bool> ApproveTemplateVersionAsync(long workspaceId, string id, int version, string? by, DateTimeOffset at, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$v", version);
            command.Parameters.AddWithValue("$at", StoreValues.ToMillis(at));
            command.Parameters.AddWithValue("$by", (object?)by ?? DBNull.Value);
            command.CommandText = "UPDATE template_versions SET approved_at = $at, approved_by = $by WHERE workspace_id = $w AND template_id = $id AND version = $v";
            if (command.ExecuteNonQuery() == 0) return false;
            command.CommandText = "UPDATE templates SET approved_version = $v, updated_at = $at WHERE workspace_id = $w AND id = $id " +
                "AND (approved_version IS NULL OR approved_version < $v)";
            command.ExecuteNonQuery();
            tx.Commit();
            return true;
        }, cancellationToken);

    public Task<bool> DeleteTemplateAsync(long workspaceId, string id, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$id", id);
            command.CommandText = "DELETE FROM template_versions WHERE workspace_id = $w AND template_id = $id";
            command.ExecuteNonQuery();
            command.CommandText = "DELETE FROM templates WHERE workspace_id = $w AND id = $id";
            var deleted = command.ExecuteNonQuery() > 0;
            tx.Commit();
            return deleted;
        }, cancellationToken);

    // ---- the outbox --------------------------------------------------------------------------

    public Task<IReadOnlyList<(OutboundMessage Message, bool Created)>> InsertMessagesAsync(IReadOnlyList<OutboundMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction();
            var result = InsertMessages(connection, tx, messages, returnRows: true);
            tx.Commit();
            return (IReadOnlyList<(OutboundMessage, bool)>)result;
        }, cancellationToken);
    }

    private static List<(OutboundMessage, bool)> InsertMessages(SqliteConnection connection, SqliteTransaction tx, IReadOnlyList<OutboundMessage> messages, bool returnRows)
    {
        var result = new List<(OutboundMessage, bool)>(messages.Count);
        using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = InsertMessageSql;
        using var evt = connection.CreateCommand();
        evt.Transaction = tx;
        evt.CommandText = "INSERT INTO message_events (workspace_id, message_id, profile_id, at, kind, channel, detail) VALUES ($w, $m, $p, $at, $k, $c, $d)";
        var ep = new[] { "$w", "$m", "$p", "$at", "$k", "$c", "$d" }.Select(n => evt.Parameters.Add(new SqliteParameter(n, DBNull.Value))).ToArray();
        using var find = connection.CreateCommand();
        find.Transaction = tx;
        find.CommandText = MessageSelect + "WHERE workspace_id = $w AND idempotency_key = $k";
        var fw = find.Parameters.Add(new SqliteParameter("$w", 0L));
        var fk = find.Parameters.Add(new SqliteParameter("$k", ""));
        foreach (var m in messages)
        {
            BindMessage(insert, m);
            if (insert.ExecuteScalar() is long id)
            {
                ep[0].Value = m.WorkspaceId;
                ep[1].Value = id;
                ep[2].Value = (object?)m.ProfileId ?? DBNull.Value;
                ep[3].Value = StoreValues.ToMillis(m.CreatedAt);
                ep[4].Value = MessageEventKinds.Queued;
                ep[5].Value = DBNull.Value;
                ep[6].Value = DeliveryStoreValues.QueuedDetail(m);
                evt.ExecuteNonQuery();
                result.Add((m with { Id = id }, true));
            }
            else if (returnRows)
            {
                fw.Value = m.WorkspaceId;
                fk.Value = m.IdempotencyKey;
                using var reader = find.ExecuteReader();
                reader.Read();
                result.Add((ReadMessage(reader), false));
            }
        }
        return result;
    }

    public Task<IReadOnlyList<OutboundMessage>> GetDueMessagesAsync(Lane lane, DateTimeOffset now, int limit, IReadOnlyCollection<long> exclude,
        CancellationToken cancellationToken)
    {
        // Over-fetch by the excluded count so in-flight rows never starve the page.
        var rows = Query(MessageSelect + "WHERE lane = $l AND due_at IS NOT NULL AND due_at <= $now ORDER BY due_at, id LIMIT $n", ReadMessage,
            ("$l", (int)lane), ("$now", StoreValues.ToMillis(now)), ("$n", Limit(limit) + exclude.Count));
        if (exclude.Count > 0) rows.RemoveAll(m => exclude.Contains(m.Id));
        if (rows.Count > limit) rows.RemoveRange(limit, rows.Count - limit);
        return Task.FromResult<IReadOnlyList<OutboundMessage>>(rows);
    }

    public Task<DateTimeOffset?> GetNextMessageDueAsync(CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        // Per lane, so each lookup is one step of the partial index.
        command.CommandText = "SELECT min(d) FROM (SELECT (SELECT min(due_at) FROM messages WHERE lane = 0 AND due_at IS NOT NULL) AS d " +
            "UNION ALL SELECT (SELECT min(due_at) FROM messages WHERE lane = 1 AND due_at IS NOT NULL))";
        return Task.FromResult(command.ExecuteScalar() is long ms ? StoreValues.FromMillis(ms) : (DateTimeOffset?)null);
    }

    public Task<OutboundMessage?> GetMessageAsync(long workspaceId, long id, CancellationToken cancellationToken) =>
        Task.FromResult(Query(MessageSelect + "WHERE id = $id AND workspace_id = $w", ReadMessage, ("$w", workspaceId), ("$id", id)).FirstOrDefault());

    public Task<IReadOnlyList<OutboundMessage>> GetMessagesAsync(long workspaceId, IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0) return Task.FromResult<IReadOnlyList<OutboundMessage>>([]);
        return Task.FromResult<IReadOnlyList<OutboundMessage>>(Query(MessageSelect + "WHERE workspace_id = $w AND id IN (SELECT value FROM json_each($ids)) ORDER BY id",
            ReadMessage, ("$w", workspaceId), ("$ids", "[" + string.Join(",", ids) + "]")));
    }

    public Task<OutboundMessage?> FindMessageByKeyAsync(long workspaceId, string idempotencyKey, CancellationToken cancellationToken) =>
        Task.FromResult(Query(MessageSelect + "WHERE workspace_id = $w AND idempotency_key = $k", ReadMessage, ("$w", workspaceId), ("$k", idempotencyKey))
            .FirstOrDefault());

    public Task<OutboundMessage?> FindMessageByProviderIdAsync(long workspaceId, string providerMessageId, CancellationToken cancellationToken) =>
        Task.FromResult(Query(MessageSelect + "WHERE provider_message_id = $p AND workspace_id = $w ORDER BY id DESC LIMIT 1", ReadMessage,
            ("$w", workspaceId), ("$p", providerMessageId)).FirstOrDefault());

    private static (string Where, List<(string, object?)> Parameters) MessageFilter(long workspaceId, MessageQuery q)
    {
        var where = "workspace_id = $w";
        var ps = new List<(string, object?)> { ("$w", workspaceId) };
        void Equal(string column, object? value)
        {
            if (value is null) return;
            where += $" AND {column} = ${column}";
            ps.Add(("$" + column, value));
        }
        Equal("profile_id", q.ProfileId);
        Equal("channel", q.Channel);
        Equal("status", q.Status);
        Equal("provider", q.Provider);
        if (q.Archived is { } a) where += a ? " AND archived_at IS NOT NULL" : " AND archived_at IS NULL";
        if (q.Unread is { } u) where += u ? " AND read_at IS NULL" : " AND read_at IS NOT NULL";
        if (q.BeforeId is { } b)
        {
            where += " AND id < $b";
            ps.Add(("$b", b));
        }
        return (where, ps);
    }

    public Task<IReadOnlyList<OutboundMessage>> ListMessagesAsync(long workspaceId, MessageQuery query, CancellationToken cancellationToken)
    {
        var (where, ps) = MessageFilter(workspaceId, query);
        ps.Add(("$n", Limit(query.Limit)));
        return Task.FromResult<IReadOnlyList<OutboundMessage>>(Query(MessageSelect + $"WHERE {where} ORDER BY id DESC LIMIT $n", ReadMessage, [.. ps]));
    }

    public Task<long> CountMessagesAsync(long workspaceId, MessageQuery query, CancellationToken cancellationToken)
    {
        var (where, ps) = MessageFilter(workspaceId, query);
        return Task.FromResult(Query($"SELECT count(*) FROM messages WHERE {where}", r => r.GetInt64(0), [.. ps])[0]);
    }

    public Task<IReadOnlyList<OutboundMessage>> GetDigestItemsAsync(long workspaceId, long digestId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<OutboundMessage>>(Query(MessageSelect + "WHERE digest_id = $d AND workspace_id = $w AND id <> $d ORDER BY id", ReadMessage,
            ("$w", workspaceId), ("$d", digestId)));

    private const string MessageEventColumns = "workspace_id, message_id, profile_id, at, kind, channel, detail";

    public Task<IReadOnlyList<MessageEvent>> GetMessageEventsAsync(long workspaceId, long messageId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<MessageEvent>>(Query($"SELECT {MessageEventColumns} FROM message_events WHERE message_id = $m AND workspace_id = $w ORDER BY seq",
            ReadMessageEvent, ("$w", workspaceId), ("$m", messageId)));

    public Task<IReadOnlyList<MessageEvent>> GetProfileMessageEventsAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<MessageEvent>>(Query($"SELECT {MessageEventColumns} FROM message_events WHERE workspace_id = $w AND profile_id = $p " +
            "ORDER BY seq DESC LIMIT $n", ReadMessageEvent, ("$w", workspaceId), ("$p", profileId), ("$n", Limit(limit))));

    public Task ApplyDeliveryAsync(DeliveryWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        return WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction();
            ApplyDelivery(connection, tx, write);
            tx.Commit();
            return 0;
        }, cancellationToken);
    }

    private static void ApplyDelivery(SqliteConnection connection, SqliteTransaction tx, DeliveryWrite write)
    {
        if (write.Updates.Count > 0)
        {
            using var update = connection.CreateCommand();
            update.Transaction = tx;
            update.CommandText = UpdateMessageSql;
            var id = update.Parameters.Add(new SqliteParameter("$id", 0L));
            var count = DeliveryStoreValues.MessageColumns.Length;
            for (var i = 0; i < count; i++) update.Parameters.Add(new SqliteParameter("$p" + i.ToString(CultureInfo.InvariantCulture), DBNull.Value));
            foreach (var m in write.Updates)
            {
                id.Value = m.Id;
                var values = DeliveryStoreValues.Values(m, DbTime);
                for (var i = 0; i < values.Length; i++) update.Parameters[i + 1].Value = values[i] ?? DBNull.Value;
                update.ExecuteNonQuery();
            }
        }
        WriteEvents(connection, tx, write.Events);
        if (write.Suppressions is { Count: > 0 } sups)
        {
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = "INSERT INTO delivery_suppressions (workspace_id, kind, address, reason, detail, created_at) VALUES ($w, $k, $a, $r, $d, $c) " +
                "ON CONFLICT (workspace_id, kind, address) DO NOTHING";
            var ps = new[] { "$w", "$k", "$a", "$r", "$d", "$c" }.Select(n => command.Parameters.Add(new SqliteParameter(n, DBNull.Value))).ToArray();
            foreach (var s in sups)
            {
                ps[0].Value = s.WorkspaceId;
                ps[1].Value = s.Kind;
                ps[2].Value = s.Address;
                ps[3].Value = s.Reason;
                ps[4].Value = (object?)s.Detail ?? DBNull.Value;
                ps[5].Value = StoreValues.ToMillis(s.CreatedAt);
                command.ExecuteNonQuery();
            }
        }
        if (write.CoolDowns is { Count: > 0 } cds)
        {
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = "INSERT INTO cool_downs (workspace_id, profile_id, until, reason, created_at) VALUES ($w, $p, $u, $r, $c) " +
                "ON CONFLICT (workspace_id, profile_id) DO UPDATE SET until = excluded.until, reason = excluded.reason, created_at = excluded.created_at " +
                "WHERE excluded.until > cool_downs.until";
            var ps = new[] { "$w", "$p", "$u", "$r", "$c" }.Select(n => command.Parameters.Add(new SqliteParameter(n, DBNull.Value))).ToArray();
            foreach (var c in cds)
            {
                ps[0].Value = c.WorkspaceId;
                ps[1].Value = c.ProfileId;
                ps[2].Value = StoreValues.ToMillis(c.Until);
                ps[3].Value = c.Reason;
                ps[4].Value = StoreValues.ToMillis(c.CreatedAt);
                command.ExecuteNonQuery();
            }
        }
        if (write.Subscriptions is { Count: > 0 } subs) WriteSubscriptions(connection, tx, subs);
        if (write.RemovedIdentities is { Count: > 0 } removed)
        {
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = "DELETE FROM identities WHERE workspace_id = $w AND kind = $k AND value = $v AND profile_id = $p";
            var ps = new[] { "$w", "$k", "$v", "$p" }.Select(n => command.Parameters.Add(new SqliteParameter(n, DBNull.Value))).ToArray();
            foreach (var r in removed)
            {
                ps[0].Value = r.WorkspaceId;
                ps[1].Value = r.Kind;
                ps[2].Value = r.Value;
                ps[3].Value = r.ProfileId;
                command.ExecuteNonQuery();
            }
        }
    }

    private static void WriteEvents(SqliteConnection connection, SqliteTransaction tx, IReadOnlyList<MessageEvent> events)
    {
        if (events.Count == 0) return;
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"INSERT INTO message_events ({MessageEventColumns}) VALUES ($w, $m, $p, $at, $k, $c, $d)";
        var ps = new[] { "$w", "$m", "$p", "$at", "$k", "$c", "$d" }.Select(n => command.Parameters.Add(new SqliteParameter(n, DBNull.Value))).ToArray();
        foreach (var e in events)
        {
            ps[0].Value = e.WorkspaceId;
            ps[1].Value = e.MessageId;
            ps[2].Value = (object?)e.ProfileId ?? DBNull.Value;
            ps[3].Value = StoreValues.ToMillis(e.At);
            ps[4].Value = e.Kind;
            ps[5].Value = (object?)e.Channel ?? DBNull.Value;
            ps[6].Value = e.Detail;
            command.ExecuteNonQuery();
        }
    }

    private static void WriteSubscriptions(SqliteConnection connection, SqliteTransaction tx, IReadOnlyList<Subscription> subs)
    {
        using var upsert = connection.CreateCommand();
        upsert.Transaction = tx;
        upsert.CommandText = "INSERT INTO subscriptions (workspace_id, profile_id, category, channel, state, source, at) VALUES ($w, $p, $k, $c, $s, $src, $at) " +
            "ON CONFLICT (workspace_id, profile_id, category, channel) DO UPDATE SET state = excluded.state, source = excluded.source, at = excluded.at";
        using var log = connection.CreateCommand();
        log.Transaction = tx;
        log.CommandText = "INSERT INTO consent_log (workspace_id, profile_id, category, channel, state, source, at) VALUES ($w, $p, $k, $c, $s, $src, $at)";
        foreach (var command in (SqliteCommand[])[upsert, log])
        {
            foreach (var n in (string[])["$w", "$p", "$k", "$c", "$s", "$src", "$at"]) command.Parameters.Add(new SqliteParameter(n, DBNull.Value));
        }
        foreach (var s in subs)
        {
            foreach (var command in (SqliteCommand[])[upsert, log])
            {
                var ps = command.Parameters;
                ps[0].Value = s.WorkspaceId;
                ps[1].Value = s.ProfileId;
                ps[2].Value = s.Category;
                ps[3].Value = s.Channel;
                ps[4].Value = (int)s.State;
                ps[5].Value = s.Source;
                ps[6].Value = StoreValues.ToMillis(s.At);
                command.ExecuteNonQuery();
            }
        }
    }

    public Task<OutboundMessage> JoinDigestAsync(OutboundMessage item, OutboundMessage newDigest, IReadOnlyList<MessageEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(newDigest);
        return WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction();
            OutboundMessage? digest;
            using (var find = connection.CreateCommand())
            {
                find.Transaction = tx;
                find.CommandText = MessageSelect + "WHERE workspace_id = $w AND profile_id = $p AND digest_key = $k AND status = 'collecting'";
                find.Parameters.AddWithValue("$w", item.WorkspaceId);
                find.Parameters.AddWithValue("$p", (object?)item.ProfileId ?? DBNull.Value);
                find.Parameters.AddWithValue("$k", item.DigestKey);
                using var reader = find.ExecuteReader();
                digest = reader.Read() ? ReadMessage(reader) : null;
            }
            if (digest is null)
            {
                var inserted = InsertMessages(connection, tx, [newDigest], returnRows: true);
                digest = inserted[0].Item1;
                if (!inserted[0].Item2) throw new ConcurrencyConflictException($"Digest key '{newDigest.IdempotencyKey}' exists already.");
            }
            var joined = item with { DigestId = digest.Id };
            ApplyDelivery(connection, tx, new DeliveryWrite([joined],
                [.. events.Select(e => e.MessageId == 0 ? e with { MessageId = digest.Id } : e)]));
            tx.Commit();
            return digest;
        }, cancellationToken);
    }

    public Task<int> RecoverSendingMessagesAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE messages SET due_at = $now WHERE status = 'sending' AND (due_at IS NULL OR due_at > $now)";
            command.Parameters.AddWithValue("$now", StoreValues.ToMillis(now));
            return command.ExecuteNonQuery();
        }, cancellationToken);

    // ---- what the pipeline reads about people ------------------------------------------------

    private static string IdList(IReadOnlyCollection<long> ids) => "[" + string.Join(",", ids) + "]";

    public Task<IReadOnlyDictionary<long, List<LedgerEntry>>> LoadLedgersAsync(long workspaceId, IReadOnlyCollection<long> profileIds, DateTimeOffset since,
        CancellationToken cancellationToken)
    {
        var result = new Dictionary<long, List<LedgerEntry>>();
        if (profileIds.Count == 0) return Task.FromResult<IReadOnlyDictionary<long, List<LedgerEntry>>>(result);
        var rows = Query("SELECT profile_id, id, dispatched_at, channel, category, lane, dedup_key, " +
            "(opened_at IS NOT NULL OR clicked_at IS NOT NULL OR read_at IS NOT NULL) FROM messages " +
            "WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids)) AND dispatched_at >= $since ORDER BY dispatched_at, id",
            r => (r.GetInt64(0), new LedgerEntry(r.GetInt64(1), StoreValues.FromMillis(r.GetInt64(2)), Text(r, 3), r.GetString(4), (Lane)r.GetInt32(5), Text(r, 6),
                r.GetInt64(7) != 0)),
            ("$w", workspaceId), ("$ids", IdList(profileIds)), ("$since", StoreValues.ToMillis(since)));
        foreach (var (p, e) in rows)
        {
            if (!result.TryGetValue(p, out var list)) result[p] = list = [];
            list.Add(e);
        }
        return Task.FromResult<IReadOnlyDictionary<long, List<LedgerEntry>>>(result);
    }

    public Task<IReadOnlyDictionary<long, ProfileRecord>> GetProfilesByIdAsync(long workspaceId, IReadOnlyCollection<long> profileIds,
        CancellationToken cancellationToken)
    {
        if (profileIds.Count == 0) return Task.FromResult<IReadOnlyDictionary<long, ProfileRecord>>(new Dictionary<long, ProfileRecord>());
        var rows = Query($"SELECT {SqliteCommands.ProfileColumns} FROM profiles WHERE workspace_id = $w AND id IN (SELECT value FROM json_each($ids))",
            SqliteCommands.ReadProfile, ("$w", workspaceId), ("$ids", IdList(profileIds)));
        return Task.FromResult<IReadOnlyDictionary<long, ProfileRecord>>(rows.ToDictionary(p => p.Id));
    }

    public Task<IReadOnlyList<Subscription>> LoadSubscriptionsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        if (profileIds.Count == 0) return Task.FromResult<IReadOnlyList<Subscription>>([]);
        return Task.FromResult<IReadOnlyList<Subscription>>(Query("SELECT workspace_id, profile_id, category, channel, state, source, at FROM subscriptions " +
            "WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids)) ORDER BY profile_id, category, channel",
            r => new Subscription(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), (SubscriptionState)r.GetInt32(4), r.GetString(5),
                StoreValues.FromMillis(r.GetInt64(6))),
            ("$w", workspaceId), ("$ids", IdList(profileIds))));
    }

    public Task<IReadOnlyList<CoolDown>> LoadCoolDownsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        if (profileIds.Count == 0) return Task.FromResult<IReadOnlyList<CoolDown>>([]);
        return Task.FromResult<IReadOnlyList<CoolDown>>(Query("SELECT workspace_id, profile_id, until, reason, created_at FROM cool_downs " +
            "WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids))",
            r => new CoolDown(r.GetInt64(0), r.GetInt64(1), StoreValues.FromMillis(r.GetInt64(2)), r.GetString(3), StoreValues.FromMillis(r.GetInt64(4))),
            ("$w", workspaceId), ("$ids", IdList(profileIds))));
    }

    public Task<IReadOnlyDictionary<long, IReadOnlyList<IdentityKey>>> LoadIdentitiesAsync(long workspaceId, IReadOnlyCollection<long> profileIds,
        CancellationToken cancellationToken)
    {
        var result = new Dictionary<long, IReadOnlyList<IdentityKey>>();
        if (profileIds.Count == 0) return Task.FromResult<IReadOnlyDictionary<long, IReadOnlyList<IdentityKey>>>(result);
        var rows = Query("SELECT profile_id, kind, value FROM identities WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids)) " +
            "ORDER BY profile_id, created_at, kind, value",
            r => (r.GetInt64(0), new IdentityKey(r.GetString(1), r.GetString(2))), ("$w", workspaceId), ("$ids", IdList(profileIds)));
        foreach (var group in rows.GroupBy(r => r.Item1)) result[group.Key] = [.. group.Select(g => g.Item2)];
        return Task.FromResult<IReadOnlyDictionary<long, IReadOnlyList<IdentityKey>>>(result);
    }

    public Task<IReadOnlyList<DeliverySuppression>> FindDeliverySuppressionsAsync(long workspaceId, IReadOnlyCollection<(string Kind, string Address)> addresses,
        CancellationToken cancellationToken)
    {
        if (addresses.Count == 0) return Task.FromResult<IReadOnlyList<DeliverySuppression>>([]);
        var json = System.Text.Json.JsonSerializer.Serialize(addresses.Select(a => a.Kind + "\u001f" + a.Address).ToList(), DeliveryJson.Default.ListString);
        return Task.FromResult<IReadOnlyList<DeliverySuppression>>(Query("SELECT workspace_id, kind, address, reason, detail, created_at FROM delivery_suppressions " +
            // A row-value IN, so each pair is one primary-key lookup (a concatenation of the columns scanned all of the workspace's).
            "WHERE workspace_id = $w AND (kind, address) IN " +
            "(SELECT substr(value, 1, instr(value, char(31)) - 1), substr(value, instr(value, char(31)) + 1) FROM json_each($a))",
            ReadSuppression, ("$w", workspaceId), ("$a", json)));
    }

    private static DeliverySuppression ReadSuppression(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), Text(r, 4), StoreValues.FromMillis(r.GetInt64(5)));

    // ---- consent, suppressions, cool-downs -----------------------------------------------------

    public Task SetSubscriptionsAsync(IReadOnlyList<Subscription> subscriptions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriptions);
        return WithWriterAsync(connection =>
        {
            using var tx = connection.BeginTransaction();
            WriteSubscriptions(connection, tx, subscriptions);
            tx.Commit();
            return 0;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ConsentRecord>> GetConsentLogAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ConsentRecord>>(Query("SELECT workspace_id, profile_id, category, channel, state, source, at FROM consent_log " +
            "WHERE workspace_id = $w AND profile_id = $p ORDER BY seq DESC LIMIT $n",
            r => new ConsentRecord(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), (SubscriptionState)r.GetInt32(4), r.GetString(5),
                StoreValues.FromMillis(r.GetInt64(6))),
            ("$w", workspaceId), ("$p", profileId), ("$n", Limit(limit))));

    public Task<IReadOnlyList<DeliverySuppression>> ListDeliverySuppressionsAsync(long workspaceId, string? kind, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DeliverySuppression>>(Query("SELECT workspace_id, kind, address, reason, detail, created_at FROM delivery_suppressions " +
            "WHERE workspace_id = $w AND ($k IS NULL OR kind = $k) ORDER BY created_at DESC, kind, address LIMIT $n", ReadSuppression,
            ("$w", workspaceId), ("$k", kind), ("$n", Limit(limit))));

    public Task<bool> RemoveDeliverySuppressionAsync(long workspaceId, string kind, string address, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM delivery_suppressions WHERE workspace_id = $w AND kind = $k AND address = $a";
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$k", kind);
            command.Parameters.AddWithValue("$a", address);
            return command.ExecuteNonQuery() > 0;
        }, cancellationToken);

    // ---- providers ---------------------------------------------------------------------------

    public Task<IReadOnlyList<ProviderRecord>> ListProvidersAsync(long? workspaceId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ProviderRecord>>(Query("SELECT workspace_id, id, channel, kind, priority, enabled, config, updated_at, rate_per_second, " +
            "max_concurrency FROM providers " +
            "WHERE ($w IS NULL OR workspace_id = $w) ORDER BY workspace_id, channel, priority, id",
            r => new ProviderRecord(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt64(5) != 0, r.GetString(6),
                StoreValues.FromMillis(r.GetInt64(7)), r.IsDBNull(8) ? null : r.GetDouble(8), r.IsDBNull(9) ? null : r.GetInt32(9)),
            ("$w", workspaceId)));

    public Task SaveProviderAsync(ProviderRecord provider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO providers (workspace_id, id, channel, kind, priority, enabled, config, updated_at, rate_per_second, max_concurrency) " +
                "VALUES ($w, $id, $c, $k, $p, $e, $cfg, $u, $rate, $conc) " +
                "ON CONFLICT (workspace_id, id) DO UPDATE SET channel = excluded.channel, kind = excluded.kind, priority = excluded.priority, " +
                "enabled = excluded.enabled, config = excluded.config, updated_at = excluded.updated_at, rate_per_second = excluded.rate_per_second, " +
                "max_concurrency = excluded.max_concurrency";
            command.Parameters.AddWithValue("$rate", (object?)provider.RatePerSecond ?? DBNull.Value);
            command.Parameters.AddWithValue("$conc", (object?)provider.MaxConcurrency ?? DBNull.Value);
            command.Parameters.AddWithValue("$w", provider.WorkspaceId);
            command.Parameters.AddWithValue("$id", provider.Id);
            command.Parameters.AddWithValue("$c", provider.Channel);
            command.Parameters.AddWithValue("$k", provider.Kind);
            command.Parameters.AddWithValue("$p", provider.Priority);
            command.Parameters.AddWithValue("$e", provider.Enabled ? 1 : 0);
            command.Parameters.AddWithValue("$cfg", provider.ConfigJson);
            command.Parameters.AddWithValue("$u", StoreValues.ToMillis(provider.UpdatedAt));
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<bool> DeleteProviderAsync(long workspaceId, string id, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM providers WHERE workspace_id = $w AND id = $id";
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$id", id);
            return command.ExecuteNonQuery() > 0;
        }, cancellationToken);

    private sealed partial class SqliteProfileTransaction
    {
        public Task InsertMessagesAsync(IReadOnlyList<OutboundMessage> messages, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(messages);
            if (messages.Count == 0) return Task.CompletedTask;
            if (Volatile.Read(ref _finished) != 0) throw new InvalidOperationException("The transaction has already ended.");
            InsertMessages(store._writer, tx, messages, returnRows: false);
            return Task.CompletedTask;
        }

        public Task RecordMessageConversionsAsync(IReadOnlyCollection<Domain.Journeys.JourneyConversion> conversions, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(conversions);
            if (conversions.Count == 0) return Task.CompletedTask;
            if (Volatile.Read(ref _finished) != 0) throw new InvalidOperationException("The transaction has already ended.");
            using var command = store._writer.CreateCommand();
            command.Transaction = tx;
            // The instance's keys are "j{id}-{seq}": a range on the unique (workspace, key) index.
            command.CommandText = "INSERT INTO message_events (workspace_id, message_id, profile_id, at, kind, channel, detail) " +
                "SELECT workspace_id, id, profile_id, $at, 'converted', channel, $d FROM messages " +
                "WHERE workspace_id = $w AND idempotency_key >= $lo AND idempotency_key < $hi AND sent_at IS NOT NULL";
            var w = command.Parameters.Add(new SqliteParameter("$w", 0L));
            var at = command.Parameters.Add(new SqliteParameter("$at", 0L));
            var d = command.Parameters.Add(new SqliteParameter("$d", ""));
            var lo = command.Parameters.Add(new SqliteParameter("$lo", ""));
            var hi = command.Parameters.Add(new SqliteParameter("$hi", ""));
            foreach (var c in conversions)
            {
                var prefix = "j" + c.InstanceId.ToString(CultureInfo.InvariantCulture);
                w.Value = c.WorkspaceId;
                at.Value = StoreValues.ToMillis(c.At);
                d.Value = "the journey's goal was met (step " + c.LastStep + ")";
                lo.Value = prefix + "-";
                hi.Value = prefix + ".";
                command.ExecuteNonQuery();
            }
            return Task.CompletedTask;
        }
    }
}
