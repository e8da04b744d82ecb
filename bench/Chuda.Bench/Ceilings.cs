using System.Buffers;
using System.Diagnostics;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Chuda.Bench;

/// <summary>
/// The storage ceiling: the same event rows (same JSON payloads, same columns as Chuda's <c>events</c> table) inserted
/// raw, in big batches, into a fresh database of the same kind with the same durability settings as Chuda's store
/// (SQLite: WAL, synchronous=FULL; PostgreSQL: the same server). <c>indexed</c> adds what Chuda's schema also
/// maintains for every event: the <c>events_profile</c> index and a <c>message_ids</c> de-duplication row.
/// </summary>
public static class Ceilings
{
    public sealed record Row(long ProfileId, string MessageId, string Type, string? Name, long OccurredAt, long ReceivedAt, string Payload);

    /// <summary>Rows [first, first+count) of the stream, rendered from the same templates as the bodies.</summary>
    public static Row[] MakeRows(long first, int count, int profiles, Random random, string prefix, long receivedAt)
    {
        var rows = new Row[count];
        var buffer = new ArrayBufferWriter<byte>(1024);
        for (var i = 0; i < count; i++)
        {
            var n = first + i;
            var index = (int)(n % 100);
            var template = Payloads.IsIdentify(index) ? Identify : Track;
            long user = 0;
            template.Render(buffer, () => user = random.NextInt64(profiles), prefix, n);
            var payload = Encoding.UTF8.GetString(buffer.WrittenSpan);
            rows[i] = Payloads.IsIdentify(index)
                ? new Row(user, prefix + n, "identify", null, receivedAt, receivedAt, payload)
                : new Row(user, prefix + n, "track", "Order Completed", receivedAt, receivedAt, payload);
        }
        return rows;
    }

    private static readonly BodyTemplate Track = new(Payloads.Track);
    private static readonly BodyTemplate Identify = new(Payloads.Identify);

