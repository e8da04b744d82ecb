using System.Data.Common;
using Chuda.Domain.Delivery;
using Chuda.Domain.Profiles;
using Xunit;

namespace Chuda.Storage.Tests;

// The delivery part of the storage contract: templates and their versions, the message outbox (idempotent inserts, the
// dispatcher's due scan, lookups and listings), dispatcher steps, digests (also under concurrency), crash recovery, what
// the pipeline reads about people, consent, suppressions, cool-downs, providers, and how transactions, merges and
// erasure treat delivery rows. Every timestamp is whole milliseconds, the stored precision, unless a test says otherwise.
public abstract partial class StoreComplianceTests
{
    private const string DailyDigest = "daily";

    /// <summary>A message with every optional field empty.</summary>
    protected static OutboundMessage Outbound(long workspaceId, string key, long? profileId, Lane lane = Lane.Marketing, string status = MessageStatuses.Queued,
        DateTimeOffset? due = null, string source = "api", DateTimeOffset? createdAt = null) =>
        new(workspaceId, Id: 0, key, profileId, Address: null, source, JourneyKey: null, StepId: null, TemplateId: "welcome", InlineTemplateJson: null,
            Category: lane == Lane.Transactional ? Categories.Transactional : Categories.Marketing, lane, Channels: [], ChannelIndex: 0, Channel: null,
            Recipient: null, Provider: null, DedupKey: null, DedupWindow: null, DigestKey: null, DigestWindow: null, DigestId: null, Fallback: null,
            DataJson: "{}", Locale: null, status, DueAt: due, Attempts: 0, ExpiresAt: null, CreatedAt: createdAt ?? T0, DispatchedAt: null, SentAt: null,
            DeliveredAt: null, OpenedAt: null, ClickedAt: null, ReadAt: null, ArchivedAt: null, ProviderMessageId: null, ContentJson: null, Reason: null);

    /// <summary>A message with every field set.</summary>
    protected static OutboundMessage FullOutbound(long workspaceId, string key, long profileId) =>
        new(workspaceId, Id: 0, key, profileId, Address: "email:ann@example.com", Source: "journey", JourneyKey: 42, StepId: "send-1", TemplateId: "welcome",
            InlineTemplateJson: """{"subject": "Hi {{ profile.name }}"}""", Category: "newsletter", Lane.Marketing, Channels: ["push", "email"],
            ChannelIndex: 1, Channel: ChannelNames.Email, Recipient: "ann@example.com", Provider: "smtp-1", DedupKey: "welcome",
            DedupWindow: TimeSpan.FromHours(24), DigestKey: DailyDigest, DigestWindow: TimeSpan.FromMinutes(30), DigestId: 77,
            Fallback: new FallbackRule(TimeSpan.FromMinutes(10), FallbackRule.Read), DataJson: """{"event": {"name":"注册"},  "n": 1.50}""", Locale: "zh-CN",
            Status: MessageStatuses.Sent, DueAt: T0.AddMinutes(10), Attempts: 2, ExpiresAt: T0.AddDays(1), CreatedAt: T0, DispatchedAt: T0.AddSeconds(1),
            SentAt: T0.AddSeconds(2), DeliveredAt: T0.AddSeconds(3), OpenedAt: T0.AddSeconds(4), ClickedAt: T0.AddSeconds(5), ReadAt: T0.AddSeconds(6),
            ArchivedAt: T0.AddSeconds(7), ProviderMessageId: "<abc@smtp.example>", ContentJson: """{"html":"<p>Hi</p>"}""", Reason: "accepted by smtp-1");

    /// <summary>A new digest for a person and key, as the dispatcher opens one.</summary>
    protected static OutboundMessage NewDigest(long workspaceId, long profileId, string key, string digestKey = DailyDigest) =>
        Outbound(workspaceId, key, profileId, status: MessageStatuses.Collecting, due: T0.AddMinutes(30), source: "digest") with
        {
            DigestKey = digestKey,
            DigestWindow = TimeSpan.FromMinutes(30),
        };

