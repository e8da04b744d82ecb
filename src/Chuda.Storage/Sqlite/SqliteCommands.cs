using Chuda.Domain.Profiles;
using Chuda.Storage.Internal;
using Microsoft.Data.Sqlite;

namespace Chuda.Storage.Sqlite;

/// <summary>
/// The writer connection's prepared statements, created once and reused by every transaction (SQLite keeps
/// them compiled, so a batch is a loop of bind + step).
/// </summary>
internal sealed class SqliteCommands(SqliteConnection connection) : IDisposable
{
    public const string ProfileColumns =
        "id, workspace_id, user_id, routing_hash, traits, tags, timezone, locale, suppressed, first_seen, last_seen, version";

    private readonly List<SqliteCommand> _all = [];

    public SqliteCommand FindMessageId => field ??= Create(
        "SELECT 1 FROM message_ids WHERE workspace_id = $w AND message_id = $m",
        ("$w", SqliteType.Integer), ("$m", SqliteType.Text));

    public SqliteCommand InsertMessageId => field ??= Create(
        "INSERT INTO message_ids (workspace_id, message_id) VALUES ($w, $m) ON CONFLICT DO NOTHING",
        ("$w", SqliteType.Integer), ("$m", SqliteType.Text));

    public SqliteCommand InsertEvent => field ??= Create(
        "INSERT INTO events (workspace_id, profile_id, message_id, type, name, occurred_at, received_at, payload) " +
        "VALUES ($w, $p, $m, $t, $n, $o, $r, $j)",
        ("$w", SqliteType.Integer), ("$p", SqliteType.Integer), ("$m", SqliteType.Text), ("$t", SqliteType.Text),
        ("$n", SqliteType.Text), ("$o", SqliteType.Integer), ("$r", SqliteType.Integer), ("$j", SqliteType.Text));

    public SqliteCommand Resolve => field ??= Create(
        "SELECT profile_id FROM identities WHERE workspace_id = $w AND kind = $k AND value = $v",
        ("$w", SqliteType.Integer), ("$k", SqliteType.Text), ("$v", SqliteType.Text));

    /// <summary>Insert-only: a claimed identity never moves; the caller checks who owns it when nothing was inserted.</summary>
    public SqliteCommand ClaimIdentity => field ??= Create(
        "INSERT INTO identities (workspace_id, kind, value, profile_id, created_at) VALUES ($w, $k, $v, $p, $c) " +
        "ON CONFLICT (workspace_id, kind, value) DO NOTHING",
        ("$w", SqliteType.Integer), ("$k", SqliteType.Text), ("$v", SqliteType.Text), ("$p", SqliteType.Integer),
        ("$c", SqliteType.Integer));

    public SqliteCommand PutIdentity => field ??= Create(
        "INSERT INTO identities (workspace_id, kind, value, profile_id, created_at) VALUES ($w, $k, $v, $p, $c) " +
        "ON CONFLICT (workspace_id, kind, value) DO UPDATE SET profile_id = excluded.profile_id " +
        "WHERE identities.profile_id <> excluded.profile_id",
        ("$w", SqliteType.Integer), ("$k", SqliteType.Text), ("$v", SqliteType.Text), ("$p", SqliteType.Integer),
        ("$c", SqliteType.Integer));

    public SqliteCommand LoadProfile => field ??= Create(
        $"SELECT {ProfileColumns} FROM profiles WHERE id = $id AND workspace_id = $w",
        ("$id", SqliteType.Integer), ("$w", SqliteType.Integer));

    public SqliteCommand InsertProfile => field ??= Create(
        "INSERT INTO profiles (id, workspace_id, user_id, routing_hash, traits, tags, timezone, locale, suppressed, first_seen, last_seen, version) " +
        "VALUES ($id, $w, $u, $rh, $tr, $tg, $tz, $lc, $s, $fs, $ls, $v) ON CONFLICT DO NOTHING",
        ProfileParameters);

