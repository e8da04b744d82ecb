using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Channels.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Chuda.Domain.Delivery;
using Chuda.Engine.Delivery;
using Chuda.Testing;

namespace Chuda.Engine.Tests.Delivery;

/// <summary>The whole delivery pipeline on a real SQLite store in virtual time: journey and API sends, quiet hours across
/// DST, caps, de-duplication, digests, fallback, consent, suppression, cool-down, retries, expiry, restart recovery.</summary>
public sealed class DeliveryPipelineTests
{
    /// <summary>Monday 2 March 2026, 02:00 UTC = 10:00 in Shanghai.</summary>
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 2, 0, 0, TimeSpan.Zero);

    private const string Template = """
        {"name":"Hello","defaultLocale":"en","locales":{"en":{
          "email":{"subject":"Hi {{profile.first_name}}","html":"<p>Hi {{profile.first_name}}, see <a href=\"https://shop.example/cart\">your cart</a></p>"},
          "sms":{"text":"Hi {{profile.first_name}}"},
          "push":{"title":"Hi","body":"Hello {{profile.first_name}}"},
          "in_app":{"title":"Hi {{profile.first_name}}","body":"Welcome"}}}}
        """;

    private static async Task<SegmentHarness> StartAsync(TempDirectory dir, DateTimeOffset? start = null)
    {
        var h = await SegmentHarness.StartAsync(dir.Path, new FakeTimeProvider(start ?? T0), durable: false);
        h.RunDelivery = true;
        await h.Delivery.SaveTemplateAsync(h.Workspace.Id, "hello", Template, null, "tester", CancellationToken.None);
        return h;
    }

    private static async Task ProviderAsync(SegmentHarness h, string channel, string? id = null) =>
        await h.Delivery.SaveProviderAsync(h.Workspace.Id, id ?? "test-" + channel.Replace('_', '-'), channel, "test", 0, true, Json("{}"), "tester",
            CancellationToken.None);

    private static JsonElement Json(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static async Task PersonAsync(SegmentHarness h, string userId, string zone = "Asia/Shanghai", string extra = "")
    {
        await h.SendAsync($$$"""
            {"type":"identify","userId":"{{{userId}}}","traits":{"first_name":"Li","email":"{{{userId}}}@example.com","phone":"+86138001{{{Math.Abs(userId.GetHashCode(StringComparison.Ordinal)) % 1000:000}}}"{{{extra}}}},
             "context":{"timezone":"{{{zone}}}"}}
            """);
    }

    private static async Task<OutboundMessage> SendAsync(SegmentHarness h, string userId, string category = "marketing", string[]? channels = null,
        string? dedupKey = null, string? key = null, DateTimeOffset? expiresAt = null, FallbackRule? fallback = null)
    {
        var (m, _) = await h.Delivery.SendAsync(h.Workspace.Id, new SendCommand(userId, null, null, "hello", null, "{}", channels ?? ["email"], category,
            dedupKey, null, expiresAt, null, null, fallback), key, CancellationToken.None);
        return m;
    }

    private static async Task<OutboundMessage> MessageAsync(SegmentHarness h, OutboundMessage m) =>
        (await h.Store.GetMessageAsync(h.Workspace.Id, m.Id, CancellationToken.None))!;

    private static async Task<List<string>> TimelineAsync(SegmentHarness h, OutboundMessage m) =>
        [.. (await h.Store.GetMessageEventsAsync(h.Workspace.Id, m.Id, CancellationToken.None)).Select(e => e.Kind + ": " + e.Detail)];

    private static Task RunAsync(SegmentHarness h) => h.AdvanceToAsync(h.Time.GetUtcNow());

    [Fact]
    public async Task A_message_with_no_provider_lands_in_the_sandbox_with_its_content_and_timeline()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await PersonAsync(h, "u1");
        var m = await SendAsync(h, "u1");
        await RunAsync(h);

        var stored = await MessageAsync(h, m);
        Assert.Equal(MessageStatuses.Delivered, stored.Status);
        Assert.Equal("sandbox", stored.Provider);
        Assert.Equal("u1@example.com", stored.Recipient);
        using var content = JsonDocument.Parse(stored.ContentJson!);
        Assert.Equal("Hi Li", content.RootElement.GetProperty("subject").GetString());
        var timeline = await TimelineAsync(h, m);
        Assert.StartsWith("queued:", timeline[0], StringComparison.Ordinal);
        Assert.Contains("routed: routed to email", timeline);
        Assert.Contains(timeline, t => t.StartsWith("sent: sent on email via the sandbox", StringComparison.Ordinal));
        var sandbox = await h.Store.ListMessagesAsync(h.Workspace.Id, new MessageQuery(Provider: "sandbox"), CancellationToken.None);
        Assert.Equal(m.Id, Assert.Single(sandbox).Id);
    }

    [Fact]
    public async Task Marketing_e_mail_carries_one_click_unsubscribe_and_signed_tracking_links()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "email");
        await PersonAsync(h, "u1");
        var m = await SendAsync(h, "u1");
        var t = await SendAsync(h, "u1", category: "transactional");
        await RunAsync(h);

        var marketing = Assert.Single(h.Recorder.Sent, s => s.Message.MessageId == m.PublicId).Message;
        Assert.Equal("List-Unsubscribe=One-Click", marketing.Headers["List-Unsubscribe-Post"]);
        Assert.Matches(@"^<http://localhost:8080/u/\d+/\d+\?s=[A-Za-z0-9_-]+>$", marketing.Headers["List-Unsubscribe"]);
        var html = ((Chuda.Domain.Templates.EmailContent)marketing.Content).Html!;
        Assert.Contains("/t/c/", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"https://shop.example/cart\"", html, StringComparison.Ordinal);
        Assert.Contains("/t/o/", html, StringComparison.Ordinal);
        var transactional = Assert.Single(h.Recorder.Sent, s => s.Message.MessageId == t.PublicId).Message;
        Assert.False(transactional.Headers.ContainsKey("List-Unsubscribe"));
    }

    [Fact]
    public async Task Quiet_hours_defer_marketing_to_the_end_of_the_window_in_the_person_s_zone()
    {
        using var dir = new TempDirectory();
        // 23:30 in Shanghai.
        await using var h = await StartAsync(dir, new DateTimeOffset(2026, 3, 2, 15, 30, 0, TimeSpan.Zero));
        await ProviderAsync(h, "email");
        await PersonAsync(h, "u1");
        var m = await SendAsync(h, "u1");
        var t = await SendAsync(h, "u1", category: "transactional");
        await RunAsync(h);

        var deferred = await MessageAsync(h, m);
        Assert.Equal(MessageStatuses.Deferred, deferred.Status);
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero), deferred.DueAt); // 08:00 Shanghai
        Assert.Contains("deferred: deferred by quiet hours (22:00–08:00) to 08:00 Asia/Shanghai", await TimelineAsync(h, m));
        Assert.Equal(MessageStatuses.Sent, (await MessageAsync(h, t)).Status); // transactional is never held

        await h.RunUntilAsync(new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(MessageStatuses.Sent, (await MessageAsync(h, m)).Status);
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero), (await MessageAsync(h, m)).SentAt);
    }

    [Fact]
    public async Task Quiet_hours_end_at_local_08_00_on_the_night_New_York_falls_back()
    {
        using var dir = new TempDirectory();
        // 1 Nov 2026, 01:30 EDT (05:30 UTC); clocks fall back at 02:00 EDT, so 08:00 that morning is EST (13:00 UTC).
        await using var h = await StartAsync(dir, new DateTimeOffset(2026, 11, 1, 5, 30, 0, TimeSpan.Zero));
        await ProviderAsync(h, "email");
        await PersonAsync(h, "ny", "America/New_York");
        var m = await SendAsync(h, "ny");
        await RunAsync(h);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 13, 0, 0, TimeSpan.Zero), (await MessageAsync(h, m)).DueAt);
        await h.RunUntilAsync(new DateTimeOffset(2026, 11, 1, 12, 59, 0, TimeSpan.Zero));
        Assert.Equal(MessageStatuses.Deferred, (await MessageAsync(h, m)).Status);
        await h.RunUntilAsync(new DateTimeOffset(2026, 11, 1, 13, 0, 0, TimeSpan.Zero));
        Assert.Equal(MessageStatuses.Sent, (await MessageAsync(h, m)).Status);
    }

    [Fact]
    public async Task A_deferred_promotion_that_would_arrive_after_its_expiry_expires()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir, new DateTimeOffset(2026, 3, 2, 15, 30, 0, TimeSpan.Zero));
        await PersonAsync(h, "u1");
        var m = await SendAsync(h, "u1", expiresAt: new DateTimeOffset(2026, 3, 2, 20, 0, 0, TimeSpan.Zero));
        await RunAsync(h);
        var stored = await MessageAsync(h, m);
        Assert.Equal(MessageStatuses.Expired, stored.Status);
        Assert.Null(stored.DueAt);
    }

    [Fact]
    public async Task A_calendar_day_cap_drops_the_fourth_marketing_message_and_resets_at_local_midnight()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.Delivery.SetPolicyAsync(h.Workspace.Id, Json("""{"frequencyCaps":[{"limit":3,"period":"calendar_day"}]}"""), "t", CancellationToken.None);
        await ProviderAsync(h, "email");
        await PersonAsync(h, "u1");
        await PersonAsync(h, "vip", extra: "");
        var sent = new List<OutboundMessage>();
        for (var i = 0; i < 4; i++) sent.Add(await SendAsync(h, "u1"));
        var t = await SendAsync(h, "u1", category: "transactional");
        await RunAsync(h);

        Assert.Equal(3, (await Task.WhenAll(sent.Select(m => MessageAsync(h, m)))).Count(m => m.Status == MessageStatuses.Sent));
        var dropped = await MessageAsync(h, sent[3]);
        Assert.Equal(MessageStatuses.Dropped, dropped.Status);
        Assert.Equal("dropped: cap 3/day reached", dropped.Reason);
        Assert.Equal(MessageStatuses.Sent, (await MessageAsync(h, t)).Status);

        // 23:59 Shanghai the same day: still capped; 00:00 the next local day: allowed.
        h.Time.SetUtcNow(new DateTimeOffset(2026, 3, 2, 15, 59, 0, TimeSpan.Zero));
        await h.Delivery.SetPolicyAsync(h.Workspace.Id, Json("""{"quietHours":null,"frequencyCaps":[{"limit":3,"period":"calendar_day"}]}"""), "t",
            CancellationToken.None);
        var late = await SendAsync(h, "u1");
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Dropped, (await MessageAsync(h, late)).Status);
        h.Time.SetUtcNow(new DateTimeOffset(2026, 3, 2, 16, 0, 0, TimeSpan.Zero));
        var next = await SendAsync(h, "u1");
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Sent, (await MessageAsync(h, next)).Status);
    }

    [Fact]
    public async Task The_cap_allow_list_bypasses_caps()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.Delivery.SetPolicyAsync(h.Workspace.Id, Json("""{"frequencyCaps":[{"limit":1,"period":"rolling_day"}],"capAllowList":{"userIds":["staff"]}}"""),
            "t", CancellationToken.None);
        await PersonAsync(h, "staff");
        var a = await SendAsync(h, "staff");
        var b = await SendAsync(h, "staff");
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Delivered, (await MessageAsync(h, a)).Status);
        Assert.Equal(MessageStatuses.Delivered, (await MessageAsync(h, b)).Status);
    }

    [Fact]
    public async Task The_same_dedup_key_goes_out_once_whichever_channel()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "email");
        await ProviderAsync(h, "sms");
        await PersonAsync(h, "u1");
        var first = await SendAsync(h, "u1", channels: ["sms"], dedupKey: "order-42");
        await RunAsync(h);
        var second = await SendAsync(h, "u1", channels: ["email"], dedupKey: "order-42");
        var other = await SendAsync(h, "u1", channels: ["email"], dedupKey: "order-43");
        await RunAsync(h);

        var dropped = await MessageAsync(h, second);
        Assert.Equal(MessageStatuses.Dropped, dropped.Status);
        Assert.StartsWith($"dropped: duplicate of {first.PublicId} (dedup key 'order-42') sent on sms", dropped.Reason, StringComparison.Ordinal);
        Assert.Equal(MessageStatuses.Sent, (await MessageAsync(h, other)).Status);
        Assert.Equal(2, h.Recorder.Sent.Count);
    }

    [Fact]
    public async Task Items_with_one_digest_key_become_exactly_one_digest_even_when_they_arrive_in_the_same_millisecond()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.Delivery.SaveTemplateAsync(h.Workspace.Id, "digest", """
            {"name":"Digest","defaultLocale":"en","locales":{"en":{"email":{"subject":"{{message.item_count}} updates",
             "text":"{{#each items}}- {{event.title}}\n{{/each}}"}}}}
            """, null, "t", CancellationToken.None);
        await ProviderAsync(h, "email");
        await PersonAsync(h, "u1");
        await h.PublishJourneyAsync("comments", """
            {"name":"Comments","trigger":{"type":"event","event":"Commented"},
             "steps":[{"id":"s","type":"send","template":"digest","channel":"email","digest":{"key":"comments","window":"PT1H"}}]}
            """);
        // Eight events in one batch, all at the same instant.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => h.SendAsync($$$"""
            {"type":"track","userId":"u1","event":"Commented","properties":{"title":"comment {{{i}}}"}}
            """)));
        await RunAsync(h);
        var all = await h.Store.ListMessagesAsync(h.Workspace.Id, new MessageQuery(Limit: 100), CancellationToken.None);
        var digests = all.Where(m => m.Source == "digest").ToList();
        var digest = Assert.Single(digests);
        Assert.Equal(MessageStatuses.Collecting, digest.Status);
        Assert.All(all.Where(m => m.Source == "journey"), m => Assert.Equal((MessageStatuses.Merged, digest.Id), (m.Status, m.DigestId!.Value)));
        Assert.Empty(h.Recorder.Sent);

        await h.RunUntilAsync(T0 + TimeSpan.FromHours(1));
        var sent = Assert.Single(h.Recorder.Sent).Message;
        var email = (Chuda.Domain.Templates.EmailContent)sent.Content;
        Assert.Equal("8 updates", email.Subject);
        for (var i = 0; i < 8; i++) Assert.Contains($"- comment {i}", email.Text, StringComparison.Ordinal);

        // The next item opens a new digest.
        await h.SendAsync("""{"type":"track","userId":"u1","event":"Commented","properties":{"title":"late"}}""");
        await RunAsync(h);
        all = await h.Store.ListMessagesAsync(h.Workspace.Id, new MessageQuery(Limit: 100), CancellationToken.None);
        Assert.Equal(2, all.Count(m => m.Source == "digest"));
    }

    [Fact]
    public async Task A_failed_channel_falls_back_to_the_next()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "push");
        await ProviderAsync(h, "email");
        await PersonAsync(h, "u1");
        await h.SendAsync("""{"type":"identify","userId":"u1","context":{"device":{"token":"tok-1","type":"ios"}}}""");
        var identities = await h.Store.GetIdentitiesAsync(h.Workspace.Id, await h.ProfileIdAsync("u1"), CancellationToken.None);
        var push = identities.FirstOrDefault(i => i.Kind.StartsWith("push:", StringComparison.Ordinal));
        Assert.NotNull(push.Kind);
        h.Recorder.Answer("ios:tok-1", new ProviderResult(ProviderOutcome.PermanentFailure, "token not registered"));
        var m = await SendAsync(h, "u1", channels: ["push", "email"]);
        await RunAsync(h);

        var stored = await MessageAsync(h, m);
        Assert.Equal((MessageStatuses.Sent, "email"), (stored.Status, stored.Channel));
        var timeline = await TimelineAsync(h, m);
        Assert.Contains("failed: failed on push via test-push: token not registered", timeline);
        Assert.Contains("fell_back: fell back from push to email: push failed: token not registered", timeline);
    }

    [Fact]
    public async Task A_message_not_delivered_in_time_falls_back_and_a_delivery_receipt_cancels_the_fallback()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "sms");
        await ProviderAsync(h, "email");
        await PersonAsync(h, "u1");
        await PersonAsync(h, "u2");
        var slow = await SendAsync(h, "u1", channels: ["sms", "email"], fallback: new FallbackRule(TimeSpan.FromMinutes(10), FallbackRule.Delivered));
        var fine = await SendAsync(h, "u2", channels: ["sms", "email"], fallback: new FallbackRule(TimeSpan.FromMinutes(10), FallbackRule.Delivered));
        await RunAsync(h);
        await h.Delivery.RecordAsync(h.Workspace.Id, fine.Id, MessageEventKinds.Delivered, "DELIVRD", "smsc", CancellationToken.None);

        await h.RunUntilAsync(T0 + TimeSpan.FromMinutes(10));
        var s = await MessageAsync(h, slow);
        Assert.Equal(("email", MessageStatuses.Sent), (s.Channel, s.Status));
        Assert.Contains("fell_back: fell back from sms to email: not delivered on sms within 10 min", await TimelineAsync(h, slow));
        var f = await MessageAsync(h, fine);
        Assert.Equal(("sms", MessageStatuses.Delivered), (f.Channel, f.Status));
        Assert.Equal(3, h.Recorder.Sent.Count);
    }

    [Fact]
    public async Task Consent_skips_unsubscribed_channels_and_required_opt_in_drops_marketing_without_one()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await PersonAsync(h, "u1");
        var profile = await h.ProfileIdAsync("u1");
        await h.Delivery.SetSubscriptionsAsync(h.Workspace.Id, profile, [("marketing", "email", SubscriptionState.Unsubscribed)], "test", CancellationToken.None);
        var m = await SendAsync(h, "u1", channels: ["email", "sms"]);
        await RunAsync(h);
        var stored = await MessageAsync(h, m);
        Assert.Equal("sms", stored.Channel);
        Assert.Contains("skipped: skipped email: unsubscribed from marketing on email", await TimelineAsync(h, m));

        await h.Delivery.SetPolicyAsync(h.Workspace.Id, Json("""{"marketingRequiresOptIn":true}"""), "t", CancellationToken.None);
        var n = await SendAsync(h, "u1", channels: ["sms"]);
        var t = await SendAsync(h, "u1", channels: ["email"], category: "transactional");
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Dropped, (await MessageAsync(h, n)).Status);
        Assert.Equal(MessageStatuses.Delivered, (await MessageAsync(h, t)).Status);
    }

    [Fact]
    public async Task A_hard_bounce_suppresses_the_address_and_later_messages_skip_it()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "email");
        await ProviderAsync(h, "sms");
        await PersonAsync(h, "u1");
        h.Recorder.Answer("u1@example.com", new ProviderResult(ProviderOutcome.PermanentFailure, "550 5.1.1 no such user", HardBounce: true));
        var m = await SendAsync(h, "u1", channels: ["email"], category: "transactional");
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Bounced, (await MessageAsync(h, m)).Status);
        var suppressions = await h.Store.ListDeliverySuppressionsAsync(h.Workspace.Id, "email", 10, CancellationToken.None);
        Assert.Equal(("u1@example.com", SuppressionReasons.HardBounce), (Assert.Single(suppressions).Address, suppressions[0].Reason));

        var n = await SendAsync(h, "u1", channels: ["email", "sms"]);
        await RunAsync(h);
        Assert.Equal("sms", (await MessageAsync(h, n)).Channel);
        Assert.Contains("skipped: skipped email: address suppressed (hard_bounce)", await TimelineAsync(h, n));
    }

    [Fact]
    public async Task A_complaint_suppresses_the_address_and_pauses_marketing_but_not_transactional()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await PersonAsync(h, "u1");
        var m = await SendAsync(h, "u1", channels: ["email"]);
        await RunAsync(h);
        await h.Delivery.RecordAsync(h.Workspace.Id, m.Id, MessageEventKinds.Complained, "spam report", "isp", CancellationToken.None);

        h.Time.Advance(TimeSpan.FromDays(30));
        var later = await SendAsync(h, "u1", channels: ["sms"]);
        var code = await SendAsync(h, "u1", channels: ["sms"], category: "transactional");
        await RunAsync(h);
        var dropped = await MessageAsync(h, later);
        Assert.Equal(MessageStatuses.Dropped, dropped.Status);
        Assert.StartsWith("dropped: marketing paused for this person until 2026-05-31", dropped.Reason, StringComparison.Ordinal);
        Assert.Equal(MessageStatuses.Delivered, (await MessageAsync(h, code)).Status);
        Assert.Equal(SuppressionReasons.Complaint, (await h.Store.ListDeliverySuppressionsAsync(h.Workspace.Id, "email", 10, CancellationToken.None))[0].Reason);
    }

    [Fact]
    public async Task People_who_ignore_messages_in_a_row_get_a_cool_down()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.Delivery.SetPolicyAsync(h.Workspace.Id, Json("""{"coolDown":{"ignoredInARow":3,"ignoredPeriod":"P14D"}}"""), "t", CancellationToken.None);
        await PersonAsync(h, "u1");
        await PersonAsync(h, "u2");
        for (var i = 0; i < 3; i++)
        {
            var a = await SendAsync(h, "u1");
            var b = await SendAsync(h, "u2");
            await RunAsync(h);
            if (i == 1) await h.Delivery.RecordAsync(h.Workspace.Id, b.Id, MessageEventKinds.Opened, "opened", null, CancellationToken.None);
            h.Time.Advance(TimeSpan.FromHours(1));
        }
        var fourth = await SendAsync(h, "u1");
        var engaged = await SendAsync(h, "u2");
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Dropped, (await MessageAsync(h, fourth)).Status);
        Assert.Contains("cool-down after 3 ignored messages in a row", (await MessageAsync(h, fourth)).Reason, StringComparison.Ordinal);
        Assert.Equal(MessageStatuses.Delivered, (await MessageAsync(h, engaged)).Status);
    }

    [Fact]
    public async Task A_transient_failure_is_retried_with_backoff_and_then_sent()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "email");
        await PersonAsync(h, "u1");
        h.Recorder.Answer("u1@example.com", new ProviderResult(ProviderOutcome.TransientFailure, "451 try later"),
            new ProviderResult(ProviderOutcome.Accepted, "250 ok", "q1"));
        var m = await SendAsync(h, "u1", category: "transactional");
        await RunAsync(h);
        var retrying = await MessageAsync(h, m);
        Assert.Equal((MessageStatuses.Retrying, 1), (retrying.Status, retrying.Attempts));
        Assert.True(retrying.DueAt > h.Time.GetUtcNow());
        await h.RunUntilAsync(T0 + TimeSpan.FromHours(1));
        var sent = await MessageAsync(h, m);
        Assert.Equal((MessageStatuses.Sent, 2, "q1"), (sent.Status, sent.Attempts, sent.ProviderMessageId));
        Assert.Equal(2, h.Recorder.To("u1@example.com").Count);
        Assert.All(h.Recorder.To("u1@example.com"), p => Assert.Equal(m.IdempotencyKey, p.IdempotencyKey));
    }

    [Fact]
    public async Task The_send_API_is_idempotent_and_refuses_a_reused_key_with_another_request()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await PersonAsync(h, "u1");
        var a = await SendAsync(h, "u1", category: "transactional", key: "order-1");
        var b = await SendAsync(h, "u1", category: "transactional", key: "order-1");
        Assert.Equal(a.Id, b.Id);
        var ex = await Assert.ThrowsAsync<DeliveryStateException>(() => SendAsync(h, "u1", category: "transactional", channels: ["sms"], key: "order-1"));
        Assert.Equal(422, ex.Status);
        await RunAsync(h);
        Assert.Single(await h.Store.ListMessagesAsync(h.Workspace.Id, new MessageQuery(), CancellationToken.None));
    }

    [Fact]
    public async Task A_message_caught_in_sending_by_a_crash_is_sent_after_restart()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "email");
        await PersonAsync(h, "u1");
        var m = await SendAsync(h, "u1", category: "transactional");
        // The decision committed (status sending) and then the process died before the provider's answer was recorded.
        var routed = (await MessageAsync(h, m)) with { Status = MessageStatuses.Sending, Channel = "email", Recipient = "u1@example.com",
            DispatchedAt = T0, DueAt = T0 + TimeSpan.FromMinutes(5) };
        await h.Store.ApplyDeliveryAsync(new DeliveryWrite([routed], []), CancellationToken.None);
        await h.RestartAsync();
        Assert.Equal(1, await h.Store.RecoverSendingMessagesAsync(h.Time.GetUtcNow(), CancellationToken.None));
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Sent, (await MessageAsync(h, m)).Status);
        Assert.Single(h.Recorder.To("u1@example.com"));
    }

    [Fact]
    public async Task A_journey_send_step_is_delivered_with_the_step_s_idempotency_key_and_event_data()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.Delivery.SaveTemplateAsync(h.Workspace.Id, "cart", """
            {"name":"Cart","defaultLocale":"en","locales":{"en":{"sms":{"text":"{{event.count}} items in cart {{event.cart_id}}"}}}}
            """, null, "t", CancellationToken.None);
        await ProviderAsync(h, "sms");
        await PersonAsync(h, "u1");
        await h.PublishJourneyAsync("cart", """
            {"name":"Cart","trigger":{"type":"event","event":"Added To Cart"},
             "steps":[{"id":"w","type":"wait","duration":"PT30M","next":"s"},{"id":"s","type":"send","template":"cart","channel":"sms"}]}
            """);
        await h.SendAsync("""{"type":"track","userId":"u1","event":"Added To Cart","properties":{"cart_id":"c9","count":3}}""");
        await h.RunUntilAsync(T0 + TimeSpan.FromHours(1));
        var sent = Assert.Single(h.Recorder.Sent).Message;
        Assert.Equal("3 items in cart c9", ((Chuda.Domain.Templates.SmsContent)sent.Content).Text);
        var request = Assert.Single(await h.SendsAsync("u1"));
        Assert.Equal(request.IdempotencyKey, sent.IdempotencyKey);
    }

    [Fact]
    public async Task A_render_failure_is_recorded_and_the_next_channel_is_tried()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.Delivery.SaveTemplateAsync(h.Workspace.Id, "strict", """
            {"name":"Strict","defaultLocale":"en","required":["event.code"],"locales":{"en":{"sms":{"text":"Code {{event.code}}"},
             "in_app":{"title":"Hi","body":"no code needed"}}}}
            """, null, "t", CancellationToken.None);
        await PersonAsync(h, "u1");
        var (m, _) = await h.Delivery.SendAsync(h.Workspace.Id, new SendCommand("u1", null, null, "strict", null, "{}", ["sms", "in_app"],
            "transactional", null, null, null, null, null, null), null, CancellationToken.None);
        await RunAsync(h);
        // A required variable is required on every channel: both fail, each with the reason, and nothing is sent blank.
        var stored = await MessageAsync(h, m);
        Assert.Equal(("in_app", MessageStatuses.Failed), (stored.Channel, stored.Status));
        var timeline = await TimelineAsync(h, m);
        Assert.Contains(timeline, t => t.StartsWith("failed: failed on sms via the sandbox: render failed:", StringComparison.Ordinal)
            && t.Contains("event.code", StringComparison.Ordinal));
        Assert.Contains(timeline, t => t.StartsWith("failed: failed on in_app via inbox: render failed:", StringComparison.Ordinal));
        Assert.Contains(timeline, t => t.StartsWith("fell_back: fell back from sms to in_app", StringComparison.Ordinal));

        // With the variable given, it goes out.
        var (ok, _) = await h.Delivery.SendAsync(h.Workspace.Id, new SendCommand("u1", null, null, "strict", null, """{"event":{"code":"123456"}}""",
            ["sms", "in_app"], "transactional", null, null, null, null, null, null), null, CancellationToken.None);
        await RunAsync(h);
        Assert.Equal(("sms", MessageStatuses.Delivered), ((await MessageAsync(h, ok)).Channel, (await MessageAsync(h, ok)).Status));
    }

    [Fact]
    public async Task The_webhook_channel_posts_the_rendered_body_signed_with_the_message_s_idempotency_key_and_retries_a_503()
    {
        var received = new List<(string Id, string Signature, string Timestamp, string Body)>();
        var calls = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapPost("/in", async (HttpContext c) =>
        {
            using var reader = new StreamReader(c.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (Interlocked.Increment(ref calls) == 1) return Results.StatusCode(503);
            lock (received) received.Add((c.Request.Headers["webhook-id"]!, c.Request.Headers["webhook-signature"]!, c.Request.Headers["webhook-timestamp"]!, body));
            return Results.Ok();
        });
        await app.StartAsync();

        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        const string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        await h.Delivery.SaveProviderAsync(h.Workspace.Id, "crm", "webhook", "webhook", 0, true,
            Json($$"""{"url":"{{app.Urls.First()}}/in","secret":"{{secret}}"}"""), "t", CancellationToken.None);
        await h.Delivery.SaveTemplateAsync(h.Workspace.Id, "hook", """
            {"name":"Hook","defaultLocale":"en","locales":{"en":{"webhook":{"body":"{\"user\": \"{{profile.user_id}}\", \"name\": \"{{profile.first_name}}\"}"}}}}
            """, null, "t", CancellationToken.None);
        await PersonAsync(h, "u1");
        var (m, _) = await h.Delivery.SendAsync(h.Workspace.Id, new SendCommand("u1", null, null, "hook", null, "{}", ["webhook"], "transactional",
            null, null, null, null, null, null), "k-1", CancellationToken.None);
        await RunAsync(h);
        Assert.Equal(MessageStatuses.Retrying, (await MessageAsync(h, m)).Status);
        await h.RunUntilAsync(T0 + TimeSpan.FromHours(2));
        Assert.Equal(MessageStatuses.Delivered, (await MessageAsync(h, m)).Status);
        var (id, signature, timestamp, body) = Assert.Single(received);
        Assert.Equal(m.IdempotencyKey, id);
        Assert.Equal("""{"user": "u1", "name": "Li"}""", body);
        Assert.Equal(WebhookVerification.Valid, StandardWebhookSigner.Verify(secret, id, timestamp, signature, System.Text.Encoding.UTF8.GetBytes(body),
            h.Time.GetUtcNow(), TimeSpan.FromDays(1)));
    }

    [Fact]
    public async Task A_journey_goal_marks_the_messages_its_walk_sent_as_converted()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await ProviderAsync(h, "email");
        await PersonAsync(h, "u1");
        await h.PublishJourneyAsync("cart", """
            {"name":"Cart","trigger":{"type":"event","event":"Added To Cart"},"goal":{"event":"Order Completed","within":"P1D"},
             "steps":[{"id":"s","type":"send","template":"hello","channel":"email","next":"w"},{"id":"w","type":"wait","duration":"P2D"}]}
            """);
        await h.SendAsync("""{"type":"track","userId":"u1","event":"Added To Cart"}""");
        await RunAsync(h);
        var m = Assert.Single(await h.Store.ListMessagesAsync(h.Workspace.Id, new MessageQuery(), CancellationToken.None));
        Assert.Equal(MessageStatuses.Sent, m.Status);
        h.Time.Advance(TimeSpan.FromHours(3));
        await h.SendAsync("""{"type":"track","userId":"u1","event":"Order Completed"}""");
        Assert.Contains(await TimelineAsync(h, m), t => t.StartsWith("converted: the journey's goal was met", StringComparison.Ordinal));
    }
}
