using System.Text.Json;

namespace Chuda.Domain.Templates;

/// <summary>
/// What a template is rendered with. Each part is a JSON element (an object, except <see cref="Items"/>, an array);
/// absent parts are null. Elements must stay readable during the render: keep their <see cref="JsonDocument"/> alive
/// or pass <see cref="JsonElement.Clone"/>d elements. Instances are immutable and may be rendered from many threads.
/// </summary>
public sealed record TemplateData
{
    /// <summary>The recipient: traits plus <c>user_id</c>, <c>email</c> and <c>phone</c>
    /// (see <see cref="ProfileObject"/>).</summary>
    public JsonElement? Profile { get; init; }

    /// <summary>The properties of the triggering event.</summary>
    public JsonElement? Event { get; init; }

    /// <summary>Journey context.</summary>
    public JsonElement? Journey { get; init; }

    /// <summary>System values such as <c>unsubscribe_url</c>, <c>preferences_url</c>, <c>message_id</c>.</summary>
    public JsonElement? Message { get; init; }

    /// <summary>For digests: an array of objects, each with its own <c>event</c> (and optionally <c>profile</c>,
    /// <c>journey</c>, <c>message</c>) object, iterated with <c>{{#each items}}</c>.</summary>
    public JsonElement? Items { get; init; }

    /// <summary>The recipient's IANA time zone (<c>Asia/Shanghai</c>); dates are shown in it. Null: UTC.</summary>
    public string? TimeZone { get; init; }

    /// <summary>The recipient's locale (<c>zh-CN</c>); chooses the content locale when the render call names none,
    /// and the culture of the format helpers.</summary>
    public string? Locale { get; init; }

    /// <summary>Reads one JSON document <c>{"profile": {...}, "event": {...}, "journey": {...}, "message": {...},
    /// "items": [...]}</c> (every part optional; other keys are ignored). The elements are cloned.</summary>
    /// <exception cref="JsonException">The text is not JSON, or the root or a part has the wrong kind.</exception>
    public static TemplateData FromJson(string json, string? timeZone = null, string? locale = null)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("template data must be a JSON object");
        }

        return new TemplateData
        {
            Profile = Part(root, "profile", JsonValueKind.Object),
            Event = Part(root, "event", JsonValueKind.Object),
            Journey = Part(root, "journey", JsonValueKind.Object),
            Message = Part(root, "message", JsonValueKind.Object),
            Items = Part(root, "items", JsonValueKind.Array),
            TimeZone = timeZone,
            Locale = locale,
        };
    }

    /// <summary>Builds the <see cref="Profile"/> object from a traits object plus the identities templates may use:
    /// <c>user_id</c>, <c>email</c> and <c>phone</c> replace traits of the same name when given.</summary>
    /// <param name="traitsJson">A JSON object of traits (null or empty: none).</param>
    public static JsonElement ProfileObject(string? traitsJson, string? userId = null, string? email = null, string? phone = null)
    {
        using var traits = JsonDocument.Parse(string.IsNullOrEmpty(traitsJson) ? "{}" : traitsJson);
        if (traits.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("traits must be a JSON object");
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var p in traits.RootElement.EnumerateObject())
            {
                if ((p.NameEquals("user_id") && userId is not null) || (p.NameEquals("email") && email is not null)
                    || (p.NameEquals("phone") && phone is not null))
                {
                    continue;
                }

                p.WriteTo(writer);
            }

            if (userId is not null)
            {
                writer.WriteString("user_id", userId);
            }

            if (email is not null)
            {
                writer.WriteString("email", email);
            }

            if (phone is not null)
            {
                writer.WriteString("phone", phone);
            }

            writer.WriteEndObject();
        }

        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return doc.RootElement.Clone();
    }

    private static JsonElement? Part(JsonElement root, string name, JsonValueKind kind)
    {
        if (!root.TryGetProperty(name, out var part) || part.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (part.ValueKind != kind)
        {
            throw new JsonException($"'{name}' must be a JSON {(kind == JsonValueKind.Array ? "array" : "object")}");
        }

        return part.Clone();
    }
}

/// <summary>How strictly to render.</summary>
public sealed record RenderOptions
{
    /// <summary>Missing variables are warnings, except those the template lists as required.</summary>
    public static RenderOptions Default { get; } = new();

    /// <summary>Every missing variable (and every value a format helper cannot use) is an error.</summary>
    public static RenderOptions StrictMode { get; } = new() { Strict = true };

