using Chuda.Domain.Profiles;
using Chuda.Domain.Workspaces;
using Chuda.Storage.Internal;
using Npgsql;
using NpgsqlTypes;

namespace Chuda.Storage.Postgres;

/// <summary>
/// The server store. Several partitions write at once, each in its own transaction; optimistic version checks on
/// profiles turn a lost race into <see cref="ConcurrencyConflictException"/>. Every batch operation is one set-based
/// statement over arrays (unnest), several of them pipelined in one <see cref="NpgsqlBatch"/> where possible, and large
/// event appends use binary COPY. Transient errors (deadlock, connection loss) surface to the caller, who retries.
/// </summary>
public sealed partial class PostgresStore : IChudaStore
{
    private const long MigrationLockKey = 0x4348_5544_4100; // "CHUDA"
    private const int IdChunk = 1024;
    private const int CopyThreshold = 256;

    internal const string ProfileColumns =
        "workspace_id, id, user_id, routing_hash, traits, tags, timezone, locale, suppressed, first_seen, last_seen, version";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<Migration> _migrations = Migrations.Load("Postgres");
    private readonly IdBlocks _profileIds;
    private readonly IdBlocks _journeyInstanceIds;

    private PostgresStore(NpgsqlDataSource dataSource, int maxWriterPartitions, TimeProvider time)
    {
        _dataSource = dataSource;
        _profileIds = new IdBlocks(dataSource, "profile_id", IdChunk);
        _journeyInstanceIds = new IdBlocks(dataSource, "journey_instance_id", IdChunk);
        MaxWriterPartitions = maxWriterPartitions;
        _time = time;
    }

    public string Kind => "postgresql";

    public int MaxWriterPartitions { get; }

