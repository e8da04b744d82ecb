using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Journeys;
using Chuda.Domain.Profiles;
using Chuda.Engine;
using Chuda.Engine.Journeys;
using Chuda.Engine.Profiles;
using Chuda.Engine.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.Extensions.Logging;

namespace Chuda.Bench;

/// <summary>
/// Scenario <c>journeys</c> (issue 4): the timer runtime.
/// (a) burst: N instances all waiting on one due instant; the real <see cref="JourneyScheduler"/> loop fires them, each
/// firing advancing its journey and writing its send request in the partition's transaction; firings/s and lateness.
/// (b) steady: timers due at R per second spread over S seconds; lateness (send request written − due time) p50/p99.
/// (c) event → next step: profiles waiting in a wait_for_event step; the awaited event is submitted one at a time and
/// the latency until the resumed step's send request is committed is measured.
/// (d) the peer: Quartz.NET's ADO.NET job store firing one-off triggers due at once, in the same run, same database kind.
/// </summary>
public static class Journeys
{
    private const string TimerJourney = """
        {"name":"Bench timers","trigger":{"type":"api"},
         "steps":[{"id":"w","type":"wait","duration":"PT1H","next":"s"},{"id":"s","type":"send","template":"bench","channel":"push"}]}
        """;

    private const string EventJourney = """
        {"name":"Bench events","trigger":{"type":"event","event":"Start"},
         "steps":[{"id":"w","type":"wait_for_event","event":"Go","timeout":"P1D","on_event":"s","on_timeout":"t"},
                  {"id":"s","type":"send","template":"resumed","channel":"push"},
                  {"id":"t","type":"exit"}]}
        """;

    public static async Task<int> RunAsync(Args args)
    {
        var kind = args.Get("store", "sqlite");
        var part = args.Get("part", "all");
        var timers = args.Int("timers", 1_000_000);
        var rate = args.Int("steady-rate", 1000);
        var seconds = args.Int("steady-seconds", 30);
        var events = args.Int("events", 2000);
        var quartz = args.Int("quartz-triggers", kind == "postgres" ? 2000 : 10_000);
        if (part is not ("all" or "burst" or "steady" or "event" or "quartz")) throw new ArgumentException("--part is burst, steady, event, quartz or all.");
        Report.Line($"journeys: store={kind} part={part} timers={timers} steady={rate}/s x {seconds}s events={events} quartz-triggers={quartz}");

        if (part is "all" or "burst") await BurstAsync(kind, args, timers);
        if (part is "all" or "steady") await SteadyAsync(kind, args, rate, seconds);
        if (part is "all" or "event") await EventAsync(kind, args, events);
        if (part is "all" or "quartz" && quartz > 0) await QuartzAsync(kind, args, quartz);
        return 0;
    }

    private sealed class Engine : IAsyncDisposable
    {
        public required ILoggerFactory Logs { get; init; }
        public required IChudaStore Store { get; init; }
        public required ProfilePartitions Partitions { get; init; }
        public required JourneyScheduler Scheduler { get; init; }
        public required JourneyService Service { get; init; }
        public required long Workspace { get; init; }

        public static async Task<Engine> StartAsync(BenchDatabase db)
        {
            var store = await StoreFactory.OpenAsync(new StoreOptions(db.ChudaStore, db.Directory), CancellationToken.None);
            await store.MigrateAsync(CancellationToken.None);
            var engine = new EngineOptions();
            var directory = new WorkspaceDirectory(store, TimeProvider.System, engine);
            await directory.BootstrapAsync(Pipeline.WriteKey, Pipeline.AdminKey, CancellationToken.None);
            var ws = (await directory.FindAsync(WorkspaceDirectory.DefaultWorkspace, CancellationToken.None))!;
            var segments = new SegmentCatalog(store);
            await segments.RefreshAsync(CancellationToken.None);
            var journeys = new JourneyCatalog(store);
            await journeys.RefreshAsync(CancellationToken.None);
            var options = new JourneyOptions { CatchUpRatePerSecond = 0, LateTolerance = TimeSpan.FromHours(1) };
            var logs = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
            var partitions = new ProfilePartitions(store, directory, engine, logs.CreateLogger<ProfilePartitions>(), TimeProvider.System, segments, journeys, options);
            await partitions.StartAsync(CancellationToken.None);
            var scheduler = new JourneyScheduler(store, partitions, journeys, TimeProvider.System, logs.CreateLogger<JourneyScheduler>(), options);
            var service = new JourneyService(store, journeys, segments, partitions, TimeProvider.System);
            return new Engine { Logs = logs, Store = store, Partitions = partitions, Scheduler = scheduler, Service = service, Workspace = ws.Id };
        }

        public async Task<JourneyRecord> PublishAsync(string id, string json)
        {
            using var doc = JsonDocument.Parse(json);
            await Service.CreateAsync(Workspace, id, doc.RootElement, "bench", CancellationToken.None);
            return (await Service.PublishAsync(Workspace, id, null, false, "bench", CancellationToken.None)).Journey;
        }

