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

    [Fact]
    public async Task Synchronous_normal_can_be_chosen()
    {
        await using var store = await StoreFactory.OpenAsync(new StoreOptions(null, DataDirectory("normal")) { SqliteSynchronousFull = false }, Ct);
        await store.MigrateAsync(Ct);
        var ws = await store.CreateWorkspaceAsync("n", "s", T0, Ct);
        Assert.Equal(ws, await store.GetWorkspaceAsync(ws.Id, Ct));
    }
}
