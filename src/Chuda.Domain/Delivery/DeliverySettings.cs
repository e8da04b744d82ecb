using System.Globalization;
using System.Text.Json;
using Chuda.Domain.Segments;

namespace Chuda.Domain.Delivery;

/// <summary>A daily quiet window in the recipient's local time; <see cref="Start"/> after <see cref="End"/> crosses midnight.</summary>
public sealed record QuietWindow(TimeOnly Start, TimeOnly End)
{
    /// <summary>True when local time <paramref name="t"/> is inside the window (start inclusive, end exclusive).</summary>
    public bool Contains(TimeOnly t) => Start <= End ? t >= Start && t < End : t >= Start || t < End;
}

/// <summary>How a cap counts a day: the 24 hours before now, or the recipient's local calendar day.</summary>
public enum CapPeriod
{
    RollingDay,
    CalendarDay,
    RollingWeek,
}

/// <summary>At most <paramref name="Limit"/> marketing messages per profile per period, across everything or for one channel
/// and/or one category.</summary>
public sealed record FrequencyCap(int Limit, CapPeriod Period, string? Channel, string? Category)
{
    public string Describe()
    {
        var period = Period switch { CapPeriod.CalendarDay => "day", CapPeriod.RollingDay => "24h", _ => "7d" };
        var scope = (Channel, Category) switch
        {
            (null, null) => "",
            ({ } c, null) => $" on {c}",
            (null, { } k) => $" for {k}",
            ({ } c, { } k) => $" for {k} on {c}",
        };
        return string.Create(CultureInfo.InvariantCulture, $"cap {Limit}/{period}{scope}");
    }
}

/// <summary>When marketing pauses for a person, and for how long.</summary>
/// <param name="IgnoredInARow">After this many marketing messages in a row with no open, click or read (0 = off).</param>
public sealed record CoolDownSettings(int IgnoredInARow, TimeSpan IgnoredPeriod, TimeSpan ComplaintPeriod, TimeSpan UnsubscribePeriod)
{
    public static CoolDownSettings Default { get; } = new(0, TimeSpan.FromDays(14), TimeSpan.FromDays(90), TimeSpan.FromDays(7));
}

