using System.Globalization;
using Chuda.Domain.Templates;
using static Chuda.Domain.Tests.Templates.TemplateTestKit;

namespace Chuda.Domain.Tests.Templates;

public class TemplateHelperTests
{
    private const string Format = "\"yyyy-MM-dd HH:mm zzz\"";

    // ---- formatDate -------------------------------------------------------------------------------------

    [Theory]
    // Europe/Berlin: CET -> CEST at 2026-03-29T01:00Z, back at 2026-10-25T01:00Z.
    [InlineData("Europe/Berlin", "2026-03-29T00:30:00Z", "2026-03-29 01:30 +01:00")]
    [InlineData("Europe/Berlin", "2026-03-29T01:30:00Z", "2026-03-29 03:30 +02:00")]
    [InlineData("Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25 02:30 +02:00")]
    [InlineData("Europe/Berlin", "2026-10-25T01:30:00Z", "2026-10-25 02:30 +01:00")]
    // America/New_York: EST -> EDT at 2026-03-08T07:00Z, back at 2026-11-01T06:00Z.
    [InlineData("America/New_York", "2026-03-08T06:30:00Z", "2026-03-08 01:30 -05:00")]
    [InlineData("America/New_York", "2026-03-08T07:30:00Z", "2026-03-08 03:30 -04:00")]
    [InlineData("America/New_York", "2026-11-01T05:30:00Z", "2026-11-01 01:30 -04:00")]
    [InlineData("America/New_York", "2026-11-01T06:30:00Z", "2026-11-01 01:30 -05:00")]
    // Asia/Shanghai: +08:00 all year, across the date line of UTC.
    [InlineData("Asia/Shanghai", "2026-03-29T01:30:00Z", "2026-03-29 09:30 +08:00")]
    [InlineData("Asia/Shanghai", "2026-07-01T16:30:00Z", "2026-07-02 00:30 +08:00")]
    // Offsets in the input are honoured; no offset means UTC; unix seconds as number or string.
    [InlineData("Asia/Shanghai", "2026-07-01T18:30:00+02:00", "2026-07-02 00:30 +08:00")]
    [InlineData("Asia/Shanghai", "2026-07-01T16:30:00", "2026-07-02 00:30 +08:00")]
    [InlineData("Europe/Berlin", "1774747800", "2026-03-29 03:30 +02:00")]
    [InlineData(null, "2026-03-29T01:30:00Z", "2026-03-29 01:30 +00:00")]
    public void FormatDate_converts_into_the_recipient_zone_across_DST(string? zone, string value, string expected)
    {
        var (text, result) = Sms("{{formatDate event.at " + Format + "}}", """{"event":{"at":""" + Quote(value) + "}}", timeZone: zone);
        Assert.Equal(expected, text);
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void FormatDate_reads_unix_seconds_numbers_and_an_explicit_zone()
    {
        var (text, result) = Sms("{{formatDate event.at " + Format + "}}|{{formatDate event.at " + Format + " \"America/New_York\"}}",
            """{"event":{"at":1774744200}}""", timeZone: "Europe/Berlin");
        Assert.Equal("2026-03-29 01:30 +01:00|2026-03-28 20:30 -04:00", text);
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void A_calendar_date_is_not_moved_by_the_zone()
    {
        var (text, _) = Sms("{{formatDate profile.birthday \"yyyy-MM-dd\"}}", """{"profile":{"birthday":"2026-03-08"}}""", timeZone: "America/Los_Angeles");
        Assert.Equal("2026-03-08", text);
    }

    [Theory]
    [InlineData("en-US", "\"MMMM d, yyyy\"", "March 8, 2026")]
    [InlineData("zh-CN", "\"yyyy年M月d日 dddd\"", "2026年3月8日 星期日")]
    [InlineData("de-DE", "\"dddd, d. MMMM yyyy\"", "Sonntag, 8. März 2026")]
    [InlineData("ja-JP", "\"M月d日(ddd)\"", "3月8日(日)")]
    public void FormatDate_uses_the_recipient_culture_for_names(string locale, string format, string expected)
    {
        var language = locale[..2];
        var t = One("""{"sms":{"text":"{{formatDate event.at """ + format.Replace("\"", "\\\"", StringComparison.Ordinal) + """}}"}}""", language == "zh" ? "zh-Hans" : language);
        var result = Render(t, "sms", """{"event":{"at":"2026-03-08T12:00:00Z"}}""", locale: locale, timeZone: "Asia/Shanghai");
        Assert.Equal(expected, ((SmsContent)result.Content!).Text);
    }

    [Theory]
    [InlineData("en-US", "short", "g")]
    [InlineData("en-US", "long", "f")]
    [InlineData("en-GB", "date", "D")]
    [InlineData("zh-CN", "short", "g")]
    [InlineData("de-DE", "long", "f")]
    [InlineData("ja-JP", "time", "t")]
    public void Named_date_formats_follow_the_culture(string locale, string name, string pattern)
    {
        var local = new DateTime(2026, 3, 8, 20, 5, 0);
        var expected = local.ToString(pattern, CultureInfo.GetCultureInfo(locale));
        var (text, _) = Sms("{{formatDate event.at \"" + name + "\"}}", """{"event":{"at":"2026-03-08T12:05:00Z"}}""",
            locale: locale, timeZone: "Asia/Shanghai", templateLocale: locale[..2] == "zh" ? "zh-Hans" : locale[..2]);
        Assert.Equal(expected, text);
        Assert.Equal("3/8/2026", new DateTime(2026, 3, 8).ToString("d", CultureInfo.GetCultureInfo("en-US")));
    }

    [Fact]
    public void The_recipient_culture_is_used_only_for_content_in_its_language()
    {
        var t = Valid("""{"name":"n","defaultLocale":"en","locales":{"en":{"sms":{"text":"{{formatDate event.at \"d\"}} {{formatNumber event.n 1}}"}},"de":{"sms":{"text":"{{formatDate event.at \"d\"}} {{formatNumber event.n 1}}"}}}}""");
        const string data = """{"event":{"at":"2026-03-08T12:00:00Z","n":1234.5}}""";
        string Text(string? recipient) => ((SmsContent)TemplateRenderer.Render(t, "sms", null, Data(data, locale: recipient), RenderOptions.Default).Content!).Text;
        Assert.Equal("08/03/2026 1,234.5", Text("en-GB"));   // British English content formats: en-GB
        Assert.Equal("3/8/2026 1,234.5", Text("fr-FR"));     // French recipient, English content: en
        Assert.Equal("08.03.2026 1\u00a0234,5", Text("de-AT")); // de content, Austrian recipient (groups with a space)
        Assert.Equal("3/8/2026 1,234.5", Text(null));
    }

    [Theory]
    [InlineData("{{formatDate event.at \"short\"}}", """{"event":{"at":"yesterday"}}""", "is not an ISO-8601 date")]
    [InlineData("{{formatDate event.at \"short\"}}", """{"event":{"at":true}}""", "is not an ISO-8601 date")]
    [InlineData("{{formatDate event.at \"short\" \"Mars/Olympus\"}}", """{"event":{"at":0}}""", "unknown time zone 'Mars/Olympus'")]
    [InlineData("{{formatNumber event.at}}", """{"event":{"at":"abc"}}""", "is not a number")]
    [InlineData("{{formatNumber event.at 99}}", """{"event":{"at":1}}""", "decimals must be")]
    [InlineData("{{formatCurrency event.at \"dollars\"}}", """{"event":{"at":1}}""", "is not an ISO 4217 currency code")]
    [InlineData("{{truncate event.at -1}}", """{"event":{"at":"abc"}}""", "whole number")]
    public void Values_a_helper_cannot_use_are_warnings_or_errors_when_strict(string source, string data, string fragment)
    {
        var t = One("""{"sms":{"text":"x """ + source.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"}}");
        var result = Render(t, "sms", data);
        var problem = Assert.Single(result.Problems);
        Assert.Equal("sms.text", problem.Field);
        Assert.Contains(fragment, problem.Message, StringComparison.Ordinal);
        Assert.Equal(RenderSeverity.Warning, problem.Severity);
        Assert.Equal(RenderSeverity.Error, Assert.Single(Render(t, "sms", data, strict: true).Problems).Severity);
    }

    [Fact]
    public void An_unknown_recipient_zone_is_reported_and_UTC_used()
    {
        var (text, result) = Sms("{{formatDate event.at \"HH:mm\"}} {{formatDate event.at \"HH:mm\"}}", """{"event":{"at":"2026-01-01T10:00:00Z"}}""", timeZone: "Nowhere/Land");
        Assert.Equal("10:00 10:00", text);
        Assert.Contains("unknown time zone 'Nowhere/Land'", Assert.Single(result.Problems).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{formatDate event.none \"short\"}}")]
    [InlineData("{{formatNumber event.none}}")]
    [InlineData("{{formatCurrency event.none \"USD\"}}")]
    [InlineData("{{upper event.none}}")]
    [InlineData("{{lower event.none}}")]
    [InlineData("{{truncate event.none 3}}")]
    [InlineData("{{urlEncode event.none}}")]
    [InlineData("{{json event.none}}")]
    public void Missing_helper_arguments_are_reported(string source)
    {
        var (_, result) = Sms("x " + source);
        Assert.Equal(new RenderProblem("sms.text", "event.none", "has no value", RenderSeverity.Warning), Assert.Single(result.Problems));
    }

    // ---- numbers and currencies ----------------------------------------------------------------------------

    [Theory]
    [InlineData("en-US", "1234567.891", "2", "1,234,567.89")]
    [InlineData("de-DE", "1234567.891", "2", "1.234.567,89")]
    [InlineData("zh-CN", "1234567.891", "0", "1,234,568")]
    [InlineData("ja-JP", "-1234.5", "1", "-1,234.5")]
    [InlineData("en-US", "1234.50", null, "1,234.50")]
    [InlineData("de-DE", "\"1234.5\"", null, "1.234,5")]
    public void FormatNumber_groups_per_culture(string locale, string value, string? decimals, string expected)
    {
        var (text, result) = Sms("{{formatNumber event.v" + (decimals is null ? "" : " " + decimals) + "}}", """{"event":{"v":""" + value + "}}",
            locale: locale, templateLocale: locale[..2] == "zh" ? "zh-Hans" : locale[..2]);
        Assert.Equal(expected, text);
        Assert.Empty(result.Problems);
    }

    [Theory]
    [InlineData("zh-Hans", "zh-Hans", "12.5", "CNY", "¥12.50")]
    [InlineData("zh-Hans", "zh-CN", "12.5", "CNY", "¥12.50")]
    [InlineData("en", "en-US", "1234", "USD", "$1,234.00")]
    [InlineData("en", "en", "1234", "USD", "$1,234.00")]
    [InlineData("de", "de-DE", "1234", "EUR", "1.234,00\u00a0€")]
    [InlineData("de", "de", "1234", "EUR", "1.234,00\u00a0€")]
    [InlineData("ja", "ja-JP", "1234.5", "JPY", "￥1,235")]
    [InlineData("en", "en-US", "1234", "EUR", "€1,234.00")]
    [InlineData("en", "en-US", "12.5", "CNY", "¥12.50")]
    [InlineData("de", "de-DE", "1234.5", "USD", "1.234,50\u00a0$")]
    [InlineData("en", "en-US", "-5", "GBP", "-£5.00")]
    [InlineData("en", "en-US", "1.2345", "KWD", "KWD1.235")]   // 3 minor units; a symbol in another script: the code
    [InlineData("pl", "pl-PL", "1234.5", "PLN", "1 234,50 zł")]
    [InlineData("en", "en-US", "1234.5", "PLN", "PLN1,234.50")]
    [InlineData("en", "en-US", "1", "xyz", "XYZ1.00")]
    public void FormatCurrency_uses_the_culture_and_the_currency(string content, string recipient, string value, string code, string expected)
    {
        var (text, result) = Sms("{{formatCurrency event.v \"" + code + "\"}}", """{"event":{"v":""" + value + "}}", locale: recipient, templateLocale: content);
        // ICU versions differ in the space before a trailing symbol (space, no-break or narrow no-break).
        static string Spaces(string s) => s.Replace('\u202f', ' ').Replace('\u00a0', ' ');
        Assert.Equal(Spaces(expected), Spaces(text));
        Assert.Empty(result.Problems);
    }

    // ---- text helpers ---------------------------------------------------------------------------------------

    [Theory]
    [InlineData("{{truncate profile.s 5}}", "héllo wörld", "héll…")]
    [InlineData("{{truncate profile.s 11}}", "héllo wörld", "héllo wörld")]
    [InlineData("{{truncate profile.s 3 \"...\"}}", "abcdef", "abc")]
    [InlineData("{{truncate profile.s 4 \"...\"}}", "abcdef", "a...")]
    [InlineData("{{truncate profile.s 3}}", "👍🏽👍🏽👍🏽👍🏽", "👍🏽👍🏽…")]
    [InlineData("{{truncate profile.s 2}}", "e\u0301e\u0301e\u0301", "e\u0301…")]
    [InlineData("{{truncate profile.s 4}}", "你好世界和平", "你好世…")]
    [InlineData("{{truncate profile.s 0}}", "abc", "")]
    public void Truncate_counts_text_elements(string source, string value, string expected)
    {
        var (text, _) = Sms("[" + source + "]", """{"profile":{"s":""" + Quote(value) + "}}");
        Assert.Equal("[" + expected + "]", text);
    }

    [Fact]
    public void Upper_and_lower_use_the_culture()
    {
        var (tr, _) = Sms("{{upper profile.city}} {{lower profile.up}}", """{"profile":{"city":"istanbul","up":"IŞIK"}}""", locale: "tr-TR", templateLocale: "tr");
        Assert.Equal("İSTANBUL ışık", tr);
        var (en, _) = Sms("{{upper profile.city}} {{lower profile.up}}", """{"profile":{"city":"istanbul","up":"IŞIK"}}""", locale: "en-US");
        Assert.Equal("ISTANBUL işik", en);
    }

    [Theory]
    [InlineData("{{#if (eq event.n 3)}}y{{else}}n{{/if}}", "y")]
    [InlineData("{{#if (eq event.n 3.0)}}y{{else}}n{{/if}}", "y")]
    [InlineData("{{#if (eq event.s \"3\")}}y{{else}}n{{/if}}", "y")]
    [InlineData("{{#if (eq event.s 3)}}y{{else}}n{{/if}}", "y")]
    [InlineData("{{#if (eq event.n 3.5)}}y{{else}}n{{/if}}", "n")]
    [InlineData("{{#if (eq event.n \"x\")}}y{{else}}n{{/if}}", "n")]
    [InlineData("{{#if (eq event.ok \"true\")}}y{{else}}n{{/if}}", "n")]
    [InlineData("{{#if (eq event.plan \"pro\")}}y{{else}}n{{/if}}", "y")]
    [InlineData("{{#if (eq event.plan \"Pro\")}}y{{else}}n{{/if}}", "n")]
    [InlineData("{{#if (eq event.ok true)}}y{{else}}n{{/if}}", "y")]
    [InlineData("{{#if (eq event.none event.other)}}y{{else}}n{{/if}}", "y")]
    [InlineData("{{#if (eq event.none \"x\")}}y{{else}}n{{/if}}", "n")]
    [InlineData("{{#unless (eq event.plan \"free\")}}paid{{/unless}}", "paid")]
    public void Eq_compares_values_of_the_same_kind(string source, string expected)
    {
        var (text, result) = Sms(source, """{"event":{"n":3,"s":"3","plan":"pro","ok":true}}""");
        Assert.Equal(expected, text);
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void Json_writes_values_as_json_and_default_keeps_present_values()
    {
        var (text, _) = Sms("{{json event}} {{json event.s}} {{json event.list}} {{default event.s \"d\"}} {{default event.n 0}} {{default event.zero 9}}",
            """{"event":{"s":"a\"b","n":2,"list":[1,"x",null],"zero":0}}""");
        Assert.Equal("""{"s":"a\"b","n":2,"list":[1,"x",null],"zero":0} "a\"b" [1,"x",null] a"b 2 0""", text);
    }

    [Fact]
    public void Json_in_html_is_escaped()
    {
        var t = One("""{"email":{"subject":"s","html":"<script>var x = {{json event}};</script><p>x</p>"}}""");
        var html = ((EmailContent)Render(t, "email", """{"event":{"a":"<b>"}}""").Content!).Html;
        Assert.Equal("<script>var x = {&quot;a&quot;:&quot;&lt;b&gt;&quot;};</script><p>x</p>", html);
    }
}
