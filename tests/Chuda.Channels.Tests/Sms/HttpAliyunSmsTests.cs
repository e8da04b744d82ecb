using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Testing;
using static Chuda.Channels.Tests.Sms.HttpTestSupport;

namespace Chuda.Channels.Tests.Sms;

/// <summary>The Alibaba Cloud SMS preset against a fake <c>SendSms</c> endpoint that recomputes the RPC signature with the test's own
/// implementation and checks every parameter.</summary>
public sealed class HttpAliyunSmsTests : IAsyncLifetime
{
    private const string KeyId = "LTAI5tTestKeyId0001";
    private const string KeySecret = "testSecret/with+odd=chars~*";
    private const string CallbackToken = "cb-token-0123456789abcdef";
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 9, 30, 5, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Now);
    private readonly List<string> _nonces = [];
    private HttpFakeVendor _vendor = null!;

    public async Task InitializeAsync()
    {
        _vendor = await HttpFakeVendor.StartAsync();
        _vendor.Handle = FakeSendSms;
    }

    public async Task DisposeAsync() => await _vendor.DisposeAsync();

    /// <summary>RFC 3986 encoding, written differently from the provider's: .NET's EscapeDataString leaves exactly the unreserved
    /// characters, and its hex digits are upper case.</summary>
    private static string Encode(string value) => Uri.EscapeDataString(value);

    /// <summary>The test's own computation of Alibaba Cloud's RPC signature.</summary>
    private static string ExpectedSignature(string method, IReadOnlyDictionary<string, string> parameters)
    {
        var keys = parameters.Keys.Where(k => k != "Signature").ToList();
        keys.Sort(StringComparer.Ordinal);
        var canonical = string.Join("&", keys.Select(k => Encode(k) + "=" + Encode(parameters[k])));
        var toSign = method + "&" + Encode("/") + "&" + Encode(canonical);
#pragma warning disable CA5350 // The vendor's scheme.
        using var hmac = new HMACSHA1(Encoding.UTF8.GetBytes(KeySecret + "&"));
#pragma warning restore CA5350
        return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(toSign)));
    }

    private VendorAnswer FakeSendSms(VendorRequest request)
    {
        var parameters = request.Method == "GET" ? request.Query : request.Form;
        string P(string name) => parameters.TryGetValue(name, out var v) ? v : throw new InvalidOperationException($"missing {name}");
        if (P("AccessKeyId") != KeyId) return new VendorAnswer(404, """{"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found.", "RequestId": "R1"}""");
        if (P("Signature") != ExpectedSignature(request.Method, parameters))
            return new VendorAnswer(400, """{"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched with our calculation.", "RequestId": "R2"}""");
        if (P("Action") != "SendSms" || P("Version") != "2017-05-25" || P("Format") != "JSON" || P("SignatureMethod") != "HMAC-SHA1" || P("SignatureVersion") != "1.0")
            return new VendorAnswer(400, """{"Code": "InvalidParameter", "Message": "common parameters", "RequestId": "R3"}""");
        if (P("Timestamp") != "2026-11-22T09:30:05Z") return new VendorAnswer(400, """{"Code": "InvalidTimeStamp.Format", "RequestId": "R4"}""");
        lock (_nonces)
        {
            if (_nonces.Contains(P("SignatureNonce"))) return new VendorAnswer(400, """{"Code": "SignatureNonceUsed", "RequestId": "R5"}""");
            _nonces.Add(P("SignatureNonce"));
        }
        using var templateParam = JsonDocument.Parse(P("TemplateParam"));
        var content = templateParam.RootElement.GetProperty("content").GetString();
        if (P("SignName") != "阿里云短信测试" || content is null || P("OutId").Length == 0)
            return new VendorAnswer(400, """{"Code": "isv.INVALID_PARAMETERS", "RequestId": "R6"}""");
        var code = P("TemplateCode") switch
        {
            "SMS_154950909" => P("PhoneNumbers") switch
            {
                "13800000000" => "isv.MOBILE_NUMBER_ILLEGAL",
                "13900000001" => "isv.BUSINESS_LIMIT_CONTROL",
                "13900000500" => "HTTP500",
                _ => "OK",
            },
            _ => "isv.SMS_TEMPLATE_ILLEGAL",
        };
        if (code == "HTTP500") return new VendorAnswer(500, """{"Code": "isp.SYSTEM_ERROR", "Message": "System error", "RequestId": "R7"}""");
        return new VendorAnswer(200, code == "OK"
            ? JsonSerializer.Serialize(new { Code = "OK", Message = "OK", BizId = "9006197469364984^" + P("OutId"), RequestId = "F655A8D5-B967-440B-8683-DAD6FF8DE990" })
            : JsonSerializer.Serialize(new { Code = code, Message = "refused", RequestId = "R8" }));
    }

    private IChannelProvider Create(string method = "GET", string secret = KeySecret, string? endpoint = null)
    {
        var factory = new AliyunSmsProviderFactory(_time, Loopback());
        var config = Json(JsonSerializer.Serialize(new
        {
            endpoint = endpoint ?? _vendor.Endpoint,
            method,
            accessKeyId = KeyId,
            accessKeySecret = secret,
            signName = "阿里云短信测试",
            templateCode = "SMS_154950909",
            callbackToken = CallbackToken,
            undeliverableErrorCodes = new[] { "MK:0001" },
        }));
        Assert.Empty(factory.Validate(config));
        return factory.Create("aliyun", "sms", config, NullReportSink.Instance);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    public async Task SendSms_is_signed_as_their_rpc_api_requires_and_carries_the_text_as_a_template_parameter(string method)
    {
        await using var provider = Create(method);

        var mainland = await provider.SendAsync(SmsTo("+8613812345678", messageId: "m_cn"), Deadline());
        var hongKong = await provider.SendAsync(SmsTo("+85261234567", messageId: "m_hk"), Deadline());

        Assert.True(mainland.Outcome == ProviderOutcome.Accepted, mainland.Detail);
        Assert.Equal("9006197469364984^m_cn", mainland.ProviderMessageId);
        Assert.True(hongKong.Outcome == ProviderOutcome.Accepted, hongKong.Detail);
        var (first, second) = (_vendor.Requests[0], _vendor.Requests[1]);
        Assert.Equal(method, first.Method);
        Assert.Equal("/", first.Path);
        var p = method == "GET" ? first.Query : first.Form;
        Assert.Equal("13812345678", p["PhoneNumbers"]);
        Assert.Equal("85261234567", (method == "GET" ? second.Query : second.Form)["PhoneNumbers"]);
        Assert.Equal("SMS_154950909", p["TemplateCode"]);
        Assert.Equal("m_cn", p["OutId"]);
        using var templateParam = JsonDocument.Parse(p["TemplateParam"]);
        Assert.Equal(AwkwardText, templateParam.RootElement.GetProperty("content").GetString());
        if (method == "GET")
        {
            // Their encoding on the wire: a space is %20 (never '+'), '*' is %2A, '~' stays.
            Assert.DoesNotContain("+", first.RawQuery, StringComparison.Ordinal);
        }
        Assert.Equal(2, _nonces.Distinct().Count());
    }

    [Fact]
    public async Task Concurrent_sends_through_one_provider_are_each_signed_with_a_fresh_nonce_over_reused_connections()
    {
        await using var provider = Create();
        async Task<ProviderResult[]> Wave(int wave) =>
            await Task.WhenAll(Enumerable.Range(0, 16).Select(i => provider.SendAsync(SmsTo($"+86138{wave:D2}{i:D6}", messageId: $"m_{wave}_{i}"), Deadline())));

        var first = await Wave(1);
        var second = await Wave(2);

        Assert.All(first.Concat(second), r => Assert.True(r.Outcome == ProviderOutcome.Accepted, r.Detail));
        Assert.Equal(32, first.Concat(second).Select(r => r.ProviderMessageId).Distinct().Count());
        Assert.Equal(32, _nonces.Distinct().Count());
        // The second wave reuses the first wave's pooled connections (at most 16 were ever needed at once).
        Assert.InRange(_vendor.Connections, 1, 16);
    }

    [Fact]
    public async Task A_wrong_secret_fails_the_fake_signature_check_and_takes_the_provider_down()
    {
        await using var provider = Create(secret: "not-the-secret");

        var result = await provider.SendAsync(SmsTo("+8613812345678"), Deadline());

        Assert.Equal(ProviderOutcome.TransientFailure, result.Outcome);
        Assert.True(result.ProviderDown);
        Assert.Contains("SignatureDoesNotMatch", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Their_codes_map_to_outcomes()
    {
        await using var provider = Create();

        var illegal = await provider.SendAsync(SmsTo("+8613800000000"), Deadline());
        Assert.Equal(ProviderOutcome.PermanentFailure, illegal.Outcome);
        Assert.True(illegal.HardBounce);
        Assert.False(illegal.ProviderDown);

        var limited = await provider.SendAsync(SmsTo("+8613900000001"), Deadline());
        Assert.Equal(ProviderOutcome.TransientFailure, limited.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(60), limited.RetryAfter);
        Assert.False(limited.ProviderDown);

        var serverError = await provider.SendAsync(SmsTo("+8613900000500"), Deadline());
        Assert.Equal(ProviderOutcome.TransientFailure, serverError.Outcome);
        Assert.True(serverError.ProviderDown);

        // A template the message names itself fails that message only; the configured template failing fails the provider over.
        var ownTemplate = await provider.SendAsync(SmsTo("+8613812345678", headers: new Dictionary<string, string> { ["TemplateCode"] = "SMS_0000" }), Deadline());
        Assert.Equal(ProviderOutcome.PermanentFailure, ownTemplate.Outcome);
        Assert.Contains("isv.SMS_TEMPLATE_ILLEGAL", ownTemplate.Detail, StringComparison.Ordinal);
        Assert.False(ownTemplate.ProviderDown);
        Assert.Equal("SMS_0000", _vendor.Requests[^1].Query["TemplateCode"]);
    }

    [Fact]
    public async Task A_refused_connection_takes_the_provider_down_and_an_unknown_key_too()
    {
        await using (var provider = Create(endpoint: $"http://127.0.0.1:{ClosedPort()}"))
        {
            var refused = await provider.SendAsync(SmsTo("+8613812345678"), Deadline());
            Assert.Equal(ProviderOutcome.TransientFailure, refused.Outcome);
            Assert.True(refused.ProviderDown);
        }
        var factory = new AliyunSmsProviderFactory(_time, Loopback());
        var config = Json(JsonSerializer.Serialize(new { endpoint = _vendor.Endpoint, accessKeyId = "LTAIunknown", accessKeySecret = KeySecret, signName = "阿里云短信测试", templateCode = "SMS_154950909" }));
        await using var unknown = factory.Create("aliyun", "sms", config, NullReportSink.Instance);
        var result = await unknown.SendAsync(SmsTo("+8613812345678"), Deadline());
        Assert.True(result.ProviderDown);
        Assert.Contains("InvalidAccessKeyId.NotFound", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Percent_encoding_follows_their_rules()
    {
        Assert.Equal("a%20b%2Ac~d%2B%2F%3D%E4%BD%A0", Channels.Sms.Http.AliyunRpc.PercentEncode("a b*c~d+/=你"));
    }

    private static ProviderCallback Push(string json, string? token = CallbackToken) =>
        Callback("POST", "https://chuda.example/callbacks/ws/aliyun" + (token is null ? "" : "?token=" + Uri.EscapeDataString(token)), Encoding.UTF8.GetBytes(json),
            new Dictionary<string, string> { ["Content-Type"] = "application/json" });

    [Fact]
    public async Task Receipts_and_replies_pushed_with_the_token_become_reports_and_others_are_rejected()
    {
        await using var provider = Create();
        var callbacks = (IProviderCallbacks)provider;

        var receipts = callbacks.HandleCallback(Push("""
            [{"phone_number": "13812345678", "send_time": "2026-11-22 17:30:05", "report_time": "2026-11-22 17:30:08", "success": true,
              "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "9006197469364984^m_cn", "out_id": "m_cn"},
             {"phone_number": "13812345679", "success": false, "err_code": "MK:0001", "err_msg": "空号", "biz_id": "B2", "out_id": "m_2"},
             {"phone_number": "13812345670", "success": false, "err_code": "UNDELIV", "biz_id": "B3", "out_id": "m_3"}]
            """));
        Assert.True(receipts.Authentic);
        Assert.Equal(200, receipts.StatusCode);
        Assert.Equal(0, JsonDocument.Parse(receipts.ResponseBody).RootElement.GetProperty("code").GetInt32());
        Assert.Equal(
            [
                (ProviderReportKind.Delivered, "9006197469364984^m_cn"),
                (ProviderReportKind.Undeliverable, "B2"),
                (ProviderReportKind.Failed, "B3"),
            ],
            receipts.Reports.Select(r => (r.Kind, r.ProviderMessageId)));

        var replies = callbacks.HandleCallback(Push("""
            [{"phone_number": "13812345678", "send_time": "2026-11-22 17:31:00", "content": "TD", "sign_name": "阿里云短信测试", "dest_code": "1234", "sequence_id": 1}]
            """));
        Assert.Equal(new ProviderReport(ProviderReportKind.Inbound, null, "inbound SMS", "+8613812345678", "TD"), Assert.Single(replies.Reports));

        var wrong = callbacks.HandleCallback(Push("""[{"biz_id": "B", "success": true}]""", "cb-token-0123456789abcdeX"));
        Assert.False(wrong.Authentic);
        Assert.Equal(401, wrong.StatusCode);
        Assert.Empty(wrong.Reports);
        Assert.False(callbacks.HandleCallback(Push("""[{"biz_id": "B", "success": true}]""", null)).Authentic);
    }

    [Fact]
    public void Validation_names_missing_fields()
    {
        var factory = new AliyunSmsProviderFactory(TimeProvider.System);
        var errors = factory.Validate(Json("""{"accessKeyId": "x", "method": "PUT", "callbackToken": "short", "rateLimitRetryAfterSeconds": 0}"""));
        Assert.Equal(
            ["$.config.accessKeySecret", "$.config.callbackToken", "$.config.method", "$.config.rateLimitRetryAfterSeconds", "$.config.signName", "$.config.templateCode"],
            errors.Select(e => e.Path).Order(StringComparer.Ordinal));
        Assert.Equal(["accessKeySecret", "callbackToken"], factory.SecretFields);
    }
}
