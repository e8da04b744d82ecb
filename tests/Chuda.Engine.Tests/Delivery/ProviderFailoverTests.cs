using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Domain.Delivery;
using Chuda.Domain.Profiles;
using Chuda.Domain.Templates;
using Chuda.Engine.Delivery;
using Chuda.Testing;

namespace Chuda.Engine.Tests.Delivery;

/// <summary>Several providers per channel: failover on provider-level failures, circuit breakers, recipient kinds, rate and
/// concurrency limits, health counters; receipts and inbound STOP/TD through the report queue; dead push tokens.</summary>
public sealed class ProviderFailoverTests
{
    /// <summary>Monday 2 March 2026, 02:00 UTC = 10:00 in Shanghai (outside quiet hours).</summary>
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 2, 0, 0, TimeSpan.Zero);

    private static readonly CancellationToken Ct = CancellationToken.None;

    private const string Template = """
        {"name":"Hello","defaultLocale":"en","locales":{"en":{
          "email":{"subject":"Hi","text":"Hi {{profile.first_name}}"},
          "sms":{"text":"Hi {{profile.first_name}}"},
          "push":{"title":"Hi","body":"Hello {{profile.first_name}}"},
          "voice":{"text":"Your code is 1234","language":"en-US"}}}}
        """;

    private static async Task<SegmentHarness> StartAsync(TempDirectory dir)
    {
        var h = await SegmentHarness.StartAsync(dir.Path, new FakeTimeProvider(T0), durable: false);
        h.RunDelivery = true;
        await h.Delivery.SaveTemplateAsync(h.Workspace.Id, "hello", Template, null, "tester", Ct);
        return h;
    }

    private static async Task ProviderAsync(SegmentHarness h, string id, string channel, int priority, string config = "{}", double? rate = null,
        int? concurrency = null)
    {
        using var doc = JsonDocument.Parse(config);
        await h.Delivery.SaveProviderAsync(h.Workspace.Id, id, channel, "test", priority, true, doc.RootElement.Clone(), "tester", Ct, rate, concurrency);
    }

    private static async Task<string> PersonAsync(SegmentHarness h, string userId, string phone, string? pushToken = null)
    {
        await h.SendAsync($$$"""
            {"type":"identify","userId":"{{{userId}}}","traits":{"first_name":"Li","email":"{{{userId}}}@example.com","phone":"{{{phone}}}"},
             "context":{"timezone":"Asia/Shanghai"{{{(pushToken is null ? "" : $$$""","device":{"token":"{{{pushToken}}}","type":"ios"}""")}}}}}
            """);
        return userId;
    }

    private static async Task<OutboundMessage> SendAsync(SegmentHarness h, string userId, string[] channels, string category = "marketing",
        FallbackRule? fallback = null)
    {
        var (m, _) = await h.Delivery.SendAsync(h.Workspace.Id, new SendCommand(userId, null, null, "hello", null, "{}", channels, category, null, null, null, null,
            null, fallback), null, Ct);
        return m;
    }

    private static async Task<OutboundMessage> MessageAsync(SegmentHarness h, OutboundMessage m) => (await h.Store.GetMessageAsync(h.Workspace.Id, m.Id, Ct))!;

    private static async Task<List<string>> TimelineAsync(SegmentHarness h, OutboundMessage m) =>
        [.. (await h.Store.GetMessageEventsAsync(h.Workspace.Id, m.Id, Ct)).Select(e => e.Kind + ": " + e.Detail)];

    private static Task RunAsync(SegmentHarness h) => h.AdvanceToAsync(h.Time.GetUtcNow());

    private static async Task<ProviderHealth> HealthAsync(SegmentHarness h, string id) =>
        (await h.DeliveryCatalog.HealthAsync(h.Workspace.Id, Ct)).Single(x => x.Id == id);

    [Fact]
    public async Task A_down_provider_fails_over_to_the_next_at_once_and_its_circuit_opens_then_recovers()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "smpp-a", "sms", 0);
        await ProviderAsync(h, "smpp-b", "sms", 1);
        for (var i = 0; i < 6; i++) await PersonAsync(h, "u" + i, "+861380013800" + i);
        h.Recorder.Down["smpp-a"] = "connection refused";

        var first = await SendAsync(h, "u0", ["sms"]);
        await RunAsync(h);
        var m = await MessageAsync(h, first);
        Assert.Equal((MessageStatuses.Sent, "smpp-b"), (m.Status, m.Provider));
        Assert.Contains("failed_over: smpp-a is down (connection refused): sent via smpp-b", await TimelineAsync(h, first));

        // Three provider-level failures in the sampling window open smpp-a's circuit: later sends skip it without a call.
        for (var i = 1; i < 3; i++)
        {
            await SendAsync(h, "u" + i, ["sms"]);
            await RunAsync(h);
        }
        Assert.Equal("open", (await HealthAsync(h, "smpp-a")).Circuit);
        var callsToA = h.Recorder.Sent.Count(s => s.Provider == "smpp-a");
        var skipped = await SendAsync(h, "u3", ["sms"]);
        await RunAsync(h);
        Assert.Equal(callsToA, h.Recorder.Sent.Count(s => s.Provider == "smpp-a"));
        Assert.Equal("smpp-b", (await MessageAsync(h, skipped)).Provider);
        var health = await HealthAsync(h, "smpp-a");
        Assert.Equal((3L, 3L, 1L, "connection refused"), (health.Attempts, health.ProviderDown, health.Skipped, health.LastError));
        Assert.Equal(4L, (await HealthAsync(h, "smpp-b")).Accepted);

        // After the break one trial call goes to smpp-a; it is back, so it takes the traffic again.
        h.Recorder.Down.TryRemove("smpp-a", out _);
        h.Time.Advance(TimeSpan.FromSeconds(16));
        var back = await SendAsync(h, "u4", ["sms"]);
        await RunAsync(h);
        Assert.Equal("smpp-a", (await MessageAsync(h, back)).Provider);
        Assert.Equal("closed", (await HealthAsync(h, "smpp-a")).Circuit);
    }

    [Fact]
    public async Task A_replaced_provider_is_disposed_once_its_last_send_could_have_ended()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "smpp-a", "sms", 0);
        await h.DeliveryCatalog.GetAsync(h.Workspace.Id, Ct);
        Assert.Equal((1, 0), (h.Recorder.Created, h.Recorder.Disposed));

        await ProviderAsync(h, "smpp-a", "sms", 0, """{"accepts": "+86"}""");
        await h.DeliveryCatalog.GetAsync(h.Workspace.Id, Ct);
        Assert.Equal((2, 0), (h.Recorder.Created, h.Recorder.Disposed)); // the old one may still be in a send
        h.Time.Advance(h.DeliveryOptions.ProviderTimeout + TimeSpan.FromSeconds(6));
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (Volatile.Read(ref h.Recorder.Disposed) == 0) await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System, deadline.Token);
        }
        Assert.Equal(1, h.Recorder.Disposed);
        h.Time.Advance(TimeSpan.FromMinutes(5));
        await h.DeliveryCatalog.GetAsync(h.Workspace.Id, Ct);
        Assert.Equal((2, 1), (h.Recorder.Created, h.Recorder.Disposed)); // the current one is kept
    }

    [Fact]
    public async Task A_per_recipient_error_does_not_fail_over()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "smpp-a", "sms", 0);
        await ProviderAsync(h, "smpp-b", "sms", 1);
        await PersonAsync(h, "u1", "+8613800138001");
        h.Recorder.Answer("+8613800138001", new ProviderResult(ProviderOutcome.PermanentFailure, "invalid destination address", HardBounce: true));
        var m = await SendAsync(h, "u1", ["sms"]);
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Bounced, (await MessageAsync(h, m)).Status);
        Assert.DoesNotContain(h.Recorder.Sent, s => s.Provider == "smpp-b");
        Assert.Equal("closed", (await HealthAsync(h, "smpp-a")).Circuit);
    }

    [Fact]
    public async Task When_every_provider_is_down_the_message_is_retried_later()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "smpp-a", "sms", 0);
        await ProviderAsync(h, "smpp-b", "sms", 1);
        await PersonAsync(h, "u1", "+8613800138001");
        h.Recorder.Down["smpp-a"] = "bind failed";
        h.Recorder.Down["smpp-b"] = "503";
        var m = await SendAsync(h, "u1", ["sms"]);
        await RunAsync(h);
        var stored = await MessageAsync(h, m);
        Assert.Equal(MessageStatuses.Retrying, stored.Status);
        Assert.Equal("all 2 sms providers are down: smpp-a: bind failed; smpp-b: 503", stored.Reason);

        h.Recorder.Down.Clear();
        await h.RunUntilAsync(stored.DueAt!.Value);
        Assert.Equal(MessageStatuses.Sent, (await MessageAsync(h, m)).Status);
    }

    [Fact]
    public async Task Push_goes_to_the_provider_that_serves_the_token_s_platform()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "fcm", "push", 0, """{"accepts": "android:"}""");
        await ProviderAsync(h, "apns", "push", 1, """{"accepts": "ios:"}""");
        await PersonAsync(h, "u1", "+8613800138001", pushToken: "tok-ios");
        var m = await SendAsync(h, "u1", ["push"]);
        await RunAsync(h);
        Assert.Equal(("apns", MessageStatuses.Sent), ((await MessageAsync(h, m)).Provider, (await MessageAsync(h, m)).Status));
        Assert.DoesNotContain(h.Recorder.Sent, s => s.Provider == "fcm");

        // No configured provider serves web tokens: a permanent failure for this message (no failover, no circuit).
        await h.SendAsync("""{"type":"identify","userId":"u2","context":{"device":{"token":"{\"endpoint\":\"https://push.example/x\"}","type":"web"}}}""");
        var web = await SendAsync(h, "u2", ["push"], category: "transactional");
        await RunAsync(h);
        var stored = await MessageAsync(h, web);
        Assert.Equal(MessageStatuses.Failed, stored.Status);
        Assert.Contains("no configured push provider accepts 'web' addresses", stored.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dead_push_token_is_removed_from_the_profile_and_suppressed()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "apns", "push", 0);
        await PersonAsync(h, "u1", "+8613800138001", pushToken: "tok-dead");
        h.Recorder.Answer("ios:tok-dead", new ProviderResult(ProviderOutcome.PermanentFailure, "410 Unregistered", HardBounce: true));
        var m = await SendAsync(h, "u1", ["push"]);
        await RunAsync(h);
        Assert.Contains("bounced: the push token is dead: removed from the profile and suppressed", await TimelineAsync(h, m));
        var identities = await h.Store.GetIdentitiesAsync(h.Workspace.Id, await h.ProfileIdAsync("u1"), Ct);
        Assert.DoesNotContain(identities, i => i.Kind == "push:ios");
        Assert.Single(await h.Store.FindDeliverySuppressionsAsync(h.Workspace.Id, [("push", "ios:tok-dead")], Ct));
    }

    [Fact]
    public async Task A_delivery_receipt_that_overtakes_its_send_is_matched_once_the_send_is_committed()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "smpp-a", "sms", 0);
        await PersonAsync(h, "u1", "+8613800138001");
        var m = await SendAsync(h, "u1", ["sms"]);
        await h.DeliveryCatalog.GetAsync(h.Workspace.Id, Ct); // creates the provider (and its sink)

        // The receipt arrives before the send's outcome is committed: not matched yet, kept.
        await h.Recorder.Sinks["smpp-a"].ReportAsync(new ProviderReport(ProviderReportKind.Delivered, "p-" + m.PublicId, "stat:DELIVRD"), Ct);
        var early = await h.ApplyReportsAsync();
        Assert.Single(early);

        await RunAsync(h);
        Assert.True(await h.ReportWorker.ApplyAsync(early[0], Ct));
        var stored = await MessageAsync(h, m);
        Assert.Equal(MessageStatuses.Delivered, stored.Status);
        Assert.Contains("delivered: stat:DELIVRD (reported by smpp-a)", await TimelineAsync(h, m));
    }

    [Fact]
    public async Task A_failed_receipt_falls_back_to_the_next_channel_at_once()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "smpp-a", "sms", 0);
        await ProviderAsync(h, "voice-a", "voice", 0);
        await PersonAsync(h, "u1", "+8613800138001");
        var m = await SendAsync(h, "u1", ["sms", "voice"], category: "transactional");
        await RunAsync(h);
        await h.Recorder.Sinks["smpp-a"].ReportAsync(new ProviderReport(ProviderReportKind.Failed, "p-" + m.PublicId, "stat:UNDELIV err:001"), Ct);
        Assert.Empty(await h.ApplyReportsAsync());
        await RunAsync(h);

        var stored = await MessageAsync(h, m);
        Assert.Equal(("voice", MessageStatuses.Sent, "voice-a"), (stored.Channel, stored.Status, stored.Provider));
        var call = Assert.Single(h.Recorder.Sent, s => s.Provider == "voice-a").Message;
        Assert.Equal(new VoiceContent("Your code is 1234", "en-US", 1), call.Content);
        Assert.Equal("+8613800138001", call.Recipient);
        Assert.Contains("fell_back: fell back from sms to voice: sms failed: stat:UNDELIV err:001", await TimelineAsync(h, m));
    }

    [Fact]
    public async Task Voice_is_never_chosen_unless_named()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "voice-a", "voice", 0);
        await h.SendAsync("""{"type":"identify","userId":"u1","traits":{"phone":"+8613800138001"},"context":{"timezone":"Asia/Shanghai"}}""");
        var (m, _) = await h.Delivery.SendAsync(h.Workspace.Id, new SendCommand("u1", null, null, "hello", null, "{}", [], "transactional", null, null, null, null,
            null, null), null, Ct);
        await RunAsync(h);
        var stored = await MessageAsync(h, m);
        Assert.NotEqual("voice", stored.Channel); // the default order has no voice: a call is never a default
        Assert.DoesNotContain(h.Recorder.Sent, s => s.Provider == "voice-a");
    }

    [Fact]
    public async Task An_inbound_TD_unsubscribes_the_number_from_marketing_sms_and_START_subscribes_it_again()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "smpp-a", "sms", 0);
        await PersonAsync(h, "u1", "+8613800138001");
        await h.DeliveryCatalog.GetAsync(h.Workspace.Id, Ct);
        var sink = h.Recorder.Sinks["smpp-a"];

        await sink.ReportAsync(new ProviderReport(ProviderReportKind.Inbound, null, "deliver_sm", From: "+8613800138001", Text: "TD"), Ct);
        await sink.ReportAsync(new ProviderReport(ProviderReportKind.Inbound, null, "deliver_sm", From: "+8613900000000", Text: "退订"), Ct);
        await sink.ReportAsync(new ProviderReport(ProviderReportKind.Inbound, null, "deliver_sm", From: "+8613800138001", Text: "thanks!"), Ct);
        Assert.Empty(await h.ApplyReportsAsync());

        var profile = await h.ProfileIdAsync("u1");
        var subs = await h.Store.LoadSubscriptionsAsync(h.Workspace.Id, [profile], Ct);
        var sub = Assert.Single(subs);
        Assert.Equal(("marketing", "sms", SubscriptionState.Unsubscribed, "inbound sms \"TD\" via smpp-a"), (sub.Category, sub.Channel, sub.State, sub.Source));
        var marketing = await SendAsync(h, "u1", ["sms"]);
        var transactional = await SendAsync(h, "u1", ["sms"], category: "transactional");
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Dropped, (await MessageAsync(h, marketing)).Status);
        Assert.Equal(MessageStatuses.Sent, (await MessageAsync(h, transactional)).Status);
        // A number without a profile is suppressed instead.
        Assert.Single(await h.Store.FindDeliverySuppressionsAsync(h.Workspace.Id, [("phone", "+8613900000000")], Ct));

        await sink.ReportAsync(new ProviderReport(ProviderReportKind.Inbound, null, "deliver_sm", From: "+8613800138001", Text: "start"), Ct);
        await sink.ReportAsync(new ProviderReport(ProviderReportKind.Inbound, null, "deliver_sm", From: "+8613900000000", Text: "订阅"), Ct);
        await h.ApplyReportsAsync();
        Assert.Equal(SubscriptionState.Subscribed, Assert.Single(await h.Store.LoadSubscriptionsAsync(h.Workspace.Id, [profile], Ct)).State);
        Assert.Empty(await h.Store.FindDeliverySuppressionsAsync(h.Workspace.Id, [("phone", "+8613900000000")], Ct));
    }

    [Fact]
    public async Task A_rate_limit_spaces_sends_and_queues_a_burst_without_dropping_any()
    {
        var time = new FakeTimeProvider(T0);
        var gate = new RateGate(2, time);
        var waits = Enumerable.Range(0, 6).Select(_ => gate.WaitAsync(Ct).AsTask()).ToList();
        // A burst of one second's worth (2) passes at once; the rest wait for their slots, in order.
        Assert.Equal(2, waits.Count(w => w.IsCompleted));
        for (var i = 3; i <= 6; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.WhenAny(waits[i - 1], Task.Delay(TimeSpan.FromSeconds(5), TimeProvider.System));
            Assert.True(waits[i - 1].IsCompleted, $"send {i} waits for its slot");
            Assert.Equal(i, waits.Count(w => w.IsCompleted));
        }
    }

    [Fact]
    public async Task A_concurrency_limit_holds_sends_beyond_it_until_one_finishes()
    {
        var provider = new BlockingProvider();
        var record = new ProviderRecord(1, "slow", "sms", "test", 0, true, "{}", T0, MaxConcurrency: 2);
        var rt = new ProviderRuntime(record, provider, new ProviderCounters(), TimeProvider.System, new DeliveryOptions { QuickRetries = 0 });
        var message = new ProviderMessage("m_1", "k", "sms", "+8613800138001", new SmsContent("hi", "GSM-7", 1, 2), "transactional",
            new Dictionary<string, string>());
        var sends = Enumerable.Range(0, 5).Select(_ => rt.SendAsync(message, Ct)).ToList();
        await provider.WaitForAsync(2);
        await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, Ct);
        Assert.Equal(2, provider.Running);
        Assert.Equal(2, rt.Health().Busy);
        provider.Release.SetResult();
        var results = await Task.WhenAll(sends);
        Assert.All(results, r => Assert.Equal(ProviderOutcome.Accepted, r.Outcome));
        Assert.Equal(2, provider.MaxRunning);
        Assert.Equal(5L, rt.Health().Accepted);
    }

    private sealed class BlockingProvider : IChannelProvider
    {
        private int _running;

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Running => Volatile.Read(ref _running);

        public int MaxRunning { get; private set; }

        public string Id => "slow";

        public string Channel => "sms";

        public async Task WaitForAsync(int n)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (Running < n) await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System, cts.Token);
        }

        public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _running);
            lock (this) MaxRunning = Math.Max(MaxRunning, now);
            await Release.Task.WaitAsync(cancellationToken);
            Interlocked.Decrement(ref _running);
            return new ProviderResult(ProviderOutcome.Accepted, "ok", "id");
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
