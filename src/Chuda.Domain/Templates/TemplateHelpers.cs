using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using HandlebarsDotNet;

namespace Chuda.Domain.Templates;

/// <summary>Conversions of the values Handlebars hands to formatters and helpers.</summary>
internal static class TemplateValues
{
    public static bool IsMissing(object? value) => value is null or Missing or UndefinedBindingResult;

    public static string? MissingPath(object? value) => value switch
    {
        Missing m => m.Path,
        UndefinedBindingResult u => u.Value,
        _ => null,
    };

    /// <summary>The text of a value as a template writes it.</summary>
    public static string ToText(object? value) => value switch
    {
        null or Missing or UndefinedBindingResult => "",
        string s => s,
        bool b => b ? "true" : "false",
        decimal d => d.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        DataNode node => node.Element.ValueKind == System.Text.Json.JsonValueKind.Undefined ? "" : node.Element.GetRawText(),
        object?[] items => string.Join(",", items.Select(ToText)),
        _ => value.ToString() ?? "",
    };

    /// <summary>The JSON of a value.</summary>
    public static string ToJson(object? value) => value switch
    {
        null or Missing or UndefinedBindingResult => "null",
        string s => JsonStringEncoder.Quote(s),
        bool b => b ? "true" : "false",
        decimal d => d.ToString(CultureInfo.InvariantCulture),
        double d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "null",
        int or long or short or byte or uint or ulong or ushort or sbyte => ((IFormattable)value).ToString(null, CultureInfo.InvariantCulture),
        DataNode node => node.Element.ValueKind == System.Text.Json.JsonValueKind.Undefined ? "{}" : node.Element.GetRawText(),
        object?[] items => "[" + string.Join(",", items.Select(ToJson)) + "]",
        _ => JsonStringEncoder.Quote(value.ToString() ?? ""),
    };

    public static bool TryNumber(object? value, out decimal number)
    {
        switch (value)
        {
            case decimal d:
                number = d;
                return true;
            case int or long or short or byte or uint or ulong or ushort or sbyte:
                number = Convert.ToDecimal(value, CultureInfo.InvariantCulture);
                return true;
            case double or float:
                var x = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsFinite(x) && Math.Abs(x) < 7.9e28)
                {
                    number = (decimal)x;
                    return true;
                }

                break;
            case string s:
                return decimal.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out number);
        }

        number = 0;
        return false;
    }
}

/// <summary>The helpers templates may call (docs/templates.md). They run inside a render and read the recipient's
/// culture and zone from its <see cref="RenderScope"/>.</summary>
internal static class TemplateHelpers
{
    public static void Register(IHandlebars handlebars, FieldEncoding encoding)
    {
        handlebars.RegisterHelper("formatDate", new HandlebarsReturnHelper(FormatDate));
        handlebars.RegisterHelper("formatNumber", new HandlebarsReturnHelper(FormatNumber));
        handlebars.RegisterHelper("formatCurrency", new HandlebarsReturnHelper(FormatCurrency));
        handlebars.RegisterHelper("default", new HandlebarsReturnHelper(Default));
        handlebars.RegisterHelper("upper", new HandlebarsReturnHelper((_, a) => Case(a, upper: true)));
        handlebars.RegisterHelper("lower", new HandlebarsReturnHelper((_, a) => Case(a, upper: false)));
        handlebars.RegisterHelper("truncate", new HandlebarsReturnHelper(Truncate));
        handlebars.RegisterHelper("eq", new HandlebarsReturnHelper(Eq));
        handlebars.RegisterHelper("urlEncode", new HandlebarsReturnHelper((_, a) =>
            Text(a, 0) is { } s ? Uri.EscapeDataString(s) : ""));
        // In a webhook body {{json x}} inserts a JSON value as is; elsewhere it is text like any other (escaped in HTML).
        handlebars.RegisterHelper("json", new HandlebarsHelper((output, _, a) =>
        {
            var value = a.Length > 0 ? a[0] : null;
            if (TemplateValues.IsMissing(value))
            {
                Report(value);
            }

            output.Write(TemplateValues.ToJson(value), encoding == FieldEncoding.Html);
        }));
    }

    private static RenderScope? Scope => RenderScope.Current;

    private static void Report(object? missing)
    {
        if (TemplateValues.MissingPath(missing) is { } path)
        {
            Scope?.ReportMissing(path);
        }
    }

