using System.Globalization;
using System.Text.RegularExpressions;

namespace Chuda.Domain.Templates;

/// <summary>Locale tags of templates: the accepted shape and the fallback chain of a requested locale.</summary>
public static partial class LocaleTags
{
    [GeneratedRegex("^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex CanonicalTag();

    [GeneratedRegex("^[A-Za-z]{2,3}([-_][A-Za-z]{4})?([-_]([A-Za-z]{2}|[0-9]{3}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex AnyCaseTag();

    /// <summary>Whether <paramref name="tag"/> is a template locale key: a language (<c>en</c>), optionally a script
    /// (<c>zh-Hans</c>) and a region (<c>en-US</c>, <c>zh-Hant-TW</c>, <c>es-419</c>), in canonical case.</summary>
    public static bool IsValid(string tag) => CanonicalTag().IsMatch(tag);

    /// <summary>The canonical spelling of a tag of the accepted shape in any case or with underscores
    /// (<c>zh_hant_tw</c> → <c>zh-Hant-TW</c>), or null when it has another shape.</summary>
    public static string? Canonicalize(string tag)
    {
        if (!AnyCaseTag().IsMatch(tag))
        {
            return null;
        }

        var parts = tag.Split('-', '_');
        parts[0] = parts[0].ToLowerInvariant();
        for (var i = 1; i < parts.Length; i++)
        {
            parts[i] = parts[i].Length == 4
                ? char.ToUpperInvariant(parts[i][0]) + parts[i][1..].ToLowerInvariant()
                : parts[i].ToUpperInvariant();
        }

        return string.Join('-', parts);
    }

    /// <summary>
    /// The locales to try for <paramref name="requested"/>, most specific first: the tag itself, its CLDR parents
    /// (<c>zh-CN</c> → <c>zh-Hans</c>, <c>zh-TW</c> / <c>zh-HK</c> → <c>zh-Hant</c>), then the tag with trailing
    /// parts removed (<c>zh-Hant-TW</c> → <c>zh-Hant</c> → <c>zh</c>). The template's default locale comes after these
    /// (the caller adds it). Matching against template keys is case-insensitive.
    /// </summary>
    public static IReadOnlyList<string> FallbackChain(string? requested)
    {
        var chain = new List<string>();
        if (string.IsNullOrWhiteSpace(requested))
        {
            return chain;
        }

        var tag = Canonicalize(requested.Trim()) ?? requested.Trim().Replace('_', '-');
        Add(chain, tag);
        try
        {
            for (var culture = CultureInfo.GetCultureInfo(tag, predefinedOnly: true).Parent;
                 culture.Name.Length > 0;
                 culture = culture.Parent)
            {
                Add(chain, culture.Name);
            }
        }
        catch (CultureNotFoundException)
        {
            // Not a culture this machine knows: truncation alone.
        }

        for (var dash = tag.LastIndexOf('-'); dash > 0; dash = tag.LastIndexOf('-'))
        {
            tag = tag[..dash];
            Add(chain, tag);
        }

        return chain;
    }

    /// <summary>The language subtag (<c>zh</c> for <c>zh-Hant-TW</c>), lower case.</summary>
    internal static string Language(string tag)
    {
        var dash = tag.IndexOfAny(['-', '_']);
        return (dash < 0 ? tag : tag[..dash]).ToLowerInvariant();
    }

    private static void Add(List<string> chain, string tag)
    {
        if (!chain.Contains(tag, StringComparer.OrdinalIgnoreCase))
        {
            chain.Add(tag);
        }
    }
}
