using Microsoft.Data.Sqlite;

namespace Chuda.Storage.Sqlite;

// Prepared statements of the journey runtime's hot path (timer firings, event resumes).
internal sealed partial class SqliteCommands
{
    public const string InstanceColumns =
        "id, workspace_id, journey_key, version, profile_id, routing_hash, status, step_id, entered_at, step_entered_at, seq, " +
        "due_at, wait_event, entry_key, context, end_reason, ended_at, updated_at, revision";

    public SqliteCommand LoadInstance => field ??= Create(
        $"SELECT {InstanceColumns} FROM journey_instances WHERE id = $id AND workspace_id = $w",
        ("$id", SqliteType.Integer), ("$w", SqliteType.Integer));

    public SqliteCommand LoadOpenInstances => field ??= Create(
        $"SELECT {InstanceColumns} FROM journey_instances WHERE workspace_id = $w AND profile_id = $p AND status IN (0, 1) ORDER BY id",
        ("$w", SqliteType.Integer), ("$p", SqliteType.Integer));

    public SqliteCommand LoadEntries => field ??= Create(
        "SELECT journey_key, max(entered_at), max(status = 1) FROM journey_instances " +
        "WHERE workspace_id = $w AND profile_id = $p AND status <> 0 GROUP BY journey_key",
        ("$w", SqliteType.Integer), ("$p", SqliteType.Integer));

    public SqliteCommand EntryExists => field ??= Create(
        "SELECT 1 FROM journey_instances WHERE journey_key = $j AND profile_id = $p AND entry_key = $e",
        ("$j", SqliteType.Integer), ("$p", SqliteType.Integer), ("$e", SqliteType.Text));

    public SqliteCommand InsertInstance => field ??= Create(
        $"INSERT INTO journey_instances ({InstanceColumns}) VALUES ($id, $w, $j, $v, $p, $h, $s, $step, $ea, $sa, $seq, $due, $we, $ek, $ctx, $er, $ended, $u, $rev) " +
        "ON CONFLICT DO NOTHING",
        ("$id", SqliteType.Integer), ("$w", SqliteType.Integer), ("$j", SqliteType.Integer), ("$v", SqliteType.Integer),
        ("$p", SqliteType.Integer), ("$h", SqliteType.Integer), ("$s", SqliteType.Integer), ("$step", SqliteType.Text),
        ("$ea", SqliteType.Integer), ("$sa", SqliteType.Integer), ("$seq", SqliteType.Integer), ("$due", SqliteType.Integer),
        ("$we", SqliteType.Text), ("$ek", SqliteType.Text), ("$ctx", SqliteType.Text), ("$er", SqliteType.Text),
        ("$ended", SqliteType.Integer), ("$u", SqliteType.Integer), ("$rev", SqliteType.Integer));

    public SqliteCommand UpdateInstance => field ??= Create(
        "UPDATE journey_instances SET version = $v, profile_id = $p, status = $s, step_id = $step, entered_at = $ea, step_entered_at = $sa, seq = $seq, " +
        "due_at = CASE WHEN held_due_at IS NOT NULL AND $due IS NOT NULL THEN NULL ELSE $due END, " +
        "held_due_at = CASE WHEN held_due_at IS NOT NULL AND $due IS NOT NULL THEN $due ELSE NULL END, " +
        "wait_event = $we, context = $ctx, end_reason = $er, ended_at = $ended, updated_at = $u, revision = $rev " +
        "WHERE id = $id AND workspace_id = $w AND revision = $rev - 1",
        ("$id", SqliteType.Integer), ("$w", SqliteType.Integer), ("$v", SqliteType.Integer), ("$p", SqliteType.Integer),
        ("$s", SqliteType.Integer), ("$step", SqliteType.Text), ("$sa", SqliteType.Integer), ("$seq", SqliteType.Integer),
        ("$due", SqliteType.Integer), ("$we", SqliteType.Text), ("$ctx", SqliteType.Text), ("$er", SqliteType.Text),
        ("$ended", SqliteType.Integer), ("$u", SqliteType.Integer), ("$rev", SqliteType.Integer), ("$ea", SqliteType.Integer));

    /// <summary>Takes $n ids from the counter, starting no lower than $floor (past ids a rolled-back batch was given).</summary>
    public SqliteCommand ReserveInstanceIds => field ??= Create(
        "UPDATE journey_instance_ids SET next = max(next, $floor) + $n WHERE id = 1 RETURNING next - $n",
        ("$n", SqliteType.Integer), ("$floor", SqliteType.Integer));

