using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Sms.Http;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>
/// SMS through Alibaba Cloud Short Message Service (阿里云短信), its <c>SendSms</c> RPC API (version 2017-05-25, signed with
/// <see cref="AliyunRpc"/>): <c>PhoneNumbers</c> (mainland numbers without +86, others with the country code), <c>SignName</c> (the
/// approved 签名), <c>TemplateCode</c> and <c>OutId</c> = Chuda's message id. Their SMS text cannot be free-form: it is an approved
/// template, so the rendered SMS text goes in <c>TemplateParam</c> as the template variable named by <c>textParam</c> (default
/// <c>content</c>): the template must be approved as, for example, <c>${content}</c>, and the vendor's limits on a variable's length
/// and content apply. A message may name another template in its <c>TemplateCode</c> header. The <c>BizId</c> is the provider message id.
/// <list type="bullet">
/// <item>Codes: OK → Accepted; <c>isv.MOBILE_NUMBER_ILLEGAL</c> → permanent, hard bounce; <c>isv.BUSINESS_LIMIT_CONTROL</c> (per-number
/// rate control) and <c>isv.DAY_LIMIT_CONTROL</c> → transient with <c>rateLimitRetryAfterSeconds</c> (default 60);
/// <c>Throttling.*</c>, <c>isp.SYSTEM_ERROR</c> → transient; <c>isv.SMS_SIGNATURE_ILLEGAL</c>, <c>isv.SMS_TEMPLATE_ILLEGAL</c>,
/// <c>isv.TEMPLATE_MISSING_PARAMETERS</c>, <c>isv.INVALID_PARAMETERS</c>, <c>isv.PARAM_LENGTH_LIMIT</c> → permanent — and, when the
/// signature or template came from this provider's configuration, also provider down (decision: every message through this
/// provider would fail the same way, so the engine should fail over to the next SMS provider rather than keep failing here; a template
/// named by the message itself only fails that message); <c>InvalidAccessKeyId.*</c>, <c>SignatureDoesNotMatch</c>,
/// <c>InvalidTimeStamp.*</c>, <c>isp.RAM_PERMISSION_DENY</c>, <c>isv.AMOUNT_NOT_ENOUGH</c>, <c>isv.OUT_OF_SERVICE</c> → transient, provider
/// down; other codes → permanent. Without a code: 429 / 5xx / connection failures as in <see cref="HttpGatewayResponse.CommonOutcome"/>.</item>
/// <item>Callbacks: Alibaba Cloud does not sign its HTTP pushes, so the callback URL configured in their console carries a shared token,
/// <c>?token=…</c>, compared in constant time with <c>callbackToken</c>. A JSON array of <c>SmsReport</c> items
/// (<c>phone_number, success, biz_id, out_id, err_code, err_msg, report_time</c>) gives Delivered (success) or Failed reports for the
/// <c>biz_id</c> (Undeliverable for an <c>err_code</c> listed in <c>undeliverableErrorCodes</c>); <c>SmsUp</c> items
/// (<c>phone_number, content, sign_name, send_time</c>) give Inbound reports, the number in E.164 (+86 added to a mainland number).
/// The answer is <c>{"code": 0, "msg": "成功"}</c>.</item>
/// </list>
/// </summary>
public sealed class AliyunSmsProvider(string id, AliyunSmsConfig config, HttpGatewayClient client, TimeProvider time) : IChannelProvider, IProviderCallbacks
{
    public const string KindName = "aliyun_sms";

    /// <summary>The <see cref="ProviderMessage.Headers"/> key that names another approved template for one message.</summary>
    public const string TemplateHeader = "TemplateCode";

    private static readonly string[] ConfigurationCodes =
        ["isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.INVALID_PARAMETERS", "isv.PARAM_LENGTH_LIMIT",
         "isv.SMS_SIGN_ILLEGAL", "isv.SIGN_NAME_ILLEGAL", "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.INVALID_JSON_PARAM"];

    private static readonly string[] AccountCodes =
        ["SignatureDoesNotMatch", "isp.RAM_PERMISSION_DENY", "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE", "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL",
         "Forbidden.RAM", "MissingAccessKeyId"];

    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Uri _endpoint = new(config.Endpoint.TrimEnd('/') + "/");

    public string Id { get; } = id;

