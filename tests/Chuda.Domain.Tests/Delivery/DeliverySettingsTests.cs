using System.Text.Json;
using Chuda.Domain.Delivery;
using static Chuda.Domain.Tests.Delivery.DeliveryTestKit;

namespace Chuda.Domain.Tests.Delivery;

public class DeliverySettingsTests
{
    private const string DefaultJson =
        "{\"quietHours\":{\"start\":\"22:00\",\"end\":\"08:00\"},\"quietHoursByChannel\":{\"in_app\":null,\"webhook\":null}," +
        "\"frequencyCaps\":[],\"capAllowList\":{\"userIds\":[],\"tags\":[]},\"marketingRequiresOptIn\":false,\"dedupWindow\":\"P1D\"," +
        "\"coolDown\":{\"ignoredInARow\":0,\"ignoredPeriod\":\"P14D\",\"complaintPeriod\":\"P90D\",\"unsubscribePeriod\":\"P7D\"}," +
        "\"channelOrder\":[\"push\",\"in_app\",\"email\",\"sms\",\"wechat\",\"webhook\"]}";

    /// <summary>A policy that changes every setting.</summary>
    private static DeliverySettings Custom => new(
        new QuietWindow(T(21, 30), T(7, 15)),
        new Dictionary<string, QuietWindow?>(StringComparer.Ordinal)
        {
            [InApp] = null,
            [Webhook] = Window(1, 2),
            [Sms] = new QuietWindow(T(13), T(14, 45)),
            [Email] = null,
        },
        [
            new FrequencyCap(3, CapPeriod.CalendarDay, null, null),
            new FrequencyCap(10, CapPeriod.RollingWeek, Push, null),
            new FrequencyCap(0, CapPeriod.RollingDay, null, "newsletter"),
            new FrequencyCap(10_000, CapPeriod.RollingDay, Sms, "price_alerts"),
        ],
        ["staff-1", "qa-2"],
        ["staff", "上海"],
        true,
        TimeSpan.FromHours(36),
        new CoolDownSettings(5, TimeSpan.FromDays(21), TimeSpan.FromMinutes(90), TimeSpan.FromSeconds(3725)),
        [Email, Sms, WeChat]);

    private static (DeliverySettings Settings, List<(string Path, string Message)> Errors) Parse(string json)
    {
        var errors = new List<(string Path, string Message)>();
        var s = DeliverySettings.Parse(Json(json), errors);
        return (s, errors);
    }

    private static DeliverySettings Valid(string json)
    {
        var (s, errors) = Parse(json);
        Assert.True(errors.Count == 0, string.Join("; ", errors));
        return s;
    }

    private static void SingleError(string json, string path, string message)
    {
        var (_, errors) = Parse(json);
        Assert.Equal([(path, message)], errors);
    }

    private static void HasError(string json, string path)
    {
        var (_, errors) = Parse(json);
        Assert.True(errors.Any(e => e.Path == path), $"no error at {path}: {string.Join("; ", errors)}");
        Assert.All(errors, e => Assert.Equal(path, e.Path));
    }

    /// <summary>Equal in everything the pipeline reads.</summary>
    private static void AssertSameSemantics(DeliverySettings expected, DeliverySettings actual)
    {
        Assert.Equal(expected.QuietHours, actual.QuietHours);
        foreach (var c in ChannelNames.All.Append("unknown"))
            Assert.True(expected.QuietFor(c) == actual.QuietFor(c), $"quiet hours for {c}: {expected.QuietFor(c)} vs {actual.QuietFor(c)}");
        Assert.Equal(expected.Caps, actual.Caps);
        Assert.Equal(expected.CapAllowUserIds, actual.CapAllowUserIds);
        Assert.Equal(expected.CapAllowTags, actual.CapAllowTags);
        Assert.Equal(expected.MarketingRequiresOptIn, actual.MarketingRequiresOptIn);
        Assert.Equal(expected.DedupWindow, actual.DedupWindow);
        Assert.Equal(expected.CoolDown, actual.CoolDown);
        Assert.Equal(expected.ChannelOrder, actual.ChannelOrder);
    }

    // ---- round trips ---------------------------------------------------------------------------------

    [Fact]
    public void The_default_policy_as_json()
    {
        Assert.Equal(DefaultJson, DeliverySettings.Default.ToJson());
        Assert.Equal("delivery.policy", DeliverySettings.SettingName);
    }

    [Fact]
    public void The_default_policy_round_trips()
    {
        var parsed = Valid(DeliverySettings.Default.ToJson());
        AssertSameSemantics(DeliverySettings.Default, parsed);
        Assert.Equal(DefaultJson, parsed.ToJson());
    }

