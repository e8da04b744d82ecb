using System.Globalization;
using Chuda.Domain.Profiles;
using Chuda.Domain.Workspaces;
using Chuda.Storage.Internal;
using Microsoft.Data.Sqlite;

namespace Chuda.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. All writes go through a single writer connection guarded by a
/// gate, so at most one <see cref="IProfileTransaction"/> is open at a time (<see cref="MaxWriterPartitions"/> = 1) and
/// <see cref="BeginAsync"/> waits for the previous one to finish. Reads use separate pooled connections and see the
/// last committed state.
/// </summary>
public sealed partial class SqliteStore : IChudaStore
{
    // Profile ids are handed out from a block persisted ahead of time (outside any batch), so a rolled-back batch
    // never gives an id back, and a restart continues after the last persisted block.
    private const int ProfileIdBlock = 1024;
    private const int ProfileIdLowWater = 256;

    private readonly string _readConnectionString;
    private readonly SqliteConnection _writer;
    private readonly SqliteCommands _commands;
    private readonly SemaphoreSlim _writerGate = new(1, 1);
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<Migration> _migrations = Migrations.Load("Sqlite");

    // Guarded by _writerGate: the profile ids [_idNext, _idLimit) are persisted as used and not yet handed out.
    private long _idNext;
    private long _idLimit;
    private volatile bool _disposed;

    private SqliteStore(string readConnectionString, SqliteConnection writer, TimeProvider time)
    {
        _readConnectionString = readConnectionString;
        _writer = writer;
        _commands = new SqliteCommands(writer);
        _time = time;
    }

    public string Kind => "sqlite";

    public int MaxWriterPartitions => 1;