/// <summary>
/// A workspace's delivery policy (stored as the workspace setting <c>delivery.policy</c>, edited with
/// <c>PUT /api/v1/delivery/policy</c>). Transactional messages are exempt from quiet hours, caps and cool-down.
/// </summary>
/// <param name="QuietHours">The default quiet window for marketing (null = none).</param>
/// <param name="QuietHoursByChannel">Per-channel windows; a channel mapped to null has no quiet hours (in-app and webhook
/// by default: they do not wake anyone).</param>
/// <param name="CapAllowUserIds">User ids that bypass frequency caps (staff, test accounts).</param>
/// <param name="CapAllowTags">Profiles with one of these tags bypass frequency caps.</param>
/// <param name="ChannelOrder">Routing order when neither the message nor the profile names channels.</param>
public sealed record DeliverySettings(
    QuietWindow? QuietHours,
    IReadOnlyDictionary<string, QuietWindow?> QuietHoursByChannel,
    IReadOnlyList<FrequencyCap> Caps,
    IReadOnlyList<string> CapAllowUserIds,
    IReadOnlyList<string> CapAllowTags,
    bool MarketingRequiresOptIn,
    TimeSpan DedupWindow,
    CoolDownSettings CoolDown,
    IReadOnlyList<string> ChannelOrder)
{
    public const string SettingName = "delivery.policy";

    public static DeliverySettings Default { get; } = new(
        new QuietWindow(new TimeOnly(22, 0), new TimeOnly(8, 0)),
        new Dictionary<string, QuietWindow?>(StringComparer.Ordinal) { [ChannelNames.InApp] = null, [ChannelNames.Webhook] = null },
        [], [], [], false, TimeSpan.FromHours(24), CoolDownSettings.Default, ChannelNames.DefaultOrder);

    /// <summary>The quiet window that applies to marketing on <paramref name="channel"/>, or null.</summary>
    public QuietWindow? QuietFor(string channel) => QuietHoursByChannel.TryGetValue(channel, out var w) ? w : QuietHours;

    /// <summary>The policy as canonical JSON (the format <see cref="Parse"/> reads).</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WritePropertyName("quietHours");
            WriteWindow(w, QuietHours);
            // Each channel with an override here or in the defaults, with its effective window, so reading the JSON back (which
            // starts from the defaults) gives the same policy whatever map it was built with.
            w.WriteStartObject("quietHoursByChannel");
            foreach (var channel in ChannelNames.All.Order(StringComparer.Ordinal))
            {
                if (!QuietHoursByChannel.ContainsKey(channel) && !Default.QuietHoursByChannel.ContainsKey(channel)) continue;
                w.WritePropertyName(channel);
                WriteWindow(w, QuietFor(channel));
            }
            w.WriteEndObject();
            w.WriteStartArray("frequencyCaps");
            foreach (var cap in Caps)
            {
                w.WriteStartObject();
                w.WriteNumber("limit", cap.Limit);
                w.WriteString("period", cap.Period switch { CapPeriod.CalendarDay => "calendar_day", CapPeriod.RollingDay => "rolling_day", _ => "rolling_week" });
                if (cap.Channel is not null) w.WriteString("channel", cap.Channel);
                if (cap.Category is not null) w.WriteString("category", cap.Category);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("capAllowList");
            w.WriteStartArray("userIds");
            foreach (var u in CapAllowUserIds) w.WriteStringValue(u);
            w.WriteEndArray();
            w.WriteStartArray("tags");
            foreach (var t in CapAllowTags) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteBoolean("marketingRequiresOptIn", MarketingRequiresOptIn);
            w.WriteString("dedupWindow", RuleDuration.Format(DedupWindow));
            w.WriteStartObject("coolDown");
            w.WriteNumber("ignoredInARow", CoolDown.IgnoredInARow);
            w.WriteString("ignoredPeriod", RuleDuration.Format(CoolDown.IgnoredPeriod));
            w.WriteString("complaintPeriod", RuleDuration.Format(CoolDown.ComplaintPeriod));
            w.WriteString("unsubscribePeriod", RuleDuration.Format(CoolDown.UnsubscribePeriod));
            w.WriteEndObject();
            w.WriteStartArray("channelOrder");
            foreach (var c in ChannelOrder) w.WriteStringValue(c);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteWindow(Utf8JsonWriter w, QuietWindow? window)
    {
        if (window is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartObject();
        w.WriteString("start", window.Start.ToString("HH:mm", CultureInfo.InvariantCulture));
        w.WriteString("end", window.End.ToString("HH:mm", CultureInfo.InvariantCulture));
        w.WriteEndObject();
    }

    /// <summary>Reads a policy; properties left out keep their defaults. Errors name the JSON path.</summary>
    public static DeliverySettings Parse(JsonElement root, List<(string Path, string Message)> errors)
    {
        var s = Default;
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$", "expected an object"));
            return s;
        }

        foreach (var p in root.EnumerateObject())
        {
            var path = "$." + p.Name;
            switch (p.Name)
            {
                case "quietHours":
                    s = s with { QuietHours = ReadWindow(p.Value, path, errors) };
                    break;
                case "quietHoursByChannel":
                    if (p.Value.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add((path, "expected an object of channel → window (or null for none)"));
                        break;
                    }
                    var map = new Dictionary<string, QuietWindow?>(s.QuietHoursByChannel, StringComparer.Ordinal);
                    foreach (var c in p.Value.EnumerateObject())
                    {
                        if (!ChannelNames.IsKnown(c.Name)) errors.Add(($"{path}.{c.Name}", $"unknown channel '{c.Name}'; expected one of {string.Join(", ", ChannelNames.All)}"));
                        else map[c.Name] = ReadWindow(c.Value, $"{path}.{c.Name}", errors);
                    }
                    s = s with { QuietHoursByChannel = map };
                    break;
                case "frequencyCaps":
                    s = s with { Caps = ReadCaps(p.Value, path, errors) };
                    break;
                case "capAllowList":
                    if (p.Value.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add((path, "expected {\"userIds\": [...], \"tags\": [...]}"));
                        break;
                    }
                    foreach (var a in p.Value.EnumerateObject())
                    {
                        if (a.Name == "userIds") s = s with { CapAllowUserIds = ReadStrings(a.Value, $"{path}.userIds", errors) };
                        else if (a.Name == "tags") s = s with { CapAllowTags = ReadStrings(a.Value, $"{path}.tags", errors) };
                        else errors.Add(($"{path}.{a.Name}", "unknown property; expected userIds or tags"));
                    }
                    break;
                case "marketingRequiresOptIn":
                    if (p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False) s = s with { MarketingRequiresOptIn = p.Value.GetBoolean() };
                    else errors.Add((path, "expected true or false"));
                    break;
                case "dedupWindow":
                    s = s with { DedupWindow = ReadDuration(p.Value, path, errors) ?? s.DedupWindow };
                    break;
                case "coolDown":
                    s = s with { CoolDown = ReadCoolDown(p.Value, path, s.CoolDown, errors) };
                    break;
                case "channelOrder":
                    var order = ReadStrings(p.Value, path, errors);
                    for (var i = 0; i < order.Count; i++)
                    {
                        if (!ChannelNames.IsKnown(order[i])) errors.Add(($"{path}[{i}]", $"unknown channel '{order[i]}'"));
                    }
                    if (order.Count == 0) errors.Add((path, "name at least one channel"));
                    s = s with { ChannelOrder = order };
                    break;
                default:
                    errors.Add((path, "unknown property"));
                    break;
            }
        }
        return s;
    }

    private static QuietWindow? ReadWindow(JsonElement e, string path, List<(string, string)> errors)
    {
        if (e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Object)
        {
            errors.Add((path, "expected {\"start\": \"22:00\", \"end\": \"08:00\"} or null"));
            return null;
        }
        TimeOnly? start = null, end = null;
        foreach (var p in e.EnumerateObject())
        {
            if (p.Name is not ("start" or "end"))
            {
                errors.Add(($"{path}.{p.Name}", "unknown property; expected start and end"));
                continue;
            }
            if (p.Value.ValueKind != JsonValueKind.String
                || !TimeOnly.TryParseExact(p.Value.GetString(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t))
            {
                errors.Add(($"{path}.{p.Name}", "expected a local time HH:mm, e.g. \"22:00\""));
                continue;
            }
            if (p.Name == "start") start = t;
            else end = t;
        }
        if (start is null || end is null)
        {
            if (start is null && !e.TryGetProperty("start", out _)) errors.Add(($"{path}.start", "required"));
            if (end is null && !e.TryGetProperty("end", out _)) errors.Add(($"{path}.end", "required"));
            return null;
        }
        if (start == end)
        {
            errors.Add((path, "start and end are equal; use null for no quiet hours"));
            return null;
        }
        return new QuietWindow(start.Value, end.Value);
    }

    private static List<FrequencyCap> ReadCaps(JsonElement e, string path, List<(string, string)> errors)
    {
        var caps = new List<FrequencyCap>();
        if (e.ValueKind != JsonValueKind.Array)
        {
            errors.Add((path, "expected an array of caps"));
            return caps;
        }
        var i = 0;
        foreach (var c in e.EnumerateArray())
        {
            var cp = $"{path}[{i++}]";
            if (c.ValueKind != JsonValueKind.Object)
            {
                errors.Add((cp, "expected {\"limit\": 3, \"period\": \"calendar_day\"}"));
                continue;
            }
            int? limit = null;
            var period = CapPeriod.CalendarDay;
            string? channel = null, category = null;
            foreach (var p in c.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "limit":
                        if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var l) && l is >= 0 and <= 10_000) limit = l;
                        else errors.Add(($"{cp}.limit", "expected a whole number from 0 to 10000"));
                        break;
                    case "period":
                        switch (p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null)
                        {
                            case "calendar_day": period = CapPeriod.CalendarDay; break;
                            case "rolling_day": period = CapPeriod.RollingDay; break;
                            case "rolling_week": period = CapPeriod.RollingWeek; break;
                            default: errors.Add(($"{cp}.period", "expected calendar_day (the recipient's local day), rolling_day (24 h) or rolling_week (7 days)")); break;
                        }
                        break;
                    case "channel":
                        channel = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                        if (channel is null || !ChannelNames.IsKnown(channel)) errors.Add(($"{cp}.channel", $"expected one of {string.Join(", ", ChannelNames.All)}"));
                        break;
                    case "category":
                        category = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                        if (category is null || !Categories.IsValid(category) || Categories.IsTransactional(category))
                            errors.Add(($"{cp}.category", "expected a marketing category or topic (transactional messages are never capped)"));
                        break;
                    default:
                        errors.Add(($"{cp}.{p.Name}", "unknown property"));
                        break;
                }
            }
            if (limit is null)
            {
                if (!c.TryGetProperty("limit", out _)) errors.Add(($"{cp}.limit", "required"));
                continue;
            }
            caps.Add(new FrequencyCap(limit.Value, period, channel, category));
        }
        return caps;
    }

    private static CoolDownSettings ReadCoolDown(JsonElement e, string path, CoolDownSettings current, List<(string, string)> errors)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            errors.Add((path, "expected an object"));
            return current;
        }
        foreach (var p in e.EnumerateObject())
        {
            var pp = $"{path}.{p.Name}";
            switch (p.Name)
            {
                case "ignoredInARow":
                    if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var n) && n is >= 0 and <= 1000) current = current with { IgnoredInARow = n };
                    else errors.Add((pp, "expected a whole number from 0 (off) to 1000"));
                    break;
                case "ignoredPeriod":
                    current = current with { IgnoredPeriod = ReadDuration(p.Value, pp, errors) ?? current.IgnoredPeriod };
                    break;
                case "complaintPeriod":
                    current = current with { ComplaintPeriod = ReadDuration(p.Value, pp, errors) ?? current.ComplaintPeriod };
                    break;
                case "unsubscribePeriod":
                    current = current with { UnsubscribePeriod = ReadDuration(p.Value, pp, errors) ?? current.UnsubscribePeriod };
                    break;
                default:
                    errors.Add((pp, "unknown property"));
                    break;
            }
        }
        return current;
    }

    private static TimeSpan? ReadDuration(JsonElement e, string path, List<(string, string)> errors)
    {
        if (e.ValueKind != JsonValueKind.String)
        {
            errors.Add((path, "expected an ISO 8601 duration such as PT24H"));
            return null;
        }
        if (RuleDuration.TryParse(e.GetString()!, out var d, out var error)) return d;
        errors.Add((path, error));
        return null;
    }

    private static List<string> ReadStrings(JsonElement e, string path, List<(string, string)> errors)
    {
        var list = new List<string>();
        if (e.ValueKind != JsonValueKind.Array)
        {
            errors.Add((path, "expected an array of strings"));
            return list;
        }
        var i = 0;
        foreach (var v in e.EnumerateArray())
        {
            if (v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s) list.Add(s);
            else errors.Add(($"{path}[{i}]", "expected a non-empty string"));
            i++;
        }
        return list;
    }
}
