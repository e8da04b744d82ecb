using System.Collections.Concurrent;
using System.Globalization;

namespace Chuda.Domain.Templates;

/// <summary>
/// The state of one render on the current thread: the field being rendered, the recipient's culture and zone, and the
/// problems found. Handlebars runs a template synchronously on the calling thread, so formatters and helpers find the
/// scope of their own render in a thread-static slot; renders on other threads have their own.
/// </summary>
internal sealed class RenderScope
{
    [ThreadStatic]
    private static RenderScope? t_current;

    private static readonly ConcurrentDictionary<string, TimeZoneInfo> Zones = new(StringComparer.Ordinal);

    private readonly HashSet<(string Field, string? Variable, string Message)> _seen = [];
    private readonly IReadOnlySet<string> _required;
    private readonly bool _strict;
    private readonly string? _timeZoneId;
    private TimeZoneInfo? _zone;

    public RenderScope(IReadOnlySet<string> required, bool strict, CultureInfo culture, string? timeZoneId)
    {
        _required = required;
        _strict = strict;
        Culture = culture;
        _timeZoneId = string.IsNullOrWhiteSpace(timeZoneId) ? null : timeZoneId.Trim();
    }

    /// <summary>The scope of the render running on this thread, if any.</summary>
    public static RenderScope? Current => t_current;

    public List<RenderProblem> Problems { get; } = [];

    public string Field { get; set; } = "";

    public CultureInfo Culture { get; }

    /// <summary>Makes this the current scope; returns the previous one for <see cref="Exit"/>.</summary>
    public RenderScope? Enter()
    {
        var previous = t_current;
        t_current = this;
        return previous;
    }

    public static void Exit(RenderScope? previous) => t_current = previous;

    /// <summary>A written variable had no value: an error when it is required or the render is strict.</summary>
    public void ReportMissing(string path) =>
        Add(Field, path, "has no value", _strict || _required.Contains(path) ? RenderSeverity.Error : RenderSeverity.Warning);

    /// <summary>A value a helper cannot use: a warning, or an error when strict.</summary>
    public void ReportValue(string? variable, string message) =>
        Add(Field, variable, message, _strict ? RenderSeverity.Error : RenderSeverity.Warning);

    public void Add(string field, string? variable, string message, RenderSeverity severity)
    {
        if (_seen.Add((field, variable, message)))
        {
            Problems.Add(new RenderProblem(field, variable, message, severity));
        }
    }

    /// <summary>The recipient's zone (UTC when none; an unknown one is reported once and treated as UTC).</summary>
    public TimeZoneInfo Zone => _zone ??= FindZone(_timeZoneId) ?? Unknown(_timeZoneId);

    private TimeZoneInfo Unknown(string? id)
    {
        if (id is not null)
        {
            ReportValue(null, $"unknown time zone '{id}' (recipient); dates are shown in UTC");
        }

        return TimeZoneInfo.Utc;
    }

    /// <summary>The zone with IANA id <paramref name="id"/>, or null when this machine does not know it.</summary>
    public static TimeZoneInfo? FindZone(string? id)
    {
        if (id is null)
        {
            return null;
        }

        if (Zones.TryGetValue(id, out var zone))
        {
            return zone;
        }

        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (TimeZoneNotFoundException)
        {
            return null;
        }
        catch (InvalidTimeZoneException)
        {
            return null;
        }

        // Only zones that exist are cached, so the cache is bounded by the zone database.
        Zones.TryAdd(id, zone);
        return zone;
    }
}
