using System.Diagnostics;
using System.Text.Json;
using Chuda.Testing;

namespace Chuda.Channels.Tests.Webhooks;

/// <summary>The reference Standard Webhooks library (npm <c>standardwebhooks</c>, installed by ./test.sh) run by node.</summary>
public static class NodePeer
{
    private static readonly string Peers = Repository.File("tests/Chuda.Channels.Tests/peers");

    /// <summary>Runs <c>new Webhook(secret).verify(body, headers)</c>; exit code 0 means verified.</summary>
    public static async Task<(int ExitCode, string Output)> VerifyAsync(string secret, IReadOnlyDictionary<string, string> headers, byte[] body)
    {
        Assert.True(Directory.Exists(Path.Combine(Peers, "node_modules", "standardwebhooks")),
            "npm package standardwebhooks is missing: ./test.sh installs it (npm ci in tests/Chuda.Channels.Tests/peers).");
        var start = new ProcessStartInfo("node", ["verify-standardwebhooks.mjs"])
        {
            WorkingDirectory = Peers,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(JsonSerializer.Serialize(new { secret, headers, body = Convert.ToBase64String(body) }));
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }
}
