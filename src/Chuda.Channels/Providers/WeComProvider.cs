using System.Collections.Concurrent;
using System.Text.Json;
using Chuda.Channels.WeChat;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>Settings of one WeCom (企业微信) application provider.</summary>
public sealed record WeComOptions
{
    public required Uri Endpoint { get; init; }
    public required string CorpId { get; init; }
    public required long AgentId { get; init; }
    /// <summary><c>textcard</c> (default), <c>text</c> or <c>markdown</c>.</summary>
    public string MessageType { get; init; } = "textcard";
    /// <summary>WeCom's duplicate check window (<c>duplicate_check_interval</c>); zero turns the check off.</summary>
    public TimeSpan DuplicateCheckInterval { get; init; } = TimeSpan.FromMinutes(30);
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// WeCom application messages on the <c>wechat</c> channel, to recipients <c>wecom:&lt;userid&gt;</c>: POST
/// <c>/cgi-bin/message/send</c> with <c>{"touser": userid, "agentid", "msgtype", …, "enable_duplicate_check": 1,
/// "duplicate_check_interval": 1800}</c>. The content is built from the rendered WeChat template by
/// <see cref="WeComMessageBuilder"/>. WeCom's duplicate check is by content — the same request JSON within the interval
/// is delivered once — so a retry after a lost answer is not shown twice, but neither is a second, identical message to the
/// same user within the window (set <c>duplicateCheckIntervalSeconds</c> to 0 to turn the check off). <c>errcode</c> 0 is
/// Accepted with the <c>msgid</c>, unless <c>invaliduser</c> names the recipient (not in the application's visible range or
/// no such user): a hard bounce. Token handling as <see cref="WeChatProvider"/> (<c>/cgi-bin/gettoken</c>).
/// </summary>
public sealed class WeComProvider(string id, WeComOptions options, AccessTokenCache tokens, WeChatHttp http) : IChannelProvider
{
    public const string KindName = "wecom";
    public const string RecipientPrefix = "wecom:";

    public string Id { get; } = id;

    public string Channel => "wechat";

    public AccessTokenCache Tokens => tokens;

    public bool Accepts(string recipient) => recipient.StartsWith(RecipientPrefix, StringComparison.Ordinal);

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        if (message.Content is not WeChatContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not WeChat content");
        if (!Accepts(message.Recipient)) return new ProviderResult(ProviderOutcome.PermanentFailure, "not a WeCom recipient (wecom:<userid>): " + message.Recipient);
        var userId = message.Recipient[RecipientPrefix.Length..].Trim();
        // "|" separates recipients in touser: one message goes to one person.
        if (userId.Length == 0 || userId.Contains('|', StringComparison.Ordinal) || userId.Equals("@all", StringComparison.OrdinalIgnoreCase))
            return new ProviderResult(ProviderOutcome.PermanentFailure, "not a WeCom userid: " + message.Recipient, HardBounce: true);

        var json = new WeChatJson().StartObject().String("touser", userId).Number("agentid", options.AgentId);
        if (WeComMessageBuilder.Write(json, options.MessageType, content) is { } problem) return new ProviderResult(ProviderOutcome.PermanentFailure, problem);
        if (options.DuplicateCheckInterval > TimeSpan.Zero)
        {
            json.Number("enable_duplicate_check", 1).Number("duplicate_check_interval", (long)options.DuplicateCheckInterval.TotalSeconds);
        }
        var body = json.EndObject().ToUtf8();

        for (var attempt = 0; ; attempt++)
        {
            var token = await tokens.GetAsync(cancellationToken);
            if (token.Failure is { } failure) return failure;
            var url = new Uri(options.Endpoint, $"cgi-bin/message/send?access_token={Uri.EscapeDataString(token.Token!)}");
            var response = await http.PostJsonAsync(url, body, options.RequestTimeout, cancellationToken);
            if (response.TransportFailure is { } down) return down;
            if (response.ErrCode == 0)
            {
                var msgId = response.GetString("msgid");
                if (response.GetString("invaliduser") is { Length: > 0 } invalid)
                    return new ProviderResult(ProviderOutcome.PermanentFailure, "WeCom reports an invalid user: " + invalid, msgId, HardBounce: true);
                if (response.GetString("unlicenseduser") is { Length: > 0 } unlicensed)
                    return new ProviderResult(ProviderOutcome.PermanentFailure, "the WeCom user has no interface licence: " + unlicensed, msgId);
                return new ProviderResult(ProviderOutcome.Accepted, "ok", msgId);
            }
            if (WeChatErrors.IsTokenRejected(response.ErrCode) && attempt == 0)
            {
                tokens.Invalidate(token.Token!);
                continue;
            }
            return WeChatErrors.WeCom(response.ErrCode, response.ErrMsg);
        }
    }

