using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Chuda.Domain.Profiles;

namespace Chuda.Domain.Ingestion;

/// <summary>Options of <see cref="SegmentParser"/>.</summary>
/// <param name="DefaultCountryCallingCode">Calling code (e.g. <c>"44"</c>) used to normalise a national phone trait
/// that has no <c>+</c>/<c>00</c> prefix; null: such numbers yield no phone identity (Chinese mobiles still get +86).</param>
public sealed record SegmentParseOptions(string? DefaultCountryCallingCode = null)
{
    public static SegmentParseOptions Default { get; } = new();
}

/// <summary>
/// Parses and validates Segment Tracking API bodies. Pure: no I/O, time comes in as an argument.
/// <para>Rules (see also the tests):</para>
/// <list type="bullet">
/// <item>Every fault is reported as a <see cref="FieldError"/> named by its JSON path (<c>userId</c>,
/// <c>batch[3].event</c>, <c>context.timezone</c>, <c>line 7.type</c> with a line prefix); all faults are collected,
/// and when there is any, no message is returned. Faults of the body itself (malformed JSON, not an object, too
/// large) are named <c>body</c> (or the line prefix for <see cref="ParseLine"/>).</item>
/// <item>userId/anonymousId: string or number (a number becomes its JSON text); empty or white-space strings and
/// <c>null</c> count as missing; at most 255 characters. Every message needs one of them (else an error on
/// <c>userId</c>); alias needs userId and previousId; track a non-empty event; group a groupId.</item>
/// <item>messageId: string, at most 255 characters; missing/empty → <c>newMessageId()</c>.</item>
/// <item>event, name, previousId, groupId, context.locale: strings (or null = absent). traits, properties,
/// context, context.traits, context.device, context.os: objects (or null = absent).</item>
/// <item>timestamp, originalTimestamp, sentAt: ISO-8601 strings as System.Text.Json reads them (date, or date
/// <c>T</c> time with optional fraction and offset); without an offset they are UTC.</item>
/// <item>context.timezone: an IANA zone id (see <see cref="Normalization.IsValidTimeZone"/>: Windows ids are
/// rejected); <see cref="SegmentMessage.Timezone"/> holds the canonical spelling, the JSON keeps the given one.</item>
/// <item>Clock skew: base = timestamp ?? originalTimestamp; with base and sentAt (the message's, else the
/// batch's) the timestamp is base + (receivedAt − sentAt); base alone → base; no base → receivedAt.</item>
/// <item>Identities come from identify traits, and for every other type (group included: group traits describe
/// the group, not the person) from <c>context.traits</c>: <c>email</c>, <c>phone</c> (E.164; a trait that does not
/// normalise yields no identity but stays a trait), <c>wechat_openid</c>, <c>wechat_unionid</c>; push tokens from
/// <c>context.device.token</c> (kind <c>push:</c> + device.type, else os.name, lower-cased, else <c>unknown</c>);
/// <c>context.externalIds</c> → <c>external:&lt;type&gt;</c> (types email/phone/wechat_openid/wechat_unionid map
/// to those kinds). Deduplicated, in that order.</item>
/// <item>Batch: a batch-level <c>context</c> is deep-merged under each message's context (the message wins);
/// a batch-level <c>sentAt</c> applies to messages without one. The body's <c>writeKey</c> is returned in
/// <see cref="ParseResult.WriteKey"/> and never stored.</item>
/// <item><see cref="SegmentMessage.Json"/>: type, messageId, userId/anonymousId (as strings), the other given
/// fields verbatim, the merged context (always an object), the corrected <c>timestamp</c> and <c>receivedAt</c>
/// (UTC, ms), originalTimestamp and the effective sentAt as given. <see cref="SegmentMessage.Context"/> is always
/// an object; <see cref="SegmentMessage.Traits"/>/<see cref="SegmentMessage.Properties"/> are undefined when
/// absent. The JSON elements are owned (safe to keep after the body buffer is reused); the messages of one request
/// share one immutable document holding the parsed body.</item>
/// </list>
/// </summary>
public static class SegmentParser
{
    public const int MaxIdLength = 255;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    public static ParseResult ParseSingle(ReadOnlySpan<byte> utf8Body, MessageType impliedType, DateTimeOffset receivedAt,
        Func<string> newMessageId) =>
        ParseSingle(utf8Body, impliedType, receivedAt, newMessageId, SegmentParseOptions.Default);

    /// <summary>Parses the body of <c>/v1/identify</c>, <c>/v1/track</c>, ...: one message whose <c>type</c>, if
    /// present, must be <paramref name="impliedType"/>. A body over <see cref="IngestLimits.MaxEventBytes"/> is a
    /// TooLarge error.</summary>
    public static ParseResult ParseSingle(ReadOnlySpan<byte> utf8Body, MessageType impliedType, DateTimeOffset receivedAt,
        Func<string> newMessageId, SegmentParseOptions options)
    {
        ArgumentNullException.ThrowIfNull(newMessageId);
        ArgumentNullException.ThrowIfNull(options);
        var errors = new Errors();
        if (utf8Body.Length > IngestLimits.MaxEventBytes)
        {
            errors.Add("body", $"The message is larger than {IngestLimits.MaxEventBytes} bytes.", tooLarge: true);
            return errors.Result(null);
        }

        return ParseOneMessageBody(utf8Body, impliedType, receivedAt, newMessageId, options, new FieldPath("", -1), errors);
    }

