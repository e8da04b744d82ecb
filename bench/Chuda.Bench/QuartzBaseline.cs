using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Quartz;
using Quartz.Impl.AdoJobStore;
using Quartz.Impl.AdoJobStore.Common;
using Quartz.Spi;

namespace Chuda.Bench;

/// <summary>Options of one Quartz.NET baseline run (<see cref="QuartzBaseline.RunAsync(QuartzRunOptions, CancellationToken)"/>).</summary>
public sealed record QuartzRunOptions
{
    /// <summary><c>sqlite</c> (a file in a fresh temp directory) or <c>postgres</c> (a fresh database).</summary>
    public string Store { get; init; } = "sqlite";

    /// <summary>One-off triggers (one job each), all due at the same instant.</summary>
    public int Triggers { get; init; } = 20_000;

    /// <summary>Quartz worker threads (<c>quartz.threadPool.maxConcurrency</c>).</summary>
    public int Threads { get; init; } = 10;

    /// <summary>Triggers acquired per round (<c>quartz.scheduler.batchTriggerAcquisitionMaxCount</c>); Quartz caps it at the free threads.</summary>
    public int Batch { get; init; } = 50;

    /// <summary><c>insert</c>: every firing inserts one send_requests row in the same database; <c>noop</c>: does nothing.</summary>
    public string Job { get; init; } = "insert";

    /// <summary>Stop after this long (counted from the scheduler's start) and report the partial rate.</summary>
    public double MaxSeconds { get; init; } = 300;

    /// <summary>Add the next-fire-time and fired-trigger indexes of Quartz's PostgreSQL schema to its SQLite schema.</summary>
    public bool SqliteExtraIndexes { get; init; }

    /// <summary>
    /// SQLite lock waits: <c>native</c> (default) gives Quartz's and the jobs' connections <c>PRAGMA busy_timeout</c>, as
    /// Chuda's store has, so a writer waits in SQLite's busy handler; <c>driver</c> leaves Microsoft.Data.Sqlite's own retry,
    /// which sleeps 150 ms after every SQLITE_BUSY.
    /// </summary>
    public string SqliteBusy { get; init; } = "native";

    /// <summary>PostgreSQL server (admin connection string); null: env <c>CHUDA_BENCH_PG</c>.</summary>
    public string? Postgres { get; init; }

    /// <summary>Parent of the scratch directory; null: the system temp directory.</summary>
    public string? TempDirectory { get; init; }

    /// <summary>Print a progress line every this many seconds while the run goes on (0: none).</summary>
    public double ProgressSeconds { get; init; } = 15;
}

/// <summary>What a Quartz.NET baseline run measured.</summary>
/// <param name="Completed">Every firing finished (successfully or not) before <see cref="QuartzRunOptions.MaxSeconds"/>.</param>
/// <param name="Fired">Firings whose job completed without error within the time limit.</param>
/// <param name="Seconds">From the scheduler's start until the last firing completed (or the time limit).</param>
/// <param name="FiringsPerSecond"><paramref name="Fired"/> / <paramref name="Seconds"/>.</param>
/// <param name="LatenessP50Ms">Execution start minus the instant the triggers became fireable (the scheduler's start: they were all due before it).</param>
/// <param name="Rows">send_requests rows at the end (insert job; equals the firings that completed, including any finished during shutdown).</param>
/// <param name="TriggersLeft">Quartz trigger rows left at the end (0 when every one-off trigger fired).</param>
/// <param name="SetupSeconds">Creating the schema and scheduling the jobs and triggers (not part of the rate).</param>
public sealed record QuartzResult(
    string Store, string Job, int Triggers, int Threads, int Batch, bool Completed, int Fired, double Seconds,
    double FiringsPerSecond, double LatenessP50Ms, double LatenessP99Ms, double LatenessMaxMs, long Rows, long TriggersLeft,
    int Failures, double SetupSeconds);

