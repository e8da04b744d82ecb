using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Chuda.Channels.Providers;
using Chuda.Channels.Tests.Email;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Tests.Sms;

/// <summary>The smpp provider against peers/smpp-server.mjs (npm smpp 0.5.1) on loopback.</summary>
public sealed class SmppProviderTests
{
    private const string Recipient = "+8613800138000";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static ProviderMessage Sms(string text, string recipient = Recipient, string id = "m_1") =>
        new(id, "key-" + id, "sms", recipient, new SmsContent(text, SmsSegments.Measure(text).Encoding, SmsSegments.Measure(text).Segments,
            SmsSegments.Measure(text).Length), "transactional", new Dictionary<string, string>());

    private static SmppProvider Create(ScriptSmppServer server, IProviderReportSink? sink = null, object? config = null) =>
        (SmppProvider)new SmppProviderFactory(TimeProvider.System).Create("sms-1", "sms", server.Config(config), sink ?? NullReportSink.Instance);

    private static Task<ProviderResult> Send(IChannelProvider provider, ProviderMessage message) =>
        provider.SendAsync(message, CancellationToken.None).WaitAsync(Bound);

    [Fact(Timeout = 60_000)]
    public async Task Gsm_and_ucs2_texts_arrive_with_their_coding_and_the_smsc_message_id()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        await using var provider = Create(server, config: new { registeredDelivery = false, systemType = "chuda-sms" });
        var gsm = await Send(provider, Sms("Code 123456 @ $ _ £ ^{}\\[~]|€ ok"));
        var ucs2 = await Send(provider, Sms("您的验证码是 123456 😀", id: "m_2"));

