using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Storage.Internal;
using Microsoft.Data.Sqlite;

namespace Chuda.Storage.Sqlite;

/// <summary>
/// The writer connection's prepared statements, created once and reused by every transaction (SQLite keeps
/// them compiled, so a batch is a loop of bind + step).
/// </summary>
internal sealed partial class SqliteCommands(SqliteConnection connection) : IDisposable
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

    // ---- segments ------------------------------------------------------------------------------

    // Ids and names are bound as JSON arrays: `x IN (SELECT value FROM json_each($ids))` lets the planner probe the
    // index once per id, and the statement text stays the same whatever the count (so it is prepared once).

    /// <summary>Events of the listed profiles selected by an <see cref="Storage.EventNameFilter"/>; uses events_profile.</summary>
    public const string LoadEventsSql =
        "SELECT seq, profile_id, message_id, type, name, occurred_at, received_at, payload FROM events " +
        "WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids)) " +
        "AND ((type = 'track' AND name IN (SELECT value FROM json_each($names))) OR (type = 'page' AND $pages) OR (type = 'screen' AND $screens))";

    public const string LoadIdentityKindsSql =
        "SELECT DISTINCT profile_id, kind FROM identities WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids))";

    private static readonly (string, SqliteType)[] LoadEventsParameters =
    [
        ("$w", SqliteType.Integer), ("$ids", SqliteType.Text), ("$names", SqliteType.Text), ("$pages", SqliteType.Integer),
        ("$screens", SqliteType.Integer),
    ];

    private static readonly (string, SqliteType)[] IdsParameters = [("$w", SqliteType.Integer), ("$ids", SqliteType.Text)];

    public SqliteCommand LoadEvents => field ??= Create(LoadEventsSql, LoadEventsParameters);

    public SqliteCommand LoadIdentityKinds => field ??= Create(LoadIdentityKindsSql, IdsParameters);

    public const string LoadMembershipsSql =
        "SELECT profile_id, segment_key, since FROM segment_members WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids))";

    public SqliteCommand LoadMemberships => field ??= Create(LoadMembershipsSql, IdsParameters);

    public SqliteCommand LoadChecks => field ??= Create(
        "SELECT profile_id, due_at FROM segment_checks WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids))",
        IdsParameters);

    /// <summary>An entry: keeps an existing membership (and its since).</summary>
    public SqliteCommand InsertMember => field ??= Create(
        "INSERT INTO segment_members (workspace_id, segment_key, profile_id, since) VALUES ($w, $k, $p, $s) ON CONFLICT DO NOTHING",
        ("$w", SqliteType.Integer), ("$k", SqliteType.Integer), ("$p", SqliteType.Integer), ("$s", SqliteType.Integer));

    public SqliteCommand DeleteMember => field ??= Create(
        "DELETE FROM segment_members WHERE workspace_id = $w AND segment_key = $k AND profile_id = $p",
        ("$w", SqliteType.Integer), ("$k", SqliteType.Integer), ("$p", SqliteType.Integer));

    public SqliteCommand InsertChange => field ??= Create(
        "INSERT INTO segment_changes (workspace_id, segment_key, profile_id, entered, at, cause, detail) VALUES ($w, $k, $p, $e, $a, $c, $d)",
        ("$w", SqliteType.Integer), ("$k", SqliteType.Integer), ("$p", SqliteType.Integer), ("$e", SqliteType.Integer),
        ("$a", SqliteType.Integer), ("$c", SqliteType.Text), ("$d", SqliteType.Text));

    public SqliteCommand PutCheck => field ??= Create(
        "INSERT INTO segment_checks (workspace_id, profile_id, due_at) VALUES ($w, $p, $d) " +
        "ON CONFLICT (workspace_id, profile_id) DO UPDATE SET due_at = excluded.due_at",
        ("$w", SqliteType.Integer), ("$p", SqliteType.Integer), ("$d", SqliteType.Integer));

    public SqliteCommand DeleteCheck => field ??= Create(
        "DELETE FROM segment_checks WHERE workspace_id = $w AND profile_id = $p",
        ("$w", SqliteType.Integer), ("$p", SqliteType.Integer));

    /// <summary>An unprepared <see cref="LoadEventsSql"/> on a reader connection.</summary>
    public static SqliteCommand CreateLoadEvents(SqliteConnection connection) => CreateOn(connection, LoadEventsSql, LoadEventsParameters);

    public static SqliteCommand CreateLoadIdentityKinds(SqliteConnection connection) => CreateOn(connection, LoadIdentityKindsSql, IdsParameters);

    public static IReadOnlyList<EventRow> ExecuteLoadEvents(SqliteCommand command, long workspaceId, IReadOnlyCollection<long> profileIds, Storage.EventNameFilter filter)
    {
        var ps = command.Parameters;
        ps[0].Value = workspaceId;
        ps[1].Value = SegmentStoreValues.IdsJson(profileIds);
        ps[2].Value = StoreValues.TagsToJson([.. filter.TrackNames]);
        ps[3].Value = filter.Pages ? 1 : 0;
        ps[4].Value = filter.Screens ? 1 : 0;
        using var reader = command.ExecuteReader();
        var list = new List<EventRow>();
        while (reader.Read())
        {
            list.Add(new EventRow(
                workspaceId,
                reader.GetInt64(1),
                reader.GetInt64(0),
                reader.GetString(2),
                reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                StoreValues.FromMillis(reader.GetInt64(5)),
                StoreValues.FromMillis(reader.GetInt64(6)),
                reader.GetString(7)));
        }
        return list;
    }

    public static IReadOnlyDictionary<long, IReadOnlySet<string>> ExecuteLoadIdentityKinds(SqliteCommand command, long workspaceId, IReadOnlyCollection<long> profileIds)
    {
        var ps = command.Parameters;
        ps[0].Value = workspaceId;
        ps[1].Value = SegmentStoreValues.IdsJson(profileIds);
        using var reader = command.ExecuteReader();
        var found = new Dictionary<long, HashSet<string>>();
        while (reader.Read())
        {
            var profileId = reader.GetInt64(0);
            if (!found.TryGetValue(profileId, out var kinds)) found[profileId] = kinds = new HashSet<string>(StringComparer.Ordinal);
            kinds.Add(reader.GetString(1));
        }
        return found.ToDictionary(x => x.Key, x => (IReadOnlySet<string>)x.Value);
    }

    private static SqliteCommand CreateOn(SqliteConnection connection, string sql, (string Name, SqliteType Type)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters) command.Parameters.Add(name, type);
        return command;
    }

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
