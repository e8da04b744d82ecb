using System.Text;
using Chuda.Channels.Providers;
using Chuda.Channels.WeChat;
using static Chuda.Channels.Tests.WeChat.WeChatTestKit;

namespace Chuda.Channels.Tests.WeChat;

public sealed class WeChatCallbackTests
{
    private const string Token = "chudaCallbackToken1";

    // Computed outside .NET (Python hashlib): sha1 of the sorted [token, timestamp, nonce] concatenated.
    private const string KnownSignature = "3a29207026297250677911c339073e14011a640b"; // timestamp 1395658920, nonce 1320562132

    private static ProviderCallback Callback(string method, string timestamp, string nonce, string signature, string? body = null, string? echostr = null)
    {
        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["signature"] = signature, ["timestamp"] = timestamp, ["nonce"] = nonce };
        if (echostr is not null) query["echostr"] = echostr;
        var url = new Uri($"https://chuda.example/callbacks/ws_1/wechat-main?signature={signature}&timestamp={timestamp}&nonce={nonce}");
        return new ProviderCallback(method, url, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Content-Type"] = "text/xml" }, query,
            body is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(body));
    }

    private static string JobFinished(string msgId, string status) => $"""
        <xml>
          <ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>
          <FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>
          <CreateTime>1395658920</CreateTime>
          <MsgType><![CDATA[event]]></MsgType>
          <Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>
          <MsgID>{msgId}</MsgID>
          <Status><![CDATA[{status}]]></Status>
        </xml>
        """;

    private static async Task<(IChannelProvider Provider, string MsgId, FakeWeChatServer Server)> SentAsync()
    {
        var server = await FakeWeChatServer.StartAsync();
        var provider = OfficialAccount(server);
        var result = await provider.SendAsync(Message("oia2TjuEGTNoeX76QEjQNrcURxG8", Content()), Deadline());
        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        return (provider, result.ProviderMessageId!, server);
    }

    [Fact]
    public void The_signature_matches_an_independent_computation()
    {
        Assert.Equal(KnownSignature, WeChatCallbackHandler.Signature(Token, "1395658920", "1320562132"));
    }

    [Fact]
    public async Task A_signed_success_event_reports_the_sent_message_delivered()
    {
        var (provider, msgId, server) = await SentAsync();
        await using var _ = server;
        var callbacks = Assert.IsAssignableFrom<IProviderCallbacks>(provider);

        var answer = callbacks.HandleCallback(Callback("POST", "1395658920", "1320562132", KnownSignature, JobFinished(msgId, "success")));

        Assert.True(answer.Authentic);
        Assert.Equal(200, answer.StatusCode);
        Assert.Equal("success", answer.ResponseBody);
        var report = Assert.Single(answer.Reports);
        Assert.Equal(ProviderReportKind.Delivered, report.Kind);
        Assert.Equal(msgId, report.ProviderMessageId);
    }

    [Fact]
    public async Task A_user_block_is_a_failure_with_the_status_as_detail()
    {
        var (provider, msgId, server) = await SentAsync();
        await using var _ = server;
        var callbacks = (IProviderCallbacks)provider;

        var blocked = callbacks.HandleCallback(Callback("POST", "1395658920", "1320562132", KnownSignature, JobFinished(msgId, "failed:user block")));
        var system = callbacks.HandleCallback(Callback("POST", "1395658920", "1320562132", KnownSignature, JobFinished(msgId, "failed: system failed")));

        var report = Assert.Single(blocked.Reports);
        Assert.Equal(ProviderReportKind.Failed, report.Kind);
        Assert.Equal(msgId, report.ProviderMessageId);
        Assert.Equal("failed:user block", report.Detail);
        Assert.Equal("failed: system failed", Assert.Single(system.Reports).Detail);
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000", "1395658920", "1320562132")]
    [InlineData(KnownSignature, "1395658921", "1320562132")] // timestamp changed
    [InlineData(KnownSignature, "1395658920", "1320562133")] // nonce changed
    [InlineData("3a29207026", "1395658920", "1320562132")]
    public async Task A_bad_signature_is_rejected_and_reports_nothing(string signature, string timestamp, string nonce)
    {
        var (provider, msgId, server) = await SentAsync();
        await using var _ = server;

        var answer = ((IProviderCallbacks)provider).HandleCallback(Callback("POST", timestamp, nonce, signature, JobFinished(msgId, "success")));

        Assert.False(answer.Authentic);
        Assert.Equal(401, answer.StatusCode);
        Assert.Empty(answer.Reports);
    }

    [Fact]
    public void The_echostr_handshake_is_answered_only_when_signed()
    {
        var handler = new WeChatCallbackHandler(Token);

        var ok = handler.Handle(Callback("GET", "1395658920", "1320562132", KnownSignature, echostr: "8305999631672647420"));
        var bad = handler.Handle(Callback("GET", "1395658920", "1320562132", KnownSignature.Replace('a', 'b'), echostr: "8305999631672647420"));

        Assert.True(ok.Authentic);
        Assert.Equal(200, ok.StatusCode);
        Assert.Equal("8305999631672647420", ok.ResponseBody);
        Assert.False(bad.Authentic);
        Assert.NotEqual("8305999631672647420", bad.ResponseBody);
    }

    [Fact]
    public void Without_a_callback_token_every_callback_is_rejected()
    {
        var answer = new WeChatCallbackHandler(null).Handle(Callback("GET", "1", "2", WeChatCallbackHandler.Signature("", "1", "2"), echostr: "x"));
        Assert.False(answer.Authentic);
    }

    [Fact]
    public void An_encrypted_only_body_is_refused_as_unsupported_and_a_text_message_is_inbound()
    {
        var handler = new WeChatCallbackHandler(Token);
        var encrypted = handler.Handle(Callback("POST", "1395658920", "1320562132", KnownSignature,
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[bm90IHJlYWxseSBlbmNyeXB0ZWQ=]]></Encrypt></xml>"));
        Assert.True(encrypted.Authentic);
        Assert.Equal(400, encrypted.StatusCode);
        Assert.Empty(encrypted.Reports);
        Assert.Contains("AES", encrypted.ResponseBody, StringComparison.Ordinal);

        var text = handler.Handle(Callback("POST", "1395658920", "1320562132", KnownSignature,
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName><CreateTime>1</CreateTime>" +
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[退订]]></Content><MsgId>1234567890123456</MsgId></xml>"));
        var inbound = Assert.Single(text.Reports);
        Assert.Equal(ProviderReportKind.Inbound, inbound.Kind);
        Assert.Equal("oUser1", inbound.From);
        Assert.Equal("退订", inbound.Text);
    }

    [Fact]
    public void A_DTD_is_refused()
    {
        var handler = new WeChatCallbackHandler(Token);
        var answer = handler.Handle(Callback("POST", "1395658920", "1320562132", KnownSignature,
            "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><MsgType>text</MsgType><FromUserName>a</FromUserName><Content>&x;</Content></xml>"));
        Assert.Equal(400, answer.StatusCode);
        Assert.Empty(answer.Reports);
    }
}
