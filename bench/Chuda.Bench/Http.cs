namespace Chuda.Bench;

/// <summary>Scenario <c>http</c>: the real server over loopback, loaded by wrk, against a no-op Kestrel app in the same run.</summary>
public static class Http
{
    public static async Task<int> RunAsync(Args args)
    {
        var kind = args.Get("store", "sqlite");
        var profiles = args.Int("profiles", 100_000);
        var duration = TimeSpan.FromSeconds(args.Int("duration", 10));
        var warmup = TimeSpan.FromSeconds(args.Int("warmup", 3));
        var batchConnections = args.Int("batch-connections", 32);
        var trackConnections = args.Int("track-connections", 128);
        var batch = new BodyTemplate(Payloads.BatchTemplate(100));
        var single = new BodyTemplate(Payloads.Track);
        Report.Line($"http: store={kind} profiles={profiles} duration={duration.TotalSeconds}s (+{warmup.TotalSeconds}s warm-up) " +
            $"batch: 100 events/request, {batchConnections} connections; track: {trackConnections} connections; wrk -t2 on the same {Environment.ProcessorCount} cores");

        Wrk.Result chudaBatch, chudaTrack, noopBatch, noopTrack;
        await using (var db = await BenchDatabase.CreateAsync(kind, args, "http"))
        {
            var extra = new List<string> { "--data", db.Directory };
            if (db.ConnectionString is not null) extra.AddRange(["--store-cs", db.ConnectionString]);
            await using var server = await Servers.StartAsync("serve", [.. extra]);
            (chudaBatch, chudaTrack) = await LoadAsync("chuda", server, batch, single, profiles, batchConnections, trackConnections, warmup, duration);
        }
        await using (var noop = await Servers.StartAsync("noop"))
        {
            (noopBatch, noopTrack) = await LoadAsync("no-op", noop, batch, single, profiles, batchConnections, trackConnections, warmup, duration);
        }

        var batchOk = chudaBatch.Status == 0 && chudaBatch.Errors == 0;
        var trackOk = chudaTrack.Status == 0 && chudaTrack.Errors == 0;
        if (!batchOk || !trackOk) Report.Line("  WARNING: Chuda answered non-2xx or dropped connections; the figures count only completed requests.");
        var batchEvents = chudaBatch.RequestsPerSecond * 100;
        Report.Result("http", kind, "batch_events_per_s", batchEvents, "events/s", noopBatch.RequestsPerSecond * 100, ">= 50,000 events/s", batchOk && batchEvents >= 50_000);
        Report.Result("http", kind, "batch_p99_ms", chudaBatch.P99Ms, "ms", noopBatch.P99Ms);
        Report.Result("http", kind, "track_requests_per_s", chudaTrack.RequestsPerSecond, "req/s", noopTrack.RequestsPerSecond,
            ">= 50% of no-op", trackOk && chudaTrack.RequestsPerSecond >= 0.5 * noopTrack.RequestsPerSecond);
        Report.Result("http", kind, "track_p99_ms", chudaTrack.P99Ms, "ms", noopTrack.P99Ms);
        Report.Result("http", kind, "batch_server_cpu_pct", chudaBatch.ServerCpuPct, "% of all cores", noopBatch.ServerCpuPct);
        Report.Result("http", kind, "track_server_cpu_pct", chudaTrack.ServerCpuPct, "% of all cores", noopTrack.ServerCpuPct);
        return 0;
    }

    private static async Task<(Wrk.Result Batch, Wrk.Result Track)> LoadAsync(string name, ChildServer server, BodyTemplate batch, BodyTemplate single,
        int profiles, int batchConnections, int trackConnections, TimeSpan warmup, TimeSpan duration)
    {
        await Wrk.RunAsync(server, "/v1/batch", batch, profiles, batchConnections, warmup);
        var b = await Wrk.RunAsync(server, "/v1/batch", batch, profiles, batchConnections, duration);
        Report.Line($"  {name} /v1/batch: {Wrk.Describe(b, 100)}");
        await Wrk.RunAsync(server, "/v1/track", single, profiles, trackConnections, warmup);
        var t = await Wrk.RunAsync(server, "/v1/track", single, profiles, trackConnections, duration);
        Report.Line($"  {name} /v1/track: {Wrk.Describe(t, 1)}");
        var (rss, peak) = server.Memory();
        Report.Line($"  {name} server RSS {rss:0} MiB (peak {peak:0} MiB)");
        return (b, t);
    }
}
