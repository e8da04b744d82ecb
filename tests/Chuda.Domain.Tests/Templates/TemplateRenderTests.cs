using System.Text.Json;
using Chuda.Domain.Templates;
using static Chuda.Domain.Tests.Templates.TemplateTestKit;

namespace Chuda.Domain.Tests.Templates;

public class TemplateRenderTests
{
    // ---- locale fallback ----------------------------------------------------------------------------

    private static readonly TemplateDefinition Locales = Valid("""
    {"name":"n","defaultLocale":"en","locales":{
      "en":{"sms":{"text":"en"},"push":{"body":"en"}},
      "zh":{"sms":{"text":"zh"}},
      "zh-Hans":{"sms":{"text":"zh-Hans"},"email":{"subject":"s","text":"zh-Hans"}},
      "zh-Hant":{"sms":{"text":"zh-Hant"}},
      "zh-Hant-TW":{"push":{"body":"zh-Hant-TW"}},
      "de":{"in_app":{"body":"de"}}}}
    """);

    [Theory]
    [InlineData("sms", "zh-Hant-TW", "zh-Hant")]   // zh-Hant-TW lacks sms: its parent has it
    [InlineData("push", "zh-Hant-TW", "zh-Hant-TW")]
    [InlineData("push", "zh-Hant", "en")]          // zh-Hant, zh lack push: the default
    [InlineData("sms", "zh-Hans-SG", "zh-Hans")]
    [InlineData("sms", "zh-CN", "zh-Hans")]        // CLDR parent of zh-CN is zh-Hans
    [InlineData("sms", "zh-TW", "zh-Hant")]
    [InlineData("sms", "zh-HK", "zh-Hant")]
    [InlineData("sms", "zh", "zh")]
    [InlineData("sms", "zh-MO-x", "zh")]           // not a culture: truncation only
    [InlineData("sms", "ZH-hant-tw", "zh-Hant")]   // case-insensitive
    [InlineData("sms", "zh_Hant_TW", "zh-Hant")]   // underscores
    [InlineData("sms", "fr-FR", "en")]
    [InlineData("sms", null, "en")]
    [InlineData("sms", "", "en")]
    [InlineData("email", "en-US", "zh-Hans")]      // no locale in the chain has it: any locale that has it
    [InlineData("in_app", null, "de")]
    public void The_requested_locale_falls_back_to_parents_then_the_default(string channel, string? requested, string used)
    {
        var compiled = TemplateRenderer.Compile(Locales);
        var result = compiled.Render(channel, requested, Data(), RenderOptions.Default);
        Assert.True(result.Ok, string.Join("\n", result.Problems));
        Assert.Equal(used, result.LocaleUsed);
        Assert.Equal(used, compiled.LocaleFor(channel, requested));
        if (channel == "sms")
        {
            Assert.Equal(used, ((SmsContent)result.Content!).Text);
        }
    }

    [Fact]
    public void Without_a_locale_argument_the_recipient_locale_is_used()
    {
        var result = TemplateRenderer.Compile(Locales).Render("sms", null, Data(locale: "zh-TW"), RenderOptions.Default);
        Assert.Equal("zh-Hant", result.LocaleUsed);
    }

    [Fact]
    public void A_channel_no_locale_has_is_an_error_without_content()
    {
        var result = Render(Locales, "webhook");
        Assert.False(result.Ok);
        Assert.Null(result.Content);
        Assert.Equal("", result.LocaleUsed);
        Assert.Equal(new RenderProblem("webhook", null, "the template has no webhook content in any locale", RenderSeverity.Error), Assert.Single(result.Problems));
        var unknown = Render(Locales, "fax");
        Assert.False(unknown.Ok);
        Assert.Equal("fax", Assert.Single(unknown.Problems).Field);
    }

    // ---- missing variables ----------------------------------------------------------------------------

    [Fact]
    public void Missing_variables_are_reported_with_field_and_path_not_rendered_silently()
    {
        var t = One("""{"email":{"subject":"Hi {{profile.first_name}}","html":"<p>{{profile.address.city}} {{event.total}}</p>","from":"{{journey.sender}}"}}""");
        var result = Render(t, "email", """{"profile":{"address":{}},"event":{"total":null}}""");
        Assert.True(result.Ok);
        Assert.Equal(
            [
                new RenderProblem("email.subject", "profile.first_name", "has no value", RenderSeverity.Warning),
                new RenderProblem("email.html", "profile.address.city", "has no value", RenderSeverity.Warning),
                new RenderProblem("email.html", "event.total", "has no value", RenderSeverity.Warning),
                new RenderProblem("email.from", "journey.sender", "has no value", RenderSeverity.Warning),
            ],
            result.Problems);
        var email = (EmailContent)result.Content!;
        Assert.Equal("Hi ", email.Subject);
        Assert.Null(email.From);
    }