    [Fact]
    public void An_empty_object_is_the_default_policy()
    {
        AssertSameSemantics(DeliverySettings.Default, Valid("{}"));
    }

    [Fact]
    public void A_custom_policy_round_trips()
    {
        var json = Custom.ToJson();
        var parsed = Valid(json);
        AssertSameSemantics(Custom, parsed);
        Assert.Equal(json, parsed.ToJson());
    }

    [Fact]
    public void A_custom_policy_as_json_is_canonical()
    {
        var json = Custom.ToJson();
        Assert.Contains("\"quietHours\":{\"start\":\"21:30\",\"end\":\"07:15\"}", json, StringComparison.Ordinal);
        // Channels sorted by name.
        Assert.Contains("\"quietHoursByChannel\":{\"email\":null,\"in_app\":null,\"sms\":{\"start\":\"13:00\",\"end\":\"14:45\"},\"webhook\":{\"start\":\"01:00\",\"end\":\"02:00\"}}",
            json, StringComparison.Ordinal);
        Assert.Contains("{\"limit\":3,\"period\":\"calendar_day\"}", json, StringComparison.Ordinal);
        Assert.Contains("{\"limit\":10,\"period\":\"rolling_week\",\"channel\":\"push\"}", json, StringComparison.Ordinal);
        Assert.Contains("{\"limit\":0,\"period\":\"rolling_day\",\"category\":\"newsletter\"}", json, StringComparison.Ordinal);
        Assert.Contains("{\"limit\":10000,\"period\":\"rolling_day\",\"channel\":\"sms\",\"category\":\"price_alerts\"}", json, StringComparison.Ordinal);
        Assert.Contains("\"dedupWindow\":\"P1DT12H\"", json, StringComparison.Ordinal);
        Assert.Contains("\"coolDown\":{\"ignoredInARow\":5,\"ignoredPeriod\":\"P21D\",\"complaintPeriod\":\"PT1H30M\",\"unsubscribePeriod\":\"PT1H2M5S\"}",
            json, StringComparison.Ordinal);
        Assert.Contains("\"marketingRequiresOptIn\":true", json, StringComparison.Ordinal);
        Assert.Contains("\"channelOrder\":[\"email\",\"sms\",\"wechat\"]", json, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("上海", doc.RootElement.GetProperty("capAllowList").GetProperty("tags")[1].GetString());
    }

    [Fact]
    public void A_policy_with_no_quiet_hours_round_trips()
    {
        var none = DeliverySettings.Default with { QuietHours = null };
        Assert.StartsWith("{\"quietHours\":null,", none.ToJson(), StringComparison.Ordinal);
        AssertSameSemantics(none, Valid(none.ToJson()));
    }

    [Fact]
    public void A_policy_whose_channel_map_leaves_out_in_app_round_trips()
    {
        var s = DeliverySettings.Default with
        {
            QuietHoursByChannel = new Dictionary<string, QuietWindow?>(StringComparer.Ordinal) { [Sms] = Window(13, 14) },
        };
        AssertSameSemantics(s, Valid(s.ToJson()));
    }

    // ---- parsing valid policies ----------------------------------------------------------------------

    [Fact]
    public void Properties_left_out_keep_their_defaults()
    {
        var s = Valid("{\"marketingRequiresOptIn\":true,\"coolDown\":{\"ignoredInARow\":4}}");
        Assert.True(s.MarketingRequiresOptIn);
        Assert.Equal(DeliverySettings.Default.QuietHours, s.QuietHours);
        Assert.Equal(CoolDownSettings.Default with { IgnoredInARow = 4 }, s.CoolDown);
        Assert.Equal(ChannelNames.DefaultOrder, s.ChannelOrder);
    }

    [Fact]
    public void A_full_policy_parses()
    {
        var s = Valid("""
            {
              "quietHours": {"start": "23:00", "end": "07:00"},
              "quietHoursByChannel": {"sms": {"end": "09:30", "start": "20:00"}, "webhook": {"start": "00:00", "end": "06:00"}},
              "frequencyCaps": [{"limit": 2, "period": "rolling_day", "channel": "email", "category": "newsletter"}, {"limit": 5}],
              "capAllowList": {"userIds": ["u1"], "tags": ["staff"]},
              "marketingRequiresOptIn": true,
              "dedupWindow": "PT6H",
              "coolDown": {"ignoredInARow": 3, "ignoredPeriod": "P2W", "complaintPeriod": "P30D", "unsubscribePeriod": "P1DT12H"},
              "channelOrder": ["sms", "email"]
            }
            """);
        Assert.Equal(Window(23, 7), s.QuietHours);
        Assert.Equal(new QuietWindow(T(20), T(9, 30)), s.QuietFor(Sms));
        Assert.Equal(Window(0, 6), s.QuietFor(Webhook));
        Assert.Null(s.QuietFor(InApp)); // the default exemption stays
        Assert.Equal(Window(23, 7), s.QuietFor(Email));
        Assert.Equal([new FrequencyCap(2, CapPeriod.RollingDay, Email, "newsletter"), new FrequencyCap(5, CapPeriod.CalendarDay, null, null)], s.Caps);
        Assert.Equal(["u1"], s.CapAllowUserIds);
        Assert.Equal(["staff"], s.CapAllowTags);
        Assert.True(s.MarketingRequiresOptIn);
        Assert.Equal(TimeSpan.FromHours(6), s.DedupWindow);
        Assert.Equal(new CoolDownSettings(3, TimeSpan.FromDays(14), TimeSpan.FromDays(30), TimeSpan.FromHours(36)), s.CoolDown);
        Assert.Equal([Sms, Email], s.ChannelOrder);
    }

    [Fact]
    public void A_channel_can_be_exempted_with_null()
    {
        var s = Valid("{\"quietHoursByChannel\":{\"push\":null}}");
        Assert.Null(s.QuietFor(Push));
        Assert.Equal(Window(22, 8), s.QuietFor(Email));
    }

    [Fact]
    public void Limits_at_the_bounds_are_accepted()
    {
        var s = Valid("{\"frequencyCaps\":[{\"limit\":0},{\"limit\":10000,\"period\":\"rolling_week\"}],\"coolDown\":{\"ignoredInARow\":1000}}");
        Assert.Equal([new FrequencyCap(0, CapPeriod.CalendarDay, null, null), new FrequencyCap(10_000, CapPeriod.RollingWeek, null, null)], s.Caps);
        Assert.Equal(1000, s.CoolDown.IgnoredInARow);
    }

    // ---- errors --------------------------------------------------------------------------------------

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("\"policy\"")]
    public void The_root_must_be_an_object(string json) => SingleError(json, "$", "expected an object");