        public async ValueTask DisposeAsync()
        {
            await Scheduler.StopAsync(CancellationToken.None);
            await Partitions.StopAsync(CancellationToken.None);
            await Store.DisposeAsync();
            Logs.Dispose();
        }
    }

    /// <summary>Writes N profiles and N instances waiting at step "w" with the given due times, straight through the store.</summary>
    private static async Task SeedAsync(Engine e, JourneyRecord journey, int count, Func<int, DateTimeOffset> due)
    {
        var now = TimeProvider.System.GetUtcNow();
        const int chunk = 10_000;
        for (var start = 0; start < count; start += chunk)
        {
            var n = Math.Min(chunk, count - start);
            await using var tx = await e.Store.BeginAsync(CancellationToken.None);
            var firstProfile = await tx.ReserveProfileIdsAsync(n, CancellationToken.None);
            var firstInstance = await tx.ReserveJourneyInstanceIdsAsync(n, CancellationToken.None);
            var profiles = new List<ProfileRecord>(n);
            var instances = new List<JourneyInstance>(n);
            for (var i = 0; i < n; i++)
            {
                var k = start + i;
                var userId = "bench-" + k.ToString(CultureInfo.InvariantCulture);
                var hash = StableHash.RoutingHash(e.Workspace, "u:" + userId);
                profiles.Add(new ProfileRecord(e.Workspace, firstProfile + i, userId, hash, "{}", [], null, null, false, now, now, 1));
                instances.Add(new JourneyInstance(e.Workspace, firstInstance + i, journey.Key, 1, firstProfile + i, hash, InstanceStatus.Active, "w",
                    now, now, 0, due(k), null, "seed-" + k.ToString(CultureInfo.InvariantCulture), """{"trigger":"api","variants":{},"path":[]}""",
                    null, null, now, 1));
            }
            await tx.UpsertProfilesAsync(profiles, CancellationToken.None);
            await tx.SaveJourneyInstancesAsync(instances, CancellationToken.None);
            await tx.CommitAsync(CancellationToken.None);
        }
    }

    private static async Task<List<SendRequest>> AllSendsAsync(Engine e)
    {
        var all = new List<SendRequest>();
        long after = 0;
        while (true)
        {
            var page = await e.Store.GetSendRequestsAsync(e.Workspace, null, null, after, 20_000, CancellationToken.None);
            if (page.Count == 0) return all;
            all.AddRange(page);
            after = page[^1].Id;
        }
    }