/// <summary>
/// Scenario <c>quartz</c>: the timer-benchmark peer. Quartz.NET (3.20.1) with its ADO.NET job store (JobStoreTX,
/// persistent, not clustered) on its own documented schema, in a fresh SQLite file or PostgreSQL database, fires N
/// one-off triggers that are all due at once. The jobs and triggers are scheduled while the scheduler is in standby
/// (before the due instant); the clock starts when the scheduler is started and stops when the N-th execution has
/// completed. The <c>insert</c> job does the work of one Chuda timer firing: one row into a send_requests-like table in
/// the same database, over its own connection, committed on its own.
/// </summary>
public static class QuartzBaseline
{
    public static async Task<int> RunAsync(Args args)
    {
        var options = new QuartzRunOptions
        {
            Store = args.Get("store", "sqlite"),
            Triggers = args.Int("triggers", 20_000),
            Threads = args.Int("threads", 10),
            Batch = args.Int("batch", 50),
            Job = args.Get("job", "insert"),
            MaxSeconds = args.Double("max-seconds", 300),
            SqliteExtraIndexes = args.Flag("sqlite-indexes"),
            SqliteBusy = args.Get("sqlite-busy", "native"),
            Postgres = args.Get("pg"),
            TempDirectory = args.Get("tmp"),
            ProgressSeconds = args.Double("progress", 15),
        };
        var result = await RunAsync(options, CancellationToken.None);
        WriteResults(result);
        return result.Failures == 0 && (result.Job != "insert" || result.Rows == result.Fired) ? 0 : 1;
    }

    /// <summary>One run in a fresh database; prints its set-up and progress lines, not the RESULT lines (<see cref="WriteResults"/>).</summary>
    public static async Task<QuartzResult> RunAsync(QuartzRunOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Job is not ("insert" or "noop")) throw new ArgumentException($"--job must be insert or noop, not '{options.Job}'.");
        if (options.SqliteBusy is not ("native" or "driver")) throw new ArgumentException($"--sqlite-busy must be native or driver, not '{options.SqliteBusy}'.");
        if (options.Triggers <= 0 || options.Threads <= 0 || options.Batch <= 0) throw new ArgumentException("--triggers, --threads and --batch must be positive.");
        Report.Line($"quartz: Quartz.NET {typeof(IScheduler).Assembly.GetName().Version} ADO.NET job store (JobStoreTX, not clustered), store={options.Store} " +
            $"triggers={options.Triggers} threads={options.Threads} batch={options.Batch} job={options.Job} max-seconds={options.MaxSeconds}" +
            (options.Store == "sqlite" ? $" sqlite-busy={options.SqliteBusy}" + (options.SqliteExtraIndexes ? " +sqlite-indexes" : "") : ""));

        var dbArgs = new List<string>();
        if (options.Postgres is not null) dbArgs.AddRange(["--pg", options.Postgres]);
        if (options.TempDirectory is not null) dbArgs.AddRange(["--tmp", options.TempDirectory]);
        await using var db = await BenchDatabase.CreateAsync(options.Store, new Args(dbArgs), "quartz");
        var sqlite = db.Kind == "sqlite";
        var cs = sqlite
            // Microsoft.Data.Sqlite retries SQLITE_BUSY until the command timeout: Quartz's writes and the jobs' inserts share one file.
            ? new SqliteConnectionStringBuilder { DataSource = Path.Combine(db.Directory, "quartz.db"), Pooling = true, DefaultTimeout = 120 }.ConnectionString
            : db.ConnectionString!;

        var setup = Stopwatch.GetTimestamp();
        var durability = await CreateSchemaAsync(db, cs, options.SqliteExtraIndexes, ct);
        Report.Line($"  schema: Quartz's tables ({(sqlite ? "quartz/sqlite.sql" : "quartz/postgres.sql")}) + send_requests, {durability}");

