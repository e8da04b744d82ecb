using System.Diagnostics;
using Chuda.Testing;

namespace Chuda.Server.Tests;

/// <summary>The real <c>@segment/analytics-node</c> client (npm, installed by ./test.sh) against a running server.</summary>
public sealed class SegmentClientTests : IAsyncLifetime
{
    private ChudaServer _server = null!;

    public async Task InitializeAsync() => _server = await ChudaServer.StartAsync(null);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Analytics_node_identify_track_page_alias_and_flush_are_stored()
    {
        var peers = Repository.File("tests/peers");
        Assert.True(Directory.Exists(Path.Combine(peers, "node_modules", "@segment", "analytics-node")),
            "npm package @segment/analytics-node is missing: ./test.sh installs it (npm ci in tests/peers).");
        var host = _server.Address.ToString().TrimEnd('/');
        var start = new ProcessStartInfo("node", ["segment-client.mjs", host, ChudaServer.WriteKey])
        {
            WorkingDirectory = peers,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stdout} {await stderr}");

        var profile = (await _server.ProfileAsync("seg-user-1"))!.Value;
        Assert.Equal("韩梅梅", profile.GetProperty("traits").GetProperty("name").GetString());
        Assert.Equal("Asia/Shanghai", profile.GetProperty("timezone").GetString());
        Assert.Contains("seg-anon-1", profile.GetProperty("anonymousIds").EnumerateArray().Select(a => a.GetString()));
        Assert.Contains("legacy-crm-42", profile.GetProperty("anonymousIds").EnumerateArray().Select(a => a.GetString()));

        var types = (await _server.EventsAsync("seg-user-1")).Select(e => e.GetProperty("type").GetString()).Order().ToList();
        Assert.Equal(["alias", "group", "identify", "page", "screen", "track", "track"], types);
        var byEmail = await _server.GetJsonAsync("/api/v1/profiles?email=seg.user%40example.com");
        Assert.Equal("seg-user-1", byEmail.GetProperty("userId").GetString());
        var byOld = await _server.GetJsonAsync("/api/v1/profiles?anonymousId=legacy-crm-42");
        Assert.Equal("seg-user-1", byOld.GetProperty("userId").GetString());
    }
}
