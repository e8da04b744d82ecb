namespace Chuda.Domain.Templates;

/// <summary>The length of an SMS as the network counts it (see <see cref="SmsSegments.Measure"/>).</summary>
/// <param name="Encoding"><see cref="SmsSegments.Gsm7"/> or <see cref="SmsSegments.Ucs2"/>.</param>
/// <param name="Length">Septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2.</param>
/// <param name="Segments">Parts the message is sent in (0 for an empty text).</param>
public readonly record struct SmsMeasure(string Encoding, int Length, int Segments);

/// <summary>
/// SMS encoding and segmentation. A text made only of the GSM 03.38 default alphabet is sent as GSM-7: each basic
/// character is one septet, each extension-table character (<c>^ { } \ [ ~ ] | €</c> and form feed) two (an escape and
/// the character). Anything else makes the whole message UCS-2, counted in UTF-16 code units (an emoji is 2). A single
/// part holds 160 septets or 70 units; a longer message is split into parts of at most 153 septets or 67 units (the
/// rest is the concatenation header), never inside an escape pair or a surrogate pair.
/// </summary>
public static class SmsSegments
{
    /// <summary>The GSM 03.38 default alphabet.</summary>
    public const string Gsm7 = "GSM-7";

    /// <summary>UCS-2 (in practice UTF-16).</summary>
    public const string Ucs2 = "UCS-2";

    /// <summary>Septets in a single-part GSM-7 message.</summary>
    public const int Gsm7Single = 160;

    /// <summary>Septets per part of a multipart GSM-7 message.</summary>
    public const int Gsm7Multi = 153;

    /// <summary>UTF-16 units in a single-part UCS-2 message.</summary>
    public const int Ucs2Single = 70;

    /// <summary>UTF-16 units per part of a multipart UCS-2 message.</summary>
    public const int Ucs2Multi = 67;

    // GSM 03.38 basic character set, in table order, without the escape (0x1B).
    private const string Basic =
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

    private const string Extension = "\f^{}\\[~]|€";

    private static readonly bool[] AsciiBasic = BuildAscii(Basic);
    private static readonly bool[] AsciiExtension = BuildAscii(Extension);

    /// <summary>The encoding, length and number of parts of <paramref name="text"/>.</summary>
    public static SmsMeasure Measure(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var septets = 0;
        foreach (var c in text)
        {
            var cost = GsmCost(c);
            if (cost == 0)
            {
                return new SmsMeasure(Ucs2, text.Length, CountParts(text, gsm: false));
            }

            septets += cost;
        }

        return new SmsMeasure(Gsm7, septets, CountParts(text, gsm: true));
    }

    /// <summary>Whether every character of <paramref name="text"/> is in the GSM-7 default alphabet or its extension.</summary>
    public static bool IsGsm7(string text) => text.All(c => GsmCost(c) > 0);

    /// <summary>The parts <paramref name="text"/> is sent in: one part when it fits a single message, otherwise parts
    /// of at most 153 septets (GSM-7) or 67 UTF-16 units (UCS-2), never splitting an escape or a surrogate pair.</summary>
    public static IReadOnlyList<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var gsm = IsGsm7(text);
        var parts = new List<string>();
        if (text.Length == 0)
        {
            return parts;
        }

        if (Total(text, gsm) <= (gsm ? Gsm7Single : Ucs2Single))
        {
            parts.Add(text);
            return parts;
        }

        var limit = gsm ? Gsm7Multi : Ucs2Multi;
        var start = 0;
        var used = 0;
        var i = 0;
        while (i < text.Length)
        {
            var (cost, chars) = Unit(text, i, gsm);
            if (used + cost > limit)
            {
                parts.Add(text[start..i]);
                start = i;
                used = 0;
            }

            used += cost;
            i += chars;
        }

        parts.Add(text[start..]);
        return parts;
    }

    private static int CountParts(string text, bool gsm)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        if (Total(text, gsm) <= (gsm ? Gsm7Single : Ucs2Single))
        {
            return 1;
        }

        var limit = gsm ? Gsm7Multi : Ucs2Multi;
        var parts = 1;
        var used = 0;
        for (var i = 0; i < text.Length;)
        {
            var (cost, chars) = Unit(text, i, gsm);
            if (used + cost > limit)
            {
                parts++;
                used = 0;
            }

            used += cost;
            i += chars;
        }

        return parts;
    }

    private static int Total(string text, bool gsm)
    {
        if (!gsm)
        {
            return text.Length;
        }

        var total = 0;
        foreach (var c in text)
        {
            total += GsmCost(c);
        }

        return total;
    }

    // The indivisible unit at i: its cost in septets / units and its length in chars.
    private static (int Cost, int Chars) Unit(string text, int i, bool gsm)
    {
        if (gsm)
        {
            return (GsmCost(text[i]), 1);
        }

        return char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? (2, 2) : (1, 1);
    }

    // 1 for the basic set, 2 for the extension table, 0 for characters GSM-7 cannot carry.
    private static int GsmCost(char c)
    {
        if (c < 128)
        {
            return AsciiBasic[c] ? 1 : AsciiExtension[c] ? 2 : 0;
        }

        return Basic.Contains(c, StringComparison.Ordinal) ? 1 : c == '€' ? 2 : 0;
    }

    private static bool[] BuildAscii(string chars)
    {
        var table = new bool[128];
        foreach (var c in chars)
        {
            if (c < 128)
            {
                table[c] = true;
            }
        }

        return table;
    }
}
