using Chuda.Domain.Templates;
using static Chuda.Domain.Tests.Templates.TemplateTestKit;

namespace Chuda.Domain.Tests.Templates;

public class TemplateParserTests
{
    private const string Full = """
    {
      "name": "Cart reminder",
      "category": "marketing",
      "defaultLocale": "en",
      "locales": {
        "en": {
          "email": {"subject": "You left {{event.item_count}} items", "html": "<p>Hi {{profile.first_name}}</p>", "text": "Hi", "from": "shop@example.com", "replyTo": "help@example.com"},
          "sms": {"text": "Hi {{profile.first_name}}"},
          "push": {"title": "Cart", "body": "Hi", "data": {"k": "{{event.cart_id}}"}, "deepLink": "app://cart/{{event.cart_id}}", "image": "https://x/i.png"},
          "in_app": {"title": "Cart", "body": "Hi", "action": {"label": "Open", "url": "https://example.com"}},
          "wechat": {"templateId": "TMPL_ID", "url": "https://example.com", "miniprogram": {"appid": "wx1", "pagepath": "pages/cart?id={{event.cart_id}}"}, "data": {"first": "{{profile.first_name}}", "keyword1": "x"}},
          "webhook": {"body": "{\"x\": \"{{profile.email}}\"}"},
          "voice": {"text": "Your code is {{event.code}}", "language": "en-US", "repeat": 2}
        },
        "zh-Hans": {"sms": {"text": "你好"}},
        "zh-Hant-TW": {"sms": {"text": "你好"}},
        "es-419": {"push": {"body": "hola"}}
      },
      "required": ["profile.first_name", "event.cart_id"]
    }
    """;

    [Fact]
    public void A_full_template_parses_into_its_records()
    {
        var t = Valid(Full);
        Assert.Equal("Cart reminder", t.Name);
        Assert.Equal("marketing", t.Category);
        Assert.Equal("en", t.DefaultLocale);
        Assert.Equal(["en", "zh-Hans", "zh-Hant-TW", "es-419"], t.Locales.Keys);
        Assert.Equal(["profile.first_name", "event.cart_id"], t.Required);
        var en = t.Locales["en"];
        Assert.Equal(new EmailTemplate("You left {{event.item_count}} items", "<p>Hi {{profile.first_name}}</p>", "Hi", "shop@example.com", "help@example.com"), en.Email);
        Assert.Equal("{{event.cart_id}}", en.Push!.Data["k"]);
        Assert.Equal(new InAppAction("Open", "https://example.com"), en.InApp!.Action);
        Assert.Equal(new WeChatMiniprogram("wx1", "pages/cart?id={{event.cart_id}}"), en.WeChat!.Miniprogram);
        Assert.Equal(["first", "keyword1"], en.WeChat.Data.Keys);
        Assert.Equal("{\"x\": \"{{profile.email}}\"}", en.Webhook!.Body);
        Assert.Equal(new VoiceTemplate("Your code is {{event.code}}", "en-US", 2), en.Voice);
        Assert.Equal(TemplateChannels.All, t.Channels.ToList());
        Assert.True(t.HasChannel("in_app"));
        Assert.False(t.HasChannel("fax"));
        Assert.Equal(["sms"], Valid("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}}}""").Channels.ToList());
    }

