using Chuda.Domain.Templates;
using static Chuda.Domain.Tests.Templates.TemplateTestKit;

namespace Chuda.Domain.Tests.Templates;

public class TemplateSmokeTests
{
    [Fact]
    public void Renders_the_example()
    {
        var t = Valid("""
        {
          "name": "Cart reminder", "category": "marketing", "defaultLocale": "en",
          "locales": {
            "en": { "email": {"subject": "You left {{event.item_count}} items & more", "html": "<p>Hi {{profile.first_name}}</p>"},
                    "sms": {"text": "Hi {{profile.first_name}}, {{profile.nope}}"},
                    "webhook": {"body": "{\"x\": \"{{profile.first_name}}\", \"n\": {{event.item_count}} }"} },
            "zh-Hans": { "sms": {"text": "你好 {{profile.first_name}}"} }
          },
          "required": ["profile.first_name"]
        }
        """);
        var data = """{"profile":{"first_name":"A\"<b>"},"event":{"item_count":3}}""";
        var email = Render(t, "email", data);
        Assert.True(email.Ok, string.Join("\n", email.Problems));
        var content = (EmailContent)email.Content!;
        Assert.Equal("You left 3 items & more", content.Subject);
        Assert.Equal("<p>Hi A&quot;&lt;b&gt;</p>", content.Html);
        Assert.Equal("Hi A\"<b>", content.Text);
        var sms = Render(t, "sms", data, locale: "zh-CN");
        Assert.Equal("zh-Hans", sms.LocaleUsed);
        var en = Render(t, "sms", data, locale: "en-US");
        Assert.Equal("Hi A\"<b>, ", ((SmsContent)en.Content!).Text);
        Assert.Single(en.Problems);
        Assert.Equal(new RenderProblem("sms.text", "profile.nope", "has no value", RenderSeverity.Warning), en.Problems[0]);
        var hook = Render(t, "webhook", data);
        Assert.True(hook.Ok, string.Join("\n", hook.Problems));
        Assert.Equal("{\"x\": \"A\\\"<b>\", \"n\": 3 }", ((WebhookContent)hook.Content!).Body);
    }
}
