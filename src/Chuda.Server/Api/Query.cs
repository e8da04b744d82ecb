using System.Globalization;

namespace Chuda.Server.Api;

/// <summary>
/// Query parameters read by hand: a typed parameter that fails to bind makes ASP.NET answer a bare 400 with no body,
/// and every 4xx of this API is problem+json naming the field.
/// </summary>
internal static class Query
{
    public static bool TryLong(string? text, string field, long min, long max, long fallback, out long value, out IResult? problem)
    {
        problem = null;
        value = fallback;
        if (text is null) return true;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) && value >= min && value <= max) return true;
        problem = Problems.Field(field, $"Must be a whole number from {min} to {max}.");
        return false;
    }

    public static bool TryInt(string? text, string field, int min, int max, int fallback, out int value, out IResult? problem)
    {
        var ok = TryLong(text, field, min, max, fallback, out var v, out problem);
        value = (int)v;
        return ok;
    }

    public static bool TryBool(string? text, string field, out bool? value, out IResult? problem)
    {
        problem = null;
        value = null;
        if (text is null) return true;
        if (bool.TryParse(text, out var b))
        {
            value = b;
            return true;
        }
        problem = Problems.Field(field, "Must be true or false.");
        return false;
    }
}