    /// <summary>Builds the data source once. Does not connect or migrate.</summary>
    public static Task<PostgresStore> OpenAsync(string connectionString, StoreOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var csb = builder.ConnectionStringBuilder;
        if (csb.MaxAutoPrepare == 0)
        {
            // The same few statements run for every batch: let Npgsql prepare them server-side.
            csb.MaxAutoPrepare = 64;
            csb.AutoPrepareMinUsages = 2;
        }
        var partitions = options.MaxPartitions ?? Environment.ProcessorCount;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitions);
        return Task.FromResult(new PostgresStore(builder.Build(), partitions, options.TimeProvider));
    }

    // ---- migrations ----------------------------------------------------------------------------

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // A session advisory lock: a second process migrating at the same time waits here, then finds nothing to do.
        await ExecuteAsync(connection, "SELECT pg_advisory_lock($1)", cancellationToken, P(MigrationLockKey));
        try
        {
            await ExecuteAsync(connection,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)",
                cancellationToken);
            foreach (var migration in _migrations)
            {
                await using var tx = await connection.BeginTransactionAsync(cancellationToken);
                await using (var check = new NpgsqlCommand("SELECT count(*) FROM schema_migrations WHERE version = $1", connection, tx))
                {
                    check.Parameters.Add(P(migration.Version));
                    if ((long)(await check.ExecuteScalarAsync(cancellationToken))! > 0) continue;
                }
                await using (var apply = new NpgsqlCommand(migration.Sql, connection, tx))
                    await apply.ExecuteNonQueryAsync(cancellationToken);
                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", connection, tx))
                {
                    record.Parameters.Add(P(migration.Version));
                    record.Parameters.Add(P(StoreValues.Truncate(_time.GetUtcNow())));
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }
                await tx.CommitAsync(cancellationToken);
            }
        }
        finally
        {
            try
            {
                await ExecuteAsync(connection, "SELECT pg_advisory_unlock($1)", CancellationToken.None, P(MigrationLockKey));
            }
            catch (NpgsqlException)
            {
                // The connection is gone, and the session lock with it.
            }
        }
    }

    public async Task<IReadOnlyList<int>> GetAppliedMigrationsAsync(CancellationToken cancellationToken)
    {
        await using (var exists = _dataSource.CreateCommand("SELECT to_regclass('schema_migrations') IS NOT NULL"))
        {
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!) return [];
        }
        await using var command = _dataSource.CreateCommand("SELECT version FROM schema_migrations ORDER BY version");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var versions = new List<int>();
        while (await reader.ReadAsync(cancellationToken)) versions.Add(reader.GetInt32(0));
        return versions;
    }

    // ---- workspaces and keys ---------------------------------------------------------------------

    public async Task<Workspace> CreateWorkspaceAsync(string name, string salt, DateTimeOffset createdAt, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(salt);
        var at = StoreValues.Truncate(createdAt);
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO workspaces (name, salt, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id");
        command.Parameters.Add(P(name));
        command.Parameters.Add(P(salt));
        command.Parameters.Add(P(at));
        return await command.ExecuteScalarAsync(cancellationToken) is long id
            ? new Workspace(id, name, salt, at)
            : throw new DuplicateNameException($"A workspace named '{name}' already exists.");
    }

    public async Task<Workspace?> FindWorkspaceAsync(string name, CancellationToken cancellationToken) =>
        (await ReadWorkspacesAsync("WHERE name = $1", P(name), cancellationToken)).FirstOrDefault();

    public async Task<Workspace?> GetWorkspaceAsync(long id, CancellationToken cancellationToken) =>
        (await ReadWorkspacesAsync("WHERE id = $1", P(id), cancellationToken)).FirstOrDefault();

    public async Task<IReadOnlyList<Workspace>> ListWorkspacesAsync(CancellationToken cancellationToken) =>
        await ReadWorkspacesAsync("", null, cancellationToken);

    private async Task<List<Workspace>> ReadWorkspacesAsync(string where, NpgsqlParameter? parameter, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT id, name, salt, created_at FROM workspaces {where} ORDER BY id");
        if (parameter is not null) command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<Workspace>();
        while (await reader.ReadAsync(cancellationToken))
            list.Add(new Workspace(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        return list;
    }

    public async Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO api_keys (hash, workspace_id, kind, instance_admin, created_at, revoked_at) " +
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING");
        command.Parameters.Add(P(key.Hash));
        command.Parameters.Add(P(key.WorkspaceId));
        command.Parameters.Add(P((int)key.Kind));
        command.Parameters.Add(P(key.InstanceAdmin));
        command.Parameters.Add(P(StoreValues.Truncate(key.CreatedAt)));
        command.Parameters.Add(new NpgsqlParameter
        {
            NpgsqlDbType = NpgsqlDbType.TimestampTz,
            Value = key.RevokedAt is { } revoked ? StoreValues.Truncate(revoked) : DBNull.Value,
        });
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
            throw new DuplicateNameException("An API key with this hash already exists.");
    }

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string hash, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT hash, workspace_id, kind, instance_admin, created_at, revoked_at FROM api_keys WHERE hash = $1");
        command.Parameters.Add(P(hash));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new ApiKeyRecord(
            reader.GetString(0),
            reader.GetInt64(1),
            (ApiKeyKind)reader.GetInt32(2),
            reader.GetBoolean(3),
            reader.GetFieldValue<DateTimeOffset>(4),
            reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5));
    }

    public async Task<int> RevokeApiKeysAsync(long workspaceId, ApiKeyKind kind, DateTimeOffset revokedAt, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "UPDATE api_keys SET revoked_at = $1 WHERE workspace_id = $2 AND kind = $3 AND revoked_at IS NULL");
        command.Parameters.Add(P(StoreValues.Truncate(revokedAt)));
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P((int)kind));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(long workspaceId, bool includeRevoked, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT hash, workspace_id, kind, instance_admin, created_at, revoked_at FROM api_keys WHERE workspace_id = $1" +
            (includeRevoked ? "" : " AND revoked_at IS NULL") + " ORDER BY created_at DESC, hash");
        command.Parameters.Add(P(workspaceId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<ApiKeyRecord>();
        while (await reader.ReadAsync(cancellationToken))
            list.Add(new ApiKeyRecord(
                reader.GetString(0),
                reader.GetInt64(1),
                (ApiKeyKind)reader.GetInt32(2),
                reader.GetBoolean(3),
                reader.GetFieldValue<DateTimeOffset>(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5)));
        return list;
    }

    public async Task<bool> RevokeApiKeyAsync(long workspaceId, string hash, DateTimeOffset revokedAt, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "UPDATE api_keys SET revoked_at = $1 WHERE hash = $2 AND workspace_id = $3 AND revoked_at IS NULL");
        command.Parameters.Add(P(StoreValues.Truncate(revokedAt)));
        command.Parameters.Add(P(hash));
        command.Parameters.Add(P(workspaceId));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    // ---- profile writes --------------------------------------------------------------------------

    public async Task<IProfileTransaction> BeginAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var tx = await connection.BeginTransactionAsync(cancellationToken);
            return new PostgresProfileTransaction(this, connection, tx);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Profile ids come in chunks taken in their own autocommit statements (see <see cref="IdBlocks"/>).</summary>
    private Task<long> ReserveProfileIdsAsync(int count, CancellationToken cancellationToken) => _profileIds.ReserveAsync(count, cancellationToken);

    // ---- reads -----------------------------------------------------------------------------------

    public async Task<ProfileRecord?> GetProfileAsync(long workspaceId, long profileId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {ProfileColumns} FROM profiles WHERE workspace_id = $1 AND id = $2");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(profileId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadProfile(reader) : null;
    }

    public async Task<long?> FindProfileIdAsync(long workspaceId, IdentityKey identity, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT profile_id FROM identities WHERE workspace_id = $1 AND kind = $2 AND value = $3");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(identity.Kind));
        command.Parameters.Add(P(identity.Value));
        return await command.ExecuteScalarAsync(cancellationToken) is long id ? id : null;
    }

    public async Task<IReadOnlyList<IdentityKey>> GetIdentitiesAsync(long workspaceId, long profileId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT kind, value FROM identities WHERE workspace_id = $1 AND profile_id = $2");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(profileId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<IdentityKey>();
        while (await reader.ReadAsync(cancellationToken)) list.Add(new IdentityKey(reader.GetString(0), reader.GetString(1)));
        list.Sort(IdentityOrder.Compare); // ordinal, whatever the database collation
        return list;
    }

    public async Task<IReadOnlyList<EventRow>> GetEventsAsync(long workspaceId, long profileId, int limit, EventCursor? before, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var cursor = before is null ? "" : "AND (occurred_at, seq) < ($4, $5) ";
        await using var command = _dataSource.CreateCommand(
            "SELECT seq, message_id, type, name, occurred_at, received_at, payload FROM events " +
            $"WHERE workspace_id = $1 AND profile_id = $2 {cursor}ORDER BY occurred_at DESC, seq DESC LIMIT $3");
        command.Parameters.Add(P(workspaceId));
        command.Parameters.Add(P(profileId));
        command.Parameters.Add(P(limit));
        if (before is { } b)
        {
            command.Parameters.Add(P(StoreValues.Truncate(b.Timestamp)));
            command.Parameters.Add(P(b.Seq));
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<EventRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new EventRow(
                workspaceId,
                profileId,
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4),
                reader.GetFieldValue<DateTimeOffset>(5),
                reader.GetString(6)));
        }
        return list;
    }

    public async Task<long> CountProfilesAsync(long workspaceId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT count(*) FROM profiles WHERE workspace_id = $1");
        command.Parameters.Add(P(workspaceId));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<(long Profiles, long Events)> CountAsync(long workspaceId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT (SELECT count(*) FROM profiles WHERE workspace_id = $1), (SELECT count(*) FROM events WHERE workspace_id = $1)");
        command.Parameters.Add(P(workspaceId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    // ---- helpers ---------------------------------------------------------------------------------

    internal static NpgsqlParameter<T> P<T>(T value) => new() { TypedValue = value };

    internal static ProfileRecord ReadProfile(NpgsqlDataReader r) => new(
        WorkspaceId: r.GetInt64(0),
        Id: r.GetInt64(1),
        UserId: r.IsDBNull(2) ? null : r.GetString(2),
        RoutingHash: r.GetInt32(3),
        TraitsJson: r.GetString(4),
        Tags: StoreValues.TagsFromJson(r.GetString(5)),
        Timezone: r.IsDBNull(6) ? null : r.GetString(6),
        Locale: r.IsDBNull(7) ? null : r.GetString(7),
        Suppressed: r.GetBoolean(8),
        FirstSeen: r.GetFieldValue<DateTimeOffset>(9),
        LastSeen: r.GetFieldValue<DateTimeOffset>(10),
        Version: r.GetInt64(11));

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>One partition's batch: its own connection and transaction (READ COMMITTED).</summary>
    private sealed partial class PostgresProfileTransaction(PostgresStore store, NpgsqlConnection connection, NpgsqlTransaction tx) : IProfileTransaction
    {
        private bool _finished;

        private NpgsqlCommand Command(string sql)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            return new NpgsqlCommand(sql, connection, tx);
        }

        private NpgsqlBatch Batch()
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            return new NpgsqlBatch(connection, tx);
        }

        public async Task<IReadOnlySet<string>> FindExistingMessageIdsAsync(long workspaceId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken)
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            if (messageIds.Count == 0) return found;
            var ids = messageIds.Distinct(StringComparer.Ordinal).ToArray();
            await using var command = Command(
                "SELECT m.message_id FROM message_ids m WHERE m.workspace_id = $1 AND m.message_id = ANY($2::text[])");
            command.Parameters.Add(P(workspaceId));
            command.Parameters.Add(P(ids));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) found.Add(reader.GetString(0));
            return found;
        }

        public async Task<IReadOnlyDictionary<IdentityKey, long>> ResolveAsync(long workspaceId, IReadOnlyCollection<IdentityKey> keys, CancellationToken cancellationToken)
        {
            var found = new Dictionary<IdentityKey, long>();
            if (keys.Count == 0) return found;
            var distinct = keys.Distinct().ToArray();
            await using var command = Command(
                "SELECT i.kind, i.value, i.profile_id FROM unnest($2::text[], $3::text[]) AS u(k, v) " +
                "JOIN identities i ON i.workspace_id = $1 AND i.kind = u.k AND i.value = u.v");
            command.Parameters.Add(P(workspaceId));
            command.Parameters.Add(P(Array.ConvertAll(distinct, k => k.Kind)));
            command.Parameters.Add(P(Array.ConvertAll(distinct, k => k.Value)));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                found[new IdentityKey(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
            return found;
        }

        public async Task<IReadOnlyDictionary<long, ProfileRecord>> LoadProfilesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
        {
            var found = new Dictionary<long, ProfileRecord>();
            if (profileIds.Count == 0) return found;
            await using var command = Command($"SELECT {ProfileColumns} FROM profiles WHERE workspace_id = $1 AND id = ANY($2)");
            command.Parameters.Add(P(workspaceId));
            command.Parameters.Add(P(profileIds.Distinct().ToArray()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var profile = ReadProfile(reader);
                found[profile.Id] = profile;
            }
            return found;
        }

        public Task<long> ReserveProfileIdsAsync(int count, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            return store.ReserveProfileIdsAsync(count, cancellationToken);
        }

        private const string ProfileArrays =
            "unnest($1::bigint[], $2::bigint[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::text[], $8::text[], " +
            "$9::boolean[], $10::timestamptz[], $11::timestamptz[], $12::bigint[]) AS u(w, id, uid, rh, tr, tg, tz, lc, s, fs, ls, v)";

        public async Task UpsertProfilesAsync(IReadOnlyCollection<ProfileRecord> profiles, CancellationToken cancellationToken)
        {
            StoreValues.ValidateUpsert(profiles);
            if (profiles.Count == 0) return;
            // Ordered by id so concurrent batches lock rows in the same order.
            var inserts = profiles.Where(p => p.Version == 1).OrderBy(p => p.Id).ToArray();
            var updates = profiles.Where(p => p.Version > 1).OrderBy(p => p.Id).ToArray();
            await using var batch = Batch();
            if (inserts.Length > 0)
            {
                batch.BatchCommands.Add(BatchCommand(
                    "INSERT INTO profiles (workspace_id, id, user_id, routing_hash, traits, tags, timezone, locale, suppressed, first_seen, last_seen, version) " +
                    $"SELECT u.w, u.id, u.uid, u.rh, u.tr::json, u.tg::jsonb, u.tz, u.lc, u.s, u.fs, u.ls, u.v FROM {ProfileArrays} " +
                    "ON CONFLICT DO NOTHING",
                    ProfileParameters(inserts)));
            }
            if (updates.Length > 0)
            {
                // The routing hash never changes (it fixes the profile's home partition), so an update keeps the stored one.
                batch.BatchCommands.Add(BatchCommand(
                    "UPDATE profiles p SET user_id = u.uid, traits = u.tr::json, tags = u.tg::jsonb, timezone = u.tz, locale = u.lc, " +
                    $"suppressed = u.s, first_seen = u.fs, last_seen = u.ls, version = u.v FROM {ProfileArrays} " +
                    "WHERE p.workspace_id = u.w AND p.id = u.id AND p.version = u.v - 1",
                    ProfileParameters(updates)));
            }
            await batch.ExecuteNonQueryAsync(cancellationToken);
            var index = 0;
            if (inserts.Length > 0 && batch.BatchCommands[index++].RecordsAffected != inserts.Length)
                throw new ConcurrencyConflictException($"Of {inserts.Length} new profiles, some already exist.");
            if (updates.Length > 0 && batch.BatchCommands[index].RecordsAffected != updates.Length)
                throw new ConcurrencyConflictException($"Of {updates.Length} updated profiles, some changed or were deleted concurrently.");
        }

        private static NpgsqlParameter[] ProfileParameters(ProfileRecord[] p) =>
        [
            P(Array.ConvertAll(p, x => x.WorkspaceId)),
            P(Array.ConvertAll(p, x => x.Id)),
            P(Array.ConvertAll(p, x => x.UserId)),
            P(Array.ConvertAll(p, x => x.RoutingHash)),
            P(Array.ConvertAll(p, x => x.TraitsJson)),
            P(Array.ConvertAll(p, x => StoreValues.TagsToJson(x.Tags))),
            P(Array.ConvertAll(p, x => x.Timezone)),
            P(Array.ConvertAll(p, x => x.Locale)),
            P(Array.ConvertAll(p, x => x.Suppressed)),
            P(Array.ConvertAll(p, x => StoreValues.Truncate(x.FirstSeen))),
            P(Array.ConvertAll(p, x => StoreValues.Truncate(x.LastSeen))),
            P(Array.ConvertAll(p, x => x.Version)),
        ];

        public async Task PutIdentitiesAsync(IReadOnlyCollection<IdentityRow> identities, CancellationToken cancellationToken)
        {
            if (identities.Count == 0) return;
            // One row per key (the last one wins, as a sequence of single puts would), in key order so that concurrent
            // batches lock rows in the same order.
            var rows = identities
                .GroupBy(r => (r.WorkspaceId, r.Key))
                .Select(g => g.Last())
                .OrderBy(r => r.WorkspaceId)
                .ThenBy(r => r.Key.Kind, StringComparer.Ordinal)
                .ThenBy(r => r.Key.Value, StringComparer.Ordinal)
                .ToArray();
            var moves = Array.FindAll(rows, r => !r.Claim);
            var claims = Array.FindAll(rows, r => r.Claim);
            if (moves.Length > 0)
            {
                await using var command = Command(
                    "INSERT INTO identities (workspace_id, kind, value, profile_id, created_at) " +
                    "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) " +
                    "ON CONFLICT (workspace_id, kind, value) DO UPDATE SET profile_id = excluded.profile_id " +
                    "WHERE identities.profile_id <> excluded.profile_id");
                AddIdentityParameters(command, moves);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            if (claims.Length > 0)
            {
                // Insert what is new. Then, in a second statement (READ COMMITTED gives it a fresh snapshot, so it sees
                // a row another partition committed while our insert waited on the unique index), any claimed identity
                // owned by another profile means that partition claimed it first.
                await using (var insert = Command(
                    "INSERT INTO identities (workspace_id, kind, value, profile_id, created_at) " +
                    "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) " +
                    "ON CONFLICT (workspace_id, kind, value) DO NOTHING"))
                {
                    AddIdentityParameters(insert, claims);
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                await using var check = Command(
                    "SELECT count(*) FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) " +
                    "AS w(workspace_id, kind, value, profile_id, created_at) " +
                    "JOIN identities i ON i.workspace_id = w.workspace_id AND i.kind = w.kind AND i.value = w.value " +
                    "WHERE i.profile_id <> w.profile_id");
                AddIdentityParameters(check, claims);
                var taken = (long)(await check.ExecuteScalarAsync(cancellationToken))!;
                if (taken > 0)
                    throw new ConcurrencyConflictException($"{taken} claimed identit{(taken == 1 ? "y is" : "ies are")} owned by another profile.");
            }
        }

        private static void AddIdentityParameters(NpgsqlCommand command, IdentityRow[] rows)
        {
            command.Parameters.Add(P(Array.ConvertAll(rows, r => r.WorkspaceId)));
            command.Parameters.Add(P(Array.ConvertAll(rows, r => r.Key.Kind)));
            command.Parameters.Add(P(Array.ConvertAll(rows, r => r.Key.Value)));
            command.Parameters.Add(P(Array.ConvertAll(rows, r => r.ProfileId)));
            command.Parameters.Add(P(Array.ConvertAll(rows, r => StoreValues.Truncate(r.CreatedAt))));
        }

        private const string InsertMessageIdsSql =
            "INSERT INTO message_ids (workspace_id, message_id) " +
            "SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING";

        public async Task AppendEventsAsync(IReadOnlyCollection<EventRow> events, CancellationToken cancellationToken)
        {
            if (events.Count == 0) return;
            var rows = events as EventRow[] ?? events.ToArray();
            // Message ids in key order, so two batches that share one wait for each other instead of deadlocking.
            var ids = rows
                .Select(e => (e.WorkspaceId, e.MessageId))
                .Distinct()
                .OrderBy(x => x.WorkspaceId).ThenBy(x => x.MessageId, StringComparer.Ordinal)
                .ToArray();
            var idParameters = new NpgsqlParameter[]
            {
                P(Array.ConvertAll(ids, x => x.WorkspaceId)),
                P(Array.ConvertAll(ids, x => x.MessageId)),
            };

            if (rows.Length < CopyThreshold)
            {
                // Small batch: both statements in one round trip; unnest yields rows in array order, so seq follows it.
                await using var batch = Batch();
                batch.BatchCommands.Add(BatchCommand(InsertMessageIdsSql, idParameters));
                batch.BatchCommands.Add(BatchCommand(
                    "INSERT INTO events (workspace_id, profile_id, message_id, type, name, occurred_at, received_at, payload) " +
                    "SELECT u.w, u.p, u.m, u.t, u.n, u.o, u.r, u.j::json FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], " +
                    "$5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[]) AS u(w, p, m, t, n, o, r, j)",
                    P(Array.ConvertAll(rows, e => e.WorkspaceId)),
                    P(Array.ConvertAll(rows, e => e.ProfileId)),
                    P(Array.ConvertAll(rows, e => e.MessageId)),
                    P(Array.ConvertAll(rows, e => e.Type)),
                    P(Array.ConvertAll(rows, e => e.Name)),
                    P(Array.ConvertAll(rows, e => StoreValues.Truncate(e.Timestamp))),
                    P(Array.ConvertAll(rows, e => StoreValues.Truncate(e.ReceivedAt))),
                    P(Array.ConvertAll(rows, e => e.PayloadJson))));
                await batch.ExecuteNonQueryAsync(cancellationToken);
                return;
            }

            await using (var command = Command(InsertMessageIdsSql))
            {
                command.Parameters.AddRange(idParameters);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            ObjectDisposedException.ThrowIf(_finished, this);
            await using var importer = await connection.BeginBinaryImportAsync(
                "COPY events (workspace_id, profile_id, message_id, type, name, occurred_at, received_at, payload) FROM STDIN (FORMAT BINARY)",
                cancellationToken);
            foreach (var e in rows)
            {
                await importer.StartRowAsync(cancellationToken);
                await importer.WriteAsync(e.WorkspaceId, NpgsqlDbType.Bigint, cancellationToken);
                await importer.WriteAsync(e.ProfileId, NpgsqlDbType.Bigint, cancellationToken);
                await importer.WriteAsync(e.MessageId, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(e.Type, NpgsqlDbType.Text, cancellationToken);
                if (e.Name is null) await importer.WriteNullAsync(cancellationToken);
                else await importer.WriteAsync(e.Name, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(StoreValues.Truncate(e.Timestamp), NpgsqlDbType.TimestampTz, cancellationToken);
                await importer.WriteAsync(StoreValues.Truncate(e.ReceivedAt), NpgsqlDbType.TimestampTz, cancellationToken);
                await importer.WriteAsync(e.PayloadJson, NpgsqlDbType.Json, cancellationToken);
            }
            await importer.CompleteAsync(cancellationToken);
        }

        public async Task MergeProfilesAsync(long workspaceId, long fromProfileId, long expectedFromVersion, long intoProfileId, CancellationToken cancellationToken)
        {
            if (fromProfileId == intoProfileId) throw new ArgumentException("A profile cannot be merged into itself.", nameof(intoProfileId));
            await using var batch = Batch();
            batch.BatchCommands.Add(BatchCommand(
                "DELETE FROM profiles WHERE workspace_id = $1 AND id = $2 AND version = $3",
                P(workspaceId), P(fromProfileId), P(expectedFromVersion)));
            batch.BatchCommands.Add(BatchCommand(
                "UPDATE identities SET profile_id = $3 WHERE workspace_id = $1 AND profile_id = $2",
                P(workspaceId), P(fromProfileId), P(intoProfileId)));
            batch.BatchCommands.Add(BatchCommand(
                "UPDATE events SET profile_id = $3 WHERE workspace_id = $1 AND profile_id = $2",
                P(workspaceId), P(fromProfileId), P(intoProfileId)));
            // The merged profile's memberships and re-check go with it; its change history stays (it happened).
            batch.BatchCommands.Add(BatchCommand(
                "DELETE FROM segment_members WHERE workspace_id = $1 AND profile_id = $2", P(workspaceId), P(fromProfileId)));
            batch.BatchCommands.Add(BatchCommand(
                "DELETE FROM segment_checks WHERE workspace_id = $1 AND profile_id = $2", P(workspaceId), P(fromProfileId)));
            // Journeys follow the person: instances and what they produced move to the survivor.
            foreach (var sql in MoveJourneyRowsSql)
                batch.BatchCommands.Add(BatchCommand(sql, P(workspaceId), P(fromProfileId), P(intoProfileId)));
            // So do messages, consent and cool-downs.
            foreach (var sql in MoveDeliveryRowsSql)
                batch.BatchCommands.Add(BatchCommand(sql, P(workspaceId), P(fromProfileId), P(intoProfileId)));
            await batch.ExecuteNonQueryAsync(cancellationToken);
            if (batch.BatchCommands[0].RecordsAffected == 0)
                throw new ConcurrencyConflictException($"Profile {fromProfileId} is not at version {expectedFromVersion} (changed or deleted concurrently).");
        }

        public async Task<IReadOnlySet<string>> FindSuppressionsAsync(long workspaceId, IReadOnlyCollection<string> hashes, CancellationToken cancellationToken)
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            if (hashes.Count == 0) return found;
            await using var command = Command("SELECT hash FROM suppressions WHERE workspace_id = $1 AND hash = ANY($2)");
            command.Parameters.Add(P(workspaceId));
            command.Parameters.Add(P(hashes.Distinct(StringComparer.Ordinal).ToArray()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) found.Add(reader.GetString(0));
            return found;
        }

        public async Task<ErasureCounts> EraseProfileAsync(long workspaceId, long profileId, IReadOnlyCollection<SuppressionRow> suppressions, CancellationToken cancellationToken)
        {
            if (suppressions.Any(s => s.WorkspaceId != workspaceId))
                throw new ArgumentException("A suppression row belongs to another workspace.", nameof(suppressions));
            var rows = suppressions.OrderBy(s => s.Hash, StringComparer.Ordinal).ToArray();
            await using var batch = Batch();
            batch.BatchCommands.Add(BatchCommand("DELETE FROM events WHERE workspace_id = $1 AND profile_id = $2", P(workspaceId), P(profileId)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM identities WHERE workspace_id = $1 AND profile_id = $2", P(workspaceId), P(profileId)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM profiles WHERE workspace_id = $1 AND id = $2", P(workspaceId), P(profileId)));
            if (rows.Length > 0)
            {
                batch.BatchCommands.Add(BatchCommand(
                    "INSERT INTO suppressions (workspace_id, hash, kind, reason, created_at) " +
                    "SELECT $1, u.h, u.k, u.r, u.c FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS u(h, k, r, c) " +
                    "ON CONFLICT DO NOTHING",
                    P(workspaceId),
                    P(Array.ConvertAll(rows, s => s.Hash)),
                    P(Array.ConvertAll(rows, s => s.Kind)),
                    P(Array.ConvertAll(rows, s => s.Reason)),
                    P(Array.ConvertAll(rows, s => StoreValues.Truncate(s.CreatedAt)))));
            }
            batch.BatchCommands.Add(BatchCommand("DELETE FROM segment_members WHERE workspace_id = $1 AND profile_id = $2", P(workspaceId), P(profileId)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM segment_changes WHERE workspace_id = $1 AND profile_id = $2", P(workspaceId), P(profileId)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM segment_checks WHERE workspace_id = $1 AND profile_id = $2", P(workspaceId), P(profileId)));
            foreach (var table in JourneyProfileTables)
                batch.BatchCommands.Add(BatchCommand($"DELETE FROM {table} WHERE workspace_id = $1 AND profile_id = $2", P(workspaceId), P(profileId)));
            foreach (var table in DeliveryErasureTables)
                batch.BatchCommands.Add(BatchCommand($"DELETE FROM {table} WHERE workspace_id = $1 AND profile_id = $2", P(workspaceId), P(profileId)));
            await batch.ExecuteNonQueryAsync(cancellationToken);
            var c = batch.BatchCommands;
            return new ErasureCounts(
                Profiles: c[2].RecordsAffected,
                Identities: c[1].RecordsAffected,
                Events: c[0].RecordsAffected,
                Suppressions: rows.Length > 0 ? c[3].RecordsAffected : 0);
        }

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            await tx.CommitAsync(cancellationToken);
            _finished = true;
            await tx.DisposeAsync();
            await connection.DisposeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (_finished) return;
            _finished = true;
            try
            {
                await tx.DisposeAsync(); // rolls back when not committed
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }
}
