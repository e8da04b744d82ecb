using Chuda.Domain.Delivery;
using static Chuda.Domain.Tests.Delivery.DeliveryTestKit;

namespace Chuda.Domain.Tests.Delivery;

/// <summary>Suppressed addresses, missing addresses and erased people.</summary>
public class ReachabilityTests
{
    private static readonly DateTimeOffset Now = Utc(2026, 6, 10, 4, 0);

    [Theory]
    [InlineData(Email, "email")]
    [InlineData(Sms, "phone")]
    [InlineData(Push, "push")]
    [InlineData(InApp, "in_app")]
    [InlineData(WeChat, "wechat")]
    [InlineData(Webhook, "webhook")]
    [InlineData("fax", "fax")]
    public void Suppression_kinds(string channel, string kind)
    {
        Assert.Equal(kind, DeliveryPolicy.SuppressionKind(channel));
        Assert.Equal(kind + ":x", DeliveryPolicy.AddressKey(channel, "x"));
    }

    [Fact]
    public void A_suppressed_email_address_skips_email()
    {
        string[] channels = [Email, Sms];
        var r = Recipient(suppressed: new Dictionary<string, string> { ["email:a@b.example"] = SuppressionReasons.HardBounce });
        var d = Decide(Message(channels: channels), r, NoQuiet, Now);
        AssertRoute(d, Sms, 1);
        Assert.Equal([new DecisionNote(Email, "skipped email: address suppressed (hard_bounce)")], d.Notes);
    }

    [Fact]
    public void Sms_is_suppressed_by_the_phone_key_only()
    {
        string[] channels = [Sms, Email];
        var byPhone = Recipient(suppressed: new Dictionary<string, string> { ["phone:+8613800000000"] = SuppressionReasons.Complaint });
        var d = Decide(Message(channels: channels), byPhone, NoQuiet, Now);
        AssertRoute(d, Email, 1);
        Assert.Equal(["skipped sms: address suppressed (complaint)"], NoteTexts(d));

        var bySmsKey = Recipient(suppressed: new Dictionary<string, string> { ["sms:+8613800000000"] = SuppressionReasons.Complaint });
        AssertRoute(Decide(Message(channels: channels), bySmsKey, NoQuiet, Now), Sms, 0);
    }

    [Fact]
    public void Only_the_exact_address_is_suppressed()
    {
        string[] channels = [Email];
        var other = Recipient(suppressed: new Dictionary<string, string> { ["email:other@b.example"] = SuppressionReasons.Manual, ["phone:a@b.example"] = "x" });
        AssertRoute(Decide(Message(channels: channels), other, NoQuiet, Now), Email, 0);
    }

    [Fact]
    public void Suppression_applies_to_transactional_messages()
    {
        string[] channels = [Email];
        var r = Recipient(suppressed: new Dictionary<string, string> { ["email:a@b.example"] = SuppressionReasons.Manual });
        var d = Decide(Message(Transactional, channels: channels), r, NoQuiet, Now);
        AssertDrop(d, "dropped: no channel with consent and a reachable address");
        Assert.Equal(["skipped email: address suppressed (manual)"], NoteTexts(d));
    }

    [Fact]
    public void Push_tokens_are_suppressed_under_push()
    {
        string[] channels = [Push, InApp];
        var r = Recipient(suppressed: new Dictionary<string, string> { ["push:push-token"] = SuppressionReasons.HardBounce });
        AssertRoute(Decide(Message(channels: channels), r, NoQuiet, Now), InApp, 1);
    }

    [Theory]
    [InlineData(Email, "no e-mail address")]
    [InlineData(Sms, "no phone number")]
    [InlineData(Push, "no push token")]
    [InlineData(InApp, "no user id (the inbox is per known user)")]
    [InlineData(WeChat, "no WeChat openid or WeCom user id")]
    [InlineData(Webhook, "cannot be reached there")]
    [InlineData("fax", "cannot be reached there")]
    public void A_channel_without_an_address_is_skipped_with_a_note(string channel, string why)
    {
        string[] channels = [channel];
        var d = Decide(Message(channels: channels), Recipient(addresses: new Dictionary<string, string>()), NoQuiet, Now);
        AssertDrop(d, "dropped: no channel with consent and a reachable address");
        Assert.Equal([new DecisionNote(channel, $"skipped {channel}: {why}")], d.Notes);
    }