    public SqliteCommand InsertSend => field ??= Create(
        "INSERT INTO send_requests (workspace_id, profile_id, journey_key, version, instance_id, step_id, seq, idempotency_key, template, " +
        "channels, category, dedup_key, context, scheduled_for, created_at, status) " +
        "VALUES ($w, $p, $j, $v, $i, $step, $seq, $k, $t, $ch, $cat, $dd, $ctx, $sf, $c, $s) ON CONFLICT (instance_id, seq) DO NOTHING",
        ("$w", SqliteType.Integer), ("$p", SqliteType.Integer), ("$j", SqliteType.Integer), ("$v", SqliteType.Integer),
        ("$i", SqliteType.Integer), ("$step", SqliteType.Text), ("$seq", SqliteType.Integer), ("$k", SqliteType.Text),
        ("$t", SqliteType.Text), ("$ch", SqliteType.Text), ("$cat", SqliteType.Text), ("$dd", SqliteType.Text),
        ("$ctx", SqliteType.Text), ("$sf", SqliteType.Integer), ("$c", SqliteType.Integer), ("$s", SqliteType.Text));

    public SqliteCommand InsertTask => field ??= Create(
        "INSERT INTO tasks (workspace_id, profile_id, journey_key, instance_id, step_id, seq, title, note, assignee, from_queue, due_at, status, created_at, done_at) " +
        "VALUES ($w, $p, $j, $i, $step, $seq, $t, $n, $a, $q, $due, $s, $c, $done) ON CONFLICT (instance_id, seq) DO NOTHING",
        ("$w", SqliteType.Integer), ("$p", SqliteType.Integer), ("$j", SqliteType.Integer), ("$i", SqliteType.Integer),
        ("$step", SqliteType.Text), ("$seq", SqliteType.Integer), ("$t", SqliteType.Text), ("$n", SqliteType.Text),
        ("$a", SqliteType.Text), ("$q", SqliteType.Integer), ("$due", SqliteType.Integer), ("$s", SqliteType.Text),
        ("$c", SqliteType.Integer), ("$done", SqliteType.Integer));

    public SqliteCommand InsertWebhook => field ??= Create(
        "INSERT INTO webhook_requests (workspace_id, profile_id, journey_key, instance_id, step_id, seq, idempotency_key, url, method, headers, body, " +
        "status, attempts, next_attempt_at, last_status, last_error, created_at, updated_at) " +
        "VALUES ($w, $p, $j, $i, $step, $seq, $k, $url, $m, $h, $b, $s, $a, $next, $ls, $le, $c, $u) ON CONFLICT (instance_id, seq) DO NOTHING",
        ("$w", SqliteType.Integer), ("$p", SqliteType.Integer), ("$j", SqliteType.Integer), ("$i", SqliteType.Integer),
        ("$step", SqliteType.Text), ("$seq", SqliteType.Integer), ("$k", SqliteType.Text), ("$url", SqliteType.Text),
        ("$m", SqliteType.Text), ("$h", SqliteType.Text), ("$b", SqliteType.Text), ("$s", SqliteType.Text),
        ("$a", SqliteType.Integer), ("$next", SqliteType.Integer), ("$ls", SqliteType.Integer), ("$le", SqliteType.Text),
        ("$c", SqliteType.Integer), ("$u", SqliteType.Integer));

    public SqliteCommand InsertConversion => field ??= Create(
        "INSERT INTO journey_conversions (workspace_id, journey_key, version, instance_id, profile_id, at, last_step, variants) " +
        "VALUES ($w, $j, $v, $i, $p, $at, $ls, $vs) ON CONFLICT DO NOTHING",
        ("$w", SqliteType.Integer), ("$j", SqliteType.Integer), ("$v", SqliteType.Integer), ("$i", SqliteType.Integer),
        ("$p", SqliteType.Integer), ("$at", SqliteType.Integer), ("$ls", SqliteType.Text), ("$vs", SqliteType.Text));

    public SqliteCommand AddStat => field ??= Create(
        "INSERT INTO journey_stats (workspace_id, journey_key, version, step_id, kind, shard, count) VALUES ($w, $j, $v, $step, $k, $sh, $d) " +
        "ON CONFLICT (journey_key, version, step_id, kind, shard) DO UPDATE SET count = count + excluded.count",
        ("$w", SqliteType.Integer), ("$j", SqliteType.Integer), ("$v", SqliteType.Integer), ("$step", SqliteType.Text),
        ("$k", SqliteType.Text), ("$sh", SqliteType.Integer), ("$d", SqliteType.Integer));
}
