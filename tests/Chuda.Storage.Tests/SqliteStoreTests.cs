using Chuda.Storage.Sqlite;
using Chuda.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Chuda.Storage.Tests;

public sealed class SqliteStoreTests : StoreComplianceTests
{
    private readonly TempDirectory _directory = new("chuda-sqlite");

    protected override Task<IChudaStore> OpenStoreAsync(string? otherDatabase = null) =>
        StoreFactory.OpenAsync(new StoreOptions(null, DataDirectory(otherDatabase)), Ct);

    private string DataDirectory(string? otherDatabase) =>
        otherDatabase is null ? _directory.Path : Path.Combine(_directory.Path, "other", otherDatabase);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public void The_store_is_sqlite_with_a_single_writer()
    {
        Assert.Equal("sqlite", Store.Kind);
        Assert.Equal(1, Store.MaxWriterPartitions);
        Assert.IsType<SqliteStore>(Store);
        Assert.True(File.Exists(Path.Combine(_directory.Path, "chuda.db")));
    }

    [Fact]
    public async Task A_second_batch_waits_until_the_first_one_ends()
    {
        var first = await Store.BeginAsync(Ct);
        var second = Store.BeginAsync(Ct);
        var finished = await Task.WhenAny(second, Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System));
        Assert.NotSame(second, finished);
        await first.DisposeAsync();
        await using var tx = await second.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
    }

    [Fact]
    public async Task Waiting_for_the_writer_can_be_cancelled()
    {
        await using (var first = await Store.BeginAsync(Ct))
        {
            using var cancel = new CancellationTokenSource();
            var waiting = Store.BeginAsync(cancel.Token);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        }
        await using var next = await Store.BeginAsync(Ct); // the gate was not leaked
    }

    [Fact]
    public async Task The_database_is_in_wal_mode()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, "chuda.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync(Ct));
    }

    [Theory]
    [InlineData("SELECT seq FROM events WHERE workspace_id = 1 AND profile_id = 2 ORDER BY occurred_at DESC, seq DESC LIMIT 10", "events_profile")]
    [InlineData("SELECT seq FROM events WHERE workspace_id = 1 AND profile_id = 2 AND occurred_at <= 5 AND (occurred_at < 5 OR seq < 9) ORDER BY occurred_at DESC, seq DESC LIMIT 10", "events_profile")]
    [InlineData("SELECT 1 FROM message_ids WHERE workspace_id = 1 AND message_id = 'x'", "PRIMARY KEY")]
    [InlineData("SELECT profile_id FROM identities WHERE workspace_id = 1 AND kind = 'email' AND value = 'x'", "PRIMARY KEY")]
    [InlineData("SELECT kind, value FROM identities WHERE workspace_id = 1 AND profile_id = 2", "identities_profile")]
    [InlineData("SELECT count(*) FROM profiles WHERE workspace_id = 1", "profiles_workspace")]
    public async Task Hot_queries_use_an_index_without_sorting(string sql, string index)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, "chuda.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct)) plan.Add(reader.GetString(3));
        }
        var text = string.Join(" | ", plan);
        Assert.Contains(index, text, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", text, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN", text.Replace("SCAN CONSTANT ROW", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT seq, profile_id, message_id, type, name, occurred_at, received_at, payload FROM events WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids)) AND ((type = 'track' AND name IN (SELECT value FROM json_each($names))) OR (type = 'page' AND $pages) OR (type = 'screen' AND $screens))", "events_profile (workspace_id=? AND profile_id=?)")]
    [InlineData("SELECT DISTINCT profile_id, kind FROM identities WHERE workspace_id = $w AND profile_id IN (SELECT value FROM json_each($ids))", "COVERING INDEX identities_profile")]
    [InlineData("SELECT profile_id, segment_key, since FROM segment_members WHERE workspace_id = 1 AND profile_id IN (SELECT value FROM json_each('[1]'))", "COVERING INDEX segment_members_profile")]
    [InlineData("SELECT profile_id, due_at FROM segment_checks WHERE workspace_id = 1 AND profile_id IN (SELECT value FROM json_each('[1]'))", "PRIMARY KEY")]
    [InlineData("SELECT id FROM profiles WHERE workspace_id = 1 AND id > 5 ORDER BY id LIMIT 10", "profiles_workspace (workspace_id=? AND rowid>?)")]
    [InlineData("SELECT (SELECT min(id) FROM profiles WHERE workspace_id = 1), (SELECT max(id) FROM profiles WHERE workspace_id = 1)", "profiles_workspace")]
    [InlineData("SELECT m.profile_id, p.user_id, m.since FROM segment_members m LEFT JOIN profiles p ON p.id = m.profile_id AND p.workspace_id = m.workspace_id WHERE m.workspace_id = 1 AND m.segment_key = 2 AND m.profile_id > 3 ORDER BY m.profile_id LIMIT 10", "PRIMARY KEY (workspace_id=? AND segment_key=? AND profile_id>?)")]
    [InlineData("SELECT segment_key, since FROM segment_members WHERE workspace_id = 1 AND profile_id = 2 ORDER BY segment_key", "COVERING INDEX segment_members_profile")]
    [InlineData("SELECT seq FROM segment_changes WHERE workspace_id = 1 AND segment_key = 2 AND seq > 3 ORDER BY seq LIMIT 10", "segment_changes_segment (workspace_id=? AND segment_key=? AND rowid>?)")]
    [InlineData("SELECT seq FROM segment_changes WHERE workspace_id = 1 AND seq > 3 ORDER BY seq LIMIT 10", "segment_changes_workspace (workspace_id=? AND rowid>?)")]
    [InlineData("SELECT c.workspace_id, c.profile_id, p.routing_hash, c.due_at FROM segment_checks c JOIN profiles p ON p.id = c.profile_id AND p.workspace_id = c.workspace_id WHERE c.due_at <= 5 ORDER BY c.due_at, c.workspace_id, c.profile_id LIMIT 10", "segment_checks_due (due_at<?)")]
    [InlineData("DELETE FROM segment_changes WHERE workspace_id = 1 AND profile_id = 2", "segment_changes_profile")]
    public async Task Segment_queries_use_an_index_without_sorting(string sql, string index)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, "chuda.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var name in new[] { "$w", "$ids", "$names", "$pages", "$screens" })
        {
            if (sql.Contains(name, StringComparison.Ordinal)) command.Parameters.AddWithValue(name, name is "$ids" or "$names" ? "[]" : 1);
        }
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct)) plan.Add(reader.GetString(3));
        }
        var text = string.Join(" | ", plan);
        Assert.Contains(index, text, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", text, StringComparison.Ordinal);
        // The id lists are the only thing scanned (json_each, one row per id).
        var scans = text.Replace("SCAN CONSTANT ROW", "", StringComparison.Ordinal).Replace("SCAN json_each", "", StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN", scans, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT workspace_id, id, profile_id, routing_hash, due_at FROM journey_instances WHERE due_at IS NOT NULL AND due_at <= 5 AND status IN (0, 1) ORDER BY due_at, id LIMIT 10", "journey_instances_due (due_at>? AND due_at<?)")]
    [InlineData("SELECT workspace_id, id, profile_id, routing_hash, due_at FROM journey_instances WHERE due_at IS NOT NULL AND due_at <= 5 AND (due_at > 3 OR (due_at = 3 AND id > 4)) AND status IN (0, 1) ORDER BY due_at, id LIMIT 10", "journey_instances_due (due_at>? AND due_at<?)")]
    [InlineData("SELECT min(due_at) FROM journey_instances WHERE due_at IS NOT NULL AND status IN (0, 1)", "journey_instances_due")]
    [InlineData("SELECT 1 FROM journey_instances WHERE journey_key = 1 AND profile_id = 2 AND entry_key = 'e'", "journey_instances_entry")]
    [InlineData("SELECT journey_key, max(entered_at), max(status = 1) FROM journey_instances WHERE workspace_id = 1 AND profile_id = 2 AND status <> 0 GROUP BY journey_key", "journey_instances_profile (workspace_id=? AND profile_id=?)")]
    [InlineData("SELECT id FROM journey_instances WHERE id = 1 AND workspace_id = 2", "INTEGER PRIMARY KEY")]
    public async Task Journey_hot_queries_use_an_index_without_sorting(string sql, string index)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, "chuda.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct)) plan.Add(reader.GetString(3));
        }
        var text = string.Join(" | ", plan);
        Assert.Contains(index, text, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", text, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT id FROM messages WHERE lane = 1 AND due_at IS NOT NULL AND due_at <= 5 ORDER BY due_at, id LIMIT 10", "messages_due (lane=? AND due_at>? AND due_at<?)")]
    [InlineData("SELECT min(due_at) FROM messages WHERE lane = 0 AND due_at IS NOT NULL", "messages_due")]
    [InlineData("SELECT id FROM messages WHERE workspace_id = 1 AND profile_id = 2 AND digest_key = 'd' AND status = 'collecting'", "messages_open_digest")]
    [InlineData("SELECT id FROM messages WHERE digest_id = 5 AND workspace_id = 1 AND id <> 5 ORDER BY id", "messages_digest_items (digest_id=?)")]
    [InlineData("SELECT id FROM messages WHERE provider_message_id = 'p' AND workspace_id = 1 ORDER BY id DESC LIMIT 1", "messages_provider_id (provider_message_id=?)")]
    [InlineData("SELECT id FROM messages WHERE workspace_id = 1 AND idempotency_key = 'k'", "sqlite_autoindex_messages_1 (workspace_id=? AND idempotency_key=?)")]
    [InlineData("SELECT id FROM messages WHERE workspace_id = 1 AND profile_id = 2 ORDER BY id DESC LIMIT 10", "messages_profile (workspace_id=? AND profile_id=?)")]
    [InlineData("SELECT seq FROM message_events WHERE message_id = 1 AND workspace_id = 2 ORDER BY seq", "message_events_message (message_id=?)")]
    [InlineData("SELECT seq FROM message_events WHERE workspace_id = 1 AND profile_id = 2 ORDER BY seq DESC LIMIT 10", "message_events_profile (workspace_id=? AND profile_id=?)")]
    [InlineData("SELECT seq FROM consent_log WHERE workspace_id = 1 AND profile_id = 2 ORDER BY seq DESC LIMIT 10", "consent_log_profile (workspace_id=? AND profile_id=?)")]
    [InlineData("SELECT kind, address FROM delivery_suppressions WHERE workspace_id = 1 AND (kind, address) IN (SELECT substr(value, 1, instr(value, char(31)) - 1), substr(value, instr(value, char(31)) + 1) FROM json_each('[]'))", "PRIMARY KEY (workspace_id=? AND kind=? AND address=?)")]
    public async Task Delivery_hot_queries_use_an_index_without_sorting(string sql, string index)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, "chuda.db")};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct)) plan.Add(reader.GetString(3));
        }
        var text = string.Join(" | ", plan);
        Assert.Contains(index, text, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", text, StringComparison.Ordinal);
        // The id lists are the only thing scanned (json_each, one row per id).
        Assert.DoesNotContain("SCAN", text.Replace("SCAN json_each", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Synchronous_normal_can_be_chosen()
    {
        await using var store = await StoreFactory.OpenAsync(new StoreOptions(null, DataDirectory("normal")) { SqliteSynchronousFull = false }, Ct);
        await store.MigrateAsync(Ct);
        var ws = await store.CreateWorkspaceAsync("n", "s", T0, Ct);
        Assert.Equal(ws, await store.GetWorkspaceAsync(ws.Id, Ct));
    }
}
