using Chuda.Channels.Providers;
using Chuda.Channels.WeChat;
using static Chuda.Channels.Tests.WeChat.WeChatTestKit;

namespace Chuda.Channels.Tests.WeChat;

public sealed class WeComProviderTests
{
    [Fact]
    public async Task A_text_card_has_the_documented_shape()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var provider = WeCom(server);

        var result = await provider.SendAsync(Message("wecom:ZhangSan", Content()), Deadline());

        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        Assert.StartsWith("wecom-", result.ProviderMessageId, StringComparison.Ordinal);
        Assert.Empty(server.Problems);
        var send = Assert.Single(server.Sends);
        Assert.Equal("/cgi-bin/message/send", send.Path);
        var body = send.Body;
        Assert.Equal("ZhangSan", body.GetProperty("touser").GetString());
        Assert.Equal(FakeWeChatServer.AgentId, body.GetProperty("agentid").GetInt64());
        Assert.Equal("textcard", body.GetProperty("msgtype").GetString());
        var card = body.GetProperty("textcard");
        Assert.Equal("您的订单已发货", card.GetProperty("title").GetString());
        Assert.Equal("keyword1: 巧克力\nkeyword2: 39.8元\n感谢您的购买！", card.GetProperty("description").GetString());
        Assert.Equal("https://shop.example/orders/1001", card.GetProperty("url").GetString());
        Assert.Equal(1, body.GetProperty("enable_duplicate_check").GetInt32());
        Assert.Equal(1800, body.GetProperty("duplicate_check_interval").GetInt32());
        Assert.Contains("巧克力", send.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_and_markdown_are_built_from_the_data()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var ct = Deadline();
        Assert.True((await WeCom(server, "text", duplicateCheckIntervalSeconds: 0).SendAsync(Message("wecom:lisi", Content()), ct)).Succeeded);
        Assert.True((await WeCom(server, "markdown").SendAsync(Message("wecom:lisi", Content(url: null)), ct)).Succeeded);

        Assert.Empty(server.Problems);
        var text = server.Sends[0].Body;
        Assert.Equal("您的订单已发货\nkeyword1: 巧克力\nkeyword2: 39.8元\n感谢您的购买！\nhttps://shop.example/orders/1001",
            text.GetProperty("text").GetProperty("content").GetString());
        Assert.False(text.TryGetProperty("enable_duplicate_check", out _));
        var markdown = server.Sends[1].Body;
        Assert.Equal("markdown", markdown.GetProperty("msgtype").GetString());
        Assert.Equal("**您的订单已发货**\nkeyword1: 巧克力\nkeyword2: 39.8元\n感谢您的购买！", markdown.GetProperty("markdown").GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_text_card_without_a_link_is_a_permanent_failure_before_any_request()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var result = await WeCom(server).SendAsync(Message("wecom:lisi", Content(url: null)), Deadline());
        Assert.Equal(ProviderOutcome.PermanentFailure, result.Outcome);
        Assert.False(result.ProviderDown);
        Assert.Empty(server.Sends);
    }

    [Fact]
    public async Task An_invalid_user_is_a_hard_bounce()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        server.InvalidWeComUsers["Ghost"] = true;
        server.Errors["nobody"] = (81013, "user & party & tag all invalid");
        var provider = WeCom(server);
        var ct = Deadline();

        var invalid = await provider.SendAsync(Message("wecom:Ghost", Content()), ct);
        var all = await provider.SendAsync(Message("wecom:nobody", Content()), ct);

        foreach (var result in new[] { invalid, all })
        {
            Assert.Equal(ProviderOutcome.PermanentFailure, result.Outcome);
            Assert.True(result.HardBounce);
            Assert.False(result.ProviderDown);
        }
        Assert.Contains("ghost", invalid.Detail, StringComparison.Ordinal);
        Assert.Contains("81013", all.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_token_is_refreshed_once_and_the_send_retried()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var provider = WeCom(server);
        var ct = Deadline();
        Assert.True((await provider.SendAsync(Message("wecom:a", Content()), ct)).Succeeded);

        server.ExpireTokens();
        var result = await provider.SendAsync(Message("wecom:b", Content()), ct);

        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        Assert.Equal(2, server.TokenFetches);
        Assert.Equal(1, server.TokenRejections);
        Assert.Equal(["ACCESS_TOKEN_1", "ACCESS_TOKEN_2"], server.Sends.Select(s => s.AccessToken));
    }

    [Fact]
    public async Task A_wrong_secret_or_agent_fails_the_provider_over()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var ct = Deadline();

        var secret = await WeCom(server, secret: "wrong").SendAsync(Message("wecom:a", Content()), ct);
        var agent = await WeCom(server, agentId: 1000099).SendAsync(Message("wecom:a", Content()), ct);

        Assert.True(secret.ProviderDown);
        Assert.Equal(ProviderOutcome.TransientFailure, secret.Outcome);
        Assert.Contains("40001", secret.Detail, StringComparison.Ordinal);
        Assert.True(agent.ProviderDown);
        Assert.Contains("301002", agent.Detail, StringComparison.Ordinal);
        Assert.Single(server.Sends); // the wrong-agent send reached the API; the wrong-secret one did not
    }

    [Fact]
    public async Task Fifty_concurrent_sends_fetch_the_token_once()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        server.TokenDelay = TimeSpan.FromMilliseconds(300);
        var provider = WeCom(server);
        var ct = Deadline();

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => provider.SendAsync(Message("wecom:u" + i, Content(), "k" + i), ct), ct)));

        Assert.All(results, r => Assert.Equal(ProviderOutcome.Accepted, r.Outcome));
        Assert.Equal(1, server.TokenFetches);
    }

    [Fact]
    public void Recipients_and_configuration()
    {
        var factory = new WeComProviderFactory(TimeProvider.System);
        Assert.Equal("wecom", factory.Kind);
        Assert.Equal(["corpSecret"], factory.SecretFields);
        Assert.Empty(factory.Validate(Json(new { corpId = "ww1", corpSecret = "s", agentId = "1000002" })));
        var paths = factory.Validate(Json(new { corpId = "", agentId = -1, messageType = "news", duplicateCheckIntervalSeconds = 20_000, extra = 1 }))
            .Select(e => e.Path).ToHashSet();
        Assert.Equal(new HashSet<string>
        {
            "$.config.corpId", "$.config.corpSecret", "$.config.agentId", "$.config.messageType", "$.config.duplicateCheckIntervalSeconds", "$.config.extra",
        }, paths);

        var provider = factory.Create("w", "wechat", Json(new { corpId = "ww1", corpSecret = "s", agentId = 7 }), NullReportSink.Instance);
        Assert.True(provider.Accepts("wecom:zhangsan"));
        Assert.False(provider.Accepts("oia2TjuEGTNoeX76QEjQNrcURxG8"));
    }

    [Fact]
    public void Long_text_is_cut_at_a_character_boundary()
    {
        var title = string.Concat(Enumerable.Repeat("订单😀", 30)); // 7 bytes per repeat
        var cut = WeComMessageBuilder.Truncate(title, 128);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(cut) <= 128);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(cut) > 120);
        Assert.False(char.IsHighSurrogate(cut[^1]));
        Assert.StartsWith(cut, title, StringComparison.Ordinal);
    }
}