    public static long MessageHash(string messageId)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in messageId)
        {
            hash ^= (byte)c;
            hash *= 1099511628211UL;
            hash ^= (byte)(c >> 8);
            hash *= 1099511628211UL;
        }
        return unchecked((long)hash);
    }

    /// <summary>Rows per second; only the inserts and commits are timed (rows are rendered between transactions).</summary>
    public static async Task<double> RunAsync(BenchDatabase db, long events, int profiles, bool indexed, int rowsPerTransaction = 10_000)
    {
        var random = new Random(42);
        var prefix = "ceil-" + Guid.NewGuid().ToString("N")[..8] + "-";
        var receivedAt = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        return db.Kind == "sqlite"
            ? Sqlite(db, events, profiles, indexed, rowsPerTransaction, random, prefix, receivedAt)
            : await PostgresAsync(db, events, profiles, indexed, rowsPerTransaction, random, prefix, receivedAt);
    }

    private const string SqliteDdl = """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id INTEGER NOT NULL, profile_id INTEGER NOT NULL,
            message_id TEXT NOT NULL, type TEXT NOT NULL, name TEXT, occurred_at INTEGER NOT NULL,
            received_at INTEGER NOT NULL, payload TEXT NOT NULL);
        """;

    private const string SqliteIndexes = """
        CREATE INDEX events_profile ON events (workspace_id, profile_id, occurred_at);
        CREATE TABLE message_ids (workspace_id INTEGER NOT NULL, hash INTEGER NOT NULL, message_id TEXT NOT NULL,
            PRIMARY KEY (workspace_id, hash, message_id)) WITHOUT ROWID;
        """;

    private static double Sqlite(BenchDatabase db, long events, int profiles, bool indexed, int perTx, Random random, string prefix, long receivedAt)
    {
        var path = Path.Combine(db.Directory, indexed ? "ceiling-indexed.db" : "ceiling.db");
        using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;";
            setup.ExecuteNonQuery();
            setup.CommandText = SqliteDdl + (indexed ? SqliteIndexes : "");
            setup.ExecuteNonQuery();
        }
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO events (workspace_id, profile_id, message_id, type, name, occurred_at, received_at, payload) VALUES (1, $p, $m, $t, $n, $o, $r, $j)";
        var p = insert.Parameters.Add("$p", SqliteType.Integer);
        var m = insert.Parameters.Add("$m", SqliteType.Text);
        var t = insert.Parameters.Add("$t", SqliteType.Text);
        var n = insert.Parameters.Add("$n", SqliteType.Text);
        var o = insert.Parameters.Add("$o", SqliteType.Integer);
        var r = insert.Parameters.Add("$r", SqliteType.Integer);
        var j = insert.Parameters.Add("$j", SqliteType.Text);
        using var dedup = connection.CreateCommand();
        dedup.CommandText = "INSERT INTO message_ids (workspace_id, hash, message_id) VALUES (1, $h, $m)";
        var dh = dedup.Parameters.Add("$h", SqliteType.Integer);
        var dm = dedup.Parameters.Add("$m", SqliteType.Text);
        var timed = TimeSpan.Zero;
        for (long first = 0; first < events; first += perTx)
        {
            var rows = MakeRows(first, (int)Math.Min(perTx, events - first), profiles, random, prefix, receivedAt);
            var t0 = Stopwatch.GetTimestamp();
            using var tx = connection.BeginTransaction();
            insert.Transaction = tx;
            dedup.Transaction = tx;
            foreach (var row in rows)
            {
                p.Value = row.ProfileId;
                m.Value = row.MessageId;
                t.Value = row.Type;
                n.Value = (object?)row.Name ?? DBNull.Value;
                o.Value = row.OccurredAt;
                r.Value = row.ReceivedAt;
                j.Value = row.Payload;
                insert.ExecuteNonQuery();
                if (indexed)
                {
                    dh.Value = MessageHash(row.MessageId);
                    dm.Value = row.MessageId;
                    dedup.ExecuteNonQuery();
                }
            }
            tx.Commit();
            timed += Stopwatch.GetElapsedTime(t0);
        }
        return events / timed.TotalSeconds;
    }

    private static async Task<double> PostgresAsync(BenchDatabase db, long events, int profiles, bool indexed, int perTx, Random random, string prefix, long receivedAt)
    {
        var suffix = indexed ? "_indexed" : "";
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using (var setup = connection.CreateCommand())
        {
            setup.CommandText = $"""
                CREATE TABLE events{suffix} (
                    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, workspace_id bigint NOT NULL, profile_id bigint NOT NULL,
                    message_id text NOT NULL, type text NOT NULL, name text, occurred_at timestamptz NOT NULL,
                    received_at timestamptz NOT NULL, payload json NOT NULL);
                """ + (indexed ? $"""
                CREATE INDEX events{suffix}_profile ON events{suffix} (workspace_id, profile_id, occurred_at, seq);
                CREATE TABLE message_ids{suffix} (workspace_id bigint NOT NULL, hash bigint NOT NULL, message_id text NOT NULL,
                    PRIMARY KEY (workspace_id, hash, message_id));
                """ : "");
            await setup.ExecuteNonQueryAsync();
        }
        var timed = TimeSpan.Zero;
        for (long first = 0; first < events; first += perTx)
        {
            var rows = MakeRows(first, (int)Math.Min(perTx, events - first), profiles, random, prefix, receivedAt);
            var t0 = Stopwatch.GetTimestamp();
            await using var tx = await connection.BeginTransactionAsync();
            await using (var writer = await connection.BeginBinaryImportAsync(
                $"COPY events{suffix} (workspace_id, profile_id, message_id, type, name, occurred_at, received_at, payload) FROM STDIN (FORMAT BINARY)"))
            {
                foreach (var row in rows)
                {
                    await writer.StartRowAsync();
                    await writer.WriteAsync(1L, NpgsqlDbType.Bigint);
                    await writer.WriteAsync(row.ProfileId, NpgsqlDbType.Bigint);
                    await writer.WriteAsync(row.MessageId, NpgsqlDbType.Text);
                    await writer.WriteAsync(row.Type, NpgsqlDbType.Text);
                    if (row.Name is null) await writer.WriteNullAsync();
                    else await writer.WriteAsync(row.Name, NpgsqlDbType.Text);
                    await writer.WriteAsync(DateTimeOffset.FromUnixTimeMilliseconds(row.OccurredAt).UtcDateTime, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(DateTimeOffset.FromUnixTimeMilliseconds(row.ReceivedAt).UtcDateTime, NpgsqlDbType.TimestampTz);
                    await writer.WriteAsync(row.Payload, NpgsqlDbType.Json);
                }
                await writer.CompleteAsync();
            }
            if (indexed)
            {
                await using var writer = await connection.BeginBinaryImportAsync(
                    $"COPY message_ids{suffix} (workspace_id, hash, message_id) FROM STDIN (FORMAT BINARY)");
                foreach (var row in rows)
                {
                    await writer.StartRowAsync();
                    await writer.WriteAsync(1L, NpgsqlDbType.Bigint);
                    await writer.WriteAsync(MessageHash(row.MessageId), NpgsqlDbType.Bigint);
                    await writer.WriteAsync(row.MessageId, NpgsqlDbType.Text);
                }
                await writer.CompleteAsync();
            }
            await tx.CommitAsync();
            timed += Stopwatch.GetElapsedTime(t0);
        }
        return events / timed.TotalSeconds;
    }
}