    /// <summary>The token cache and HTTP client belong to the factory.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// Configuration: <c>{"corpId": "ww…", "corpSecret": "…", "agentId": 1000002, "messageType": "textcard",
/// "endpoint": "https://qyapi.weixin.qq.com", "duplicateCheckIntervalSeconds": 1800, "timeoutSeconds": 10}</c>.
/// <c>messageType</c> is <c>textcard</c> (needs the template's URL), <c>text</c> or <c>markdown</c>;
/// <c>duplicateCheckIntervalSeconds</c> is 0 (off) to 14400 (WeCom's maximum, 4 hours). <c>corpSecret</c> (the application's
/// Secret) is write-only. Providers of the same application (endpoint, corpId, secret) share one access-token cache.
/// </summary>
public sealed class WeComProviderFactory(TimeProvider time, HttpMessageHandler? handler = null) : IProviderFactory
{
    public const string DefaultEndpoint = "https://qyapi.weixin.qq.com";

    private static readonly string[] Known = ["corpId", "corpSecret", "agentId", "messageType", "endpoint", "duplicateCheckIntervalSeconds", "timeoutSeconds"];

    private readonly WeChatHttp _http = new(WeChatHttp.CreateClient(handler), time);
    private readonly ConcurrentDictionary<string, AccessTokenCache> _tokens = new(StringComparer.Ordinal);

    public string Kind => WeComProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["wechat"];

    public IReadOnlyList<string> SecretFields { get; } = ["corpSecret"];

    /// <summary>For diagnostics: the number of application token caches.</summary>
    public int TokenCaches => _tokens.Count;

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string, string)>();
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"corpId\": …, \"corpSecret\": …, \"agentId\": …}"));
            return errors;
        }
        WeChatConfig.Unknown(config, Known, errors);
        WeChatConfig.RequiredString(config, "corpId", "the corp ID (企业ID)", errors);
        WeChatConfig.RequiredString(config, "corpSecret", "the application's Secret", errors);
        if (AgentId(config) is null) errors.Add(("$.config.agentId", "required: the application's AgentId (a positive integer)"));
        if (config.TryGetProperty("messageType", out var type) &&
            (type.ValueKind != JsonValueKind.String || type.GetString() is not ("textcard" or "text" or "markdown")))
            errors.Add(("$.config.messageType", "expected textcard, text or markdown"));
        WeChatConfig.Endpoint(config, errors);
        WeChatConfig.Range(config, "duplicateCheckIntervalSeconds", 0, 14_400, errors);
        WeChatConfig.Range(config, "timeoutSeconds", 1, 120, errors);
        return errors;
    }

    private static long? AgentId(JsonElement config)
    {
        if (!config.TryGetProperty("agentId", out var v)) return null;
        long n;
        var ok = v.ValueKind switch
        {
            JsonValueKind.Number => v.TryGetInt64(out n),
            JsonValueKind.String => long.TryParse(v.GetString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n),
            _ => (n = 0) != 0,
        };
        return ok && n > 0 ? n : null;
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports)
    {
        var corpId = WeChatConfig.Str(config, "corpId")!.Trim();
        var secret = WeChatConfig.Str(config, "corpSecret")!;
        var options = new WeComOptions
        {
            Endpoint = WeChatConfig.Endpoint(config, DefaultEndpoint),
            CorpId = corpId,
            AgentId = AgentId(config) ?? throw new ArgumentException("agentId is required", nameof(config)),
            MessageType = WeChatConfig.Str(config, "messageType") ?? "textcard",
            DuplicateCheckInterval = TimeSpan.FromSeconds(WeChatConfig.Int(config, "duplicateCheckIntervalSeconds", 1800)),
            RequestTimeout = TimeSpan.FromSeconds(WeChatConfig.Int(config, "timeoutSeconds", 10)),
        };
        var key = WeChatConfig.CacheKey("wecom", options.Endpoint.AbsoluteUri, corpId, secret);
        var tokens = _tokens.GetOrAdd(key, _ => new AccessTokenCache(ct => FetchTokenAsync(options, secret, ct), time));
        return new WeComProvider(id, options, tokens, _http);
    }

    private async Task<AccessTokenFetch> FetchTokenAsync(WeComOptions options, string secret, CancellationToken cancellationToken)
    {
        var url = new Uri(options.Endpoint, $"cgi-bin/gettoken?corpid={Uri.EscapeDataString(options.CorpId)}&corpsecret={Uri.EscapeDataString(secret)}");
        var response = await _http.GetAsync(url, options.RequestTimeout, cancellationToken);
        return WeChatProviderFactory.TokenFrom(response, wecom: true);
    }
}
