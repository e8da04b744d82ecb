using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Chuda.Bench;

/// <summary>Runs wrk (a separate process, on the same cores as the server) with wrk/chuda.lua.</summary>
public static class Wrk
{
    public sealed record Result(long Requests, double Seconds, long Errors, long Status, double P50Ms, double P90Ms, double P99Ms,
        double ServerCpuPct, double MachineBusyPct)
    {
        public double RequestsPerSecond => Requests / Seconds;
    }

    public static async Task<Result> RunAsync(ChildServer server, string path, BodyTemplate template, int profiles,
        int connections, TimeSpan duration, int threads = 2, long limitPerThread = 0, Action? tick = null)
    {
        var bodyFile = Path.Combine(Path.GetTempPath(), $"chuda-bench-body-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(bodyFile, template.Text);
        try
        {
            var start = new ProcessStartInfo("wrk")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[]
            {
                "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
                "-d", ((int)Math.Ceiling(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s", "--timeout", "30s",
                "-s", Path.Combine(AppContext.BaseDirectory, "wrk", "chuda.lua"), server.Address.ToString().TrimEnd('/'),
            })
            {
                start.ArgumentList.Add(a);
            }
            start.Environment["CHUDA_BENCH_BODY"] = bodyFile;
            start.Environment["CHUDA_BENCH_PROFILES"] = profiles.ToString(CultureInfo.InvariantCulture);
            start.Environment["CHUDA_BENCH_RUN"] = Guid.NewGuid().ToString("N")[..10];
            start.Environment["CHUDA_BENCH_PATH"] = path;
            start.Environment["CHUDA_BENCH_AUTH"] = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(Pipeline.WriteKey + ":"));
            start.Environment["CHUDA_BENCH_LIMIT"] = limitPerThread.ToString(CultureInfo.InvariantCulture);
            var doneFile = bodyFile + ".done";
            start.Environment["CHUDA_BENCH_DONE"] = doneFile;

            var cpu0 = ProcStats.ProcessCpu(server.Pid);
            var m0 = ProcStats.Machine();
            using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start wrk (apt-get install -y wrk).");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (tick is not null)
            {
                while (!process.HasExited)
                {
                    tick();
                    if (limitPerThread > 0 && File.Exists(doneFile) && File.ReadAllLines(doneFile).Length >= threads)
                    {
                        // Every thread reached its limit: stop wrk now (it would otherwise sleep out -d).
                        using var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]);
                        await kill.WaitForExitAsync();
                    }
                    using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                    try
                    {
                        await process.WaitForExitAsync(wait.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }
            await process.WaitForExitAsync();
            var cpu1 = ProcStats.ProcessCpu(server.Pid);
            var m1 = ProcStats.Machine();
            var output = await stdout;
            var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("CHUDA_WRK ", StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"wrk printed no summary:\n{output}\n{await stderr}");
            using var doc = JsonDocument.Parse(line["CHUDA_WRK ".Length..]);
            var r = doc.RootElement;
            var seconds = r.GetProperty("duration_us").GetDouble() / 1e6;
            var errors = r.GetProperty("connect").GetInt64() + r.GetProperty("read").GetInt64() + r.GetProperty("write").GetInt64() + r.GetProperty("timeout").GetInt64();
            var cores = Environment.ProcessorCount;
            var machineTotal = m1.Total - m0.Total;
            return new Result(
                r.GetProperty("requests").GetInt64(), seconds, errors, r.GetProperty("status").GetInt64(),
                r.GetProperty("p50_us").GetDouble() / 1000, r.GetProperty("p90_us").GetDouble() / 1000, r.GetProperty("p99_us").GetDouble() / 1000,
                100.0 * (cpu1 - cpu0) / seconds / cores,
                machineTotal > 0 ? 100.0 * (m1.Busy - m0.Busy) / machineTotal : double.NaN);
        }
        finally
        {
            File.Delete(bodyFile);
            File.Delete(bodyFile + ".done");
        }
    }

    public static string Describe(Result r, int eventsPerRequest) =>
        $"{Report.F(r.RequestsPerSecond)} req/s = {Report.F(r.RequestsPerSecond * eventsPerRequest)} events/s; " +
        $"latency p50={r.P50Ms:0.00} p90={r.P90Ms:0.00} p99={r.P99Ms:0.00} ms; non-2xx={r.Status} socket errors={r.Errors}; " +
        $"server CPU {r.ServerCpuPct:0}% of {Environment.ProcessorCount} cores, machine busy {r.MachineBusyPct:0}%";
}
