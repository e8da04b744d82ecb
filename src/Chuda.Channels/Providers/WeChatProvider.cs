using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.WeChat;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>Settings of one WeChat official account provider.</summary>
public sealed record WeChatOfficialAccountOptions
{
    public required Uri Endpoint { get; init; }
    public required string AppId { get; init; }
    /// <summary><c>template</c>: template messages (<c>/cgi-bin/message/template/send</c>); <c>subscribe</c>: subscription
    /// notifications (<c>/cgi-bin/message/subscribe/bizsend</c>).</summary>
    public bool Subscribe { get; init; }
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The server-configuration token that signs callbacks; null when callbacks are not used.</summary>
    public string? CallbackToken { get; init; }
}

/// <summary>
/// WeChat official account (公众号) messages on the <c>wechat</c> channel: the recipient is the person's openid for this
/// account. Template mode POSTs <c>{"touser", "template_id", "url", "miniprogram": {"appid", "pagepath"}, "client_msg_id",
/// "data": {"key": {"value"}}}</c> to <c>/cgi-bin/message/template/send</c>; <c>client_msg_id</c> is the SHA-256 (hex, 64
/// characters) of the idempotency key — WeChat sends one message per openid + client_msg_id within 10 minutes, so a retry
/// after a lost answer is not shown twice. Subscribe mode POSTs <c>{"touser", "template_id", "page", "miniprogram", "data"}</c>
/// to <c>/cgi-bin/message/subscribe/bizsend</c> (no documented de-duplication field there). The access token is cached and
/// fetched single-flight (<see cref="AccessTokenCache"/>); a send told its token is invalid or expired (40001, 40014, 42001)
/// refreshes it and is retried once. <c>{"errcode": 0, "msgid": …}</c> is Accepted with the msgid as provider message id;
/// the <c>TEMPLATESENDJOBFINISH</c> event on the account's server URL then reports Delivered or Failed
/// (<see cref="HandleCallback"/>). Error codes: <see cref="WeChatErrors.OfficialAccount"/>.
/// </summary>
public sealed class WeChatProvider(string id, WeChatOfficialAccountOptions options, AccessTokenCache tokens, WeChatHttp http) : IChannelProvider, IProviderCallbacks
{
    public const string KindName = "wechat_mp";

    private readonly WeChatCallbackHandler _callbacks = new(options.CallbackToken);

    public string Id { get; } = id;

    public string Channel => "wechat";

    public AccessTokenCache Tokens => tokens;

    public bool Accepts(string recipient) => !recipient.StartsWith(WeComProvider.RecipientPrefix, StringComparison.Ordinal);

    /// <summary>The <c>client_msg_id</c> for a message: lower-case hex SHA-256 of its idempotency key (64 characters).</summary>
    public static string ClientMessageId(string idempotencyKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)));

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        if (message.Content is not WeChatContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not WeChat content");
        var openId = message.Recipient.Trim();
        if (openId.Length == 0 || !Accepts(openId) || openId.Any(char.IsWhiteSpace))
            return new ProviderResult(ProviderOutcome.PermanentFailure, "not an official-account openid: " + message.Recipient, HardBounce: openId.Length == 0);
        if (string.IsNullOrWhiteSpace(content.TemplateId)) return new ProviderResult(ProviderOutcome.PermanentFailure, "the template has no WeChat template id");

        var body = Body(openId, content, message.IdempotencyKey);
        var path = options.Subscribe ? "cgi-bin/message/subscribe/bizsend" : "cgi-bin/message/template/send";
        for (var attempt = 0; ; attempt++)
        {
            var token = await tokens.GetAsync(cancellationToken);
            if (token.Failure is { } failure) return failure;
            var url = new Uri(options.Endpoint, $"{path}?access_token={Uri.EscapeDataString(token.Token!)}");
            var response = await http.PostJsonAsync(url, body, options.RequestTimeout, cancellationToken);
            if (response.TransportFailure is { } down) return down;
            if (response.ErrCode == 0)
            {
                var msgId = response.GetString("msgid");
                return new ProviderResult(ProviderOutcome.Accepted, msgId is null ? "ok" : "ok, msgid " + msgId, msgId);
            }
            if (WeChatErrors.IsTokenRejected(response.ErrCode) && attempt == 0)
            {
                tokens.Invalidate(token.Token!);
                continue;
            }
            return WeChatErrors.OfficialAccount(response.ErrCode, response.ErrMsg);
        }
    }

    private byte[] Body(string openId, WeChatContent content, string idempotencyKey)
    {
        var json = new WeChatJson().StartObject()
            .String("touser", openId)
            .String("template_id", content.TemplateId.Trim());
        json.OptionalString(options.Subscribe ? "page" : "url", content.Url);
        if (!string.IsNullOrWhiteSpace(content.MiniprogramAppId))
        {
            json.StartObject("miniprogram").String("appid", content.MiniprogramAppId).OptionalString("pagepath", content.MiniprogramPage).EndObject();
        }
        if (!options.Subscribe) json.String("client_msg_id", ClientMessageId(idempotencyKey));
        json.StartObject("data");
        foreach (var (key, value) in content.Data)
        {
            json.StartObject(key).String("value", value).EndObject();
        }
        return json.EndObject().EndObject().ToUtf8();
    }

    public ProviderCallbackResult HandleCallback(ProviderCallback callback) => _callbacks.Handle(callback);

    /// <summary>The token cache and HTTP client belong to the factory (shared by providers of the same account).</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// Configuration: <c>{"appId": "wx…", "appSecret": "…", "mode": "template", "endpoint": "https://api.weixin.qq.com",
