using Chuda.Domain.Delivery;
using static Chuda.Domain.Tests.Delivery.DeliveryTestKit;

namespace Chuda.Domain.Tests.Delivery;

public class CoolDownTests
{
    private static readonly DateTimeOffset Now = Utc(2026, 6, 10, 4, 0);
    private static readonly string[] EmailOnly = [Email];

    private static DeliverySettings Streak(int n, int days = 14) =>
        NoQuiet with { CoolDown = CoolDownSettings.Default with { IgnoredInARow = n, IgnoredPeriod = TimeSpan.FromDays(days) } };

    private static CoolDown Pause(DateTimeOffset until, string reason = "complaint") => new(1, 7, until, reason, Utc(2026, 6, 1));

    // ---- explicit cool-down ------------------------------------------------------------------------

    [Fact]
    public void A_cool_down_in_the_future_drops_marketing()
    {
        var d = Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai", coolDown: Pause(Utc(2026, 6, 20, 0, 0))), NoQuiet, Now);
        AssertDrop(d, "dropped: marketing paused for this person until 2026-06-20 08:00 Asia/Shanghai (complaint)");
        Assert.Equal(EmailOnly, d.Candidates);
    }

    [Fact]
    public void A_cool_down_names_its_reason_in_the_recipients_zone()
    {
        var d = Decide(Message("newsletter", channels: EmailOnly), Recipient("America/New_York", coolDown: Pause(Utc(2026, 6, 20, 0, 0), "unsubscribe")),
            NoQuiet, Now);
        AssertDrop(d, "dropped: marketing paused for this person until 2026-06-19 20:00 America/New_York (unsubscribe)");
    }

