using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chuda.Channels.Tests.Email;

namespace Chuda.Channels.Tests.Push;

/// <summary>peers/web-push-server.mjs: the npm web-push-testing 1.2.2 push service on 127.0.0.1. It checks the VAPID token
/// against the subscription's applicationServerKey, decrypts every push with http_ece, and hands the clear text back.</summary>
internal sealed class WebPushService : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;
    private readonly HttpClient _http;

    private WebPushService(Process process, Task<string> stderr, int port)
    {
        _process = process;
        _stderr = stderr;
        Port = port;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }

    public static async Task<WebPushService> StartAsync()
    {
        Peers.Require("web-push-testing");
        var start = new ProcessStartInfo("node", ["web-push-server.mjs"])
        {
            WorkingDirectory = Peers.Directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line is null) Assert.Fail("web-push-server.mjs exited before listening: " + await stderr);
            var port = (int)JsonNode.Parse(line)!["port"]!;
            return new WebPushService(process, stderr, port);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>A new subscription for <paramref name="applicationServerKey"/>: the <c>web:</c> recipient and the client hash.</summary>
    public async Task<(string Recipient, string ClientHash, JsonObject Subscription)> SubscribeAsync(string applicationServerKey)
    {
        using var response = await _http.PostAsJsonAsync("subscribe", new { applicationServerKey, userVisibleOnly = "true" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, "subscribe: " + text);
        var data = (JsonObject)JsonNode.Parse(text)!["data"]!;
        var hash = (string)data["clientHash"]!;
        var subscription = new JsonObject { ["endpoint"] = (string)data["endpoint"]!, ["keys"] = data["keys"]!.DeepClone() };
        return ("web:" + subscription.ToJsonString(), hash, subscription);
    }

    /// <summary>The decrypted payloads the service received for a subscription, in order.</summary>
    public async Task<IReadOnlyList<string>> NotificationsAsync(string clientHash)
    {
        using var response = await _http.PostAsJsonAsync("get-notifications", new { clientHash });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, "get-notifications: " + text);
        return JsonNode.Parse(text)!["data"]!["messages"]!.AsArray().Select(m => (string)m!).ToList();
    }

    public async Task ExpireAsync(string clientHash)
    {
        using var response = await _http.PostAsync($"expire-subscription/{clientHash}", null);
        Assert.True(response.IsSuccessStatusCode, "expire-subscription: " + await response.Content.ReadAsStringAsync());
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        await _stderr;
        _process.Dispose();
    }

    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