    public static ParseResult ParseLine(ReadOnlySpan<byte> utf8Line, DateTimeOffset receivedAt, Func<string> newMessageId,
        string fieldPrefix) =>
        ParseLine(utf8Line, receivedAt, newMessageId, fieldPrefix, SegmentParseOptions.Default);

    /// <summary>Parses one JSONL line of an import: one message, <c>type</c> required. Field names in errors are
    /// prefixed with <paramref name="fieldPrefix"/> and a dot (e.g. <c>line 7.userId</c>); faults of the line itself
    /// are named by the prefix (or <c>body</c> when it is empty).</summary>
    public static ParseResult ParseLine(ReadOnlySpan<byte> utf8Line, DateTimeOffset receivedAt, Func<string> newMessageId,
        string fieldPrefix, SegmentParseOptions options)
    {
        ArgumentNullException.ThrowIfNull(newMessageId);
        ArgumentNullException.ThrowIfNull(options);
        var path = new FieldPath(fieldPrefix ?? "", -1);
        var errors = new Errors();
        if (utf8Line.Length > IngestLimits.MaxEventBytes)
        {
            errors.Add(path.Self, $"The message is larger than {IngestLimits.MaxEventBytes} bytes.", tooLarge: true);
            return errors.Result(null);
        }

        return ParseOneMessageBody(utf8Line, null, receivedAt, newMessageId, options, path, errors);
    }

    public static ParseResult ParseBatch(ReadOnlySpan<byte> utf8Body, DateTimeOffset receivedAt, Func<string> newMessageId) =>
        ParseBatch(utf8Body, receivedAt, newMessageId, SegmentParseOptions.Default);

    /// <summary>Parses the body of <c>/v1/batch</c> (and <c>/v1/import</c>):
    /// <c>{"batch":[...], "sentAt"?, "context"?, "writeKey"?}</c>. Each item needs a <c>type</c>. A body over
    /// <see cref="IngestLimits.MaxBatchBytes"/>, more than <see cref="IngestLimits.MaxBatchEvents"/> items, or an item
    /// over <see cref="IngestLimits.MaxEventBytes"/> are TooLarge errors.</summary>
    public static ParseResult ParseBatch(ReadOnlySpan<byte> utf8Body, DateTimeOffset receivedAt, Func<string> newMessageId,
        SegmentParseOptions options)
    {
        ArgumentNullException.ThrowIfNull(newMessageId);
        ArgumentNullException.ThrowIfNull(options);
        var errors = new Errors();
        if (utf8Body.Length > IngestLimits.MaxBatchBytes)
        {
            errors.Add("body", $"The batch is larger than {IngestLimits.MaxBatchBytes} bytes.", tooLarge: true);
            return errors.Result(null);
        }

        if (!TryParse(utf8Body, "body", errors, out var root))
        {
            return errors.Result(null);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add("body", "The body must be a JSON object.");
            return errors.Result(null);
        }

        if (ContainsNul(utf8Body, root, new FieldPath("", -1), errors))
        {
            return errors.Result(null);
        }

        JsonElement batch = default, sentAtEl = default, context = default, writeKeyEl = default;
        foreach (var prop in root.EnumerateObject())
        {
            if (prop.NameEquals("batch"u8))
            {
                batch = prop.Value;
            }
            else if (prop.NameEquals("sentAt"u8))
            {
                sentAtEl = prop.Value;
            }
            else if (prop.NameEquals("context"u8))
            {
                context = prop.Value;
            }
            else if (prop.NameEquals("writeKey"u8))
            {
                writeKeyEl = prop.Value;
            }
        }

        var writeKey = ReadWriteKey(writeKeyEl, "writeKey", errors);
        var rootPath = new FieldPath("", -1);
        if (batch.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            errors.Add("batch", "batch is required.");
            return errors.Result(writeKey);
        }

        if (batch.ValueKind != JsonValueKind.Array)
        {
            errors.Add("batch", "batch must be an array.");
            return errors.Result(writeKey);
        }

        var count = batch.GetArrayLength();
        if (count > IngestLimits.MaxBatchEvents)
        {
            errors.Add("batch", $"A batch holds at most {IngestLimits.MaxBatchEvents} messages; this one has {count}.",
                tooLarge: true);
            return errors.Result(writeKey);
        }

        context = ReadObject(context, rootPath, "context", errors);
        var contextParts = context.ValueKind == JsonValueKind.Object ? ScanContext(context, rootPath, errors) : default;
        var batchSentAt = ReadTimestamp(sentAtEl, rootPath, "sentAt", errors);
        var batchLevel = new BatchLevel(context, contextParts, sentAtEl, batchSentAt);

        var messages = new List<SegmentMessage>(count);
        var builder = Builder.ForThread();
        var i = 0;
        foreach (var item in batch.EnumerateArray())
        {
            var path = new FieldPath("batch", i++);
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors.Add(path.Self, "Each batch item must be a JSON object.");
                continue;
            }

            if (JsonMarshal.GetRawUtf8Value(item).Length > IngestLimits.MaxEventBytes)
            {
                errors.Add(path.Self, $"The message is larger than {IngestLimits.MaxEventBytes} bytes.", tooLarge: true);
                continue;
            }

            var message = ParseMessage(item, null, batchLevel, receivedAt, newMessageId, options, path, errors, builder);
            if (message is not null)
            {
                messages.Add(message);
            }
        }