    [Fact]
    public void Malformed_json_is_one_error_at_the_root()
    {
        var errors = Errors("{\"name\": ");
        Assert.Single(errors);
        Assert.Equal("$", errors[0].Path);
        Assert.StartsWith("not valid JSON", errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_root_must_be_an_object_with_name_default_locale_and_locales()
    {
        HasError(Errors("[]"), "$", "expected a template");
        var errors = Errors("{}");
        HasError(errors, "$.name", "is required");
        HasError(errors, "$.defaultLocale", "is required");
        HasError(errors, "$.locales", "is required");
    }

    [Theory]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}},"extra":1}""", "$.extra", "unknown property 'extra'")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"fax":{"text":"x"}}}}""", "$.locales.en.fax", "unknown channel 'fax'")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x","unicode":true}}}}""", "$.locales.en.sms.unicode", "unknown property")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"email":{"subject":"s","html":"h","cc":"x"}}}}""", "$.locales.en.email.cc", "unknown property")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"in_app":{"title":"t","action":{"label":"l","url":"u","x":1}}}}}""", "$.locales.en.in_app.action.x", "unknown property")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"wechat":{"templateId":"t","data":{"a":"b"},"miniprogram":{"appid":"a","path":"p"}}}}}""", "$.locales.en.wechat.miniprogram.path", "unknown property")]
    [InlineData("""{"name":"n","name":"m","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}}}""", "$.name", "duplicate property")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"},"sms":{"text":"y"}}}}""", "$.locales.en.sms", "duplicate property")]
    public void Unknown_and_duplicate_properties_are_errors_at_their_path(string json, string path, string fragment) =>
        HasError(Errors(json), path, fragment);

    [Theory]
    [InlineData("""{"name":1,"defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}}}""", "$.name", "expected a string, got a number")]
    [InlineData("""{"name":"n","defaultLocale":["en"],"locales":{"en":{"sms":{"text":"x"}}}}""", "$.defaultLocale", "expected a string, got an array")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":[]}""", "$.locales", "expected an object of locales, got an array")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":"x"}}""", "$.locales.en", "expected a locale")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":"x"}}}""", "$.locales.en.sms", "expected SMS content, got a string")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":null}}}}""", "$.locales.en.sms.text", "expected a string, got null")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"push":{"title":"t","data":{"k":1}}}}}""", "$.locales.en.push.data.k", "expected a string, got a number")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"push":{"title":"t","data":[]}}}}""", "$.locales.en.push.data", "expected an object of strings")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}},"required":"profile.x"}""", "$.required", "expected an array")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}},"required":[1]}""", "$.required[0]", "expected a variable path")]
    [InlineData("""{"name":"n","category":true,"defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}}}""", "$.category", "expected a string, got a boolean")]
    public void Wrong_types_are_errors_at_their_path(string json, string path, string fragment) =>
        HasError(Errors(json), path, fragment);

    [Theory]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{}}}""", "$.locales.en", "needs at least one channel")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{}}""", "$.locales", "needs at least one locale")]
    [InlineData("""{"name":"n","defaultLocale":"fr","locales":{"en":{"sms":{"text":"x"}}}}""", "$.defaultLocale", "'fr' is not among the locales")]
    [InlineData("""{"name":"n","defaultLocale":"EN","locales":{"en":{"sms":{"text":"x"}}}}""", "$.defaultLocale", "did you mean 'en'")]
    [InlineData("""{"name":" ","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}}}""", "$.name", "must not be empty")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"email":{"subject":"s"}}}}""", "$.locales.en.email", "needs 'html' or 'text'")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"email":{"html":"h"}}}}""", "$.locales.en.email.subject", "is required")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"email":{"subject":"","html":"h"}}}}""", "$.locales.en.email.subject", "must not be empty")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{}}}}""", "$.locales.en.sms.text", "is required")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"push":{"data":{"k":"v"}}}}}""", "$.locales.en.push", "needs 'title' or 'body'")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"in_app":{"action":{"label":"l","url":"u"}}}}}""", "$.locales.en.in_app", "needs 'title' or 'body'")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"in_app":{"body":"b","action":{"label":"l"}}}}}""", "$.locales.en.in_app.action.url", "is required")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"wechat":{"data":{"first":"x"}}}}}""", "$.locales.en.wechat.templateId", "is required")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"wechat":{"templateId":"T"}}}}""", "$.locales.en.wechat.data", "is required")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"wechat":{"templateId":"T","data":{}}}}}""", "$.locales.en.wechat.data", "needs at least one entry")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"wechat":{"templateId":"T","data":{"key 1":"x"}}}}}""", "$.locales.en.wechat.data['key 1']", "is not a key")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"wechat":{"templateId":"{{event.t}}","data":{"a":"x"}}}}}""", "$.locales.en.wechat.templateId", "literal id")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"wechat":{"templateId":"T","miniprogram":{"pagepath":"p"},"data":{"a":"x"}}}}}""", "$.locales.en.wechat.miniprogram.appid", "is required")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"webhook":{}}}}""", "$.locales.en.webhook.body", "is required")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}},"required":["first_name"]}""", "$.required[0]", "is not a variable path")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}},"required":["items.x"]}""", "$.required[0]", "is not a variable path")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}},"required":["profile..x"]}""", "$.required[0]", "is not a variable path")]
    [InlineData("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"x"}}},"required":["profile.x","profile.x"]}""", "$.required[1]", "listed twice")]
    public void Missing_and_empty_parts_are_errors_at_their_path(string json, string path, string fragment) =>
        HasError(Errors(json), path, fragment);

    [Theory]
    [InlineData("en")]
    [InlineData("en-US")]
    [InlineData("zh-Hans")]
    [InlineData("zh-Hant-TW")]
    [InlineData("es-419")]
    [InlineData("yue")]
    public void Locale_keys_accept_language_script_and_region(string tag) =>
        Valid("{\"name\":\"n\",\"defaultLocale\":\"" + tag + "\",\"locales\":{\"" + tag + "\":{\"sms\":{\"text\":\"x\"}}}}");

    [Theory]
    [InlineData("english", "is not a locale tag")]
    [InlineData("en-", "is not a locale tag")]
    [InlineData("e", "is not a locale tag")]
    [InlineData("en-USA", "is not a locale tag")]
    [InlineData("zh-Hans-CN-x", "is not a locale tag")]
    [InlineData("en-us", "write 'en-US'")]
    [InlineData("zh_Hans", "write 'zh-Hans'")]
    [InlineData("ZH-hant-tw", "write 'zh-Hant-TW'")]
    public void Locale_keys_must_be_canonical_language_tags(string tag, string fragment) =>
        HasError(Errors("{\"name\":\"n\",\"defaultLocale\":\"en\",\"locales\":{\"en\":{\"sms\":{\"text\":\"x\"}},\"" + tag + "\":{\"sms\":{\"text\":\"x\"}}}}"),
            Chuda.Domain.Segments.RuleParser.Child("$.locales", tag), fragment);

    [Theory]
    [InlineData("Hi {{profile.first_name", "template syntax error")]
    [InlineData("{{#if profile.vip}}VIP", "template syntax error")]
    [InlineData("{{#each items}}x{{/if}}", "template syntax error")]
    [InlineData("{{#if}}x{{/if}}", "template syntax error")]
    [InlineData("{{{profile.x}}", "template syntax error")]
    [InlineData("{{shout profile.x}}", "unknown helper 'shout'")]
    [InlineData("{{upper (shout profile.x)}}", "unknown helper 'shout'")]
    [InlineData("{{#loop items}}x{{/loop}}", "unknown block helper 'loop'")]
    [InlineData("{{#upper profile.x}}x{{/upper}}", "'upper' is not a block helper")]
    [InlineData("{{if profile.x}}", "'if' is a block helper")]
    [InlineData("{{> footer}}", "partials")]
    [InlineData("{{first_name}}", "unknown variable 'first_name'")]
    [InlineData("{{#if vip}}x{{/if}}", "unknown variable 'vip'")]
    [InlineData("{{formatDate event.at}}", "formatDate takes 2 to 3 arguments, got 1")]
    [InlineData("{{formatCurrency event.price}}", "formatCurrency takes 2 arguments, got 1")]
    [InlineData("{{upper}}", "upper takes 1 argument, got 0")]
    [InlineData("{{#each items}}{{/each}}{{else}}", "{{else}} outside a block")]
    public void Template_errors_are_reported_at_the_field(string source, string fragment)
    {
        var json = """{"name":"n","defaultLocale":"en","locales":{"en":{"push":{"title":"ok","data":{"k":""" + Quote(source) + "}}}}}";
        HasError(Errors(json), "$.locales.en.push.data.k", fragment);
    }

    [Fact]
    public void Every_field_is_compiled_and_errors_name_their_locale_and_field()
    {
        var errors = Errors("""
        {"name":"n","defaultLocale":"en","locales":{
          "en":{"email":{"subject":"{{profile.x","html":"{{#if profile.a}}"}},
          "zh-Hans":{"in_app":{"title":"t","action":{"label":"{{nope x}}","url":"u"}},"webhook":{"body":"{{x}}"}}}}
        """);
        HasError(errors, "$.locales.en.email.subject", "template syntax error");
        HasError(errors, "$.locales.en.email.html", "template syntax error");
        HasError(errors, "$.locales['zh-Hans'].in_app.action.label", "unknown helper 'nope'");
        HasError(errors, "$.locales['zh-Hans'].in_app.action.label", "unknown variable 'x'");
        HasError(errors, "$.locales['zh-Hans'].webhook.body", "unknown variable 'x'");
        Assert.True(errors.Count == 5, string.Join("\n", errors));
    }

    [Theory]
    [InlineData("{{#each items}}{{event.name}} {{@index}} {{this.event.x}} {{../profile.a}} {{@root.profile.b}}{{/each}}")]
    [InlineData("{{#each items as |item i|}}{{item.event.name}} {{i}}{{/each}}")]
    [InlineData("{{#with profile.address}}{{city}}{{else}}{{profile.x}}{{/with}}")]
    [InlineData("{{#if (eq event.plan \"pro\")}}a{{else if profile.vip}}b{{else}}c{{/if}}")]
    [InlineData("{{#unless profile.x}}a{{/unless}} {{default profile.a \"x\"}} {{lookup profile \"x\"}}")]
    [InlineData("{{!-- {{nope}} --}}{{! also {{nope}} }} \\{{nope}} {{profile.[first name]}} {{~profile.x~}}")]
    [InlineData("{{formatDate event.at \"short\" \"Asia/Shanghai\"}} {{formatNumber 3}} {{truncate profile.bio 20 \"...\"}} {{json event}} {{urlEncode profile.email}}")]
    [InlineData("{{{profile.html}}} {{\"literal\"}} {{profile.tags.[0]}}")]
    public void Valid_handlebars_uses_are_accepted(string source) =>
        One("""{"sms":{"text":""" + Quote(source) + "}}");

    [Fact]
    public void All_errors_are_collected()
    {
        var errors = Errors("""{"name":2,"defaultLocale":"en","x":1,"locales":{"en":{"sms":{"text":"{{a}}"},"fax":{}},"de-de":{"push":{}}}}""");
        HasError(errors, "$.name");
        HasError(errors, "$.x");
        HasError(errors, "$.locales.en.sms.text");
        HasError(errors, "$.locales.en.fax");
        HasError(errors, "$.locales['de-de']", "write 'de-DE'");
        HasError(errors, "$.locales['de-de'].push", "needs 'title' or 'body'");
    }

    [Fact]
    public void A_parsed_definition_is_compiled_already_and_compile_is_cached()
    {
        var t = Valid(Full);
        Assert.Same(TemplateRenderer.Compile(t), TemplateRenderer.Compile(t));
        Assert.Same(t, TemplateRenderer.Compile(t).Definition);
    }

    [Fact]
    public void A_hand_made_definition_that_does_not_compile_is_refused()
    {
        var t = new TemplateDefinition("n", null, "en",
            new Dictionary<string, TemplateLocale> { ["en"] = new(Sms: new SmsTemplate("{{#if x}}")) }, []);
        Assert.Throws<ArgumentException>(() => TemplateRenderer.Compile(t));
    }

    [Theory]
    [InlineData("""{"text": "hi", "repeat": 4}""", "$.locales.en.voice.repeat")]
    [InlineData("""{"text": "hi", "language": "en US"}""", "$.locales.en.voice.language")]
    [InlineData("""{"language": "en"}""", "$.locales.en.voice.text")]
    [InlineData("""{"text": "hi", "speed": 2}""", "$.locales.en.voice.speed")]
    public void Bad_voice_content_is_reported_at_its_path(string voice, string path)
    {
        var errors = TemplateParser.Parse("""{"name":"n","defaultLocale":"en","locales":{"en":{"voice":""" + voice + "}}}").Errors;
        Assert.Contains(errors, e => e.Path == path);
        Assert.Single(errors);
    }

    [Fact]
    public void A_voice_template_renders_its_text_language_and_repeat()
    {
        var parsed = TemplateParser.Parse("""{"name":"n","defaultLocale":"zh-Hans","locales":{"zh-Hans":{"voice":{"text":"您的验证码是{{event.code}}","language":"zh-CN"}}}}""");
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        var result = TemplateRenderer.Render(parsed.Definition!, "voice", null, TemplateData.FromJson("""{"event":{"code":"4821"}}"""));
        Assert.True(result.Ok);
        Assert.Equal(new VoiceContent("您的验证码是4821", "zh-CN", 1), result.Content);
    }
}
