using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Chuda.Server.Tests;

/// <summary>The real <c>chuda</c> executable started as its own process (for SIGTERM / SIGKILL tests).</summary>
internal static class ChudaProcess
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary><c>chuda serve</c> on 127.0.0.1:<paramref name="port"/> with its SQLite store in <paramref name="dataPath"/>.</summary>
    public static Process Start(int port, string dataPath)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "chuda.dll");
        var start = new ProcessStartInfo("dotnet", [dll, "serve", "--urls", $"http://127.0.0.1:{port}", "--data", dataPath])
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

    public static async Task WaitHealthyAsync(HttpClient client)
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
}
