using System.Text;
using System.Text.Json;
using Chuda.Domain.Templates;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Chuda.Domain.Tests.Templates.TemplateTestKit;

namespace Chuda.Domain.Tests.Templates;

/// <summary>Property tests: SMS measures agree with actual splitting; any trait value keeps a webhook body valid JSON
/// and arrives intact; HTML to text never fails.</summary>
public class TemplatePropertyTests
{
    // Units that exercise GSM-7 basics, the extension table, UCS-2 BMP characters and surrogate pairs.
    private static readonly Gen<string> SmsUnit = Gen.Frequency(
        (12, Gen.Elements("a", "Z", "0", " ", "@", "é", "Ä", "\n")),
        (3, Gen.Elements("€", "{", "}", "[", "]", "^", "~", "|", "\\")),
        (1, Gen.Elements("你", "ç", "á")),
        (1, Gen.Elements("😀", "👍🏽")));

    private static readonly Gen<string> SmsText =
        Gen.Choose(0, 420).SelectMany(n => Gen.ListOf(SmsUnit, n)).Select(units => string.Concat(units));

    [Property(MaxTest = 500)]
    public Property Sms_segments_agree_with_splitting() =>
        Prop.ForAll(SmsText.ToArbitrary(), text =>
        {
            var m = SmsSegments.Measure(text);
            var parts = SmsSegments.Split(text);
            var gsm = m.Encoding == SmsSegments.Gsm7;
            // A part is counted in the message's encoding (a GSM-only part of a UCS-2 message is still UCS-2).
            int Units(string s) => gsm ? s.Sum(c => "€{}[]^~|\\\f".Contains(c, StringComparison.Ordinal) ? 2 : 1) : s.Length;
            var limit = parts.Count <= 1 ? (gsm ? 160 : 70) : (gsm ? 153 : 67);
            return m.Segments == parts.Count
                && string.Concat(parts) == text
                && m.Length == Units(text)
                && parts.All(p => Units(p) <= limit && p.Length > 0 && !char.IsHighSurrogate(p[^1]))
                && (text.Length == 0 || m.Segments == 1 == (m.Length <= (gsm ? 160 : 70)));
        });

    private static readonly TemplateDefinition Hook = One("""
    {"webhook":{"body":"{\"name\":\"{{profile.name}}\",\"upper\":\"{{upper profile.name}}\",\"raw\":{{json profile.name}},\"tags\":{{json profile.tags}} }"}}
    """);

    private static bool IsValidUtf16(string s)
    {
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetByteCount(s);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [Property(MaxTest = 1000)]
    public bool Any_trait_string_keeps_the_webhook_body_valid_json(string? name, string? tag)
    {
        name ??= "";
        tag ??= "";
        var data = new TemplateData
        {
            Profile = JsonSerializer.SerializeToElement(new Dictionary<string, object> { ["name"] = name, ["tags"] = new[] { tag } }),
        };
        var result = TemplateRenderer.Render(Hook, "webhook", null, data, RenderOptions.Default);
        if (!result.Ok)
        {
            return false;
        }

        using var doc = JsonDocument.Parse(((WebhookContent)result.Content!).Body);
        return !IsValidUtf16(name) || (doc.RootElement.GetProperty("name").GetString() == name
            && doc.RootElement.GetProperty("raw").GetString() == name
            && (!IsValidUtf16(tag) || doc.RootElement.GetProperty("tags")[0].GetString() == tag));
    }

    [Property(MaxTest = 500)]
    public bool Html_to_text_never_fails_and_leaves_no_tags(string? html)
    {
        var text = HtmlText.ToText(html ?? "");
        return !text.Contains("<p>", StringComparison.Ordinal) && text == text.Trim(' ', '\n');
    }
}
