using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Domain.Delivery;
using Chuda.Domain.Profiles;
using Chuda.Engine.Delivery;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.Extensions.Logging;

namespace Chuda.Bench;

/// <summary>
/// Scenario <c>delivery</c> (issue 5).
/// (a) policy: the whole pipeline up to the provider call as the pure <see cref="DeliveryPolicy"/> — consent, suppression,
/// cool-down, quiet hours, three frequency caps, de-duplication and routing over a 20-entry ledger — decisions/s on one
/// core and on all; the ceiling is the same loop returning a constant.
/// (b) pipeline: N queued messages through the real dispatcher (recipients loaded from the store, decisions and outcomes
/// committed, templates rendered) to the chosen sink: messages/s.
/// (c) smtp: e-mail through the SMTP provider with connection reuse to a local SMTP sink, and a bare single-connection
/// SMTP client loop against the same sink in the same run (the ceiling).
/// (d) priority: a marketing broadcast of N messages is draining while transactional sends arrive at a steady rate;
/// the latency from the send call to the provider's accept (p50/p95/p99).
/// </summary>
public static class Delivery
{
    private const string Template = """
        {"name":"Bench","defaultLocale":"en","locales":{"en":{
          "email":{"subject":"Hello {{profile.first_name}}","html":"<p>Hi {{profile.first_name}}, your cart has {{event.count}} items. <a href=\"https://shop.example/cart\">Open</a></p>"},
          "sms":{"text":"Hi {{profile.first_name}}, {{event.count}} items"},
          "push":{"title":"Hi","body":"{{event.count}} items"}}}}
        """;

    public static async Task<int> RunAsync(Args args)
    {
        var kind = args.Get("store", "sqlite");
        var part = args.Get("part", "all");
        var decisions = args.Int("decisions", 1_000_000);
        var messages = args.Int("messages", 20_000);
        var broadcast = args.Int("broadcast", 100_000);
        if (part is not ("all" or "policy" or "pipeline" or "smtp" or "priority")) throw new ArgumentException("--part is policy, pipeline, smtp, priority or all.");
        Report.Line($"delivery: store={kind} part={part} decisions={decisions} messages={messages} broadcast={broadcast}");
        if (part is "all" or "policy") Policy(kind, decisions);
        if (part is "all" or "pipeline") await PipelineAsync(kind, args, messages);
        if (part is "all" or "smtp") await SmtpAsync(kind, args, messages);
        if (part is "all" or "priority") await PriorityAsync(kind, args, broadcast);
        return 0;
    }

    // ---- (a) the pure policy ------------------------------------------------------------------------

    private static void Policy(string kind, int count)
    {
        var settings = DeliverySettings.Default with
        {
            Caps = [new FrequencyCap(5, CapPeriod.CalendarDay, null, null), new FrequencyCap(2, CapPeriod.RollingDay, "sms", null),
                new FrequencyCap(10, CapPeriod.RollingWeek, null, "newsletter")],
            CoolDown = CoolDownSettings.Default with { IgnoredInARow = 8 },
        };
        var now = new DateTimeOffset(2026, 3, 2, 4, 0, 0, TimeSpan.Zero); // noon in Shanghai: outside quiet hours
        var zones = new[] { "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Asia/Tokyo" };
        const int people = 10_000;
        var recipients = new RecipientState[people];
        var messages = new OutboundMessage[people];
        var random = new Random(42);
        for (var i = 0; i < people; i++)
        {
            var ledger = new List<LedgerEntry>();
            for (var j = 0; j < 20; j++)
            {
                ledger.Add(new LedgerEntry(j + 1, now - TimeSpan.FromHours(20 - j) * 7, j % 3 == 0 ? "sms" : "email", j % 4 == 0 ? "newsletter" : "marketing",
                    Lane.Marketing, "k" + (j % 7).ToString(CultureInfo.InvariantCulture), j % 5 == 0));
            }
            recipients[i] = new RecipientState
            {
                ProfileId = i,
                UserId = "u" + i.ToString(CultureInfo.InvariantCulture),
                TimeZone = zones[i % zones.Length],
                Addresses = new Dictionary<string, string> { ["email"] = $"u{i}@example.com", ["sms"] = "+861380000" + (i % 10_000).ToString("0000", CultureInfo.InvariantCulture), ["in_app"] = "u" + i },
                Subscriptions = i % 10 == 0 ? [new Subscription(1, i, "newsletter", "email", SubscriptionState.Unsubscribed, "bench", now)] : [],
                SuppressedAddresses = i % 50 == 0 ? new Dictionary<string, string> { [$"email:u{i}@example.com"] = "hard_bounce" } : new Dictionary<string, string>(),
                Ledger = ledger,
            };
            messages[i] = new OutboundMessage(1, 1_000_000 + i, "k" + i, i, null, "journey", 1, "s", "bench", null, random.Next(3) == 0 ? "newsletter" : "marketing",
                Lane.Marketing, ["push", "email", "sms"], 0, null, null, null, "dk" + (i % 13).ToString(CultureInfo.InvariantCulture), null, null, null, null,
                null, "{}", null, MessageStatuses.Queued, now, 0, null, now, null, null, null, null, null, null, null, null, null, null);
        }

        // Warm up, then one core.
        var routed = 0;
        for (var i = 0; i < people; i++) routed += DeliveryPolicy.Decide(messages[i], recipients[i], settings, "Asia/Shanghai", now).Kind == DecisionKind.Route ? 1 : 0;
        var ts = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var k = i % people;
            if (DeliveryPolicy.Decide(messages[k], recipients[k], settings, "Asia/Shanghai", now).Kind == DecisionKind.Route) routed++;
        }
        var one = count / Stopwatch.GetElapsedTime(ts).TotalSeconds;