    // The routing hash never changes (it fixes the profile's home partition), so an update keeps the stored one.
    public SqliteCommand UpdateProfile => field ??= Create(
        "UPDATE profiles SET user_id = $u, traits = $tr, tags = $tg, timezone = $tz, locale = $lc, suppressed = $s, " +
        "first_seen = $fs, last_seen = $ls, version = $v WHERE id = $id AND workspace_id = $w AND version = $v - 1",
        ProfileParameters);

    public SqliteCommand FindSuppression => field ??= Create(
        "SELECT 1 FROM suppressions WHERE workspace_id = $w AND hash = $h",
        ("$w", SqliteType.Integer), ("$h", SqliteType.Text));

    public SqliteCommand InsertSuppression => field ??= Create(
        "INSERT INTO suppressions (workspace_id, hash, kind, reason, created_at) VALUES ($w, $h, $k, $r, $c) ON CONFLICT DO NOTHING",
        ("$w", SqliteType.Integer), ("$h", SqliteType.Text), ("$k", SqliteType.Text), ("$r", SqliteType.Text),
        ("$c", SqliteType.Integer));

    /// <summary>Advances the profile id counter past <c>$local</c> by <c>$count</c>; returns the new next value.</summary>
    public SqliteCommand AdvanceProfileIds => field ??= Create(
        "UPDATE sequences SET next_value = max(next_value, $local) + $count WHERE name = 'profile_id' RETURNING next_value",
        ("$local", SqliteType.Integer), ("$count", SqliteType.Integer));

    private static readonly (string, SqliteType)[] ProfileParameters =
    [
        ("$id", SqliteType.Integer), ("$w", SqliteType.Integer), ("$u", SqliteType.Text), ("$rh", SqliteType.Integer),
        ("$tr", SqliteType.Text), ("$tg", SqliteType.Text), ("$tz", SqliteType.Text), ("$lc", SqliteType.Text),
        ("$s", SqliteType.Integer), ("$fs", SqliteType.Integer), ("$ls", SqliteType.Integer), ("$v", SqliteType.Integer),
    ];

    public static void BindProfile(SqliteCommand command, ProfileRecord p)
    {
        var ps = command.Parameters;
        ps[0].Value = p.Id;
        ps[1].Value = p.WorkspaceId;
        ps[2].Value = (object?)p.UserId ?? DBNull.Value;
        ps[3].Value = p.RoutingHash;
        ps[4].Value = p.TraitsJson;
        ps[5].Value = StoreValues.TagsToJson(p.Tags);
        ps[6].Value = (object?)p.Timezone ?? DBNull.Value;
        ps[7].Value = (object?)p.Locale ?? DBNull.Value;
        ps[8].Value = p.Suppressed ? 1 : 0;
        ps[9].Value = StoreValues.ToMillis(p.FirstSeen);
        ps[10].Value = StoreValues.ToMillis(p.LastSeen);
        ps[11].Value = p.Version;
    }

    /// <summary>Reads a row selected with <see cref="ProfileColumns"/>.</summary>
    public static ProfileRecord ReadProfile(SqliteDataReader r) => new(
        WorkspaceId: r.GetInt64(1),
        Id: r.GetInt64(0),
        UserId: r.IsDBNull(2) ? null : r.GetString(2),
        RoutingHash: r.GetInt32(3),
        TraitsJson: r.GetString(4),
        Tags: StoreValues.TagsFromJson(r.GetString(5)),
        Timezone: r.IsDBNull(6) ? null : r.GetString(6),
        Locale: r.IsDBNull(7) ? null : r.GetString(7),
        Suppressed: r.GetInt64(8) != 0,
        FirstSeen: StoreValues.FromMillis(r.GetInt64(9)),
        LastSeen: StoreValues.FromMillis(r.GetInt64(10)),
        Version: r.GetInt64(11));

    private SqliteCommand Create(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters) command.Parameters.Add(name, type);
        _all.Add(command);
        return command;
    }

    public void Dispose()
    {
        foreach (var command in _all) command.Dispose();
        _all.Clear();
    }
}