    [Fact]
    public void An_unknown_property() => SingleError("{\"quietHour\":null}", "$.quietHour", "unknown property");

    [Fact]
    public void Errors_name_their_paths_and_parsing_goes_on()
    {
        var (s, errors) = Parse("{\"foo\":1,\"dedupWindow\":\"P1M\",\"marketingRequiresOptIn\":true,\"channelOrder\":[\"fax\"]}");
        Assert.Equal(["$.foo", "$.dedupWindow", "$.channelOrder[0]"], errors.Select(e => e.Path));
        Assert.True(s.MarketingRequiresOptIn);
        Assert.Equal(DeliverySettings.Default.DedupWindow, s.DedupWindow);
    }

    [Theory]
    [InlineData("25:00", "start")]
    [InlineData("8:00", "start")]
    [InlineData("22:00:00", "start")]
    [InlineData("10pm", "start")]
    public void A_bad_window_time_is_reported_at_its_path(string value, string field)
    {
        HasError($"{{\"quietHours\":{{\"start\":\"{value}\",\"end\":\"08:00\"}}}}", "$.quietHours." + field);
        var (_, errors) = Parse($"{{\"quietHours\":{{\"start\":\"{value}\",\"end\":\"08:00\"}}}}");
        Assert.Contains(("$.quietHours.start", "expected a local time HH:mm, e.g. \"22:00\""), errors);
    }

    [Fact]
    public void A_bad_window_end_is_reported_at_its_path()
    {
        var (_, errors) = Parse("{\"quietHours\":{\"start\":\"22:00\",\"end\":\"24:00\"}}");
        Assert.Contains(("$.quietHours.end", "expected a local time HH:mm, e.g. \"22:00\""), errors);
        Assert.All(errors, e => Assert.Equal("$.quietHours.end", e.Path));
    }

    [Fact]
    public void A_bad_window_time_is_reported_once() =>
        SingleError("{\"quietHours\":{\"start\":\"25:00\",\"end\":\"08:00\"}}", "$.quietHours.start", "expected a local time HH:mm, e.g. \"22:00\"");

    [Fact]
    public void A_window_time_must_be_a_string()
    {
        var (_, errors) = Parse("{\"quietHours\":{\"start\":2200,\"end\":\"08:00\"}}");
        Assert.Contains(("$.quietHours.start", "expected a local time HH:mm, e.g. \"22:00\""), errors);
    }

