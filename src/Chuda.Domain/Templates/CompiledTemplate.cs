using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Chuda.Domain.Templates;

/// <summary>
/// A <see cref="TemplateDefinition"/> with every field compiled once, ready to render any number of times from any
/// number of threads. Get one with <see cref="Compile"/> (cached per definition instance; the definition that
/// <see cref="TemplateParser"/> returns is already compiled) and keep it with the template.
/// </summary>
public sealed class CompiledTemplate
{
    private static readonly ConditionalWeakTable<TemplateDefinition, CompiledTemplate> Compiled = new();

    private readonly Dictionary<string, Locale> _locales;
    private readonly HashSet<string> _required;
    private readonly ConcurrentDictionary<(string Channel, string Requested), string> _resolved = new();

    private CompiledTemplate(TemplateDefinition definition, FieldCompiler compiler)
    {
        Definition = definition;
        _required = new HashSet<string>(definition.Required, StringComparer.Ordinal);
        _locales = new Dictionary<string, Locale>(StringComparer.OrdinalIgnoreCase);
        foreach (var (tag, content) in definition.Locales)
        {
            _locales[tag] = new Locale(tag, content, compiler);
        }
    }

    /// <summary>The definition this was compiled from.</summary>
    public TemplateDefinition Definition { get; }

    /// <summary>The compiled form of <paramref name="definition"/>, compiled on first use and cached for as long as
    /// the definition instance lives.</summary>
    /// <exception cref="ArgumentException">A field is not valid Handlebars (parse with <see cref="TemplateParser"/> to
    /// get errors instead).</exception>
    public static CompiledTemplate Compile(TemplateDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return Compiled.GetValue(definition, d =>
        {
            try
            {
                return new CompiledTemplate(d, new FieldCompiler());
            }
            catch (Exception e) when (e is not ArgumentException)
            {
                throw new ArgumentException("the template does not compile: " + e.Message, nameof(definition), e);
            }
        });
    }

    /// <summary>Registers the compiled form the parser built while validating, so it is not compiled twice.</summary>
    internal static void Attach(TemplateDefinition definition, FieldCompiler compiler) =>
        Compiled.AddOrUpdate(definition, new CompiledTemplate(definition, compiler));

    /// <summary>
    /// Renders <paramref name="channel"/> for one recipient. The content locale is <paramref name="locale"/> (else
    /// <see cref="TemplateData.Locale"/>) or its first fallback that has the channel (docs/templates.md), else the default
    /// locale, else any locale that has it. Never throws for bad data: problems are in the result.
    /// </summary>
    public RenderResult Render(string channel, string? locale, TemplateData data, RenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        options ??= RenderOptions.Default;
        if (!TemplateChannels.IsKnown(channel))
        {
            return new RenderResult(null, "", [new RenderProblem(channel ?? "", null,
                $"unknown channel '{channel}'; expected one of {string.Join(", ", TemplateChannels.All)}", RenderSeverity.Error)]);
        }

        var used = ResolveLocale(channel, locale ?? data.Locale);
        if (used is null)
        {
            return new RenderResult(null, "", [new RenderProblem(channel, null,
                $"the template has no {channel} content in any locale", RenderSeverity.Error)]);
        }

        var scope = new RenderScope(_required, options.Strict, TemplateCultures.For(data.Locale ?? locale, used.Tag), data.TimeZone);
        CheckRequired(data, scope);
        var previous = scope.Enter();
        try
        {
            var root = DataNode.Root(data);
            ChannelContent content = channel switch
            {
                TemplateChannels.Email => used.RenderEmail(root, scope),
                TemplateChannels.Sms => used.RenderSms(root, scope),
                TemplateChannels.Push => used.RenderPush(root, scope),
                TemplateChannels.InApp => used.RenderInApp(root, scope),
                TemplateChannels.WeChat => used.RenderWeChat(root, scope),
                TemplateChannels.Voice => used.RenderVoice(root, scope),
                _ => used.RenderWebhook(root, scope),
            };
            return new RenderResult(content, used.Tag, scope.Problems);
        }
        finally
        {
            RenderScope.Exit(previous);
        }
    }