    // The text of argument i; null (reported) when it is missing.
    private static string? Text(Arguments a, int i)
    {
        var value = i < a.Length ? a[i] : null;
        if (TemplateValues.IsMissing(value))
        {
            Report(value);
            return null;
        }

        return TemplateValues.ToText(value);
    }

    private static object Default(Context context, Arguments a)
    {
        var value = a.Length > 0 ? a[0] : null;
        return TemplateValues.IsMissing(value) || value is "" ? (a.Length > 1 ? a[1] ?? "" : "") : value!;
    }

    private static object Case(Arguments a, bool upper)
    {
        var text = Text(a, 0);
        if (text is null)
        {
            return "";
        }

        var culture = Scope?.Culture ?? CultureInfo.InvariantCulture;
        return upper ? text.ToUpper(culture) : text.ToLower(culture);
    }

    private static object Truncate(Context context, Arguments a)
    {
        var text = Text(a, 0);
        if (text is null)
        {
            return "";
        }

        if (!TemplateValues.TryNumber(a.Length > 1 ? a[1] : null, out var n) || n < 0 || n != decimal.Truncate(n))
        {
            Scope?.ReportValue(TemplateValues.MissingPath(a.Length > 1 ? a[1] : null), "truncate needs a whole number of characters");
            return text;
        }

        var suffix = a.Length > 2 ? TemplateValues.ToText(a[2]) : "…";
        return TruncateText(text, (int)Math.Min(n, int.MaxValue), suffix);
    }

    /// <summary>At most <paramref name="max"/> text elements (user-perceived characters): the text itself when it fits,
    /// else its beginning followed by <paramref name="suffix"/>, the whole being <paramref name="max"/> elements.</summary>
    public static string TruncateText(string text, int max, string suffix)
    {
        var elements = new StringInfo(text);
        if (elements.LengthInTextElements <= max)
        {
            return text;
        }

        var suffixLength = new StringInfo(suffix).LengthInTextElements;
        if (suffixLength >= max)
        {
            return elements.SubstringByTextElements(0, max);
        }

        return elements.SubstringByTextElements(0, max - suffixLength) + suffix;
    }

    private static object Eq(Context context, Arguments a)
    {
        var left = a.Length > 0 ? a[0] : null;
        var right = a.Length > 1 ? a[1] : null;
        if (TemplateValues.IsMissing(left) || TemplateValues.IsMissing(right))
        {
            return TemplateValues.IsMissing(left) && TemplateValues.IsMissing(right);
        }

        // Numbers compare by value, also against numeric text (Handlebars.Net hands a literal such as 1.5 over as
        // the string "1.5"); other values compare only with values of the same kind.
        if ((IsNumber(left) || IsNumber(right)) && TemplateValues.TryNumber(left, out var x) && TemplateValues.TryNumber(right, out var y))
        {
            return x == y;
        }

        if (left is string || right is string || left is bool || right is bool || IsNumber(left) || IsNumber(right))
        {
            return left!.GetType() == right!.GetType() && Equals(left, right);
        }

        return TemplateValues.ToJson(left) == TemplateValues.ToJson(right);
    }

    private static bool IsNumber(object? value) =>
        value is decimal or double or float or int or long or short or byte or uint or ulong or ushort or sbyte;

    // ---- numbers ----------------------------------------------------------------------------------

    private static object FormatNumber(Context context, Arguments a)
    {
        var value = a.Length > 0 ? a[0] : null;
        if (TemplateValues.IsMissing(value))
        {
            Report(value);
            return "";
        }

        if (!TemplateValues.TryNumber(value, out var number))
        {
            Scope?.ReportValue(null, $"formatNumber: '{TemplateValues.ToText(value)}' is not a number");
            return TemplateValues.ToText(value);
        }

        var culture = Scope?.Culture ?? CultureInfo.InvariantCulture;
        int decimals = number.Scale;
        if (a.Length > 1)
        {
            if (!TemplateValues.TryNumber(a[1], out var d) || d < 0 || d > 20 || d != decimal.Truncate(d))
            {
                Scope?.ReportValue(null, "formatNumber: decimals must be a whole number from 0 to 20");
            }
            else
            {
                decimals = (int)d;
            }
        }

