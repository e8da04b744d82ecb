using System.Text.Json;
using Chuda.Domain.Segments;

namespace Chuda.Domain.Templates;

/// <summary>One fault in a template: where (<see cref="Path"/>, a JSON path such as <c>$.locales.en.email.subject</c>)
/// and what, for people.</summary>
public sealed record TemplateError(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>The outcome of <see cref="TemplateParser.Parse(JsonElement)"/>: the definition when the template is valid,
/// otherwise every error found (the definition is then null).</summary>
public sealed record TemplateParseResult(TemplateDefinition? Definition, IReadOnlyList<TemplateError> Errors)
{
    public bool IsValid => Definition is not null && Errors.Count == 0;
}

/// <summary>
/// Parses and validates template JSON (docs/templates.md) strictly: unknown or duplicate keys, wrong types, unknown
/// channels, locale keys that are not language tags, a default locale that is not among the locales, a locale without
/// channels, missing required fields, Handlebars syntax errors (every field is compiled here), unknown helpers and
/// variables outside <c>profile</c> / <c>event</c> / <c>journey</c> / <c>message</c> / <c>items</c> are all errors,
/// each with the JSON path of its field. The definition returned is already compiled for
/// <see cref="CompiledTemplate.Compile"/>.
/// </summary>
public static class TemplateParser
{
    /// <summary>The longest template field accepted, in UTF-16 units.</summary>
    public const int MaxFieldLength = 1_000_000;

    private const int MaxNameLength = 200;

    /// <summary>Parses template JSON text. Malformed JSON gives one error at <c>$</c>.</summary>
    public static TemplateParseResult Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            return Parse(doc.RootElement);
        }
        catch (JsonException e)
        {
            return new TemplateParseResult(null, [new TemplateError("$", "not valid JSON: " + e.Message)]);
        }
    }

    /// <summary>Parses and validates a template. The result holds the definition, or every error found.</summary>
    public static TemplateParseResult Parse(JsonElement root)
    {
        var ctx = new Context();
        var definition = ctx.Template(root);
        if (ctx.Errors.Count > 0 || definition is null)
        {
            return new TemplateParseResult(null, ctx.Errors);
        }

        CompiledTemplate.Attach(definition, ctx.Compiler);
        return new TemplateParseResult(definition, []);
    }

    private sealed class Context
    {
        public List<TemplateError> Errors { get; } = [];

        public FieldCompiler Compiler { get; } = new();

        private void Error(string path, string message) => Errors.Add(new TemplateError(path, message));

        public TemplateDefinition? Template(JsonElement e)
        {
            var props = Properties(e, "$", "a template", "name", "category", "defaultLocale", "locales", "required");
            if (props is null)
            {
                return null;
            }

            var name = String(props, "$", "name", required: true);
            if (name is not null && name.Trim().Length == 0)
            {
                Error("$.name", "must not be empty");
            }
            else if (name is not null && name.Length > MaxNameLength)
            {
                Error("$.name", $"must be at most {MaxNameLength} characters");
            }

            var category = String(props, "$", "category", required: false);
            if (category is not null && category.Trim().Length == 0)
            {
                Error("$.category", "must not be empty (leave it out instead)");
            }

            var defaultLocale = String(props, "$", "defaultLocale", required: true);
            var locales = Locales(props);
            var required = Required(props);
            if (defaultLocale is not null && locales is not null && !locales.ContainsKey(defaultLocale))
            {
                var hint = locales.Keys.FirstOrDefault(k => string.Equals(k, defaultLocale, StringComparison.OrdinalIgnoreCase));
                Error("$.defaultLocale", hint is not null
                    ? $"'{defaultLocale}' is not among the locales; did you mean '{hint}'?"
                    : $"'{defaultLocale}' is not among the locales ({string.Join(", ", locales.Keys)})");
            }

            return name is null || defaultLocale is null || locales is null || required is null
                ? null
                : new TemplateDefinition(name, category, defaultLocale, locales, required);
        }

        private Dictionary<string, TemplateLocale>? Locales(Dictionary<string, JsonElement> props)
        {
            if (!props.TryGetValue("locales", out var e))
            {
                Error("$.locales", "is required");
                return null;
            }

            const string path = "$.locales";
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"expected an object of locales, got {Kind(e)}");
                return null;
            }

            var result = new Dictionary<string, TemplateLocale>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var ok = true;
            foreach (var p in e.EnumerateObject())
            {
                var localePath = RuleParser.Child(path, p.Name);
                if (!seen.Add(p.Name))
                {
                    Error(localePath, "duplicate locale");
                    ok = false;
                    continue;
                }

                if (!LocaleTags.IsValid(p.Name))
                {
                    var canonical = LocaleTags.Canonicalize(p.Name);
                    Error(localePath, canonical is not null
                        ? $"'{p.Name}' is not a canonical locale tag; write '{canonical}'"
                        : $"'{p.Name}' is not a locale tag (language, optional script and region: en, en-US, zh-Hans, zh-Hant-TW)");
                    ok = false;
                }

                var locale = Locale(p.Value, localePath);
                if (locale is null)
                {
                    ok = false;
                    continue;
                }

                result[p.Name] = locale;
            }

            if (result.Count == 0 && ok)
            {
                Error(path, "needs at least one locale");
                return null;
            }

            return ok ? result : null;
        }

        private TemplateLocale? Locale(JsonElement e, string path)
        {
            var props = Properties(e, path, "a locale (an object of channels)", TemplateChannels.All.ToArray(), unknownMessage: name =>
                $"unknown channel '{name}'; channels are {string.Join(", ", TemplateChannels.All)}");
            if (props is null)
            {
                return null;
            }

            if (props.Count == 0)
            {
                Error(path, $"needs at least one channel ({string.Join(", ", TemplateChannels.All)})");
                return null;
            }

            var before = Errors.Count;
            var locale = new TemplateLocale(
                Email: props.TryGetValue("email", out var email) ? Email(email, RuleParser.Child(path, "email")) : null,
                Sms: props.TryGetValue("sms", out var sms) ? Sms(sms, RuleParser.Child(path, "sms")) : null,
                Push: props.TryGetValue("push", out var push) ? Push(push, RuleParser.Child(path, "push")) : null,
                InApp: props.TryGetValue("in_app", out var inApp) ? InApp(inApp, RuleParser.Child(path, "in_app")) : null,
                WeChat: props.TryGetValue("wechat", out var weChat) ? WeChat(weChat, RuleParser.Child(path, "wechat")) : null,
                Webhook: props.TryGetValue("webhook", out var webhook) ? Webhook(webhook, RuleParser.Child(path, "webhook")) : null,
                Voice: props.TryGetValue("voice", out var voice) ? Voice(voice, RuleParser.Child(path, "voice")) : null);
            return Errors.Count == before ? locale : null;
        }

        private EmailTemplate? Email(JsonElement e, string path)
        {
            var props = Properties(e, path, "e-mail content", "subject", "html", "text", "from", "replyTo");
            if (props is null)
            {
                return null;
            }

            var subject = Field(props, path, "subject", FieldEncoding.Text, required: true);
            var html = Field(props, path, "html", FieldEncoding.Html, required: false);
            var text = Field(props, path, "text", FieldEncoding.Text, required: false);
            var from = Field(props, path, "from", FieldEncoding.Text, required: false);
            var replyTo = Field(props, path, "replyTo", FieldEncoding.Text, required: false);
            if (!props.ContainsKey("html") && !props.ContainsKey("text"))
            {
                Error(path, "needs 'html' or 'text' (or both)");
            }

            return subject is null ? null : new EmailTemplate(subject, html, text, from, replyTo);
        }

        private SmsTemplate? Sms(JsonElement e, string path)
        {
            var props = Properties(e, path, "SMS content", "text");
            return props is not null && Field(props, path, "text", FieldEncoding.Text, required: true) is { } text
                ? new SmsTemplate(text)
                : null;
        }

        private VoiceTemplate? Voice(JsonElement e, string path)
        {
            var props = Properties(e, path, "voice content", "text", "language", "repeat");
            if (props is null)
            {
                return null;
            }

            var text = Field(props, path, "text", FieldEncoding.Text, required: true);
            string? language = null;
            if (props.TryGetValue("language", out var lang))
            {
                if (lang.ValueKind == JsonValueKind.String && lang.GetString() is { Length: > 0 and <= 35 } tag
                    && tag.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
                {
                    language = tag;
                }
                else
                {
                    Error(RuleParser.Child(path, "language"), "expected a language tag such as zh-CN or en-US");
                }
            }

            var repeat = 1;
            if (props.TryGetValue("repeat", out var r) && (!r.TryGetInt32(out repeat) || repeat is < 1 or > 3))
            {
                Error(RuleParser.Child(path, "repeat"), "expected 1, 2 or 3");
            }

            return text is null ? null : new VoiceTemplate(text, language, repeat);
        }

        private PushTemplate? Push(JsonElement e, string path)
        {
            var props = Properties(e, path, "push content", "title", "body", "data", "deepLink", "image");
            if (props is null)
            {
                return null;
            }

            var title = Field(props, path, "title", FieldEncoding.Text, required: false);
            var body = Field(props, path, "body", FieldEncoding.Text, required: false);
            var data = StringMap(props, path, "data", keyPattern: null, atLeastOne: false) ?? new Dictionary<string, string>();
            var deepLink = Field(props, path, "deepLink", FieldEncoding.Text, required: false);
            var image = Field(props, path, "image", FieldEncoding.Text, required: false);
            if (!props.ContainsKey("title") && !props.ContainsKey("body"))
            {
                Error(path, "needs 'title' or 'body' (or both)");
            }

            return new PushTemplate(title, body, data, deepLink, image);
        }

        private InAppTemplate? InApp(JsonElement e, string path)
        {
            var props = Properties(e, path, "in-app content", "title", "body", "action");
            if (props is null)
            {
                return null;
            }

            var title = Field(props, path, "title", FieldEncoding.Text, required: false);
            var body = Field(props, path, "body", FieldEncoding.Text, required: false);
            InAppAction? action = null;
            if (props.TryGetValue("action", out var a))
            {
                var actionPath = RuleParser.Child(path, "action");
                var actionProps = Properties(a, actionPath, "an action", "label", "url");
                if (actionProps is not null)
                {
                    var label = Field(actionProps, actionPath, "label", FieldEncoding.Text, required: true);
                    var url = Field(actionProps, actionPath, "url", FieldEncoding.Text, required: true);
                    action = label is null || url is null ? null : new InAppAction(label, url);
                }
            }

            if (!props.ContainsKey("title") && !props.ContainsKey("body"))
            {
                Error(path, "needs 'title' or 'body' (or both)");
            }

            return new InAppTemplate(title, body, action);
        }

        private WeChatTemplate? WeChat(JsonElement e, string path)
        {
            var props = Properties(e, path, "WeChat content", "templateId", "url", "miniprogram", "data");
            if (props is null)
            {
                return null;
            }

            var templateId = String(props, path, "templateId", required: true);
            if (templateId is not null && (templateId.Trim().Length == 0 || templateId.Contains("{{", StringComparison.Ordinal)))
            {
                Error(RuleParser.Child(path, "templateId"), "must be the literal id of a WeChat template");
            }

            var url = Field(props, path, "url", FieldEncoding.Text, required: false);
            WeChatMiniprogram? miniprogram = null;
            if (props.TryGetValue("miniprogram", out var m))
            {
                var mpPath = RuleParser.Child(path, "miniprogram");
                var mp = Properties(m, mpPath, "a mini-program", "appid", "pagepath");
                if (mp is not null)
                {
                    var appId = String(mp, mpPath, "appid", required: true);
                    if (appId is not null && (appId.Trim().Length == 0 || appId.Contains("{{", StringComparison.Ordinal)))
                    {
                        Error(RuleParser.Child(mpPath, "appid"), "must be the literal app id of a mini-program");
                    }

                    var page = Field(mp, mpPath, "pagepath", FieldEncoding.Text, required: false);
                    miniprogram = appId is null ? null : new WeChatMiniprogram(appId, page);
                }
            }

            var data = StringMap(props, path, "data", keyPattern: "a letter followed by letters, digits or _ (first, keyword1, remark)", atLeastOne: true);
            if (!props.ContainsKey("data"))
            {
                Error(RuleParser.Child(path, "data"), "is required (the values of the WeChat template's keys)");
            }

            return templateId is null || data is null ? null : new WeChatTemplate(templateId, url, miniprogram, data);
        }

        private WebhookTemplate? Webhook(JsonElement e, string path)
        {
            var props = Properties(e, path, "webhook content", "body");
            return props is not null && Field(props, path, "body", FieldEncoding.Json, required: true) is { } body
                ? new WebhookTemplate(body)
                : null;
        }

        private List<string>? Required(Dictionary<string, JsonElement> props)
        {
            if (!props.TryGetValue("required", out var e))
            {
                return [];
            }

            const string path = "$.required";
            if (e.ValueKind != JsonValueKind.Array)
            {
                Error(path, $"expected an array of variable paths, got {Kind(e)}");
                return null;
            }

            var result = new List<string>();
            var index = 0;
            var ok = true;
            foreach (var item in e.EnumerateArray())
            {
                var itemPath = RuleParser.Index(path, index++);
                if (item.ValueKind != JsonValueKind.String)
                {
                    Error(itemPath, $"expected a variable path such as \"profile.first_name\", got {Kind(item)}");
                    ok = false;
                    continue;
                }

                var variable = item.GetString()!;
                var segments = variable.Split('.');
                if (segments.Length < 2 || Array.IndexOf(["profile", "event", "journey", "message"], segments[0]) < 0
                    || segments.Any(s => s.Trim().Length == 0 || s.IndexOfAny(['[', ']', '{', '}', '/']) >= 0))
                {
                    Error(itemPath, $"'{variable}' is not a variable path: profile., event., journey. or message. followed by property names");
                    ok = false;
                }
                else if (result.Contains(variable))
                {
                    Error(itemPath, $"'{variable}' is listed twice");
                    ok = false;
                }
                else
                {
                    result.Add(variable);
                }
            }

            return ok ? result : null;
        }

        // ---- building blocks ---------------------------------------------------------------------

        // The properties of an object, checking kind, unknown and duplicate keys. Null when it is not an object.
        private Dictionary<string, JsonElement>? Properties(JsonElement e, string path, string what, params string[] allowed) =>
            Properties(e, path, what, allowed, unknownMessage: null);

        private Dictionary<string, JsonElement>? Properties(JsonElement e, string path, string what, string[] allowed, Func<string, string>? unknownMessage)
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"expected {what}, got {Kind(e)}");
                return null;
            }

            var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                var childPath = RuleParser.Child(path, p.Name);
                if (Array.IndexOf(allowed, p.Name) < 0)
                {
                    Error(childPath, unknownMessage?.Invoke(p.Name) ?? $"unknown property '{p.Name}'; expected {string.Join(", ", allowed)}");
                }
                else if (!result.TryAdd(p.Name, p.Value))
                {
                    Error(childPath, "duplicate property");
                }
            }

            return result;
        }

        private string? String(Dictionary<string, JsonElement> props, string path, string name, bool required)
        {
            var childPath = RuleParser.Child(path, name);
            if (!props.TryGetValue(name, out var e))
            {
                if (required)
                {
                    Error(childPath, "is required");
                }

                return null;
            }

            if (e.ValueKind != JsonValueKind.String)
            {
                Error(childPath, $"expected a string, got {Kind(e)}");
                return null;
            }

            return e.GetString();
        }

        // A templated string field: type-checked, non-empty, compiled and analysed.
        private string? Field(Dictionary<string, JsonElement> props, string path, string name, FieldEncoding encoding, bool required)
        {
            var source = String(props, path, name, required);
            return source is null ? null : Source(source, RuleParser.Child(path, name), encoding);
        }

        private string? Source(string source, string path, FieldEncoding encoding)
        {
            if (source.Trim().Length == 0)
            {
                Error(path, "must not be empty");
                return null;
            }

            if (source.Length > MaxFieldLength)
            {
                Error(path, $"must be at most {MaxFieldLength} characters");
                return null;
            }

            if (!source.Contains("{{", StringComparison.Ordinal))
            {
                return source;
            }

            try
            {
                Compiler.Compile(encoding, source);
            }
            catch (Exception e)
            {
                var message = "template syntax error: " + e.Message.ReplaceLineEndings(" ").Trim();
                if (source.Contains("}}}", StringComparison.Ordinal) && !source.Contains("{{{", StringComparison.Ordinal))
                {
                    message += " (a '}' right after '}}' reads as '}}}'; put a space between them: {{json x}} })";
                }

                Error(path, message);
                return null;
            }

            var before = Errors.Count;
            foreach (var message in TemplateSyntax.Analyze(source).Errors)
            {
                Error(path, message);
            }

            return Errors.Count == before ? source : null;
        }

        private Dictionary<string, string>? StringMap(Dictionary<string, JsonElement> props, string path, string name, string? keyPattern, bool atLeastOne)
        {
            if (!props.TryGetValue(name, out var e))
            {
                return null;
            }

            var mapPath = RuleParser.Child(path, name);
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(mapPath, $"expected an object of strings, got {Kind(e)}");
                return null;
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            var ok = true;
            foreach (var p in e.EnumerateObject())
            {
                var itemPath = RuleParser.Child(mapPath, p.Name);
                if (result.ContainsKey(p.Name))
                {
                    Error(itemPath, "duplicate property");
                    ok = false;
                    continue;
                }

                if (p.Name.Trim().Length == 0 || (keyPattern is not null && !(char.IsAsciiLetter(p.Name[0]) && p.Name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))))
                {
                    Error(itemPath, keyPattern is null ? "keys must not be empty" : $"'{p.Name}' is not a key: {keyPattern}");
                    ok = false;
                    continue;
                }

                if (p.Value.ValueKind != JsonValueKind.String)
                {
                    Error(itemPath, $"expected a string, got {Kind(p.Value)}");
                    ok = false;
                    continue;
                }

                var source = Source(p.Value.GetString()!, itemPath, FieldEncoding.Text);
                if (source is null)
                {
                    ok = false;
                    continue;
                }

                result[p.Name] = source;
            }

            if (ok && atLeastOne && result.Count == 0)
            {
                Error(mapPath, "needs at least one entry");
                return null;
            }

            return ok ? result : null;
        }

        private static string Kind(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            _ => "nothing",
        };
    }
}