    /// <summary>The template locale that <see cref="Render"/> uses for <paramref name="channel"/> and a requested
    /// locale, or null when no locale has the channel.</summary>
    public string? LocaleFor(string channel, string? requested) => ResolveLocale(channel, requested)?.Tag;

    private Locale? ResolveLocale(string channel, string? requested)
    {
        var key = (channel, requested ?? "");
        if (_resolved.TryGetValue(key, out var tag))
        {
            return tag.Length == 0 ? null : _locales[tag];
        }

        Locale? found = null;
        foreach (var candidate in LocaleTags.FallbackChain(requested).Append(Definition.DefaultLocale))
        {
            if (_locales.TryGetValue(candidate, out var l) && l.Content.HasChannel(channel))
            {
                found = l;
                break;
            }
        }

        found ??= _locales.Values.FirstOrDefault(l => l.Content.HasChannel(channel));
        if (_resolved.Count < 1_000)
        {
            _resolved.TryAdd(key, found?.Tag ?? "");
        }

        return found;
    }

    private void CheckRequired(TemplateData data, RenderScope scope)
    {
        foreach (var path in Definition.Required)
        {
            if (!HasValue(data, path))
            {
                scope.Add("required", path, "required variable has no value", RenderSeverity.Error);
            }
        }
    }

