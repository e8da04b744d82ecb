using Chuda.Domain.Delivery;
using static Chuda.Domain.Tests.Delivery.DeliveryTestKit;

namespace Chuda.Domain.Tests.Delivery;

public class ConsentTests
{
    private static readonly DateTimeOffset Now = Utc(2026, 6, 10, 4, 0);
    private static readonly string[] EmailOnly = [Email];
    private static readonly string[] EmailThenSms = [Email, Sms];
    private const SubscriptionState Unsubscribed = SubscriptionState.Unsubscribed;
    private const SubscriptionState Subscribed = SubscriptionState.Subscribed;

    private static DeliverySettings OptIn => NoQuiet with { MarketingRequiresOptIn = true };

    [Fact]
    public void Transactional_ignores_subscriptions_even_with_required_opt_in()
    {
        var r = Recipient(subscriptions:
            [Sub(Marketing, "*", Unsubscribed), Sub(Transactional, "*", Unsubscribed), Sub(Transactional, Email, Unsubscribed)]);
        AssertRoute(Decide(Message(Transactional, channels: EmailOnly), r, OptIn, Now), Email, 0);
        AssertRoute(Decide(Message(Transactional, channels: EmailOnly), Recipient(), OptIn, Now), Email, 0);
    }

    [Theory]
    [InlineData("newsletter", Email, "unsubscribed from newsletter on email")]
    [InlineData("newsletter", "*", "unsubscribed from newsletter")]
    [InlineData(Marketing, Email, "unsubscribed from marketing on email")]
    [InlineData(Marketing, "*", "unsubscribed from marketing")]
    public void An_unsubscribe_at_any_level_blocks_a_topic(string category, string channel, string why)
    {
        var r = Recipient(subscriptions: [Sub(category, channel, Unsubscribed)]);
        var d = Decide(Message("newsletter", channels: EmailOnly), r, NoQuiet, Now);

        AssertDrop(d, "dropped: no channel with consent and a reachable address");
        Assert.Equal([new DecisionNote(Email, "skipped email: " + why)], d.Notes);
        Assert.Equal(EmailOnly, d.Candidates);

        Assert.False(DeliveryPolicy.Consented("newsletter", Email, r.Subscriptions, false, out var text));
        Assert.Equal(why, text);
    }

    [Theory]
    [InlineData("newsletter", Email, true)]
    [InlineData("newsletter", "*", false)]
    [InlineData(Marketing, Email, true)]
    [InlineData(Marketing, "*", false)]
    public void A_channel_level_unsubscribe_falls_through_to_the_next_channel(string category, string channel, bool smsStillAllowed)
    {
        var r = Recipient(subscriptions: [Sub(category, channel, Unsubscribed)]);
        var d = Decide(Message("newsletter", channels: EmailThenSms), r, NoQuiet, Now);
        if (smsStillAllowed)
            AssertRoute(d, Sms, 1);
        else
            Assert.Equal(["skipped email: " + (category == Marketing ? "unsubscribed from marketing" : "unsubscribed from newsletter"),
                "skipped sms: " + (category == Marketing ? "unsubscribed from marketing" : "unsubscribed from newsletter")], NoteTexts(d));
    }

    [Fact]
    public void A_plain_marketing_message_is_blocked_by_marketing_unsubscribes()
    {
        var d = Decide(Message(Marketing, channels: EmailOnly), Recipient(subscriptions: [Sub(Marketing, Email, Unsubscribed)]), NoQuiet, Now);
        Assert.Equal(["skipped email: unsubscribed from marketing on email"], NoteTexts(d));
    }

    [Fact]
    public void Unsubscribes_from_other_topics_or_channels_do_not_block()
    {
        var r = Recipient(subscriptions:
            [Sub("price_alerts", "*", Unsubscribed), Sub("newsletter", Sms, Unsubscribed), Sub(Marketing, Push, Unsubscribed)]);
        AssertRoute(Decide(Message("newsletter", channels: EmailOnly), r, NoQuiet, Now), Email, 0);
        // A topic unsubscribe does not block plain marketing.
        AssertRoute(Decide(Message(Marketing, channels: EmailOnly), Recipient(subscriptions: [Sub("newsletter", "*", Unsubscribed)]), NoQuiet, Now), Email, 0);
    }

