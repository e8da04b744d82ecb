using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Testing;
using static Chuda.Channels.Tests.WeChat.WeChatTestKit;

namespace Chuda.Channels.Tests.WeChat;

public sealed class WeChatProviderTests
{
    private const string OpenId = "oia2TjuEGTNoeX76QEjQNrcURxG8";

    [Fact]
    public async Task A_template_message_has_the_documented_shape_and_is_accepted_with_the_msgid()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var provider = OfficialAccount(server);
        var data = new Dictionary<string, string>
        {
            ["first"] = "您好，您的订单已发货 \"加急\"\n请注意查收",
            ["keyword1"] = "巧克力 🍫",
            ["keyword2"] = "39.8元",
        };
        var content = Content(miniAppId: "wx1122334455667788", miniPage: "pages/order?id=1001", data: data);

        var result = await provider.SendAsync(Message(OpenId, content, "order-1001-shipped"), Deadline());

        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        Assert.NotNull(result.ProviderMessageId);
        Assert.Empty(server.Problems);
        var send = Assert.Single(server.Sends);
        Assert.Equal("/cgi-bin/message/template/send", send.Path);
        Assert.Equal("200163837", result.ProviderMessageId);
        var body = send.Body;
        Assert.Equal(OpenId, body.GetProperty("touser").GetString());
        Assert.Equal(content.TemplateId, body.GetProperty("template_id").GetString());
        Assert.Equal("https://shop.example/orders/1001", body.GetProperty("url").GetString());
        Assert.Equal("wx1122334455667788", body.GetProperty("miniprogram").GetProperty("appid").GetString());
        Assert.Equal("pages/order?id=1001", body.GetProperty("miniprogram").GetProperty("pagepath").GetString());
        foreach (var (key, value) in data) Assert.Equal(value, body.GetProperty("data").GetProperty(key).GetProperty("value").GetString());
        var clientMsgId = body.GetProperty("client_msg_id").GetString()!;
        Assert.InRange(clientMsgId.Length, 1, 64);
        // Chinese and emoji travel as UTF-8, not \uXXXX (WeChat answers 40033 to escapes); quote and newline are escaped.
        Assert.Contains("巧克力 🍫", send.Text, StringComparison.Ordinal);
        Assert.Contains("\\\"加急\\\"\\n请注意查收", send.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u", send.Text, StringComparison.Ordinal);
        Assert.StartsWith("application/json", send.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_client_msg_id_is_stable_for_an_idempotency_key_and_differs_between_keys()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var provider = OfficialAccount(server);
        var ct = Deadline();
        Assert.True((await provider.SendAsync(Message(OpenId, Content(), "key-A", "m_1"), ct)).Succeeded);
        Assert.True((await provider.SendAsync(Message(OpenId, Content(), "key-A", "m_1"), ct)).Succeeded);
        Assert.True((await provider.SendAsync(Message(OpenId, Content(), "key-B", "m_2"), ct)).Succeeded);

        var ids = server.Sends.Select(s => s.Body.GetProperty("client_msg_id").GetString()).ToArray();
        Assert.Equal(3, ids.Length);
        Assert.Equal(ids[0], ids[1]);
        Assert.NotEqual(ids[0], ids[2]);
        Assert.Empty(server.Problems);
    }

    [Fact]
    public async Task Fifty_concurrent_sends_fetch_the_token_once()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        server.TokenDelay = TimeSpan.FromMilliseconds(300);
        var provider = OfficialAccount(server);
        var ct = Deadline();

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(() => provider.SendAsync(Message("openid-" + i, Content(), "key-" + i, "m_" + i), ct), ct)));

        Assert.All(results, r => Assert.Equal(ProviderOutcome.Accepted, r.Outcome));
        Assert.Equal(1, server.TokenFetches);
        Assert.Equal(50, server.Sends.Count);
        Assert.Single(server.Sends.Select(s => s.AccessToken).Distinct());
        Assert.Equal(50, results.Select(r => r.ProviderMessageId).Distinct().Count());
    }

    [Fact]
    public async Task An_expired_token_is_refreshed_once_and_the_send_retried()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var provider = OfficialAccount(server);
        var ct = Deadline();
        Assert.True((await provider.SendAsync(Message(OpenId, Content(), "k1"), ct)).Succeeded);
        Assert.Equal(1, server.TokenFetches);

        server.ExpireTokens();
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => provider.SendAsync(Message(OpenId + i, Content(), "k2-" + i), ct)));

        Assert.All(results, r => Assert.Equal(ProviderOutcome.Accepted, r.Outcome));
        // One refresh for all eight sends that were told "42001 access_token expired"; each send retried once with the new token.
        Assert.Equal(2, server.TokenFetches);
        // Sends that reached the API with the expired token were refused once and retried; sends that asked for a token after the
        // refresh started waited for it. Either way: one more fetch, every accepted send used the new token, none was tried twice.
        var afterExpiry = server.SendTokens.Skip(1).ToList();
        var refused = afterExpiry.Count(t => t == "ACCESS_TOKEN_1");
        Assert.InRange(refused, 1, 8);
        Assert.Equal(refused, server.TokenRejections);
        Assert.Equal(8, afterExpiry.Count(t => t == "ACCESS_TOKEN_2"));
        Assert.Equal(8 + refused, afterExpiry.Count);
        Assert.Equal(Enumerable.Repeat("ACCESS_TOKEN_2", 8), server.Sends.Skip(1).Select(s => s.AccessToken));
        Assert.Empty(server.Problems);
    }

    [Fact]
    public async Task The_token_is_reused_until_its_lifetime_minus_the_margin()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        server.TokenDelay = TimeSpan.Zero;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero));
        var provider = OfficialAccount(server, time);
        var ct = Deadline();

        Assert.True((await provider.SendAsync(Message(OpenId, Content(), "t1"), ct)).Succeeded);
        time.Advance(TimeSpan.FromSeconds(7200 - 300 - 1)); // 7200 s token, 5-minute margin
        Assert.True((await provider.SendAsync(Message(OpenId, Content(), "t2"), ct)).Succeeded);
        Assert.Equal(1, server.TokenFetches);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.True((await provider.SendAsync(Message(OpenId, Content(), "t3"), ct)).Succeeded);
        Assert.Equal(2, server.TokenFetches);
        Assert.Equal(["ACCESS_TOKEN_1", "ACCESS_TOKEN_1", "ACCESS_TOKEN_2"], server.Sends.Select(s => s.AccessToken));
    }

    [Fact]
    public async Task A_wrong_app_secret_is_a_provider_failure_and_nothing_is_sent()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var provider = OfficialAccount(server, secret: "not-the-secret");

        var result = await provider.SendAsync(Message(OpenId, Content()), Deadline());

        Assert.Equal(ProviderOutcome.TransientFailure, result.Outcome);
        Assert.True(result.ProviderDown);
        Assert.False(result.HardBounce);
        Assert.Contains("40125", result.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", result.Detail, StringComparison.Ordinal);
        Assert.Empty(server.Sends);
        Assert.Equal(1, server.TokenFetches);
    }

    [Theory]
    [InlineData(43004, "require subscribe", ProviderOutcome.PermanentFailure, false, false)]
    [InlineData(43101, "user refuse to accept the msg", ProviderOutcome.PermanentFailure, false, false)]
    [InlineData(40003, "invalid openid", ProviderOutcome.PermanentFailure, true, false)]
    [InlineData(40037, "invalid template_id", ProviderOutcome.PermanentFailure, false, false)]
    [InlineData(45009, "reach max api daily quota limit", ProviderOutcome.TransientFailure, false, true)]
    [InlineData(45011, "api minute-quota reach limit, must slower, retry next minute", ProviderOutcome.TransientFailure, false, true)]
    [InlineData(-1, "system error", ProviderOutcome.TransientFailure, false, false)]
    [InlineData(40164, "invalid ip 1.2.3.4, not in whitelist", ProviderOutcome.TransientFailure, false, false)]
    public async Task Error_codes_for_a_recipient_map_to_outcomes(int code, string message, ProviderOutcome outcome, bool hardBounce, bool retryAfter)
    {
        await using var server = await FakeWeChatServer.StartAsync();
        server.Errors["openid-with-error"] = (code, message);
        var provider = OfficialAccount(server);
        var ct = Deadline();

        var result = await provider.SendAsync(Message("openid-with-error", Content()), ct);
        var other = await provider.SendAsync(Message(OpenId, Content(), "other"), ct);

        Assert.Equal(outcome, result.Outcome);
        Assert.Equal(hardBounce, result.HardBounce);
        Assert.Equal(retryAfter, result.RetryAfter is { } wait && wait > TimeSpan.Zero);
        // Only the account-level code (IP allow-list) fails the provider over; per-recipient errors never do.
        Assert.Equal(code == 40164, result.ProviderDown);
        Assert.Contains(code.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Detail, StringComparison.Ordinal);
        Assert.Equal(ProviderOutcome.Accepted, other.Outcome);
        Assert.Equal(2, server.Sends.Count);
    }

    [Fact]
    public async Task Subscribe_mode_sends_to_bizsend_with_page_and_data()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var provider = OfficialAccount(server, mode: "subscribe");
        var data = new Dictionary<string, string> { ["thing1"] = "订单发货", ["time2"] = "2026年11月22日 10:00" };

        var result = await provider.SendAsync(Message(OpenId, Content(templateId: "SSE1b1CBLZwAO9KXOg2amkgt", data: data, miniAppId: "wx99", miniPage: "pages/a")), Deadline());

        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        Assert.Empty(server.Problems);
        var send = Assert.Single(server.Sends);
        Assert.Equal("/cgi-bin/message/subscribe/bizsend", send.Path);
        Assert.Equal("https://shop.example/orders/1001", send.Body.GetProperty("page").GetString());
        Assert.False(send.Body.TryGetProperty("url", out _));
        Assert.Equal("wx99", send.Body.GetProperty("miniprogram").GetProperty("appid").GetString());
        Assert.Equal("订单发货", send.Body.GetProperty("data").GetProperty("thing1").GetProperty("value").GetString());
        Assert.Equal("2026年11月22日 10:00", send.Body.GetProperty("data").GetProperty("time2").GetProperty("value").GetString());
    }

    [Fact]
    public async Task The_stable_token_is_fetched_by_POST_with_a_JSON_body()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var provider = OfficialAccount(server, stableToken: true);

        var result = await provider.SendAsync(Message(OpenId, Content()), Deadline());

        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        var request = Assert.Single(server.StableTokenRequests);
        Assert.Equal("client_credential", request.GetProperty("grant_type").GetString());
        Assert.Equal(FakeWeChatServer.AppId, request.GetProperty("appid").GetString());
        Assert.Equal(FakeWeChatServer.AppSecret, request.GetProperty("secret").GetString());
    }

    [Fact]
    public async Task Providers_of_the_same_account_share_one_token()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var factory = new WeChatProviderFactory(TimeProvider.System);
        var a = OfficialAccount(server, factory: factory);
        var b = OfficialAccount(server, factory: factory);
        var ct = Deadline();

        Assert.True((await a.SendAsync(Message(OpenId, Content(), "a"), ct)).Succeeded);
        Assert.True((await b.SendAsync(Message(OpenId, Content(), "b"), ct)).Succeeded);

        Assert.Equal(1, server.TokenFetches);
        Assert.Equal(1, factory.TokenCaches);
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_a_provider_failure()
    {
        // A port that was just free: nothing listens there.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var factory = new WeChatProviderFactory(TimeProvider.System);
        var config = Json(new { appId = FakeWeChatServer.AppId, appSecret = "x", endpoint = $"http://127.0.0.1:{port}" });
        var provider = factory.Create("wechat-down", "wechat", config, NullReportSink.Instance);

        var result = await provider.SendAsync(Message(OpenId, Content()), Deadline());

        Assert.Equal(ProviderOutcome.TransientFailure, result.Outcome);
        Assert.True(result.ProviderDown);
        Assert.DoesNotContain("secret=", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recipients_are_openids_not_WeCom_users()
    {
        await using var server = await FakeWeChatServer.StartAsync();
        var provider = OfficialAccount(server);
        Assert.True(provider.Accepts(OpenId));
        Assert.False(provider.Accepts("wecom:zhangsan"));
        Assert.Equal("wechat", provider.Channel);
        var result = await provider.SendAsync(Message(OpenId, Content(templateId: " ")), Deadline());
        Assert.Equal(ProviderOutcome.PermanentFailure, result.Outcome);
        Assert.Empty(server.Sends);
    }

    [Fact]
    public void Configuration_is_validated()
    {
        var factory = new WeChatProviderFactory(TimeProvider.System);
        Assert.Equal("wechat_mp", factory.Kind);
        Assert.Equal(["wechat"], factory.Channels);
        Assert.Contains("appSecret", factory.SecretFields);
        Assert.Contains("callbackToken", factory.SecretFields);
        Assert.Empty(factory.Validate(Json(new { appId = "wx1", appSecret = "s" })));

        var errors = factory.Validate(Json(new { appSecret = 5, mode = "broadcast", endpoint = "ftp://x", stableToken = "yes", timeoutSeconds = 0, colour = "red" }));
        var paths = errors.Select(e => e.Path).ToHashSet();
        Assert.Equal(
            new HashSet<string> { "$.config.appId", "$.config.appSecret", "$.config.mode", "$.config.endpoint", "$.config.stableToken", "$.config.timeoutSeconds", "$.config.colour" },
            paths);
        Assert.NotEmpty(factory.Validate(JsonDocument.Parse("[]").RootElement));
        Assert.Equal("$.config.endpoint", Assert.Single(factory.Validate(Json(new { appId = "wx1", appSecret = "s", endpoint = "http://api.weixin.qq.com" }))).Path);
        Assert.Empty(factory.Validate(Json(new { appId = "wx1", appSecret = "s", endpoint = "https://wechat-proxy.internal/prefix" })));
    }
}
