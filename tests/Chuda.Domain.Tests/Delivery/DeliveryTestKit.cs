using System.Text.Json;
using Chuda.Domain.Delivery;
using Chuda.Domain.Journeys;

namespace Chuda.Domain.Tests.Delivery;

/// <summary>Builders for delivery-policy tests: messages, recipients, settings and instants (always explicit, never the clock).</summary>
internal static class DeliveryTestKit
{
    public const string Email = ChannelNames.Email;
    public const string Sms = ChannelNames.Sms;
    public const string Push = ChannelNames.Push;
    public const string InApp = ChannelNames.InApp;
    public const string WeChat = ChannelNames.WeChat;
    public const string Webhook = ChannelNames.Webhook;

    public const string Marketing = Categories.Marketing;
    public const string Transactional = Categories.Transactional;

    /// <summary>The id of the message under test (ledger entries use other ids unless a test says otherwise).</summary>
    public const long MessageId = 1000;

    public static TimeZoneInfo Berlin => Zone("Europe/Berlin");

    public static TimeZoneInfo NewYork => Zone("America/New_York");

    public static TimeZoneInfo Shanghai => Zone("Asia/Shanghai");

    public static TimeZoneInfo Zone(string id)
    {
        Assert.True(LocalTimes.TryFindZone(id, out var zone), $"zone {id} not found");
        return zone;
    }

    public static DateTimeOffset Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, TimeSpan.Zero);

    /// <summary>An instant given as a local wall-clock time with an explicit UTC offset.</summary>
    public static DateTimeOffset At(int year, int month, int day, int hour, int minute, double offsetHours) =>
        new(year, month, day, hour, minute, 0, TimeSpan.FromHours(offsetHours));

    public static TimeOnly T(int hour, int minute = 0) => new(hour, minute);

    public static QuietWindow Window(int startHour, int endHour) => new(T(startHour), T(endHour));

    public static JsonElement Json(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    /// <summary>A queued message for profile 7 with the given shape; everything else neutral.</summary>
    public static OutboundMessage Message(
        string category = Marketing,
        IReadOnlyList<string>? channels = null,
        int channelIndex = 0,
        string? dedupKey = null,
        TimeSpan? dedupWindow = null,
        string? digestKey = null,
        DateTimeOffset? expiresAt = null,
        long id = MessageId) =>
        new(
            WorkspaceId: 1,
            Id: id,
            IdempotencyKey: "idem-" + id,
            ProfileId: 7,
            Address: null,
            Source: "test",
            JourneyKey: null,
            StepId: null,
            TemplateId: "tpl",
            InlineTemplateJson: null,
            Category: category,
            Lane: Categories.IsTransactional(category) ? Lane.Transactional : Lane.Marketing,
            Channels: channels ?? [],
            ChannelIndex: channelIndex,
            Channel: null,
            Recipient: null,
            Provider: null,
            DedupKey: dedupKey,
            DedupWindow: dedupWindow,
            DigestKey: digestKey,
            DigestWindow: digestKey is null ? null : TimeSpan.FromHours(1),
            DigestId: null,
            Fallback: null,
            DataJson: "{}",
            Locale: null,
            Status: MessageStatuses.Queued,
            DueAt: null,
            Attempts: 0,
            ExpiresAt: expiresAt,
            CreatedAt: Utc(2026, 1, 1),
            DispatchedAt: null,
            SentAt: null,
            DeliveredAt: null,
            OpenedAt: null,
            ClickedAt: null,
            ReadAt: null,
            ArchivedAt: null,
            ProviderMessageId: null,
            ContentJson: null,
            Reason: null);

    /// <summary>Addresses for every channel.</summary>
    public static Dictionary<string, string> AllAddresses() => new(StringComparer.Ordinal)
    {
        [Email] = "a@b.example",
        [Sms] = "+8613800000000",
        [Push] = "push-token",
        [InApp] = "user-1",
        [WeChat] = "openid-1",
        [Webhook] = "https://hooks.example/x",
    };

    /// <summary>A recipient reachable on every channel, with no subscriptions, suppressions, cool-down or history.</summary>
    public static RecipientState Recipient(
        string? zone = null,
        IReadOnlyDictionary<string, string>? addresses = null,
        IReadOnlyList<Subscription>? subscriptions = null,
        IReadOnlyDictionary<string, string>? suppressed = null,
        CoolDown? coolDown = null,
        List<LedgerEntry>? ledger = null,
        IReadOnlyList<string>? preferred = null,
        string? userId = "user-1",
        IReadOnlyList<string>? tags = null,
        bool erased = false) =>
        new()
        {
            ProfileId = 7,
            UserId = userId,
            TimeZone = zone,
            Tags = tags ?? [],
            Erased = erased,
            Addresses = addresses ?? AllAddresses(),
            PreferredChannels = preferred ?? [],
            Subscriptions = subscriptions ?? [],
            SuppressedAddresses = suppressed ?? new Dictionary<string, string>(),
            CoolDown = coolDown,
            Ledger = ledger ?? [],
        };

    public static Dictionary<string, string> Only(params string[] channels)
    {
        var all = AllAddresses();
        return channels.ToDictionary(c => c, c => all[c], StringComparer.Ordinal);
    }

    /// <summary>Default settings without quiet hours (so tests about other steps are independent of the time of day).</summary>
    public static DeliverySettings NoQuiet => DeliverySettings.Default with
    {
        QuietHours = null,
        QuietHoursByChannel = new Dictionary<string, QuietWindow?>(StringComparer.Ordinal),
    };

    public static DeliverySettings WithCaps(params FrequencyCap[] caps) => NoQuiet with { Caps = caps };

    public static Subscription Sub(string category, string channel, SubscriptionState state) =>
        new(1, 7, category, channel, state, "test", Utc(2026, 1, 1));

    public static LedgerEntry Entry(long id, DateTimeOffset at, string? channel = Email, string category = Marketing, string? dedupKey = null,
        bool engaged = false) =>
        new(id, at, channel, category, Categories.IsTransactional(category) ? Lane.Transactional : Lane.Marketing, dedupKey, engaged);

    public static DeliveryDecision Decide(OutboundMessage m, RecipientState r, DeliverySettings s, DateTimeOffset now, string? workspaceZone = null,
        DecideMode mode = DecideMode.Full) => DeliveryPolicy.Decide(m, r, s, workspaceZone, now, mode);

    public static void AssertRoute(DeliveryDecision d, string channel, int index)
    {
        Assert.True(d.Kind == DecisionKind.Route, $"expected a route to {channel}, got {d.Kind}: {d.Reason}");
        Assert.Equal(channel, d.Channel);
        Assert.Equal(index, d.ChannelIndex);
        Assert.Equal(AllAddresses()[channel], d.Recipient);
    }

    public static void AssertDrop(DeliveryDecision d, string reason)
    {
        Assert.True(d.Kind == DecisionKind.Drop, $"expected a drop ({reason}), got {d.Kind}: {d.Reason}");
        Assert.Equal(reason, d.Reason);
        Assert.Null(d.Channel);
        Assert.Null(d.Until);
    }

    public static string[] NoteTexts(DeliveryDecision d) => [.. (d.Notes ?? []).Select(n => n.Text)];
}