    [Fact]
    public void An_unsubscribe_wins_over_a_subscription()
    {
        IReadOnlyList<Subscription> subs = [Sub("newsletter", Email, Subscribed), Sub(Marketing, "*", Unsubscribed)];
        Assert.False(DeliveryPolicy.Consented("newsletter", Email, subs, true, out var why));
        Assert.Equal("unsubscribed from marketing", why);
        subs = [Sub(Marketing, "*", Unsubscribed), Sub("newsletter", Email, Subscribed)];
        Assert.False(DeliveryPolicy.Consented("newsletter", Email, subs, true, out _));
    }

    [Fact]
    public void Without_required_opt_in_no_subscription_is_needed()
    {
        Assert.True(DeliveryPolicy.Consented("newsletter", Email, [], false, out var why));
        Assert.Equal("", why);
        AssertRoute(Decide(Message("newsletter", channels: EmailOnly), Recipient(), NoQuiet, Now), Email, 0);
    }

    [Fact]
    public void Required_opt_in_without_a_subscription_skips_the_channel()
    {
        var d = Decide(Message("newsletter", channels: EmailOnly), Recipient(), OptIn, Now);
        AssertDrop(d, "dropped: no channel with consent and a reachable address");
        Assert.Equal([new DecisionNote(Email, "skipped email: no opt-in to newsletter (the workspace requires explicit opt-in)")], d.Notes);
    }

    [Theory]
    [InlineData("newsletter", Email)]
    [InlineData("newsletter", "*")]
    [InlineData(Marketing, Email)]
    [InlineData(Marketing, "*")]
    public void Required_opt_in_accepts_a_subscription_at_any_level(string category, string channel)
    {
        var r = Recipient(subscriptions: [Sub(category, channel, Subscribed)]);
        AssertRoute(Decide(Message("newsletter", channels: EmailOnly), r, OptIn, Now), Email, 0);
    }

    [Theory]
    [InlineData("newsletter", Sms)]
    [InlineData("price_alerts", Email)]
    [InlineData("price_alerts", "*")]
    [InlineData(Marketing, Push)]
    public void Required_opt_in_is_not_met_by_another_topic_or_channel(string category, string channel)
    {
        var r = Recipient(subscriptions: [Sub(category, channel, Subscribed)]);
        Assert.False(DeliveryPolicy.Consented("newsletter", Email, r.Subscriptions, true, out var why));
        Assert.Equal("no opt-in to newsletter (the workspace requires explicit opt-in)", why);
    }

    [Fact]
    public void Required_opt_in_is_per_channel()
    {
        var r = Recipient(subscriptions: [Sub("newsletter", Sms, Subscribed)]);
        var d = Decide(Message("newsletter", channels: EmailThenSms), r, OptIn, Now);
        AssertRoute(d, Sms, 1);
        Assert.Equal("routed to sms (channel 2 of 2)", d.Reason);
        Assert.Equal(["skipped email: no opt-in to newsletter (the workspace requires explicit opt-in)"], NoteTexts(d));
    }

    [Fact]
    public void Consent_is_checked_again_when_falling_back()
    {
        string[] channels = [Push, Email, Sms];
        var r = Recipient(subscriptions: [Sub(Marketing, Email, Unsubscribed)]);
        var d = Decide(Message(channels: channels, channelIndex: 0), r, NoQuiet, Now, mode: DecideMode.Fallback);
        AssertRoute(d, Sms, 2);
        Assert.Equal("fell back to sms", d.Reason);
        Assert.Equal(["skipped email: unsubscribed from marketing on email"], NoteTexts(d));
    }
}
