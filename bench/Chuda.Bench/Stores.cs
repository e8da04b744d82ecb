using Npgsql;

namespace Chuda.Bench;

/// <summary>A fresh, empty database of the requested kind: a temp directory for SQLite, a new database for PostgreSQL.</summary>
public sealed class BenchDatabase : IAsyncDisposable
{
    private BenchDatabase(string kind, string directory, string? connectionString, string? admin)
    {
        Kind = kind;
        Directory = directory;
        ConnectionString = connectionString;
        _admin = admin;
    }

    private readonly string? _admin;

    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    public string Kind { get; }

    /// <summary>Scratch directory (the SQLite files live here).</summary>
    public string Directory { get; }

    /// <summary>Null for SQLite (Chuda's embedded store in <see cref="Directory"/>), else a PostgreSQL connection string.</summary>
    public string? ConnectionString { get; }

    /// <summary>The PostgreSQL server to use: <c>--pg</c>, else env <c>CHUDA_BENCH_PG</c> (bench/run.sh starts one).</summary>
    public static string PostgresAdmin(Args args) =>
        args.Get("pg") ?? Environment.GetEnvironmentVariable("CHUDA_BENCH_PG")
        ?? throw new InvalidOperationException("PostgreSQL: pass --pg \"Host=...;Username=...;Database=postgres\" or set CHUDA_BENCH_PG (bench/run.sh starts a throw-away cluster).");

    public static async Task<BenchDatabase> CreateAsync(string kind, Args args, string label)
    {
        var dir = Path.Combine(args.Get("tmp", Path.GetTempPath()), $"chuda-bench-{label}-{Guid.NewGuid():N}"[..40]);
        System.IO.Directory.CreateDirectory(dir);
        if (kind == "sqlite") return new BenchDatabase(kind, dir, null, null);
        if (kind != "postgres") throw new ArgumentException($"--store must be sqlite or postgres, not '{kind}'.");
        var admin = PostgresAdmin(args);
        var name = $"bench_{label}_{Guid.NewGuid():N}"[..40];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'", connection);
            await command.ExecuteNonQueryAsync();
        }
        var cs = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 100 }.ConnectionString;
        return new BenchDatabase(kind, dir, cs, admin);
    }

    /// <summary>Chuda's <c>--store</c> value: null (SQLite in <see cref="Directory"/>) or the connection string.</summary>
    public string? ChudaStore => ConnectionString;

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null && ConnectionString is not null)
        {
            NpgsqlConnection.ClearAllPools();
            var name = new NpgsqlConnectionStringBuilder(ConnectionString).Database;
            try
            {
                await using var connection = new NpgsqlConnection(_admin);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
                await command.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException)
            {
            }
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
