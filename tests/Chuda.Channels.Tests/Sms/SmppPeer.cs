using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chuda.Channels.Providers;
using Chuda.Channels.Tests.Email;

namespace Chuda.Channels.Tests.Sms;

/// <summary>
/// peers/smpp-server.mjs (an SMSC scripted on the npm <c>smpp</c> package) on 127.0.0.1 and a port of its choosing; every
/// event it reports (binds, submit_sm with what it decoded, reassembled messages, enquire_link, unbind, deliver_sm_resp) is
/// kept in <see cref="Events"/>.
/// </summary>
public sealed class ScriptSmppServer : IAsyncDisposable
{
    public const string SystemId = "chuda";
    public const string Password = "secret";

    private readonly Process _process;
    private readonly ConcurrentQueue<JsonObject> _events = new();
    private readonly TaskCompletionSource<int> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _stdout;
    private readonly Task<string> _stderr;

    private ScriptSmppServer(Process process)
    {
        _process = process;
        _stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (JsonNode.Parse(line) is not JsonObject e) continue;
                if ((string?)e["event"] == "listening") _listening.TrySetResult((int)e["port"]!);
                else _events.Enqueue(e);
            }
            _listening.TrySetException(new InvalidOperationException("smpp-server.mjs exited before listening"));
        });
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public int Port { get; private set; }

    public IReadOnlyList<JsonObject> Events => [.. _events];

    public IReadOnlyList<JsonObject> Of(string kind) => Events.Where(e => (string?)e["event"] == kind).ToList();

    public IReadOnlyList<JsonObject> Submits => Of("submit");

    /// <summary>Waits until <paramref name="condition"/> holds on the events (fails the test after <paramref name="within"/>).</summary>
    public Task WaitForAsync(Func<ScriptSmppServer, bool> condition, string what, TimeSpan? within = null) =>
        Peers.EventuallyAsync(() => condition(this), what, within ?? TimeSpan.FromSeconds(15));

    /// <param name="config">Settings for the script (see its header), serialised as JSON.</param>
    public static async Task<ScriptSmppServer> StartAsync(object? config = null)
    {
        Peers.Require("smpp");
        var start = new ProcessStartInfo("node", ["smpp-server.mjs", JsonSerializer.Serialize(config ?? new { })])
        {
            WorkingDirectory = Peers.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var server = new ScriptSmppServer(Process.Start(start)!);
        try
        {
            server.Port = await server._listening.Task.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>The provider configuration for this server, with <paramref name="overrides"/> merged in.</summary>
    public JsonElement Config(object? overrides = null)
    {
        var config = new JsonObject
        {
            ["host"] = "127.0.0.1",
            ["port"] = Port,
            ["systemId"] = SystemId,
            ["password"] = Password,
            ["sourceAddress"] = "Chuda",
        };
        if (overrides is not null)
        {
            foreach (var (key, value) in JsonSerializer.SerializeToNode(overrides)!.AsObject()) config[key] = value?.DeepClone();
        }
        return JsonSerializer.SerializeToElement(config);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        await _stdout;
        await _stderr;
        _process.Dispose();
    }
}

/// <summary>Keeps every report a provider makes.</summary>
public sealed class RecordingSink : IProviderReportSink
{
    private readonly ConcurrentQueue<ProviderReport> _reports = new();

    public IReadOnlyList<ProviderReport> Reports => [.. _reports];

    public ValueTask ReportAsync(ProviderReport report, CancellationToken cancellationToken)
    {
        _reports.Enqueue(report);
        return ValueTask.CompletedTask;
    }
}