    private static async Task WaitUntilIdleAsync(Engine e, DateTimeOffset lastDue, TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < limit)
        {
            var next = await e.Store.GetNextJourneyTimerDueAsync(CancellationToken.None);
            if (next is null || next > lastDue) return;
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System, CancellationToken.None);
        }
        throw new TimeoutException("Timers did not all fire within " + limit);
    }

    private static async Task BurstAsync(string kind, Args args, int count)
    {
        await using var db = await BenchDatabase.CreateAsync(kind, args, "jburst");
        await using var e = await Engine.StartAsync(db);
        var journey = await e.PublishAsync("timers", TimerJourney);
        var due = DateTimeOffset.FromUnixTimeMilliseconds(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
        var ts = Stopwatch.GetTimestamp();
        await SeedAsync(e, journey, count, _ => due);
        Report.Line($"  burst: seeded {Report.F(count)} waiting instances in {Stopwatch.GetElapsedTime(ts).TotalSeconds:0.0} s");
        if (kind == "postgres") await AnalyzeAsync(db);

        var start = TimeProvider.System.GetUtcNow();
        var t0 = Stopwatch.GetTimestamp();
        await e.Scheduler.StartAsync(CancellationToken.None);
        await WaitUntilIdleAsync(e, due, TimeSpan.FromHours(1));
        var elapsed = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        await e.Scheduler.StopAsync(CancellationToken.None);
        var sends = await AllSendsAsync(e);
        if (sends.Count != count) throw new InvalidOperationException($"{sends.Count} send requests for {count} timers.");
        if (sends.Select(s => s.InstanceId).Distinct().Count() != count) throw new InvalidOperationException("A timer fired twice.");
        var lateness = sends.Select(s => (s.CreatedAt - start).TotalMilliseconds).Order().ToList();
        var perSecond = count / elapsed;
        Report.Line($"  burst: {Report.F(count)} timers fired in {elapsed:0.00} s = {Report.F(perSecond)}/s; lateness after the scheduler started " +
            $"p50 {Report.Percentile(lateness, 50):0} ms, p99 {Report.Percentile(lateness, 99):0} ms");
        var target = kind == "postgres" ? 10_000 : 20_000;
        Report.Result("journeys", kind, "burst_firings_per_s", perSecond, "firings/s", null, $">= {target}/s", count >= 1_000_000 ? perSecond >= target : null);
        Report.Result("journeys", kind, "burst_lateness_p99_ms", Report.Percentile(lateness, 99), "ms");
        Report.Result("journeys", kind, "burst_lateness_p50_ms", Report.Percentile(lateness, 50), "ms");
    }

    private static async Task SteadyAsync(string kind, Args args, int rate, int seconds)
    {
        await using var db = await BenchDatabase.CreateAsync(kind, args, "jsteady");
        await using var e = await Engine.StartAsync(db);
        var journey = await e.PublishAsync("timers", TimerJourney);
        var count = rate * seconds;
        var first = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(Math.Max(5, count / 20_000.0 + 3));
        await SeedAsync(e, journey, count, k => first + TimeSpan.FromSeconds((double)k / rate));
        await e.Scheduler.StartAsync(CancellationToken.None);
        var last = first + TimeSpan.FromSeconds((double)(count - 1) / rate);
        await Task.Delay(last - TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(1), TimeProvider.System, CancellationToken.None);
        await WaitUntilIdleAsync(e, last, TimeSpan.FromMinutes(5));
        await e.Scheduler.StopAsync(CancellationToken.None);
        var sends = await AllSendsAsync(e);
        if (sends.Count != count) throw new InvalidOperationException($"{sends.Count} send requests for {count} timers.");
        var lateness = sends.Select(s => (s.CreatedAt - s.ScheduledFor).TotalMilliseconds).Order().ToList();
        Report.Line($"  steady: {Report.F(count)} timers at {rate}/s: lateness p50 {Report.Percentile(lateness, 50):0.0} ms, p99 {Report.Percentile(lateness, 99):0.0} ms, " +
            $"max {lateness[^1]:0.0} ms");
        Report.Result("journeys", kind, $"steady_{rate}_per_s_lateness_p99_ms", Report.Percentile(lateness, 99), "ms", null, "<= 50 ms",
            Report.Percentile(lateness, 99) <= 50);
        Report.Result("journeys", kind, $"steady_{rate}_per_s_lateness_p50_ms", Report.Percentile(lateness, 50), "ms");
    }

    private static async Task EventAsync(string kind, Args args, int count)
    {
        await using var db = await BenchDatabase.CreateAsync(kind, args, "jevent");
        await using var e = await Engine.StartAsync(db);
        await e.PublishAsync("events", EventJourney);
        var messages = 0;
        SegmentMessage Message(string userId, string name)
        {
            var json = $$"""{"type":"track","userId":"{{userId}}","event":"{{name}}","messageId":"m{{++messages}}"}""";
            var parsed = SegmentParser.ParseLine(Encoding.UTF8.GetBytes(json), TimeProvider.System.GetUtcNow(), () => "x", "");
            return parsed.Messages[0];
        }
        for (var start = 0; start < count; start += 500)
        {
            var batch = Enumerable.Range(start, Math.Min(500, count - start))
                .Select(i => (ProfileCommand)new IngestMessage(e.Workspace, Message("ev-" + i.ToString(CultureInfo.InvariantCulture), "Start"))).ToList();
            await e.Partitions.SubmitAsync(batch, CancellationToken.None);
        }
        var latencies = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var m = Message("ev-" + i.ToString(CultureInfo.InvariantCulture), "Go");
            var t0 = Stopwatch.GetTimestamp();
            await e.Partitions.SubmitAsync([new IngestMessage(e.Workspace, m)], CancellationToken.None);
            latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        var sends = await AllSendsAsync(e);
        if (sends.Count(s => s.Template == "resumed") != count) throw new InvalidOperationException($"{sends.Count} resumed sends for {count} events.");
        latencies.Sort();
        Report.Line($"  event → next step: {count} events one at a time: p50 {Report.Percentile(latencies, 50):0.00} ms, p95 {Report.Percentile(latencies, 95):0.00} ms, " +
            $"p99 {Report.Percentile(latencies, 99):0.00} ms (submit → committed send request)");
        Report.Result("journeys", kind, "event_to_step_p95_ms", Report.Percentile(latencies, 95), "ms", null, "<= 10 ms", Report.Percentile(latencies, 95) <= 10);
        Report.Result("journeys", kind, "event_to_step_p50_ms", Report.Percentile(latencies, 50), "ms");
    }

    private static async Task QuartzAsync(string kind, Args args, int triggers)
    {
        var result = await QuartzBaseline.RunAsync(new QuartzRunOptions
        {
            Store = kind,
            Triggers = triggers,
            Postgres = kind == "postgres" ? BenchDatabase.PostgresAdmin(args) : null,
            TempDirectory = args.Get("tmp"),
            MaxSeconds = args.Double("quartz-max-seconds", 300),
        }, CancellationToken.None);
        QuartzBaseline.WriteResults(result, "journeys-quartz");
        Report.Line($"  quartz: {result.Fired} of {triggers} one-off triggers in {result.Seconds:0.0} s = {Report.F(result.FiringsPerSecond)}/s");
    }

    private static async Task AnalyzeAsync(BenchDatabase db)
    {
        await using var connection = new Npgsql.NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("ANALYZE", connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync();
    }
}
