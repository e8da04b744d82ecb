using Chuda.Domain.Delivery;
using static Chuda.Domain.Tests.Delivery.DeliveryTestKit;

namespace Chuda.Domain.Tests.Delivery;

public class QuietHoursTests
{
    private static readonly string[] EmailOnly = [Email];

    /// <summary>Default quiet hours 22:00–08:00 for every channel (in-app and webhook exempt), nothing else in the way.</summary>
    private static DeliverySettings Quiet => DeliverySettings.Default;

    private static DeliverySettings QuietLunch => NoQuiet with { QuietHours = Window(13, 14) };

    // ---- QuietWindow.Contains -------------------------------------------------------------------

    [Theory]
    [InlineData(22, 0, true)]   // start inclusive
    [InlineData(21, 59, false)]
    [InlineData(23, 59, true)]
    [InlineData(0, 0, true)]
    [InlineData(3, 0, true)]
    [InlineData(7, 59, true)]
    [InlineData(8, 0, false)]   // end exclusive
    [InlineData(12, 0, false)]
    public void A_window_across_midnight(int hour, int minute, bool inside) =>
        Assert.Equal(inside, Window(22, 8).Contains(T(hour, minute)));

    [Theory]
    [InlineData(13, 0, true)]
    [InlineData(12, 59, false)]
    [InlineData(13, 59, true)]
    [InlineData(14, 0, false)]
    [InlineData(0, 0, false)]
    [InlineData(23, 0, false)]
    public void A_window_within_one_day(int hour, int minute, bool inside) =>
        Assert.Equal(inside, Window(13, 14).Contains(T(hour, minute)));

    [Fact]
    public void Seconds_count_at_the_edges()
    {
        Assert.True(Window(22, 8).Contains(new TimeOnly(7, 59, 59, 999)));
        Assert.False(Window(13, 14).Contains(new TimeOnly(12, 59, 59, 999)));
        Assert.True(Window(13, 14).Contains(new TimeOnly(13, 59, 59, 999)));
    }

    // ---- deferral in Shanghai (UTC+8, no DST) ---------------------------------------------------