    [Fact]
    public void A_cool_down_in_the_past_or_ending_now_does_not_drop()
    {
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(coolDown: Pause(Now.AddSeconds(-1))), NoQuiet, Now), Email, 0);
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(coolDown: Pause(Now)), NoQuiet, Now), Email, 0);
        Assert.Equal(DecisionKind.Drop, Decide(Message(channels: EmailOnly), Recipient(coolDown: Pause(Now.AddSeconds(1))), NoQuiet, Now).Kind);
    }

    [Fact]
    public void A_cool_down_does_not_affect_transactional_messages()
    {
        AssertRoute(Decide(Message(Transactional, channels: EmailOnly), Recipient(coolDown: Pause(Now.AddDays(30))), NoQuiet, Now), Email, 0);
    }

    [Fact]
    public void A_cool_down_does_not_stop_a_fallback()
    {
        string[] channels = [Push, Email];
        var d = Decide(Message(channels: channels), Recipient(coolDown: Pause(Now.AddDays(30))), NoQuiet, Now, mode: DecideMode.Fallback);
        AssertRoute(d, Email, 1);
    }

    [Fact]
    public void Unreachability_is_reported_before_a_cool_down()
    {
        var d = Decide(Message(channels: EmailOnly), Recipient(addresses: Only(Sms), coolDown: Pause(Now.AddDays(30))), NoQuiet, Now);
        AssertDrop(d, "dropped: no channel with consent and a reachable address");
    }

    // ---- ignored streak ------------------------------------------------------------------------------

    [Fact]
    public void N_ignored_marketing_messages_in_a_row_pause_marketing_until_the_last_plus_the_period()
    {
        List<LedgerEntry> ledger = [Entry(1, Utc(2026, 6, 1)), Entry(2, Utc(2026, 6, 3)), Entry(3, Utc(2026, 6, 5, 10, 0))];
        var d = Decide(Message(channels: EmailOnly), Recipient("Asia/Shanghai", ledger: ledger), Streak(3), Now);
        // 5 June 10:00Z + 14 days = 19 June 10:00Z = 18:00 in Shanghai.
        AssertDrop(d, "dropped: cool-down after 3 ignored messages in a row, until 2026-06-19 18:00 Asia/Shanghai");
        Assert.Equal(Utc(2026, 6, 19, 10, 0), DeliveryPolicy.IgnoredStreak(ledger, Streak(3).CoolDown));
    }

    [Fact]
    public void After_the_period_marketing_resumes()
    {
        List<LedgerEntry> ledger = [Entry(1, Utc(2026, 6, 1)), Entry(2, Utc(2026, 6, 3)), Entry(3, Utc(2026, 6, 5, 10, 0))];
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(ledger: ledger), Streak(3), Utc(2026, 6, 19, 10, 0)), Email, 0);
        Assert.Equal(DecisionKind.Drop, Decide(Message(channels: EmailOnly), Recipient(ledger: ledger), Streak(3), Utc(2026, 6, 19, 9, 59)).Kind);
    }

    [Fact]
    public void Fewer_than_n_ignored_messages_do_not_pause()
    {
        List<LedgerEntry> ledger = [Entry(1, Utc(2026, 6, 3)), Entry(2, Utc(2026, 6, 5))];
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(ledger: ledger), Streak(3), Now), Email, 0);
        Assert.Null(DeliveryPolicy.IgnoredStreak(ledger, Streak(3).CoolDown));
        Assert.Null(DeliveryPolicy.IgnoredStreak([], Streak(1).CoolDown));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void An_engaged_message_within_the_run_resets_it(int engagedIndexFromNewest)
    {
        var ledger = new List<LedgerEntry>();
        for (var i = 0; i < 3; i++)
            ledger.Add(Entry(10 + i, Utc(2026, 6, 1 + i), engaged: 2 - i == engagedIndexFromNewest));
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(ledger: ledger), Streak(3), Now), Email, 0);
        Assert.Null(DeliveryPolicy.IgnoredStreak(ledger, Streak(3).CoolDown));
    }

    [Fact]
    public void An_engaged_message_ends_the_run_even_with_enough_ignored_ones_before_it()
    {
        // Newest first: ignored, engaged, ignored, ignored. Only one ignored message follows the engagement.
        List<LedgerEntry> ledger =
            [Entry(1, Utc(2026, 6, 1)), Entry(2, Utc(2026, 6, 2)), Entry(3, Utc(2026, 6, 3), engaged: true), Entry(4, Utc(2026, 6, 5))];
        Assert.Null(DeliveryPolicy.IgnoredStreak(ledger, Streak(3).CoolDown));
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(ledger: ledger), Streak(3), Now), Email, 0);
    }

    [Fact]
    public void An_engaged_message_before_the_run_does_not_reset_it()
    {
        List<LedgerEntry> ledger =
            [Entry(1, Utc(2026, 5, 30), engaged: true), Entry(2, Utc(2026, 6, 1)), Entry(3, Utc(2026, 6, 3)), Entry(4, Utc(2026, 6, 5))];
        Assert.Equal(Utc(2026, 6, 19), DeliveryPolicy.IgnoredStreak(ledger, Streak(3).CoolDown));
        Assert.Equal(DecisionKind.Drop, Decide(Message(channels: EmailOnly), Recipient(ledger: ledger), Streak(3), Now).Kind);
    }

    [Fact]
    public void Transactional_entries_are_skipped_when_counting()
    {
        // Transactional entries between and after the marketing ones neither break the run nor count, nor move its end.
        List<LedgerEntry> ledger =
        [
            Entry(1, Utc(2026, 6, 1)),
            Entry(2, Utc(2026, 6, 2), category: Transactional, engaged: true),
            Entry(3, Utc(2026, 6, 3)),
            Entry(4, Utc(2026, 6, 4), category: Transactional),
            Entry(5, Utc(2026, 6, 5)),
            Entry(6, Utc(2026, 6, 9), category: Transactional, engaged: true),
        ];
        Assert.Equal(Utc(2026, 6, 19), DeliveryPolicy.IgnoredStreak(ledger, Streak(3).CoolDown));
        AssertDrop(Decide(Message(channels: EmailOnly), Recipient(ledger: ledger), Streak(3), Now),
            "dropped: cool-down after 3 ignored messages in a row, until 2026-06-19 00:00 UTC");

        // Transactional entries alone are no run.
        List<LedgerEntry> onlyTransactional =
            [Entry(1, Utc(2026, 6, 1), category: Transactional), Entry(2, Utc(2026, 6, 2), category: Transactional), Entry(3, Utc(2026, 6, 3), category: Transactional)];
        Assert.Null(DeliveryPolicy.IgnoredStreak(onlyTransactional, Streak(3).CoolDown));
    }

    [Fact]
    public void Topics_count_as_marketing_in_the_run()
    {
        List<LedgerEntry> ledger = [Entry(1, Utc(2026, 6, 1), category: "newsletter"), Entry(2, Utc(2026, 6, 3), category: "price_alerts")];
        Assert.Equal(Utc(2026, 6, 3).AddDays(14), DeliveryPolicy.IgnoredStreak(ledger, Streak(2).CoolDown));
    }

    [Fact]
    public void Ignored_in_a_row_zero_disables_the_rule()
    {
        var ledger = Enumerable.Range(0, 20).Select(i => Entry(i, Now.AddHours(-i - 1))).OrderBy(e => e.DispatchedAt).ToList();
        Assert.Null(DeliveryPolicy.IgnoredStreak(ledger, Streak(0).CoolDown));
        AssertRoute(Decide(Message(channels: EmailOnly), Recipient(ledger: ledger), Streak(0), Now), Email, 0);
        Assert.Equal(0, CoolDownSettings.Default.IgnoredInARow);
    }

    [Fact]
    public void The_ignored_streak_does_not_affect_transactional_messages()
    {
        List<LedgerEntry> ledger = [Entry(1, Utc(2026, 6, 8)), Entry(2, Utc(2026, 6, 9))];
        AssertRoute(Decide(Message(Transactional, channels: EmailOnly), Recipient(ledger: ledger), Streak(2), Now), Email, 0);
    }

    [Fact]
    public void A_streak_of_one()
    {
        List<LedgerEntry> ledger = [Entry(1, Utc(2026, 6, 9), engaged: true), Entry(2, Utc(2026, 6, 9, 12, 0))];
        Assert.Equal(Utc(2026, 6, 10, 12, 0), DeliveryPolicy.IgnoredStreak(ledger, Streak(1, 1).CoolDown));
        Assert.Equal(DecisionKind.Drop, Decide(Message(channels: EmailOnly), Recipient(ledger: ledger), Streak(1, 1), Now).Kind);
    }
}
