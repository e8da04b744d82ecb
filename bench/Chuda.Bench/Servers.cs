using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Chuda.Engine;
using Chuda.Server.Hosting;

namespace Chuda.Bench;

/// <summary>The two servers measured over loopback, each in its own child process (so its RSS and CPU are its own).</summary>
public static class Servers
{
    /// <summary>Child mode <c>serve</c>: Chuda as <c>chuda serve</c> composes it (ChudaApp.BuildAsync), fixed keys.</summary>
    public static async Task<int> ServeAsync(Args args)
    {
        var options = new ServeOptions
        {
            Urls = args.Get("urls", "http://127.0.0.1:0"),
            DataDirectory = args.Get("data", ".chuda-bench"),
            Store = args.Get("store-cs"),
            WriteKey = Pipeline.WriteKey,
            AdminKey = Pipeline.AdminKey,
            Engine = new EngineOptions(),
            Time = TimeProvider.System,
            Console = TextWriter.Null,
        };
        await using var app = await ChudaApp.BuildAsync(options, CancellationToken.None);
        await app.StartAsync();
        return await ReadyAndWaitAsync(app);
    }

    /// <summary>Child mode <c>noop</c>: the ceiling, a minimal Kestrel app that reads the whole body (as Chuda does) and answers <c>{"success":true}</c>.</summary>
    public static async Task<int> NoopAsync(Args args)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(args.Get("urls", "http://127.0.0.1:0"));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        await using var app = builder.Build();
        var success = """{"success":true}"""u8.ToArray();
        app.MapPost("/{**path}", async (HttpContext context) =>
        {
            var buffer = ArrayPool<byte>.Shared.Rent((int)(context.Request.ContentLength ?? 4096) + 1);
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted);
                if (read == 0) break;
                length += read;
            }
            ArrayPool<byte>.Shared.Return(buffer);
            return Results.Bytes(success, "application/json");
        });
        app.MapGet("/{**path}", () => Results.Bytes(success, "application/json"));
        await app.StartAsync();
        return await ReadyAndWaitAsync(app);
    }

    private static async Task<int> ReadyAndWaitAsync(WebApplication app)
    {
        await Console.Out.WriteLineAsync("READY " + app.Urls.First());
        await Console.Out.FlushAsync();
        // The parent closes stdin (or writes a line) to stop us gracefully.
        await Console.In.ReadLineAsync();
        await app.StopAsync();
        return 0;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts this program in a child mode and waits for its READY line.</summary>
    public static async Task<ChildServer> StartAsync(string mode, params string[] extra)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(Servers).Assembly.Location);
        start.ArgumentList.Add(mode);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        foreach (var e in extra) start.ArgumentList.Add(e);
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server process.");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException($"The {mode} server exited before it was ready (code {(process.HasExited ? process.ExitCode : -1)}).");
            if (line.StartsWith("READY ", StringComparison.Ordinal)) break;
            Console.WriteLine($"  [{mode}] {line}");
        }
        _ = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } l) Console.WriteLine($"  [{mode}] {l}");
        });
        return new ChildServer(process, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));
    }
}

public sealed class ChildServer(Process process, Uri address) : IAsyncDisposable
{
    public Process Process { get; } = process;
    public Uri Address { get; } = address;
    public int Pid => Process.Id;

    /// <summary>VmRSS and VmHWM (peak) of the server process, in MiB.</summary>
    public (double Rss, double Peak) Memory() => ProcStats.Memory(Pid);

    public async ValueTask DisposeAsync()
    {
        try
        {
            Process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await Process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
        }
        Process.Dispose();
    }
}

/// <summary>/proc readings: process CPU time, machine CPU time, memory.</summary>
public static class ProcStats
{
    private static readonly double TicksPerSecond = 100.0; // USER_HZ on Linux

    /// <summary>utime+stime of a process, seconds.</summary>
    public static double ProcessCpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is state (field 3); utime is field 14, stime field 15.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }

    /// <summary>(busy, total) CPU seconds of the whole machine, all cores.</summary>
    public static (double Busy, double Total) Machine()
    {
        var line = File.ReadLines("/proc/stat").First();
        var v = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var idle = v[3] + v[4];
        var total = v.Take(8).Sum();
        return ((total - idle) / TicksPerSecond, total / TicksPerSecond);
    }

    public static (double RssMiB, double PeakMiB) Memory(int pid)
    {
        double rss = 0, hwm = 0;
        foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line) / 1024.0;
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kb(line) / 1024.0;
        }
        return (rss, hwm);
    }

    private static long Kb(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
