using Chuda.Domain.Delivery;
using static Chuda.Domain.Tests.Delivery.DeliveryTestKit;

namespace Chuda.Domain.Tests.Delivery;

public class FrequencyCapTests
{
    private static readonly string[] EmailOnly = [Email];
    private static readonly string[] PushThenEmail = [Push, Email];

    // 12:00 in Shanghai on 10 June 2026; the local day began at 16:00Z on 9 June.
    private static readonly DateTimeOffset Now = Utc(2026, 6, 10, 4, 0);
    private static readonly DateTimeOffset ShanghaiMidnight = Utc(2026, 6, 9, 16, 0);

    private static FrequencyCap Cap(int limit, CapPeriod period = CapPeriod.CalendarDay, string? channel = null, string? category = null) =>
        new(limit, period, channel, category);

    private static List<LedgerEntry> Ledger(params DateTimeOffset[] times) =>
        [.. times.Select((t, i) => Entry(100 + i, t))];

    private static DeliveryDecision DecideAt(DateTimeOffset now, RecipientState r, DeliverySettings s, OutboundMessage? m = null) =>
        Decide(m ?? Message(channels: EmailOnly), r, s, now);

    // ---- Describe --------------------------------------------------------------------------------

    [Theory]
    [InlineData(3, CapPeriod.CalendarDay, null, null, "cap 3/day")]
    [InlineData(5, CapPeriod.RollingDay, null, null, "cap 5/24h")]
    [InlineData(10, CapPeriod.RollingWeek, null, null, "cap 10/7d")]
    [InlineData(1, CapPeriod.CalendarDay, "push", null, "cap 1/day on push")]
    [InlineData(2, CapPeriod.RollingDay, null, "newsletter", "cap 2/24h for newsletter")]
    [InlineData(0, CapPeriod.RollingWeek, "sms", "price_alerts", "cap 0/7d for price_alerts on sms")]
    public void Describe(int limit, CapPeriod period, string? channel, string? category, string expected) =>
        Assert.Equal(expected, Cap(limit, period, channel, category).Describe());

    // ---- calendar day ----------------------------------------------------------------------------

    [Fact]
    public void Calendar_day_counts_from_local_midnight_inclusive()
    {
        var s = WithCaps(Cap(2));
        // One before local midnight (not today), one exactly at it (today): 1 of 2.
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", ledger: Ledger(ShanghaiMidnight.AddSeconds(-1), ShanghaiMidnight)), s), Email, 0);
        // A second one today reaches the cap.
        var d = DecideAt(Now, Recipient("Asia/Shanghai", ledger: Ledger(ShanghaiMidnight.AddSeconds(-1), ShanghaiMidnight, Utc(2026, 6, 10, 3, 0))), s);
        AssertDrop(d, "dropped: cap 2/day reached");
        Assert.Equal(EmailOnly, d.Candidates);
    }

