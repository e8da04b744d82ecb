using System.Globalization;

namespace Chuda.Domain.Segments;

/// <summary>Dates in rules and in trait / property values: ISO 8601 <c>yyyy-MM-dd</c> (midnight UTC) or a date-time
/// <c>yyyy-MM-ddTHH:mm[:ss[.fffffff]]</c> followed by <c>Z</c> or an offset (<c>+08:00</c>); a date-time without an
/// offset is read as UTC. Everything is compared as an instant.</summary>
public static class RuleDates
{
    private static readonly string[] Formats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>Parses a date or date-time as described on the type.</summary>
    public static bool TryParse(string? text, out DateTimeOffset instant)
    {
        instant = default;
        if (text is null || text.Length is < 10 or > 40)
        {
            return false;
        }

        if (!DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return false;
        }

        instant = parsed;
        return true;
    }
}
