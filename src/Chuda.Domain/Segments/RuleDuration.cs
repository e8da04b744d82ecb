using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Chuda.Domain.Segments;

/// <summary>
/// Durations in rules: a subset of ISO 8601 with fixed-length units only, e.g. <c>PT30M</c>, <c>PT1H30M</c>,
/// <c>P7D</c>, <c>P1DT12H</c>, <c>P2W</c>. Units: W (7 days, alone), D (exactly 24 hours), and after <c>T</c>
/// H, M, S; whole numbers, upper case, at least one unit, greater than zero, at most <see cref="Max"/>.
/// Years and months are rejected (their length varies). A day is 86,400 s of elapsed time, not a calendar day,
/// so a window across a daylight-saving change is still exactly that long.
/// </summary>
public static partial class RuleDuration
{
    /// <summary>The longest accepted duration: 3,660 days (about ten years).</summary>
    public static TimeSpan Max { get; } = TimeSpan.FromDays(3660);

    [GeneratedRegex(@"^P(?:(?<w>\d{1,4})W|(?:(?<d>\d{1,5})D)?(?:T(?=\d)(?:(?<h>\d{1,6})H)?(?:(?<m>\d{1,7})M)?(?:(?<s>\d{1,9})S)?)?)$",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture, 100)]
    private static partial Regex Pattern();

    /// <summary>Parses a duration; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string text, out TimeSpan duration, out string error)
    {
        duration = TimeSpan.Zero;
        error = "";
        if (text.Length is 0 or > 40)
        {
            error = "expected an ISO 8601 duration such as PT30M or P7D";
            return false;
        }

        var m = Pattern().Match(text);
        if (!m.Success || text == "P" || text.EndsWith('T'))
        {
            error = text.Contains('Y', StringComparison.Ordinal) || (text.Contains('M', StringComparison.Ordinal)
                && !text.Contains('T', StringComparison.Ordinal))
                ? $"'{text}': years and months have no fixed length; use days (P30D)"
                : $"'{text}' is not a duration; expected ISO 8601 such as PT30M, PT2H, P7D or P1DT12H";
            return false;
        }

        long Part(string name) => m.Groups[name].Success ? long.Parse(m.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
        var seconds = (Part("w") * 7 * 86_400) + (Part("d") * 86_400) + (Part("h") * 3_600) + (Part("m") * 60) + Part("s");
        if (seconds <= 0)
        {
            error = $"'{text}': a duration must be greater than zero";
            return false;
        }

        if (seconds > (long)Max.TotalSeconds)
        {
            error = $"'{text}': longer than the maximum of P{(int)Max.TotalDays}D";
            return false;
        }

        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>Parses a duration or throws <see cref="FormatException"/>.</summary>
    public static TimeSpan Parse(string text) =>
        TryParse(text, out var d, out var error) ? d : throw new FormatException(error);

    /// <summary>The canonical text of a whole-second duration: <c>P1DT12H</c>, <c>PT30M</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), "Durations are positive.");
        }

        var total = (long)Math.Ceiling(duration.TotalSeconds);
        var days = total / 86_400;
        var rest = total % 86_400;
        var sb = new StringBuilder("P");
        if (days > 0)
        {
            sb.Append(days.ToString(CultureInfo.InvariantCulture)).Append('D');
        }

        if (rest > 0)
        {
            sb.Append('T');
            Append(sb, rest / 3600, 'H');
            Append(sb, rest / 60 % 60, 'M');
            Append(sb, rest % 60, 'S');
        }

        return sb.ToString();

        static void Append(StringBuilder sb, long n, char unit)
        {
            if (n > 0)
            {
                sb.Append(n.ToString(CultureInfo.InvariantCulture)).Append(unit);
            }
        }
    }
}
