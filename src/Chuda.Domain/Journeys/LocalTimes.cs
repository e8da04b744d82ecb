using System.Collections.Concurrent;
using System.Globalization;
using Chuda.Domain.Segments;

namespace Chuda.Domain.Journeys;

/// <summary>
/// Local wall-clock times in IANA zones, resolved to instants. A local time that a daylight-saving change skips
/// (02:30 on a spring-forward night) moves forward by the length of the gap (03:30); one that occurs twice (a
/// fall-back night) resolves to the first occurrence. These are the rules Braze and NodaTime's lenient resolver use.
/// </summary>
public static class LocalTimes
{
    private static readonly ConcurrentDictionary<string, TimeZoneInfo?> Zones = new(StringComparer.Ordinal);

    /// <summary>Looks up an IANA zone (<c>Asia/Shanghai</c>, <c>UTC</c>); false for unknown or empty names.</summary>
    public static bool TryFindZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id) || id.Length > 64) return false;
        var found = Zones.GetOrAdd(id, static name => TimeZoneInfo.TryFindSystemTimeZoneById(name, out var z) ? z : null);
        if (found is null) return false;
        zone = found;
        return true;
    }

    /// <summary>The zone for a profile: its own when valid, else the fallback when valid, else UTC.</summary>
    public static TimeZoneInfo ZoneFor(string? profileZone, string? fallback) =>
        TryFindZone(profileZone, out var z) ? z : TryFindZone(fallback, out var f) ? f : TimeZoneInfo.Utc;

    /// <summary>The instant of a local date-time in a zone (skipped times move forward, repeated times take the first).</summary>
    public static DateTimeOffset ToInstant(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            // In a gap: read it with the offset in force before the gap, which lands after the gap by the same distance.
            var before = zone.GetUtcOffset(local.AddDays(-1));
            return new DateTimeOffset(local - before, TimeSpan.Zero);
        }
        if (zone.IsAmbiguousTime(local))
        {
            var offsets = zone.GetAmbiguousTimeOffsets(local);
            return new DateTimeOffset(local, offsets.Max());
        }
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    /// <summary>The local wall-clock time of an instant in a zone.</summary>
    public static DateTime ToLocal(DateTimeOffset instant, TimeZoneInfo zone) =>
        DateTime.SpecifyKind(TimeZoneInfo.ConvertTime(instant, zone).DateTime, DateTimeKind.Unspecified);

    /// <summary>The first instant strictly after <paramref name="after"/> at which the local time in <paramref name="zone"/> is
    /// <paramref name="at"/> (on one of <paramref name="days"/> when given).</summary>
    public static DateTimeOffset NextLocalTime(DateTimeOffset after, TimeOnly at, TimeZoneInfo zone, IReadOnlyList<DayOfWeek>? days = null)
    {
        var date = ToLocal(after, zone).Date;
        for (var i = 0; i < 9; i++)
        {
            var day = date.AddDays(i);
            if (days is { Count: > 0 } && !days.Contains(day.DayOfWeek)) continue;
            var instant = ToInstant(day + at.ToTimeSpan(), zone);
            if (instant > after) return instant;
        }
        throw new InvalidOperationException("No matching day within nine days.");
    }

    /// <summary>
    /// The first instant strictly after <paramref name="after"/> at which the wall clock in <paramref name="zone"/> reads
    /// <paramref name="at"/>, counting both occurrences of a time that a fall-back night repeats (the end of a window that
    /// is still open in the repeated hour is its second occurrence). Unlike <see cref="NextLocalTime"/>, which schedules
    /// recurring work once per day (first occurrence), this is for "until" instants such as the end of quiet hours.
    /// </summary>
    public static DateTimeOffset NextWallClock(DateTimeOffset after, TimeOnly at, TimeZoneInfo zone)
    {
        var date = ToLocal(after, zone).Date;
        for (var i = 0; i < 3; i++)
        {
            var local = DateTime.SpecifyKind(date.AddDays(i) + at.ToTimeSpan(), DateTimeKind.Unspecified);
            if (zone.IsAmbiguousTime(local))
            {
                foreach (var offset in zone.GetAmbiguousTimeOffsets(local).OrderByDescending(o => o))
                {
                    var instant = new DateTimeOffset(local, offset);
                    if (instant > after) return instant;
                }
                continue;
            }
            var candidate = ToInstant(local, zone);
            if (candidate > after) return candidate;
        }
        throw new InvalidOperationException("No matching instant within three days.");
    }

    /// <summary>
    /// The instant a date trait names, moved by <paramref name="offset"/>, at local time <paramref name="at"/> when given:
    /// the calendar date (a date-only value is taken as that date in the zone, a date-time as its local date there) plus
    /// the offset's whole days, at <paramref name="at"/>; without <paramref name="at"/>, the instant plus the offset. Null when
    /// the value is not a date.
    /// </summary>
    public static DateTimeOffset? FromDateTrait(string? value, TimeSpan offset, TimeOnly? at, TimeZoneInfo zone)
    {
        if (!RuleDates.TryParse(value, out var instant)) return null;
        if (at is null)
        {
            if (value!.Length == 10) instant = ToInstant(DateTime.ParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture), zone);
            return instant + offset;
        }
        var date = value!.Length == 10 ? DateTime.ParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture) : ToLocal(instant, zone).Date;
        var local = date.AddDays(Math.Floor(offset.TotalDays)) + (offset - TimeSpan.FromDays(Math.Floor(offset.TotalDays))) + at.Value.ToTimeSpan();
        return ToInstant(local, zone);
    }
}

