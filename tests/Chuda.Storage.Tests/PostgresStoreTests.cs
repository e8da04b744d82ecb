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
    public async Task Segment_changes_become_visible_in_seq_order_across_concurrent_batches()
    {
        var ws = await NewWorkspaceAsync();
        var ps = await CreateProfilesAsync(ws.Id, 3);
        var seg = (await Store.CreateSegmentAsync(Segment(ws.Id, "s"), Ct)).Key;

        // a records a change first; b's change must wait for a to end, so it cannot commit a higher seq before a's is visible.
        await using var a = await Store.BeginAsync(Ct);
        await a.ApplySegmentChangesAsync([Enter(ws.Id, seg, ps[0].Id, T0)], Ct);
        await using var b = await Store.BeginAsync(Ct);
        await b.AppendEventsAsync([Event(ws.Id, ps[1].Id, "b-1", T0)], Ct); // other writes do not wait
        var bChanges = b.ApplySegmentChangesAsync([Enter(ws.Id, seg, ps[1].Id, T0.AddSeconds(1))], Ct);
        var finished = await Task.WhenAny(bChanges, Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System));
        Assert.NotSame(bChanges, finished);
        Assert.Empty(await Store.GetSegmentChangesAsync(ws.Id, null, 0, 10, Ct));

        await a.CommitAsync(Ct);
        await bChanges.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        await b.CommitAsync(Ct);
        var changes = await Store.GetSegmentChangesAsync(ws.Id, null, 0, 10, Ct);
        Assert.Equal([ps[0].Id, ps[1].Id], changes.Select(c => c.ProfileId));
        Assert.True(changes[0].Seq < changes[1].Seq);

        // A batch that rolls back releases the lock too.
        await using (var c = await Store.BeginAsync(Ct))
            await c.ApplySegmentChangesAsync([Enter(ws.Id, seg, ps[2].Id, T0)], Ct);
        await InTxAsync(tx => tx.ApplySegmentChangesAsync([Exit(ws.Id, seg, ps[2].Id, T0.AddSeconds(2))], Ct))
            .WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.Equal(3, (await Store.GetSegmentChangesAsync(ws.Id, null, 0, 10, Ct)).Count);
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
