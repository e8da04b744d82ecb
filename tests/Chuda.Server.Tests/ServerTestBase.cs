using Chuda.Testing;

namespace Chuda.Server.Tests;

/// <summary>Starts a fresh server (and, for PostgreSQL, a fresh database) for every test.</summary>
public abstract class ServerTestBase : IAsyncLifetime
{
    protected ChudaServer Server { get; private set; } = null!;

    /// <summary>The store connection string; null for the embedded SQLite store.</summary>
    protected abstract Task<string?> CreateStoreAsync();

    public async Task InitializeAsync() => Server = await ChudaServer.StartAsync(await CreateStoreAsync());

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>Restarts the server on the same store (same data directory or database).</summary>
    protected async Task RestartAsync()
    {
        var store = Server.Store;
        var data = Server.DataDirectory;
        await Server.StopAsync();
        await Server.App.DisposeAsync();
        Server = await ChudaServer.StartAsync(store, data);
    }
}

public static class Stores
{
    public static Task<string?> Sqlite() => Task.FromResult<string?>(null);

    public static async Task<string?> Postgres() => await PostgresServer.CreateDatabaseAsync();
}
