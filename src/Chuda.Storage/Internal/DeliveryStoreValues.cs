using System.Text.Json;
using Chuda.Domain.Delivery;

namespace Chuda.Storage.Internal;

/// <summary>The message row's columns and value conversions, shared by both stores.</summary>
internal static class DeliveryStoreValues
{
    /// <summary>Every column of <c>messages</c> except <c>id</c>, in the order the stores bind and read them (after the id).</summary>
    public static readonly string[] MessageColumns =
    [
        "workspace_id", "idempotency_key", "profile_id", "address", "source", "journey_key", "step_id", "template_id", "inline_template",
        "category", "lane", "channels", "channel_index", "channel", "recipient", "provider", "dedup_key", "dedup_window_ms", "digest_key",
        "digest_window_ms", "digest_id", "fallback_after_ms", "fallback_until", "data", "locale", "status", "due_at", "attempts", "expires_at",
        "created_at", "dispatched_at", "sent_at", "delivered_at", "opened_at", "clicked_at", "read_at", "archived_at", "provider_message_id",
        "content", "reason",
    ];

    public static readonly string SelectColumns = "id, " + string.Join(", ", MessageColumns);

    public static string ChannelsToJson(IReadOnlyList<string> channels) => JsonSerializer.Serialize(channels, DeliveryJson.Default.IReadOnlyListString);

    public static IReadOnlyList<string> ChannelsFromJson(string json) =>
        json is "[]" or "" ? [] : JsonSerializer.Deserialize(json, DeliveryJson.Default.ListString) ?? [];

    /// <summary>The column values of a message (without its id), as .NET values for a command parameter; null → DBNull is the caller's job.</summary>
    public static object?[] Values(OutboundMessage m, Func<DateTimeOffset?, object?> time) =>
    [
        m.WorkspaceId, m.IdempotencyKey, m.ProfileId, m.Address, m.Source, m.JourneyKey, m.StepId, m.TemplateId, m.InlineTemplateJson,
        m.Category, (int)m.Lane, ChannelsToJson(m.Channels), m.ChannelIndex, m.Channel, m.Recipient, m.Provider, m.DedupKey,
        Millis(m.DedupWindow), m.DigestKey, Millis(m.DigestWindow), m.DigestId, Millis(m.Fallback?.After), m.Fallback?.Until, m.DataJson, m.Locale,
        m.Status, time(m.DueAt), m.Attempts, time(m.ExpiresAt), time(m.CreatedAt), time(m.DispatchedAt), time(m.SentAt), time(m.DeliveredAt),
        time(m.OpenedAt), time(m.ClickedAt), time(m.ReadAt), time(m.ArchivedAt), m.ProviderMessageId, m.ContentJson, m.Reason,
    ];

    private static long? Millis(TimeSpan? t) => t is { } v ? (long)v.TotalMilliseconds : null;

    public static TimeSpan? Span(long? ms) => ms is { } v ? TimeSpan.FromMilliseconds(v) : null;

    /// <summary>Builds a message from column values read in <see cref="SelectColumns"/> order.</summary>
    public static OutboundMessage Read(Func<int, bool> isNull, Func<int, long> int64, Func<int, string> text, Func<int, DateTimeOffset> time)
    {
        string? T(int i) => isNull(i) ? null : text(i);
        long? L(int i) => isNull(i) ? null : int64(i);
        DateTimeOffset? D(int i) => isNull(i) ? null : time(i);
        var fallbackAfter = Span(L(22));
        return new OutboundMessage(
            WorkspaceId: int64(1), Id: int64(0), IdempotencyKey: text(2), ProfileId: L(3), Address: T(4), Source: text(5), JourneyKey: L(6),
            StepId: T(7), TemplateId: T(8), InlineTemplateJson: T(9), Category: text(10), Lane: (Lane)int64(11), Channels: ChannelsFromJson(text(12)),
            ChannelIndex: (int)int64(13), Channel: T(14), Recipient: T(15), Provider: T(16), DedupKey: T(17), DedupWindow: Span(L(18)),
            DigestKey: T(19), DigestWindow: Span(L(20)), DigestId: L(21),
            Fallback: fallbackAfter is { } fa ? new FallbackRule(fa, T(23) ?? FallbackRule.Delivered) : null,
            DataJson: text(24), Locale: T(25), Status: text(26), DueAt: D(27), Attempts: (int)int64(28), ExpiresAt: D(29), CreatedAt: time(30),
            DispatchedAt: D(31), SentAt: D(32), DeliveredAt: D(33), OpenedAt: D(34), ClickedAt: D(35), ReadAt: D(36), ArchivedAt: D(37),
            ProviderMessageId: T(38), ContentJson: T(39), Reason: T(40));
    }

    /// <summary>The timeline entry written for every new message.</summary>
    public static string QueuedDetail(OutboundMessage m) => m.Source switch
    {
        "journey" => $"queued by journey step '{m.StepId}'",
        "api" => "queued by the send API",
        "digest" => $"digest '{m.DigestKey}' opened",
        _ => "queued by " + m.Source,
    };
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class DeliveryJson : System.Text.Json.Serialization.JsonSerializerContext;