    /// <summary>Whether <paramref name="path"/> (<c>profile.first_name</c>) has a value in <paramref name="data"/>:
    /// present, not null and not an empty string.</summary>
    internal static bool HasValue(TemplateData data, string path)
    {
        var segments = path.Split('.');
        JsonElement? current = segments[0] switch
        {
            "profile" => data.Profile,
            "event" => data.Event,
            "journey" => data.Journey,
            "message" => data.Message,
            "items" => data.Items,
            _ => null,
        };
        if (current is not { } element)
        {
            return false;
        }

        for (var i = 1; i < segments.Length; i++)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(segments[i], out element))
            {
                return false;
            }
        }

        return element.ValueKind switch
        {
            JsonValueKind.Null or JsonValueKind.Undefined => false,
            JsonValueKind.String => element.GetString()!.Length > 0,
            JsonValueKind.Array => element.GetArrayLength() > 0,
            _ => true,
        };
    }

    // ---- one locale --------------------------------------------------------------------------------

    private sealed class Locale
    {
        private readonly Dictionary<string, CompiledField> _fields = new(StringComparer.Ordinal);

        public Locale(string tag, TemplateLocale content, FieldCompiler compiler)
        {
            Tag = tag;
            Content = content;
            foreach (var (field, encoding, source) in Fields(content))
            {
                _fields[field] = compiler.Compile(encoding, source);
            }
        }

        public string Tag { get; }

        public TemplateLocale Content { get; }

        /// <summary>Every templated field of a locale: its problem name (<c>email.subject</c>), encoding and source.</summary>
        public static IEnumerable<(string Field, FieldEncoding Encoding, string Source)> Fields(TemplateLocale content)
        {
            if (content.Email is { } email)
            {
                yield return ("email.subject", FieldEncoding.Text, email.Subject);
                if (email.Html is not null)
                {
                    yield return ("email.html", FieldEncoding.Html, email.Html);
                }

                if (email.Text is not null)
                {
                    yield return ("email.text", FieldEncoding.Text, email.Text);
                }

                if (email.From is not null)
                {
                    yield return ("email.from", FieldEncoding.Text, email.From);
                }

                if (email.ReplyTo is not null)
                {
                    yield return ("email.replyTo", FieldEncoding.Text, email.ReplyTo);
                }
            }

            if (content.Sms is { } sms)
            {
                yield return ("sms.text", FieldEncoding.Text, sms.Text);
            }

            if (content.Voice is { } voice)
            {
                yield return ("voice.text", FieldEncoding.Text, voice.Text);
            }

            if (content.Push is { } push)
            {
                foreach (var f in Optional(("push.title", push.Title), ("push.body", push.Body), ("push.deepLink", push.DeepLink), ("push.image", push.Image)))
                {
                    yield return f;
                }

                foreach (var (k, v) in push.Data)
                {
                    yield return ("push.data." + k, FieldEncoding.Text, v);
                }
            }

            if (content.InApp is { } inApp)
            {
                foreach (var f in Optional(("in_app.title", inApp.Title), ("in_app.body", inApp.Body),
                             ("in_app.action.label", inApp.Action?.Label), ("in_app.action.url", inApp.Action?.Url)))
                {
                    yield return f;
                }
            }

            if (content.WeChat is { } weChat)
            {
                foreach (var f in Optional(("wechat.url", weChat.Url), ("wechat.miniprogram.pagepath", weChat.Miniprogram?.PagePath)))
                {
                    yield return f;
                }

                foreach (var (k, v) in weChat.Data)
                {
                    yield return ("wechat.data." + k, FieldEncoding.Text, v);
                }
            }

            if (content.Webhook is { } webhook)
            {
                yield return ("webhook.body", FieldEncoding.Json, webhook.Body);
            }
        }

        private static IEnumerable<(string, FieldEncoding, string)> Optional(params (string Field, string? Source)[] fields) =>
            fields.Where(f => f.Source is not null).Select(f => (f.Field, FieldEncoding.Text, f.Source!));

        private string Render(string field, DataNode root, RenderScope scope)
        {
            scope.Field = field;
            try
            {
                return _fields[field].Render(root);
            }
            catch (Exception e)
            {
                scope.Add(field, null, "rendering failed: " + e.Message, RenderSeverity.Error);
                return "";
            }
        }

        private string? Optional(string field, string? source, DataNode root, RenderScope scope)
        {
            if (source is null)
            {
                return null;
            }

            var text = Render(field, root, scope);
            return string.IsNullOrWhiteSpace(text) ? null : text;
        }

        private static void Empty(RenderScope scope, string field, string message) =>
            scope.Add(field, null, message, RenderSeverity.Error);

        public EmailContent RenderEmail(DataNode root, RenderScope scope)
        {
            var e = Content.Email!;
            var subject = Render("email.subject", root, scope);
            var html = Optional("email.html", e.Html, root, scope);
            var text = e.Text is not null ? Render("email.text", root, scope) : html is null ? "" : HtmlText.ToText(html);
            var from = Optional("email.from", e.From, root, scope);
            var replyTo = Optional("email.replyTo", e.ReplyTo, root, scope);
            if (string.IsNullOrWhiteSpace(subject))
            {
                Empty(scope, "email.subject", "the subject is empty after rendering");
            }

            if (html is null && string.IsNullOrWhiteSpace(text))
            {
                Empty(scope, e.Html is not null ? "email.html" : "email.text", "the e-mail has no body after rendering");
            }

            return new EmailContent(subject, html, text, from, replyTo);
        }

        public SmsContent RenderSms(DataNode root, RenderScope scope)
        {
            var text = Render("sms.text", root, scope);
            if (string.IsNullOrWhiteSpace(text))
            {
                Empty(scope, "sms.text", "the text is empty after rendering");
            }

            var measure = SmsSegments.Measure(text);
            return new SmsContent(text, measure.Encoding, measure.Segments, measure.Length);
        }

        public VoiceContent RenderVoice(DataNode root, RenderScope scope)
        {
            var text = Render("voice.text", root, scope);
            if (string.IsNullOrWhiteSpace(text))
            {
                Empty(scope, "voice.text", "the text is empty after rendering");
            }

            return new VoiceContent(text, Content.Voice!.Language, Content.Voice.Repeat);
        }

        public PushContent RenderPush(DataNode root, RenderScope scope)
        {
            var p = Content.Push!;
            var title = Optional("push.title", p.Title, root, scope);
            var body = Optional("push.body", p.Body, root, scope);
            var data = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var k in p.Data.Keys)
            {
                data[k] = Render("push.data." + k, root, scope);
            }

            var deepLink = Optional("push.deepLink", p.DeepLink, root, scope);
            var image = Optional("push.image", p.Image, root, scope);
            if (title is null && body is null)
            {
                Empty(scope, p.Title is not null ? "push.title" : "push.body", "a push needs a title or a body; both are empty after rendering");
            }

            return new PushContent(title, body, data, deepLink, image);
        }

        public InAppContent RenderInApp(DataNode root, RenderScope scope)
        {
            var m = Content.InApp!;
            var title = Optional("in_app.title", m.Title, root, scope);
            var body = Optional("in_app.body", m.Body, root, scope);
            var label = Optional("in_app.action.label", m.Action?.Label, root, scope);
            var url = Optional("in_app.action.url", m.Action?.Url, root, scope);
            if (title is null && body is null)
            {
                Empty(scope, m.Title is not null ? "in_app.title" : "in_app.body", "an in-app message needs a title or a body; both are empty after rendering");
            }

            if (m.Action is not null && label is null)
            {
                Empty(scope, "in_app.action.label", "the action label is empty after rendering");
            }

            if (m.Action is not null && url is null)
            {
                Empty(scope, "in_app.action.url", "the action URL is empty after rendering");
            }

            return new InAppContent(title, body, label, url);
        }

        public WeChatContent RenderWeChat(DataNode root, RenderScope scope)
        {
            var w = Content.WeChat!;
            var url = Optional("wechat.url", w.Url, root, scope);
            var page = Optional("wechat.miniprogram.pagepath", w.Miniprogram?.PagePath, root, scope);
            var data = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var k in w.Data.Keys)
            {
                data[k] = Render("wechat.data." + k, root, scope);
            }

            if (string.IsNullOrWhiteSpace(w.TemplateId))
            {
                Empty(scope, "wechat.templateId", "the template id is empty");
            }

            if (data.Values.All(string.IsNullOrWhiteSpace))
            {
                Empty(scope, "wechat.data", "every data value is empty after rendering");
            }

            return new WeChatContent(w.TemplateId, url, w.Miniprogram?.AppId, page, data);
        }

        public WebhookContent RenderWebhook(DataNode root, RenderScope scope)
        {
            var body = Render("webhook.body", root, scope);
            if (string.IsNullOrWhiteSpace(body))
            {
                Empty(scope, "webhook.body", "the body is empty after rendering");
            }
            else
            {
                try
                {
                    using var _ = JsonDocument.Parse(body);
                }
                catch (JsonException e)
                {
                    Empty(scope, "webhook.body", "the rendered body is not valid JSON: " + e.Message);
                }
            }

            return new WebhookContent(body);
        }
    }

    /// <summary>Every templated field of a definition (for analysis), with its problem name.</summary>
    internal static IEnumerable<(string Locale, string Field, FieldEncoding Encoding, string Source)> AllFields(TemplateDefinition definition) =>
        definition.Locales.SelectMany(l => Locale.Fields(l.Value).Select(f => (l.Key, f.Field, f.Encoding, f.Source)));

    internal static IEnumerable<(string Field, FieldEncoding Encoding, string Source)> FieldsOf(TemplateLocale content) => Locale.Fields(content);
}