    [Fact]
    public void Calendar_day_is_the_recipients_day_not_utcs()
    {
        var s = WithCaps(Cap(1));
        // 20:00Z on 9 June is 04:00 on 10 June in Shanghai (today there) but yesterday in UTC and New York.
        var ledger = Ledger(Utc(2026, 6, 9, 20, 0));
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai", ledger: ledger), s), "dropped: cap 1/day reached");
        AssertRoute(DecideAt(Now, Recipient("Europe/Berlin", ledger: Ledger(Utc(2026, 6, 9, 20, 0))), s), Email, 0);
        // Without a recipient zone the workspace zone decides.
        Assert.Equal(DecisionKind.Drop, Decide(Message(channels: EmailOnly), Recipient(ledger: Ledger(Utc(2026, 6, 9, 20, 0))), s, Now, "Asia/Shanghai").Kind);
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(ledger: Ledger(Utc(2026, 6, 9, 20, 0))), s, Now, null), Email, 0);
    }

    [Fact]
    public void Calendar_day_on_the_spring_forward_day_in_new_york()
    {
        // 8 March 2026 is 23 hours long in New York: it began at 05:00Z (00:00 EST). Now: 23:30 EDT = 03:30Z on the 9th.
        var now = Utc(2026, 3, 9, 3, 30);
        var s = WithCaps(Cap(1));
        AssertRoute(DecideAt(now, Recipient("America/New_York", ledger: Ledger(Utc(2026, 3, 8, 4, 59))), s), Email, 0); // 23:59 EST on the 7th
        AssertDrop(DecideAt(now, Recipient("America/New_York", ledger: Ledger(Utc(2026, 3, 8, 5, 0))), s), "dropped: cap 1/day reached");
        // A rolling day reaches back to 03:30Z on the 8th and does count 04:59Z.
        AssertDrop(DecideAt(now, Recipient("America/New_York", ledger: Ledger(Utc(2026, 3, 8, 4, 59))), WithCaps(Cap(1, CapPeriod.RollingDay))),
            "dropped: cap 1/24h reached");
    }

    [Fact]
    public void Calendar_day_on_the_fall_back_day_in_berlin()
    {
        // 25 October 2026 is 25 hours long in Berlin: it began at 22:00Z on the 24th (00:00 CEST). Now: 23:30 CET = 22:30Z.
        var now = Utc(2026, 10, 25, 22, 30);
        var s = WithCaps(Cap(1));
        AssertDrop(DecideAt(now, Recipient("Europe/Berlin", ledger: Ledger(Utc(2026, 10, 24, 22, 15))), s), "dropped: cap 1/day reached"); // 00:15 CEST
        AssertRoute(DecideAt(now, Recipient("Europe/Berlin", ledger: Ledger(Utc(2026, 10, 24, 21, 59))), s), Email, 0); // 23:59 CEST on the 24th
        // The same entry is more than 24 hours old, so a rolling day does not count it.
        AssertRoute(DecideAt(now, Recipient("Europe/Berlin", ledger: Ledger(Utc(2026, 10, 24, 22, 15))), WithCaps(Cap(1, CapPeriod.RollingDay))), Email, 0);
    }

    [Fact]
    public void Calendar_day_just_after_local_midnight_starts_fresh()
    {
        var s = WithCaps(Cap(1));
        var ledger = Ledger(Utc(2026, 6, 9, 15, 59)); // 23:59 on 9 June in Shanghai
        AssertRoute(DecideAt(Utc(2026, 6, 9, 16, 0), Recipient("Asia/Shanghai", ledger: ledger), s), Email, 0);
        AssertDrop(DecideAt(Utc(2026, 6, 9, 15, 59, 30), Recipient("Asia/Shanghai", ledger: Ledger(Utc(2026, 6, 9, 15, 59))), s), "dropped: cap 1/day reached");
    }

    // ---- rolling periods -------------------------------------------------------------------------

    [Fact]
    public void Rolling_day_counts_the_previous_24_hours()
    {
        var s = WithCaps(Cap(1, CapPeriod.RollingDay));
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", ledger: Ledger(Now.AddDays(-1))), s), Email, 0); // exactly 24 h ago: outside
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai", ledger: Ledger(Now.AddDays(-1).AddSeconds(1))), s), "dropped: cap 1/24h reached");
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai", ledger: Ledger(Now.AddMinutes(-1))), s), "dropped: cap 1/24h reached");
    }

    [Fact]
    public void Rolling_week_counts_the_previous_7_days()
    {
        var s = WithCaps(Cap(3, CapPeriod.RollingWeek));
        var within = Ledger(Now.AddDays(-7).AddSeconds(1), Now.AddDays(-3), Now.AddHours(-1));
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai", ledger: within), s), "dropped: cap 3/7d reached");
        var oneOutside = Ledger(Now.AddDays(-7), Now.AddDays(-3), Now.AddHours(-1));
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", ledger: oneOutside), s), Email, 0);
    }

    [Fact]
    public void Below_the_limit_routes()
    {
        var s = WithCaps(Cap(3));
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", ledger: Ledger(Now.AddHours(-2), Now.AddHours(-1))), s), Email, 0);
    }

    [Fact]
    public void Every_cap_must_hold()
    {
        var s = WithCaps(Cap(10, CapPeriod.RollingWeek), Cap(2, CapPeriod.RollingDay));
        var d = DecideAt(Now, Recipient("Asia/Shanghai", ledger: Ledger(Now.AddHours(-2), Now.AddHours(-1))), s);
        AssertDrop(d, "dropped: cap 2/24h reached");
    }

    // ---- scope -----------------------------------------------------------------------------------

    [Fact]
    public void A_channel_cap_skips_only_that_channel()
    {
        var s = WithCaps(Cap(1, channel: Push));
        var r = Recipient("Asia/Shanghai", ledger: [Entry(100, Now.AddHours(-1), Push)]);
        var d = DecideAt(Now, r, s, Message(channels: PushThenEmail));

        AssertRoute(d, Email, 1);
        Assert.Equal("routed to email (channel 2 of 2)", d.Reason);
        Assert.Equal([new DecisionNote(Push, "skipped push: cap 1/day on push reached")], d.Notes);
        Assert.Equal(PushThenEmail, d.Candidates);
    }

    [Fact]
    public void A_channel_cap_counts_only_that_channels_messages()
    {
        var s = WithCaps(Cap(1, channel: Push));
        var r = Recipient("Asia/Shanghai", ledger: [Entry(100, Now.AddHours(-3), Email), Entry(101, Now.AddHours(-2), Sms), Entry(102, Now.AddHours(-1), null)]);
        AssertRoute(DecideAt(Now, r, s, Message(channels: PushThenEmail)), Push, 0);
    }

    [Fact]
    public void When_every_channel_is_capped_the_message_is_dropped()
    {
        var s = WithCaps(Cap(1, channel: Push), Cap(1, channel: Email));
        var r = Recipient("Asia/Shanghai", ledger: [Entry(100, Now.AddHours(-2), Push), Entry(101, Now.AddHours(-1), Email)]);
        var d = DecideAt(Now, r, s, Message(channels: PushThenEmail));

        AssertDrop(d, "dropped: every channel's cap is reached");
        Assert.Equal(["skipped push: cap 1/day on push reached", "skipped email: cap 1/day on email reached"], NoteTexts(d));
    }

    [Fact]
    public void A_category_cap_counts_only_that_category()
    {
        var s = WithCaps(Cap(1, category: "newsletter"));
        List<LedgerEntry> others = [Entry(100, Now.AddHours(-3), category: "price_alerts"), Entry(101, Now.AddHours(-2)), Entry(102, Now.AddHours(-1), category: "price_alerts")];
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", ledger: others), s, Message("newsletter", channels: EmailOnly)), Email, 0);

        List<LedgerEntry> one = [Entry(100, Now.AddHours(-1), category: "newsletter")];
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai", ledger: one), s, Message("newsletter", channels: EmailOnly)),
            "dropped: cap 1/day for newsletter reached");
    }

    [Fact]
    public void A_category_cap_does_not_apply_to_other_categories()
    {
        var s = WithCaps(Cap(1, category: "newsletter"));
        List<LedgerEntry> ledger = [Entry(100, Now.AddHours(-2), category: "newsletter"), Entry(101, Now.AddHours(-1), category: "newsletter")];
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", ledger: ledger), s, Message(Marketing, channels: EmailOnly)), Email, 0);
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", ledger: ledger), s, Message("price_alerts", channels: EmailOnly)), Email, 0);
    }

    [Fact]
    public void A_cap_on_a_category_and_a_channel()
    {
        var s = WithCaps(Cap(1, channel: Push, category: "newsletter"));
        List<LedgerEntry> ledger = [Entry(100, Now.AddHours(-1), Push, "newsletter")];
        var d = DecideAt(Now, Recipient("Asia/Shanghai", ledger: ledger), s, Message("newsletter", channels: PushThenEmail));
        AssertRoute(d, Email, 1);
        Assert.Equal(["skipped push: cap 1/day for newsletter on push reached"], NoteTexts(d));
        // Push entries of another category do not count.
        List<LedgerEntry> other = [Entry(100, Now.AddHours(-1), Push, "price_alerts")];
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", ledger: other), s, Message("newsletter", channels: PushThenEmail)), Push, 0);
    }

    [Fact]
    public void A_global_cap_drops_the_message_on_every_channel()
    {
        var s = WithCaps(Cap(2));
        var r = Recipient("Asia/Shanghai", ledger: [Entry(100, Now.AddHours(-2), Push), Entry(101, Now.AddHours(-1), Sms)]);
        var d = DecideAt(Now, r, s, Message(channels: PushThenEmail));
        AssertDrop(d, "dropped: cap 2/day reached");
        Assert.Equal(PushThenEmail, d.Candidates);
        Assert.Empty(d.Notes!);
    }

    [Fact]
    public void Messages_of_every_channel_count_towards_a_global_cap()
    {
        var s = WithCaps(Cap(3));
        var r = Recipient("Asia/Shanghai", ledger: [Entry(100, Now.AddHours(-3), Push), Entry(101, Now.AddHours(-2), Sms), Entry(102, Now.AddHours(-1), InApp)]);
        AssertDrop(DecideAt(Now, r, s), "dropped: cap 3/day reached");
    }

    // ---- what is exempt ----------------------------------------------------------------------------

    [Fact]
    public void Transactional_ledger_entries_do_not_count()
    {
        var s = WithCaps(Cap(1));
        List<LedgerEntry> ledger =
        [
            Entry(100, Now.AddHours(-3), category: Transactional),
            Entry(101, Now.AddHours(-2), category: Transactional),
            Entry(102, Now.AddHours(-1), category: Transactional),
        ];
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", ledger: ledger), s), Email, 0);
    }

    [Fact]
    public void Transactional_messages_are_never_capped()
    {
        var s = WithCaps(Cap(0), Cap(1, channel: Email));
        var d = DecideAt(Now, Recipient("Asia/Shanghai", ledger: Ledger(Now.AddHours(-1), Now.AddMinutes(-1))), s, Message(Transactional, channels: EmailOnly));
        AssertRoute(d, Email, 0);
    }

    [Fact]
    public void An_allow_listed_user_id_bypasses_caps()
    {
        var s = WithCaps(Cap(0)) with { CapAllowUserIds = ["staff-9", "user-1"] };
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", userId: "user-1", ledger: Ledger(Now.AddHours(-1))), s), Email, 0);
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai", userId: "user-2", ledger: Ledger(Now.AddHours(-1))), s), "dropped: cap 0/day reached");
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai", userId: null), s), "dropped: cap 0/day reached");
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai", userId: "USER-1"), s), "dropped: cap 0/day reached"); // ordinal
    }

    [Fact]
    public void An_allow_listed_tag_bypasses_caps()
    {
        var s = WithCaps(Cap(0)) with { CapAllowTags = ["staff", "qa"] };
        AssertRoute(DecideAt(Now, Recipient("Asia/Shanghai", tags: ["vip", "qa"]), s), Email, 0);
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai", tags: ["vip"]), s), "dropped: cap 0/day reached");
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai"), s), "dropped: cap 0/day reached");
    }

    [Fact]
    public void Allow_listing_does_not_bypass_quiet_hours_or_consent()
    {
        var s = DeliverySettings.Default with { Caps = [Cap(0)], CapAllowTags = ["staff"] };
        var d = Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai", tags: ["staff"]), s, Utc(2026, 6, 10, 15, 30));
        Assert.Equal(DecisionKind.Defer, d.Kind);
        var unsubscribed = Recipient("Asia/Shanghai", tags: ["staff"], subscriptions: [Sub(Marketing, "*", SubscriptionState.Unsubscribed)]);
        Assert.Equal(DecisionKind.Drop, DecideAt(Now, unsubscribed, WithCaps(Cap(0)) with { CapAllowTags = ["staff"] }).Kind);
    }

    [Fact]
    public void Limit_zero_blocks_every_marketing_message()
    {
        AssertDrop(DecideAt(Now, Recipient("Asia/Shanghai"), WithCaps(Cap(0))), "dropped: cap 0/day reached");
        var d = DecideAt(Now, Recipient("Asia/Shanghai"), WithCaps(Cap(0, channel: Push)), Message(channels: PushThenEmail));
        AssertRoute(d, Email, 1);
        Assert.Equal(["skipped push: cap 0/day on push reached"], NoteTexts(d));
    }

    [Fact]
    public void Caps_are_not_checked_when_falling_back()
    {
        var s = WithCaps(Cap(0));
        var d = Decide(Message(channels: PushThenEmail, channelIndex: 0), Recipient("Asia/Shanghai", ledger: Ledger(Now.AddHours(-1))), s, Now,
            mode: DecideMode.Fallback);
        AssertRoute(d, Email, 1);
    }

    [Fact]
    public void Caps_see_entries_appended_to_the_ledger_in_the_same_batch()
    {
        var s = WithCaps(Cap(1));
        var r = Recipient("Asia/Shanghai");
        AssertRoute(DecideAt(Now, r, s), Email, 0);
        r.Ledger.Add(Entry(MessageId, Now, Email));
        AssertDrop(DecideAt(Now, r, s, Message(channels: EmailOnly, id: MessageId + 1)), "dropped: cap 1/day reached");
    }
}
