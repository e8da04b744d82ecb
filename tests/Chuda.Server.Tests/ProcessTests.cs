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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Process Start(int port)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "chuda.dll");
        var start = new ProcessStartInfo("dotnet", [dll, "serve", "--urls", $"http://127.0.0.1:{port}", "--data", _data.Path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["CHUDA_WRITE_KEY"] = ChudaServer.WriteKey;
        start.Environment["CHUDA_ADMIN_KEY"] = ChudaServer.AdminKey;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitHealthyAsync(HttpClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            try
            {
                if ((await client.GetAsync("/health", timeout.Token)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, timeout.Token);
        }
    }

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
}
