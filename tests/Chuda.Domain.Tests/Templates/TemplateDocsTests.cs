using System.Text.RegularExpressions;
using Chuda.Domain.Templates;
using Chuda.Testing;

namespace Chuda.Domain.Tests.Templates;

public partial class TemplateDocsTests
{
    [GeneratedRegex("```json\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();

    /// <summary>Every template shown in docs/templates.md parses and renders its channels, so the examples stay
    /// copy-paste valid.</summary>
    [Fact]
    public void Every_template_example_in_the_docs_is_valid()
    {
        var text = File.ReadAllText(Repository.File("docs/templates.md"));
        var blocks = JsonBlock().Matches(text).Select(m => m.Groups[1].Value).ToList();
        Assert.True(blocks.Count >= 2, $"found only {blocks.Count} examples");
        foreach (var block in blocks)
        {
            var result = TemplateParser.Parse(block);
            Assert.True(result.IsValid, block + "\n" + string.Join("\n", result.Errors));
            foreach (var channel in result.Definition!.Channels)
            {
                var rendered = TemplateRenderer.Render(result.Definition, channel, null, TemplateData.FromJson("""
                {"profile":{"first_name":"Li","user_id":"u1"},"event":{"item_count":2,"cart_id":"c1","order_id":"o/1","items":[1]},
                 "message":{"cart_url":"https://x.test/c","unsubscribe_url":"https://x.test/u"}}
                """));
                Assert.True(rendered.Ok && rendered.Problems.Count == 0, channel + ": " + string.Join("\n", rendered.Problems));
            }
        }
    }
}
