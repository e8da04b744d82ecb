using Chuda.Storage.Internal;
using Microsoft.Data.Sqlite;

namespace Chuda.Storage.Sqlite;

// The operator console: sign-in sessions (writes through the writer gate), dashboard counts and profile search.
public sealed partial class SqliteStore
{
    private const string SessionColumns = "token_hash, workspace_id, key_hash, csrf_token, created_at, last_seen_at, expires_at";

    public Task AddConsoleSessionAsync(ConsoleSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        return WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"INSERT INTO console_sessions ({SessionColumns}) VALUES ($t, $w, $k, $c, $cr, $ls, $ex) ON CONFLICT (token_hash) DO NOTHING";
            command.Parameters.AddWithValue("$t", session.TokenHash);
            command.Parameters.AddWithValue("$w", session.WorkspaceId);
            command.Parameters.AddWithValue("$k", session.KeyHash);
            command.Parameters.AddWithValue("$c", session.CsrfToken);
            command.Parameters.AddWithValue("$cr", StoreValues.ToMillis(session.CreatedAt));
            command.Parameters.AddWithValue("$ls", StoreValues.ToMillis(session.LastSeenAt));
            command.Parameters.AddWithValue("$ex", StoreValues.ToMillis(session.ExpiresAt));
            if (command.ExecuteNonQuery() == 0) throw new DuplicateNameException("A console session with this token hash exists.");
            return 0;
        }, cancellationToken);
    }

    public Task<ConsoleSession?> FindConsoleSessionAsync(string tokenHash, CancellationToken cancellationToken) =>
        Task.FromResult(Query($"SELECT {SessionColumns} FROM console_sessions WHERE token_hash = $t",
            r => new ConsoleSession(r.GetString(0), r.GetInt64(1), r.GetString(2), r.GetString(3), StoreValues.FromMillis(r.GetInt64(4)),
                StoreValues.FromMillis(r.GetInt64(5)), StoreValues.FromMillis(r.GetInt64(6))),
            ("$t", tokenHash)).FirstOrDefault());

    public async Task<bool> TouchConsoleSessionAsync(string tokenHash, DateTimeOffset lastSeenAt, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        await WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE console_sessions SET last_seen_at = $ls, expires_at = $ex WHERE token_hash = $t";
            command.Parameters.AddWithValue("$t", tokenHash);
            command.Parameters.AddWithValue("$ls", StoreValues.ToMillis(lastSeenAt));
            command.Parameters.AddWithValue("$ex", StoreValues.ToMillis(expiresAt));
            return command.ExecuteNonQuery();
        }, cancellationToken) > 0;

    public async Task<bool> DeleteConsoleSessionAsync(string tokenHash, CancellationToken cancellationToken) =>
        await WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM console_sessions WHERE token_hash = $t";
            command.Parameters.AddWithValue("$t", tokenHash);
            return command.ExecuteNonQuery();
        }, cancellationToken) > 0;

    public Task<int> DeleteExpiredConsoleSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM console_sessions WHERE expires_at <= $now";
            command.Parameters.AddWithValue("$now", StoreValues.ToMillis(now));
            return command.ExecuteNonQuery();
        }, cancellationToken);

    public Task<DashboardCounts> GetDashboardCountsAsync(long workspaceId, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket, CancellationToken cancellationToken)
    {
        var bucketMs = SegmentStoreValues.BucketMillis(bucket);
        var fromMs = StoreValues.ToMillis(from);
        var toMs = StoreValues.ToMillis(to);
        (string, object?)[] parameters = [("$w", workspaceId), ("$from", fromMs), ("$to", toMs), ("$bucket", bucketMs)];
        DateTimeOffset Start(SqliteDataReader r) => StoreValues.FromMillis(fromMs + r.GetInt64(0) * bucketMs);
        // time >= from, so integer division is the floor.
        var events = Query("SELECT (received_at - $from) / $bucket AS b, count(*) FROM events " +
            "WHERE workspace_id = $w AND received_at >= $from AND received_at < $to GROUP BY b ORDER BY b",
            r => new TimeBucketCount(Start(r), r.GetInt64(1)), parameters);
        var messages = Query("SELECT (created_at - $from) / $bucket AS b, channel, status, count(*) FROM messages " +
            "WHERE workspace_id = $w AND created_at >= $from AND created_at < $to GROUP BY b, channel, status",
            r => new MessageBucketCount(Start(r), Text(r, 1), r.GetString(2), r.GetInt64(3)), parameters);
        var conversions = Query("SELECT (at - $from) / $bucket AS b, count(*) FROM journey_conversions " +
            "WHERE workspace_id = $w AND at >= $from AND at < $to GROUP BY b ORDER BY b",
            r => new TimeBucketCount(Start(r), r.GetInt64(1)), parameters);
        return Task.FromResult(new DashboardCounts(events, ConsoleStoreValues.Ordered(messages), conversions));
    }

    public Task<IReadOnlyList<ProfileSearchHit>> SearchProfilesAsync(long workspaceId, string? prefix, int limit, CancellationToken cancellationToken)
    {
        limit = Limit(limit);
        const string columns = "p.id, p.user_id, " +
            "(SELECT min(value) FROM identities i WHERE i.workspace_id = p.workspace_id AND i.profile_id = p.id AND i.kind = 'email'), " +
            "(SELECT min(value) FROM identities i WHERE i.workspace_id = p.workspace_id AND i.profile_id = p.id AND i.kind = 'phone'), " +
            "p.traits, p.last_seen";
        static ProfileSearchHit Read(SqliteDataReader r) =>
            new(r.GetInt64(0), Text(r, 1), Text(r, 2), Text(r, 3), r.GetString(4), StoreValues.FromMillis(r.GetInt64(5)));
        if (string.IsNullOrEmpty(prefix))
            return Task.FromResult<IReadOnlyList<ProfileSearchHit>>(Query(
                $"SELECT {columns} FROM profiles p WHERE p.workspace_id = $w ORDER BY p.last_seen DESC, p.id DESC LIMIT $limit",
                Read, ("$w", workspaceId), ("$limit", limit)));
        var (user, email, phone, phonePlus) = ConsoleStoreValues.SearchPrefixes(prefix);
        var parameters = new List<(string, object?)> { ("$w", workspaceId), ("$limit", limit) };
        string Range(string name, string value)
        {
            parameters.Add((name, value));
            var upper = ConsoleStoreValues.PrefixUpperBound(value);
            if (upper is null) return $"value >= {name}";
            parameters.Add((name + "u", upper));
            return $"value >= {name} AND value < {name}u";
        }
        // Each branch is a range of the identities primary key (workspace_id, kind, value).
        var sql =
            "WITH hits(profile_id) AS (" +
            $"SELECT profile_id FROM identities WHERE workspace_id = $w AND kind = 'user_id' AND {Range("$u", user)} " +
            $"UNION SELECT profile_id FROM identities WHERE workspace_id = $w AND kind = 'email' AND {Range("$e", email)} " +
            $"UNION SELECT profile_id FROM identities WHERE workspace_id = $w AND kind = 'phone' AND {Range("$p", phone)} " +
            $"UNION SELECT profile_id FROM identities WHERE workspace_id = $w AND kind = 'phone' AND {Range("$pp", phonePlus)}) " +
            $"SELECT {columns} FROM hits h JOIN profiles p ON p.id = h.profile_id AND p.workspace_id = $w " +
            "ORDER BY p.last_seen DESC, p.id DESC LIMIT $limit";
        return Task.FromResult<IReadOnlyList<ProfileSearchHit>>(Query(sql, Read, [.. parameters]));
    }
}