/// <summary>Entry points for rendering: compile once, render many times, list the variables a template uses.</summary>
public static class TemplateRenderer
{
    /// <summary>The compiled form of <paramref name="definition"/> (see <see cref="CompiledTemplate.Compile"/>).</summary>
    public static CompiledTemplate Compile(TemplateDefinition definition) => CompiledTemplate.Compile(definition);

    /// <summary>Renders with the cached compiled form of <paramref name="definition"/>
    /// (see <see cref="CompiledTemplate.Render"/>).</summary>
    public static RenderResult Render(TemplateDefinition definition, string channel, string? locale, TemplateData data, RenderOptions? options = null) =>
        CompiledTemplate.Compile(definition).Render(channel, locale, data, options);

    /// <summary>
    /// The variable paths the template references in any locale and channel, and its required variables, sorted:
    /// <c>profile.first_name</c>, <c>event.cart_id</c>; inside <c>{{#each items}}</c> they read
    /// <c>items[].event.name</c>.
    /// </summary>
    public static IReadOnlySet<string> Variables(TemplateDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (_, _, _, source) in CompiledTemplate.AllFields(definition))
        {
            if (source.Contains("{{", StringComparison.Ordinal))
            {
                set.UnionWith(TemplateSyntax.Analyze(source).Variables);
            }
        }

        set.UnionWith(definition.Required);
        return set;
    }
}
