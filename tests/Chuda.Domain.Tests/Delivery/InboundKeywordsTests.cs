using Chuda.Domain.Delivery;

namespace Chuda.Domain.Tests.Delivery;

public sealed class InboundKeywordsTests
{
    [Theory]
    [InlineData("STOP")]
    [InlineData(" stop ")]
    [InlineData("Stop.")]
    [InlineData("UNSUBSCRIBE")]
    [InlineData("stopall")]
    [InlineData("Opt Out")]
    [InlineData("TD")]
    [InlineData("td")]
    [InlineData("ＴＤ")] // full-width, as Chinese keyboards type it
    [InlineData("T")]
    [InlineData("退订")]
    [InlineData("退订。")]
    [InlineData("【退订】")]
    [InlineData("请帮我退订，谢谢")]
    [InlineData("取消订阅")]
    [InlineData("取消")]
    public void Opt_out_keywords_stop(string text) => Assert.Equal(InboundIntent.Stop, InboundKeywords.Classify(text));

    [Theory]
    [InlineData("START")]
    [InlineData("unstop")]
    [InlineData("订阅")]
    [InlineData("恢复订阅")]
    public void Opt_in_keywords_start(string text) => Assert.Equal(InboundIntent.Start, InboundKeywords.Classify(text));

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("   ")]
    [InlineData("Please don't stop sending these")] // a keyword inside an English sentence is not an opt-out
    [InlineData("STOPPED")]
    [InlineData("TDX")]
    [InlineData("yes")]
    [InlineData("好的")]
    [InlineData("订阅了吗")]
    public void Anything_else_is_an_ordinary_reply(string? text) => Assert.Equal(InboundIntent.None, InboundKeywords.Classify(text));
}