/// "stableToken": false, "callbackToken": "…", "timeoutSeconds": 10}</c>. <c>mode</c> is <c>template</c> (default) or
/// <c>subscribe</c>; <c>stableToken</c> uses <c>POST /cgi-bin/stable_token</c> (does not invalidate tokens other servers of
/// the same account hold) instead of <c>GET /cgi-bin/token</c>; <c>callbackToken</c> is the Token of the account's server
/// configuration, to verify delivery events (plain-text mode). <c>appSecret</c> and <c>callbackToken</c> are write-only.
/// Providers of the same account (endpoint, appId, secret, token kind) share one access-token cache.
/// </summary>
public sealed class WeChatProviderFactory(TimeProvider time, HttpMessageHandler? handler = null) : IProviderFactory
{
    public const string DefaultEndpoint = "https://api.weixin.qq.com";

    private static readonly string[] Known = ["appId", "appSecret", "mode", "endpoint", "stableToken", "callbackToken", "timeoutSeconds"];

    private readonly WeChatHttp _http = new(WeChatHttp.CreateClient(handler), time);
    private readonly ConcurrentDictionary<string, AccessTokenCache> _tokens = new(StringComparer.Ordinal);

    public string Kind => WeChatProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["wechat"];

    public IReadOnlyList<string> SecretFields { get; } = ["appSecret", "callbackToken"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string, string)>();
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"appId\": …, \"appSecret\": …}"));
            return errors;
        }
        WeChatConfig.Unknown(config, Known, errors);
        WeChatConfig.RequiredString(config, "appId", "the official account's AppID", errors);
        WeChatConfig.RequiredString(config, "appSecret", "the official account's AppSecret", errors);
        if (config.TryGetProperty("mode", out var mode) && (mode.ValueKind != JsonValueKind.String || mode.GetString() is not ("template" or "subscribe")))
            errors.Add(("$.config.mode", "expected template or subscribe"));
        WeChatConfig.Endpoint(config, errors);
        WeChatConfig.Boolean(config, "stableToken", errors);
        if (config.TryGetProperty("callbackToken", out var token) &&
            (token.ValueKind != JsonValueKind.String || token.GetString() is not { Length: >= 3 and <= 64 }))
            errors.Add(("$.config.callbackToken", "expected the server configuration's Token (3-64 characters)"));
        WeChatConfig.Range(config, "timeoutSeconds", 1, 120, errors);
        return errors;
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports)
    {
        var appId = WeChatConfig.Str(config, "appId")!.Trim();
        var secret = WeChatConfig.Str(config, "appSecret")!;
        var stable = WeChatConfig.Bool(config, "stableToken");
        var options = new WeChatOfficialAccountOptions
        {
            Endpoint = WeChatConfig.Endpoint(config, DefaultEndpoint),
            AppId = appId,
            Subscribe = WeChatConfig.Str(config, "mode") == "subscribe",
            RequestTimeout = TimeSpan.FromSeconds(WeChatConfig.Int(config, "timeoutSeconds", 10)),
            CallbackToken = WeChatConfig.Str(config, "callbackToken"),
        };
        var key = WeChatConfig.CacheKey("mp", options.Endpoint.AbsoluteUri, appId, secret, stable ? "stable" : "token");
        var tokens = _tokens.GetOrAdd(key, _ => new AccessTokenCache(ct => FetchTokenAsync(options, secret, stable, ct), time));
        return new WeChatProvider(id, options, tokens, _http);
    }

    private async Task<AccessTokenFetch> FetchTokenAsync(WeChatOfficialAccountOptions options, string secret, bool stable, CancellationToken cancellationToken)
    {
        WeChatApiResponse response;
        if (stable)
        {
            var body = new WeChatJson().StartObject()
                .String("grant_type", "client_credential").String("appid", options.AppId).String("secret", secret)
                .EndObject().ToUtf8();
            response = await _http.PostJsonAsync(new Uri(options.Endpoint, "cgi-bin/stable_token"), body, options.RequestTimeout, cancellationToken);
        }
        else
        {
            var url = new Uri(options.Endpoint,
                $"cgi-bin/token?grant_type=client_credential&appid={Uri.EscapeDataString(options.AppId)}&secret={Uri.EscapeDataString(secret)}");
            response = await _http.GetAsync(url, options.RequestTimeout, cancellationToken);
        }
        return TokenFrom(response, wecom: false);
    }

    internal static AccessTokenFetch TokenFrom(WeChatApiResponse response, bool wecom)
    {
        if (response.TransportFailure is { } down) return AccessTokenFetch.Failed(down);
        if (response.ErrCode != 0) return AccessTokenFetch.Failed(WeChatErrors.TokenFailure(response.ErrCode, response.ErrMsg, wecom));
        var token = response.GetString("access_token");
        var expires = response.GetInt64("expires_in") ?? 7200;
        if (string.IsNullOrEmpty(token) || expires <= 0)
            return AccessTokenFetch.Failed(new ProviderResult(ProviderOutcome.TransientFailure, "the token endpoint answered without an access_token", ProviderDown: true));
        return new AccessTokenFetch(token, TimeSpan.FromSeconds(Math.Min(expires, (long)TimeSpan.FromDays(1).TotalSeconds)), null);
    }

    /// <summary>For diagnostics: the number of account token caches.</summary>
    public int TokenCaches => _tokens.Count;
}
