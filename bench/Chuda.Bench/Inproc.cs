namespace Chuda.Bench;

/// <summary>Scenario <c>inproc</c>: the engine in this process, no HTTP.</summary>
public static class Inproc
{
    public static async Task<int> RunAsync(Args args)
    {
        var kind = args.Get("store", "sqlite");
        var events = args.Int("events", 1_000_000);
        var profiles = args.Int("profiles", 100_000);
        var submitters = args.Int("submitters", 16);
        var perBody = args.Int("batch", 100);
        var warmupBodies = args.Int("warmup-bodies", 100);
        var template = new BodyTemplate(Payloads.BatchTemplate(perBody));
        var bodies = events / perBody;
        Report.Line($"inproc: store={kind} events={bodies * perBody} profiles={profiles} submitters={submitters} body={template.Text.Length} B template ({perBody} events)");

        double figure;
        Pipeline.LoadResult result;
        await using (var db = await BenchDatabase.CreateAsync(kind, args, "inproc"))
        {
            await using var pipeline = await Pipeline.StartAsync(db, timed: args.Flag("breakdown"));
            var run = Guid.NewGuid().ToString("N")[..8];
            await pipeline.LoadAsync(template, warmupBodies, submitters, (_, _, r) => r.NextInt64(profiles), "w" + run + "-");
            result = await pipeline.LoadAsync(template, bodies, submitters, (_, _, r) => r.NextInt64(profiles), "m" + run + "-");
            figure = result.EventsPerSecond;
            var (p, e) = await pipeline.Store.CountAsync(pipeline.WorkspaceId, CancellationToken.None);
            Report.Line($"  pipeline: {Report.F(figure)} events/s in {result.Elapsed.TotalSeconds:0.0} s; duplicates={result.Duplicates}; " +
                $"stored profiles={p} events={e} (incl. {warmupBodies * perBody} warm-up); partitions={pipeline.Partitions.PartitionCount}");
            Report.Line($"  SubmitAsync per {perBody}-event body (parse+submit+commit) ms: p50={Report.Percentile(result.SubmitMs, 50):0.0} p95={Report.Percentile(result.SubmitMs, 95):0.0} p99={Report.Percentile(result.SubmitMs, 99):0.0}");
            if (pipeline.Store is TimedStore timed) Report.Line(timed.Describe(result.Elapsed));
            if (e < result.Events) throw new InvalidOperationException($"Only {e} events stored of {result.Events}.");
        }

        double ceiling, indexed;
        await using (var db = await BenchDatabase.CreateAsync(kind, args, "ceiling"))
        {
            ceiling = await Ceilings.RunAsync(db, result.Events, profiles, indexed: false);
            indexed = args.Flag("no-indexed-ceiling") ? double.NaN : await Ceilings.RunAsync(db, result.Events, profiles, indexed: true);
        }
        Report.Line($"  ceiling (raw batched insert, 10,000-row transactions): {Report.F(ceiling)} rows/s; with events_profile index + message_ids row: {Report.F(indexed)} rows/s");
        var target = kind == "sqlite" ? 100_000 : (double?)null;
        Report.Result("inproc", kind, "events_per_s", figure, "events/s", ceiling,
            target is null ? null : ">= 100,000 events/s", target is null ? null : figure >= target);
        if (!double.IsNaN(indexed)) Report.Result("inproc", kind, "events_per_s_vs_indexed_insert", figure, "events/s", indexed);
        Report.Result("inproc", kind, "submit_p99_ms", Report.Percentile(result.SubmitMs, 99), "ms");
        return 0;
    }
}
