using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chuda.Testing;

namespace Chuda.Channels.Tests.Email;

/// <summary>Where the npm peers live (installed by ./test.sh with npm ci), and how to run them.</summary>
internal static class Peers
{
    public static readonly string Directory = Repository.File("tests/Chuda.Channels.Tests/peers");

    public static void Require(string package) =>
        Assert.True(System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", package)),
            $"npm package {package} is missing: ./test.sh installs it (npm ci in tests/Chuda.Channels.Tests/peers).");

    /// <summary>A free TCP port on 127.0.0.1, for a peer that has to be told its port.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static Task PauseAsync(TimeSpan duration) => Task.Delay(duration, TimeProvider.System, CancellationToken.None);

    /// <summary>Polls <paramref name="condition"/> until it holds (or fails the test after <paramref name="within"/>).</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (long)((within ?? TimeSpan.FromSeconds(10)).TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (!condition())
        {
            if (TimeProvider.System.GetTimestamp() > deadline) Assert.Fail($"timed out waiting for {what}");
            await PauseAsync(TimeSpan.FromMilliseconds(20));
        }
    }
}

/// <summary>
/// peers/smtp-test-server.mjs (npm smtp-server with scripted faults) on 127.0.0.1 and a port of its choosing; every
/// event it reports (connections, commands, authentications, messages) is kept in <see cref="Events"/>.
/// </summary>
public sealed class ScriptSmtpServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<JsonObject> _events = new();
    private readonly TaskCompletionSource<int> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _stdout;
    private readonly Task<string> _stderr;

    private ScriptSmtpServer(Process process)
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
            _listening.TrySetException(new InvalidOperationException("smtp-test-server.mjs exited before listening"));
        });
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public int Port { get; private set; }

    public IReadOnlyList<JsonObject> Events => [.. _events];

    public IReadOnlyList<JsonObject> Of(string kind) => Events.Where(e => (string?)e["event"] == kind).ToList();

    /// <summary>Connections the server accepted.</summary>
    public int Connections => Of("connect").Count;

    /// <summary>Verbs of the commands received, in order (per connection when <paramref name="connection"/> is given).</summary>
    public IReadOnlyList<string> Verbs(string? connection = null) =>
        Of("command").Where(e => connection is null || (string?)e["id"] == connection).Select(e => (string)e["verb"]!).ToList();

    public IReadOnlyList<JsonObject> Messages => Of("message");

    /// <summary>
    /// Waits until no event has come for 50 ms. The server reports an event before it answers the client, but its
    /// line may still be in the pipe when the client has the answer: call this before asserting on events.
    /// </summary>
    public async Task SettledAsync()
    {
        // Quiet for 200 ms: under load (test projects run in parallel on 2 cores) a line can sit in the pipe longer than
        // 50 ms, and a too-short quiet window made assertions on event counts flaky.
        var seen = -1;
        while (_events.Count != seen)
        {
            seen = _events.Count;
            await Peers.PauseAsync(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <param name="config">Settings for the script (see its header), serialised as JSON.</param>
    public static async Task<ScriptSmtpServer> StartAsync(object? config = null)
    {
        Peers.Require("smtp-server");
        var start = new ProcessStartInfo("node", ["smtp-test-server.mjs", JsonSerializer.Serialize(config ?? new { })])
        {
            WorkingDirectory = Peers.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var server = new ScriptSmtpServer(Process.Start(start)!);
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

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        await _stdout;
        await _stderr;
        _process.Dispose();
    }
}

/// <summary>maildev 2.2.1 on 127.0.0.1 (SMTP and web), storing mail in a temp directory; read back through its REST API.</summary>
public sealed class MailDev : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _directory;
    private readonly HttpClient _http;

    private MailDev(Process process, TempDirectory directory, int smtpPort, int webPort)
    {
        _process = process;
        _directory = directory;
        SmtpPort = smtpPort;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{webPort}/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public int SmtpPort { get; }

    public static async Task<MailDev> StartAsync()
    {
        Peers.Require("maildev");
        var directory = new TempDirectory("maildev");
        var (smtp, web) = (Peers.FreePort(), Peers.FreePort());
        var start = new ProcessStartInfo("node", [
            "node_modules/maildev/bin/maildev", "--smtp", $"{smtp}", "--web", $"{web}", "--ip", "127.0.0.1", "--web-ip", "127.0.0.1",
            "--mail-directory", directory.Path, "--silent",
        ])
        {
            WorkingDirectory = Peers.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        var maildev = new MailDev(process, directory, smtp, web);
        try
        {
            await Peers.EventuallyAsync(() => maildev.IsUp(), "maildev to listen", TimeSpan.FromSeconds(30));
        }
        catch
        {
            await maildev.DisposeAsync();
            throw;
        }
        return maildev;
    }

    private bool IsUp()
    {
        if (_process.HasExited) Assert.Fail($"maildev exited ({_process.ExitCode})");
        try
        {
            using var probe = new TcpClient();
            probe.Connect(IPAddress.Loopback, SmtpPort);
            return _http.GetAsync("email").GetAwaiter().GetResult().IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is SocketException or HttpRequestException)
        {
            return false;
        }
    }

    /// <summary><c>GET /email</c>: every e-mail received, parsed by maildev.</summary>
    public async Task<JsonArray> EmailsAsync() => (JsonArray)JsonNode.Parse(await _http.GetStringAsync("email"))!;

    /// <summary>The one e-mail whose Message-ID header is <paramref name="messageId"/>, waiting for it to arrive.</summary>
    public async Task<JsonObject> EmailAsync(string messageId)
    {
        JsonObject? found = null;
        for (var i = 0; i < 250 && found is null; i++)
        {
            found = (await EmailsAsync()).OfType<JsonObject>().SingleOrDefault(e => (string?)e["messageId"] == messageId || (string?)e["headers"]?["message-id"] == messageId);
            if (found is null) await Peers.PauseAsync(TimeSpan.FromMilliseconds(20));
        }
        Assert.True(found is not null, $"maildev has no e-mail {messageId}");
        return (JsonObject)JsonNode.Parse(await _http.GetStringAsync($"email/{(string)found!["id"]!}"))!;
    }

    /// <summary><c>GET /email/:id/source</c>: the raw MIME as received.</summary>
    public async Task<byte[]> SourceAsync(string id) => await _http.GetByteArrayAsync($"email/{id}/source");

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _directory.Dispose();
    }
}

/// <summary>A self-signed certificate for 127.0.0.1 and localhost, as PEM files for the Node server, trusted by thumbprint.</summary>
public sealed class TestCertificate : IDisposable
{
    private readonly TempDirectory _directory = new("smtp-cert");

    public TestCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=chuda smtp test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        Thumbprint = certificate.Thumbprint;
        CertPath = Path.Combine(_directory.Path, "cert.pem");
        KeyPath = Path.Combine(_directory.Path, "key.pem");
        File.WriteAllText(CertPath, certificate.ExportCertificatePem());
        File.WriteAllText(KeyPath, key.ExportPkcs8PrivateKeyPem());
    }

    public string Thumbprint { get; }

    public string CertPath { get; }

    public string KeyPath { get; }

    /// <summary>Accepts this certificate and no other (whatever the chain says: it is self-signed).</summary>
    public RemoteCertificateValidationCallback Pinned => (_, certificate, _, _) =>
        certificate is not null && string.Equals(certificate.GetCertHashString(), Thumbprint, StringComparison.OrdinalIgnoreCase);

    public void Dispose() => _directory.Dispose();
}

/// <summary>Keeps every log entry (event id and message) for assertions.</summary>
public sealed class ListLogger<T> : Microsoft.Extensions.Logging.ILogger<T>
{
    private readonly ConcurrentQueue<(int EventId, string Message)> _entries = new();

    public IReadOnlyList<(int EventId, string Message)> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((eventId.Id, formatter(state, exception)));
}

/// <summary>
/// A hand-scripted SMTP peer on 127.0.0.1 for misbehaviour no real server shows (bytes injected after STARTTLS,
/// malformed replies): it sends <c>greeting</c>, then answers each command line with <see cref="Respond"/> (null closes).
/// </summary>
public sealed class RawSmtpPeer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<string> _received = new();
    private readonly Task _run;

    public RawSmtpPeer(string greeting, Func<string, string?> respond)
    {
        _listener.Start();
        _run = Task.Run(async () =>
        {
            using var client = await _listener.AcceptTcpClientAsync();
            await using var stream = client.GetStream();
            using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(greeting));
            while (await reader.ReadLineAsync() is { } line)
            {
                _received.Enqueue(line);
                if (respond(line) is not { } reply) break;
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(reply));
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public IReadOnlyList<string> Received => [.. _received];

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }
        _listener.Dispose();
    }
}
