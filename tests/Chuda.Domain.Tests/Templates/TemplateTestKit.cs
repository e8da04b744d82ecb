using Chuda.Domain.Templates;

namespace Chuda.Domain.Tests.Templates;

/// <summary>Shorthands for template tests.</summary>
internal static class TemplateTestKit
{
    /// <summary>Parses a template that must be valid.</summary>
    public static TemplateDefinition Valid(string json)
    {
        var result = TemplateParser.Parse(json);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        return result.Definition!;
    }

    /// <summary>A valid template with one locale holding <paramref name="channels"/> (the inside of the locale object).</summary>
    public static TemplateDefinition One(string channels, string locale = "en", string required = "[]") =>
        Valid("{\"name\":\"t\",\"defaultLocale\":\"" + locale + "\",\"locales\":{\"" + locale + "\":" + channels + "},\"required\":" + required + "}");

    /// <summary>The errors of a template that must be invalid.</summary>
    public static IReadOnlyList<TemplateError> Errors(string json)
    {
        var result = TemplateParser.Parse(json);
        Assert.False(result.IsValid);
        Assert.Null(result.Definition);
        Assert.NotEmpty(result.Errors);
        return result.Errors;
    }

    /// <summary>Asserts that some error is at <paramref name="path"/> and its message contains <paramref name="fragment"/>.</summary>
    public static void HasError(IReadOnlyList<TemplateError> errors, string path, string fragment = "")
    {
        Assert.True(errors.Any(e => e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal)),
            $"expected an error at {path} containing '{fragment}', got:\n" + string.Join("\n", errors));
    }

    /// <summary>A JSON string literal.</summary>
    public static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    public static TemplateData Data(string json = "{}", string? timeZone = null, string? locale = null) =>
        TemplateData.FromJson(json, timeZone, locale);

    public static RenderResult Render(TemplateDefinition t, string channel, string dataJson = "{}", string? locale = null,
        string? timeZone = null, bool strict = false) =>
        TemplateRenderer.Compile(t).Render(channel, locale, Data(dataJson, timeZone, locale),
            strict ? RenderOptions.StrictMode : RenderOptions.Default);

    /// <summary>Renders the SMS text of a one-locale template with text <paramref name="source"/>.</summary>
    public static (string Text, RenderResult Result) Sms(string source, string dataJson = "{}", string? locale = null,
        string? timeZone = null, string templateLocale = "en")
    {
        var t = One("""{"sms":{"text":""" + Quote(source) + "}}", templateLocale);
        var result = Render(t, TemplateChannels.Sms, dataJson, locale, timeZone);
        return (((SmsContent)result.Content!).Text, result);
    }
}
