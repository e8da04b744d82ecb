using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Chuda.Engine;
using Chuda.Server.Demo;
using Chuda.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Chuda.Bench;

/// <summary>
/// Scenario <c>console</c> (issue 7): what the console's pages wait for. A server seeded by the demo (N shoppers with 14 days
/// of history, segments, published journeys; no activity) answers, one request at a time as a browser page would, the
/// dashboard (7 days hourly, 30 days daily), a profile search by prefix, a profile page's reads, a segment preview (the rule
/// builder's live count), a journey's stats (the canvas polls them) and the console's index.html; p50 / p95 latency each,
/// against <c>GET /health</c> on the same server and client as the floor.
/// </summary>
public static class ConsoleApi
{
    public static async Task<int> RunAsync(Args args)
    {
        var kind = args.Get("store", "sqlite");
        var profiles = args.Int("profiles", 3000);
        var samples = args.Int("samples", 200);
        Report.Line($"console: store={kind} profiles={profiles} samples={samples}");
        await using var db = await BenchDatabase.CreateAsync(kind, args, "console");
        var consoleDir = Path.Combine(db.Directory, "console");
        Directory.CreateDirectory(Path.Combine(consoleDir, "assets"));
        await File.WriteAllTextAsync(Path.Combine(consoleDir, "index.html"), "<!doctype html><html><head><script type=module src=/assets/app.js></script></head><body><div id=root></div></body></html>");
        var options = new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = db.Directory,
            Store = db.ChudaStore,
            WriteKey = Pipeline.WriteKey,
            AdminKey = Pipeline.AdminKey,
            Engine = new EngineOptions(),
            Time = TimeProvider.System,
            Console = TextWriter.Null,
            ConsoleDirectory = consoleDir,
            Demo = new DemoOptions { Profiles = profiles, Activity = false },
        };
        await using var app = await ChudaApp.BuildAsync(options, CancellationToken.None);
        await app.StartAsync();
        var seeding = Stopwatch.GetTimestamp();
        var started = await app.Services.GetRequiredService<DemoService>().Started.WaitAsync(TimeSpan.FromMinutes(10));
        Report.Line($"  seeded {started.Profiles} shoppers, {started.Events} events in {Stopwatch.GetElapsedTime(seeding).TotalSeconds:0.0} s");

        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Pipeline.AdminKey);
        var random = new Random(7);
        var now = TimeProvider.System.GetUtcNow();
        string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));

        var floor = await MeasureAsync(client, samples, _ => Get("/health"));
        Report.Line($"  floor GET /health: p50 {floor.P50:0.00} ms, p95 {floor.P95:0.00} ms");
        var cases = new (string Metric, Func<int, HttpRequestMessage> Request)[]
        {
            ("index_html", _ => Get("/journeys/abandoned-cart")),
            ("dashboard_7d_hourly", _ => Get($"/api/v1/dashboard?from={Iso(now.AddDays(-7))}&to={Iso(now)}&interval=PT1H")),
            ("dashboard_30d_daily", _ => Get($"/api/v1/dashboard?from={Iso(now.AddDays(-30))}&to={Iso(now)}&interval=P1D")),
            ("profile_search_prefix", _ => Get("/api/v1/profiles?q=" + Uri.EscapeDataString("+86138" + random.Next(10, 99).ToString(CultureInfo.InvariantCulture)))),
            ("profile_search_recent", _ => Get("/api/v1/profiles")),
            ("profile_page_reads", i => Get($"/api/v1/profiles/{DemoUser(i, profiles)}")),
            ("profile_events_page", i => Get($"/api/v1/profiles/{DemoUser(i, profiles)}/events?limit=50")),
            ("segment_preview_estimate", _ => Post("/api/v1/segments/preview", """{"rule":{"and":[{"trait":"plan","op":"eq","value":"pro"},{"event":"Product Viewed","count":{"op":"at_least","value":2},"within":"P7D"}]}}""")),
            ("journey_stats", _ => Get("/api/v1/journeys/abandoned-cart/stats")),
        };
        foreach (var (metric, request) in cases)
        {
            var m = await MeasureAsync(client, samples, request);
            Report.Line($"  {metric}: p50 {m.P50:0.00} ms, p95 {m.P95:0.00} ms ({m.Failures} failed)");
            Report.Result("console", kind, metric + "_p50_ms", m.P50, "ms", floor.P50);
            Report.Result("console", kind, metric + "_p95_ms", m.P95, "ms", floor.P95);
            if (m.Failures > 0) throw new InvalidOperationException($"{metric}: {m.Failures} requests failed");
        }
        await app.StopAsync();
        return 0;
    }

    private static string DemoUser(int i, int profiles) => DemoShop.UserId(1 + i * 7919 % profiles);

    private static HttpRequestMessage Get(string path) => new(HttpMethod.Get, path);

    private static HttpRequestMessage Post(string path, string json) =>
        new(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private sealed record Latency(double P50, double P95, int Failures);

    private static async Task<Latency> MeasureAsync(HttpClient client, int samples, Func<int, HttpRequestMessage> request)
    {
        for (var i = 0; i < Math.Min(20, samples); i++) // warm-up: JIT, statement caches, page cache
        {
            using var warm = await client.SendAsync(request(i));
            await warm.Content.ReadAsByteArrayAsync();
        }
        var times = new List<double>(samples);
        var failures = 0;
        for (var i = 0; i < samples; i++)
        {
            using var message = request(i);
            var ts = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(message);
            await response.Content.ReadAsByteArrayAsync();
            times.Add(Stopwatch.GetElapsedTime(ts).TotalMilliseconds);
            if (!response.IsSuccessStatusCode) failures++;
        }
        times.Sort();
        return new Latency(Report.Percentile(times, 50), Report.Percentile(times, 95), failures);
    }
}
