namespace Chuda.Bench;

/// <summary>Scenario <c>memory</c>: server RSS (sampled every second, plus the kernel's VmHWM peak) while it ingests a fixed number of events.</summary>
public static class Memory
{
    public static async Task<int> RunAsync(Args args)
    {
        var kind = args.Get("store", "sqlite");
        var events = args.Int("events", 10_000_000);
        var profiles = args.Int("profiles", 1_000_000);
        var connections = args.Int("connections", 32);
        const int threads = 2;
        var batch = new BodyTemplate(Payloads.BatchTemplate(100));
        var perThread = (long)Math.Ceiling(events / 100.0 / threads);
        Report.Line($"memory: store={kind} events={events} profiles={profiles} via /v1/batch (100 events/request), {connections} connections");
        await using var db = await BenchDatabase.CreateAsync(kind, args, "memory");
        var extra = new List<string> { "--data", db.Directory };
        if (db.ConnectionString is not null) extra.AddRange(["--store-cs", db.ConnectionString]);
        double maxSampled = 0, peak;
        Wrk.Result result;
        await using (var server = await Servers.StartAsync("serve", [.. extra]))
        {
            var sampled = 0;
            result = await Wrk.RunAsync(server, "/v1/batch", batch, profiles, connections, TimeSpan.FromHours(2), threads, perThread, () =>
            {
                var (rss, _) = server.Memory();
                maxSampled = Math.Max(maxSampled, rss);
                if (++sampled % 30 == 0) Report.Line($"  t={sampled}s RSS {rss:0} MiB");
            });
            (_, peak) = server.Memory();
            Report.Line($"  ingested {Report.F(result.Requests * 100)} events in {result.Seconds:0} s: {Wrk.Describe(result, 100)}");
            Report.Line($"  server RSS: peak (VmHWM) {peak:0} MiB, max sampled {maxSampled:0} MiB, at end {server.Memory().Rss:0} MiB");
        }
        await using (var pipeline = await Pipeline.StartAsync(db))
        {
            var (p, e) = await pipeline.Store.CountAsync(pipeline.WorkspaceId, CancellationToken.None);
            Report.Line($"  stored: {Report.F(p)} profiles, {Report.F(e)} events");
        }
        var ok = result.Status == 0 && result.Errors == 0;
        Report.Result("memory", kind, $"peak_rss_mib_{events / 1_000_000.0:0.###}M_events_{profiles / 1_000_000.0:0.###}M_profiles", peak, "MiB",
            target: "< 1024 MiB", met: ok && peak < 1024);
        Report.Result("memory", kind, "events_per_s", result.RequestsPerSecond * 100, "events/s");
        return 0;
    }
}