    /// <summary>Opens (creating when missing) the database in <paramref name="connectionString"/>. Does not migrate.</summary>
    public static Task<SqliteStore> OpenAsync(string connectionString, StoreOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (string.IsNullOrWhiteSpace(builder.DataSource) || builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
            throw new ArgumentException("The SQLite store needs a database file (readers use their own connections).", nameof(connectionString));
        var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);

        var writerBuilder = new SqliteConnectionStringBuilder(builder.ConnectionString) { Pooling = false };
        var readBuilder = new SqliteConnectionStringBuilder(builder.ConnectionString) { Pooling = true };

        var writer = new SqliteConnection(writerBuilder.ConnectionString);
        try
        {
            writer.Open();
            using (var command = writer.CreateCommand())
            {
                // busy_timeout first: switching to WAL needs a moment of exclusive access when another process is opening too.
                var busyMs = (long)options.SqliteBusyTimeout.TotalMilliseconds;
                command.CommandText = $"PRAGMA busy_timeout={busyMs.ToString(CultureInfo.InvariantCulture)}";
                command.ExecuteNonQuery();
                command.CommandText = "PRAGMA journal_mode=WAL";
                var mode = Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture);
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                    throw new InvalidOperationException($"SQLite refused WAL mode (journal_mode={mode}).");
                command.CommandText =
                    $"PRAGMA synchronous={(options.SqliteSynchronousFull ? "FULL" : "NORMAL")}; " +
                    $"PRAGMA cache_size=-{options.SqliteCacheSizeKib.ToString(CultureInfo.InvariantCulture)}; " +
                    $"PRAGMA wal_autocheckpoint={options.SqliteWalAutoCheckpointPages.ToString(CultureInfo.InvariantCulture)}; " +
                    "PRAGMA temp_store=MEMORY;";
                command.ExecuteNonQuery();
            }
        }
        catch
        {
            writer.Dispose();
            throw;
        }
        return Task.FromResult(new SqliteStore(readBuilder.ConnectionString, writer, options.TimeProvider));
    }

    // ---- migrations ----------------------------------------------------------------------------

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await _writerGate.WaitAsync(cancellationToken);
        try
        {
            ThrowIfDisposed();
            using (var create = _writer.CreateCommand())
            {
                create.CommandText = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";
                create.ExecuteNonQuery();
            }
            foreach (var migration in _migrations)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // BEGIN IMMEDIATE takes the write lock first, so another process migrating the same file waits and then
                // sees the version recorded.
                using var tx = _writer.BeginTransaction(deferred: false);
                using var command = _writer.CreateCommand();
                command.Transaction = tx;
                command.CommandText = "SELECT count(*) FROM schema_migrations WHERE version = $v";
                command.Parameters.AddWithValue("$v", migration.Version);
                if ((long)command.ExecuteScalar()! > 0) continue;
                command.Parameters.Clear();
                command.CommandText = migration.Sql;
                command.ExecuteNonQuery();
                command.CommandText = "INSERT INTO schema_migrations (version, applied_at) VALUES ($v, $at)";
                command.Parameters.AddWithValue("$v", migration.Version);
                command.Parameters.AddWithValue("$at", StoreValues.ToMillis(_time.GetUtcNow()));
                command.ExecuteNonQuery();
                tx.Commit();
            }
        }
        finally
        {
            _writerGate.Release();
        }
    }

    public Task<IReadOnlyList<int>> GetAppliedMigrationsAsync(CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
        if ((long)command.ExecuteScalar()! == 0) return Task.FromResult<IReadOnlyList<int>>([]);
        command.CommandText = "SELECT version FROM schema_migrations ORDER BY version";
        var versions = new List<int>();
        using var reader = command.ExecuteReader();
        while (reader.Read()) versions.Add(reader.GetInt32(0));
        return Task.FromResult<IReadOnlyList<int>>(versions);
    }

    // ---- workspaces and keys ---------------------------------------------------------------------

    public async Task<Workspace> CreateWorkspaceAsync(string name, string salt, DateTimeOffset createdAt, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(salt);
        var id = await WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                "INSERT INTO workspaces (name, salt, created_at) VALUES ($n, $s, $c) ON CONFLICT (name) DO NOTHING RETURNING id";
            command.Parameters.AddWithValue("$n", name);
            command.Parameters.AddWithValue("$s", salt);
            command.Parameters.AddWithValue("$c", StoreValues.ToMillis(createdAt));
            return command.ExecuteScalar() is long value ? value : (long?)null;
        }, cancellationToken);
        return id is { } workspaceId
            ? new Workspace(workspaceId, name, salt, StoreValues.Truncate(createdAt))
            : throw new DuplicateNameException($"A workspace named '{name}' already exists.");
    }

    public Task<Workspace?> FindWorkspaceAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(ReadWorkspaces("WHERE name = $x", name).FirstOrDefault());

    public Task<Workspace?> GetWorkspaceAsync(long id, CancellationToken cancellationToken) =>
        Task.FromResult(ReadWorkspaces("WHERE id = $x", id).FirstOrDefault());

    public Task<IReadOnlyList<Workspace>> ListWorkspacesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Workspace>>(ReadWorkspaces("", null));

    private List<Workspace> ReadWorkspaces(string where, object? value)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id, name, salt, created_at FROM workspaces {where} ORDER BY id";
        if (value is not null) command.Parameters.AddWithValue("$x", value);
        using var reader = command.ExecuteReader();
        var list = new List<Workspace>();
        while (reader.Read())
            list.Add(new Workspace(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), StoreValues.FromMillis(reader.GetInt64(3))));
        return list;
    }

    public Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                "INSERT INTO api_keys (hash, workspace_id, kind, instance_admin, created_at, revoked_at) " +
                "VALUES ($h, $w, $k, $a, $c, $r) ON CONFLICT (hash) DO NOTHING";
            command.Parameters.AddWithValue("$h", key.Hash);
            command.Parameters.AddWithValue("$w", key.WorkspaceId);
            command.Parameters.AddWithValue("$k", (int)key.Kind);
            command.Parameters.AddWithValue("$a", key.InstanceAdmin ? 1 : 0);
            command.Parameters.AddWithValue("$c", StoreValues.ToMillis(key.CreatedAt));
            command.Parameters.AddWithValue("$r", key.RevokedAt is { } revoked ? StoreValues.ToMillis(revoked) : DBNull.Value);
            if (command.ExecuteNonQuery() == 0) throw new DuplicateNameException("An API key with this hash already exists.");
            return 0;
        }, cancellationToken);
    }

    public Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT hash, workspace_id, kind, instance_admin, created_at, revoked_at FROM api_keys WHERE hash = $h";
        command.Parameters.AddWithValue("$h", hash);
        using var reader = command.ExecuteReader();
        if (!reader.Read()) return Task.FromResult<ApiKeyRecord?>(null);
        return Task.FromResult<ApiKeyRecord?>(new ApiKeyRecord(
            reader.GetString(0),
            reader.GetInt64(1),
            (ApiKeyKind)reader.GetInt32(2),
            reader.GetInt64(3) != 0,
            StoreValues.FromMillis(reader.GetInt64(4)),
            reader.IsDBNull(5) ? null : StoreValues.FromMillis(reader.GetInt64(5))));
    }

    public Task<int> RevokeApiKeysAsync(long workspaceId, ApiKeyKind kind, DateTimeOffset revokedAt, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE api_keys SET revoked_at = $r WHERE workspace_id = $w AND kind = $k AND revoked_at IS NULL";
            command.Parameters.AddWithValue("$r", StoreValues.ToMillis(revokedAt));
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$k", (int)kind);
            return command.ExecuteNonQuery();
        }, cancellationToken);

    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(long workspaceId, bool includeRevoked, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT hash, workspace_id, kind, instance_admin, created_at, revoked_at FROM api_keys WHERE workspace_id = $w" +
            (includeRevoked ? "" : " AND revoked_at IS NULL") + " ORDER BY created_at DESC, hash";
        command.Parameters.AddWithValue("$w", workspaceId);
        using var reader = command.ExecuteReader();
        var list = new List<ApiKeyRecord>();
        while (reader.Read())
            list.Add(new ApiKeyRecord(
                reader.GetString(0),
                reader.GetInt64(1),
                (ApiKeyKind)reader.GetInt32(2),
                reader.GetInt64(3) != 0,
                StoreValues.FromMillis(reader.GetInt64(4)),
                reader.IsDBNull(5) ? null : StoreValues.FromMillis(reader.GetInt64(5))));
        return Task.FromResult<IReadOnlyList<ApiKeyRecord>>(list);
    }

    public Task<bool> RevokeApiKeyAsync(long workspaceId, string hash, DateTimeOffset revokedAt, CancellationToken cancellationToken) =>
        WithWriterAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE api_keys SET revoked_at = $r WHERE hash = $h AND workspace_id = $w AND revoked_at IS NULL";
            command.Parameters.AddWithValue("$r", StoreValues.ToMillis(revokedAt));
            command.Parameters.AddWithValue("$h", hash);
            command.Parameters.AddWithValue("$w", workspaceId);
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);

    // ---- profile writes --------------------------------------------------------------------------

    public async Task<IProfileTransaction> BeginAsync(CancellationToken cancellationToken)
    {
        await _writerGate.WaitAsync(cancellationToken);
        try
        {
            ThrowIfDisposed();
            if (_idLimit - _idNext < ProfileIdLowWater) TopUpProfileIds();
            var tx = _writer.BeginTransaction(deferred: false);
            return new SqliteProfileTransaction(this, tx);
        }
        catch
        {
            _writerGate.Release();
            throw;
        }
    }

    /// <summary>Persists (in its own autocommit write) the next block of profile ids. Called under the gate, outside a transaction.</summary>
    private void TopUpProfileIds()
    {
        var command = _commands.AdvanceProfileIds;
        command.Transaction = null;
        command.Parameters[0].Value = _idNext;
        command.Parameters[1].Value = ProfileIdBlock;
        var limit = (long)command.ExecuteScalar()!;
        var start = limit - ProfileIdBlock;
        if (start != _idLimit) _idNext = start; // not contiguous with what is left: skip the rest (never reuse)
        _idLimit = limit;
    }

    private long ReserveProfileIds(SqliteTransaction tx, int count)
    {
        if (_idLimit - _idNext >= count)
        {
            var first = _idNext;
            _idNext += count;
            return first;
        }
        // More than the block holds: advance the counter inside the batch. Should the batch roll back, _idNext stays
        // past these ids in memory and the next top-up persists past them.
        var command = _commands.AdvanceProfileIds;
        command.Transaction = tx;
        command.Parameters[0].Value = _idNext;
        command.Parameters[1].Value = count;
        var next = (long)command.ExecuteScalar()!;
        _idNext = _idLimit = next;
        return next - count;
    }

    // ---- reads -----------------------------------------------------------------------------------

    public Task<ProfileRecord?> GetProfileAsync(long workspaceId, long profileId, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SqliteCommands.ProfileColumns} FROM profiles WHERE id = $id AND workspace_id = $w";
        command.Parameters.AddWithValue("$id", profileId);
        command.Parameters.AddWithValue("$w", workspaceId);
        using var reader = command.ExecuteReader();
        return Task.FromResult(reader.Read() ? SqliteCommands.ReadProfile(reader) : null);
    }

    public Task<long?> FindProfileIdAsync(long workspaceId, IdentityKey identity, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT profile_id FROM identities WHERE workspace_id = $w AND kind = $k AND value = $v";
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$k", identity.Kind);
        command.Parameters.AddWithValue("$v", identity.Value);
        return Task.FromResult(command.ExecuteScalar() is long id ? id : (long?)null);
    }

    public Task<IReadOnlyList<IdentityKey>> GetIdentitiesAsync(long workspaceId, long profileId, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT kind, value FROM identities WHERE workspace_id = $w AND profile_id = $p";
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$p", profileId);
        using var reader = command.ExecuteReader();
        var list = new List<IdentityKey>();
        while (reader.Read()) list.Add(new IdentityKey(reader.GetString(0), reader.GetString(1)));
        list.Sort(IdentityOrder.Compare);
        return Task.FromResult<IReadOnlyList<IdentityKey>>(list);
    }

    public Task<IReadOnlyList<EventRow>> GetEventsAsync(long workspaceId, long profileId, int limit, EventCursor? before, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        // occurred_at <= $ts bounds the index range; the OR drops the rows at the cursor's own timestamp it has passed.
        var cursor = before is null ? "" : "AND occurred_at <= $ts AND (occurred_at < $ts OR seq < $seq) ";
        command.CommandText =
            "SELECT seq, message_id, type, name, occurred_at, received_at, payload FROM events " +
            $"WHERE workspace_id = $w AND profile_id = $p {cursor}ORDER BY occurred_at DESC, seq DESC LIMIT $limit";
        command.Parameters.AddWithValue("$w", workspaceId);
        command.Parameters.AddWithValue("$p", profileId);
        command.Parameters.AddWithValue("$limit", limit);
        if (before is { } b)
        {
            command.Parameters.AddWithValue("$ts", StoreValues.ToMillis(b.Timestamp));
            command.Parameters.AddWithValue("$seq", b.Seq);
        }
        using var reader = command.ExecuteReader();
        var list = new List<EventRow>();
        while (reader.Read())
        {
            list.Add(new EventRow(
                workspaceId,
                profileId,
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                StoreValues.FromMillis(reader.GetInt64(4)),
                StoreValues.FromMillis(reader.GetInt64(5)),
                reader.GetString(6)));
        }
        return Task.FromResult<IReadOnlyList<EventRow>>(list);
    }

    public Task<long> CountProfilesAsync(long workspaceId, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM profiles WHERE workspace_id = $w";
        command.Parameters.AddWithValue("$w", workspaceId);
        return Task.FromResult((long)command.ExecuteScalar()!);
    }

    public Task<(long Profiles, long Events)> CountAsync(long workspaceId, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT (SELECT count(*) FROM profiles WHERE workspace_id = $w), (SELECT count(*) FROM events WHERE workspace_id = $w)";
        command.Parameters.AddWithValue("$w", workspaceId);
        using var reader = command.ExecuteReader();
        reader.Read();
        return Task.FromResult((reader.GetInt64(0), reader.GetInt64(1)));
    }

    // ---- plumbing --------------------------------------------------------------------------------

    private SqliteConnection OpenReader()
    {
        ThrowIfDisposed();
        var connection = new SqliteConnection(_readConnectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private async Task<T> WithWriterAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        await _writerGate.WaitAsync(cancellationToken);
        try
        {
            ThrowIfDisposed();
            return work(_writer);
        }
        finally
        {
            _writerGate.Release();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        // Wait for an open transaction to finish with the writer connection.
        await _writerGate.WaitAsync();
        try
        {
            if (_disposed) return;
            _disposed = true;
            _commands.Dispose();
            _writer.Dispose();
            using var pooled = new SqliteConnection(_readConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
        finally
        {
            _writerGate.Release();
        }
    }

    /// <summary>The single open batch on the writer connection; releases the writer gate when it ends.</summary>
    private sealed partial class SqliteProfileTransaction(SqliteStore store, SqliteTransaction tx) : IProfileTransaction
    {
        private readonly SqliteCommands _commands = store._commands;
        private int _finished;

        private SqliteCommand Use(SqliteCommand command)
        {
            if (Volatile.Read(ref _finished) != 0) throw new InvalidOperationException("The transaction has already ended.");
            command.Transaction = tx;
            return command;
        }

        public Task<IReadOnlySet<string>> FindExistingMessageIdsAsync(long workspaceId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken) =>
            Task.FromResult(FindExisting(_commands.FindMessageId, workspaceId, messageIds));

        /// <summary>Of <paramref name="values"/>, those a (workspace, value) point lookup finds.</summary>
        private IReadOnlySet<string> FindExisting(SqliteCommand lookup, long workspaceId, IEnumerable<string> values)
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            var command = Use(lookup);
            var ps = command.Parameters;
            ps[0].Value = workspaceId;
            foreach (var value in values)
            {
                ps[1].Value = value;
                if (command.ExecuteScalar() is not null) found.Add(value);
            }
            return found;
        }

        public Task<IReadOnlyDictionary<IdentityKey, long>> ResolveAsync(long workspaceId, IReadOnlyCollection<IdentityKey> keys, CancellationToken cancellationToken)
        {
            var found = new Dictionary<IdentityKey, long>();
            var command = Use(_commands.Resolve);
            var ps = command.Parameters;
            ps[0].Value = workspaceId;
            foreach (var key in keys)
            {
                ps[1].Value = key.Kind;
                ps[2].Value = key.Value;
                if (command.ExecuteScalar() is long id) found[key] = id;
            }
            return Task.FromResult<IReadOnlyDictionary<IdentityKey, long>>(found);
        }

        public Task<IReadOnlyDictionary<long, ProfileRecord>> LoadProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            var found = new Dictionary<long, ProfileRecord>();
            var command = Use(_commands.LoadProfile);
            var ps = command.Parameters;
            ps[1].Value = workspaceId;
            foreach (var id in profileIds)
            {
                ps[0].Value = id;
                using var reader = command.ExecuteReader();
                if (reader.Read()) found[id] = SqliteCommands.ReadProfile(reader);
            }
            return Task.FromResult<IReadOnlyDictionary<long, ProfileRecord>>(found);
        }

        public Task<long> ReserveProfileIdsAsync(int count, CancellationToken cancellationToken)
        {
            StoreValues.ValidateReservation(count);
            Use(_commands.AdvanceProfileIds);
            return Task.FromResult(store.ReserveProfileIds(tx, count));
        }

        public Task UpsertProfilesAsync(IReadOnlyCollection<ProfileRecord> profiles, CancellationToken cancellationToken)
        {
            StoreValues.ValidateUpsert(profiles);
            foreach (var p in profiles)
            {
                var command = Use(p.Version == 1 ? _commands.InsertProfile : _commands.UpdateProfile);
                SqliteCommands.BindProfile(command, p);
                if (command.ExecuteNonQuery() == 0)
                {
                    throw new ConcurrencyConflictException(p.Version == 1
                        ? $"Profile {p.Id} already exists."
                        : $"Profile {p.Id} is not at version {p.Version - 1} (changed or deleted concurrently).");
                }
            }
            return Task.CompletedTask;
        }

        public Task PutIdentitiesAsync(IReadOnlyCollection<IdentityRow> identities, CancellationToken cancellationToken)
        {
            var put = Use(_commands.PutIdentity);
            var claim = Use(_commands.ClaimIdentity);
            foreach (var row in identities)
            {
                var command = row.Claim ? claim : put;
                var ps = command.Parameters;
                ps[0].Value = row.WorkspaceId;
                ps[1].Value = row.Key.Kind;
                ps[2].Value = row.Key.Value;
                ps[3].Value = row.ProfileId;
                ps[4].Value = StoreValues.ToMillis(row.CreatedAt);
                if (command.ExecuteNonQuery() == 0 && row.Claim)
                {
                    var resolve = Use(_commands.Resolve);
                    resolve.Parameters[0].Value = row.WorkspaceId;
                    resolve.Parameters[1].Value = row.Key.Kind;
                    resolve.Parameters[2].Value = row.Key.Value;
                    var owner = resolve.ExecuteScalar() as long?;
                    if (owner != row.ProfileId)
                        throw new ConcurrencyConflictException($"Identity {row.Key} belongs to profile {owner}, not {row.ProfileId}.");
                }
            }
            return Task.CompletedTask;
        }

        public Task AppendEventsAsync(IReadOnlyCollection<EventRow> events, CancellationToken cancellationToken)
        {
            var insertEvent = Use(_commands.InsertEvent);
            var insertId = Use(_commands.InsertMessageId);
            var e = insertEvent.Parameters;
            var m = insertId.Parameters;
            foreach (var row in events)
            {
                e[0].Value = row.WorkspaceId;
                e[1].Value = row.ProfileId;
                e[2].Value = row.MessageId;
                e[3].Value = row.Type;
                e[4].Value = (object?)row.Name ?? DBNull.Value;
                e[5].Value = StoreValues.ToMillis(row.Timestamp);
                e[6].Value = StoreValues.ToMillis(row.ReceivedAt);
                e[7].Value = row.PayloadJson;
                insertEvent.ExecuteNonQuery();

                m[0].Value = row.WorkspaceId;
                m[1].Value = row.MessageId;
                insertId.ExecuteNonQuery();
            }
            return Task.CompletedTask;
        }

        public Task MergeProfilesAsync(long workspaceId, long fromProfileId, long expectedFromVersion, long intoProfileId, CancellationToken cancellationToken)
        {
            if (fromProfileId == intoProfileId) throw new ArgumentException("A profile cannot be merged into itself.", nameof(intoProfileId));
            using var command = Use(store._writer.CreateCommand());
            command.CommandText = "DELETE FROM profiles WHERE id = $from AND workspace_id = $w AND version = $v";
            command.Parameters.AddWithValue("$from", fromProfileId);
            command.Parameters.AddWithValue("$w", workspaceId);
            command.Parameters.AddWithValue("$v", expectedFromVersion);
            if (command.ExecuteNonQuery() == 0)
                throw new ConcurrencyConflictException($"Profile {fromProfileId} is not at version {expectedFromVersion} (changed or deleted concurrently).");
            command.Parameters.AddWithValue("$into", intoProfileId);
            command.CommandText = "UPDATE identities SET profile_id = $into WHERE workspace_id = $w AND profile_id = $from";
            command.ExecuteNonQuery();
            command.CommandText = "UPDATE events SET profile_id = $into WHERE workspace_id = $w AND profile_id = $from";
            command.ExecuteNonQuery();
            // The merged profile's memberships and re-check go with it; its change history stays (it happened).
            command.CommandText = "DELETE FROM segment_members WHERE workspace_id = $w AND profile_id = $from";
            command.ExecuteNonQuery();
            command.CommandText = "DELETE FROM segment_checks WHERE workspace_id = $w AND profile_id = $from";
            command.ExecuteNonQuery();
            // Journeys follow the person: instances and what they produced move to the survivor.
            MoveJourneyRows(command);
            // So do messages, consent and cool-downs.
            MoveDeliveryRows(command);
            return Task.CompletedTask;
        }

        public Task<IReadOnlySet<string>> FindSuppressionsAsync(long workspaceId, IReadOnlyCollection<string> hashes, CancellationToken cancellationToken) =>
            Task.FromResult(FindExisting(_commands.FindSuppression, workspaceId, hashes));

        public Task<ErasureCounts> EraseProfileAsync(long workspaceId, long profileId, IReadOnlyCollection<SuppressionRow> suppressions, CancellationToken cancellationToken)
        {
            int events, identities, profiles;
            using (var command = Use(store._writer.CreateCommand()))
            {
                command.Parameters.AddWithValue("$w", workspaceId);
                command.Parameters.AddWithValue("$p", profileId);
                command.CommandText = "DELETE FROM events WHERE workspace_id = $w AND profile_id = $p";
                events = command.ExecuteNonQuery();
                command.CommandText = "DELETE FROM identities WHERE workspace_id = $w AND profile_id = $p";
                identities = command.ExecuteNonQuery();
                command.CommandText = "DELETE FROM profiles WHERE id = $p AND workspace_id = $w";
                profiles = command.ExecuteNonQuery();
                command.CommandText = "DELETE FROM segment_members WHERE workspace_id = $w AND profile_id = $p";
                command.ExecuteNonQuery();
                command.CommandText = "DELETE FROM segment_changes WHERE workspace_id = $w AND profile_id = $p";
                command.ExecuteNonQuery();
                command.CommandText = "DELETE FROM segment_checks WHERE workspace_id = $w AND profile_id = $p";
                command.ExecuteNonQuery();
                foreach (var table in JourneyProfileTables)
                {
                    command.CommandText = $"DELETE FROM {table} WHERE workspace_id = $w AND profile_id = $p";
                    command.ExecuteNonQuery();
                }
                DeleteDeliveryRows(command);
            }
            var added = 0;
            var insert = Use(_commands.InsertSuppression);
            var ps = insert.Parameters;
            foreach (var row in suppressions)
            {
                if (row.WorkspaceId != workspaceId)
                    throw new ArgumentException("A suppression row belongs to another workspace.", nameof(suppressions));
                ps[0].Value = row.WorkspaceId;
                ps[1].Value = row.Hash;
                ps[2].Value = row.Kind;
                ps[3].Value = row.Reason;
                ps[4].Value = StoreValues.ToMillis(row.CreatedAt);
                added += insert.ExecuteNonQuery();
            }
            return Task.FromResult(new ErasureCounts(profiles, identities, events, added));
        }

        public Task CommitAsync(CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _finished) != 0) throw new InvalidOperationException("The transaction has already ended.");
            tx.Commit();
            Finish();
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            if (Volatile.Read(ref _finished) == 0)
            {
                try
                {
                    tx.Rollback();
                }
                finally
                {
                    Finish();
                }
            }
            return ValueTask.CompletedTask;
        }

        private void Finish()
        {
            if (Interlocked.Exchange(ref _finished, 1) != 0) return;
            tx.Dispose();
            store._writerGate.Release();
        }
    }
}
