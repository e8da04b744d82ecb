using Chuda.Testing;
using Npgsql;

namespace Chuda.Server.Tests;

/// <summary>What a stopped server leaves behind.</summary>
public sealed class ServerLifetimeTests
{
    [Fact]
    public async Task Disposing_a_server_closes_its_PostgreSQL_connections()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        var server = await ChudaServer.StartAsync(database);
        var health = await server.Admin.GetAsync("/health");
        Assert.True(health.IsSuccessStatusCode);
        await server.DisposeAsync();

        // A server that kept its pool would hold these until the process exits; a test run starts hundreds of servers.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { Database = "postgres", Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", connection);
        command.Parameters.AddWithValue(new NpgsqlConnectionStringBuilder(database).Database!);
        Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
        await PostgresServer.DropDatabaseAsync(database);
    }
}
