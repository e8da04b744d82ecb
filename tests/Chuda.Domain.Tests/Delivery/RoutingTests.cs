using Chuda.Domain.Delivery;
using static Chuda.Domain.Tests.Delivery.DeliveryTestKit;

namespace Chuda.Domain.Tests.Delivery;

/// <summary>Which channel list is used, the route, fallback and expiry.</summary>
public class RoutingTests
{
    private static readonly DateTimeOffset Now = Utc(2026, 6, 10, 4, 0);

    // ---- the channel list -------------------------------------------------------------------------

    [Fact]
    public void The_messages_channel_list_comes_first()
    {
        string[] channels = [Sms, Email];
        var d = Decide(Message(channels: channels), Recipient(preferred: [Email, Push]), NoQuiet with { ChannelOrder = [Push] }, Now);
        AssertRoute(d, Sms, 0);
        Assert.Equal("routed to sms", d.Reason);
        Assert.Equal(channels, d.Candidates);
        Assert.Empty(d.Notes!);
        Assert.Null(d.Until);
        Assert.Null(d.DuplicateOf);
    }

    [Fact]
    public void Without_one_the_profiles_preferred_channels_are_used()
    {
        string[] preferred = [Email, Push];
        var d = Decide(Message(), Recipient(preferred: preferred), NoQuiet with { ChannelOrder = [Push] }, Now);
        AssertRoute(d, Email, 0);
        Assert.Equal(preferred, d.Candidates);
    }

    [Fact]
    public void Without_either_the_settings_order_is_used()
    {
        string[] order = [Sms, Email];
        var d = Decide(Message(), Recipient(), NoQuiet with { ChannelOrder = order }, Now);
        AssertRoute(d, Sms, 0);
        Assert.Equal(order, d.Candidates);
    }

    [Fact]
    public void The_default_order_starts_with_push()
    {
        Assert.Equal([Push, InApp, Email, Sms, WeChat, Webhook], DeliverySettings.Default.ChannelOrder);
        var d = Decide(Message(), Recipient(), NoQuiet, Now);
        AssertRoute(d, Push, 0);
        Assert.Equal(ChannelNames.DefaultOrder, d.Candidates);
    }

    [Fact]
    public void A_later_channel_is_described_with_its_position()
    {
        var d = Decide(Message(), Recipient(addresses: Only(Email, Sms)), NoQuiet, Now);
        AssertRoute(d, Email, 2);
        Assert.Equal("routed to email (channel 3 of 6)", d.Reason);
        // Every candidate is checked, so later unreachable channels are noted too.
        Assert.Equal(
            ["skipped push: no push token", "skipped in_app: no user id (the inbox is per known user)", "skipped wechat: no WeChat openid or WeCom user id",
                "skipped webhook: cannot be reached there"],
            NoteTexts(d));
    }

    [Fact]
    public void An_empty_channel_list_everywhere_drops()
    {
        var d = Decide(Message(), Recipient(), NoQuiet with { ChannelOrder = [] }, Now);
        AssertDrop(d, "dropped: no channel to send on");
        Assert.Null(d.Candidates);
    }

    // ---- fallback ---------------------------------------------------------------------------------

    [Theory]
    [InlineData(0, Email, 1)]
    [InlineData(1, Sms, 2)]
    public void Fallback_starts_after_the_channel_index(int index, string channel, int chosen)
    {
        string[] channels = [Push, Email, Sms];
        var d = Decide(Message(channels: channels, channelIndex: index), Recipient(), NoQuiet, Now, mode: DecideMode.Fallback);
        AssertRoute(d, channel, chosen);
        Assert.Equal($"fell back to {channel}", d.Reason);
        Assert.Equal(channels, d.Candidates);
        Assert.Empty(d.Notes!);
    }

    [Fact]
    public void Fallback_skips_unreachable_channels()
    {
        string[] channels = [Push, Email, Sms];
        var d = Decide(Message(channels: channels, channelIndex: 0), Recipient(addresses: Only(Push, Sms)), NoQuiet, Now, mode: DecideMode.Fallback);
        AssertRoute(d, Sms, 2);
        Assert.Equal("fell back to sms", d.Reason);
        Assert.Equal(["skipped email: no e-mail address"], NoteTexts(d));
    }

    [Fact]
    public void Fallback_with_no_channel_left_fails()
    {
        string[] channels = [Push, Email];
        var d = Decide(Message(channels: channels, channelIndex: 1), Recipient(), NoQuiet, Now, mode: DecideMode.Fallback);
        AssertDrop(d, "failed: no channel left to fall back to");
        d = Decide(Message(channels: channels, channelIndex: 5), Recipient(), NoQuiet, Now, mode: DecideMode.Fallback);
        AssertDrop(d, "failed: no channel left to fall back to");
    }

