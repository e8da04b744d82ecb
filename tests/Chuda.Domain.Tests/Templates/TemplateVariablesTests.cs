using Chuda.Domain.Templates;
using static Chuda.Domain.Tests.Templates.TemplateTestKit;

namespace Chuda.Domain.Tests.Templates;

public class TemplateVariablesTests
{
    [Fact]
    public void Variables_lists_every_path_in_every_locale_and_channel_sorted()
    {
        var t = Valid("""
        {"name":"n","defaultLocale":"en","locales":{
          "en":{"email":{"subject":"Hi {{profile.first_name}}","html":"{{#each items}}{{event.title}} {{formatNumber event.price 2}} {{../profile.city}} {{@index}}{{/each}}"},
                "push":{"title":"t","data":{"k":"{{event.cart_id}}"}}},
          "zh-Hans":{"sms":{"text":"{{#if (eq journey.step \"a\")}}{{default profile.nick \"x\"}}{{/if}} {{#with profile.address}}{{city}}{{/with}} {{message.unsubscribe_url}}"},
                     "webhook":{"body":"{\"a\": {{json event}} }"}}},
         "required":["profile.email"]}
        """);
        Assert.Equal(
            [
                "event", "event.cart_id", "items", "items[].event.price", "items[].event.title", "journey.step",
                "message.unsubscribe_url", "profile.address", "profile.address.city", "profile.city", "profile.email",
                "profile.first_name", "profile.nick",
            ],
            TemplateRenderer.Variables(t).ToList());
    }

    [Fact]
    public void Variables_resolve_block_params_this_root_and_indexes()
    {
        var t = One("""{"sms":{"text":"{{#each event.lines as |line i|}}{{line.sku}} {{i}} {{this.qty}} {{@root.profile.n}}{{/each}} {{event.lines.[0].sku}} {{profile.[first name]}}"}}""");
        Assert.Equal(
            ["event.lines", "event.lines[0].sku", "event.lines[].qty", "event.lines[].sku", "profile.first name", "profile.n"],
            TemplateRenderer.Variables(t).ToList());
    }

    [Fact]
    public void A_template_without_mustaches_has_no_variables() =>
        Assert.Empty(TemplateRenderer.Variables(One("""{"sms":{"text":"hello"}}""")));
}