/// <summary>A five-field cron expression (minute hour day-of-month month day-of-week; <c>*</c>, lists, ranges and <c>/step</c>),
/// read in local time. When both day fields are restricted, a day matching either matches (as in Vixie cron).</summary>
public sealed class CronSchedule
{
    private readonly bool[] _minutes = new bool[60];
    private readonly bool[] _hours = new bool[24];
    private readonly bool[] _days = new bool[32];
    private readonly bool[] _months = new bool[13];
    private readonly bool[] _weekdays = new bool[7];
    private bool _anyDay;
    private bool _anyWeekday;

    private CronSchedule()
    {
    }

    public static bool TryParse(string text, out CronSchedule schedule, out string error)
    {
        schedule = new CronSchedule();
        error = "";
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
        {
            error = "'cron' has five fields: minute hour day-of-month month day-of-week, e.g. \"0 10 * * 1\"";
            return false;
        }
        if (!Field(fields[0], 0, 59, schedule._minutes, out error) || !Field(fields[1], 0, 23, schedule._hours, out error)
            || !Field(fields[2], 1, 31, schedule._days, out error) || !Field(fields[3], 1, 12, schedule._months, out error))
            return false;
        var weekdays = new bool[8];
        if (!Field(fields[4], 0, 7, weekdays, out error)) return false;
        for (var i = 0; i < 7; i++) schedule._weekdays[i] = weekdays[i] || (i == 0 && weekdays[7]);
        schedule._anyDay = fields[2] == "*";
        schedule._anyWeekday = fields[4] == "*";
        return true;
    }

    private static bool Field(string text, int min, int max, bool[] set, out string error)
    {
        error = "";
        foreach (var part in text.Split(','))
        {
            var step = 1;
            var range = part;
            var slash = part.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                if (!int.TryParse(part[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1)
                {
                    error = $"bad step in cron field '{text}'";
                    return false;
                }
                range = part[..slash];
            }
            int lo, hi;
            if (range == "*")
            {
                (lo, hi) = (min, max);
            }
            else
            {
                var dash = range.IndexOf('-', StringComparison.Ordinal);
                var a = dash < 0 ? range : range[..dash];
                var b = dash < 0 ? range : range[(dash + 1)..];
                if (!int.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out lo)
                    || !int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out hi) || lo < min || hi > max || lo > hi)
                {
                    error = $"cron field '{text}' must hold numbers {min}..{max}";
                    return false;
                }
                if (dash < 0 && slash >= 0) hi = max;
            }
            for (var v = lo; v <= hi; v += step) set[v] = true;
        }
        return true;
    }

    private bool DayMatches(DateTime d)
    {
        var dom = _days[d.Day];
        var dow = _weekdays[(int)d.DayOfWeek];
        if (_anyDay) return dow;
        if (_anyWeekday) return dom;
        return dom || dow;
    }

    /// <summary>The first local minute strictly after <paramref name="after"/> (local) that matches; null if none within five years.</summary>
    public DateTime? NextLocal(DateTime after)
    {
        var t = new DateTime(after.Year, after.Month, after.Day, after.Hour, after.Minute, 0, DateTimeKind.Unspecified).AddMinutes(1);
        var limit = t.AddYears(5);
        while (t < limit)
        {
            if (!_months[t.Month] || !DayMatches(t))
            {
                t = t.Date.AddDays(1);
                continue;
            }
            if (!_hours[t.Hour])
            {
                t = new DateTime(t.Year, t.Month, t.Day, t.Hour, 0, 0, DateTimeKind.Unspecified).AddHours(1);
                continue;
            }
            if (_minutes[t.Minute]) return t;
            t = t.AddMinutes(1);
        }
        return null;
    }

    /// <summary>The next occurrence strictly after an instant, read in a zone, as an instant.</summary>
    public DateTimeOffset? Next(DateTimeOffset after, TimeZoneInfo zone)
    {
        var local = LocalTimes.ToLocal(after, zone);
        while (NextLocal(local) is { } next)
        {
            var instant = LocalTimes.ToInstant(next, zone);
            if (instant > after) return instant;
            local = next;
        }
        return null;
    }
}