    [Fact]
    public void A_window_with_equal_start_and_end()
    {
        var (s, errors) = Parse("{\"quietHours\":{\"start\":\"22:00\",\"end\":\"22:00\"}}");
        Assert.Equal([("$.quietHours", "start and end are equal; use null for no quiet hours")], errors);
        Assert.Null(s.QuietHours);
    }

    [Fact]
    public void A_window_missing_an_end() =>
        SingleError("{\"quietHours\":{\"start\":\"22:00\"}}", "$.quietHours.end", "required");

    [Fact]
    public void An_empty_window_object()
    {
        var (_, errors) = Parse("{\"quietHours\":{}}");
        Assert.Equal([("$.quietHours.start", "required"), ("$.quietHours.end", "required")], errors);
    }

    [Fact]
    public void A_window_with_an_unknown_property() =>
        SingleError("{\"quietHours\":{\"start\":\"22:00\",\"end\":\"08:00\",\"days\":[1]}}", "$.quietHours.days", "unknown property; expected start and end");

    [Fact]
    public void A_window_that_is_not_an_object() =>
        SingleError("{\"quietHours\":\"22:00-08:00\"}", "$.quietHours", "expected {\"start\": \"22:00\", \"end\": \"08:00\"} or null");

    [Fact]
    public void An_unknown_channel_in_quiet_hours_by_channel() =>
        SingleError("{\"quietHoursByChannel\":{\"fax\":null}}", "$.quietHoursByChannel.fax",
            "unknown channel 'fax'; expected one of push, in_app, email, sms, wechat, webhook, voice");

    [Fact]
    public void A_bad_window_in_quiet_hours_by_channel()
    {
        SingleError("{\"quietHoursByChannel\":{\"sms\":{\"start\":\"09:00\",\"end\":\"09:00\"}}}", "$.quietHoursByChannel.sms",
            "start and end are equal; use null for no quiet hours");
        SingleError("{\"quietHoursByChannel\":{\"sms\":{\"start\":\"09:00\"}}}", "$.quietHoursByChannel.sms.end", "required");
    }

    [Fact]
    public void Quiet_hours_by_channel_must_be_an_object() =>
        SingleError("{\"quietHoursByChannel\":[]}", "$.quietHoursByChannel", "expected an object of channel → window (or null for none)");

    [Fact]
    public void Caps_must_be_an_array() =>
        SingleError("{\"frequencyCaps\":{\"limit\":1}}", "$.frequencyCaps", "expected an array of caps");

    [Fact]
    public void A_cap_must_be_an_object() =>
        SingleError("{\"frequencyCaps\":[{\"limit\":1},3]}", "$.frequencyCaps[1]", "expected {\"limit\": 3, \"period\": \"calendar_day\"}");

    [Theory]
    [InlineData("-1")]
    [InlineData("10001")]
    [InlineData("1.5")]
    [InlineData("\"3\"")]
    [InlineData("null")]
    [InlineData("3000000000")]
    public void A_bad_cap_limit(string limit) =>
        SingleError($"{{\"frequencyCaps\":[{{\"limit\":{limit}}}]}}", "$.frequencyCaps[0].limit", "expected a whole number from 0 to 10000");

    [Fact]
    public void A_cap_without_a_limit() =>
        SingleError("{\"frequencyCaps\":[{\"limit\":1},{\"period\":\"rolling_day\"}]}", "$.frequencyCaps[1].limit", "required");

    [Theory]
    [InlineData("\"hourly\"")]
    [InlineData("\"calendarDay\"")]
    [InlineData("\"CALENDAR_DAY\"")]
    [InlineData("1")]
    public void A_bad_cap_period(string period) =>
        SingleError($"{{\"frequencyCaps\":[{{\"limit\":1,\"period\":{period}}}]}}", "$.frequencyCaps[0].period",
            "expected calendar_day (the recipient's local day), rolling_day (24 h) or rolling_week (7 days)");

    [Theory]
    [InlineData("\"fax\"")]
    [InlineData("\"Email\"")]
    [InlineData("null")]
    [InlineData("7")]
    public void A_bad_cap_channel(string channel) =>
        SingleError($"{{\"frequencyCaps\":[{{\"limit\":1,\"channel\":{channel}}}]}}", "$.frequencyCaps[0].channel",
            "expected one of push, in_app, email, sms, wechat, webhook, voice");

    [Theory]
    [InlineData("\"transactional\"")]
    [InlineData("\"News Letter\"")]
    [InlineData("\"\"")]
    [InlineData("null")]
    public void A_bad_cap_category(string category) =>
        SingleError($"{{\"frequencyCaps\":[{{\"limit\":1,\"category\":{category}}}]}}", "$.frequencyCaps[0].category",
            "expected a marketing category or topic (transactional messages are never capped)");