        Assert.Equal(ProviderOutcome.Accepted, gsm.Outcome);
        Assert.Equal(ProviderOutcome.Accepted, ucs2.Outcome);
        await server.WaitForAsync(s => s.Submits.Count == 2, "two submit_sm");
        var (first, second) = (server.Submits[0], server.Submits[1]);
        Assert.Equal("Code 123456 @ $ _ £ ^{}\\[~]|€ ok", (string?)first["text"]);
        Assert.Equal(0, (int)first["dataCoding"]!);
        Assert.Equal(gsm.ProviderMessageId, (string?)first["messageId"]);
        Assert.Equal("您的验证码是 123456 😀", (string?)second["text"]);
        Assert.Equal(8, (int)second["dataCoding"]!);
        Assert.Equal(ucs2.ProviderMessageId, (string?)second["messageId"]);
        Assert.All(server.Submits, s =>
        {
            Assert.Equal("8613800138000", (string?)s["dest"]);
            Assert.Equal((1, 1), ((int)s["destTon"]!, (int)s["destNpi"]!));
            Assert.Equal("Chuda", (string?)s["source"]);
            Assert.Equal((5, 0), ((int)s["sourceTon"]!, (int)s["sourceNpi"]!));
            Assert.Equal(0, (int)s["esmClass"]!);
            Assert.Equal(0, (int)s["registeredDelivery"]!);
        });
        var bind = Assert.Single(server.Of("bind"));
        Assert.Equal((ScriptSmppServer.SystemId, "chuda-sms", true), ((string?)bind["systemId"], (string?)bind["systemType"], (bool)bind["ok"]!));
    }

    [Fact(Timeout = 60_000)]
    public async Task Long_texts_are_concatenated_parts_that_reassemble_to_the_original()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        await using var provider = Create(server, config: new { registeredDelivery = false });
        var chinese = string.Concat(Enumerable.Repeat("尊敬的客户，您的订单已发货，请注意查收。", 8)) + "😀" + "回复TD退订";
        var gsm = string.Concat(Enumerable.Repeat("Your parcel {ref} is on its way [track it] ~ 5€ | ", 7));

        var chineseResult = await Send(provider, Sms(chinese));
        var gsmResult = await Send(provider, Sms(gsm, id: "m_2"));

        Assert.Equal(ProviderOutcome.Accepted, chineseResult.Outcome);
        Assert.Equal(ProviderOutcome.Accepted, gsmResult.Outcome);
        await server.WaitForAsync(s => s.Of("message").Count == 2, "two reassembled messages");
        var messages = server.Of("message");
        Assert.Equal(chinese, (string?)messages[0]["text"]);
        Assert.Equal(8, (int)messages[0]["dataCoding"]!);
        Assert.Equal(SmsSegments.Measure(chinese).Segments, (int)messages[0]["total"]!);
        Assert.Equal(chineseResult.ProviderMessageId, (string?)messages[0]["messageIds"]![0]);
        Assert.Equal(gsm, (string?)messages[1]["text"]);
        Assert.Equal(0, (int)messages[1]["dataCoding"]!);
        Assert.Equal(SmsSegments.Measure(gsm).Segments, (int)messages[1]["total"]!);
        Assert.Equal(gsmResult.ProviderMessageId, (string?)messages[1]["messageIds"]![0]);
        Assert.NotEqual((int)messages[0]["ref"]!, (int)messages[1]["ref"]!);
        Assert.All(server.Submits, s =>
        {
            Assert.Equal(0x40, (int)s["esmClass"]!);
            var udh = Assert.Single(s["udh"]!.AsArray());
            Assert.StartsWith("0003", (string?)udh, StringComparison.Ordinal);
            Assert.Equal(10, ((string?)udh)!.Length);
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task Receipts_reach_the_sink_as_delivered_or_failed_for_the_first_parts_id()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        var sink = new RecordingSink();
        await using var provider = Create(server, sink);
        var delivered = await Send(provider, Sms(new string('x', 200)));
        var undelivered = await Send(provider, Sms("hello", "+8613900000033", "m_2"));

        Assert.Equal(ProviderOutcome.Accepted, delivered.Outcome);
        Assert.Equal(ProviderOutcome.Accepted, undelivered.Outcome);
        await Peers.EventuallyAsync(() => sink.Reports.Count >= 2, "two receipts", Bound);
        Assert.Contains(new ProviderReport(ProviderReportKind.Delivered, delivered.ProviderMessageId, "stat:DELIVRD err:000"), sink.Reports);
        Assert.Contains(new ProviderReport(ProviderReportKind.Failed, undelivered.ProviderMessageId, "stat:UNDELIV err:001"), sink.Reports);
        // Only the first part of the two-part message asked for a receipt.
        Assert.Equal([1, 0, 1], server.Submits.Select(s => (int)s["registeredDelivery"]!));
        await server.WaitForAsync(s => s.Of("deliver_sm_resp").Count == 2, "two deliver_sm_resp");
        Assert.All(server.Of("deliver_sm_resp"), r => Assert.Equal(0, (int)r["status"]!));
        await PauseAsync(TimeSpan.FromMilliseconds(300));
        Assert.Equal(2, sink.Reports.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Inbound_replies_reach_the_sink_with_the_sender_in_e164_and_the_text()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        var sink = new RecordingSink();
        await using var provider = Create(server, sink, new { registeredDelivery = false });
        foreach (var text in new[] { "TD", "STOP", "退订" })
        {
            Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms(text, "+8613900000077"))).Outcome);
        }

        await Peers.EventuallyAsync(() => sink.Reports.Count >= 3, "three inbound messages", Bound);
        Assert.Equal(["TD", "STOP", "退订"], sink.Reports.Select(r => r.Text));
        Assert.All(sink.Reports, r =>
        {
            Assert.Equal(ProviderReportKind.Inbound, r.Kind);
            Assert.Equal("+8613700000077", r.From);
            Assert.Null(r.ProviderMessageId);
        });
        await server.WaitForAsync(s => s.Of("deliver_sm_resp").Count == 3, "three deliver_sm_resp");
        Assert.All(server.Of("deliver_sm_resp"), r => Assert.Equal(0, (int)r["status"]!));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_two_part_inbound_message_reaches_the_sink_once_and_whole()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        var sink = new RecordingSink();
        await using var provider = Create(server, sink, new { registeredDelivery = false });
        // The SMSC splits it inside the emoji's surrogate pair and sends part 2 first.
        Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms("退订😀谢谢", "+8613900000078"))).Outcome);

        await server.WaitForAsync(s => s.Of("deliver_sm_resp").Count == 2, "both parts answered");
        Assert.All(server.Of("deliver_sm_resp"), r => Assert.Equal(0, (int)r["status"]!));
        var report = Assert.Single(sink.Reports);
        Assert.Equal(new ProviderReport(ProviderReportKind.Inbound, null, "deliver_sm to Chuda", "+8613700000077", "退订😀谢谢"), report);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_refused_bind_or_connection_is_the_provider_being_down()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        // A long back-off, so that the second send surely falls within it however slow the machine is.
        await using (var wrong = Create(server, config: new { password = "wrong", reconnectMinSeconds = 10 }))
        {
            var result = await Send(wrong, Sms("hello"));
            Assert.Equal((ProviderOutcome.TransientFailure, true), (result.Outcome, result.ProviderDown));
            Assert.Contains("ESME_RINVPASWD", result.Detail, StringComparison.Ordinal);
            Assert.NotNull(result.RetryAfter);
            // Within the back-off the next send fails at once, without another bind.
            var again = await Send(wrong, Sms("hello"));
            Assert.True(again.ProviderDown);
        }
        var bind = Assert.Single(server.Of("bind"));
        Assert.Equal(0x0E, (int)bind["status"]!);
        Assert.Empty(server.Submits);

        var refused = (SmppProvider)new SmppProviderFactory(TimeProvider.System).Create("sms-2", "sms", new ScriptSmppServerConfig(Peers.FreePort()).Json,
            NullReportSink.Instance);
        await using (refused)
        {
            var result = await Send(refused, Sms("hello"));
            Assert.Equal((ProviderOutcome.TransientFailure, true), (result.Outcome, result.ProviderDown));
            Assert.Contains("cannot connect", result.Detail, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Smsc_errors_map_to_per_message_outcomes_without_the_provider_being_down()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        await using var provider = Create(server);
        var invalid = await Send(provider, Sms("hello", "+8613900000011"));
        var system = await Send(provider, Sms("hello", "+8613900000008"));
        var notE164 = await Send(provider, Sms("hello", "13800138000"));

        Assert.Equal((ProviderOutcome.PermanentFailure, true, false), (invalid.Outcome, invalid.HardBounce, invalid.ProviderDown));
        Assert.Contains("ESME_RINVDSTADR", invalid.Detail, StringComparison.Ordinal);
        Assert.Equal((ProviderOutcome.TransientFailure, false, false), (system.Outcome, system.HardBounce, system.ProviderDown));
        Assert.Equal((ProviderOutcome.PermanentFailure, true), (notE164.Outcome, notE164.HardBounce));
        Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms("still fine"))).Outcome);
        Assert.Equal(3, server.Submits.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Throttling_pauses_the_whole_session_and_reports_retry_after()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        await using var provider = Create(server, config: new { throttleSeconds = 0.8, registeredDelivery = false });
        Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms("warm up"))).Outcome);

        var throttled = await Send(provider, Sms("hello", "+8613900000058"));
        var next = await Send(provider, Sms("after the pause"));
        var queueFull = await Send(provider, Sms("hello", "+8613900000014"));

        Assert.Equal((ProviderOutcome.TransientFailure, false), (throttled.Outcome, throttled.ProviderDown));
        Assert.Equal(TimeSpan.FromSeconds(0.8), throttled.RetryAfter);
        Assert.Equal(ProviderOutcome.Accepted, next.Outcome);
        // The SMSC answered the throttled submit as it arrived; the pause began when the answer came back.
        await server.WaitForAsync(s => s.Submits.Count == 4, "four submits");
        var gap = (double)server.Submits[2]["at"]! - (double)server.Submits[1]["at"]!;
        Assert.True(gap >= 790, $"the next submit came {gap} ms after the throttled one");
        Assert.Equal(ProviderOutcome.TransientFailure, queueFull.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(0.8), queueFull.RetryAfter);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_dropped_link_fails_the_sends_in_flight_as_transient_and_later_sends_succeed_after_reconnecting()
    {
        await using var server = await ScriptSmppServer.StartAsync(new { responseDelayMs = 4000 });
        await using var provider = Create(server, config: new { registeredDelivery = false, window = 10, reconnectMinSeconds = 0.1 });
        Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms("warm up"))).Outcome);

        var inFlight = Enumerable.Range(0, 8).Select(i => provider.SendAsync(Sms($"in flight {i}", id: $"m_{i}"), CancellationToken.None)).ToList();
        await server.WaitForAsync(s => s.Submits.Count == 9, "eight submits in flight");
        var dropper = provider.SendAsync(Sms("drop", "+8613900000099"), CancellationToken.None);
        var results = await Task.WhenAll(inFlight.Append(dropper)).WaitAsync(Bound);

        Assert.All(results, r => Assert.Equal((ProviderOutcome.TransientFailure, true), (r.Outcome, r.ProviderDown)));
        var after = await SendUntilAcceptedAsync(provider, Sms("after the drop"));
        Assert.Equal(ProviderOutcome.Accepted, after.Outcome);
        Assert.Equal(2, server.Of("bind").Count);
        await server.WaitForAsync(s => s.Submits.Any(x => (string?)x["text"] == "after the drop"), "the submit after the drop");
        Assert.Equal(2, (int)server.Submits.Single(x => (string?)x["text"] == "after the drop")["session"]!);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_submit_without_an_answer_times_out_as_transient_and_the_link_stays_usable()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        await using var provider = Create(server, config: new { registeredDelivery = false, responseTimeoutSeconds = 1 });
        var started = TimeProvider.System.GetTimestamp();
        var silent = await Send(provider, Sms("hello", "+8613900000098"));
        Assert.Equal((ProviderOutcome.TransientFailure, true), (silent.Outcome, silent.ProviderDown));
        Assert.Contains("no response", silent.Detail, StringComparison.Ordinal);
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
        Assert.Equal(ProviderOutcome.Accepted, (await SendUntilAcceptedAsync(provider, Sms("next"))).Outcome);
        Assert.Single(server.Of("bind"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Enquire_link_keeps_an_idle_link_open_and_the_smscs_enquire_link_is_answered()
    {
        await using var server = await ScriptSmppServer.StartAsync(new { idleTimeoutMs = 3000, serverEnquireMs = 1500 });
        await using var provider = Create(server, config: new { registeredDelivery = false, enquireLinkSeconds = 0.3 });
        Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms("first"))).Outcome);

        await server.WaitForAsync(s => s.Of("enquire_link").Count >= 5 && s.Of("enquire_link_resp").Count >= 1, "enquire_links both ways");
        await PauseAsync(TimeSpan.FromSeconds(3.2));
        Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms("second"))).Outcome);
        Assert.Empty(server.Of("idle-close"));
        Assert.Empty(server.Of("close"));
        Assert.Single(server.Of("bind"));
        await server.WaitForAsync(s => s.Submits.Count == 2, "two submits");
        Assert.All(server.Submits, s => Assert.Equal(1, (int)s["session"]!));
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_enquire_link_the_smsc_closes_the_idle_link_and_the_next_send_reconnects()
    {
        // The control for the test above: the idle timeout is real.
        await using var server = await ScriptSmppServer.StartAsync(new { idleTimeoutMs = 500 });
        await using var provider = Create(server, config: new { registeredDelivery = false, enquireLinkSeconds = 60 });
        Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms("first"))).Outcome);
        await server.WaitForAsync(s => s.Of("idle-close").Count == 1, "the idle close");
        Assert.Equal(ProviderOutcome.Accepted, (await SendUntilAcceptedAsync(provider, Sms("second"))).Outcome);
        Assert.True(server.Of("bind").Count >= 2);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unanswered_enquire_link_drops_the_dead_link_and_the_client_binds_again()
    {
        await using var server = await ScriptSmppServer.StartAsync(new { ignoreEnquireLink = true });
        await using var provider = Create(server, config: new { registeredDelivery = false, enquireLinkSeconds = 0.5, responseTimeoutSeconds = 1 });
        // On a loaded machine the link may die before the first send gets through: that send is then retried.
        Assert.Equal(ProviderOutcome.Accepted, (await SendUntilAcceptedAsync(provider, Sms("first"))).Outcome);

        // Nothing comes back for the enquire_link: the client closes the link and reconnects on its own (no send needed).
        await server.WaitForAsync(s => s.Of("close").Count >= 1 && s.Of("bind").Count >= 2, "the dead link dropped and a new bind");
        Assert.Equal(ProviderOutcome.Accepted, (await SendUntilAcceptedAsync(provider, Sms("second"))).Outcome);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unbind_from_the_smsc_is_answered_and_the_client_binds_again()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        await using var provider = Create(server, config: new { registeredDelivery = false });
        Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms("bye", "+8613900000066"))).Outcome);

        await server.WaitForAsync(s => s.Of("unbind_resp").Count == 1 && s.Of("bind").Count == 2, "unbind_resp and a new bind");
        Assert.Equal(ProviderOutcome.Accepted, (await SendUntilAcceptedAsync(provider, Sms("again"))).Outcome);
        await server.WaitForAsync(s => s.Submits.Count == 2, "two submits");
        Assert.Equal(2, (int)server.Submits[1]["session"]!);
    }

    [Fact(Timeout = 120_000)]
    public async Task Concurrent_sends_share_the_window_and_every_message_arrives_once_with_a_distinct_id()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        await using var provider = Create(server, config: new { registeredDelivery = false, window = 10 });
        var results = new ConcurrentBag<ProviderResult>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 500), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            results.Add(await provider.SendAsync(Sms($"message {i}", id: $"m_{i}"), ct)));

        Assert.All(results, r => Assert.Equal(ProviderOutcome.Accepted, r.Outcome));
        Assert.Equal(500, results.Select(r => r.ProviderMessageId).Distinct().Count());
        await server.WaitForAsync(s => s.Submits.Count >= 500, "500 submits");
        var texts = server.Submits.Select(s => (string)s["text"]!).ToList();
        Assert.Equal(500, texts.Count);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"message {i}").Order(), texts.Order());
        Assert.True(server.Submits.Max(s => (int)s["inFlight"]!) <= 10);
        Assert.Single(server.Of("bind"));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_window_bounds_the_submits_in_flight()
    {
        await using var server = await ScriptSmppServer.StartAsync(new { responseDelayMs = 200 });
        await using var provider = Create(server, config: new { registeredDelivery = false, window = 4 });
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => provider.SendAsync(Sms($"m {i}", id: $"m_{i}"), CancellationToken.None)))
            .WaitAsync(Bound);

        Assert.All(results, r => Assert.Equal(ProviderOutcome.Accepted, r.Outcome));
        var peak = server.Submits.Max(s => (int)s["inFlight"]!);
        Assert.InRange(peak, 3, 4);
    }

    [Fact(Timeout = 60_000)]
    public async Task Dispose_unbinds_and_closes()
    {
        await using var server = await ScriptSmppServer.StartAsync();
        var provider = Create(server);
        Assert.Equal(ProviderOutcome.Accepted, (await Send(provider, Sms("hello"))).Outcome);
        await provider.DisposeAsync().AsTask().WaitAsync(Bound);

        await server.WaitForAsync(s => s.Of("unbind").Count == 1 && s.Of("close").Count == 1, "unbind and close");
        var afterDispose = await Send(provider, Sms("too late"));
        Assert.Equal((ProviderOutcome.TransientFailure, true), (afterDispose.Outcome, afterDispose.ProviderDown));
    }

    private static async Task<ProviderResult> SendUntilAcceptedAsync(IChannelProvider provider, ProviderMessage message)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (long)(20 * TimeProvider.System.TimestampFrequency);
        while (true)
        {
            var result = await Send(provider, message);
            if (result.Outcome == ProviderOutcome.Accepted || TimeProvider.System.GetTimestamp() > deadline) return result;
            Assert.True(result.ProviderDown, result.Detail);
            await PauseAsync(TimeSpan.FromMilliseconds(50));
        }
    }

    private static Task PauseAsync(TimeSpan duration) => Peers.PauseAsync(duration);
}

/// <summary>A configuration for an SMSC that is not there.</summary>
internal sealed record ScriptSmppServerConfig(int Port)
{
    public System.Text.Json.JsonElement Json => System.Text.Json.JsonSerializer.SerializeToElement(new JsonObject
    {
        ["host"] = "127.0.0.1",
        ["port"] = Port,
        ["systemId"] = ScriptSmppServer.SystemId,
        ["password"] = ScriptSmppServer.Password,
        ["sourceAddress"] = "Chuda",
        ["maxConnectSeconds"] = 5,
    });
}
