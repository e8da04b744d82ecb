using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Tests.WeChat;

internal static class WeChatTestKit
{
    /// <summary>Bounds every test's provider calls.</summary>
    public static CancellationToken Deadline(TimeSpan? limit = null) => new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(30)).Token;

    public static JsonElement Json(object value) => JsonSerializer.SerializeToElement(value);

    public static WeChatContent Content(string templateId = "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY", string? url = "https://shop.example/orders/1001",
        string? miniAppId = null, string? miniPage = null, IReadOnlyDictionary<string, string>? data = null) =>
        new(templateId, url, miniAppId, miniPage, data ?? new Dictionary<string, string>
        {
            ["first"] = "您的订单已发货",
            ["keyword1"] = "巧克力",
            ["keyword2"] = "39.8元",
            ["remark"] = "感谢您的购买！",
        });

    public static ProviderMessage Message(string recipient, WeChatContent content, string idempotencyKey = "idem-1", string messageId = "m_01") =>
        new(messageId, idempotencyKey, "wechat", recipient, content, "transactional", new Dictionary<string, string>());

    public static IChannelProvider OfficialAccount(FakeWeChatServer server, TimeProvider? time = null, string secret = FakeWeChatServer.AppSecret,
        string mode = "template", bool stableToken = false, WeChatProviderFactory? factory = null)
    {
        factory ??= new WeChatProviderFactory(time ?? TimeProvider.System);
        var config = Json(new
        {
            appId = FakeWeChatServer.AppId,
            appSecret = secret,
            mode,
            endpoint = server.Address.AbsoluteUri,
            stableToken,
            callbackToken = "chudaCallbackToken1",
            timeoutSeconds = 10,
        });
        Assert.Empty(factory.Validate(config));
        return factory.Create("wechat-main", "wechat", config, NullReportSink.Instance);
    }

    public static IChannelProvider WeCom(FakeWeChatServer server, string messageType = "textcard", string secret = FakeWeChatServer.CorpSecret,
        long agentId = FakeWeChatServer.AgentId, int? duplicateCheckIntervalSeconds = null)
    {
        var factory = new WeComProviderFactory(TimeProvider.System);
        var config = duplicateCheckIntervalSeconds is { } interval
            ? Json(new { corpId = FakeWeChatServer.CorpId, corpSecret = secret, agentId, messageType, endpoint = server.Address.AbsoluteUri, duplicateCheckIntervalSeconds = interval })
            : Json(new { corpId = FakeWeChatServer.CorpId, corpSecret = secret, agentId, messageType, endpoint = server.Address.AbsoluteUri });
        Assert.Empty(factory.Validate(config));
        return factory.Create("wecom-main", "wechat", config, NullReportSink.Instance);
    }
}