    /// <summary>When true, every problem is an <see cref="RenderSeverity.Error"/>.</summary>
    public bool Strict { get; init; }
}

/// <summary>How bad a <see cref="RenderProblem"/> is.</summary>
public enum RenderSeverity
{
    /// <summary>The message can be sent, but something is probably wrong (a missing optional variable).</summary>
    Warning,

    /// <summary>The message must not be sent.</summary>
    Error,
}

/// <summary>One problem found while rendering.</summary>
/// <param name="Field">Where: <c>email.subject</c>, <c>push.data.k</c>, <c>required</c> for the required-variable
/// check, or the channel name for channel-level problems.</param>
/// <param name="Variable">The variable path concerned (<c>profile.first_name</c>, <c>items[2].event.price</c>), if any.</param>
public sealed record RenderProblem(string Field, string? Variable, string Message, RenderSeverity Severity)
{
    public override string ToString() =>
        $"{Severity.ToString().ToLowerInvariant()} {Field}{(Variable is null ? "" : " (" + Variable + ")")}: {Message}";
}

/// <summary>
/// The outcome of a render. <see cref="Content"/> is filled whenever rendering ran (also when there are errors, so that
/// a preview can show it); it is null only when no locale has the channel or the channel is unknown.
/// Send only when <see cref="Ok"/>.
/// </summary>
/// <param name="LocaleUsed">The template locale rendered, or empty when none had the channel.</param>
public sealed record RenderResult(ChannelContent? Content, string LocaleUsed, IReadOnlyList<RenderProblem> Problems)
{
    /// <summary>True when there is content and no problem is an error.</summary>
    public bool Ok => Content is not null && !Problems.Any(p => p.Severity == RenderSeverity.Error);
}

/// <summary>The rendered content of one channel.</summary>
public abstract record ChannelContent
{
    /// <summary>The channel name (<see cref="TemplateChannels"/>).</summary>
    public abstract string Channel { get; }
}

/// <summary>A rendered e-mail. <paramref name="Text"/> is the text part: rendered from the template's text, or derived
/// from <paramref name="Html"/> when the template has none.</summary>
public sealed record EmailContent(string Subject, string? Html, string Text, string? From, string? ReplyTo) : ChannelContent
{
    public override string Channel => TemplateChannels.Email;
}

/// <summary>A rendered SMS with its measure (see <see cref="SmsSegments.Measure"/>).</summary>
/// <param name="Encoding"><see cref="SmsSegments.Gsm7"/> or <see cref="SmsSegments.Ucs2"/>.</param>
/// <param name="Length">Characters as the network counts them (septets for GSM-7, UTF-16 units for UCS-2).</param>
public sealed record SmsContent(string Text, string Encoding, int Segments, int Length) : ChannelContent
{
    public override string Channel => TemplateChannels.Sms;
}

/// <summary>A rendered push notification.</summary>
public sealed record PushContent(
    string? Title,
    string? Body,
    IReadOnlyDictionary<string, string> Data,
    string? DeepLink,
    string? Image) : ChannelContent
{
    public override string Channel => TemplateChannels.Push;
}

/// <summary>A rendered in-app message.</summary>
public sealed record InAppContent(string? Title, string? Body, string? ActionLabel, string? ActionUrl) : ChannelContent
{
    public override string Channel => TemplateChannels.InApp;
}

/// <summary>A rendered WeChat template message.</summary>
public sealed record WeChatContent(
    string TemplateId,
    string? Url,
    string? MiniprogramAppId,
    string? MiniprogramPage,
    IReadOnlyDictionary<string, string> Data) : ChannelContent
{
    public override string Channel => TemplateChannels.WeChat;
}

/// <summary>A rendered voice notification: the text a text-to-speech call reads out.</summary>
/// <param name="Language">BCP 47 tag of the voice (<c>zh-CN</c>, <c>en-US</c>); null for the provider's default.</param>
/// <param name="Repeat">How many times the text is read (1–3).</param>
public sealed record VoiceContent(string Text, string? Language, int Repeat = 1) : ChannelContent
{
    public override string Channel => TemplateChannels.Voice;
}

/// <summary>A rendered webhook body (valid JSON when the render is <see cref="RenderResult.Ok"/>).</summary>
public sealed record WebhookContent(string Body) : ChannelContent
{
    public override string Channel => TemplateChannels.Webhook;
}
