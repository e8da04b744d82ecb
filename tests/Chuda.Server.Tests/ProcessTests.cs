using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Chuda.Testing;

namespace Chuda.Server.Tests;

/// <summary>
/// The real <c>chuda</c> executable in its own process: a 2xx means durably stored, whether the process is asked to
/// stop (SIGTERM, as a service manager or Ctrl-C does) or killed outright (SIGKILL, a crash).
/// </summary>
public sealed class ProcessTests : IDisposable
{
    private readonly TempDirectory _data = new();

    public void Dispose() => _data.Dispose();

    private static int FreePort() => ChudaProcess.FreePort();

    private Process Start(int port) => ChudaProcess.Start(port, _data.Path);

    private static Task WaitHealthyAsync(HttpClient client) => ChudaProcess.WaitHealthyAsync(client);

    [Theory]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public async Task Every_acknowledged_event_is_stored_when_the_process_stops(string signal)
    {
        var port = FreePort();
        var process = Start(port);
        using var ingest = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        ingest.DefaultRequestHeaders.Authorization = ChudaServer.Basic(ChudaServer.WriteKey);
        await WaitHealthyAsync(ingest);

        const int clients = 8;
        var acknowledged = new List<string>[clients];
        using var stop = new CancellationTokenSource();
        var senders = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            acknowledged[c] = [];
            for (var n = 0; !stop.IsCancellationRequested && n < 10_000; n++)
            {
                var userId = $"p{c}-{n}";
                var body = "{\"batch\":[" + string.Join(",", Enumerable.Range(0, 20).Select(i =>
                    $$"""{"type":"track","userId":"{{userId}}","event":"E{{i}}","messageId":"{{userId}}-{{i}}"}""")) + "]}";
                try
                {
                    var response = await ingest.PostAsync("/v1/batch", ChudaServer.Json(body));
                    if (response.StatusCode == HttpStatusCode.OK) acknowledged[c].Add(userId);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return; // the server went away: this request was not acknowledged
                }
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromMilliseconds(1500), TimeProvider.System);
        using (var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            await kill.WaitForExitAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        await stop.CancelAsync();
        await Task.WhenAll(senders);
        process.Dispose();

        var all = acknowledged.SelectMany(a => a).ToList();
        Assert.NotEmpty(all);

        var restarted = Start(port);
        try
        {
            using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            admin.DefaultRequestHeaders.Authorization = new("Bearer", ChudaServer.AdminKey);
            await WaitHealthyAsync(admin);
            foreach (var userId in all)
            {
                var events = await admin.GetAsync($"/api/v1/profiles/{userId}/events?limit=100");
                Assert.True(events.StatusCode == HttpStatusCode.OK, $"{userId} was acknowledged but is missing after SIG{signal}");
                var count = (await ChudaServer.ReadJsonAsync(events)).GetProperty("events").GetArrayLength();
                Assert.Equal(20, count);
            }
        }
        finally
        {
            restarted.Kill();
            await restarted.WaitForExitAsync();
            restarted.Dispose();
        }
    }

    private const string KillJourney = """
        {"id":"kill-test","definition":{"name":"Survives kill -9","trigger":{"type":"event","event":"Go"},
         "steps":[{"id":"s1","type":"send","template":"one","channel":"email","next":"w1"},
                  {"id":"w1","type":"wait","duration":"PT1S","next":"s2"},
                  {"id":"s2","type":"send","template":"two","channel":"sms","next":"w2"},
                  {"id":"w2","type":"wait","duration":"PT2S","next":"t"},
                  {"id":"t","type":"task","title":"Follow up","queue":"sales","due_in":"PT1H","next":"w3"},
                  {"id":"w3","type":"wait","duration":"PT1S","next":"s3"},
                  {"id":"s3","type":"send","template":"three","channel":"push"}]}}
        """;

    /// <summary>
    /// A journey population runs while the server is killed with SIGKILL again and again: afterwards every profile that
    /// entered has exactly its three send requests and its one task — no journey lost, no side effect repeated.
    /// </summary>
    [Fact]
    public async Task Journeys_survive_repeated_kill_9_with_exactly_the_expected_sends_and_tasks()
    {
        var port = FreePort();
        var process = Start(port);
        using (var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
        {
            admin.DefaultRequestHeaders.Authorization = new("Bearer", ChudaServer.AdminKey);
            await WaitHealthyAsync(admin);
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("/api/v1/journeys", ChudaServer.Json(KillJourney))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/v1/journeys/kill-test/publish", ChudaServer.Json("{}"))).StatusCode);
        }

        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        var next = 0;
        for (var round = 0; round < 5; round++)
        {
            using var ingest = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            ingest.DefaultRequestHeaders.Authorization = ChudaServer.Basic(ChudaServer.WriteKey);
            await WaitHealthyAsync(ingest);
            using var stop = new CancellationTokenSource();
            var senders = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var userId = "k" + Interlocked.Increment(ref next).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    var body = $$"""{"type":"track","userId":"{{userId}}","event":"Go","messageId":"{{userId}}-go"}""";
                    try
                    {
                        if ((await ingest.PostAsync("/v1/track", ChudaServer.Json(body))).StatusCode == HttpStatusCode.OK) acknowledged.Add(userId);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        return;
                    }
                }
            })).ToList();
            // Kill at a different moment of the walk each round (entries, 1 s and 2 s waits firing).
            await Task.Delay(TimeSpan.FromMilliseconds(700 + (round * 450)), TimeProvider.System);
            using (var kill = Process.Start("kill", ["-KILL", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
                await kill.WaitForExitAsync();
            await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
            await stop.CancelAsync();
            await Task.WhenAll(senders);
            process.Dispose();
            process = Start(port);
        }

        // The last incarnation runs every overdue timer to the end.
        try
        {
            using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            admin.DefaultRequestHeaders.Authorization = new("Bearer", ChudaServer.AdminKey);
            await WaitHealthyAsync(admin);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            while (true)
            {
                var stats = await ChudaServer.ReadJsonAsync(await admin.GetAsync("/api/v1/journeys/kill-test/stats", deadline.Token));
                if (stats.GetProperty("active").GetInt64() == 0 && stats.GetProperty("entered").GetInt64() >= acknowledged.Count) break;
                await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System, deadline.Token);
            }
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
        }

        Assert.True(acknowledged.Count > 20, $"only {acknowledged.Count} entries were acknowledged");
        await using var store = await Chuda.Storage.StoreFactory.OpenAsync(new Chuda.Storage.StoreOptions(null, _data.Path), CancellationToken.None);
        var ws = (await store.FindWorkspaceAsync("default", CancellationToken.None))!.Id;
        var sends = await store.GetSendRequestsAsync(ws, null, null, 0, 1_000_000, CancellationToken.None);
        var tasks = await store.GetTasksAsync(ws, null, null, null, null, 0, 1_000_000, CancellationToken.None);
        var byProfile = sends.GroupBy(s => s.ProfileId).ToDictionary(g => g.Key, g => g.Select(s => s.Template).ToList());
        foreach (var userId in acknowledged)
        {
            var id = await store.FindProfileIdAsync(ws, new Chuda.Domain.Profiles.IdentityKey(Chuda.Domain.Profiles.IdentityKinds.UserId, userId), CancellationToken.None);
            Assert.True(id is not null, $"{userId} was acknowledged but has no profile");
            Assert.True(byProfile.TryGetValue(id!.Value, out var templates), $"{userId} entered no journey");
            Assert.Equal(["one", "two", "three"], templates);
            Assert.Single(tasks, t => t.ProfileId == id.Value);
        }
        // Profiles whose event committed but whose answer was lost to the kill walk the journey too, exactly once.
        Assert.All(byProfile.Values, t => Assert.Equal(["one", "two", "three"], t));
        Assert.Equal(byProfile.Count, tasks.Count);
        Assert.Equal(sends.Count, sends.Select(s => s.IdempotencyKey).Distinct().Count());
    }
}