        return errors.Count > 0 ? errors.Result(writeKey) : new ParseResult(messages, writeKey, []);
    }

    private static ParseResult ParseOneMessageBody(ReadOnlySpan<byte> utf8, MessageType? impliedType,
        DateTimeOffset receivedAt, Func<string> newMessageId, SegmentParseOptions options, FieldPath path, Errors errors)
    {
        if (!TryParse(utf8, path.Self, errors, out var root))
        {
            return errors.Result(null);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add(path.Self, "The message must be a JSON object.");
            return errors.Result(null);
        }

        if (ContainsNul(utf8, root, path, errors))
        {
            return errors.Result(null);
        }

        var writeKey = root.TryGetProperty("writeKey"u8, out var wk) ? ReadWriteKey(wk, path.Of("writeKey"), errors) : null;
        var message = ParseMessage(root, impliedType, BatchLevel.None, receivedAt, newMessageId, options, path, errors,
            Builder.ForThread());
        return message is null || errors.Count > 0 ? errors.Result(writeKey) : new ParseResult([message], writeKey, []);
    }

    /// <summary>
    /// The NUL character (<c>\u0000</c>) is refused anywhere in a message: PostgreSQL cannot store it in text, and no
    /// real identifier or name contains it. A fast scan of the raw bytes finds candidates; a walk names the field.
    /// </summary>
    private static bool ContainsNul(ReadOnlySpan<byte> utf8, JsonElement root, FieldPath path, Errors errors)
    {
        if (utf8.IndexOf("\\u0000"u8) < 0) return false;
        if (FindNul(root, "") is not { } field) return false;
        errors.Add(field.Length == 0 ? path.Self : path.Of(field), "Must not contain the NUL character (\\u0000).");
        return true;
    }

    private static string? FindNul(JsonElement el, string path)
    {
        switch (el.ValueKind)
        {
            case JsonValueKind.String:
                return el.GetString()!.Contains('\0', StringComparison.Ordinal) ? path : null;
            case JsonValueKind.Object:
                foreach (var prop in el.EnumerateObject())
                {
                    var child = path.Length == 0 ? prop.Name : path + "." + prop.Name;
                    if (prop.Name.Contains('\0', StringComparison.Ordinal)) return child;
                    if (FindNul(prop.Value, child) is { } found) return found;
                }
                return null;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in el.EnumerateArray())
                {
                    if (FindNul(item, $"{path}[{i++}]") is { } found) return found;
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>Parses the whole body into one immutable, non-pooled document: the messages' JSON elements point
    /// into it (no per-message copies), so it lives as long as any of them.</summary>
    private static bool TryParse(ReadOnlySpan<byte> utf8, string field, Errors errors, out JsonElement root)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, ReaderOptions);
            root = JsonElement.ParseValue(ref reader);
            if (reader.Read())
            {
                errors.Add(field, "Malformed JSON: unexpected content after the JSON value.");
                return false;
            }

            return true;
        }
        catch (JsonException e)
        {
            errors.Add(field, "Malformed JSON: " + e.Message);
            root = default;
            return false;
        }
    }

    private static string? ReadWriteKey(JsonElement el, string field, Errors errors)
    {
        switch (el.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return el.GetString();
            default:
                errors.Add(field, "writeKey must be a string.");
                return null;
        }
    }

    private static SegmentMessage? ParseMessage(JsonElement msg, MessageType? impliedType, BatchLevel batch,
        DateTimeOffset receivedAt, Func<string> newMessageId, SegmentParseOptions options, FieldPath path, Errors errors,
        Builder builder)
    {
        JsonElement typeEl = default, messageIdEl = default, userIdEl = default, anonymousIdEl = default;
        JsonElement timestampEl = default, originalTimestampEl = default, sentAtEl = default;
        JsonElement eventEl = default, nameEl = default, previousIdEl = default, groupIdEl = default;
        JsonElement traitsEl = default, propertiesEl = default, contextEl = default;
        foreach (var prop in msg.EnumerateObject())
        {
            switch (Classify(prop))
            {
                case Field.Type: typeEl = prop.Value; break;
                case Field.MessageId: messageIdEl = prop.Value; break;
                case Field.UserId: userIdEl = prop.Value; break;
                case Field.AnonymousId: anonymousIdEl = prop.Value; break;
                case Field.Timestamp: timestampEl = prop.Value; break;
                case Field.OriginalTimestamp: originalTimestampEl = prop.Value; break;
                case Field.SentAt: sentAtEl = prop.Value; break;
                case Field.Event: eventEl = prop.Value; break;
                case Field.Name: nameEl = prop.Value; break;
                case Field.PreviousId: previousIdEl = prop.Value; break;
                case Field.GroupId: groupIdEl = prop.Value; break;
                case Field.Traits: traitsEl = prop.Value; break;
                case Field.Properties: propertiesEl = prop.Value; break;
                case Field.Context: contextEl = prop.Value; break;
                default: break;
            }
        }

        // Type.
        MessageType? type = impliedType;
        if (typeEl.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            if (impliedType is null)
            {
                errors.Add(path.Of("type"), "type is required (identify, track, page, screen, group or alias).");
            }
        }
        else if (typeEl.ValueKind != JsonValueKind.String || !TryParseType(typeEl, out var parsed))
        {
            errors.Add(path.Of("type"), "type must be one of identify, track, page, screen, group, alias.");
            type = null;
        }
        else if (impliedType is not null && parsed != impliedType)
        {
            errors.Add(path.Of("type"), $"type '{typeEl.GetString()}' does not match the endpoint ({TypeName(impliedType.Value)}).");
            type = null;
        }
        else
        {
            type = parsed;
        }

        // Identifiers and strings.
        var userId = ReadId(userIdEl, path, "userId", errors);
        var anonymousId = ReadId(anonymousIdEl, path, "anonymousId", errors);
        var messageId = ReadString(messageIdEl, path, "messageId", errors);
        if (messageId is not null && messageId.Length > MaxIdLength)
        {
            errors.Add(path.Of("messageId"), $"messageId is longer than {MaxIdLength} characters.");
        }

        var eventName = ReadString(eventEl, path, "event", errors);
        var name = ReadString(nameEl, path, "name", errors);
        var previousId = ReadString(previousIdEl, path, "previousId", errors);
        var groupId = ReadString(groupIdEl, path, "groupId", errors);
        traitsEl = ReadObject(traitsEl, path, "traits", errors);
        propertiesEl = ReadObject(propertiesEl, path, "properties", errors);
        contextEl = ReadObject(contextEl, path, "context", errors);
        var contextParts = contextEl.ValueKind == JsonValueKind.Object ? ScanContext(contextEl, path, errors) : default;

        var timestamp = ReadTimestamp(timestampEl, path, "timestamp", errors);
        var originalTimestamp = ReadTimestamp(originalTimestampEl, path, "originalTimestamp", errors);
        var sentAt = ReadTimestamp(sentAtEl, path, "sentAt", errors);

        // Required fields.
        if (type == MessageType.Alias)
        {
            if (string.IsNullOrWhiteSpace(userId) && !errors.Has(path, "userId"))
            {
                errors.Add(path.Of("userId"), "alias requires userId.");
            }

            if (string.IsNullOrWhiteSpace(previousId) && !errors.Has(path, "previousId"))
            {
                errors.Add(path.Of("previousId"), "alias requires previousId.");
            }
        }
        else if (userId is null && anonymousId is null && !errors.Has(path, "userId") && !errors.Has(path, "anonymousId"))
        {
            errors.Add(path.Of("userId"), "Either userId or anonymousId is required.");
        }

        if (type == MessageType.Track && string.IsNullOrWhiteSpace(eventName) && !errors.Has(path, "event"))
        {
            errors.Add(path.Of("event"), "track requires a non-empty event.");
        }

        if (type == MessageType.Group && string.IsNullOrWhiteSpace(groupId) && !errors.Has(path, "groupId"))
        {
            errors.Add(path.Of("groupId"), "group requires groupId.");
        }

        // Clock skew.
        var baseTime = timestamp ?? originalTimestamp;
        var effectiveSentAt = sentAt ?? batch.SentAt;
        var corrected = receivedAt;
        if (baseTime is { } b)
        {
            corrected = b;
            if (effectiveSentAt is { } s)
            {
                var ticks = b.UtcTicks + (receivedAt.UtcTicks - s.UtcTicks);
                if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
                {
                    errors.Add(path.Of(timestamp is null ? "originalTimestamp" : "timestamp"),
                        "The clock-skew corrected timestamp is out of range.");
                }
                else
                {
                    corrected = new DateTimeOffset(ticks, TimeSpan.Zero);
                }
            }
        }

        if (errors.Count > 0 || type is null)
        {
            // Nothing is returned when anything failed; skip building (also for earlier items' faults).
            return null;
        }

        var sentAtRaw = sentAt is not null ? sentAtEl : batch.SentAt is not null ? batch.SentAtElement : default;
        var finalMessageId = string.IsNullOrEmpty(messageId) ? newMessageId() : messageId;
        var json = builder.Write(msg, type.Value, finalMessageId, userId, anonymousId, contextEl, batch.Context, corrected,
            originalTimestampEl, sentAtRaw, receivedAt, out var mergedContext);

        // The elements point into the request's (owned, immutable) document; a merged context was parsed on its own.
        JsonElement context;
        ContextParts parts;
        if (mergedContext.ValueKind == JsonValueKind.Object)
        {
            context = mergedContext;
            parts = ScanContext(mergedContext, path, null);
        }
        else if (contextEl.ValueKind == JsonValueKind.Object)
        {
            context = contextEl;
            parts = contextParts;
        }
        else if (batch.Context.ValueKind == JsonValueKind.Object)
        {
            context = batch.Context;
            parts = batch.ContextParts;
        }
        else
        {
            context = EmptyObject;
            parts = default;
        }

        var contextTraits = parts.Traits.ValueKind == JsonValueKind.Object ? parts.Traits : default;
        var traits = type is MessageType.Identify or MessageType.Group ? traitsEl : contextTraits;
        var properties = propertiesEl;
        var timezone = parts.CanonicalTimezone;
        var locale = parts.Locale.ValueKind == JsonValueKind.String ? parts.Locale.GetString() : null;
        var identities = ExtractIdentities(type == MessageType.Identify ? traitsEl : contextTraits, parts, options);

        return new SegmentMessage(
            type.Value,
            finalMessageId,
            userId,
            anonymousId,
            corrected,
            receivedAt,
            effectiveSentAt,
            originalTimestamp,
            type == MessageType.Track ? eventName : null,
            type is MessageType.Page or MessageType.Screen ? name : null,
            previousId,
            groupId,
            traits,
            properties,
            context,
            timezone,
            locale,
            identities,
            json);
    }

    private enum Field : byte
    {
        Other,
        Type,
        MessageId,
        UserId,
        AnonymousId,
        Timestamp,
        OriginalTimestamp,
        SentAt,
        ReceivedAt,
        Event,
        Name,
        PreviousId,
        GroupId,
        Traits,
        Properties,
        Context,
        WriteKey,
    }

    /// <summary>Which top-level message field a property is (by its unescaped name).</summary>
    private static Field Classify(JsonProperty prop)
    {
        var n = JsonMarshal.GetRawUtf8PropertyName(prop);
        if (n.IndexOf((byte)'\\') >= 0)
        {
            n = Encoding.UTF8.GetBytes(prop.Name);
        }

        return n.Length switch
        {
            4 => n.SequenceEqual("type"u8) ? Field.Type : n.SequenceEqual("name"u8) ? Field.Name : Field.Other,
            5 => n.SequenceEqual("event"u8) ? Field.Event : Field.Other,
            6 => n.SequenceEqual("userId"u8) ? Field.UserId
                : n.SequenceEqual("sentAt"u8) ? Field.SentAt
                : n.SequenceEqual("traits"u8) ? Field.Traits : Field.Other,
            7 => n.SequenceEqual("context"u8) ? Field.Context : n.SequenceEqual("groupId"u8) ? Field.GroupId : Field.Other,
            8 => n.SequenceEqual("writeKey"u8) ? Field.WriteKey : Field.Other,
            9 => n.SequenceEqual("messageId"u8) ? Field.MessageId : n.SequenceEqual("timestamp"u8) ? Field.Timestamp : Field.Other,
            10 => n.SequenceEqual("properties"u8) ? Field.Properties
                : n.SequenceEqual("previousId"u8) ? Field.PreviousId
                : n.SequenceEqual("receivedAt"u8) ? Field.ReceivedAt : Field.Other,
            11 => n.SequenceEqual("anonymousId"u8) ? Field.AnonymousId : Field.Other,
            17 => n.SequenceEqual("originalTimestamp"u8) ? Field.OriginalTimestamp : Field.Other,
            _ => Field.Other,
        };
    }

    private static bool TryParseType(JsonElement el, out MessageType type)
    {
        if (el.ValueEquals("identify"u8))
        {
            type = MessageType.Identify;
        }
        else if (el.ValueEquals("track"u8))
        {
            type = MessageType.Track;
        }
        else if (el.ValueEquals("page"u8))
        {
            type = MessageType.Page;
        }
        else if (el.ValueEquals("screen"u8))
        {
            type = MessageType.Screen;
        }
        else if (el.ValueEquals("group"u8))
        {
            type = MessageType.Group;
        }
        else if (el.ValueEquals("alias"u8))
        {
            type = MessageType.Alias;
        }
        else
        {
            type = default;
            return false;
        }

        return true;
    }

    internal static string TypeName(MessageType type) => type switch
    {
        MessageType.Identify => "identify",
        MessageType.Track => "track",
        MessageType.Page => "page",
        MessageType.Screen => "screen",
        MessageType.Group => "group",
        MessageType.Alias => "alias",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>A user/anonymous id: string or number; empty/white space/null = absent.</summary>
    private static string? ReadId(JsonElement el, FieldPath path, string field, Errors errors)
    {
        string? value;
        switch (el.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                value = el.GetString();
                break;
            case JsonValueKind.Number:
                value = el.GetRawText();
                break;
            default:
                errors.Add(path.Of(field), $"{field} must be a string or a number.");
                return null;
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (value.Length > MaxIdLength)
        {
            errors.Add(path.Of(field), $"{field} is longer than {MaxIdLength} characters.");
            return null;
        }

        return value;
    }

    private static string? ReadString(JsonElement el, FieldPath path, string field, Errors errors)
    {
        switch (el.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                var s = el.GetString();
                return string.IsNullOrEmpty(s) ? null : s;
            default:
                errors.Add(path.Of(field), $"{field} must be a string.");
                return null;
        }
    }

    /// <summary>An object, or absent (null counts as absent and comes back undefined).</summary>
    private static JsonElement ReadObject(JsonElement el, FieldPath path, string field, Errors errors)
    {
        switch (el.ValueKind)
        {
            case JsonValueKind.Object:
                return el;
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return default;
            default:
                errors.Add(path.Of(field), $"{field} must be an object.");
                return default;
        }
    }

    private static DateTimeOffset? ReadTimestamp(JsonElement el, FieldPath path, string field, Errors errors)
    {
        switch (el.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                if (TryReadIso8601(el, out var value))
                {
                    return value;
                }

                errors.Add(path.Of(field), $"{field} must be an ISO-8601 date-time (e.g. 2024-05-01T12:00:00.000Z).");
                return null;
            default:
                errors.Add(path.Of(field), $"{field} must be an ISO-8601 string.");
                return null;
        }
    }

    /// <summary>ISO-8601 as System.Text.Json reads it; a value without an offset is UTC (not the machine's zone).</summary>
    internal static bool TryReadIso8601(JsonElement el, out DateTimeOffset value)
    {
        if (!el.TryGetDateTimeOffset(out value))
        {
            return false;
        }

        // Raw value includes the quotes. An offset designator follows the 'T' time part: Z, + or -.
        var raw = JsonMarshal.GetRawUtf8Value(el);
        var t = raw.IndexOfAny((byte)'T', (byte)'t');
        if (t < 0 || raw[(t + 1)..].IndexOfAny("Zz+-"u8) < 0)
        {
            value = new DateTimeOffset(DateTime.SpecifyKind(value.DateTime, DateTimeKind.Unspecified), TimeSpan.Zero);
        }

        return true;
    }

    /// <summary>Finds (and, with <paramref name="errors"/>, validates) the context parts in one pass.</summary>
    private static ContextParts ScanContext(JsonElement ctx, FieldPath path, Errors? errors)
    {
        JsonElement timezone = default, locale = default, traits = default, device = default, os = default, externalIds = default;
        foreach (var prop in ctx.EnumerateObject())
        {
            var name = JsonMarshal.GetRawUtf8PropertyName(prop);
            if (name.IndexOf((byte)'\\') >= 0)
            {
                name = Encoding.UTF8.GetBytes(prop.Name); // escaped name: compare the unescaped form
            }

            if (name.SequenceEqual("timezone"u8))
            {
                timezone = prop.Value;
            }
            else if (name.SequenceEqual("locale"u8))
            {
                locale = prop.Value;
            }
            else if (name.SequenceEqual("traits"u8))
            {
                traits = prop.Value;
            }
            else if (name.SequenceEqual("device"u8))
            {
                device = prop.Value;
            }
            else if (name.SequenceEqual("os"u8))
            {
                os = prop.Value;
            }
            else if (name.SequenceEqual("externalIds"u8))
            {
                externalIds = prop.Value;
            }
        }

        string? canonical = null;
        if (timezone.ValueKind == JsonValueKind.String && Normalization.IsValidTimeZone(timezone.GetString()!, out var c))
        {
            canonical = c;
        }

        if (errors is null)
        {
            return new ContextParts(timezone, canonical, locale, traits, device, os, externalIds);
        }

        if (timezone.ValueKind == JsonValueKind.String && canonical is null)
        {
            errors.Add(path.Of("context.timezone"), $"'{timezone.GetString()}' is not an IANA time zone id (e.g. Asia/Shanghai).");
        }
        else if (timezone.ValueKind is not (JsonValueKind.String or JsonValueKind.Null or JsonValueKind.Undefined))
        {
            errors.Add(path.Of("context.timezone"), "context.timezone must be a string (an IANA zone id).");
        }

        if (locale.ValueKind is not (JsonValueKind.String or JsonValueKind.Null or JsonValueKind.Undefined))
        {
            errors.Add(path.Of("context.locale"), "context.locale must be a string.");
        }

        ReadObject(traits, path, "context.traits", errors);
        if (ReadObject(device, path, "context.device", errors).ValueKind == JsonValueKind.Object)
        {
            if (device.TryGetProperty("token"u8, out var token))
            {
                ReadString(token, path, "context.device.token", errors);
            }

            if (device.TryGetProperty("type"u8, out var dtype))
            {
                ReadString(dtype, path, "context.device.type", errors);
            }
        }

        if (ReadObject(os, path, "context.os", errors).ValueKind == JsonValueKind.Object
            && os.TryGetProperty("name"u8, out var osName))
        {
            ReadString(osName, path, "context.os.name", errors);
        }

        if (externalIds.ValueKind != JsonValueKind.Undefined)
        {
            ValidateExternalIds(externalIds, path, errors);
        }

        return new ContextParts(timezone, canonical, locale, traits, device, os, externalIds);
    }

    private static void ValidateExternalIds(JsonElement v, FieldPath path, Errors errors)
    {
        if (v.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            errors.Add(path.Of("context.externalIds"), "context.externalIds must be an array.");
            return;
        }

        var i = 0;
        foreach (var item in v.EnumerateArray())
        {
            var at = i++;
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors.Add(path.Of($"context.externalIds[{at}]"), "Each external id must be an object {id, type}.");
                continue;
            }

            var hasId = item.TryGetProperty("id"u8, out var id);
            if (!hasId || id.ValueKind is not (JsonValueKind.String or JsonValueKind.Number)
                || (id.ValueKind == JsonValueKind.String && string.IsNullOrWhiteSpace(id.GetString())))
            {
                errors.Add(path.Of($"context.externalIds[{at}].id"), "id is required (a string or number).");
            }
            else if (id.ValueKind == JsonValueKind.String && id.GetString()!.Length > MaxIdLength)
            {
                errors.Add(path.Of($"context.externalIds[{at}].id"), $"id is longer than {MaxIdLength} characters.");
            }

            if (!item.TryGetProperty("type"u8, out var type) || type.ValueKind != JsonValueKind.String
                || string.IsNullOrWhiteSpace(type.GetString()))
            {
                errors.Add(path.Of($"context.externalIds[{at}].type"), "type is required (a string).");
            }

            if (item.TryGetProperty("collection"u8, out var collection))
            {
                ReadString(collection, path, $"context.externalIds[{at}].collection", errors);
            }

            if (item.TryGetProperty("encoding"u8, out var encoding))
            {
                ReadString(encoding, path, $"context.externalIds[{at}].encoding", errors);
            }
        }
    }

    private static List<IdentityKey> ExtractIdentities(JsonElement traits, ContextParts context, SegmentParseOptions options)
    {
        var ids = new List<IdentityKey>(2);
        if (traits.ValueKind == JsonValueKind.Object)
        {
            if (traits.TryGetProperty("email"u8, out var email) && email.ValueKind == JsonValueKind.String
                && Normalization.TryNormalizeEmail(email.GetString()!, out var e))
            {
                AddUnique(ids, IdentityKinds.Email, e);
            }

            if (traits.TryGetProperty("phone"u8, out var phone) && TryPhone(phone, options, out var ph))
            {
                AddUnique(ids, IdentityKinds.Phone, ph);
            }

            AddStringTrait(ids, traits, "wechat_openid"u8, IdentityKinds.WeChatOpenId);
            AddStringTrait(ids, traits, "wechat_unionid"u8, IdentityKinds.WeChatUnionId);
            AddStringTrait(ids, traits, "wecom_userid"u8, IdentityKinds.WeComUserId);
        }

        var device = context.Device;
        if (device.ValueKind == JsonValueKind.Object && device.TryGetProperty("token"u8, out var token) && token.ValueKind == JsonValueKind.String)
        {
            var tokenValue = token.GetString()!.Trim();
            if (tokenValue.Length > 0)
            {
                string? platform = null;
                if (device.TryGetProperty("type"u8, out var dtype) && dtype.ValueKind == JsonValueKind.String)
                {
                    platform = dtype.GetString()!.Trim();
                }

                var os = context.Os;
                if (string.IsNullOrEmpty(platform)
                    && os.ValueKind == JsonValueKind.Object && os.TryGetProperty("name"u8, out var osName)
                    && osName.ValueKind == JsonValueKind.String)
                {
                    platform = osName.GetString()!.Trim();
                }

                platform = string.IsNullOrEmpty(platform) ? "unknown" : platform.ToLowerInvariant();
                AddUnique(ids, IdentityKinds.PushPrefix + platform, tokenValue);
            }
        }

        var externalIds = context.ExternalIds;
        if (externalIds.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in externalIds.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("id"u8, out var idEl)
                    || !item.TryGetProperty("type"u8, out var typeEl) || typeEl.ValueKind != JsonValueKind.String)
                {
                    continue;
                }

                var id = idEl.ValueKind switch
                {
                    JsonValueKind.String => idEl.GetString()!.Trim(),
                    JsonValueKind.Number => idEl.GetRawText(),
                    _ => "",
                };
                var kind = typeEl.GetString()!.Trim();
                if (id.Length == 0 || kind.Length == 0)
                {
                    continue;
                }

                switch (kind)
                {
                    case "email":
                        if (Normalization.TryNormalizeEmail(id, out var e))
                        {
                            AddUnique(ids, IdentityKinds.Email, e);
                        }

                        break;
                    case "phone":
                        if (Normalization.TryNormalizePhone(id, options.DefaultCountryCallingCode, out var ph))
                        {
                            AddUnique(ids, IdentityKinds.Phone, ph);
                        }

                        break;
                    case IdentityKinds.WeChatOpenId or IdentityKinds.WeChatUnionId or IdentityKinds.WeComUserId:
                        AddUnique(ids, kind, id);
                        break;
                    default:
                        AddUnique(ids, IdentityKinds.ExternalPrefix + kind, id);
                        break;
                }
            }
        }

        return ids;
    }

    private static bool TryPhone(JsonElement phone, SegmentParseOptions options, out string e164)
    {
        var raw = phone.ValueKind switch
        {
            JsonValueKind.String => phone.GetString(),
            JsonValueKind.Number => phone.GetRawText(),
            _ => null,
        };
        e164 = "";
        return raw is not null && Normalization.TryNormalizePhone(raw, options.DefaultCountryCallingCode, out e164);
    }

    private static void AddStringTrait(List<IdentityKey> ids, JsonElement traits, ReadOnlySpan<byte> name, string kind)
    {
        if (traits.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
        {
            var s = v.GetString()!.Trim();
            if (s.Length > 0)
            {
                AddUnique(ids, kind, s);
            }
        }
    }

    private static void AddUnique(List<IdentityKey> ids, string kind, string value)
    {
        var key = new IdentityKey(kind, value);
        foreach (var existing in ids)
        {
            if (existing == key)
            {
                return;
            }
        }

        ids.Add(key);
    }

    /// <summary>Formats as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c> (UTC) into <paramref name="buf"/> (24 bytes).</summary>
    internal static ReadOnlySpan<byte> FormatUtcMillis(DateTimeOffset value, Span<byte> buf)
    {
        var t = value.UtcDateTime;
        var year = t.Year;
        if (year > 9999 || buf.Length < 24)
        {
            throw new ArgumentOutOfRangeException(nameof(value));
        }

        Put(buf, 0, year, 4);
        buf[4] = (byte)'-';
        Put(buf, 5, t.Month, 2);
        buf[7] = (byte)'-';
        Put(buf, 8, t.Day, 2);
        buf[10] = (byte)'T';
        Put(buf, 11, t.Hour, 2);
        buf[13] = (byte)':';
        Put(buf, 14, t.Minute, 2);
        buf[16] = (byte)':';
        Put(buf, 17, t.Second, 2);
        buf[19] = (byte)'.';
        Put(buf, 20, t.Millisecond, 3);
        buf[23] = (byte)'Z';
        return buf[..24];

        static void Put(Span<byte> b, int at, int v, int digits)
        {
            for (var i = at + digits - 1; i >= at; i--)
            {
                b[i] = (byte)('0' + (v % 10));
                v /= 10;
            }
        }
    }

    private static readonly JsonElement EmptyObject = JsonElement.Parse("{}"u8);

    private sealed record BatchLevel(JsonElement Context, ContextParts ContextParts, JsonElement SentAtElement,
        DateTimeOffset? SentAt)
    {
        public static readonly BatchLevel None = new(default, default, default, null);
    }

    /// <summary>The parts of a context object the parser uses, found in one pass.</summary>
    private readonly record struct ContextParts(JsonElement Timezone, string? CanonicalTimezone, JsonElement Locale,
        JsonElement Traits, JsonElement Device, JsonElement Os, JsonElement ExternalIds);

    /// <summary>A JSON path base: <c>""</c> (root), <c>"line 7"</c>, or <c>"batch"</c> with an index.</summary>
    private readonly struct FieldPath(string prefix, int index)
    {
        public string Of(string name) =>
            index >= 0 ? $"{prefix}[{index}].{name}" : prefix.Length == 0 ? name : $"{prefix}.{name}";

        public string Self => index >= 0 ? $"{prefix}[{index}]" : prefix.Length == 0 ? "body" : prefix;
    }

    private sealed class Errors
    {
        private List<FieldError>? _list;

        public int Count => _list?.Count ?? 0;

        public void Add(string field, string message, bool tooLarge = false) =>
            (_list ??= []).Add(new FieldError(field, message, tooLarge));

        public bool Has(FieldPath path, string field)
        {
            if (_list is null)
            {
                return false;
            }

            var name = path.Of(field);
            foreach (var e in _list)
            {
                if (e.Field == name)
                {
                    return true;
                }
            }

            return false;
        }

        public ParseResult Result(string? writeKey) => new([], writeKey, (IReadOnlyList<FieldError>?)_list ?? []);
    }

    /// <summary>Writes the normalised message; reused across the items of one request.</summary>
    private sealed class Builder
    {
        [ThreadStatic]
        private static Builder? t_builder;

        /// <summary>One builder per thread (the buffer grows to the largest message seen, at most 32 KiB-ish).</summary>
        public static Builder ForThread() => t_builder ??= new Builder();

        private readonly ArrayBufferWriter<byte> _buffer = new(1024);
        private Utf8JsonWriter? _writer;

        /// <summary>Writes the normalised message and returns it as a string; when both contexts are objects,
        /// <paramref name="mergedContext"/> is the (owned) merged context, else undefined.</summary>
        public string Write(JsonElement msg, MessageType type, string messageId, string? userId, string? anonymousId,
            JsonElement context, JsonElement batchContext, DateTimeOffset timestamp, JsonElement originalTimestamp,
            JsonElement sentAt, DateTimeOffset receivedAt, out JsonElement mergedContext)
        {
            mergedContext = default;
            _buffer.ResetWrittenCount();
            if (_writer is null)
            {
                _writer = new Utf8JsonWriter(_buffer, TraitMerge.WriterOptions);
            }
            else
            {
                _writer.Reset(_buffer);
            }

            var w = _writer;
            w.WriteStartObject();
            w.WriteString("type"u8, TypeName(type));
            w.WriteString("messageId"u8, messageId);
            if (userId is not null)
            {
                w.WriteString("userId"u8, userId);
            }

            if (anonymousId is not null)
            {
                w.WriteString("anonymousId"u8, anonymousId);
            }

            foreach (var prop in msg.EnumerateObject())
            {
                if (Classify(prop) is Field.Type or Field.MessageId or Field.UserId or Field.AnonymousId or Field.Context
                    or Field.Timestamp or Field.OriginalTimestamp or Field.SentAt or Field.ReceivedAt or Field.WriteKey)
                {
                    continue;
                }

                JsonRaw.WriteProperty(w, prop);
            }

            w.WritePropertyName("context"u8);
            var hasContext = context.ValueKind == JsonValueKind.Object;
            var hasBatchContext = batchContext.ValueKind == JsonValueKind.Object;
            if (hasContext && hasBatchContext)
            {
                w.Flush();
                var start = _buffer.WrittenCount + 1; // after the ':' separator the writer emits first
                TraitMerge.WriteOverlay(w, batchContext, context);
                w.Flush();
                var written = _buffer.WrittenSpan;
                start = written[..start].LastIndexOf((byte)':') + 1;
                mergedContext = JsonElement.Parse(written[start..]);
            }
            else if (hasContext)
            {
                JsonRaw.WriteValue(w, context);
            }
            else if (hasBatchContext)
            {
                JsonRaw.WriteValue(w, batchContext);
            }
            else
            {
                w.WriteStartObject();
                w.WriteEndObject();
            }

            WriteTime(w, "timestamp"u8, timestamp);
            if (originalTimestamp.ValueKind == JsonValueKind.String)
            {
                w.WritePropertyName("originalTimestamp"u8);
                JsonRaw.WriteValue(w, originalTimestamp);
            }

            if (sentAt.ValueKind == JsonValueKind.String)
            {
                w.WritePropertyName("sentAt"u8);
                JsonRaw.WriteValue(w, sentAt);
            }

            WriteTime(w, "receivedAt"u8, receivedAt);
            w.WriteEndObject();
            w.Flush();
            return Encoding.UTF8.GetString(_buffer.WrittenSpan);
        }

        private static void WriteTime(Utf8JsonWriter w, ReadOnlySpan<byte> name, DateTimeOffset value)
        {
            Span<byte> buf = stackalloc byte[24];
            w.WriteString(name, FormatUtcMillis(value, buf));
        }
    }
}
