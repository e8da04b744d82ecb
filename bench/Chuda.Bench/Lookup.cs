using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Chuda.Domain.Profiles;
using Chuda.Storage;

namespace Chuda.Bench;

/// <summary>Scenario <c>lookup</c>: profile by user id with N profiles stored, through the store and through GET /api/v1/profiles/{userId}.</summary>
public static class Lookup
{
    public static async Task<int> RunAsync(Args args)
    {
        var kind = args.Get("store", "sqlite");
        var profiles = args.Int("profiles", 1_000_000);
        var samples = args.Int("samples", 20_000);
        var warmupSamples = args.Int("warmup", 2_000);
        var passes = args.Int("passes", 3);
        Report.Line($"lookup: store={kind} profiles={profiles} samples={samples} (sequential, one caller)");
        await using var db = await BenchDatabase.CreateAsync(kind, args, "lookup");

        // 1. Populate: identify events, each user exactly once, through the engine.
        await using (var pipeline = await Pipeline.StartAsync(db))
        {
            var identifyBatch = new BodyTemplate(string.Concat("""{"batch":[""", string.Join(",", Enumerable.Repeat(Payloads.Identify, 100)), "]}"));
            var load = await pipeline.LoadAsync(identifyBatch, (profiles + 99) / 100, 16, (b, k, _) => b * 100 + k, "pop-");
            var (p, e) = await pipeline.Store.CountAsync(pipeline.WorkspaceId, CancellationToken.None);
            Report.Line($"  populated {Report.F(p)} profiles ({Report.F(e)} events) in {load.Elapsed.TotalSeconds:0} s ({Report.F(load.EventsPerSecond)} events/s)");

            // 2. The store call the API makes (ProfilesApi.ViewAsync): find id, load profile, load identities.
            var random = new Random(7);
            var store = pipeline.Store;
            var ws = pipeline.WorkspaceId;
            for (var pass = 0; pass < passes; pass++)
            {
                var direct = new List<double>(samples);
                for (var i = 0; i < warmupSamples + samples; i++)
                {
                    var user = "user-" + random.Next(profiles).ToString(CultureInfo.InvariantCulture);
                    var t0 = Stopwatch.GetTimestamp();
                    var id = await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.UserId, user), CancellationToken.None)
                        ?? throw new InvalidOperationException($"{user} not found");
                    _ = await store.GetProfileAsync(ws, id, CancellationToken.None) ?? throw new InvalidOperationException($"{user} has no profile");
                    _ = await store.GetIdentitiesAsync(ws, id, CancellationToken.None);
                    if (i >= warmupSamples) direct.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
                direct.Sort();
                Report.Line($"  store (FindProfileId + GetProfile + GetIdentities): p50={Report.Percentile(direct, 50):0.000} p95={Report.Percentile(direct, 95):0.000} p99={Report.Percentile(direct, 99):0.000} ms");
                Report.Result("lookup", kind, "store_p50_ms", Report.Percentile(direct, 50), "ms");
                Report.Result("lookup", kind, "store_p95_ms", Report.Percentile(direct, 95), "ms");
                Report.Result("lookup", kind, "store_p99_ms", Report.Percentile(direct, 99), "ms", target: "<= 2 ms", met: Report.Percentile(direct, 99) <= 2);
            }
        }

        // 3. Over HTTP, the real server on the same store; and a no-op GET for the loopback round-trip floor.
        var extra = new List<string> { "--data", db.Directory };
        if (db.ConnectionString is not null) extra.AddRange(["--store-cs", db.ConnectionString]);
        for (var pass = 0; pass < passes; pass++)
        {
            List<double> api, floor;
            await using (var server = await Servers.StartAsync("serve", [.. extra]))
            {
                api = await GetLatenciesAsync(server, profiles, samples, warmupSamples, true);
            }
            await using (var noop = await Servers.StartAsync("noop"))
            {
                floor = await GetLatenciesAsync(noop, profiles, samples, warmupSamples, false);
            }
            Report.Line($"  GET /api/v1/profiles/{{userId}}: p50={Report.Percentile(api, 50):0.000} p95={Report.Percentile(api, 95):0.000} p99={Report.Percentile(api, 99):0.000} ms");
            Report.Line($"  no-op GET (loopback + HttpClient floor): p50={Report.Percentile(floor, 50):0.000} p95={Report.Percentile(floor, 95):0.000} p99={Report.Percentile(floor, 99):0.000} ms");
            Report.Result("lookup", kind, "api_p50_ms", Report.Percentile(api, 50), "ms", Report.Percentile(floor, 50));
            Report.Result("lookup", kind, "api_p95_ms", Report.Percentile(api, 95), "ms", Report.Percentile(floor, 95));
            Report.Result("lookup", kind, "api_p99_ms", Report.Percentile(api, 99), "ms", Report.Percentile(floor, 99), "<= 2 ms", Report.Percentile(api, 99) <= 2);
        }
        return 0;
    }

    private static async Task<List<double>> GetLatenciesAsync(ChildServer server, int profiles, int samples, int warmup, bool check)
    {
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpClient(handler) { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Pipeline.AdminKey);
        var random = new Random(11);
        var list = new List<double>(samples);
        for (var i = 0; i < warmup + samples; i++)
        {
            var user = "user-" + random.Next(profiles).ToString(CultureInfo.InvariantCulture);
            var t0 = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync(new Uri("/api/v1/profiles/" + user, UriKind.Relative));
            var body = await response.Content.ReadAsByteArrayAsync();
            var ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (check && !response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {user}: {(int)response.StatusCode}");
            if (check && body.Length < 50) throw new InvalidOperationException($"GET {user}: short body");
            if (i >= warmup) list.Add(ms);
        }
        list.Sort();
        return list;
    }
}
