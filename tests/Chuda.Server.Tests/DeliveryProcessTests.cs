using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Chuda.Channels.Tests.Email;
using Chuda.Testing;
using Xunit.Abstractions;

namespace Chuda.Server.Tests;

/// <summary>
/// Delivery through the real <c>chuda</c> process to a real SMTP server (npm smtp-server on loopback): a 10,000-message
/// broadcast is killed with SIGKILL several times while it drains; afterwards every recipient has exactly one e-mail, or
/// at most one duplicate from the in-flight window (messages handed to SMTP whose outcome was not yet committed).
/// </summary>
public sealed class DeliveryProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _data = new();

    public void Dispose() => _data.Dispose();

    private static int FreePort() => ChudaProcess.FreePort();

    private Process Start(int port) => ChudaProcess.Start(port, _data.Path);

    private static Task WaitHealthyAsync(HttpClient client) => ChudaProcess.WaitHealthyAsync(client);

    private static HttpClient Admin(int port)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", ChudaServer.AdminKey);
        return client;
    }

    private static async Task OkAsync(Task<HttpResponseMessage> call)
    {
        var response = await call;
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task A_broadcast_survives_kill_9_with_one_e_mail_per_recipient_or_one_duplicate_in_the_in_flight_window()
    {
        const int recipients = 10_000;
        const int kills = 3;
        await using var smtp = await ScriptSmtpServer.StartAsync();
        var port = FreePort();
        var process = Start(port);
        try
        {
            using (var admin = Admin(port))
            {
                await WaitHealthyAsync(admin);
                await OkAsync(admin.PutAsync("/api/v1/delivery/policy", ChudaServer.Json("""{"quietHours":null}""")));
                await OkAsync(admin.PutAsync("/api/v1/templates/sale", ChudaServer.Json("""
                    {"name":"Sale","defaultLocale":"en","locales":{"en":{"email":{"subject":"Sale for {{profile.first_name}}","html":"<p>Hi {{profile.first_name}}</p>"}}}}
                    """)));
                await OkAsync(admin.PutAsync("/api/v1/providers/mail", ChudaServer.Json($$$"""
                    {"channel":"email","kind":"smtp","config":{"host":"127.0.0.1","port":{{{smtp.Port}}},"startTls":"none","from":"Shop <shop@example.com>","maxConnections":4}}
                    """)));
                using var ingest = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
                ingest.DefaultRequestHeaders.Authorization = ChudaServer.Basic(ChudaServer.WriteKey);
                for (var start = 0; start < recipients; start += 500)
                {
                    var batch = new StringBuilder("{\"batch\":[");
                    for (var i = start; i < start + 500; i++)
                    {
                        if (i > start) batch.Append(',');
                        batch.Append(CultureInfo.InvariantCulture,
                            $$$"""{"type":"identify","userId":"b{{{i}}}","messageId":"b{{{i}}}-id","traits":{"first_name":"P{{{i}}}","email":"b{{{i}}}@example.com"}}""");
                    }
                    await OkAsync(ingest.PostAsync("/v1/batch", ChudaServer.Json(batch.Append("]}").ToString())));
                }
                await OkAsync(admin.PostAsync("/api/v1/segments", ChudaServer.Json("""{"id":"everyone","name":"Everyone","rule":{"trait":"email","op":"exists"}}""")));
                using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(120));
                while ((await ChudaServer.ReadJsonAsync(await admin.GetAsync("/api/v1/segments/everyone", ready.Token))).GetProperty("status").GetString() != "ready")
                    await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, ready.Token);
                // A broadcast once at a local minute: the next one (a minute already begun has passed).
                var at = TimeProvider.System.GetUtcNow().UtcDateTime.AddMinutes(1).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
                await OkAsync(admin.PostAsync("/api/v1/journeys", ChudaServer.Json($$$"""
                    {"id":"sale","definition":{"name":"Sale","trigger":{"type":"broadcast","segment":"everyone","at":"{{{at}}}","time_zone":"UTC"},
                     "steps":[{"id":"s","type":"send","template":"sale","channel":"email","category":"marketing"}]}}
                    """)));
                await OkAsync(admin.PostAsync("/api/v1/journeys/sale/publish", ChudaServer.Json("{}")));
            }

            // Kill the process while the broadcast drains, at different moments, and restart it each time.
            for (var round = 0; round < kills; round++)
            {
                var before = smtp.Messages.Count;
                using var progress = new CancellationTokenSource(TimeSpan.FromSeconds(180));
                while (smtp.Messages.Count < before + 300 + (round * 400)) await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System, progress.Token);
                using (var kill = Process.Start("kill", ["-KILL", process.Id.ToString(CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
                await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
                process.Dispose();
                process = Start(port);
                using var admin = Admin(port);
                await WaitHealthyAsync(admin);
            }

            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(300));
            var stable = 0;
            var last = -1;
            while (stable < 10)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, deadline.Token);
                var count = smtp.Messages.Count;
                stable = count == last && count >= recipients ? stable + 1 : 0;
                last = count;
            }
        }
        finally
        {
            if (!process.HasExited) process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
        }

        await smtp.SettledAsync();
        var perRecipient = smtp.Messages.SelectMany(m => m["to"]!.AsArray().Select(t => (string)t!)).GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(recipients, perRecipient.Count);
        Assert.True(perRecipient.Values.Max() <= 2, $"a recipient got {perRecipient.Values.Max()} e-mails");
        var duplicates = perRecipient.Values.Count(n => n == 2);
        output.WriteLine($"{recipients} recipients, {kills} kills: {duplicates} duplicate e-mail(s)");
        // The in-flight window: at most one dispatcher batch per kill (DeliveryOptions.BatchSize, 256).
        Assert.True(duplicates <= kills * 256, $"{duplicates} duplicates after {kills} kills");
    }
}
