using Chuda.Storage.Postgres;
using Chuda.Storage.Sqlite;

namespace Chuda.Storage;

/// <summary>Opens the configured backend. Does not migrate: call <see cref="IChudaStore.MigrateAsync"/>.</summary>
public static class StoreFactory
{
    public static async Task<IChudaStore> OpenAsync(StoreOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var cs = options.ConnectionString?.Trim();
        if (string.IsNullOrEmpty(cs))
        {
            if (string.IsNullOrWhiteSpace(options.DataDirectory))
                throw new ArgumentException("A data directory is required for the embedded SQLite store.", nameof(options));
            Directory.CreateDirectory(options.DataDirectory);
            var path = Path.Combine(Path.GetFullPath(options.DataDirectory), "chuda.db");
            return await SqliteStore.OpenAsync($"Data Source={path}", options, cancellationToken);
        }
        if (cs.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase))
            return await SqliteStore.OpenAsync(cs, options, cancellationToken);
        if (cs.Contains("Host=", StringComparison.OrdinalIgnoreCase))
            return await PostgresStore.OpenAsync(cs, options, cancellationToken);
        throw new ArgumentException(
            "Unrecognised connection string: expected a PostgreSQL one (Host=...) or a SQLite one (Data Source=...).", nameof(options));
    }
}