        return number.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), culture);
    }

    private static object FormatCurrency(Context context, Arguments a)
    {
        var value = a.Length > 0 ? a[0] : null;
        if (TemplateValues.IsMissing(value))
        {
            Report(value);
            return "";
        }

        var code = Text(a, 1)?.Trim().ToUpperInvariant();
        if (!TemplateValues.TryNumber(value, out var amount))
        {
            Scope?.ReportValue(null, $"formatCurrency: '{TemplateValues.ToText(value)}' is not a number");
            return TemplateValues.ToText(value);
        }

        if (code is null || code.Length != 3 || !code.All(char.IsAsciiLetterUpper))
        {
            Scope?.ReportValue(null, $"formatCurrency: '{code}' is not an ISO 4217 currency code");
            return amount.ToString(CultureInfo.InvariantCulture);
        }

        var culture = Scope?.Culture ?? CultureInfo.InvariantCulture;
        return amount.ToString("C", CurrencyFormats.For(culture, code));
    }

    // ---- dates ------------------------------------------------------------------------------------

    private static object FormatDate(Context context, Arguments a)
    {
        var scope = Scope;
        var value = a.Length > 0 ? a[0] : null;
        if (TemplateValues.IsMissing(value))
        {
            Report(value);
            return "";
        }

        var format = a.Length > 1 ? TemplateValues.ToText(a[1]) : "short";
        var culture = scope?.Culture ?? CultureInfo.InvariantCulture;
        var pattern = format switch
        {
            "short" => "g",
            "long" => "f",
            "date" => "D",
            "time" => "t",
            "iso" => "yyyy-MM-dd'T'HH:mm:sszzz",
            _ => format,
        };

        if (!TryDate(value, out var instant, out var localDate))
        {
            scope?.ReportValue(null, $"formatDate: '{TemplateValues.ToText(value)}' is not an ISO-8601 date or unix seconds");
            return "";
        }

        try
        {
            if (localDate is { } date)
            {
                // A date without a time is a calendar date: shown as is, in no zone.
                return date.ToString(pattern, culture);
            }

            TimeZoneInfo zone;
            if (a.Length > 2)
            {
                var id = TemplateValues.ToText(a[2]);
                zone = RenderScope.FindZone(id) ?? TimeZoneInfo.Utc;
                if (zone == TimeZoneInfo.Utc && id != "UTC" && id != "Etc/UTC")
                {
                    scope?.ReportValue(null, $"formatDate: unknown time zone '{id}'; shown in UTC");
                }
            }
            else
            {
                zone = scope?.Zone ?? TimeZoneInfo.Utc;
            }

            return TimeZoneInfo.ConvertTime(instant, zone).ToString(pattern, culture);
        }
        catch (FormatException)
        {
            scope?.ReportValue(null, $"formatDate: '{format}' is not a date format");
            return "";
        }
    }

    /// <summary>Reads an instant (ISO-8601 with or without offset, the latter being UTC; or unix seconds as a number or
    /// a string of digits), or a calendar date (<c>yyyy-MM-dd</c>), which gets no zone conversion.</summary>
    public static bool TryDate(object? value, out DateTimeOffset instant, out DateTime? localDate)
    {
        instant = default;
        localDate = null;
        if (value is string s)
        {
            s = s.Trim();
            if (s.Length == 10 && DateTime.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                localDate = date;
                return true;
            }

            if (s.Length > 0 && s.All(c => char.IsAsciiDigit(c) || c is '-' or '.') && TemplateValues.TryNumber(s, out var seconds))
            {
                return FromUnix(seconds, out instant);
            }

            return s.Length >= 10 && char.IsAsciiDigit(s[0])
                && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out instant);
        }

        return TemplateValues.TryNumber(value, out var number) && value is not bool && FromUnix(number, out instant);
    }

    private static bool FromUnix(decimal seconds, out DateTimeOffset instant)
    {
        instant = default;
        if (seconds < -62_135_596_800m || seconds > 253_402_300_799m)
        {
            return false;
        }

        instant = DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
        return true;
    }
}

/// <summary>Currency formats per culture: the culture's patterns and separators, the currency's symbol (the culture's
/// own for its own currency, else the symbol used in the currency's home region) and its ISO 4217 minor units.</summary>
internal static class CurrencyFormats
{
    private static readonly ConcurrentDictionary<(string Culture, string Code), NumberFormatInfo> Cache = new();
    private static readonly Lazy<Dictionary<string, (string Symbol, string Language)>> HomeSymbols = new(BuildHomeSymbols);

    private static readonly HashSet<string> NoMinorUnits =
    [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    ];

    private static readonly HashSet<string> ThreeMinorUnits = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