    protected static void AssertMessage(OutboundMessage expected, OutboundMessage? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Channels, actual.Channels);
        // Records compare lists by reference: compare the rest field by field.
        Assert.Equal(expected with { Channels = actual.Channels }, actual);
    }

    protected async Task<OutboundMessage[]> InsertOutboundAsync(params OutboundMessage[] messages)
    {
        var result = await Store.InsertMessagesAsync(messages, Ct);
        Assert.All(result, r => Assert.True(r.Created));
        return [.. result.Select(r => r.Message)];
    }

    private static IEnumerable<long> MessageIdsOf(IEnumerable<OutboundMessage> messages) => messages.Select(m => m.Id);

    private static Subscription Sub(long workspaceId, long profileId, string category, string channel, SubscriptionState state, string source,
        DateTimeOffset? at = null) =>
        new(workspaceId, profileId, category, channel, state, source, at ?? T0);

    // ---- templates -------------------------------------------------------------------------------

    [Fact]
    public async Task Template_versions_are_numbered_from_one_and_checked_against_the_expected_latest()
    {
        var ws = await NewWorkspaceAsync();
        var first = await Store.AddTemplateVersionAsync(ws.Id, "welcome", """{"v": 1}""", T0.AddTicks(1_234_567), "key-1", null, Ct);
        var created = T0.AddMilliseconds(123);
        Assert.Equal(new TemplateRecord(ws.Id, "welcome", 1, null, created, created), first);
        Assert.Equal(first, await Store.GetTemplateAsync(ws.Id, "welcome", Ct));

        var second = await Store.AddTemplateVersionAsync(ws.Id, "welcome", """{"v": 2}""", T0.AddMinutes(1), null, 1, Ct);
        Assert.Equal(new TemplateRecord(ws.Id, "welcome", 2, null, created, T0.AddMinutes(1)), second);

        // A stale expectation writes nothing.
        Assert.Null(await Store.AddTemplateVersionAsync(ws.Id, "welcome", """{"v": "stale"}""", T0.AddMinutes(2), null, 1, Ct));
        Assert.Null(await Store.AddTemplateVersionAsync(ws.Id, "welcome", """{"v": "stale"}""", T0.AddMinutes(2), null, 0, Ct));
        Assert.Equal(second, await Store.GetTemplateAsync(ws.Id, "welcome", Ct));
        // A new template's latest is 0.
        Assert.Null(await Store.AddTemplateVersionAsync(ws.Id, "fresh", "{}", T0, null, 1, Ct));
        Assert.Null(await Store.GetTemplateAsync(ws.Id, "fresh", Ct));
        Assert.Equal(1, (await Store.AddTemplateVersionAsync(ws.Id, "fresh", "{}", T0, null, 0, Ct))!.LatestVersion);

        var v1 = new TemplateVersionRecord(ws.Id, "welcome", 1, """{"v": 1}""", created, "key-1", null, null);
        var v2 = new TemplateVersionRecord(ws.Id, "welcome", 2, """{"v": 2}""", T0.AddMinutes(1), null, null, null);
        Assert.Equal([v2, v1], await Store.ListTemplateVersionsAsync(ws.Id, "welcome", Ct));
        Assert.Equal(v2, await Store.GetTemplateVersionAsync(ws.Id, "welcome", null, Ct));
        Assert.Equal(v1, await Store.GetTemplateVersionAsync(ws.Id, "welcome", 1, Ct));
        Assert.Null(await Store.GetTemplateVersionAsync(ws.Id, "welcome", 3, Ct));
        Assert.Null(await Store.GetTemplateVersionAsync(ws.Id, "missing", null, Ct));
        Assert.Empty(await Store.ListTemplateVersionsAsync(ws.Id, "missing", Ct));

        // Per workspace.
        var other = await NewWorkspaceAsync("other");
        Assert.Null(await Store.GetTemplateAsync(other.Id, "welcome", Ct));
        Assert.Null(await Store.GetTemplateVersionAsync(other.Id, "welcome", null, Ct));
        Assert.Equal(1, (await Store.AddTemplateVersionAsync(other.Id, "welcome", "{}", T0, null, null, Ct))!.LatestVersion);
        Assert.Equal(2, (await Store.GetTemplateAsync(ws.Id, "welcome", Ct))!.LatestVersion);
    }

    [Fact]
    public async Task Approving_a_version_marks_it_and_moves_the_templates_approved_version_only_forward()
    {
        var ws = await NewWorkspaceAsync();
        for (var v = 1; v <= 3; v++) await Store.AddTemplateVersionAsync(ws.Id, "t", $$"""{"v":{{v}}}""", T0, "author", null, Ct);

        Assert.True(await Store.ApproveTemplateVersionAsync(ws.Id, "t", 2, "reviewer", T0.AddMinutes(1), Ct));
        Assert.Equal(new TemplateRecord(ws.Id, "t", 3, 2, T0, T0.AddMinutes(1)), await Store.GetTemplateAsync(ws.Id, "t", Ct));
        Assert.Equal(new TemplateVersionRecord(ws.Id, "t", 2, """{"v":2}""", T0, "author", T0.AddMinutes(1), "reviewer"),
            await Store.GetTemplateVersionAsync(ws.Id, "t", 2, Ct));
        Assert.Null((await Store.GetTemplateVersionAsync(ws.Id, "t", 3, Ct))!.ApprovedAt);

        // An older version is marked, but the template keeps its newer approved version.
        Assert.True(await Store.ApproveTemplateVersionAsync(ws.Id, "t", 1, null, T0.AddMinutes(2), Ct));
        Assert.Equal(new TemplateRecord(ws.Id, "t", 3, 2, T0, T0.AddMinutes(1)), await Store.GetTemplateAsync(ws.Id, "t", Ct));
        Assert.Equal(T0.AddMinutes(2), (await Store.GetTemplateVersionAsync(ws.Id, "t", 1, Ct))!.ApprovedAt);
        Assert.Null((await Store.GetTemplateVersionAsync(ws.Id, "t", 1, Ct))!.ApprovedBy);

        Assert.True(await Store.ApproveTemplateVersionAsync(ws.Id, "t", 3, "reviewer", T0.AddMinutes(3), Ct));
        Assert.Equal(new TemplateRecord(ws.Id, "t", 3, 3, T0, T0.AddMinutes(3)), await Store.GetTemplateAsync(ws.Id, "t", Ct));

        // No such version, template or workspace: false, nothing changes.
        Assert.False(await Store.ApproveTemplateVersionAsync(ws.Id, "t", 4, "reviewer", T0.AddMinutes(4), Ct));
        Assert.False(await Store.ApproveTemplateVersionAsync(ws.Id, "missing", 1, "reviewer", T0.AddMinutes(4), Ct));
        var other = await NewWorkspaceAsync("other");
        Assert.False(await Store.ApproveTemplateVersionAsync(other.Id, "t", 1, "reviewer", T0.AddMinutes(4), Ct));
        Assert.Equal(new TemplateRecord(ws.Id, "t", 3, 3, T0, T0.AddMinutes(3)), await Store.GetTemplateAsync(ws.Id, "t", Ct));
    }

    [Fact]
    public async Task Templates_are_listed_by_id_in_ordinal_order_and_deleted_with_their_versions()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        foreach (var id in new[] { "b", "é", "B", "a-2", "a" }) await Store.AddTemplateVersionAsync(a.Id, id, "{}", T0, null, null, Ct);
        await Store.AddTemplateVersionAsync(a.Id, "a", "{}", T0, null, null, Ct);
        await Store.AddTemplateVersionAsync(b.Id, "z", "{}", T0, null, null, Ct);

        Assert.Equal(["B", "a", "a-2", "b", "é"], (await Store.ListTemplatesAsync(a.Id, Ct)).Select(t => t.Id));
        Assert.Equal(["z"], (await Store.ListTemplatesAsync(b.Id, Ct)).Select(t => t.Id));

        Assert.True(await Store.DeleteTemplateAsync(a.Id, "a", Ct));
        Assert.False(await Store.DeleteTemplateAsync(a.Id, "a", Ct));
        Assert.False(await Store.DeleteTemplateAsync(a.Id, "z", Ct));
        Assert.Null(await Store.GetTemplateAsync(a.Id, "a", Ct));
        Assert.Empty(await Store.ListTemplateVersionsAsync(a.Id, "a", Ct));
        Assert.Equal(["B", "a-2", "b", "é"], (await Store.ListTemplatesAsync(a.Id, Ct)).Select(t => t.Id));
        // Created again, it starts over.
        Assert.Equal(1, (await Store.AddTemplateVersionAsync(a.Id, "a", "{}", T0, null, null, Ct))!.LatestVersion);
        Assert.Single(await Store.ListTemplateVersionsAsync(a.Id, "a", Ct));
    }

    [Fact]
    public async Task Concurrent_template_versions_are_numbered_one_after_another()
    {
        var ws = await NewWorkspaceAsync();
        var added = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            Store.AddTemplateVersionAsync(ws.Id, "busy", $$"""{"n":{{i}}}""", T0, null, null, Ct), Ct)));
        Assert.Equal(Enumerable.Range(1, 8), added.Select(t => t!.LatestVersion).Order());
        Assert.Equal(8, (await Store.GetTemplateAsync(ws.Id, "busy", Ct))!.LatestVersion);
        Assert.Equal(Enumerable.Range(1, 8).Reverse(), (await Store.ListTemplateVersionsAsync(ws.Id, "busy", Ct)).Select(v => v.Version));
    }

    // ---- the outbox ------------------------------------------------------------------------------

    [Fact]
    public async Task New_messages_get_ids_in_order_and_a_queued_entry_and_a_repeated_key_returns_the_stored_message()
    {
        var ws = await NewWorkspaceAsync();
        var journey = Outbound(ws.Id, "j-1", 7, source: "journey") with { StepId = "send-1" };
        var api = Outbound(ws.Id, "api-1", null, Lane.Transactional) with { Address = "email:x@example.com" };
        var custom = Outbound(ws.Id, "bulk-1", 7, source: "broadcast");

        var result = await Store.InsertMessagesAsync([journey, api, custom], Ct);
        Assert.All(result, r => Assert.True(r.Created));
        var ids = result.Select(r => r.Message.Id).ToArray();
        Assert.True(ids[0] > 0 && ids[0] < ids[1] && ids[1] < ids[2]);
        AssertMessage(journey with { Id = ids[0] }, result[0].Message);
        AssertMessage(api with { Id = ids[1] }, result[1].Message);
        AssertMessage(journey with { Id = ids[0] }, await Store.GetMessageAsync(ws.Id, ids[0], Ct));
        AssertMessage(api with { Id = ids[1] }, await Store.FindMessageByKeyAsync(ws.Id, "api-1", Ct));
        Assert.Equal("m_" + ids[0], result[0].Message.PublicId);

        Assert.Equal([new MessageEvent(ws.Id, ids[0], 7, T0, MessageEventKinds.Queued, null, "queued by journey step 'send-1'")],
            await Store.GetMessageEventsAsync(ws.Id, ids[0], Ct));
        Assert.Equal([new MessageEvent(ws.Id, ids[1], null, T0, MessageEventKinds.Queued, null, "queued by the send API")],
            await Store.GetMessageEventsAsync(ws.Id, ids[1], Ct));
        Assert.Equal("queued by broadcast", (await Store.GetMessageEventsAsync(ws.Id, ids[2], Ct)).Single().Detail);

        // Repeats (also within one call) return the stored message and write nothing; new keys in the same call are stored.
        var repeat = journey with { DataJson = """{"changed":true}""", CreatedAt = T0.AddMinutes(5) };
        var fresh = Outbound(ws.Id, "j-2", 7, createdAt: T0.AddTicks(1_234_567));
        var again = await Store.InsertMessagesAsync([repeat, fresh, fresh with { DataJson = """{"twice":true}""" }, api], Ct);
        Assert.Equal([false, true, false, false], again.Select(r => r.Created));
        AssertMessage(journey with { Id = ids[0] }, again[0].Message);
        Assert.True(again[1].Message.Id > ids[2]);
        AssertMessage(fresh with { Id = again[1].Message.Id, CreatedAt = T0.AddMilliseconds(123) }, again[2].Message);
        AssertMessage(api with { Id = ids[1] }, again[3].Message);
        Assert.Single(await Store.GetMessageEventsAsync(ws.Id, ids[0], Ct));
        Assert.Equal([new MessageEvent(ws.Id, again[1].Message.Id, 7, T0.AddMilliseconds(123), MessageEventKinds.Queued, null, "queued by the send API")],
            await Store.GetMessageEventsAsync(ws.Id, again[1].Message.Id, Ct));
        Assert.Equal(4, await Store.CountMessagesAsync(ws.Id, new MessageQuery(), Ct));

        // Keys are per workspace.
        var other = await NewWorkspaceAsync("other");
        var elsewhere = await Store.InsertMessagesAsync([journey with { WorkspaceId = other.Id }], Ct);
        Assert.True(elsewhere.Single().Created);
        Assert.NotEqual(ids[0], elsewhere.Single().Message.Id);
        Assert.Null(await Store.GetMessageAsync(other.Id, ids[0], Ct));
        Assert.Null(await Store.FindMessageByKeyAsync(other.Id, "api-1", Ct));
        Assert.Empty(await Store.GetMessageEventsAsync(other.Id, ids[0], Ct));
        Assert.Empty(await Store.InsertMessagesAsync([], Ct));
    }

    [Fact]
    public async Task A_message_round_trips_every_field_through_insert_and_replacement()
    {
        var ws = await NewWorkspaceAsync();
        var full = FullOutbound(ws.Id, "full", 5);
        var stored = (await InsertOutboundAsync(full)).Single();
        AssertMessage(full with { Id = stored.Id }, stored);
        AssertMessage(full with { Id = stored.Id }, await Store.GetMessageAsync(ws.Id, stored.Id, Ct));

        // A whole-row replacement: every field changes (the id stays).
        var changed = new OutboundMessage(ws.Id, stored.Id, "full-2", 6, "phone:+8613800000000", "api", 43, "send-2", "receipt", """{"body":"x"}""",
            Categories.Transactional, Lane.Transactional, [ChannelNames.Sms], 0, ChannelNames.Sms, "+8613800000000", "twilio", "receipt", TimeSpan.FromMinutes(5),
            "weekly", TimeSpan.FromDays(7), 78, new FallbackRule(TimeSpan.FromSeconds(90), FallbackRule.Delivered), """{"data":{}}""", "en", MessageStatuses.Retrying,
            T0.AddHours(1), 3, T0.AddDays(2), T0.AddSeconds(10), T0.AddSeconds(11), T0.AddSeconds(12), T0.AddSeconds(13), T0.AddSeconds(14), T0.AddSeconds(15),
            T0.AddSeconds(16), T0.AddSeconds(17), "SM123", """{"text":"hi"}""", "timeout");
        await Store.ApplyDeliveryAsync(new DeliveryWrite([changed], []), Ct);
        AssertMessage(changed, await Store.GetMessageAsync(ws.Id, stored.Id, Ct));
        AssertMessage(changed, await Store.FindMessageByKeyAsync(ws.Id, "full-2", Ct));
        Assert.Null(await Store.FindMessageByKeyAsync(ws.Id, "full", Ct));

        // And back to every optional field empty.
        var empty = Outbound(ws.Id, "empty", null, Lane.Marketing, MessageStatuses.Dropped) with { Id = stored.Id };
        await Store.ApplyDeliveryAsync(new DeliveryWrite([empty], []), Ct);
        AssertMessage(empty, await Store.GetMessageAsync(ws.Id, stored.Id, Ct));

        // An empty message inserted as it is.
        var minimal = (await InsertOutboundAsync(Outbound(ws.Id, "minimal", null))).Single();
        AssertMessage(Outbound(ws.Id, "minimal", null) with { Id = minimal.Id }, await Store.GetMessageAsync(ws.Id, minimal.Id, Ct));
        Assert.Empty((await Store.GetMessageAsync(ws.Id, minimal.Id, Ct))!.Channels);
        Assert.False(minimal.Engaged);
    }

    [Fact]
    public async Task Due_messages_come_per_lane_earliest_first_up_to_the_limit_skipping_the_excluded()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        Assert.Null(await Store.GetNextMessageDueAsync(Ct));
        var m = await InsertOutboundAsync(
            Outbound(ws.Id, "now", 1, due: T0),
            Outbound(ws.Id, "early-1", 1, due: T0.AddMinutes(-1)),
            Outbound(ws.Id, "early-2", 2, due: T0.AddMinutes(-1), status: MessageStatuses.Sent),
            Outbound(ws.Id, "later", 1, due: T0.AddMinutes(1)),
            Outbound(ws.Id, "never", 1, status: MessageStatuses.Delivered),
            Outbound(ws.Id, "urgent", 1, Lane.Transactional, due: T0.AddMinutes(-2)),
            Outbound(other.Id, "elsewhere", 1, due: T0.AddSeconds(-30)));
        var (now, early1, early2, later, urgent, elsewhere) = (m[0], m[1], m[2], m[3], m[5], m[6]);

        Assert.Equal(MessageIdsOf([early1, early2, elsewhere, now]), MessageIdsOf(await Store.GetDueMessagesAsync(Lane.Marketing, T0, 10, [], Ct)));
        AssertMessage(early1, (await Store.GetDueMessagesAsync(Lane.Marketing, T0, 10, [], Ct))[0]);
        Assert.Equal([urgent.Id], MessageIdsOf(await Store.GetDueMessagesAsync(Lane.Transactional, T0, 10, [], Ct)));
        Assert.Equal(MessageIdsOf([early1, early2]), MessageIdsOf(await Store.GetDueMessagesAsync(Lane.Marketing, T0, 2, [], Ct)));
        // Messages in flight do not starve the page.
        Assert.Equal(MessageIdsOf([elsewhere, now]), MessageIdsOf(await Store.GetDueMessagesAsync(Lane.Marketing, T0, 2, [early1.Id, early2.Id], Ct)));
        Assert.Equal(MessageIdsOf([early1, elsewhere]), MessageIdsOf(await Store.GetDueMessagesAsync(Lane.Marketing, T0, 2, [early2.Id, 999_999], Ct)));
        Assert.Empty(await Store.GetDueMessagesAsync(Lane.Marketing, T0, 5, [early1.Id, early2.Id, elsewhere.Id, now.Id], Ct));
        Assert.Empty(await Store.GetDueMessagesAsync(Lane.Marketing, T0.AddMinutes(-5), 10, [], Ct));
        Assert.Equal(5, (await Store.GetDueMessagesAsync(Lane.Marketing, T0.AddHours(1), 10, [], Ct)).Count);
        Assert.Equal(later.Id, (await Store.GetDueMessagesAsync(Lane.Marketing, T0.AddHours(1), 10, [], Ct))[^1].Id);

        Assert.Equal(T0.AddMinutes(-2), await Store.GetNextMessageDueAsync(Ct));
        await Store.ApplyDeliveryAsync(new DeliveryWrite([urgent with { DueAt = null, Status = MessageStatuses.Delivered }], []), Ct);
        Assert.Equal(T0.AddMinutes(-1), await Store.GetNextMessageDueAsync(Ct));
        Assert.Empty(await Store.GetDueMessagesAsync(Lane.Transactional, T0, 10, [], Ct));

        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetDueMessagesAsync(Lane.Marketing, T0, 0, [], Ct));
    }

    [Fact]
    public async Task Messages_are_found_by_ids_and_by_provider_id_within_their_workspace()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        var m = await InsertOutboundAsync(
            Outbound(ws.Id, "a", 1) with { ProviderMessageId = "p-1" },
            Outbound(ws.Id, "b", 1) with { ProviderMessageId = "p-2" },
            Outbound(ws.Id, "c", 2) with { ProviderMessageId = "p-1" },
            Outbound(other.Id, "d", 1) with { ProviderMessageId = "p-3" });

        var found = await Store.GetMessagesAsync(ws.Id, [m[2].Id, m[0].Id, m[3].Id, 999_999], Ct);
        Assert.Equal(MessageIdsOf([m[0], m[2]]), MessageIdsOf(found));
        AssertMessage(m[2], found[1]);
        Assert.Empty(await Store.GetMessagesAsync(ws.Id, [], Ct));

        // The newest message the provider knows by that id.
        Assert.Equal(m[2].Id, (await Store.FindMessageByProviderIdAsync(ws.Id, "p-1", Ct))!.Id);
        Assert.Equal(m[1].Id, (await Store.FindMessageByProviderIdAsync(ws.Id, "p-2", Ct))!.Id);
        Assert.Null(await Store.FindMessageByProviderIdAsync(ws.Id, "p-3", Ct));
        Assert.Null(await Store.FindMessageByProviderIdAsync(other.Id, "p-1", Ct));
        AssertMessage(m[3], await Store.FindMessageByProviderIdAsync(other.Id, "p-3", Ct));
        Assert.Null(await Store.GetMessageAsync(ws.Id, m[3].Id, Ct));
        Assert.Null(await Store.FindMessageByKeyAsync(ws.Id, "missing", Ct));
    }

    [Fact]
    public async Task Messages_are_listed_newest_first_and_counted_by_every_filter()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        var m = await InsertOutboundAsync(
            Outbound(ws.Id, "m1", 1, status: MessageStatuses.Sent) with { Channel = ChannelNames.Email, Provider = "smtp" },
            Outbound(ws.Id, "m2", 1, status: MessageStatuses.Delivered) with { Channel = ChannelNames.InApp, Provider = "inbox", ReadAt = T0 },
            Outbound(ws.Id, "m3", 1, status: MessageStatuses.Delivered) with { Channel = ChannelNames.InApp, Provider = "inbox", ArchivedAt = T0 },
            Outbound(ws.Id, "m4", 2),
            Outbound(ws.Id, "m5", 1, status: MessageStatuses.Failed) with { Channel = ChannelNames.Sms, Provider = "twilio" },
            Outbound(other.Id, "m6", 1, status: MessageStatuses.Sent) with { Channel = ChannelNames.Email, Provider = "smtp" });
        var (m1, m2, m3, m4, m5) = (m[0], m[1], m[2], m[3], m[4]);

        async Task Check(MessageQuery query, params OutboundMessage[] expected)
        {
            Assert.Equal(MessageIdsOf(expected), MessageIdsOf(await Store.ListMessagesAsync(ws.Id, query, Ct)));
            Assert.Equal(expected.Length, await Store.CountMessagesAsync(ws.Id, query with { Limit = 1 }, Ct));
        }

        await Check(new MessageQuery(), m5, m4, m3, m2, m1);
        await Check(new MessageQuery(ProfileId: 1), m5, m3, m2, m1);
        await Check(new MessageQuery(ProfileId: 3));
        await Check(new MessageQuery(Channel: ChannelNames.InApp), m3, m2);
        await Check(new MessageQuery(Status: MessageStatuses.Delivered), m3, m2);
        await Check(new MessageQuery(Provider: "smtp"), m1);
        await Check(new MessageQuery(Archived: true), m3);
        await Check(new MessageQuery(Archived: false), m5, m4, m2, m1);
        await Check(new MessageQuery(Unread: true), m5, m4, m3, m1);
        await Check(new MessageQuery(Unread: false), m2);
        await Check(new MessageQuery(ProfileId: 1, Channel: ChannelNames.InApp, Unread: true, Archived: false));
        await Check(new MessageQuery(ProfileId: 1, Channel: ChannelNames.InApp, Unread: true), m3);
        await Check(new MessageQuery(BeforeId: m3.Id), m2, m1);
        await Check(new MessageQuery(ProfileId: 1, BeforeId: m5.Id, Status: MessageStatuses.Delivered), m3, m2);

        Assert.Equal(MessageIdsOf([m5, m4]), MessageIdsOf(await Store.ListMessagesAsync(ws.Id, new MessageQuery(Limit: 2), Ct)));
        Assert.Equal(MessageIdsOf([m2]), MessageIdsOf(await Store.ListMessagesAsync(ws.Id, new MessageQuery(BeforeId: m3.Id, Limit: 1), Ct)));
        AssertMessage(m2, (await Store.ListMessagesAsync(ws.Id, new MessageQuery(Unread: false), Ct)).Single());
        Assert.Equal(1, await Store.CountMessagesAsync(other.Id, new MessageQuery(), Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.ListMessagesAsync(ws.Id, new MessageQuery(Limit: 0), Ct));
    }

    [Fact]
    public async Task A_messages_timeline_is_oldest_first_and_a_persons_newest_first()
    {
        var ws = await NewWorkspaceAsync();
        var m = await InsertOutboundAsync(Outbound(ws.Id, "a", 1), Outbound(ws.Id, "b", 1), Outbound(ws.Id, "c", 2), Outbound(ws.Id, "d", null));
        var routed = new MessageEvent(ws.Id, m[0].Id, 1, T0.AddSeconds(1), MessageEventKinds.Routed, ChannelNames.Email, "email: first choice");
        var sent = new MessageEvent(ws.Id, m[0].Id, 1, T0.AddSeconds(2), MessageEventKinds.Sent, ChannelNames.Email, "accepted by smtp");
        var dropped = new MessageEvent(ws.Id, m[1].Id, 1, T0.AddSeconds(1), MessageEventKinds.Dropped, null, "frequency cap");
        var raw = new MessageEvent(ws.Id, m[3].Id, null, T0.AddSeconds(1), MessageEventKinds.Sent, ChannelNames.Email, "accepted");
        await Store.ApplyDeliveryAsync(new DeliveryWrite([], [routed, sent, dropped, raw]), Ct);

        var queued = new MessageEvent(ws.Id, m[0].Id, 1, T0, MessageEventKinds.Queued, null, "queued by the send API");
        Assert.Equal([queued, routed, sent], await Store.GetMessageEventsAsync(ws.Id, m[0].Id, Ct));
        Assert.Equal([dropped, sent, routed], await Store.GetProfileMessageEventsAsync(ws.Id, 1, 3, Ct));
        var all = await Store.GetProfileMessageEventsAsync(ws.Id, 1, 10, Ct);
        Assert.Equal(5, all.Count);
        Assert.Equal([m[1].Id, m[0].Id], all.Skip(3).Select(e => e.MessageId));
        Assert.Single(await Store.GetProfileMessageEventsAsync(ws.Id, 2, 10, Ct));
        Assert.Equal([MessageEventKinds.Queued, MessageEventKinds.Sent], (await Store.GetMessageEventsAsync(ws.Id, m[3].Id, Ct)).Select(e => e.Kind));
        var other = await NewWorkspaceAsync("other");
        Assert.Empty(await Store.GetProfileMessageEventsAsync(other.Id, 1, 10, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetProfileMessageEventsAsync(ws.Id, 1, 0, Ct));
    }

    // ---- dispatcher steps ------------------------------------------------------------------------

    [Fact]
    public async Task A_dispatcher_step_replaces_rows_and_writes_events_suppressions_cool_downs_and_subscriptions()
    {
        var ws = await NewWorkspaceAsync();
        var m = await InsertOutboundAsync(Outbound(ws.Id, "a", 1, due: T0), Outbound(ws.Id, "b", 2, due: T0));
        await Store.ApplyDeliveryAsync(new DeliveryWrite([], [],
            Suppressions: [new DeliverySuppression(ws.Id, "email", "x@example.com", SuppressionReasons.HardBounce, "550 no such user", T0)],
            CoolDowns: [new CoolDown(ws.Id, 1, T0.AddDays(2), "complaint", T0), new CoolDown(ws.Id, 3, T0.AddDays(5), "ignored", T0)]), Ct);

        var sentA = m[0] with { Status = MessageStatuses.Sent, Channel = ChannelNames.Email, DispatchedAt = T0, SentAt = T0, DueAt = null, Attempts = 1 };
        var droppedB = m[1] with { Status = MessageStatuses.Dropped, DueAt = null, Reason = "suppressed" };
        var events = new[]
        {
            new MessageEvent(ws.Id, m[0].Id, 1, T0, MessageEventKinds.Routed, ChannelNames.Email, "routed"),
            new MessageEvent(ws.Id, m[0].Id, 1, T0, MessageEventKinds.Sent, ChannelNames.Email, "sent"),
            new MessageEvent(ws.Id, m[1].Id, 2, T0, MessageEventKinds.Dropped, null, "suppressed"),
        };
        await Store.ApplyDeliveryAsync(new DeliveryWrite(
            // The last replacement of one row wins.
            [sentA with { Status = MessageStatuses.Sending }, droppedB, sentA],
            events,
            Suppressions:
            [
                new DeliverySuppression(ws.Id, "email", "x@example.com", SuppressionReasons.Complaint, null, T0.AddMinutes(1)),
                new DeliverySuppression(ws.Id, "email", "y@example.com", SuppressionReasons.Complaint, "abuse report", T0.AddMinutes(1)),
                new DeliverySuppression(ws.Id, "email", "y@example.com", SuppressionReasons.Manual, null, T0.AddMinutes(2)),
                new DeliverySuppression(ws.Id, "phone", "+8613800000000", SuppressionReasons.Manual, null, T0.AddMinutes(3)),
            ],
            CoolDowns:
            [
                new CoolDown(ws.Id, 1, T0.AddDays(1), "unsubscribe", T0.AddMinutes(1)),
                new CoolDown(ws.Id, 2, T0.AddDays(1), "unsubscribe", T0.AddMinutes(1)),
                new CoolDown(ws.Id, 2, T0.AddDays(3), "complaint", T0.AddMinutes(2)),
                new CoolDown(ws.Id, 3, T0.AddDays(6), "complaint", T0.AddMinutes(3)),
                new CoolDown(ws.Id, 4, T0.AddDays(2), "ignored", T0.AddMinutes(4)),
                new CoolDown(ws.Id, 4, T0.AddDays(1), "unsubscribe", T0.AddMinutes(5)),
            ],
            Subscriptions:
            [
                Sub(ws.Id, 2, Categories.Marketing, ChannelNames.Email, SubscriptionState.Unsubscribed, "link", T0),
                Sub(ws.Id, 2, Categories.Marketing, ChannelNames.Email, SubscriptionState.Subscribed, "preferences", T0.AddMinutes(1)),
                Sub(ws.Id, 2, "newsletter", "*", SubscriptionState.Unsubscribed, "link", T0),
            ]), Ct);

        AssertMessage(sentA, await Store.GetMessageAsync(ws.Id, m[0].Id, Ct));
        AssertMessage(droppedB, await Store.GetMessageAsync(ws.Id, m[1].Id, Ct));
        Assert.Equal(events[..2], (await Store.GetMessageEventsAsync(ws.Id, m[0].Id, Ct)).Skip(1));
        Assert.Equal(events[2..], (await Store.GetMessageEventsAsync(ws.Id, m[1].Id, Ct)).Skip(1));

        // An existing suppression stays; of two new ones for one address the first is kept.
        Assert.Equal(
            [
                new DeliverySuppression(ws.Id, "phone", "+8613800000000", SuppressionReasons.Manual, null, T0.AddMinutes(3)),
                new DeliverySuppression(ws.Id, "email", "y@example.com", SuppressionReasons.Complaint, "abuse report", T0.AddMinutes(1)),
                new DeliverySuppression(ws.Id, "email", "x@example.com", SuppressionReasons.HardBounce, "550 no such user", T0),
            ],
            await Store.ListDeliverySuppressionsAsync(ws.Id, null, 10, Ct));

        // The later end wins, whether it was stored or comes in the same step.
        Assert.Equal(
            [
                new CoolDown(ws.Id, 1, T0.AddDays(2), "complaint", T0),
                new CoolDown(ws.Id, 2, T0.AddDays(3), "complaint", T0.AddMinutes(2)),
                new CoolDown(ws.Id, 3, T0.AddDays(6), "complaint", T0.AddMinutes(3)),
                new CoolDown(ws.Id, 4, T0.AddDays(2), "ignored", T0.AddMinutes(4)),
            ],
            (await Store.LoadCoolDownsAsync(ws.Id, [1, 2, 3, 4, 5], Ct)).OrderBy(c => c.ProfileId));

        // Subscriptions: the last state per key, and every change in the consent log.
        Assert.Equal(
            [
                Sub(ws.Id, 2, Categories.Marketing, ChannelNames.Email, SubscriptionState.Subscribed, "preferences", T0.AddMinutes(1)),
                Sub(ws.Id, 2, "newsletter", "*", SubscriptionState.Unsubscribed, "link", T0),
            ],
            await Store.LoadSubscriptionsAsync(ws.Id, [2], Ct));
        Assert.Equal(
            [
                new ConsentRecord(ws.Id, 2, "newsletter", "*", SubscriptionState.Unsubscribed, "link", T0),
                new ConsentRecord(ws.Id, 2, Categories.Marketing, ChannelNames.Email, SubscriptionState.Subscribed, "preferences", T0.AddMinutes(1)),
                new ConsentRecord(ws.Id, 2, Categories.Marketing, ChannelNames.Email, SubscriptionState.Unsubscribed, "link", T0),
            ],
            await Store.GetConsentLogAsync(ws.Id, 2, 10, Ct));

        // Nothing at all is fine.
        await Store.ApplyDeliveryAsync(new DeliveryWrite([], []), Ct);
    }

    [Fact]
    public async Task A_dispatcher_step_that_fails_writes_nothing()
    {
        var ws = await NewWorkspaceAsync();
        var m = await InsertOutboundAsync(Outbound(ws.Id, "a", 1, due: T0), Outbound(ws.Id, "b", 1, due: T0));
        // Two open digests for one person and key break the unique index: the whole step is rolled back.
        var write = new DeliveryWrite(
            [m[0] with { Status = MessageStatuses.Collecting, DigestKey = DailyDigest }, m[1] with { Status = MessageStatuses.Collecting, DigestKey = DailyDigest }],
            [new MessageEvent(ws.Id, m[0].Id, 1, T0, MessageEventKinds.Routed, null, "x")],
            Suppressions: [new DeliverySuppression(ws.Id, "email", "x@example.com", SuppressionReasons.Manual, null, T0)],
            CoolDowns: [new CoolDown(ws.Id, 1, T0.AddDays(1), "ignored", T0)],
            Subscriptions: [Sub(ws.Id, 1, Categories.Marketing, "*", SubscriptionState.Unsubscribed, "link")]);
        await Assert.ThrowsAnyAsync<DbException>(() => Store.ApplyDeliveryAsync(write, Ct));

        AssertMessage(m[0], await Store.GetMessageAsync(ws.Id, m[0].Id, Ct));
        AssertMessage(m[1], await Store.GetMessageAsync(ws.Id, m[1].Id, Ct));
        Assert.Single(await Store.GetMessageEventsAsync(ws.Id, m[0].Id, Ct));
        Assert.Empty(await Store.ListDeliverySuppressionsAsync(ws.Id, null, 10, Ct));
        Assert.Empty(await Store.LoadCoolDownsAsync(ws.Id, [1], Ct));
        Assert.Empty(await Store.LoadSubscriptionsAsync(ws.Id, [1], Ct));
        Assert.Empty(await Store.GetConsentLogAsync(ws.Id, 1, 10, Ct));
    }

    // ---- digests -----------------------------------------------------------------------------------

    [Fact]
    public async Task The_first_item_opens_a_digest_and_later_items_join_it_until_it_closes()
    {
        var ws = await NewWorkspaceAsync();
        var items = await InsertOutboundAsync(
            Outbound(ws.Id, "i1", 1, due: T0) with { DigestKey = DailyDigest },
            Outbound(ws.Id, "i2", 1, due: T0) with { DigestKey = DailyDigest },
            Outbound(ws.Id, "i3", 1, due: T0) with { DigestKey = DailyDigest },
            Outbound(ws.Id, "i4", 1, due: T0) with { DigestKey = DailyDigest },
            Outbound(ws.Id, "w1", 1, due: T0) with { DigestKey = "weekly" },
            Outbound(ws.Id, "o1", 2, due: T0) with { DigestKey = DailyDigest });
        OutboundMessage Merged(OutboundMessage item) => item with { Status = MessageStatuses.Merged, DueAt = null };
        MessageEvent[] Events(OutboundMessage item) =>
        [
            new(ws.Id, item.Id, item.ProfileId, T0, MessageEventKinds.Merged, null, "into the digest"),
            new(ws.Id, 0, item.ProfileId, T0, MessageEventKinds.Digested, null, $"added m_{item.Id}"),
        ];

        var newDigest = NewDigest(ws.Id, 1, "digest-1");
        var digest = await Store.JoinDigestAsync(Merged(items[0]), newDigest, Events(items[0]), Ct);
        Assert.True(digest.Id > items[^1].Id);
        AssertMessage(newDigest with { Id = digest.Id }, digest);
        AssertMessage(digest, await Store.GetMessageAsync(ws.Id, digest.Id, Ct));
        AssertMessage(Merged(items[0]) with { DigestId = digest.Id }, await Store.GetMessageAsync(ws.Id, items[0].Id, Ct));
        Assert.Equal(
            [
                new MessageEvent(ws.Id, digest.Id, 1, T0, MessageEventKinds.Queued, null, "digest 'daily' opened"),
                new MessageEvent(ws.Id, digest.Id, 1, T0, MessageEventKinds.Digested, null, $"added m_{items[0].Id}"),
            ],
            await Store.GetMessageEventsAsync(ws.Id, digest.Id, Ct));
        Assert.Equal([MessageEventKinds.Queued, MessageEventKinds.Merged], (await Store.GetMessageEventsAsync(ws.Id, items[0].Id, Ct)).Select(e => e.Kind));

        // The second joins the open digest: its new digest is not stored.
        var joined = await Store.JoinDigestAsync(Merged(items[1]), NewDigest(ws.Id, 1, "digest-2"), Events(items[1]), Ct);
        AssertMessage(digest, joined);
        Assert.Null(await Store.FindMessageByKeyAsync(ws.Id, "digest-2", Ct));
        Assert.Equal(3, (await Store.GetMessageEventsAsync(ws.Id, digest.Id, Ct)).Count);
        var digestItems = await Store.GetDigestItemsAsync(ws.Id, digest.Id, Ct);
        Assert.Equal(MessageIdsOf(items[..2]), MessageIdsOf(digestItems));
        AssertMessage(Merged(items[1]) with { DigestId = digest.Id }, digestItems[1]);

        // Another key, or another person, has a digest of its own.
        var weekly = await Store.JoinDigestAsync(Merged(items[4]), NewDigest(ws.Id, 1, "digest-w", "weekly"), Events(items[4]), Ct);
        var others = await Store.JoinDigestAsync(Merged(items[5]), NewDigest(ws.Id, 2, "digest-o"), Events(items[5]), Ct);
        Assert.Equal(3, new[] { digest.Id, weekly.Id, others.Id }.Distinct().Count());
        Assert.Equal(3, await Store.CountMessagesAsync(ws.Id, new MessageQuery(Status: MessageStatuses.Collecting), Ct));

        // Once it is closed, the next item opens a new one.
        await Store.ApplyDeliveryAsync(new DeliveryWrite([digest with { Status = MessageStatuses.Sending }], []), Ct);
        var next = await Store.JoinDigestAsync(Merged(items[2]), NewDigest(ws.Id, 1, "digest-3"), Events(items[2]), Ct);
        Assert.NotEqual(digest.Id, next.Id);
        Assert.Equal(MessageIdsOf([items[2]]), MessageIdsOf(await Store.GetDigestItemsAsync(ws.Id, next.Id, Ct)));
        Assert.Equal(MessageIdsOf(items[..2]), MessageIdsOf(await Store.GetDigestItemsAsync(ws.Id, digest.Id, Ct)));

        // A new digest whose key is taken (with no open digest to join) is a conflict, and nothing is written.
        await Store.ApplyDeliveryAsync(new DeliveryWrite([next with { Status = MessageStatuses.Sending }], []), Ct);
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.JoinDigestAsync(Merged(items[3]), NewDigest(ws.Id, 1, "digest-1"), Events(items[3]), Ct));
        AssertMessage(items[3], await Store.GetMessageAsync(ws.Id, items[3].Id, Ct));
        Assert.Single(await Store.GetMessageEventsAsync(ws.Id, items[3].Id, Ct));
        Assert.Empty(await Store.GetDigestItemsAsync(ws.Id, 999_999, Ct));
        var other = await NewWorkspaceAsync("other");
        Assert.Empty(await Store.GetDigestItemsAsync(other.Id, digest.Id, Ct));
    }

    [Fact]
    public async Task Concurrent_items_for_one_person_and_key_end_in_exactly_one_digest()
    {
        var ws = await NewWorkspaceAsync();
        const int Count = 8;
        for (var round = 0; round < 3; round++)
        {
            // Each item brings a new digest of its own key (round 0, 2) or all bring the same key (round 1).
            var profile = 10 + round;
            var items = await InsertOutboundAsync([.. Enumerable.Range(0, Count).Select(i =>
                Outbound(ws.Id, $"r{round}-item-{i}", profile, due: T0) with { DigestKey = DailyDigest })]);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var joins = items.Select((item, i) => Task.Run(async () =>
            {
                await start.Task;
                return await Store.JoinDigestAsync(item with { Status = MessageStatuses.Merged, DueAt = null },
                    NewDigest(ws.Id, profile, round == 1 ? $"r{round}-digest" : $"r{round}-digest-{i}"),
                    [new MessageEvent(ws.Id, 0, profile, T0, MessageEventKinds.Digested, null, $"added m_{item.Id}")], Ct);
            }, Ct)).ToArray();
            start.SetResult();
            var digests = await Task.WhenAll(joins);

            var digestId = Assert.Single(digests.Select(d => d.Id).Distinct());
            var open = await Store.ListMessagesAsync(ws.Id, new MessageQuery(ProfileId: profile, Status: MessageStatuses.Collecting), Ct);
            Assert.Equal(digestId, Assert.Single(open).Id);
            Assert.Equal(Count + 1, await Store.CountMessagesAsync(ws.Id, new MessageQuery(ProfileId: profile), Ct));
            Assert.Equal(MessageIdsOf(items), MessageIdsOf(await Store.GetDigestItemsAsync(ws.Id, digestId, Ct)));
            Assert.All(await Store.GetMessagesAsync(ws.Id, [.. MessageIdsOf(items)], Ct), m =>
            {
                Assert.Equal(digestId, m.DigestId);
                Assert.Equal(MessageStatuses.Merged, m.Status);
            });
            Assert.Equal(Count, (await Store.GetMessageEventsAsync(ws.Id, digestId, Ct)).Count(e => e.Kind == MessageEventKinds.Digested));
        }
    }

    [Fact]
    public async Task Messages_left_sending_after_a_crash_become_due_now()
    {
        var ws = await NewWorkspaceAsync();
        var m = await InsertOutboundAsync(
            Outbound(ws.Id, "unsure", 1, status: MessageStatuses.Sending),
            Outbound(ws.Id, "unsure-later", 1, Lane.Transactional, status: MessageStatuses.Sending, due: T0.AddHours(1)),
            Outbound(ws.Id, "unsure-due", 1, status: MessageStatuses.Sending, due: T0.AddMinutes(-5)),
            Outbound(ws.Id, "sent", 1, status: MessageStatuses.Sent, due: T0.AddHours(1)),
            Outbound(ws.Id, "done", 1, status: MessageStatuses.Delivered));

        Assert.Equal(2, await Store.RecoverSendingMessagesAsync(T0, Ct));
        Assert.Equal([T0, T0, T0.AddMinutes(-5), T0.AddHours(1), null],
            (await Store.GetMessagesAsync(ws.Id, [.. MessageIdsOf(m)], Ct)).Select(x => x.DueAt));
        AssertMessage(m[0] with { DueAt = T0 }, await Store.GetMessageAsync(ws.Id, m[0].Id, Ct));
        Assert.Equal([m[1].Id], MessageIdsOf(await Store.GetDueMessagesAsync(Lane.Transactional, T0, 10, [], Ct)));
        Assert.Equal(0, await Store.RecoverSendingMessagesAsync(T0, Ct));
    }

    // ---- what the pipeline reads about people ----------------------------------------------------

    [Fact]
    public async Task Ledgers_hold_messages_dispatched_since_a_time_oldest_first_per_profile()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        var m = await InsertOutboundAsync(
            Outbound(ws.Id, "old", 1) with { DispatchedAt = T0.AddHours(-2) },
            Outbound(ws.Id, "opened", 1) with { DispatchedAt = T0, Channel = ChannelNames.Email, DedupKey = "promo", OpenedAt = T0.AddMinutes(1) },
            Outbound(ws.Id, "edge", 1, Lane.Transactional) with { DispatchedAt = T0.AddHours(-1), Channel = ChannelNames.Sms },
            Outbound(ws.Id, "clicked", 2) with { DispatchedAt = T0.AddMinutes(-30), ClickedAt = T0 },
            Outbound(ws.Id, "read", 2) with { DispatchedAt = T0.AddMinutes(-30), ReadAt = T0 },
            Outbound(ws.Id, "undispatched", 1),
            Outbound(ws.Id, "not-asked", 3) with { DispatchedAt = T0 },
            Outbound(other.Id, "elsewhere", 1) with { DispatchedAt = T0 });

        var ledgers = await Store.LoadLedgersAsync(ws.Id, [1, 2, 4], T0.AddHours(-1), Ct);
        Assert.Equal([1L, 2], ledgers.Keys.Order());
        Assert.Equal(
            [
                new LedgerEntry(m[2].Id, T0.AddHours(-1), ChannelNames.Sms, Categories.Transactional, Lane.Transactional, null, false),
                new LedgerEntry(m[1].Id, T0, ChannelNames.Email, Categories.Marketing, Lane.Marketing, "promo", true),
            ],
            ledgers[1]);
        Assert.Equal(
            [
                new LedgerEntry(m[3].Id, T0.AddMinutes(-30), null, Categories.Marketing, Lane.Marketing, null, true),
                new LedgerEntry(m[4].Id, T0.AddMinutes(-30), null, Categories.Marketing, Lane.Marketing, null, true),
            ],
            ledgers[2]);
        Assert.Empty(await Store.LoadLedgersAsync(ws.Id, [], T0.AddDays(-1), Ct));
        Assert.Empty(await Store.LoadLedgersAsync(ws.Id, [1], T0.AddSeconds(1), Ct));
    }

    [Fact]
    public async Task Subscriptions_cool_downs_and_the_consent_log_are_read_per_profile()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        await Store.SetSubscriptionsAsync(
        [
            Sub(ws.Id, 2, "newsletter", ChannelNames.Email, SubscriptionState.Unsubscribed, "link", T0),
            Sub(ws.Id, 1, Categories.Marketing, "*", SubscriptionState.Unsubscribed, "api", T0),
            Sub(ws.Id, 1, Categories.Marketing, ChannelNames.Email, SubscriptionState.Subscribed, "form", T0.AddMinutes(1)),
            Sub(ws.Id, 1, "Newsletter", ChannelNames.Email, SubscriptionState.Subscribed, "form", T0.AddMinutes(2)),
            Sub(other.Id, 1, Categories.Marketing, "*", SubscriptionState.Subscribed, "api", T0),
        ], Ct);
        await Store.SetSubscriptionsAsync([Sub(ws.Id, 1, Categories.Marketing, "*", SubscriptionState.Subscribed, "preferences", T0.AddMinutes(3))], Ct);
        await Store.SetSubscriptionsAsync([], Ct);

        Assert.Equal(
            [
                Sub(ws.Id, 1, "Newsletter", ChannelNames.Email, SubscriptionState.Subscribed, "form", T0.AddMinutes(2)),
                Sub(ws.Id, 1, Categories.Marketing, "*", SubscriptionState.Subscribed, "preferences", T0.AddMinutes(3)),
                Sub(ws.Id, 1, Categories.Marketing, ChannelNames.Email, SubscriptionState.Subscribed, "form", T0.AddMinutes(1)),
                Sub(ws.Id, 2, "newsletter", ChannelNames.Email, SubscriptionState.Unsubscribed, "link", T0),
            ],
            await Store.LoadSubscriptionsAsync(ws.Id, [2, 1, 9], Ct));
        Assert.Empty(await Store.LoadSubscriptionsAsync(ws.Id, [], Ct));
        Assert.Single(await Store.LoadSubscriptionsAsync(other.Id, [1, 2], Ct));

        var log = await Store.GetConsentLogAsync(ws.Id, 1, 10, Ct);
        Assert.Equal([("preferences", SubscriptionState.Subscribed), ("form", SubscriptionState.Subscribed), ("form", SubscriptionState.Subscribed),
            ("api", SubscriptionState.Unsubscribed)], log.Select(c => (c.Source, c.State)));
        Assert.Equal(new ConsentRecord(ws.Id, 1, Categories.Marketing, "*", SubscriptionState.Unsubscribed, "api", T0), log[^1]);
        Assert.Equal(2, (await Store.GetConsentLogAsync(ws.Id, 1, 2, Ct)).Count);
        Assert.Empty(await Store.GetConsentLogAsync(ws.Id, 9, 10, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetConsentLogAsync(ws.Id, 1, 0, Ct));

        await Store.ApplyDeliveryAsync(new DeliveryWrite([], [],
            CoolDowns: [new CoolDown(ws.Id, 1, T0.AddDays(1), "complaint", T0), new CoolDown(ws.Id, 3, T0.AddDays(2), "ignored", T0.AddTicks(1_234_567))]), Ct);
        Assert.Equal(
            [new CoolDown(ws.Id, 1, T0.AddDays(1), "complaint", T0), new CoolDown(ws.Id, 3, T0.AddDays(2), "ignored", T0.AddMilliseconds(123))],
            (await Store.LoadCoolDownsAsync(ws.Id, [3, 1, 2], Ct)).OrderBy(c => c.ProfileId));
        Assert.Empty(await Store.LoadCoolDownsAsync(other.Id, [1, 3], Ct));
        Assert.Empty(await Store.LoadCoolDownsAsync(ws.Id, [], Ct));
    }

    [Fact]
    public async Task Identities_of_several_profiles_are_loaded_oldest_first()
    {
        var ws = await NewWorkspaceAsync();
        var a = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.UserId, "u-1"), new IdentityKey(IdentityKinds.Email, "a@example.com"));
        var b = await CreateProfileAsync(ws.Id);
        var c = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.Phone, "+8613800000000"));
        await InTxAsync(tx => tx.PutIdentitiesAsync(
        [
            new IdentityRow(ws.Id, new IdentityKey(IdentityKinds.AnonymousId, "anon"), a.Id, T0.AddMinutes(1)),
            new IdentityRow(ws.Id, new IdentityKey(IdentityKinds.Email, "B@example.com"), a.Id, T0),
        ], Ct));

        var loaded = await Store.LoadIdentitiesAsync(ws.Id, [a.Id, b.Id, c.Id, 999_999], Ct);
        Assert.Equal([a.Id, c.Id], loaded.Keys.Order());
        Assert.Equal(
            [
                new IdentityKey(IdentityKinds.Email, "B@example.com"), new IdentityKey(IdentityKinds.Email, "a@example.com"),
                new IdentityKey(IdentityKinds.UserId, "u-1"), new IdentityKey(IdentityKinds.AnonymousId, "anon"),
            ],
            loaded[a.Id]);
        Assert.Equal([new IdentityKey(IdentityKinds.Phone, "+8613800000000")], loaded[c.Id]);
        Assert.Empty(await Store.LoadIdentitiesAsync(ws.Id, [], Ct));
        var other = await NewWorkspaceAsync("other");
        Assert.Empty(await Store.LoadIdentitiesAsync(other.Id, [a.Id], Ct));
    }

    [Fact]
    public async Task Suppressed_addresses_are_found_listed_and_removed()
    {
        var ws = await NewWorkspaceAsync();
        var other = await NewWorkspaceAsync("other");
        await Store.ApplyDeliveryAsync(new DeliveryWrite([], [], Suppressions:
        [
            new DeliverySuppression(ws.Id, "email", "a@example.com", SuppressionReasons.HardBounce, "550", T0),
            new DeliverySuppression(ws.Id, "email", "b@example.com", SuppressionReasons.Complaint, null, T0.AddMinutes(2)),
            new DeliverySuppression(ws.Id, "phone", "+8613800000000", SuppressionReasons.Manual, "asked", T0.AddMinutes(1)),
            new DeliverySuppression(ws.Id, "push", "token-1", SuppressionReasons.Manual, null, T0.AddMinutes(2)),
            new DeliverySuppression(other.Id, "email", "c@example.com", SuppressionReasons.Manual, null, T0),
        ]), Ct);

        var found = await Store.FindDeliverySuppressionsAsync(ws.Id,
            [("email", "a@example.com"), ("email", "A@example.com"), ("phone", "+8613800000000"), ("email", "c@example.com"), ("phone", "a@example.com"),
                ("email", "a@example.com")], Ct);
        Assert.Equal(
            [
                new DeliverySuppression(ws.Id, "email", "a@example.com", SuppressionReasons.HardBounce, "550", T0),
                new DeliverySuppression(ws.Id, "phone", "+8613800000000", SuppressionReasons.Manual, "asked", T0.AddMinutes(1)),
            ],
            found.OrderBy(s => s.Kind, StringComparer.Ordinal));
        Assert.Empty(await Store.FindDeliverySuppressionsAsync(ws.Id, [], Ct));

        // Newest first, then by kind and address.
        Assert.Equal([("email", "b@example.com"), ("push", "token-1"), ("phone", "+8613800000000"), ("email", "a@example.com")],
            (await Store.ListDeliverySuppressionsAsync(ws.Id, null, 10, Ct)).Select(s => (s.Kind, s.Address)));
        Assert.Equal([("email", "b@example.com"), ("push", "token-1")], (await Store.ListDeliverySuppressionsAsync(ws.Id, null, 2, Ct)).Select(s => (s.Kind, s.Address)));
        Assert.Equal(["b@example.com", "a@example.com"], (await Store.ListDeliverySuppressionsAsync(ws.Id, "email", 10, Ct)).Select(s => s.Address));
        Assert.Empty(await Store.ListDeliverySuppressionsAsync(ws.Id, "wechat", 10, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.ListDeliverySuppressionsAsync(ws.Id, null, 0, Ct));

        Assert.True(await Store.RemoveDeliverySuppressionAsync(ws.Id, "email", "a@example.com", Ct));
        Assert.False(await Store.RemoveDeliverySuppressionAsync(ws.Id, "email", "a@example.com", Ct));
        Assert.False(await Store.RemoveDeliverySuppressionAsync(ws.Id, "email", "c@example.com", Ct));
        Assert.Empty(await Store.FindDeliverySuppressionsAsync(ws.Id, [("email", "a@example.com")], Ct));
        Assert.Single(await Store.FindDeliverySuppressionsAsync(other.Id, [("email", "c@example.com")], Ct));
    }

    // ---- providers ---------------------------------------------------------------------------------

    [Fact]
    public async Task Providers_are_saved_replaced_listed_in_failover_order_and_deleted()
    {
        var a = await NewWorkspaceAsync("a");
        var b = await NewWorkspaceAsync("b");
        ProviderRecord Provider(long ws, string id, string channel, int priority, bool enabled = true) =>
            new(ws, id, channel, "smtp", priority, enabled, $$"""{"host":"{{id}}.example.com", "password": "s3cret"}""", T0);
        foreach (var p in new[]
                 {
                     Provider(a.Id, "smtp-b", ChannelNames.Email, 2), Provider(a.Id, "sms-1", ChannelNames.Sms, 0), Provider(a.Id, "smtp-a", ChannelNames.Email, 2),
                     Provider(a.Id, "smtp-z", ChannelNames.Email, 1), Provider(b.Id, "hook", ChannelNames.Webhook, 0) with { Kind = "webhook" },
                 })
            await Store.SaveProviderAsync(p, Ct);

        Assert.Equal(["smtp-z", "smtp-a", "smtp-b", "sms-1"], (await Store.ListProvidersAsync(a.Id, Ct)).Select(p => p.Id));
        Assert.Equal([(a.Id, "smtp-z"), (a.Id, "smtp-a"), (a.Id, "smtp-b"), (a.Id, "sms-1"), (b.Id, "hook")],
            (await Store.ListProvidersAsync(null, Ct)).Select(p => (p.WorkspaceId, p.Id)));
        Assert.Equal(Provider(a.Id, "smtp-z", ChannelNames.Email, 1), (await Store.ListProvidersAsync(a.Id, Ct))[0]);

        // Replaced whole.
        var replaced = new ProviderRecord(a.Id, "smtp-a", ChannelNames.Sms, "sandbox", 5, false, "{}", T0.AddTicks(1_234_567), RatePerSecond: 12.5, MaxConcurrency: 3);
        await Store.SaveProviderAsync(replaced, Ct);
        var listed = await Store.ListProvidersAsync(a.Id, Ct);
        Assert.Equal(["smtp-z", "smtp-b", "sms-1", "smtp-a"], listed.Select(p => p.Id));
        Assert.Equal(replaced with { UpdatedAt = T0.AddMilliseconds(123) }, listed[^1]);

        Assert.True(await Store.DeleteProviderAsync(a.Id, "smtp-a", Ct));
        Assert.False(await Store.DeleteProviderAsync(a.Id, "smtp-a", Ct));
        Assert.False(await Store.DeleteProviderAsync(a.Id, "hook", Ct));
        Assert.Equal(3, (await Store.ListProvidersAsync(a.Id, Ct)).Count);
        Assert.Single(await Store.ListProvidersAsync(b.Id, Ct));

        // Limits are cleared by a save without them.
        await Store.SaveProviderAsync(Provider(a.Id, "sms-1", ChannelNames.Sms, 0) with { RatePerSecond = 0.5 }, Ct);
        Assert.Equal((0.5, (int?)null), (await Store.ListProvidersAsync(a.Id, Ct)).Single(p => p.Id == "sms-1") is var l ? (l.RatePerSecond, l.MaxConcurrency) : default);
        await Store.SaveProviderAsync(Provider(a.Id, "sms-1", ChannelNames.Sms, 0), Ct);
        Assert.Null((await Store.ListProvidersAsync(a.Id, Ct)).Single(p => p.Id == "sms-1").RatePerSecond);
    }

    [Fact]
    public async Task A_dead_push_token_is_removed_from_its_profile_only()
    {
        var ws = await NewWorkspaceAsync();
        var a = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.UserId, "u-1"), new IdentityKey("push:ios", "tok-a"), new IdentityKey("push:web", "sub-1"));
        var b = await CreateProfileAsync(ws.Id, new IdentityKey("push:ios", "tok-b"));
        await Store.ApplyDeliveryAsync(new DeliveryWrite([], [], RemovedIdentities:
        [
            new RemovedIdentity(ws.Id, a.Id, "push:ios", "tok-a"),
            new RemovedIdentity(ws.Id, a.Id, "push:ios", "tok-b"), // belongs to b now: kept
            new RemovedIdentity(ws.Id, a.Id, "push:web", "missing"),
        ]), Ct);
        var loaded = await Store.LoadIdentitiesAsync(ws.Id, [a.Id, b.Id], Ct);
        Assert.Equal([new IdentityKey("push:web", "sub-1"), new IdentityKey(IdentityKinds.UserId, "u-1")], loaded[a.Id].OrderBy(k => k.Kind, StringComparer.Ordinal));
        Assert.Equal([new IdentityKey("push:ios", "tok-b")], loaded[b.Id]);
        Assert.Null(await Store.FindProfileIdAsync(ws.Id, new IdentityKey("push:ios", "tok-a"), Ct));
    }

    // ---- transactions, merge, erasure --------------------------------------------------------------

    [Fact]
    public async Task A_batch_inserts_messages_with_its_transaction()
    {
        var ws = await NewWorkspaceAsync();
        await using (var tx = await Store.BeginAsync(Ct))
        {
            await tx.InsertMessagesAsync([Outbound(ws.Id, "tx-1", 1, due: T0, source: "journey") with { StepId = "send" }], Ct);
            // Not committed.
        }
        Assert.Null(await Store.FindMessageByKeyAsync(ws.Id, "tx-1", Ct));
        Assert.Empty(await Store.GetProfileMessageEventsAsync(ws.Id, 1, 10, Ct));
        Assert.Null(await Store.GetNextMessageDueAsync(Ct));

        await InTxAsync(async tx =>
        {
            await tx.InsertMessagesAsync([Outbound(ws.Id, "tx-1", 1, due: T0, source: "journey") with { StepId = "send" }, Outbound(ws.Id, "tx-2", 1)], Ct);
            await tx.InsertMessagesAsync([], Ct);
        });
        var first = await Store.FindMessageByKeyAsync(ws.Id, "tx-1", Ct);
        AssertMessage(Outbound(ws.Id, "tx-1", 1, due: T0, source: "journey") with { StepId = "send", Id = first!.Id }, first);
        Assert.NotNull(await Store.FindMessageByKeyAsync(ws.Id, "tx-2", Ct));
        Assert.Equal(["queued by the send API", "queued by journey step 'send'"], (await Store.GetProfileMessageEventsAsync(ws.Id, 1, 10, Ct)).Select(e => e.Detail));
        Assert.Equal(T0, await Store.GetNextMessageDueAsync(Ct));

        // A repeated key is skipped.
        await InTxAsync(tx => tx.InsertMessagesAsync([Outbound(ws.Id, "tx-1", 1) with { DataJson = """{"again":true}""" }], Ct));
        AssertMessage(first, await Store.FindMessageByKeyAsync(ws.Id, "tx-1", Ct));
        Assert.Equal(2, (await Store.GetProfileMessageEventsAsync(ws.Id, 1, 10, Ct)).Count);
    }

    [Fact]
    public async Task A_journey_conversion_is_attributed_to_the_sent_messages_of_its_instance_only()
    {
        var ws = await NewWorkspaceAsync();
        await Store.InsertMessagesAsync([Outbound(ws.Id, "j77-3", 1), Outbound(ws.Id, "j77-4", 1), Outbound(ws.Id, "j777-1", 1), Outbound(ws.Id, "j7-1", 1)], Ct);
        var sent = new List<OutboundMessage>();
        foreach (var key in (string[])["j77-3", "j777-1", "j7-1"])
            sent.Add((await Store.FindMessageByKeyAsync(ws.Id, key, Ct))! with { Status = MessageStatuses.Sent, SentAt = T0, Channel = "email" });
        await Store.ApplyDeliveryAsync(new DeliveryWrite(sent, []), Ct);

        await InTxAsync(tx => tx.RecordMessageConversionsAsync([new Chuda.Domain.Journeys.JourneyConversion(ws.Id, 1, 1, 77, 1, T0.AddHours(1), "wait", "{}")], Ct));
        var converted = (await Store.GetProfileMessageEventsAsync(ws.Id, 1, 100, Ct)).Where(e => e.Kind == MessageEventKinds.Converted).ToList();
        var only = Assert.Single(converted);
        Assert.Equal(sent[0].Id, only.MessageId);
        Assert.Equal(("email", T0.AddHours(1)), (only.Channel, only.At));
        Assert.Contains("goal", only.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Merging_moves_delivery_rows_to_the_survivor()
    {
        var ws = await NewWorkspaceAsync();
        var survivor = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.UserId, "known"));
        var merged = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.AnonymousId, "anon"));
        var earlier = await CreateProfileAsync(ws.Id, new IdentityKey(IdentityKinds.AnonymousId, "anon-2"));
        var bystander = await CreateProfileAsync(ws.Id);
        var (s, m, e, b) = (survivor.Id, merged.Id, earlier.Id, bystander.Id);

        var msgs = await InsertOutboundAsync(
            Outbound(ws.Id, "s-1", s) with { DispatchedAt = T0 },
            Outbound(ws.Id, "m-1", m, due: T0) with { DispatchedAt = T0.AddMinutes(1) },
            Outbound(ws.Id, "b-1", b),
            Outbound(ws.Id, "s-item", s) with { DigestKey = DailyDigest },
            Outbound(ws.Id, "m-item", m) with { DigestKey = DailyDigest },
            Outbound(ws.Id, "m-weekly", m) with { DigestKey = "weekly" });
        var sDigest = await Store.JoinDigestAsync(msgs[3] with { Status = MessageStatuses.Merged }, NewDigest(ws.Id, s, "s-digest"), [], Ct);
        var mDigest = await Store.JoinDigestAsync(msgs[4] with { Status = MessageStatuses.Merged }, NewDigest(ws.Id, m, "m-digest"), [], Ct);
        var mWeekly = await Store.JoinDigestAsync(msgs[5] with { Status = MessageStatuses.Merged }, NewDigest(ws.Id, m, "m-weekly-digest", "weekly"), [], Ct);
        await Store.ApplyDeliveryAsync(new DeliveryWrite([], [new MessageEvent(ws.Id, msgs[1].Id, m, T0, MessageEventKinds.Routed, ChannelNames.Email, "x")],
            CoolDowns:
            [
                new CoolDown(ws.Id, s, T0.AddDays(1), "ignored", T0), new CoolDown(ws.Id, m, T0.AddDays(3), "complaint", T0.AddMinutes(1)),
                new CoolDown(ws.Id, e, T0.AddDays(2), "unsubscribe", T0.AddMinutes(2)), new CoolDown(ws.Id, b, T0.AddDays(9), "complaint", T0),
            ],
            Subscriptions:
            [
                Sub(ws.Id, s, Categories.Marketing, ChannelNames.Email, SubscriptionState.Subscribed, "survivor"),
                Sub(ws.Id, m, Categories.Marketing, ChannelNames.Email, SubscriptionState.Unsubscribed, "merged"),
                Sub(ws.Id, m, "newsletter", "*", SubscriptionState.Unsubscribed, "merged"),
                Sub(ws.Id, b, "newsletter", "*", SubscriptionState.Subscribed, "bystander"),
            ]), Ct);

        await InTxAsync(tx => tx.MergeProfilesAsync(ws.Id, m, merged.Version, s, Ct));

        // Messages, their timelines and the consent log follow the person.
        Assert.Empty(await Store.ListMessagesAsync(ws.Id, new MessageQuery(ProfileId: m), Ct));
        Assert.Equal(8, await Store.CountMessagesAsync(ws.Id, new MessageQuery(ProfileId: s), Ct));
        AssertMessage(msgs[1] with { ProfileId = s }, await Store.GetMessageAsync(ws.Id, msgs[1].Id, Ct));
        Assert.Equal([msgs[1].Id], MessageIdsOf(await Store.GetDueMessagesAsync(Lane.Marketing, T0, 10, [], Ct)));
        Assert.Empty(await Store.GetProfileMessageEventsAsync(ws.Id, m, 10, Ct));
        Assert.Equal(
            [new MessageEvent(ws.Id, msgs[1].Id, s, T0, MessageEventKinds.Queued, null, "queued by the send API"),
                new MessageEvent(ws.Id, msgs[1].Id, s, T0, MessageEventKinds.Routed, ChannelNames.Email, "x")],
            await Store.GetMessageEventsAsync(ws.Id, msgs[1].Id, Ct));
        Assert.Equal([msgs[0].Id, msgs[1].Id], (await Store.LoadLedgersAsync(ws.Id, [s, m], T0, Ct))[s].Select(l => l.MessageId));
        Assert.Empty(await Store.GetConsentLogAsync(ws.Id, m, 10, Ct));
        Assert.Equal(["merged", "merged", "survivor"], (await Store.GetConsentLogAsync(ws.Id, s, 10, Ct)).Select(c => c.Source));

        // The survivor's own subscription wins; the merged profile's others move.
        Assert.Equal(
            [
                Sub(ws.Id, s, Categories.Marketing, ChannelNames.Email, SubscriptionState.Subscribed, "survivor"),
                Sub(ws.Id, s, "newsletter", "*", SubscriptionState.Unsubscribed, "merged"),
            ],
            await Store.LoadSubscriptionsAsync(ws.Id, [s, m], Ct));
        // The later cool-down end wins.
        Assert.Equal([new CoolDown(ws.Id, s, T0.AddDays(3), "complaint", T0)], await Store.LoadCoolDownsAsync(ws.Id, [s, m], Ct));

        // Both had an open daily digest: the survivor's collects both items, the merged one is closed; the weekly one moves.
        var open = await Store.ListMessagesAsync(ws.Id, new MessageQuery(ProfileId: s, Status: MessageStatuses.Collecting), Ct);
        Assert.Equal([mWeekly.Id, sDigest.Id], MessageIdsOf(open));
        Assert.Equal([msgs[3].Id, msgs[4].Id], MessageIdsOf(await Store.GetDigestItemsAsync(ws.Id, sDigest.Id, Ct)));
        Assert.Empty(await Store.GetDigestItemsAsync(ws.Id, mDigest.Id, Ct));
        var closed = await Store.GetMessageAsync(ws.Id, mDigest.Id, Ct);
        Assert.Equal((s, MessageStatuses.Merged, (DateTimeOffset?)null), (closed!.ProfileId, closed.Status, closed.DueAt));
        Assert.Contains(MessageIds.Format(sDigest.Id), closed.Reason, StringComparison.Ordinal);
        Assert.Equal([msgs[5].Id], MessageIdsOf(await Store.GetDigestItemsAsync(ws.Id, mWeekly.Id, Ct)));
        // New items join the survivor's digest.
        var late = (await InsertOutboundAsync(Outbound(ws.Id, "late", s) with { DigestKey = DailyDigest })).Single();
        Assert.Equal(sDigest.Id, (await Store.JoinDigestAsync(late with { Status = MessageStatuses.Merged }, NewDigest(ws.Id, s, "late-digest"), [], Ct)).Id);

        // An earlier cool-down end does not replace the survivor's.
        await InTxAsync(tx => tx.MergeProfilesAsync(ws.Id, e, earlier.Version, s, Ct));
        Assert.Equal([new CoolDown(ws.Id, s, T0.AddDays(3), "complaint", T0)], await Store.LoadCoolDownsAsync(ws.Id, [s, e], Ct));

        // The bystander keeps its own.
        Assert.Equal([msgs[2].Id], MessageIdsOf(await Store.ListMessagesAsync(ws.Id, new MessageQuery(ProfileId: b), Ct)));
        Assert.Equal([Sub(ws.Id, b, "newsletter", "*", SubscriptionState.Subscribed, "bystander")], await Store.LoadSubscriptionsAsync(ws.Id, [b], Ct));
        Assert.Equal([new CoolDown(ws.Id, b, T0.AddDays(9), "complaint", T0)], await Store.LoadCoolDownsAsync(ws.Id, [b], Ct));
    }

    [Fact]
    public async Task A_rolled_back_merge_leaves_delivery_rows_where_they_were()
    {
        var ws = await NewWorkspaceAsync();
        var survivor = await CreateProfileAsync(ws.Id);
        var merged = await CreateProfileAsync(ws.Id);
        var m = (await InsertOutboundAsync(Outbound(ws.Id, "m-1", merged.Id))).Single();
        await Store.SetSubscriptionsAsync([Sub(ws.Id, merged.Id, Categories.Marketing, "*", SubscriptionState.Unsubscribed, "link")], Ct);
        await using (var tx = await Store.BeginAsync(Ct))
            await tx.MergeProfilesAsync(ws.Id, merged.Id, merged.Version, survivor.Id, Ct);
        AssertMessage(m, await Store.GetMessageAsync(ws.Id, m.Id, Ct));
        Assert.Single(await Store.LoadSubscriptionsAsync(ws.Id, [merged.Id], Ct));
        Assert.Single(await Store.GetConsentLogAsync(ws.Id, merged.Id, 10, Ct));
    }

    [Fact]
    public async Task Erasure_deletes_the_profiles_delivery_rows_only()
    {
        var ws = await NewWorkspaceAsync();
        var victim = await CreateProfileAsync(ws.Id);
        var bystander = await CreateProfileAsync(ws.Id);
        var (v, b) = (victim.Id, bystander.Id);
        var msgs = await InsertOutboundAsync(Outbound(ws.Id, "v-1", v, due: T0), Outbound(ws.Id, "b-1", b, due: T0), Outbound(ws.Id, "raw", null, due: T0));
        var digest = await Store.JoinDigestAsync((await InsertOutboundAsync(Outbound(ws.Id, "v-item", v) with { DigestKey = DailyDigest }))[0],
            NewDigest(ws.Id, v, "v-digest"), [], Ct);
        await Store.ApplyDeliveryAsync(new DeliveryWrite([], [new MessageEvent(ws.Id, msgs[0].Id, v, T0, MessageEventKinds.Sent, null, "x")],
            Suppressions: [new DeliverySuppression(ws.Id, "email", "victim@example.com", SuppressionReasons.Complaint, null, T0)],
            CoolDowns: [new CoolDown(ws.Id, v, T0.AddDays(1), "complaint", T0), new CoolDown(ws.Id, b, T0.AddDays(1), "complaint", T0)],
            Subscriptions:
            [
                Sub(ws.Id, v, Categories.Marketing, "*", SubscriptionState.Unsubscribed, "link"),
                Sub(ws.Id, b, Categories.Marketing, "*", SubscriptionState.Unsubscribed, "link"),
            ]), Ct);

        await InTxAsync(tx => tx.EraseProfileAsync(ws.Id, v, [], Ct));

        Assert.Empty(await Store.ListMessagesAsync(ws.Id, new MessageQuery(ProfileId: v), Ct));
        Assert.Null(await Store.GetMessageAsync(ws.Id, msgs[0].Id, Ct));
        Assert.Null(await Store.GetMessageAsync(ws.Id, digest.Id, Ct));
        Assert.Empty(await Store.GetMessageEventsAsync(ws.Id, msgs[0].Id, Ct));
        Assert.Empty(await Store.GetProfileMessageEventsAsync(ws.Id, v, 10, Ct));
        Assert.Empty(await Store.LoadSubscriptionsAsync(ws.Id, [v], Ct));
        Assert.Empty(await Store.GetConsentLogAsync(ws.Id, v, 10, Ct));
        Assert.Empty(await Store.LoadCoolDownsAsync(ws.Id, [v], Ct));
        Assert.Equal([msgs[1].Id, msgs[2].Id], MessageIdsOf(await Store.GetDueMessagesAsync(Lane.Marketing, T0, 10, [], Ct)));

        // Others' rows stay, and so does the suppressed address (it is what keeps the person from being mailed again).
        Assert.Single(await Store.GetProfileMessageEventsAsync(ws.Id, b, 10, Ct));
        Assert.Single(await Store.GetMessageEventsAsync(ws.Id, msgs[2].Id, Ct));
        Assert.Single(await Store.LoadSubscriptionsAsync(ws.Id, [b], Ct));
        Assert.Single(await Store.GetConsentLogAsync(ws.Id, b, 10, Ct));
        Assert.Single(await Store.LoadCoolDownsAsync(ws.Id, [b], Ct));
        Assert.Single(await Store.FindDeliverySuppressionsAsync(ws.Id, [("email", "victim@example.com")], Ct));
    }
}
