using Chuda.Storage.Postgres;
using Chuda.Testing;
using Npgsql;
using Xunit;

namespace Chuda.Storage.Tests;

public sealed class PostgresStoreTests : StoreComplianceTests
{
    private readonly Dictionary<string, string> _databases = [];

    protected override async Task<IChudaStore> OpenStoreAsync(string? otherDatabase = null)
    {
        var key = otherDatabase ?? "";
        if (!_databases.TryGetValue(key, out var connectionString))
        {
            connectionString = await PostgresServer.CreateDatabaseAsync();
            _databases[key] = connectionString;
        }
        return await StoreFactory.OpenAsync(new StoreOptions(connectionString, "unused") { MaxPartitions = 4 }, Ct);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var connectionString in _databases.Values) await PostgresServer.DropDatabaseAsync(connectionString);
    }

    [Fact]
    public void The_store_is_postgresql_with_several_writers()
    {
        Assert.Equal("postgresql", Store.Kind);
        Assert.Equal(4, Store.MaxWriterPartitions);
        Assert.IsType<PostgresStore>(Store);
    }

    [Fact]
    public async Task Concurrent_batches_that_share_a_message_id_do_not_fail()
    {
        var ws = await NewWorkspaceAsync();
        await using var a = await Store.BeginAsync(Ct);
        await using var b = await Store.BeginAsync(Ct);
        await a.AppendEventsAsync([Event(ws.Id, 1, "shared", T0)], Ct);
        var second = b.AppendEventsAsync([Event(ws.Id, 2, "shared", T0)], Ct); // waits on a's key
        await a.CommitAsync(Ct);
        await second;
        await b.CommitAsync(Ct);
        Assert.Equal((0L, 2L), await Store.CountAsync(ws.Id, Ct));
    }

    [Fact]
    public async Task Timestamps_are_stored_as_timestamptz_at_millisecond_precision()
    {
        var ws = await Store.CreateWorkspaceAsync("precise", "s", T0.AddTicks(1_234_567), Ct);
        await using var connection = new NpgsqlConnection(_databases[""]);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT created_at FROM workspaces WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = ws.Id });
        var stored = (DateTime)(await command.ExecuteScalarAsync(Ct))!;
        Assert.Equal(T0.AddMilliseconds(123).UtcDateTime, stored);
    }
}
