using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Chuda.Testing;

/// <summary>
/// A process-wide, throw-away PostgreSQL for tests. When <c>CHUDA_TEST_PG</c> holds a connection string (test.sh starts
/// one cluster and sets it) that server is used; otherwise a private cluster is initialised in a temp directory
/// (Debian's <c>/usr/lib/postgresql/*/bin</c>, else PATH), started on a free 127.0.0.1 port with its socket in that
/// directory, and torn down when the process exits. Each <see cref="CreateDatabaseAsync"/> returns a brand-new empty
/// database. When PostgreSQL is missing the tests that need it fail — they never skip.
/// </summary>
public static class PostgresServer
{
    public const string EnvironmentVariable = "CHUDA_TEST_PG";

    private static readonly Lazy<Task<string>> Admin = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Creates an empty UTF-8 database with a unique name and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var admin = await Admin.Value;
        var name = $"chuda_test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, disconnecting whoever still uses it.</summary>
    public static async Task DropDatabaseAsync(string connectionString)
    {
        var admin = await Admin.Value;
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database
            ?? throw new ArgumentException("No database in the connection string.", nameof(connectionString));
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string> StartAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment)) return fromEnvironment;

        var (initdb, pgCtl) = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL not found: ./test.sh installs it (looked for initdb and pg_ctl under /usr/lib/postgresql/*/bin and on PATH, " +
            $"and {EnvironmentVariable} is not set).");

        var root = Path.Combine(Path.GetTempPath(), $"chuda-pg-{Guid.NewGuid():N}"[..21]);
        Directory.CreateDirectory(root);
        var data = Path.Combine(root, "data");
        var log = Path.Combine(root, "postgres.log");
        var asRoot = Environment.UserName == "root";
        if (asRoot) await RunAsync("chown", ["-R", "postgres:postgres", root], asPostgres: false);

        await RunAsync(initdb, ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"], asRoot);

        Exception? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var port = FreePort();
            var options = string.Join(' ',
                $"-p {port.ToString(CultureInfo.InvariantCulture)}",
                $"-k {root}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300");
            try
            {
                await RunAsync(pgCtl, ["-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"], asRoot);
            }
            catch (InvalidOperationException e)
            {
                last = e;
                continue;
            }
            // The test host may be cut short (or killed) on exit, so a detached watchdog makes sure the cluster stops and
            // its directory goes once this process is gone; the exit handler only makes that quicker.
            StartWatchdog(pgCtl, data, root, asRoot);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(pgCtl, data, root, asRoot);
            return new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = port,
                Username = "postgres",
                Database = "postgres",
                Timeout = 30,
            }.ConnectionString;
        }
        var tail = File.Exists(log) ? await File.ReadAllTextAsync(log) : "(no log)";
        throw new InvalidOperationException($"PostgreSQL did not start. Log:\n{tail}", last);
    }

    private static void Stop(string pgCtl, string data, string root, bool asRoot)
    {
        try
        {
            RunAsync(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"], asRoot).GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void StartWatchdog(string pgCtl, string data, string root, bool asRoot)
    {
        const string script =
            "exec </dev/null >/dev/null 2>&1; " +
            "while kill -0 \"$1\"; do sleep 1; done; " +
            "if [ \"$5\" = root ]; then runuser -u postgres -- \"$2\" -D \"$3\" -m immediate -w stop; " +
            "else \"$2\" -D \"$3\" -m immediate -w stop; fi; " +
            "rm -rf \"$4\"";
        var start = new ProcessStartInfo { FileName = "/bin/sh", UseShellExecute = false };
        foreach (var a in new[] { "-c", script, "chuda-pg-watchdog", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), pgCtl, data, root, asRoot ? "root" : "user" })
            start.ArgumentList.Add(a);
        using var watchdog = Process.Start(start);
    }

    private static (string InitDb, string PgCtl)? FindBinaries()
    {
        const string debian = "/usr/lib/postgresql";
        if (Directory.Exists(debian))
        {
            var newest = Directory.GetDirectories(debian)
                .Select(d => (Dir: d, Version: double.TryParse(Path.GetFileName(d), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : -1))
                .OrderByDescending(x => x.Version)
                .Select(x => Path.Combine(x.Dir, "bin"))
                .FirstOrDefault(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")));
            if (newest is not null) return (Path.Combine(newest, "initdb"), Path.Combine(newest, "pg_ctl"));
        }
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var initdb = path.Select(p => Path.Combine(p, "initdb")).FirstOrDefault(File.Exists);
        var pgCtl = path.Select(p => Path.Combine(p, "pg_ctl")).FirstOrDefault(File.Exists);
        return initdb is not null && pgCtl is not null ? (initdb, pgCtl) : null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a tool (as the postgres user when we are root: initdb refuses root) and fails with its output.</summary>
    private static async Task RunAsync(string file, IReadOnlyList<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            FileName = asPostgres ? "runuser" : file,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", file }) start.ArgumentList.Add(a);
        }
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} did not finish within 2 minutes.");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{file} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }
}