    public string Channel => "sms";

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Content is not SmsContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not SMS content");
        if (!PhoneNumbers.IsE164(message.Recipient))
            return new ProviderResult(ProviderOutcome.PermanentFailure, $"'{message.Recipient}' is not an E.164 number", HardBounce: true);
        var perMessageTemplate = message.Headers.TryGetValue(TemplateHeader, out var t) && t.Length > 0 ? t : null;
        var templateParam = JsonSerializer.Serialize(new Dictionary<string, string> { [config.TextParam] = content.Text }, RelaxedJson);
        var query = AliyunRpc.SignedQuery(config.Method, config.AccessKeyId, config.AccessKeySecret, "2017-05-25", time.GetUtcNow(),
        [
            new("Action", "SendSms"),
            new("RegionId", config.RegionId),
            new("PhoneNumbers", AliyunRpc.PhoneNumber(message.Recipient)),
            new("SignName", config.SignName),
            new("TemplateCode", perMessageTemplate ?? config.TemplateCode),
            new("TemplateParam", templateParam),
            new("OutId", message.MessageId),
        ]);
        var request = config.Method == "GET"
            ? new HttpGatewayRequest(HttpMethod.Get, new Uri(_endpoint, "?" + query))
            : new HttpGatewayRequest(HttpMethod.Post, _endpoint) { Body = Encoding.UTF8.GetBytes(query), ContentType = "application/x-www-form-urlencoded; charset=utf-8" };
        var response = await client.SendAsync(request, cancellationToken);
        return Classify(response, perMessageTemplate is null);
    }

    private ProviderResult Classify(HttpGatewayResponse response, bool templateFromConfig)
    {
        string? code = null, text = null, bizId = null;
        if (response.Failure == HttpGatewayFailure.None && response.Body.StartsWith('{'))
        {
            try
            {
                using var document = JsonDocument.Parse(response.Body);
                var root = document.RootElement;
                code = Str(root, "Code");
                text = Str(root, "Message");
                bizId = Str(root, "BizId");
            }
            catch (JsonException)
            {
                // Not their JSON: judged by the status below.
            }
        }
        if (code is null) return response.CommonOutcome() ?? new ProviderResult(ProviderOutcome.PermanentFailure, response.Describe());
        var detail = $"HTTP {response.Status}, {code}: {text}";
        if (code == "OK")
        {
            return bizId is not null
                ? new ProviderResult(ProviderOutcome.Accepted, detail, bizId)
                : new ProviderResult(ProviderOutcome.TransientFailure, "OK without a BizId: " + response.Describe(), ProviderDown: true);
        }
        return code switch
        {
            "isv.MOBILE_NUMBER_ILLEGAL" => new ProviderResult(ProviderOutcome.PermanentFailure, detail, HardBounce: true),
            "isv.BUSINESS_LIMIT_CONTROL" or "isv.DAY_LIMIT_CONTROL" => new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: config.RateLimitRetryAfter),
            _ when code.StartsWith("Throttling", StringComparison.Ordinal) => new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: response.RetryAfter ?? config.RateLimitRetryAfter),
            "isp.SYSTEM_ERROR" or "ServiceUnavailable" or "InternalError" => new ProviderResult(ProviderOutcome.TransientFailure, detail, ProviderDown: true),
            _ when ConfigurationCodes.Contains(code) => new ProviderResult(ProviderOutcome.PermanentFailure, detail, ProviderDown: templateFromConfig),
            _ when AccountCodes.Contains(code) || code.StartsWith("InvalidAccessKeyId", StringComparison.Ordinal) || code.StartsWith("InvalidTimeStamp", StringComparison.Ordinal)
                => new ProviderResult(ProviderOutcome.TransientFailure, detail, ProviderDown: true),
            _ => response.Status is 429 or >= 500 && response.CommonOutcome() is { } common ? common with { Detail = detail } : new ProviderResult(ProviderOutcome.PermanentFailure, detail),
        };
    }

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) ? SimpleJsonPath.AsText(v) : null;

    public ProviderCallbackResult HandleCallback(ProviderCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (config.CallbackToken is not { } expected) return ProviderCallbackResult.Rejected("no callbackToken is configured");
        if (!callback.Query.TryGetValue("token", out var token)
            || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), SHA256.HashData(Encoding.UTF8.GetBytes(expected))))
            return ProviderCallbackResult.Rejected("the callback token does not match");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(callback.Body);
        }
        catch (JsonException)
        {
            return new ProviderCallbackResult(true, [], 400, "{\"code\":1,\"msg\":\"unreadable body\"}", "application/json");
        }
        using (document)
        {
            var root = document.RootElement;
            var items = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
            var reports = new List<ProviderReport>();
            foreach (var item in items)
            {
                if (Str(item, "biz_id") is { } bizId && item.TryGetProperty("success", out var success) && success.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    var errCode = Str(item, "err_code");
                    var detail = $"{errCode} {Str(item, "err_msg")}".Trim();
                    var kind = success.ValueKind == JsonValueKind.True ? ProviderReportKind.Delivered
                        : errCode is not null && config.UndeliverableErrorCodes.Contains(errCode) ? ProviderReportKind.Undeliverable
                        : ProviderReportKind.Failed;
                    reports.Add(new ProviderReport(kind, bizId, detail));
                }
                else if (Str(item, "phone_number") is { } phone && Str(item, "content") is { } content)
                {
                    reports.Add(new ProviderReport(ProviderReportKind.Inbound, null, "inbound SMS", AliyunRpc.ToE164(phone), content));
                }
            }
            return new ProviderCallbackResult(true, reports, 200, "{\"code\":0,\"msg\":\"成功\"}", "application/json");
        }
    }

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A valid <c>aliyun_sms</c> configuration.</summary>
public sealed record AliyunSmsConfig(
    string Endpoint, string Method, string RegionId, string AccessKeyId, string AccessKeySecret, string SignName, string TemplateCode, string TextParam,
    string? CallbackToken, TimeSpan RateLimitRetryAfter, IReadOnlySet<string> UndeliverableErrorCodes)
{
    public const string DefaultEndpoint = "https://dysmsapi.aliyuncs.com";

    private static readonly string[] Known =
        ["endpoint", "method", "regionId", "accessKeyId", "accessKeySecret", "signName", "templateCode", "textParam", "callbackToken",
         "rateLimitRetryAfterSeconds", "undeliverableErrorCodes"];

    public static AliyunSmsConfig? Parse(JsonElement config, List<(string Path, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"accessKeyId\": …, \"accessKeySecret\": …, \"signName\": …, \"templateCode\": …}"));
            return null;
        }
        var before = errors.Count;
        foreach (var p in config.EnumerateObject())
        {
            if (!Known.Contains(p.Name)) errors.Add(($"$.config.{p.Name}", $"unknown property; expected {string.Join(", ", Known)}"));
        }
        string? Str(string name)
        {
            if (!config.TryGetProperty(name, out var v)) return null;
            if (v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0) return v.GetString();
            errors.Add(($"$.config.{name}", "expected a non-empty string"));
            return null;
        }
        var endpoint = Str("endpoint") ?? DefaultEndpoint;
        if (!HttpGatewayClient.IsHttpUrl(endpoint)) errors.Add(("$.config.endpoint", "expected an absolute http(s) URL"));
        var method = Str("method") ?? "GET";
        if (method is not ("GET" or "POST")) errors.Add(("$.config.method", "expected GET or POST"));
        var keyId = Str("accessKeyId");
        if (keyId is null) errors.Add(("$.config.accessKeyId", "required"));
        var secret = Str("accessKeySecret");
        if (secret is null) errors.Add(("$.config.accessKeySecret", "required"));
        var signName = Str("signName");
        if (signName is null) errors.Add(("$.config.signName", "required: the approved signature (签名)"));
        var template = Str("templateCode");
        if (template is null) errors.Add(("$.config.templateCode", "required: the approved template's code (SMS_…)"));
        var callbackToken = Str("callbackToken");
        if (callbackToken is not null && callbackToken.Length < 16) errors.Add(("$.config.callbackToken", "expected at least 16 characters"));
        var retryAfter = TimeSpan.FromSeconds(60);
        if (config.TryGetProperty("rateLimitRetryAfterSeconds", out var r))
        {
            if (!r.TryGetInt32(out var seconds) || seconds is < 1 or > 86_400) errors.Add(("$.config.rateLimitRetryAfterSeconds", "expected 1-86400"));
            else retryAfter = TimeSpan.FromSeconds(seconds);
        }
        var undeliverable = new HashSet<string>(StringComparer.Ordinal);
        if (config.TryGetProperty("undeliverableErrorCodes", out var u))
        {
            if (u.ValueKind != JsonValueKind.Array || u.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String)) errors.Add(("$.config.undeliverableErrorCodes", "expected an array of strings"));
            else undeliverable.UnionWith(u.EnumerateArray().Select(e => e.GetString()!));
        }
        var textParam = Str("textParam") ?? "content";
        var regionId = Str("regionId") ?? "cn-hangzhou";
        return errors.Count > before
            ? null
            : new AliyunSmsConfig(endpoint, method, regionId, keyId!, secret!, signName!, template!, textParam, callbackToken, retryAfter, undeliverable);
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Endpoint = {Endpoint}, AccessKeyId = {AccessKeyId}, AccessKeySecret = ***, SignName = {SignName}, TemplateCode = {TemplateCode}");
        return true;
    }
}