    [Fact]
    public void Fallback_when_no_remaining_channel_reaches_the_person_fails()
    {
        string[] channels = [Push, Email, Sms];
        var r = Recipient(addresses: Only(Push, Email), suppressed: new Dictionary<string, string> { ["email:a@b.example"] = SuppressionReasons.HardBounce });
        var d = Decide(Message(channels: channels, channelIndex: 0), r, NoQuiet, Now, mode: DecideMode.Fallback);
        AssertDrop(d, "failed: no further channel can reach the person");
        Assert.Equal(["skipped email: address suppressed (hard_bounce)", "skipped sms: no phone number"], NoteTexts(d));
        Assert.Equal(channels, d.Candidates);
    }

    [Fact]
    public void Full_mode_ignores_the_channel_index()
    {
        string[] channels = [Push, Email];
        AssertRoute(Decide(Message(channels: channels, channelIndex: 1), Recipient(), NoQuiet, Now), Push, 0);
    }

    [Fact]
    public void Fallback_walks_the_profiles_preference_when_the_message_has_no_list()
    {
        var d = Decide(Message(channelIndex: 0), Recipient(preferred: [Sms, WeChat]), NoQuiet, Now, mode: DecideMode.Fallback);
        AssertRoute(d, WeChat, 1);
    }

    [Fact]
    public void Fallback_with_a_corrupt_channel_index_does_not_throw()
    {
        string[] channels = [Push, Email];
        foreach (var index in new[] { -2, -100, int.MaxValue })
        {
            var d = Decide(Message(channels: channels, channelIndex: index), Recipient(), NoQuiet, Now, mode: DecideMode.Fallback);
            Assert.NotEqual(DecisionKind.Defer, d.Kind);
        }
    }

    // ---- expiry -----------------------------------------------------------------------------------

    [Fact]
    public void A_message_expiring_now_expires()
    {
        string[] channels = [Email];
        var d = Decide(Message(channels: channels, expiresAt: Now), Recipient(), NoQuiet, Now);
        Assert.Equal(DecisionKind.Expire, d.Kind);
        Assert.Equal("expired at 2026-06-10T04:00:00Z before it could be sent", d.Reason);
        Assert.Null(d.Channel);
        Assert.Null(d.Notes);
    }

    [Fact]
    public void A_message_that_expired_earlier_expires_with_its_utc_expiry()
    {
        string[] channels = [Email];
        var expiry = new DateTimeOffset(2026, 6, 10, 9, 30, 15, TimeSpan.FromHours(8));
        var d = Decide(Message(Transactional, channels: channels, expiresAt: expiry), Recipient(), NoQuiet, Now);
        Assert.Equal(DecisionKind.Expire, d.Kind);
        Assert.Equal("expired at 2026-06-10T01:30:15Z before it could be sent", d.Reason);
    }

    [Fact]
    public void A_message_expiring_later_is_sent()
    {
        string[] channels = [Email];
        AssertRoute(Decide(Message(channels: channels, expiresAt: Now.AddTicks(1)), Recipient(), NoQuiet, Now), Email, 0);
    }

    [Fact]
    public void Expiry_is_checked_before_anything_else()
    {
        string[] channels = [Email];
        Assert.Equal(DecisionKind.Expire, Decide(Message(channels: channels, expiresAt: Now), Recipient(erased: true), NoQuiet, Now).Kind);
        Assert.Equal(DecisionKind.Expire, Decide(Message(channels: channels, expiresAt: Now), Recipient(), NoQuiet, Now, mode: DecideMode.Fallback).Kind);
        Assert.Equal(DecisionKind.Expire, Decide(Message(channels: [], expiresAt: Now), Recipient(), NoQuiet with { ChannelOrder = [] }, Now).Kind);
    }

    // ---- the whole pipeline in order -----------------------------------------------------------------

    [Fact]
    public void Cool_down_is_checked_before_quiet_hours_and_quiet_hours_before_caps()
    {
        string[] channels = [Email];
        var night = Utc(2026, 6, 10, 15, 30); // 23:30 in Shanghai
        var s = DeliverySettings.Default with { Caps = [new FrequencyCap(0, CapPeriod.CalendarDay, null, null)] };
        var paused = Recipient("Asia/Shanghai", coolDown: new CoolDown(1, 7, night.AddDays(1), "complaint", night));
        Assert.StartsWith("dropped: marketing paused", Decide(Message(channels: channels), paused, s, night).Reason, StringComparison.Ordinal);
        Assert.Equal(DecisionKind.Defer, Decide(Message(channels: channels), Recipient("Asia/Shanghai"), s, night).Kind);
        AssertDrop(Decide(Message(channels: channels), Recipient("Asia/Shanghai"), s, Utc(2026, 6, 11, 0, 0)), "dropped: cap 0/day reached");
    }

    [Fact]
    public void Caps_are_checked_before_de_duplication()
    {
        string[] channels = [Email];
        var s = WithCaps(new FrequencyCap(1, CapPeriod.RollingDay, null, null));
        var r = Recipient(ledger: [Entry(55, Now.AddHours(-1), dedupKey: "k")]);
        AssertDrop(Decide(Message(channels: channels, dedupKey: "k"), r, s, Now), "dropped: cap 1/24h reached");
    }
}