    [Fact]
    public void Unreachable_channels_are_skipped_in_order_and_the_first_reachable_wins()
    {
        string[] channels = [Push, Sms, WeChat, Email];
        var d = Decide(Message(Transactional, channels: channels), Recipient(addresses: Only(Email)), NoQuiet, Now);
        AssertRoute(d, Email, 3);
        Assert.Equal("routed to email (channel 4 of 4)", d.Reason);
        Assert.Equal(["skipped push: no push token", "skipped sms: no phone number", "skipped wechat: no WeChat openid or WeCom user id"], NoteTexts(d));
        Assert.Equal(channels, d.Candidates);
    }

    [Fact]
    public void An_unknown_channel_with_an_address_can_be_routed()
    {
        string[] channels = ["carrier_pigeon"];
        var r = Recipient(addresses: new Dictionary<string, string> { ["carrier_pigeon"] = "loft 3" });
        var d = Decide(Message(Transactional, channels: channels), r, NoQuiet, Now);
        Assert.Equal(DecisionKind.Route, d.Kind);
        Assert.Equal("carrier_pigeon", d.Channel);
        Assert.Equal("loft 3", d.Recipient);
    }

    [Fact]
    public void When_every_channel_is_gone_the_message_is_dropped_with_all_notes()
    {
        string[] channels = [Email, Sms, Push];
        var r = Recipient(
            addresses: Only(Email, Sms),
            subscriptions: [Sub(Marketing, Sms, SubscriptionState.Unsubscribed)],
            suppressed: new Dictionary<string, string> { ["email:a@b.example"] = SuppressionReasons.HardBounce });
        var d = Decide(Message(channels: channels), r, NoQuiet, Now);

        AssertDrop(d, "dropped: no channel with consent and a reachable address");
        Assert.Equal(
            [
                new DecisionNote(Email, "skipped email: address suppressed (hard_bounce)"),
                new DecisionNote(Sms, "skipped sms: unsubscribed from marketing on sms"),
                new DecisionNote(Push, "skipped push: no push token"),
            ],
            d.Notes);
        Assert.Equal(channels, d.Candidates);
    }

    [Fact]
    public void An_unreachable_channel_is_noted_as_unreachable_before_consent_is_checked()
    {
        string[] channels = [Sms];
        var r = Recipient(addresses: Only(Email), subscriptions: [Sub(Marketing, "*", SubscriptionState.Unsubscribed)]);
        Assert.Equal(["skipped sms: no phone number"], NoteTexts(Decide(Message(channels: channels), r, NoQuiet, Now)));
    }

    [Fact]
    public void Consent_is_noted_before_suppression()
    {
        string[] channels = [Email];
        var r = Recipient(
            subscriptions: [Sub(Marketing, "*", SubscriptionState.Unsubscribed)],
            suppressed: new Dictionary<string, string> { ["email:a@b.example"] = SuppressionReasons.HardBounce });
        Assert.Equal(["skipped email: unsubscribed from marketing"], NoteTexts(Decide(Message(channels: channels), r, NoQuiet, Now)));
    }

    [Theory]
    [InlineData(Marketing)]
    [InlineData(Transactional)]
    public void An_erased_person_is_dropped(string category)
    {
        string[] channels = [Email];
        var d = Decide(Message(category, channels: channels), Recipient(erased: true), NoQuiet, Now);
        AssertDrop(d, "dropped: the person was erased (suppressed contact point)");
        Assert.Null(d.Notes);
        Assert.Null(d.Candidates);
    }

    [Fact]
    public void An_erased_person_is_dropped_even_when_falling_back()
    {
        string[] channels = [Email, Sms];
        AssertDrop(Decide(Message(channels: channels), Recipient(erased: true), NoQuiet, Now, mode: DecideMode.Fallback),
            "dropped: the person was erased (suppressed contact point)");
    }
}