    [Fact]
    public void A_cap_with_an_unknown_property() =>
        SingleError("{\"frequencyCaps\":[{\"limit\":1},{\"limit\":1,\"per\":\"day\"}]}", "$.frequencyCaps[1].per", "unknown property");

    [Fact]
    public void Allow_list_errors()
    {
        SingleError("{\"capAllowList\":[]}", "$.capAllowList", "expected {\"userIds\": [...], \"tags\": [...]}");
        SingleError("{\"capAllowList\":{\"emails\":[]}}", "$.capAllowList.emails", "unknown property; expected userIds or tags");
        SingleError("{\"capAllowList\":{\"userIds\":[\"a\",1]}}", "$.capAllowList.userIds[1]", "expected a non-empty string");
        SingleError("{\"capAllowList\":{\"tags\":[\"\"]}}", "$.capAllowList.tags[0]", "expected a non-empty string");
        SingleError("{\"capAllowList\":{\"tags\":\"staff\"}}", "$.capAllowList.tags", "expected an array of strings");
    }

    [Fact]
    public void Opt_in_must_be_a_boolean() =>
        SingleError("{\"marketingRequiresOptIn\":\"yes\"}", "$.marketingRequiresOptIn", "expected true or false");

    [Theory]
    [InlineData("\"P1M\"", "'P1M': years and months have no fixed length; use days (P30D)")]
    [InlineData("\"P1Y\"", "'P1Y': years and months have no fixed length; use days (P30D)")]
    [InlineData("\"24h\"", "'24h' is not a duration; expected ISO 8601 such as PT30M, PT2H, P7D or P1DT12H")]
    [InlineData("\"PT0S\"", "'PT0S': a duration must be greater than zero")]
    [InlineData("86400", "expected an ISO 8601 duration such as PT24H")]
    public void A_bad_dedup_window(string value, string message) =>
        SingleError($"{{\"dedupWindow\":{value}}}", "$.dedupWindow", message);

    [Fact]
    public void Cool_down_errors()
    {
        SingleError("{\"coolDown\":3}", "$.coolDown", "expected an object");
        SingleError("{\"coolDown\":{\"ignoredInARow\":-1}}", "$.coolDown.ignoredInARow", "expected a whole number from 0 (off) to 1000");
        SingleError("{\"coolDown\":{\"ignoredInARow\":1001}}", "$.coolDown.ignoredInARow", "expected a whole number from 0 (off) to 1000");
        SingleError("{\"coolDown\":{\"ignoredPeriod\":\"P1M\"}}", "$.coolDown.ignoredPeriod", "'P1M': years and months have no fixed length; use days (P30D)");
        SingleError("{\"coolDown\":{\"complaintPeriod\":\"soon\"}}", "$.coolDown.complaintPeriod",
            "'soon' is not a duration; expected ISO 8601 such as PT30M, PT2H, P7D or P1DT12H");
        SingleError("{\"coolDown\":{\"unsubscribePeriod\":7}}", "$.coolDown.unsubscribePeriod", "expected an ISO 8601 duration such as PT24H");
        SingleError("{\"coolDown\":{\"period\":\"P1D\"}}", "$.coolDown.period", "unknown property");
    }

    [Fact]
    public void A_bad_cool_down_value_keeps_the_others()
    {
        var (s, errors) = Parse("{\"coolDown\":{\"ignoredInARow\":2,\"ignoredPeriod\":\"P1M\",\"complaintPeriod\":\"P10D\"}}");
        Assert.Single(errors);
        Assert.Equal(CoolDownSettings.Default with { IgnoredInARow = 2, ComplaintPeriod = TimeSpan.FromDays(10) }, s.CoolDown);
    }

    [Fact]
    public void An_unknown_channel_in_the_channel_order() =>
        SingleError("{\"channelOrder\":[\"email\",\"fax\"]}", "$.channelOrder[1]", "unknown channel 'fax'");

    [Fact]
    public void An_empty_channel_order() =>
        SingleError("{\"channelOrder\":[]}", "$.channelOrder", "name at least one channel");

    [Fact]
    public void A_channel_order_that_is_not_a_list_of_strings()
    {
        var (_, errors) = Parse("{\"channelOrder\":\"email\"}");
        Assert.Equal([("$.channelOrder", "expected an array of strings"), ("$.channelOrder", "name at least one channel")], errors);
        (_, errors) = Parse("{\"channelOrder\":[1,\"sms\"]}");
        Assert.Equal([("$.channelOrder[0]", "expected a non-empty string")], errors);
    }
}
