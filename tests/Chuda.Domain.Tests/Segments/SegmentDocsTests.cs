using System.Text.Json;
using System.Text.RegularExpressions;
using Chuda.Domain.Segments;
using Chuda.Testing;

namespace Chuda.Domain.Tests.Segments;

public partial class SegmentDocsTests
{
    [GeneratedRegex("```json\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();

    /// <summary>Every rule shown in docs/segments.md parses, so the examples stay copy-paste valid.</summary>
    [Fact]
    public void Every_rule_example_in_the_docs_is_valid()
    {
        var text = File.ReadAllText(Repository.File("docs/segments.md"));
        var rules = new List<string>();
        foreach (Match m in JsonBlock().Matches(text))
        {
            var block = m.Groups[1].Value.Trim();
            if (block.Contains("\"path\": \"$", StringComparison.Ordinal))
            {
                continue; // the error format example
            }

            try
            {
                using var _ = JsonDocument.Parse(block);
                rules.Add(block);
            }
            catch (JsonException)
            {
                rules.AddRange(block.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // one rule per line
            }
        }

        Assert.True(rules.Count >= 25, $"found only {rules.Count} examples");
        foreach (var rule in rules)
        {
            var r = RuleParser.Parse(rule);
            Assert.True(r.IsValid, rule + " → " + string.Join("; ", r.Errors));
        }
    }
}
