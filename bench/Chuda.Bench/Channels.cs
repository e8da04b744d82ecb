using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Channels.Push;
using Chuda.Channels.Sms.Smpp;
using Chuda.Domain.Delivery;
using Chuda.Domain.Templates;
using Chuda.Engine.Delivery;

namespace Chuda.Bench;

/// <summary>
/// Scenario <c>channels</c> (issue 6).
/// (a) smpp: submit_sm throughput of the <c>smpp</c> provider (its session, window and concurrency as the dispatcher drives
/// it) to the scripted npm <c>smpp</c> SMSC on loopback, and the ceiling: a bare client loop (bind, then submit_sm with the
/// same window, nothing else) against the same server in the same run.
/// (b) webpush: RFC 8291 encryption plus a fresh VAPID ES256 signature per message on one thread (the provider caches the
/// signature per push service; this measures the worst case), and encryption alone.
/// (c) failover: two SMSCs, the primary killed (kill -9) while 16 senders stream through the dispatcher's failover path;
/// for every message started after the kill, the time until it was accepted by the secondary; p50/p95 over several kills.
/// </summary>
public static class Channels
{
    public static async Task<int> RunAsync(Args args)
    {
        var part = args.Get("part", "all");
        var messages = args.Int("messages", 20_000);
        var window = args.Int("window", 10);
        var trials = args.Int("trials", 10);
        if (part is not ("all" or "smpp" or "webpush" or "failover")) throw new ArgumentException("--part is smpp, webpush, failover or all.");
        Report.Line($"channels: part={part} messages={messages} window={window} trials={trials}");
        if (part is "all" or "smpp") await SmppAsync(messages, window);
        if (part is "all" or "webpush") WebPush(messages);
        if (part is "all" or "failover") await FailoverAsync(trials);
        return 0;
    }

    // ---- (a) SMPP ----------------------------------------------------------------------------------

    private static async Task SmppAsync(int count, int window)
    {
        await using var smsc = await Smsc.StartAsync();
        // Warm-up (JIT, the server's first bind) and the ceiling.
        await SmppBareLoop.RunAsync("127.0.0.1", smsc.Port, "chuda", "secret", 2_000, window, CancellationToken.None);
        var bare = await SmppBareLoop.RunAsync("127.0.0.1", smsc.Port, "chuda", "secret", count, window, CancellationToken.None);
        var ceiling = bare.Accepted / bare.Elapsed.TotalSeconds;

        await using var provider = (SmppProvider)new SmppProviderFactory(TimeProvider.System).Create("smpp-bench", "sms",
            Config($$"""{"host":"127.0.0.1","port":{{smsc.Port}},"systemId":"chuda","password":"secret","sourceAddress":"10690000","window":{{window}},"registeredDelivery":false}"""),
            NullReportSink.Instance);
        var content = new SmsContent("Your order 4711 has shipped", SmsSegments.Gsm7, 1, 27);
        await SendManyAsync(provider, 2_000, content, 64);
        var ts = Stopwatch.GetTimestamp();
        var accepted = await SendManyAsync(provider, count, content, 64);
        var rate = accepted / Stopwatch.GetElapsedTime(ts).TotalSeconds;
        Report.Line($"  smpp: provider {Report.F(rate)} submit_sm/s (window {window}, {accepted}/{count} accepted); bare client loop {Report.F(ceiling)}/s; ratio {rate / ceiling:0.00}");
        Report.Result("channels", "-", $"smpp_provider_submits_per_s_window_{window}", rate, "messages/s", ceiling, "≥ 5000", rate >= 5000);
    }

