using Chuda.Domain.Delivery;
using static Chuda.Domain.Tests.Delivery.DeliveryTestKit;

namespace Chuda.Domain.Tests.Delivery;

public class DedupAndDigestTests
{
    private static readonly DateTimeOffset Now = Utc(2026, 6, 10, 4, 0);
    private static readonly string[] EmailOnly = [Email];
    private static readonly string[] PushThenEmail = [Push, Email];

    private static RecipientState WithEntry(DateTimeOffset at, string key = "order-1", long id = 55, string channel = Sms, string category = Marketing) =>
        Recipient("Asia/Shanghai", ledger: [Entry(id, at, channel, category, key)]);

    // ---- de-duplication ------------------------------------------------------------------------

    [Fact]
    public void The_same_key_within_the_window_drops_naming_the_earlier_message_and_channel()
    {
        var d = Decide(Message(channels: EmailOnly, dedupKey: "order-1"), WithEntry(Now.AddHours(-2)), NoQuiet, Now);

        AssertDrop(d, "dropped: duplicate of m_55 (dedup key 'order-1') sent on sms at 2026-06-10 10:00 Asia/Shanghai");
        Assert.Equal(55, d.DuplicateOf);
        Assert.Equal(EmailOnly, d.Candidates);
    }

    [Fact]
    public void The_default_window_is_the_settings_window_exclusive_at_its_start()
    {
        Assert.Equal(TimeSpan.FromHours(24), DeliverySettings.Default.DedupWindow);
        Assert.Equal(DecisionKind.Drop, Decide(Message(channels: EmailOnly, dedupKey: "order-1"), WithEntry(Now.AddHours(-24).AddSeconds(1)), NoQuiet, Now).Kind);
        AssertRoute(Decide(Message(channels: EmailOnly, dedupKey: "order-1"), WithEntry(Now.AddHours(-24)), NoQuiet, Now), Email, 0);
        AssertRoute(Decide(Message(channels: EmailOnly, dedupKey: "order-1"), WithEntry(Now.AddHours(-25)), NoQuiet, Now), Email, 0);
    }

    [Fact]
    public void The_settings_window_is_used_when_the_message_has_none()
    {
        var s = NoQuiet with { DedupWindow = TimeSpan.FromHours(48) };
        Assert.Equal(DecisionKind.Drop, Decide(Message(channels: EmailOnly, dedupKey: "order-1"), WithEntry(Now.AddHours(-30)), s, Now).Kind);
        AssertRoute(Decide(Message(channels: EmailOnly, dedupKey: "order-1"), WithEntry(Now.AddHours(-49)), s, Now), Email, 0);
    }

    [Fact]
    public void The_messages_own_window_wins_over_the_settings()
    {
        var own = TimeSpan.FromHours(1);
        AssertRoute(Decide(Message(channels: EmailOnly, dedupKey: "order-1", dedupWindow: own), WithEntry(Now.AddHours(-2)), NoQuiet, Now), Email, 0);
        Assert.Equal(DecisionKind.Drop,
            Decide(Message(channels: EmailOnly, dedupKey: "order-1", dedupWindow: own), WithEntry(Now.AddMinutes(-30)), NoQuiet, Now).Kind);
        // A longer own window reaches further back than the settings' 24 h.
        Assert.Equal(DecisionKind.Drop,
            Decide(Message(channels: EmailOnly, dedupKey: "order-1", dedupWindow: TimeSpan.FromDays(3)), WithEntry(Now.AddDays(-2)), NoQuiet, Now).Kind);
    }

    [Fact]
    public void Another_key_or_no_key_is_not_a_duplicate()
    {
        AssertRoute(Decide(Message(channels: EmailOnly, dedupKey: "order-2"), WithEntry(Now.AddHours(-1)), NoQuiet, Now), Email, 0);
        AssertRoute(Decide(Message(channels: EmailOnly), WithEntry(Now.AddHours(-1)), NoQuiet, Now), Email, 0);
        AssertRoute(Decide(Message(channels: EmailOnly, dedupKey: "ORDER-1"), WithEntry(Now.AddHours(-1)), NoQuiet, Now), Email, 0);
    }

