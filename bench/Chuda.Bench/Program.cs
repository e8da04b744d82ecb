using Chuda.Bench;

// dotnet run -c Release --project bench/Chuda.Bench -- <scenario> [options]; see docs/benchmarks.md.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("""
        Chuda.Bench <scenario> [options]
          inproc  --store sqlite|postgres [--events 1000000] [--profiles 100000] [--submitters 16]
          http    --store sqlite|postgres [--duration 10] [--warmup 3] [--batch-connections 32] [--track-connections 128] [--profiles 100000]
          memory  --store sqlite|postgres [--events 10000000] [--profiles 1000000] [--connections 32]
          lookup  --store sqlite|postgres [--profiles 1000000] [--samples 20000]
          segments --store sqlite|postgres [--profiles 100000] [--events-per-profile 20] [--part recompute|incremental|membership|all]
                  [--incremental-events 200000] [--segments 100] [--submitters 16] [--recompute-passes 1]
          quartz  --store sqlite|postgres [--triggers 20000] [--threads 10] [--batch 50] [--job insert|noop] [--max-seconds 300]
                  [--sqlite-busy native|driver] [--sqlite-indexes]
                  Quartz.NET 3.20.1 ADO.NET job store firing N one-off triggers due at once (the timer benchmark's peer)
          journeys --store sqlite|postgres [--part burst|steady|event|quartz|all] [--timers 1000000] [--steady-rate 1000]
                  [--steady-seconds 30] [--events 2000] [--quartz-triggers 10000]
                  Timer firings (all due at once, and steady), event → next step latency, and Quartz.NET in the same run
          delivery --store sqlite|postgres [--part policy|pipeline|smtp|priority|all] [--decisions 1000000] [--messages 20000]
                  [--broadcast 100000] [--transactional-rate 50]
                  Policy decisions/s, the dispatcher end to end, SMTP vs a bare client loop, transactional latency during a broadcast
          channels [--part smpp|webpush|failover|all] [--messages 20000] [--window 10] [--trials 10]
                  SMPP provider vs a bare client loop on the same SMSC, Web Push encryption + VAPID signing, failover time
          console --store sqlite|postgres [--profiles 3000] [--samples 200]
                  What the console's pages wait for on a demo-seeded server: dashboard, profile search, segment preview,
                  journey stats, index.html — p50 / p95 against GET /health
          summarize FILE...   medians of the RESULT lines of several runs (bench/run.sh)
        PostgreSQL: --pg "Host=...;Username=...;Database=postgres" or env CHUDA_BENCH_PG (bench/run.sh starts a throw-away cluster).
        """);
    return 0;
}
if (args[0] == "summarize") return Report.Summarize(args.Skip(1));
var rest = new Args(args.Skip(1));
return args[0] switch
{
    "inproc" => await Inproc.RunAsync(rest),
    "http" => await Http.RunAsync(rest),
    "memory" => await Memory.RunAsync(rest),
    "lookup" => await Lookup.RunAsync(rest),
    "segments" => await Segments.RunAsync(rest),
    "quartz" => await QuartzBaseline.RunAsync(rest),
    "journeys" => await Journeys.RunAsync(rest),
    "delivery" => await Delivery.RunAsync(rest),
    "channels" => await Channels.RunAsync(rest),
    "console" => await ConsoleApi.RunAsync(rest),
    "serve" => await Servers.ServeAsync(rest),
    "noop" => await Servers.NoopAsync(rest),
    _ => throw new ArgumentException($"Unknown scenario '{args[0]}'."),
};