        var busyWait = sqlite && options.SqliteBusy == "native";
        if (busyWait) BusyWaitSqliteConnection.Register();
        var state = new RunState(db.Kind, cs, options.Triggers, options.Job == "insert", busyWait);
        var name = "chuda-bench-" + Guid.NewGuid().ToString("N")[..12];
        var builder = SchedulerBuilder.Create("bench", name)
            .UseDefaultThreadPool(options.Threads)
            .WithMaxBatchSize(options.Batch)
            // Quartz's default of 60 s would leave every trigger older than that (most of a long backlog) to the misfire
            // handler, which re-schedules it instead of firing it; raised so each trigger fires once, as scheduled.
            .WithMisfireThreshold(TimeSpan.FromDays(1))
            .UsePersistentStore(store =>
            {
                store.UseProperties = true;
                store.UseSerializer<NoJobDataSerializer>();
                store.PerformSchemaValidation = true;
                if (busyWait)
                {
                    store.UseGenericDatabase(BusyWaitSqliteConnection.Provider, ado =>
                    {
                        ado.ConnectionString = cs;
                        ado.UseDriverDelegate<SQLiteDelegate>();
                    });
                }
                else if (sqlite) store.UseMicrosoftSQLite(ado => ado.ConnectionString = cs);
                else store.UseGenericDatabase("Npgsql", ado =>
                {
                    ado.ConnectionString = cs;
                    ado.UseDriverDelegate<PostgreSQLDelegate>();
                });
            });
        // Batch acquisition with an ADO store needs the acquisition inside the TRIGGER_ACCESS lock (Quartz's documentation).
        builder.SetProperty("quartz.jobStore.acquireTriggersWithinLock", options.Batch > 1 ? "true" : "false");
        builder.SetProperty("quartz.jobStore.clustered", "false");
        var scheduler = await builder.BuildScheduler();
        try
        {
            scheduler.JobFactory = new JobFactory(state);

            // All due at the same instant, scheduled in standby; 1,000 jobs + triggers per ScheduleJobs call (one transaction).
            var due = TimeProvider.System.GetUtcNow();
            for (var first = 0; first < options.Triggers; first += 1000)
            {
                var chunk = new Dictionary<IJobDetail, IReadOnlyCollection<ITrigger>>();
                for (var i = first; i < Math.Min(first + 1000, options.Triggers); i++)
                {
                    var key = i.ToString(CultureInfo.InvariantCulture);
                    var job = JobBuilder.Create<FiringJob>().WithIdentity("j" + key, "bench").Build();
                    var trigger = TriggerBuilder.Create().WithIdentity("t" + key, "bench").ForJob(job).StartAt(due)
                        .WithSimpleSchedule(s => s.WithRepeatCount(0).WithMisfireHandlingInstructionFireNow()).Build();
                    chunk[job] = [trigger];
                }
                await scheduler.ScheduleJobs(chunk, replace: false, ct);
            }
            var setupSeconds = Stopwatch.GetElapsedTime(setup).TotalSeconds;
            Report.Line($"  set-up: schema + {Report.F(options.Triggers)} jobs and triggers scheduled in standby in {setupSeconds:0.0} s");

            state.Start = Stopwatch.GetTimestamp();
            await scheduler.Start(ct);
            var limit = TimeSpan.FromSeconds(options.MaxSeconds);
            while (!state.AllDone.Task.IsCompleted)
            {
                var left = limit - Stopwatch.GetElapsedTime(state.Start);
                if (left <= TimeSpan.Zero) break;
                var wait = options.ProgressSeconds > 0 && TimeSpan.FromSeconds(options.ProgressSeconds) < left ? TimeSpan.FromSeconds(options.ProgressSeconds) : left;
                await Task.WhenAny(state.AllDone.Task, Task.Delay(wait, TimeProvider.System, ct));
                if (!state.AllDone.Task.IsCompleted && options.ProgressSeconds > 0 && Stopwatch.GetElapsedTime(state.Start) < limit)
                {
                    Report.Line($"    {Stopwatch.GetElapsedTime(state.Start).TotalSeconds:0} s: {Report.F(Volatile.Read(ref state.Completed))} fired");
                }
            }
            var completed = state.AllDone.Task.IsCompleted;
            var seconds = completed ? state.Elapsed.TotalSeconds : Stopwatch.GetElapsedTime(state.Start).TotalSeconds;
            var fired = Volatile.Read(ref state.Completed);
            var started = Math.Min(Volatile.Read(ref state.Started), options.Triggers);
            var lateness = new List<double>(state.Lateness[..started]);
            lateness.Sort();

            await scheduler.Shutdown(waitForJobsToComplete: true, ct);
            var (rows, left2) = await CountAsync(db.Kind, cs, ct);
            var result = new QuartzResult(db.Kind, options.Job, options.Triggers, options.Threads, options.Batch, completed, fired, seconds,
                fired / seconds, Report.Percentile(lateness, 50), Report.Percentile(lateness, 99), lateness.Count > 0 ? lateness[^1] : double.NaN,
                rows, left2, Volatile.Read(ref state.Failures), setupSeconds);
            if (state.FirstError is { } error) Report.Line($"  first job failure: {error}");
            return result;
        }
        finally
        {
            if (!scheduler.IsShutdown) await scheduler.Shutdown(waitForJobsToComplete: true, CancellationToken.None);
            if (sqlite) SqliteConnection.ClearAllPools();
        }
    }

    /// <summary>The human-readable lines and the RESULT lines (scenario <c>quartz</c>; metrics prefixed with the job kind).</summary>
    public static void WriteResults(QuartzResult r, string scenario = "quartz")
    {
        ArgumentNullException.ThrowIfNull(r);
        Report.Line($"  {(r.Completed ? "" : "PARTIAL (hit --max-seconds): ")}{Report.F(r.Fired)} of {Report.F(r.Triggers)} firings completed in {r.Seconds:0.0} s: " +
            $"{Report.F(r.FiringsPerSecond)} firings/s; lateness{(r.Completed ? "" : " (of the firings that started)")} " +
            $"p50={r.LatenessP50Ms / 1000:0.0} s p99={r.LatenessP99Ms / 1000:0.0} s max={r.LatenessMaxMs / 1000:0.0} s");
        Report.Line($"  check: {Report.F(r.TriggersLeft)} Quartz triggers left, " +
            (r.Job == "insert" ? $"{Report.F(r.Rows)} send_requests rows ({(r.Rows == r.Fired ? "= firings" : r.Rows >= r.Fired ? "firings + those finished during shutdown" : "MISSING ROWS")}), " : "") +
            $"{r.Failures} job failures");
        Report.Result(scenario, r.Store, r.Job + "_firings_per_s", r.FiringsPerSecond, "firings/s");
        Report.Result(scenario, r.Store, r.Job + "_lateness_p50_ms", r.LatenessP50Ms, "ms");
        Report.Result(scenario, r.Store, r.Job + "_lateness_p99_ms", r.LatenessP99Ms, "ms");
    }

    private const string SqliteSendRequests = """
        CREATE TABLE send_requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, payload TEXT NOT NULL, created_at INTEGER NOT NULL);
        """;

    private const string PostgresSendRequests = """
        CREATE TABLE send_requests (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, key TEXT NOT NULL UNIQUE, payload TEXT NOT NULL, created_at BIGINT NOT NULL);
        """;

    /// <summary>Quartz's tables and send_requests; SQLite in WAL mode (as Chuda's store). Returns the durability settings in force.</summary>
    private static async Task<string> CreateSchemaAsync(BenchDatabase db, string cs, bool extraIndexes, CancellationToken ct)
    {
        if (db.Kind == "sqlite")
        {
            await using var connection = new SqliteConnection(cs);
            await connection.OpenAsync(ct);
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL";
            var mode = (string?)await command.ExecuteScalarAsync(ct);
            command.CommandText = Resource("sqlite.sql") + (extraIndexes ? Resource("sqlite-extra-indexes.sql") : "") + SqliteSendRequests;
            await command.ExecuteNonQueryAsync(ct);
            command.CommandText = "PRAGMA synchronous";
            var sync = Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
            return $"SQLite journal_mode={mode} synchronous={(sync switch { 0 => "OFF", 1 => "NORMAL", 2 => "FULL", _ => "EXTRA" })} (connection default, Quartz's and the jobs' alike)";
        }
        await using (var connection = new NpgsqlConnection(cs))
        {
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand(Resource("postgres.sql") + PostgresSendRequests, connection);
            await command.ExecuteNonQueryAsync(ct);
            command.CommandText = "SELECT current_setting('fsync') || '/' || current_setting('synchronous_commit')";
            return $"PostgreSQL fsync/synchronous_commit={await command.ExecuteScalarAsync(ct)}";
        }
    }

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("quartz." + name)
            ?? throw new InvalidOperationException($"Embedded resource quartz.{name} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd() + "\n";
    }

    private static async Task<(long Rows, long Triggers)> CountAsync(string kind, string cs, CancellationToken ct)
    {
        const string Sql = "SELECT (SELECT COUNT(*) FROM send_requests), (SELECT COUNT(*) FROM QRTZ_TRIGGERS)";
        if (kind == "sqlite")
        {
            await using var connection = new SqliteConnection(cs);
            await connection.OpenAsync(ct);
            await using var command = connection.CreateCommand();
            command.CommandText = Sql;
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return (reader.GetInt64(0), reader.GetInt64(1));
        }
        await using (var connection = new NpgsqlConnection(cs))
        {
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand(Sql, connection);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return (reader.GetInt64(0), reader.GetInt64(1));
        }
    }

    private sealed class RunState(string kind, string connectionString, int total, bool insert, bool busyWait)
    {
        public readonly bool BusyWait = busyWait;
        public readonly string Kind = kind;
        public readonly string ConnectionString = connectionString;
        public readonly int Total = total;
        public readonly bool Insert = insert;
        public readonly double[] Lateness = new double[total];
        public readonly TaskCompletionSource AllDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly string RunId = Guid.NewGuid().ToString("N")[..8];
        public long Start;
        public TimeSpan Elapsed;
        public int Started;
        public int Completed;
        public int Finished;
        public int Failures;
        public string? FirstError;
    }

    /// <summary>One timer firing: its lateness, then (insert) one send_requests row over its own connection, autocommitted.</summary>
    private sealed class FiringJob(RunState state) : IJob
    {
        public async Task Execute(IJobExecutionContext context)
        {
            var lateness = Stopwatch.GetElapsedTime(state.Start).TotalMilliseconds;
            var slot = Interlocked.Increment(ref state.Started) - 1;
            if (slot < state.Lateness.Length) state.Lateness[slot] = lateness;
            try
            {
                if (state.Insert) await InsertAsync(context.JobDetail.Key.Name, context.CancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Interlocked.Increment(ref state.Failures);
                Interlocked.CompareExchange(ref state.FirstError, e.GetType().Name + ": " + e.Message, null);
                Finish();
                return;
            }
            Interlocked.Increment(ref state.Completed);
            Finish();
        }

        /// <summary>The run ends when every firing has finished, failed ones included (they are reported, not waited for).</summary>
        private void Finish()
        {
            if (Interlocked.Increment(ref state.Finished) == state.Total)
            {
                state.Elapsed = Stopwatch.GetElapsedTime(state.Start);
                state.AllDone.TrySetResult();
            }
        }

        private async Task InsertAsync(string job, CancellationToken ct)
        {
            var key = $"quartz-{state.RunId}-{job}";
            // ~200 bytes, like a send request's rendered payload.
            var payload = $$"""{"journey":"bench-journey","step":"wait-then-send","profile_id":{{job[1..]}},"channel":"email","template":"welcome-followup","key":"{{key}}","pad":"0123456789abcdef0123456789abcdef0123"}""";
            var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
            const string Sql = "INSERT INTO send_requests (key, payload, created_at) VALUES (@key, @payload, @created_at)";
            if (state.Kind == "sqlite")
            {
                await using var connection = state.BusyWait ? new BusyWaitSqliteConnection(state.ConnectionString) : new SqliteConnection(state.ConnectionString);
                await connection.OpenAsync(ct);
                await using var command = connection.CreateCommand();
                command.CommandText = Sql;
                command.Parameters.AddWithValue("@key", key);
                command.Parameters.AddWithValue("@payload", payload);
                command.Parameters.AddWithValue("@created_at", now);
                await command.ExecuteNonQueryAsync(ct);
            }
            else
            {
                await using var connection = new NpgsqlConnection(state.ConnectionString);
                await connection.OpenAsync(ct);
                await using var command = new NpgsqlCommand(Sql, connection);
                command.Parameters.AddWithValue("key", key);
                command.Parameters.AddWithValue("payload", payload);
                command.Parameters.AddWithValue("created_at", now);
                await command.ExecuteNonQueryAsync(ct);
            }
        }
    }

    /// <summary>
    /// A SqliteConnection that sets <c>PRAGMA busy_timeout</c> on every open, registered with Quartz as a copy of its
    /// <c>SQLite-Microsoft</c> provider with this connection type (Quartz opens its connections itself).
    /// </summary>
    public sealed class BusyWaitSqliteConnection : SqliteConnection
    {
        public const string Provider = "SQLite-Microsoft-BusyTimeout";

        public BusyWaitSqliteConnection()
        {
        }

        public BusyWaitSqliteConnection(string connectionString) : base(connectionString)
        {
        }

        public override void Open()
        {
            base.Open();
            using var command = CreateCommand();
            command.CommandText = "PRAGMA busy_timeout=120000";
            command.ExecuteNonQuery();
        }

        private static readonly Lock Gate = new();
        private static bool _registered;

        public static void Register()
        {
            lock (Gate)
            {
                if (_registered) return;
                var original = new DbProvider("SQLite-Microsoft", "Data Source=:memory:").Metadata;
                var copy = new DbMetadata
                {
                    AssemblyName = typeof(BusyWaitSqliteConnection).Assembly.FullName!,
                    ProductName = original.ProductName,
                    BindByName = original.BindByName,
                    CommandType = original.CommandType,
                    ConnectionType = typeof(BusyWaitSqliteConnection),
                    ExceptionType = original.ExceptionType,
                    ParameterDbType = original.ParameterDbType,
                    ParameterNamePrefix = original.ParameterNamePrefix,
                    ParameterType = original.ParameterType,
                    UseParameterNamePrefixInParameterCollection = original.UseParameterNamePrefixInParameterCollection,
                };
                if (original.DbBinaryType is { } binary) copy.DbBinaryTypeName = binary.ToString();
                if (original.ParameterDbTypeProperty is { } property) copy.ParameterDbTypePropertyName = property.Name;
                copy.Init();
                DbProvider.RegisterDbMetadata(Provider, copy);
                _registered = true;
            }
        }
    }

    private sealed class JobFactory(RunState state) : IJobFactory
    {
        public IJob NewJob(TriggerFiredBundle bundle, IScheduler scheduler) => new FiringJob(state);

        public void ReturnJob(IJob job)
        {
        }
    }

    /// <summary>
    /// The ADO store insists on an object serializer; with <c>useProperties</c> and empty job data maps it has nothing to
    /// serialize (Quartz's JSON serializers are separate packages; its binary one needs BinaryFormatter, gone from .NET).
    /// </summary>
    public sealed class NoJobDataSerializer : IObjectSerializer
    {
        public void Initialize()
        {
        }

        public byte[] Serialize<T>(T obj) where T : class =>
            throw new NotSupportedException($"The Quartz baseline stores no job data ({typeof(T).Name}).");

        public T? DeSerialize<T>(byte[] data) where T : class =>
            throw new NotSupportedException($"The Quartz baseline stores no job data ({typeof(T).Name}).");
    }
}