    private static async Task<int> SendManyAsync(IChannelProvider provider, int count, ChannelContent content, int concurrency)
    {
        var accepted = 0;
        var next = -1;
        var headers = new Dictionary<string, string>();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var id = "m_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var r = await provider.SendAsync(new ProviderMessage(id, id, "sms", "+86138" + (i % 100_000_000).ToString("00000000", System.Globalization.CultureInfo.InvariantCulture),
                    content, Categories.Marketing, headers), CancellationToken.None);
                if (r.Succeeded) Interlocked.Increment(ref accepted);
            }
        }));
        return accepted;
    }

    // ---- (b) Web Push ------------------------------------------------------------------------------

    private static void WebPush(int count)
    {
        var keys = Vapid.GenerateKeys();
        using var vapid = Vapid.ImportKeys(keys.PublicKey, keys.PrivateKey);
        using var ua = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var p = ua.ExportParameters(false);
        var p256dh = new byte[65];
        p256dh[0] = 4;
        p.Q.X!.CopyTo(p256dh, 1);
        p.Q.Y!.CopyTo(p256dh, 33);
        var auth = RandomNumberGenerator.GetBytes(16);
        var payload = Encoding.UTF8.GetBytes("""{"title":"订单已发货","body":"Your order 4711 has shipped — tap to track","url":"https://shop.example/o/4711","messageId":"m_1"}""");
        var expires = DateTimeOffset.FromUnixTimeSeconds(2_000_000_000);

        for (var i = 0; i < 500; i++) _ = WebPushEncryptor.Encrypt(payload, p256dh, auth); // warm-up
        var ts = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++) _ = WebPushEncryptor.Encrypt(payload, p256dh, auth);
        var encryptOnly = count / Stopwatch.GetElapsedTime(ts).TotalSeconds;

        ts = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            _ = WebPushEncryptor.Encrypt(payload, p256dh, auth);
            _ = Vapid.AuthorizationHeader(Vapid.CreateToken(vapid, "https://push.example.net", expires, "mailto:ops@shop.example"), keys.PublicKey);
        }
        var both = count / Stopwatch.GetElapsedTime(ts).TotalSeconds;

        // The platform's floor for any RFC 8291 sender: one fresh P-256 key pair and one ECDH agreement per message (the
        // subscriber's key imported once, outside the loop), nothing else. .NET on Linux does these through OpenSSL, which
        // validates every key it generates and every peer key it derives with.
        ua.ExportParameters(false);
        using var peer = ECDiffieHellman.Create();
        peer.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = p.Q });
        var peerKey = peer.PublicKey;
        ts = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            _ = ephemeral.ExportParameters(false);
            _ = ephemeral.DeriveRawSecretAgreement(peerKey);
        }
        var ecdh = count / Stopwatch.GetElapsedTime(ts).TotalSeconds;
        Report.Line($"  webpush: encryption + a fresh VAPID signature {Report.F(both)} messages/s on one core; encryption alone {Report.F(encryptOnly)}/s; " +
                    $"the platform's bare P-256 key generation + agreement {Report.F(ecdh)}/s (ratio {both / ecdh:0.00})");
        Report.Result("channels", "-", "webpush_encrypt_and_sign_per_s_one_core", both, "messages/s", ecdh, "≥ 5000", both >= 5000);
        Report.Result("channels", "-", "webpush_encrypt_only_per_s_one_core", encryptOnly, "messages/s");
    }

    // ---- (c) failover ------------------------------------------------------------------------------

    private static async Task FailoverAsync(int trials)
    {
        var latencies = new List<double>();
        var firsts = new List<double>();
        for (var t = 0; t < trials; t++)
        {
            var (first, each) = await FailoverTrialAsync();
            firsts.Add(first);
            latencies.AddRange(each);
            Report.Line($"  failover trial {t + 1}: first message through the secondary {first:0.0} ms after the kill; {each.Count} messages started after it, p95 {Report.Percentile([.. each.Order()], 95):0.0} ms");
        }
        latencies.Sort();
        firsts.Sort();
        var p95 = Report.Percentile(firsts, 95);
        Report.Line($"  failover: over {trials} kills, time from the primary going down to the first message accepted by the secondary: median {Report.Median(firsts):0.0} ms, p95 {p95:0.0} ms, max {firsts[^1]:0.0} ms");
        Report.Line($"  failover: the {latencies.Count} messages accepted after a kill waited (from the kill or their start, whichever is later) p50 {Report.Percentile(latencies, 50):0.0} ms, p95 {Report.Percentile(latencies, 95):0.0} ms, max {latencies[^1]:0.0} ms");
        Report.Result("channels", "-", "failover_first_message_p95_ms", p95, "ms", null, "≤ 2000", p95 <= 2000);
        Report.Result("channels", "-", "failover_message_wait_p95_ms", Report.Percentile(latencies, 95), "ms");
        Report.Result("channels", "-", "failover_message_wait_max_ms", latencies[^1], "ms");
    }

    private static async Task<(double First, List<double> Each)> FailoverTrialAsync()
    {
        await using var primary = await Smsc.StartAsync();
        await using var secondary = await Smsc.StartAsync();
        var options = new DeliveryOptions { QuickRetries = 0, ProviderTimeout = TimeSpan.FromSeconds(10) };
        var factory = new SmppProviderFactory(TimeProvider.System);
        ProviderRuntime Runtime(string id, int port, int priority)
        {
            var record = new ProviderRecord(1, id, "sms", "smpp", priority, true, "{}", DateTimeOffset.UnixEpoch);
            var provider = factory.Create(id, "sms", Config($$"""{"host":"127.0.0.1","port":{{port}},"systemId":"chuda","password":"secret","sourceAddress":"10690000","window":10,"registeredDelivery":false,"reconnectMinSeconds":0.25}"""),
                NullReportSink.Instance);
            return new ProviderRuntime(record, provider, new ProviderCounters(), TimeProvider.System, options);
        }
        var providers = new[] { Runtime("primary", primary.Port, 0), Runtime("secondary", secondary.Port, 1) };
        var content = new SmsContent("Your code is 4821", SmsSegments.Gsm7, 1, 17);
        var headers = new Dictionary<string, string>();
        var killedAt = 0L;
        var results = new System.Collections.Concurrent.ConcurrentBag<(long Started, long Done, string Provider)>();
        using var stop = new CancellationTokenSource();
        var n = 0;
        var senders = Enumerable.Range(0, 16).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref n);
                var id = "m_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var started = Stopwatch.GetTimestamp();
                var (provider, result) = await DeliveryDispatcher.SendThroughAsync(providers,
                    new ProviderMessage(id, id, "sms", "+8613800138000", content, Categories.Transactional, headers), [], CancellationToken.None);
                if (result.Succeeded) results.Add((started, Stopwatch.GetTimestamp(), provider.Id));
                // A steady stream (about 16 × 200 = 3,200 messages/s at most), not a flood.
                await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System);
            }
        }).ToList();
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        killedAt = Stopwatch.GetTimestamp();
        primary.Kill();
        await Task.Delay(TimeSpan.FromSeconds(4), TimeProvider.System);
        await stop.CancelAsync();
        await Task.WhenAll(senders);
        foreach (var p in providers) await p.Provider.DisposeAsync();

        var after = results.Where(r => r.Done > killedAt && r.Provider == "secondary").ToList();
        var first = after.Count == 0 ? double.NaN : Stopwatch.GetElapsedTime(killedAt, after.Min(r => r.Done)).TotalMilliseconds;
        // Every message accepted after the kill: how long after max(kill, its start) the secondary accepted it.
        var each = results.Where(r => r.Done > killedAt)
            .Select(r => Stopwatch.GetElapsedTime(Math.Max(killedAt, r.Started), r.Done).TotalMilliseconds).ToList();
        return (first, each);
    }

    private static JsonElement Config(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    /// <summary>The scripted npm smpp SMSC (tests/Chuda.Channels.Tests/peers/smpp-server.mjs) in quiet mode, on loopback.</summary>
    private sealed class Smsc : IAsyncDisposable
    {
        private readonly Process _process;

        private Smsc(Process process, int port)
        {
            _process = process;
            Port = port;
        }

        public int Port { get; }

        public static async Task<Smsc> StartAsync()
        {
            var peers = Path.Combine(Delivery.RepositoryRoot(), "tests", "Chuda.Channels.Tests", "peers");
            if (!Directory.Exists(Path.Combine(peers, "node_modules", "smpp")))
                throw new InvalidOperationException($"npm packages missing in {peers}: run ./test.sh once (npm ci).");
            var process = Process.Start(new ProcessStartInfo("node", ["smpp-server.mjs", """{"port":0,"quiet":true}"""])
            {
                WorkingDirectory = peers,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            _ = process.StandardError.ReadToEndAsync();
            var line = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the SMSC did not start");
            _ = process.StandardOutput.ReadToEndAsync();
            using var doc = JsonDocument.Parse(line);
            return new Smsc(process, doc.RootElement.GetProperty("port").GetInt32());
        }

        public void Kill() => _process.Kill(entireProcessTree: true);

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