/// <summary>
/// Alibaba Cloud SMS. Configuration: <c>{"accessKeyId": "LTAI…", "accessKeySecret": "…", "signName": "阿里云短信测试",
/// "templateCode": "SMS_154950909", "textParam": "content", "callbackToken": "…", "endpoint": "https://dysmsapi.aliyuncs.com",
/// "method": "GET", "regionId": "cn-hangzhou", "rateLimitRetryAfterSeconds": 60, "undeliverableErrorCodes": ["MK:0001"]}</c>.
/// <c>accessKeySecret</c> and <c>callbackToken</c> are write-only. Configure the receipt (SmsReport) and inbound (SmsUp) HTTP push URLs in
/// their console as Chuda's callback URL with <c>?token=</c> the callback token.
/// </summary>
public sealed class AliyunSmsProviderFactory(TimeProvider time, HttpGatewayOptions? options = null) : IProviderFactory
{
    public string Kind => AliyunSmsProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["sms"];

    public IReadOnlyList<string> SecretFields { get; } = ["accessKeySecret", "callbackToken"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string Path, string Message)>();
        AliyunSmsConfig.Parse(config, errors);
        return errors;
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports)
    {
        var errors = new List<(string Path, string Message)>();
        var parsed = AliyunSmsConfig.Parse(config, errors)
            ?? throw new ArgumentException("Invalid aliyun_sms configuration: " + string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}")), nameof(config));
        return new AliyunSmsProvider(id, parsed, new HttpGatewayClient(options ?? new HttpGatewayOptions(), time), time);
    }
}
