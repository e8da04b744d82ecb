namespace Chuda.Domain.Templates;

/// <summary>The channel names a template can have content for (docs/templates.md).</summary>
public static class TemplateChannels
{
    /// <summary>E-mail: subject, HTML and/or text part, optional from and reply-to.</summary>
    public const string Email = "email";

    /// <summary>SMS: one text.</summary>
    public const string Sms = "sms";

    /// <summary>Mobile push: title, body, data, deep link, image.</summary>
    public const string Push = "push";

    /// <summary>In-app message: title, body, one action.</summary>
    public const string InApp = "in_app";

    /// <summary>WeChat official-account template message.</summary>
    public const string WeChat = "wechat";

    /// <summary>A JSON body for a webhook.</summary>
    public const string Webhook = "webhook";

    /// <summary>Voice notification: a text read out by a text-to-speech call.</summary>
    public const string Voice = "voice";

    /// <summary>Every channel, in documentation order.</summary>
    public static IReadOnlyList<string> All { get; } = [Email, Sms, Push, InApp, WeChat, Webhook, Voice];

    /// <summary>Whether <paramref name="channel"/> is one of <see cref="All"/> (exact, lower case).</summary>
    public static bool IsKnown(string? channel) => channel is Email or Sms or Push or InApp or WeChat or Webhook or Voice;
}

/// <summary>
/// A message template: its name, the content per locale and channel, and the variables that must be present for it to
/// render. Produced and validated by <see cref="TemplateParser"/>; rendered by <see cref="CompiledTemplate"/>. Every
/// string field is Handlebars source, except <see cref="WeChatTemplate.TemplateId"/> and
/// <see cref="WeChatMiniprogram.AppId"/>, which are literal.
/// </summary>
/// <param name="Name">Display name.</param>
/// <param name="Category">Optional hint such as <c>marketing</c> or <c>transactional</c>; not interpreted here.</param>
/// <param name="DefaultLocale">The locale used when no requested locale (or its fallbacks) has the channel.</param>
/// <param name="Locales">Content per locale tag (<c>en</c>, <c>zh-Hans</c>, ...).</param>
/// <param name="Required">Variable paths (<c>profile.first_name</c>) that must have a value, else rendering fails.</param>
public sealed record TemplateDefinition(
    string Name,
    string? Category,
    string DefaultLocale,
    IReadOnlyDictionary<string, TemplateLocale> Locales,
    IReadOnlyList<string> Required)
{
    /// <summary>The channels the template has content for in at least one locale, in <see cref="TemplateChannels.All"/> order.</summary>
    public IReadOnlySet<string> Channels
    {
        get
        {
            var set = new SortedSet<string>(Comparer<string>.Create((a, b) =>
                IndexOf(a).CompareTo(IndexOf(b))));
            foreach (var locale in Locales.Values)
            {
                foreach (var channel in locale.Channels)
                {
                    set.Add(channel);
                }
            }

            return set;
        }
    }

    /// <summary>Whether some locale has content for <paramref name="channel"/>.</summary>
    public bool HasChannel(string channel) => Locales.Values.Any(l => l.HasChannel(channel));

    private static int IndexOf(string channel)
    {
        for (var i = 0; i < TemplateChannels.All.Count; i++)
        {
            if (TemplateChannels.All[i] == channel)
            {
                return i;
            }
        }

        return int.MaxValue;
    }
}

/// <summary>The content of one locale: any subset of the channels (at least one).</summary>
public sealed record TemplateLocale(
    EmailTemplate? Email = null,
    SmsTemplate? Sms = null,
    PushTemplate? Push = null,
    InAppTemplate? InApp = null,
    WeChatTemplate? WeChat = null,
    WebhookTemplate? Webhook = null,
    VoiceTemplate? Voice = null)
{
    /// <summary>The channels this locale has, in <see cref="TemplateChannels.All"/> order.</summary>
    public IEnumerable<string> Channels => TemplateChannels.All.Where(HasChannel);

    /// <summary>Whether this locale has content for <paramref name="channel"/>.</summary>
    public bool HasChannel(string channel) => channel switch
    {
        TemplateChannels.Email => Email is not null,
        TemplateChannels.Sms => Sms is not null,
        TemplateChannels.Push => Push is not null,
        TemplateChannels.InApp => InApp is not null,
        TemplateChannels.WeChat => WeChat is not null,
        TemplateChannels.Webhook => Webhook is not null,
        TemplateChannels.Voice => Voice is not null,
        _ => false,
    };
}

/// <summary>E-mail content. <paramref name="Text"/>, when absent, is derived from the rendered <paramref name="Html"/>.</summary>
public sealed record EmailTemplate(string Subject, string? Html, string? Text, string? From, string? ReplyTo);

/// <summary>SMS content.</summary>
public sealed record SmsTemplate(string Text);

/// <summary>Voice-notification content: the text read out, the voice's language (literal BCP 47 tag, optional) and how many
/// times it is read (1–3).</summary>
public sealed record VoiceTemplate(string Text, string? Language, int Repeat);

/// <summary>Push content: a title or a body (or both), string data values, an optional deep link and image URL.</summary>
public sealed record PushTemplate(
    string? Title,
    string? Body,
    IReadOnlyDictionary<string, string> Data,
    string? DeepLink,
    string? Image);

/// <summary>In-app content: a title or a body (or both) and an optional action button.</summary>
public sealed record InAppTemplate(string? Title, string? Body, InAppAction? Action);

/// <summary>The button of an in-app message.</summary>
public sealed record InAppAction(string Label, string Url);

/// <summary>A WeChat template message: the literal template id, an optional URL or mini-program page, and the
/// values of the template's keys (<c>first</c>, <c>keyword1</c>, <c>remark</c>, ...).</summary>
public sealed record WeChatTemplate(
    string TemplateId,
    string? Url,
    WeChatMiniprogram? Miniprogram,
    IReadOnlyDictionary<string, string> Data);

/// <summary>The mini-program a WeChat template message opens: a literal app id and an optional page path.</summary>
public sealed record WeChatMiniprogram(string AppId, string? PagePath);

/// <summary>A webhook body: Handlebars source whose output must be JSON. Inserted values are JSON-string escaped.</summary>
public sealed record WebhookTemplate(string Body);