    /// <summary>Digits after the decimal separator for the currency (ISO 4217 minor units; 2 when not listed).</summary>
    public static int MinorUnits(string code) => NoMinorUnits.Contains(code) ? 0 : ThreeMinorUnits.Contains(code) ? 3 : 2;

    public static NumberFormatInfo For(CultureInfo culture, string code)
    {
        if (Cache.TryGetValue((culture.Name, code), out var cached))
        {
            return cached;
        }

        var format = (NumberFormatInfo)culture.NumberFormat.Clone();
        format.CurrencySymbol = Symbol(culture, code, out var known);
        format.CurrencyDecimalDigits = MinorUnits(code);
        var result = NumberFormatInfo.ReadOnly(format);
        if (known && Cache.Count < 10_000)
        {
            Cache.TryAdd((culture.Name, code), result);
        }

        return result;
    }

    private static string Symbol(CultureInfo culture, string code, out bool known)
    {
        known = true;
        var specific = Specific(culture);
        if (specific is not null)
        {
            try
            {
                if (new RegionInfo(specific.Name).ISOCurrencySymbol == code)
                {
                    return specific.NumberFormat.CurrencySymbol;
                }
            }
            catch (ArgumentException)
            {
                // No region for this culture.
            }
        }

        if (HomeSymbols.Value.TryGetValue(code, out var home))
        {
            // A symbol with letters (zł, د.ك.) is kept only for readers of its own language; others get the code.
            return home.Symbol.Any(char.IsLetter) && home.Language != culture.TwoLetterISOLanguageName ? code : home.Symbol;
        }

        known = false;
        return code;
    }

    private static CultureInfo? Specific(CultureInfo culture)
    {
        if (culture.Name.Length == 0)
        {
            return null;
        }

        if (!culture.IsNeutralCulture)
        {
            return culture;
        }

        try
        {
            var specific = CultureInfo.CreateSpecificCulture(culture.Name);
            return specific.Name.Length == 0 ? null : specific;
        }
        catch (CultureNotFoundException)
        {
            return null;
        }
    }

    private static Dictionary<string, (string Symbol, string Language)> BuildHomeSymbols()
    {
        var symbols = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        var home = new HashSet<string>(StringComparer.Ordinal);
        foreach (var culture in CultureInfo.GetCultures(CultureTypes.SpecificCultures).OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            RegionInfo region;
            try
            {
                region = new RegionInfo(culture.Name);
            }
            catch (ArgumentException)
            {
                continue;
            }

            var code = region.ISOCurrencySymbol;
            if (code.Length != 3)
            {
                continue;
            }

            // The currency's home region (US for USD, CN for CNY) wins; otherwise the first region using it.
            var isHome = code.StartsWith(region.TwoLetterISORegionName, StringComparison.Ordinal);
            if ((isHome && home.Add(code)) || !symbols.ContainsKey(code))
            {
                symbols[code] = (region.CurrencySymbol, culture.TwoLetterISOLanguageName);
            }
        }

        return symbols;
    }
}

/// <summary>The culture of the format helpers for a render.</summary>
internal static class TemplateCultures
{
    private static readonly ConcurrentDictionary<(string? Recipient, string Rendered), CultureInfo> Cache = new();

    /// <summary>The recipient's locale when it has the language of the content (<c>en-GB</c> for <c>en</c> content),
    /// else the content's locale; cultures unknown to this machine fall back to their parents, then the invariant culture.</summary>
    public static CultureInfo For(string? recipient, string rendered)
    {
        if (Cache.TryGetValue((recipient, rendered), out var culture))
        {
            return culture;
        }

        culture = null;
        if (!string.IsNullOrWhiteSpace(recipient) && rendered.Length > 0
            && LocaleTags.Language(recipient) == LocaleTags.Language(rendered))
        {
            culture = Find(recipient);
        }

        culture ??= Find(rendered) ?? CultureInfo.InvariantCulture;
        if (Cache.Count < 10_000)
        {
            Cache.TryAdd((recipient, rendered), culture);
        }

        return culture;
    }

    private static CultureInfo? Find(string tag)
    {
        foreach (var candidate in LocaleTags.FallbackChain(tag))
        {
            try
            {
                return CultureInfo.GetCultureInfo(candidate, predefinedOnly: true);
            }
            catch (CultureNotFoundException)
            {
                // Try the parent.
            }
        }

        return null;
    }
}