    [Fact]
    public void A_missing_parent_object_reports_the_whole_path()
    {
        var (_, result) = Sms("Hi {{profile.address.city}} {{message.links.unsubscribe}}");
        Assert.Equal(["profile.address.city", "message.links.unsubscribe"], result.Problems.Select(p => p.Variable));
    }

    [Fact]
    public void Strict_mode_makes_missing_variables_errors()
    {
        var t = One("""{"sms":{"text":"Hi {{profile.first_name}}!"}}""");
        var result = Render(t, "sms", strict: true);
        Assert.False(result.Ok);
        Assert.Equal(RenderSeverity.Error, Assert.Single(result.Problems).Severity);
        Assert.Equal("Hi !", ((SmsContent)result.Content!).Text);
    }

    [Theory]
    [InlineData("{{#if profile.first_name}}Hi {{profile.first_name}}{{else}}Hi there{{/if}}", "Hi there")]
    [InlineData("{{#unless profile.vip}}regular{{/unless}}", "regular")]
    [InlineData("{{#with profile.address}}{{city}}{{else}}no address{{/with}}", "no address")]
    [InlineData("{{#each event.products}}{{name}}{{else}}no products{{/each}}", "no products")]
    [InlineData("Hi {{default profile.first_name \"friend\"}}", "Hi friend")]
    [InlineData("Hi {{default profile.empty \"friend\"}}", "Hi friend")]
    [InlineData("{{#if (eq profile.plan \"pro\")}}pro{{else}}free{{/if}}", "free")]
    [InlineData("{{#if profile.address.city}}x{{else}}y{{/if}}", "y")]
    [InlineData("{{#if profile.nothing}}x{{else if profile.also_nothing}}y{{else}}z{{/if}}", "z")]
    public void Missing_variables_in_tests_and_defaults_are_not_problems(string source, string expected)
    {
        var (text, result) = Sms(source, """{"profile":{"empty":"","nothing":null}}""");
        Assert.Equal(expected, text);
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void Null_values_count_as_missing_and_false_and_zero_are_values()
    {
        var (text, result) = Sms("[{{profile.a}}][{{profile.b}}][{{profile.c}}][{{#if profile.b}}t{{else}}f{{/if}}]", """{"profile":{"a":null,"b":false,"c":0}}""");
        Assert.Equal("[][false][0][f]", text);
        Assert.Equal("profile.a", Assert.Single(result.Problems).Variable);
    }

    [Fact]
    public void Values_render_as_their_json_text()
    {
        var (text, _) = Sms("{{event.price}} {{event.n}} {{event.big}} {{event.ok}} {{event.tags}} {{event.obj}}",
            """{"event":{"price":12.50,"n":-3,"big":1e400,"ok":true,"tags":["a","b"],"obj":{"k":1}}}""");
        Assert.Equal("12.50 -3 ∞ true a,b {\"k\":1}", text.Replace("Infinity", "∞", StringComparison.Ordinal));
    }

    [Fact]
    public void A_required_variable_that_is_missing_fails_the_render_but_content_is_kept()
    {
        var t = One("""{"sms":{"text":"Hi {{profile.first_name}}, cart {{event.cart_id}} {{profile.nick}}"}}""",
            required: """["profile.first_name","event.cart_id"]""");
        var result = Render(t, "sms", """{"profile":{"first_name":""},"event":{"cart_id":7}}""");
        Assert.False(result.Ok);
        Assert.Equal(
            [
                new RenderProblem("required", "profile.first_name", "required variable has no value", RenderSeverity.Error),
                new RenderProblem("sms.text", "profile.nick", "has no value", RenderSeverity.Warning),
            ],
            result.Problems);
        Assert.Equal("Hi , cart 7 ", ((SmsContent)result.Content!).Text);

        var missing = Render(t, "sms", """{"event":{"cart_id":7}}""");
        Assert.Equal(
            [
                new RenderProblem("required", "profile.first_name", "required variable has no value", RenderSeverity.Error),
                new RenderProblem("sms.text", "profile.first_name", "has no value", RenderSeverity.Error),
                new RenderProblem("sms.text", "profile.nick", "has no value", RenderSeverity.Warning),
            ],
            missing.Problems);

        var ok = Render(t, "sms", """{"profile":{"first_name":"Li","nick":"L"},"event":{"cart_id":7}}""");
        Assert.True(ok.Ok);
        Assert.Empty(ok.Problems);
    }

    [Fact]
    public void A_required_variable_is_checked_even_when_the_channel_does_not_use_it()
    {
        var t = One("""{"sms":{"text":"hello"}}""", required: """["event.order.id"]""");
        Assert.False(Render(t, "sms", """{"event":{"order":{}}}""").Ok);
        Assert.True(Render(t, "sms", """{"event":{"order":{"id":0}}}""").Ok);
    }

    // ---- escaping -------------------------------------------------------------------------------------

    [Fact]
    public void Only_the_html_part_is_html_escaped()
    {
        var t = One("""
        {"email":{"subject":"{{profile.name}} & co","html":"<b>{{profile.name}}</b> {{{profile.name}}} {{upper profile.name}}","text":"{{profile.name}} &amp;"},
         "sms":{"text":"{{profile.name}}"},
         "push":{"title":"{{profile.name}}","body":"b","data":{"k":"{{profile.name}}"}},
         "in_app":{"title":"{{profile.name}}"},
         "wechat":{"templateId":"T","data":{"first":"{{profile.name}}"}}}
        """);
        const string data = """{"profile":{"name":"Tom & \"Jerry\" <x>"}}""";
        const string raw = "Tom & \"Jerry\" <x>";
        var email = (EmailContent)Render(t, "email", data).Content!;
        Assert.Equal(raw + " & co", email.Subject);
        Assert.Equal("<b>Tom &amp; &quot;Jerry&quot; &lt;x&gt;</b> " + raw + " TOM &amp; &quot;JERRY&quot; &lt;X&gt;", email.Html);
        Assert.Equal(raw + " &amp;", email.Text);
        Assert.Equal(raw, ((SmsContent)Render(t, "sms", data).Content!).Text);
        var push = (PushContent)Render(t, "push", data).Content!;
        Assert.Equal(raw, push.Title);
        Assert.Equal(raw, push.Data["k"]);
        Assert.Equal(raw, ((InAppContent)Render(t, "in_app", data).Content!).Title);
        Assert.Equal(raw, ((WeChatContent)Render(t, "wechat", data).Content!).Data["first"]);
    }

    [Fact]
    public void Non_ascii_text_is_not_entity_encoded_in_html()
    {
        var t = One("""{"email":{"subject":"s","html":"<p>{{profile.name}}</p>"}}""");
        Assert.Equal("<p>张三 café</p>", ((EmailContent)Render(t, "email", """{"profile":{"name":"张三 café"}}""").Content!).Html);
    }

    [Fact]
    public void Webhook_values_are_json_string_escaped_and_the_body_is_checked()
    {
        var t = One("""{"webhook":{"body":"{\"name\":\"{{profile.name}}\",\"n\":{{event.n}},\"ok\":{{event.ok}},\"event\":{{json event}},\"tags\":{{json profile.tags}},\"missing\":{{json profile.none}} }"}}""");
        var result = Render(t, "webhook", """{"profile":{"name":"a\"b\\c\nd\te\u0001 </script>","tags":["x"]},"event":{"n":1.5,"ok":false}}""");
        var body = ((WebhookContent)result.Content!).Body;
        using var doc = JsonDocument.Parse(body);
        Assert.Equal("a\"b\\c\nd\te\u0001 </script>", doc.RootElement.GetProperty("name").GetString());
        Assert.Equal(1.5m, doc.RootElement.GetProperty("n").GetDecimal());
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal("""{"n":1.5,"ok":false}""", doc.RootElement.GetProperty("event").GetRawText());
        Assert.Equal("x", doc.RootElement.GetProperty("tags")[0].GetString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("missing").ValueKind);
        Assert.Equal(new RenderProblem("webhook.body", "profile.none", "has no value", RenderSeverity.Warning), Assert.Single(result.Problems));
    }

    [Theory]
    [InlineData("""{"x": {{profile.name}} }""")]
    [InlineData("""{"x": "{{{profile.name}}}"}""")]
    [InlineData("""{"x": "{{json profile.name}}"}""")]
    public void A_webhook_body_that_renders_to_invalid_json_is_an_error(string body)
    {
        var t = One("""{"webhook":{"body":""" + Quote(body) + "}}");
        var result = Render(t, "webhook", """{"profile":{"name":"a\"b"}}""");
        Assert.False(result.Ok);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("webhook.body", problem.Field);
        Assert.StartsWith("the rendered body is not valid JSON", problem.Message, StringComparison.Ordinal);
    }

    // ---- channel content and emptiness -------------------------------------------------------------------

    [Fact]
    public void Email_text_is_derived_from_html_when_absent()
    {
        var t = One("""{"email":{"subject":"s","html":"<html><head><style>p{}</style></head><body><p>Hi {{profile.name}},</p><p>See <a href=\"https://x.test/c?id={{event.id}}\">your cart</a></p></body></html>"}}""");
        var email = (EmailContent)Render(t, "email", """{"profile":{"name":"A&B"},"event":{"id":3}}""").Content!;
        Assert.Equal("Hi A&B,\n\nSee your cart (https://x.test/c?id=3)", email.Text);
    }

    [Fact]
    public void Email_fields_are_rendered_and_optional_ones_dropped_when_empty()
    {
        var t = One("""{"email":{"subject":"s","text":"plain {{profile.a}}","from":"{{journey.from}}","replyTo":"r@x.test"}}""");
        var result = Render(t, "email", """{"profile":{"a":1},"journey":{"from":""}}""");
        Assert.Equal(new EmailContent("s", null, "plain 1", null, "r@x.test"), result.Content);
        Assert.True(result.Ok);
    }

    [Theory]
    [InlineData("""{"email":{"subject":"{{profile.e}}","html":"x"}}""", "email", "email.subject")]
    [InlineData("""{"email":{"subject":"s","html":"{{profile.e}}"}}""", "email", "email.html")]
    [InlineData("""{"email":{"subject":"s","text":" {{profile.e}} "}}""", "email", "email.text")]
    [InlineData("""{"sms":{"text":"{{profile.e}}"}}""", "sms", "sms.text")]
    [InlineData("""{"push":{"title":"{{profile.e}}","body":"{{profile.e}}"}}""", "push", "push.title")]
    [InlineData("""{"push":{"body":"{{profile.e}}"}}""", "push", "push.body")]
    [InlineData("""{"in_app":{"body":"{{profile.e}}"}}""", "in_app", "in_app.body")]
    [InlineData("""{"in_app":{"body":"b","action":{"label":"{{profile.e}}","url":"u"}}}""", "in_app", "in_app.action.label")]
    [InlineData("""{"in_app":{"body":"b","action":{"label":"l","url":"{{profile.e}}"}}}""", "in_app", "in_app.action.url")]
    [InlineData("""{"wechat":{"templateId":"T","data":{"first":"{{profile.e}}","remark":"{{profile.e}}"}}}""", "wechat", "wechat.data")]
    [InlineData("""{"webhook":{"body":"{{profile.e}}"}}""", "webhook", "webhook.body")]
    public void A_required_part_that_renders_empty_is_an_error_naming_the_field(string channels, string channel, string field)
    {
        var result = Render(One(channels), channel, """{"profile":{"e":""}}""");
        Assert.False(result.Ok);
        Assert.Contains(result.Problems, p => p.Field == field && p.Severity == RenderSeverity.Error);
    }

    [Fact]
    public void A_push_needs_only_one_of_title_and_body()
    {
        var t = One("""{"push":{"title":"{{profile.e}}","body":"Hi","data":{"cart":"{{event.cart}}","fixed":"1"},"deepLink":"app://cart/{{event.cart}}","image":"{{profile.e}}"}}""");
        var result = Render(t, "push", """{"profile":{"e":""},"event":{"cart":"c1"}}""");
        Assert.True(result.Ok, string.Join("\n", result.Problems));
        var push = (PushContent)result.Content!;
        Assert.Null(push.Title);
        Assert.Equal("Hi", push.Body);
        Assert.Equal(new Dictionary<string, string> { ["cart"] = "c1", ["fixed"] = "1" }, push.Data);
        Assert.Equal("app://cart/c1", push.DeepLink);
        Assert.Null(push.Image);
    }

    [Fact]
    public void In_app_and_wechat_content()
    {
        var t = One("""
        {"in_app":{"title":"Hi {{profile.n}}","action":{"label":"Open","url":"https://x.test/{{urlEncode event.q}}"}},
         "wechat":{"templateId":"TMPL","url":"https://x.test","miniprogram":{"appid":"wx1","pagepath":"pages/o?id={{event.id}}"},"data":{"first":"{{profile.n}}","keyword1":"{{event.id}}"}}}
        """);
        const string data = """{"profile":{"n":"王"},"event":{"id":9,"q":"a b&c"}}""";
        Assert.Equal(new InAppContent("Hi 王", null, "Open", "https://x.test/a%20b%26c"), Render(t, "in_app", data).Content);
        var w = (WeChatContent)Render(t, "wechat", data).Content!;
        Assert.Equal(("TMPL", "https://x.test", "wx1", "pages/o?id=9"), (w.TemplateId, w.Url, w.MiniprogramAppId, w.MiniprogramPage));
        Assert.Equal(new Dictionary<string, string> { ["first"] = "王", ["keyword1"] = "9" }, w.Data);
    }

    [Fact]
    public void Sms_content_carries_its_measure()
    {
        var gsm = (SmsContent)Sms("Hi {{profile.n}}", """{"profile":{"n":"Ann"}}""").Result.Content!;
        Assert.Equal(new SmsContent("Hi Ann", "GSM-7", 1, 6), gsm);
        var ucs = (SmsContent)Sms("你好 {{profile.n}}", """{"profile":{"n":"Ann"}}""").Result.Content!;
        Assert.Equal(new SmsContent("你好 Ann", "UCS-2", 1, 6), ucs);
    }

    // ---- digests -------------------------------------------------------------------------------------

    [Fact]
    public void Each_iterates_digest_items_with_their_own_objects()
    {
        var t = One("""{"email":{"subject":"{{items.length}} updates for {{profile.n}}","html":"<ul>{{#each items}}<li>{{@index}}. {{event.title}} ({{formatNumber event.price 2}}) {{../profile.n}}{{#if @last}}.{{/if}}</li>{{/each}}</ul>"}}""");
        var result = Render(t, "email", """
        {"profile":{"n":"Bo"},"items":[{"event":{"title":"A<1>","price":1234.5}},{"event":{"title":"B"}},{"event":{"title":"C","price":3}}]}
        """, locale: "en-US");
        var email = (EmailContent)result.Content!;
        Assert.Equal("3 updates for Bo", email.Subject);
        Assert.Equal("<ul><li>0. A&lt;1&gt; (1,234.50) Bo</li><li>1. B () Bo</li><li>2. C (3.00) Bo.</li></ul>", email.Html);
        Assert.Equal("- 0. A<1> (1,234.50) Bo\n- 1. B () Bo\n- 2. C (3.00) Bo.", email.Text);
        Assert.Equal(new RenderProblem("email.html", "items[1].event.price", "has no value", RenderSeverity.Warning), Assert.Single(result.Problems));
    }

    [Fact]
    public void Each_with_block_params_and_objects()
    {
        var (text, result) = Sms("{{#each event.lines as |line i|}}{{i}}={{line.sku}};{{/each}} {{#each event.attrs}}{{@key}}:{{this}},{{/each}}",
            """{"event":{"lines":[{"sku":"a"},{"sku":"b"}],"attrs":{"color":"red","size":2}}}""");
        Assert.Equal("0=a;1=b; color:red,size:2,", text);
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void TemplateData_builds_a_profile_from_traits_and_identities()
    {
        var profile = TemplateData.ProfileObject("""{"first_name":"Li","email":"old@x.test","plan":"pro"}""", "u1", "new@x.test", "+8613800000000");
        Assert.Equal("""{"first_name":"Li","plan":"pro","user_id":"u1","email":"new@x.test","phone":"\u002B8613800000000"}""", profile.GetRawText());
        var t = One("""{"sms":{"text":"{{profile.first_name}} {{profile.email}} {{profile.phone}} {{profile.user_id}}"}}""");
        var result = TemplateRenderer.Render(t, "sms", null, new TemplateData { Profile = profile }, RenderOptions.Default);
        Assert.Equal("Li new@x.test +8613800000000 u1", ((SmsContent)result.Content!).Text);
        Assert.Throws<JsonException>(() => TemplateData.FromJson("""{"profile":[]}"""));
        Assert.Throws<JsonException>(() => TemplateData.FromJson("[]"));
    }
}