    [Fact]
    public void Inside_the_window_a_message_is_deferred_to_the_window_end_with_the_reason()
    {
        // 23:30 in Shanghai on 10 June = 15:30Z; 08:00 on 11 June = 00:00Z.
        var d = Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 15, 30));

        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 6, 11, 0, 0), d.Until);
        Assert.Equal("deferred by quiet hours (22:00–08:00) to 08:00 Asia/Shanghai", d.Reason);
        Assert.Null(d.Channel);
        Assert.Equal(EmailOnly, d.Candidates);
        Assert.Empty(d.Notes!); // the quiet-hours skip notes are folded into the reason
    }

    [Theory]
    [InlineData(10, 22, 0, true)]   // 22:00 local: the start is inclusive
    [InlineData(10, 21, 59, false)]
    [InlineData(11, 0, 0, true)]    // midnight
    [InlineData(11, 7, 59, true)]   // one minute before the end
    [InlineData(11, 8, 0, false)]   // the end is exclusive
    public void Boundaries_of_a_window_across_midnight(int day, int localHour, int localMinute, bool deferred)
    {
        var d = Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai"), Quiet, At(2026, 6, day, localHour, localMinute, 8));
        if (deferred)
        {
            Assert.Equal(DecisionKind.Defer, d.Kind);
            Assert.Equal(Utc(2026, 6, 11, 0, 0), d.Until); // 08:00 on 11 June in Shanghai
        }
        else
        {
            AssertRoute(d, Email, 0);
        }
    }

    [Fact]
    public void The_window_end_is_exclusive()
    {
        // 08:00:00 local exactly: sent.
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 11, 0, 0)), Email, 0);
        // One second before: held for one second.
        var d = Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 23, 59, 59));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 6, 11, 0, 0), d.Until);
    }

    [Theory]
    [InlineData(12, 59, null)]
    [InlineData(13, 0, "14:00")]
    [InlineData(13, 30, "14:00")]
    [InlineData(13, 59, "14:00")]
    [InlineData(14, 0, null)]
    [InlineData(23, 0, null)]
    [InlineData(2, 0, null)]
    public void A_window_within_one_day_defers_to_its_end_the_same_day(int localHour, int localMinute, string? until)
    {
        var now = At(2026, 6, 10, localHour, localMinute, 8);
        var d = Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai"), QuietLunch, now);
        if (until is null)
        {
            AssertRoute(d, Email, 0);
            return;
        }
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(At(2026, 6, 10, 14, 0, 8), d.Until);
        Assert.Equal(Utc(2026, 6, 10, 6, 0), d.Until);
        Assert.Equal($"deferred by quiet hours (13:00–14:00) to {until} Asia/Shanghai", d.Reason);
    }

    // ---- deferral across daylight-saving changes ------------------------------------------------

    public static TheoryData<string, DateTimeOffset, DateTimeOffset> DstNights => new()
    {
        // New York, 8 March 2026: 02:00 EST → 03:00 EDT. 08:00 EDT = 12:00Z.
        { "America/New_York", Utc(2026, 3, 8, 4, 0), Utc(2026, 3, 8, 12, 0) },   // 23:00 EST on the 7th
        { "America/New_York", Utc(2026, 3, 8, 6, 30), Utc(2026, 3, 8, 12, 0) },  // 01:30 EST, before the gap
        { "America/New_York", Utc(2026, 3, 8, 7, 30), Utc(2026, 3, 8, 12, 0) },  // 03:30 EDT, after the gap
        { "America/New_York", Utc(2026, 3, 8, 11, 59), Utc(2026, 3, 8, 12, 0) }, // 07:59 EDT
        // New York, 1 November 2026: 02:00 EDT → 01:00 EST. 08:00 EST = 13:00Z.
        { "America/New_York", Utc(2026, 11, 1, 3, 0), Utc(2026, 11, 1, 13, 0) },  // 23:00 EDT on 31 October
        { "America/New_York", Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 1, 13, 0) }, // 01:30 EDT (first pass)
        { "America/New_York", Utc(2026, 11, 1, 6, 30), Utc(2026, 11, 1, 13, 0) }, // 01:30 EST (second pass)
        { "America/New_York", Utc(2026, 11, 1, 12, 59), Utc(2026, 11, 1, 13, 0) },// 07:59 EST
        // Berlin, 29 March 2026: 02:00 CET → 03:00 CEST. 08:00 CEST = 06:00Z.
        { "Europe/Berlin", Utc(2026, 3, 28, 22, 0), Utc(2026, 3, 29, 6, 0) },    // 23:00 CET on the 28th
        { "Europe/Berlin", Utc(2026, 3, 29, 0, 30), Utc(2026, 3, 29, 6, 0) },    // 01:30 CET
        { "Europe/Berlin", Utc(2026, 3, 29, 1, 30), Utc(2026, 3, 29, 6, 0) },    // 03:30 CEST
        // Berlin, 25 October 2026: 03:00 CEST → 02:00 CET. 08:00 CET = 07:00Z.
        { "Europe/Berlin", Utc(2026, 10, 24, 21, 0), Utc(2026, 10, 25, 7, 0) },  // 23:00 CEST on the 24th
        { "Europe/Berlin", Utc(2026, 10, 25, 0, 30), Utc(2026, 10, 25, 7, 0) },  // 02:30 CEST (first pass)
        { "Europe/Berlin", Utc(2026, 10, 25, 1, 30), Utc(2026, 10, 25, 7, 0) },  // 02:30 CET (second pass)
        // An ordinary summer night in each zone for comparison.
        { "America/New_York", Utc(2026, 6, 10, 3, 0), Utc(2026, 6, 10, 12, 0) },
        { "Europe/Berlin", Utc(2026, 6, 9, 21, 0), Utc(2026, 6, 10, 6, 0) },
        { "Asia/Shanghai", Utc(2026, 3, 8, 15, 0), Utc(2026, 3, 9, 0, 0) },
    };

    [Theory]
    [MemberData(nameof(DstNights))]
    public void Deferral_is_to_0800_local_as_the_right_utc_instant(string zone, DateTimeOffset now, DateTimeOffset until)
    {
        var d = Decide(Message(channels: EmailOnly), Recipient(zone), Quiet, now);

        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(until, d.Until);
        Assert.Equal(until.UtcDateTime, d.Until!.Value.UtcDateTime);
        Assert.Equal(T(8), TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(d.Until.Value, Zone(zone)).DateTime));
        Assert.Equal($"deferred by quiet hours (22:00–08:00) to 08:00 {zone}", d.Reason);
    }

    [Theory]
    [InlineData("America/New_York", 2026, 3, 8, 12, 0)]   // 08:00 EDT on the spring-forward day
    [InlineData("America/New_York", 2026, 11, 1, 13, 0)]  // 08:00 EST on the fall-back day
    [InlineData("Europe/Berlin", 2026, 3, 29, 6, 0)]
    [InlineData("Europe/Berlin", 2026, 10, 25, 7, 0)]
    public void At_the_window_end_on_a_dst_day_the_message_goes_out(string zone, int y, int mo, int d, int h, int mi)
    {
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(zone), Quiet, Utc(y, mo, d, h, mi)), Email, 0);
        Assert.Equal(DecisionKind.Defer, Decide(Message(channels: EmailOnly), Recipient(zone), Quiet, Utc(y, mo, d, h, mi).AddSeconds(-1)).Kind);
    }

    [Fact]
    public void The_window_start_on_a_dst_day_is_read_in_the_new_offset()
    {
        // Berlin, 29 March 2026 (CEST from 03:00): 22:00 CEST = 20:00Z.
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient("Europe/Berlin"), Quiet, Utc(2026, 3, 29, 19, 59)), Email, 0);
        var d = Decide(Message(channels: EmailOnly), Recipient("Europe/Berlin"), Quiet, Utc(2026, 3, 29, 20, 0));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 3, 30, 6, 0), d.Until);
        // New York, 1 November 2026 (EST from 02:00): 22:00 EST = 03:00Z on the 2nd.
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient("America/New_York"), Quiet, Utc(2026, 11, 2, 2, 59)), Email, 0);
        Assert.Equal(DecisionKind.Defer, Decide(Message(channels: EmailOnly), Recipient("America/New_York"), Quiet, Utc(2026, 11, 2, 3, 0)).Kind);
    }

    [Fact]
    public void A_window_ending_in_the_repeated_hour_ends_at_its_second_occurrence_when_the_first_has_passed()
    {
        // New York, 1 November 2026, window 23:00–01:30. At 01:15 EST (06:15Z, the second pass of 01:xx) the window
        // ends at 01:30 EST = 06:30Z, fifteen minutes later – not at 01:30 on 2 November.
        var settings = NoQuiet with { QuietHours = new QuietWindow(T(23), T(1, 30)) };
        var d = Decide(Message(channels: EmailOnly), Recipient("America/New_York"), settings, Utc(2026, 11, 1, 6, 15));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 11, 1, 6, 30), d.Until);

        // Berlin, 25 October 2026, window 22:00–02:30. At 02:15 CET (01:15Z) it ends at 02:30 CET = 01:30Z.
        settings = NoQuiet with { QuietHours = new QuietWindow(T(22), T(2, 30)) };
        d = Decide(Message(channels: EmailOnly), Recipient("Europe/Berlin"), settings, Utc(2026, 10, 25, 1, 15));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 10, 25, 1, 30), d.Until);
    }

    [Fact]
    public void A_window_ending_in_the_repeated_hour_ends_at_its_first_occurrence()
    {
        // New York, 1 November 2026, window 23:00–01:30; at 01:15 EDT (05:15Z) it ends at 01:30 EDT = 05:30Z.
        var settings = NoQuiet with { QuietHours = new QuietWindow(T(23), T(1, 30)) };
        var d = Decide(Message(channels: EmailOnly), Recipient("America/New_York"), settings, Utc(2026, 11, 1, 5, 15));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 11, 1, 5, 30), d.Until);
        Assert.Equal("deferred by quiet hours (23:00–01:30) to 01:30 America/New_York", d.Reason);
    }

    [Fact]
    public void A_window_ending_in_a_skipped_hour_ends_after_the_gap()
    {
        // Berlin, 29 March 2026, window 22:00–02:30: 02:30 does not exist and reads as 03:30 CEST (01:30Z).
        var settings = NoQuiet with { QuietHours = new QuietWindow(T(22), T(2, 30)) };
        var d = Decide(Message(channels: EmailOnly), Recipient("Europe/Berlin"), settings, Utc(2026, 3, 29, 0, 30));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 3, 29, 1, 30), d.Until);
        Assert.Equal("deferred by quiet hours (22:00–02:30) to 03:30 Europe/Berlin", d.Reason);
    }

    // ---- which zone ------------------------------------------------------------------------------

    [Fact]
    public void The_recipients_zone_wins_over_the_workspace_zone()
    {
        // 15:30Z: 23:30 in Shanghai (quiet), 11:30 in New York (not).
        var now = Utc(2026, 6, 10, 15, 30);
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient("America/New_York"), Quiet, now, workspaceZone: "Asia/Shanghai"), Email, 0);
        var d = Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai"), Quiet, now, workspaceZone: "America/New_York");
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.EndsWith(" Asia/Shanghai", d.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Mars/Olympus")]
    public void Without_a_valid_recipient_zone_the_workspace_zone_is_used(string? recipientZone)
    {
        var d = Decide(Message(channels: EmailOnly), Recipient(recipientZone), Quiet, Utc(2026, 6, 10, 15, 30), workspaceZone: "Asia/Shanghai");
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 6, 11, 0, 0), d.Until);
        Assert.Equal("deferred by quiet hours (22:00–08:00) to 08:00 Asia/Shanghai", d.Reason);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Not/AZone")]
    public void Without_any_valid_zone_utc_is_used(string? workspaceZone)
    {
        // 15:30Z is not quiet in UTC …
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(), Quiet, Utc(2026, 6, 10, 15, 30), workspaceZone), Email, 0);
        // … 23:30Z is, until 08:00Z.
        var d = Decide(Message(channels: EmailOnly), Recipient("Bad/Zone"), Quiet, Utc(2026, 6, 10, 23, 30), workspaceZone);
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 6, 11, 8, 0), d.Until);
        Assert.Equal("deferred by quiet hours (22:00–08:00) to 08:00 UTC", d.Reason);
    }

    // ---- per channel ------------------------------------------------------------------------------

    [Fact]
    public void In_app_is_exempt_by_default_so_push_is_skipped_and_in_app_chosen()
    {
        string[] channels = [Push, InApp];
        var d = Decide(Message(channels: channels), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 15, 30));

        AssertRoute(d, InApp, 1);
        Assert.Equal("routed to in_app (channel 2 of 2)", d.Reason);
        Assert.Equal(channels, d.Candidates);
        Assert.Equal([new DecisionNote(Push, "skipped push: quiet hours 22:00–08:00 Asia/Shanghai")], d.Notes);
        Assert.Null(d.Until);
    }

    [Fact]
    public void Webhook_is_exempt_by_default()
    {
        string[] channels = [Email, Webhook];
        var d = Decide(Message(channels: channels), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 15, 30));
        AssertRoute(d, Webhook, 1);
    }

    [Fact]
    public void Default_settings_map_in_app_and_webhook_to_no_window()
    {
        Assert.Null(DeliverySettings.Default.QuietFor(InApp));
        Assert.Null(DeliverySettings.Default.QuietFor(Webhook));
        Assert.Equal(Window(22, 8), DeliverySettings.Default.QuietFor(Email));
        Assert.Equal(Window(22, 8), DeliverySettings.Default.QuietFor(Sms));
        Assert.Equal(Window(22, 8), DeliverySettings.Default.QuietFor("unknown"));
    }

    [Fact]
    public void A_per_channel_window_overrides_the_default()
    {
        var settings = Quiet with
        {
            QuietHoursByChannel = new Dictionary<string, QuietWindow?>(StringComparer.Ordinal) { [Sms] = Window(13, 14), [InApp] = null },
        };
        string[] channels = [Sms, Email];

        // 13:30 local: SMS is quiet, e-mail is not.
        var d = Decide(Message(channels: channels), Recipient("Asia/Shanghai"), settings, At(2026, 6, 10, 13, 30, 8));
        AssertRoute(d, Email, 1);
        Assert.Equal([new DecisionNote(Sms, "skipped sms: quiet hours 13:00–14:00 Asia/Shanghai")], d.Notes);

        // 23:30 local: SMS's own window is not in force, so SMS goes out although e-mail would be quiet.
        d = Decide(Message(channels: channels), Recipient("Asia/Shanghai"), settings, At(2026, 6, 10, 23, 30, 8));
        AssertRoute(d, Sms, 0);
        Assert.Equal("routed to sms", d.Reason);
        // The later, quiet candidate is still noted (it is not a fallback now).
        Assert.Equal([new DecisionNote(Email, "skipped email: quiet hours 22:00–08:00 Asia/Shanghai")], d.Notes);
    }

    [Fact]
    public void A_channel_mapped_to_null_has_no_quiet_hours_even_with_a_default_window()
    {
        var settings = Quiet with { QuietHoursByChannel = new Dictionary<string, QuietWindow?>(StringComparer.Ordinal) { [Email] = null } };
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai"), settings, Utc(2026, 6, 10, 15, 30)), Email, 0);
        // In-app has no entry here, so the default window applies to it now.
        string[] inApp = [InApp];
        Assert.Equal(DecisionKind.Defer, Decide(Message(channels: inApp), Recipient("Asia/Shanghai"), settings, Utc(2026, 6, 10, 15, 30)).Kind);
    }

    [Fact]
    public void With_no_default_window_only_per_channel_windows_apply()
    {
        var settings = NoQuiet with { QuietHoursByChannel = new Dictionary<string, QuietWindow?>(StringComparer.Ordinal) { [Push] = Window(22, 8) } };
        string[] channels = [Push, Email];
        var d = Decide(Message(channels: channels), Recipient("Asia/Shanghai"), settings, Utc(2026, 6, 10, 15, 30));
        AssertRoute(d, Email, 1);
    }

    // ---- all candidates quiet ---------------------------------------------------------------------

    [Fact]
    public void When_every_candidate_is_quiet_the_message_waits_for_the_earliest_end()
    {
        var settings = Quiet with
        {
            QuietHoursByChannel = new Dictionary<string, QuietWindow?>(StringComparer.Ordinal)
            {
                [Sms] = new QuietWindow(T(21), T(7, 30)),
                [Push] = new QuietWindow(T(23), T(9)),
            },
        };
        string[] channels = [Push, Email, Sms];
        // 23:30 local: push until 09:00, e-mail until 08:00, SMS until 07:30.
        var d = Decide(Message(channels: channels), Recipient("Asia/Shanghai"), settings, At(2026, 6, 10, 23, 30, 8));

        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(At(2026, 6, 11, 7, 30, 8), d.Until);
        Assert.Equal("deferred by quiet hours (21:00–07:30) to 07:30 Asia/Shanghai", d.Reason);
        Assert.Equal(channels, d.Candidates);
        Assert.Empty(d.Notes!);
    }

    [Fact]
    public void A_deferral_keeps_notes_about_unreachable_channels()
    {
        string[] channels = [Sms, Email];
        var d = Decide(Message(channels: channels), Recipient("Asia/Shanghai", addresses: Only(Email)), Quiet, Utc(2026, 6, 10, 15, 30));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal([new DecisionNote(Sms, "skipped sms: no phone number")], d.Notes);
    }

    [Fact]
    public void An_unreachable_exempt_channel_does_not_prevent_the_deferral()
    {
        // in_app is exempt but the person has no user id: the message waits for e-mail's window to end.
        string[] channels = [InApp, Email];
        var d = Decide(Message(channels: channels), Recipient("Asia/Shanghai", addresses: Only(Email)), Quiet, Utc(2026, 6, 10, 15, 30));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 6, 11, 0, 0), d.Until);
    }

    // ---- exemptions and expiry ----------------------------------------------------------------

    [Fact]
    public void Transactional_messages_are_never_deferred()
    {
        var d = Decide(Message(Transactional, channels: EmailOnly), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 15, 30));
        AssertRoute(d, Email, 0);
        Assert.Equal("routed to email", d.Reason);
        Assert.Empty(d.Notes!);
    }

    [Fact]
    public void Custom_topics_are_marketing_and_deferred()
    {
        var d = Decide(Message("newsletter", channels: EmailOnly), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 15, 30));
        Assert.Equal(DecisionKind.Defer, d.Kind);
    }

    [Fact]
    public void Fallback_is_not_held_by_quiet_hours()
    {
        string[] channels = [Push, Email];
        var d = Decide(Message(channels: channels, channelIndex: 0), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 15, 30), mode: DecideMode.Fallback);
        AssertRoute(d, Email, 1);
        Assert.Equal("fell back to email", d.Reason);
    }

    [Fact]
    public void Expiring_before_the_window_ends_expires_the_message()
    {
        var now = Utc(2026, 6, 10, 15, 30);
        var d = Decide(Message(channels: EmailOnly, expiresAt: Utc(2026, 6, 10, 23, 59)), Recipient("Asia/Shanghai"), Quiet, now);
        Assert.Equal(DecisionKind.Expire, d.Kind);
        Assert.Equal("expired: quiet hours last until 2026-06-11 08:00 Asia/Shanghai, after its expiry 2026-06-10T23:59:00Z", d.Reason);
        Assert.Null(d.Until);
    }

    [Fact]
    public void Expiring_exactly_at_the_window_end_expires_the_message()
    {
        var d = Decide(Message(channels: EmailOnly, expiresAt: Utc(2026, 6, 11, 0, 0)), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 15, 30));
        Assert.Equal(DecisionKind.Expire, d.Kind);
    }

    [Fact]
    public void Expiring_after_the_window_end_defers_the_message()
    {
        var d = Decide(Message(channels: EmailOnly, expiresAt: Utc(2026, 6, 11, 0, 1)), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 15, 30));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        Assert.Equal(Utc(2026, 6, 11, 0, 0), d.Until);
    }

    [Fact]
    public void An_open_channel_sends_even_if_the_message_would_expire_before_another_channels_window_ends()
    {
        string[] channels = [Push, InApp];
        var d = Decide(Message(channels: channels, expiresAt: Utc(2026, 6, 10, 16, 0)), Recipient("Asia/Shanghai"), Quiet, Utc(2026, 6, 10, 15, 30));
        AssertRoute(d, InApp, 1);
    }
}
