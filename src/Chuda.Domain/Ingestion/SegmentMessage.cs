using System.Text.Json;
using Chuda.Domain.Profiles;

namespace Chuda.Domain.Ingestion;

public enum MessageType
{
    Identify,
    Track,
    Page,
    Screen,
    Group,
    Alias,
}

/// <summary>
/// One validated, normalised Segment message (Tracking API spec). Immutable: JSON parts are <see cref="JsonElement"/>s
/// cloned out of the request buffer.
/// </summary>
/// <param name="Timestamp">The event time after clock-skew correction (see <see cref="SegmentParser"/>).</param>
/// <param name="Traits">identify/group traits; for other types <c>context.traits</c> when present; else undefined.</param>
/// <param name="Timezone">IANA zone from <c>context.timezone</c>, validated.</param>
/// <param name="Identities">Contact points and external ids found in the message (email, phone in E.164, push
/// tokens, WeChat ids, <c>context.externalIds</c>), normalised. Never contains user_id/anonymous_id.</param>
/// <param name="Json">The normalised message as stored in the event log (includes messageId, timestamp, receivedAt).</param>
public sealed record SegmentMessage(
    MessageType Type,
    string MessageId,
    string? UserId,
    string? AnonymousId,
    DateTimeOffset Timestamp,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? SentAt,
    DateTimeOffset? OriginalTimestamp,
    string? Event,
    string? Name,
    string? PreviousId,
    string? GroupId,
    JsonElement Traits,
    JsonElement Properties,
    JsonElement Context,
    string? Timezone,
    string? Locale,
    IReadOnlyList<IdentityKey> Identities,
    string Json)
{
    /// <summary>The wire name of <see cref="Type"/>: identify, track, ...</summary>
    public string TypeName => SegmentParser.TypeName(Type);
}

/// <summary>A validation fault, naming the field by its JSON path (e.g. <c>batch[3].userId</c>).</summary>
/// <param name="TooLarge">The fault is a size limit (answered 413), not malformed input (400).</param>
public sealed record FieldError(string Field, string Message, bool TooLarge = false);

/// <summary>The outcome of parsing a request body: either messages, or errors (never both applied partially).</summary>
/// <param name="WriteKey">The <c>writeKey</c> property of the body, when present.</param>
public sealed record ParseResult(IReadOnlyList<SegmentMessage> Messages, string? WriteKey, IReadOnlyList<FieldError> Errors)
{
    public bool IsValid => Errors.Count == 0;
}

/// <summary>Segment's documented limits.</summary>
public static class IngestLimits
{
    public const int MaxEventBytes = 32 * 1024;
    public const int MaxBatchBytes = 500 * 1024;
    public const int MaxBatchEvents = 2500;
}