    [Fact]
    public void The_messages_own_ledger_entry_is_ignored()
    {
        AssertRoute(Decide(Message(channels: EmailOnly, dedupKey: "order-1"), WithEntry(Now.AddHours(-1), id: MessageId), NoQuiet, Now), Email, 0);
    }

    [Fact]
    public void The_newest_duplicate_is_named()
    {
        var r = Recipient("Asia/Shanghai", ledger:
        [
            Entry(50, Now.AddHours(-3), Email, dedupKey: "order-1"),
            Entry(51, Now.AddHours(-2), Push, dedupKey: "order-1"),
            Entry(52, Now.AddHours(-1), Push, dedupKey: "other"),
        ]);
        var d = Decide(Message(channels: EmailOnly, dedupKey: "order-1"), r, NoQuiet, Now);
        AssertDrop(d, "dropped: duplicate of m_51 (dedup key 'order-1') sent on push at 2026-06-10 10:00 Asia/Shanghai");
        Assert.Equal(51, d.DuplicateOf);
    }

    [Fact]
    public void De_duplication_applies_to_transactional_messages()
    {
        var d = Decide(Message(Transactional, channels: EmailOnly, dedupKey: "order-1"), WithEntry(Now.AddHours(-1), channel: Email, category: Transactional),
            NoQuiet, Now);
        AssertDrop(d, "dropped: duplicate of m_55 (dedup key 'order-1') sent on email at 2026-06-10 11:00 Asia/Shanghai");
    }

    [Fact]
    public void De_duplication_is_not_applied_when_falling_back()
    {
        var d = Decide(Message(channels: PushThenEmail, dedupKey: "order-1"), WithEntry(Now.AddHours(-1)), NoQuiet, Now, mode: DecideMode.Fallback);
        AssertRoute(d, Email, 1);
        Assert.Null(d.DuplicateOf);
    }

    [Fact]
    public void De_duplication_applies_when_a_digest_is_released()
    {
        var d = Decide(Message(channels: EmailOnly, dedupKey: "order-1"), WithEntry(Now.AddHours(-1)), NoQuiet, Now, mode: DecideMode.DigestRelease);
        Assert.Equal(DecisionKind.Drop, d.Kind);
        Assert.Equal(55, d.DuplicateOf);
    }

    [Fact]
    public void A_route_carries_no_duplicate()
    {
        Assert.Null(Decide(Message(channels: EmailOnly, dedupKey: "order-1"), Recipient(), NoQuiet, Now).DuplicateOf);
    }

    // ---- digest --------------------------------------------------------------------------------

    [Fact]
    public void A_digest_key_in_full_mode_asks_for_a_digest()
    {
        var d = Decide(Message(channels: PushThenEmail, digestKey: "daily-news"), Recipient(), NoQuiet, Now);
        Assert.Equal(DecisionKind.Digest, d.Kind);
        Assert.Equal("merged into digest 'daily-news'", d.Reason);
        Assert.Equal(PushThenEmail, d.Candidates);
        Assert.Null(d.Channel);
    }

    [Fact]
    public void A_released_digest_is_routed()
    {
        var d = Decide(Message(channels: PushThenEmail, digestKey: "daily-news"), Recipient(), NoQuiet, Now, mode: DecideMode.DigestRelease);
        AssertRoute(d, Push, 0);
        Assert.Equal("routed to push", d.Reason);
    }

    [Fact]
    public void A_digest_message_that_falls_back_is_routed()
    {
        var d = Decide(Message(channels: PushThenEmail, digestKey: "daily-news"), Recipient(), NoQuiet, Now, mode: DecideMode.Fallback);
        AssertRoute(d, Email, 1);
    }

    [Fact]
    public void Earlier_steps_win_over_the_digest()
    {
        // A duplicate is dropped rather than digested …
        Assert.Equal(DecisionKind.Drop,
            Decide(Message(channels: EmailOnly, dedupKey: "order-1", digestKey: "daily"), WithEntry(Now.AddHours(-1)), NoQuiet, Now).Kind);
        // … and quiet hours defer it.
        Assert.Equal(DecisionKind.Defer,
            Decide(Message(channels: EmailOnly, digestKey: "daily"), Recipient("Asia/Shanghai"), DeliverySettings.Default, Utc(2026, 6, 10, 15, 30)).Kind);
    }
}