        // The ceiling: the same loop over the same data with a constant "decision".
        ts = Stopwatch.GetTimestamp();
        var sink = 0L;
        for (var i = 0; i < count; i++)
        {
            var k = i % people;
            sink += messages[k].Id + recipients[k].Ledger.Count;
        }
        var loop = count / Stopwatch.GetElapsedTime(ts).TotalSeconds;

        ts = Stopwatch.GetTimestamp();
        var cores = Environment.ProcessorCount;
        Parallel.For(0, cores, c =>
        {
            for (var i = c; i < count; i += cores)
            {
                var k = i % people;
                _ = DeliveryPolicy.Decide(messages[k], recipients[k], settings, "Asia/Shanghai", now);
            }
        });
        var all = count / Stopwatch.GetElapsedTime(ts).TotalSeconds;
        Report.Line($"  policy: {Report.F(one)} decisions/s on one core, {Report.F(all)}/s on {cores} cores ({routed} routed; loop ceiling {Report.F(loop)}/s, {sink % 7})");
        Report.Result("delivery", kind, "policy_decisions_per_s_one_core", one, "decisions/s", loop, ">= 100000/s", one >= 100_000);
        Report.Result("delivery", kind, "policy_decisions_per_s_all_cores", all, "decisions/s");
    }

    // ---- the engine ------------------------------------------------------------------------------

    /// <summary>A provider wrapper that records when each message was accepted.</summary>
    private sealed class TimingFactory(IProviderFactory inner) : IProviderFactory
    {
        public ConcurrentDictionary<string, long> Accepted { get; } = new();

        public string Kind => inner.Kind;

        public IReadOnlyList<string> Channels => inner.Channels;

        public IReadOnlyList<string> SecretFields => inner.SecretFields;

        public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config) => inner.Validate(config);

        public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports) => new Timing(this, inner.Create(id, channel, config, reports));

        private sealed class Timing(TimingFactory factory, IChannelProvider inner) : IChannelProvider
        {
            public string Id => inner.Id;

            public string Channel => inner.Channel;

            public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
            {
                var result = await inner.SendAsync(message, cancellationToken);
                factory.Accepted[message.MessageId] = Stopwatch.GetTimestamp();
                return result;
            }

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    /// <summary>A sink provider that accepts at once (the pipeline's own cost, without a network peer).</summary>
    private sealed class NullSinkFactory : IProviderFactory
    {
        public string Kind => "null";

        public IReadOnlyList<string> Channels { get; } = ["email", "sms", "push"];

        public IReadOnlyList<string> SecretFields { get; } = [];

        public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config) => [];

        public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports) => new Sink(id, channel);

        private sealed class Sink(string id, string channel) : IChannelProvider
        {
            public string Id { get; } = id;

            public string Channel { get; } = channel;

            public Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken) =>
                Task.FromResult(new ProviderResult(ProviderOutcome.Accepted, "ok", "n-" + message.MessageId));

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    private sealed class Engine : IAsyncDisposable
    {
        public required ILoggerFactory Logs { get; init; }
        public required IChudaStore Store { get; init; }
        public required DeliveryCatalog Catalog { get; init; }
        public required DeliveryDispatcher Dispatcher { get; init; }
        public required DeliveryService Service { get; init; }
        public required TimingFactory Timing { get; init; }
        public required long Workspace { get; init; }

        public static async Task<Engine> StartAsync(BenchDatabase db, IProviderFactory sink, DeliveryOptions? options = null)
        {
            var store = await StoreFactory.OpenAsync(new StoreOptions(db.ChudaStore, db.Directory), CancellationToken.None);
            await store.MigrateAsync(CancellationToken.None);
            var directory = new WorkspaceDirectory(store, TimeProvider.System, new Chuda.Engine.EngineOptions());
            await directory.BootstrapAsync(Pipeline.WriteKey, Pipeline.AdminKey, CancellationToken.None);
            var ws = (await directory.FindAsync(WorkspaceDirectory.DefaultWorkspace, CancellationToken.None))!;
            var logs = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
            options ??= new DeliveryOptions(); // the server's defaults
            var timing = new TimingFactory(sink);
            var catalog = new DeliveryCatalog(store, TimeProvider.System, options, [timing]);
            var composer = new MessageComposer(store, options);
            var dispatcher = new DeliveryDispatcher(store, catalog, composer, TimeProvider.System, options, logs.CreateLogger<DeliveryDispatcher>());
            var inbox = new InboxHub(dispatcher);
            var service = new DeliveryService(store, catalog, composer, dispatcher, inbox, TimeProvider.System);
            await service.SaveTemplateAsync(ws.Id, "bench", Template, null, "bench", CancellationToken.None);
            await service.SetPolicyAsync(ws.Id, JsonDocument.Parse("""{"quietHours":null}""").RootElement, "bench", CancellationToken.None);
            return new Engine { Logs = logs, Store = store, Catalog = catalog, Dispatcher = dispatcher, Service = service, Timing = timing, Workspace = ws.Id };
        }

        public async ValueTask DisposeAsync()
        {
            await Dispatcher.StopAsync(CancellationToken.None);
            Dispatcher.Dispose();
            await Catalog.DisposeAsync();
            await Store.DisposeAsync();
            Logs.Dispose();
        }
    }

    /// <summary>N profiles with a first name and an e-mail, and one queued marketing message each, straight through the store.</summary>
    private static async Task SeedAsync(Engine e, int count, string category, string channel, int offset = 0)
    {
        var now = TimeProvider.System.GetUtcNow();
        const int chunk = 10_000;
        for (var start = 0; start < count; start += chunk)
        {
            var n = Math.Min(chunk, count - start);
            var profiles = new List<ProfileRecord>(n);
            long first;
            await using (var tx = await e.Store.BeginAsync(CancellationToken.None))
            {
                first = await tx.ReserveProfileIdsAsync(n, CancellationToken.None);
                for (var i = 0; i < n; i++)
                {
                    var k = offset + start + i;
                    var userId = "bench-" + k.ToString(CultureInfo.InvariantCulture);
                    profiles.Add(new ProfileRecord(e.Workspace, first + i, userId, StableHash.RoutingHash(e.Workspace, "u:" + userId),
                        $$"""{"first_name":"P{{k}}","email":"bench{{k}}@example.com"}""", [], "Asia/Shanghai", null, false, now, now, 1));
                }
                await tx.UpsertProfilesAsync(profiles, CancellationToken.None);
                await tx.CommitAsync(CancellationToken.None);
            }
            var batch = profiles.Select(p => new OutboundMessage(e.Workspace, 0, "b-" + category + "-" + p.Id.ToString(CultureInfo.InvariantCulture), p.Id, null,
                "journey", null, "s", "bench", null, category, Categories.IsTransactional(category) ? Lane.Transactional : Lane.Marketing, [channel], 0, null,
                null, null, null, null, null, null, null, null, """{"event":{"count":3}}""", null, MessageStatuses.Queued, now, 0, null, now, null, null,
                null, null, null, null, null, null, null, null)).ToList();
            await e.Store.InsertMessagesAsync(batch, CancellationToken.None);
        }
    }

    private static async Task WaitDrainedAsync(Engine e, int expected, TimeSpan limit)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < limit)
        {
            if (e.Timing.Accepted.Count >= expected && await e.Store.GetNextMessageDueAsync(CancellationToken.None) is null) return;
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System, CancellationToken.None);
        }
        throw new TimeoutException($"Only {e.Timing.Accepted.Count} of {expected} messages were sent within {limit}.");
    }

    private static async Task ProviderAsync(Engine e, string kind, string channel, string config) =>
        await e.Service.SaveProviderAsync(e.Workspace, kind + "-" + channel, channel, kind, 0, true, JsonDocument.Parse(config).RootElement.Clone(), "bench",
            CancellationToken.None);

    // ---- (b) the pipeline ----------------------------------------------------------------------------

    private static async Task PipelineAsync(string kind, Args args, int count)
    {
        await using var db = await BenchDatabase.CreateAsync(kind, args, "dpipe");
        await using var e = await Engine.StartAsync(db, new NullSinkFactory());
        await ProviderAsync(e, "null", "email", "{}");
        await SeedAsync(e, count, Categories.Marketing, "email");
        var ts = Stopwatch.GetTimestamp();
        await e.Dispatcher.StartAsync(CancellationToken.None);
        await WaitDrainedAsync(e, count, TimeSpan.FromMinutes(30));
        var rate = count / Stopwatch.GetElapsedTime(ts).TotalSeconds;
        Report.Line($"  pipeline: {Report.F(count)} marketing e-mails decided, rendered, 'sent' to a null sink and recorded: {Report.F(rate)} messages/s");
        Report.Result("delivery", kind, "pipeline_messages_per_s", rate, "messages/s");
    }

    // ---- (c) SMTP ------------------------------------------------------------------------------------

    /// <summary>The npm smtp-server script in sink mode (accepts and discards), on loopback; its port.</summary>
    private static async Task<(Process Process, int Port)> StartSinkAsync()
    {
        var peers = Path.Combine(RepositoryRoot(), "tests", "Chuda.Channels.Tests", "peers");
        if (!Directory.Exists(Path.Combine(peers, "node_modules", "smtp-server")))
            throw new InvalidOperationException($"npm packages missing in {peers}: run ./test.sh once (npm ci).");
        var start = new ProcessStartInfo("node", ["smtp-test-server.mjs", """{"sink":true}"""])
        {
            WorkingDirectory = peers,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        _ = process.StandardError.ReadToEndAsync();
        var line = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the SMTP sink did not start");
        using var doc = JsonDocument.Parse(line);
        return (process, doc.RootElement.GetProperty("port").GetInt32());
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Chuda.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }

    private static async Task SmtpAsync(string kind, Args args, int count)
    {
        var (sink, port) = await StartSinkAsync();
        try
        {
            // The ceiling: one connection, one pre-rendered message, MAIL/RCPT/DATA/RSET in a loop, nothing recorded.
            var mime = Chuda.Channels.Email.MimeWriter.Write(new Chuda.Channels.Email.EmailMessage
            {
                From = new("shop@example.com", "Shop"),
                To = new("bench0@example.com"),
                Subject = "Hello P0",
                Html = "<p>Hi P0, your cart has 3 items. <a href=\"https://shop.example/cart\">Open</a></p>",
                Text = "Hi P0, your cart has 3 items.",
                MessageId = "bench.0",
            }, "example.com", TimeProvider.System);
            var ts = Stopwatch.GetTimestamp();
            var accepted = await Chuda.Channels.Email.SmtpBareLoop.RunAsync("127.0.0.1", port, count, mime, CancellationToken.None);
            var bare = accepted / Stopwatch.GetElapsedTime(ts).TotalSeconds;

            await using var db = await BenchDatabase.CreateAsync(kind, args, "dsmtp");
            await using var e = await Engine.StartAsync(db, new SmtpProviderFactory(TimeProvider.System));
            await ProviderAsync(e, "smtp", "email", $$"""
                {"host":"127.0.0.1","port":{{port}},"startTls":"none","from":"Shop <shop@example.com>","maxConnections":{{args.Int("smtp-connections", 4)}},
                 "maxMessagesPerConnection":100000}
                """);
            await SeedAsync(e, count, Categories.Marketing, "email");
            ts = Stopwatch.GetTimestamp();
            await e.Dispatcher.StartAsync(CancellationToken.None);
            await WaitDrainedAsync(e, count, TimeSpan.FromMinutes(30));
            var rate = count / Stopwatch.GetElapsedTime(ts).TotalSeconds;
            Report.Line($"  smtp: {Report.F(count)} marketing e-mails through the pipeline and the SMTP provider: {Report.F(rate)} messages/s; " +
                $"bare SMTP client loop against the same sink: {Report.F(bare)}/s (ratio {rate / bare:0.00})");
            Report.Result("delivery", kind, "smtp_messages_per_s", rate, "messages/s", bare, ">= 2000/s", rate >= 2000);
        }
        finally
        {
            sink.Kill();
            await sink.WaitForExitAsync();
            sink.Dispose();
        }
    }

    // ---- (d) transactional latency while a broadcast drains ------------------------------------------

    private static async Task PriorityAsync(string kind, Args args, int broadcast)
    {
        await using var db = await BenchDatabase.CreateAsync(kind, args, "dprio");
        await using var e = await Engine.StartAsync(db, new NullSinkFactory());
        await ProviderAsync(e, "null", "email", "{}");
        await ProviderAsync(e, "null", "sms", "{}");
        var ts = Stopwatch.GetTimestamp();
        await SeedAsync(e, broadcast, Categories.Marketing, "email");
        Report.Line($"  priority: seeded {Report.F(broadcast)} queued marketing e-mails in {Stopwatch.GetElapsedTime(ts).TotalSeconds:0.0} s");
        // Order confirmations to raw addresses (seeded profiles carry their e-mail as a trait, not an identity).
        var userIds = Enumerable.Range(0, 500).Select(i => "order" + i.ToString(CultureInfo.InvariantCulture) + "@example.com").ToList();

        await e.Dispatcher.StartAsync(CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System, CancellationToken.None); // the broadcast is draining
        var latencies = new List<double>();
        var sentAt = new Dictionary<string, long>();
        var rate = args.Int("transactional-rate", 50);
        var pause = TimeSpan.FromSeconds(1.0 / rate);
        foreach (var user in userIds)
        {
            if (e.Timing.Accepted.Count >= broadcast) break;
            var start = Stopwatch.GetTimestamp();
            var (m, _) = await e.Service.SendAsync(e.Workspace, new SendCommand(null, user, null, "bench", null, """{"event":{"count":1}}""", ["email"],
                Categories.Transactional, null, null, null, null, null, null), null, CancellationToken.None);
            sentAt[m.PublicId] = start;
            await Task.Delay(pause, TimeProvider.System, CancellationToken.None);
        }
        var backlogLeft = broadcast - e.Timing.Accepted.Count(kv => !sentAt.ContainsKey(kv.Key));
        var wait = Stopwatch.StartNew();
        while (sentAt.Keys.Any(k => !e.Timing.Accepted.ContainsKey(k)) && wait.Elapsed < TimeSpan.FromMinutes(5))
            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System, CancellationToken.None);
        foreach (var (id, start) in sentAt)
        {
            if (e.Timing.Accepted.TryGetValue(id, out var done)) latencies.Add(Stopwatch.GetElapsedTime(start, done).TotalMilliseconds);
        }
        latencies.Sort();
        Report.Line($"  priority: {latencies.Count} transactional sends at {rate}/s while the broadcast drained ({Report.F(backlogLeft)} marketing left when the last was sent): " +
            $"send → provider accept p50 {Report.Percentile(latencies, 50):0.0} ms, p95 {Report.Percentile(latencies, 95):0.0} ms, p99 {Report.Percentile(latencies, 99):0.0} ms");
        Report.Result("delivery", kind, "transactional_accept_p95_ms", Report.Percentile(latencies, 95), "ms", null, "<= 50 ms", Report.Percentile(latencies, 95) <= 50);
        Report.Result("delivery", kind, "transactional_accept_p50_ms", Report.Percentile(latencies, 50), "ms");
        await WaitDrainedAsync(e, broadcast + latencies.Count, TimeSpan.FromMinutes(30));
    }
}
