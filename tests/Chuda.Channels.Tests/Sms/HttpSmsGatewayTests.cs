using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Channels.Sms.Http;
using Chuda.Testing;
using static Chuda.Channels.Tests.Sms.HttpTestSupport;

namespace Chuda.Channels.Tests.Sms;

/// <summary>The generic HTTP SMS gateway against a fake gateway on loopback that checks what it receives.</summary>
public sealed class HttpSmsGatewayTests : IAsyncLifetime
{
    private const string SigningSecret = "gateway-signing-secret-0123456789";
    private const string CallbackSecret = "callback-signing-secret-9876543210";
    private const string Token = "t0k&en+/=";

    private HttpFakeVendor _vendor = null!;

    public async Task InitializeAsync() => _vendor = await HttpFakeVendor.StartAsync();

    public async Task DisposeAsync() => await _vendor.DisposeAsync();

    private string JsonConfig(string? endpoint = null) => $$$"""
        {
          "method": "POST",
          "url": "{{{endpoint ?? _vendor.Endpoint}}}/v1/send?dest={{to}}&digits={{to_digits}}",
          "headers": {"Authorization": "Bearer {{secret.token}}", "Idempotency-Key": "{{idempotency_key}}"},
          "body": "{\"to\": \"{{to}}\", \"text\": \"{{text}}\", \"ref\": \"{{message_id}}\"}",
          "bodyType": "json",
          "secrets": {"token": "{{{Token}}}"},
          "signature": {"scheme": "hmac-sha256", "header": "X-Signature", "secret": "{{{SigningSecret}}}", "encoding": "hex",
                        "over": "timestamp.body", "timestampHeader": "X-Timestamp"},
          "response": {"successStatus": [200, 202], "messageIdPath": "$.data.items[0].id", "errorCodePath": "$.code", "successCodes": ["0"],
                       "permanentCodes": ["BLOCKED"], "invalidNumberCodes": ["INVALID_NUMBER"], "transientCodes": ["BUSY"]},
          "callback": {"messageIdPath": "$.id", "statusPath": "$.status", "deliveredValues": ["DELIVRD"], "failedValues": ["UNDELIV", "EXPIRED"],
                       "undeliverableValues": ["NO_SUCH_NUMBER"], "inbound": {"fromPath": "$.from", "textPath": "$.text"},
                       "signature": {"scheme": "hmac-sha256", "header": "X-Callback-Signature", "secret": "{{{CallbackSecret}}}", "encoding": "base64"}}
        }
        """;

    private static IChannelProvider Create(string config, TimeProvider? time = null, TimeSpan? timeout = null)
    {
        var factory = new HttpSmsProviderFactory(time ?? TimeProvider.System, Loopback(timeout));
        var element = Json(config);
        Assert.Empty(factory.Validate(element));
        return factory.Create("gw", "sms", element, NullReportSink.Instance);
    }

    /// <summary>The test's own HMAC: hex of HMAC-SHA256(secret, timestamp + "." + body).</summary>
    private static string ExpectedSignature(string timestamp, byte[] body)
    {
        var signed = Encoding.UTF8.GetBytes(timestamp + ".").Concat(body).ToArray();
        return Convert.ToHexString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(SigningSecret), signed)).ToLowerInvariant();
    }

    /// <summary>The fake gateway: checks the bearer token and the signature, then answers with <paramref name="answer"/>.</summary>
    private Func<VendorRequest, VendorAnswer> Checking(Func<VendorRequest, VendorAnswer> answer) => request =>
    {
        if (request.Headers.GetValueOrDefault("Authorization") != "Bearer " + Token) return new VendorAnswer(401, "{\"code\":\"AUTH\"}");
        var timestamp = request.Headers.GetValueOrDefault("X-Timestamp") ?? "";
        if (request.Headers.GetValueOrDefault("X-Signature") != ExpectedSignature(timestamp, request.Body)) return new VendorAnswer(403, "{\"code\":\"BAD_SIGNATURE\"}");
        return answer(request);
    };

    [Fact]
    public async Task A_json_request_is_escaped_per_position_signed_and_its_answer_mapped_to_the_gateway_message_id()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 9, 30, 0, TimeSpan.Zero));
        _vendor.Handle = Checking(_ => new VendorAnswer(202, "{\"code\": 0, \"data\": {\"items\": [{\"id\": \"gw-777\"}]}}"));
        await using var provider = Create(JsonConfig(), time);

        var result = await provider.SendAsync(SmsTo("+8613800138000"), Deadline());

        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        Assert.Equal("gw-777", result.ProviderMessageId);
        var request = Assert.Single(_vendor.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1/send", request.Path);
        // URL: '+' percent-encoded (a raw '+' would decode as a space).
        Assert.Equal("+8613800138000", request.Query["dest"]);
        Assert.Equal("8613800138000", request.Query["digits"]);
        Assert.Contains("dest=%2B8613800138000", request.RawQuery, StringComparison.Ordinal);
        Assert.Equal("idem-m_01", request.Headers["Idempotency-Key"]);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), request.Headers["X-Timestamp"]);
        // JSON body: parses, and the text comes back exactly (quotes, backslash, newline, &, +, Chinese, emoji).
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal(AwkwardText, body.RootElement.GetProperty("text").GetString());
        Assert.Equal("+8613800138000", body.RootElement.GetProperty("to").GetString());
        Assert.Equal("m_01", body.RootElement.GetProperty("ref").GetString());
        Assert.Contains("你好", request.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_request_is_form_encoded_and_a_text_body_is_sent_as_is()
    {
        _vendor.Handle = _ => new VendorAnswer(200, "{\"status\":\"ok\",\"msgid\":\"F-1\"}");
        var form = $$$"""
            {"url": "{{{_vendor.Endpoint}}}/form", "bodyType": "form", "body": "to={{to}}&text={{text}}&id={{message_id}}",
             "response": {"messageIdPath": "$.msgid", "errorCodePath": "$.status", "successCodes": ["ok"]}}
            """;
        await using (var provider = Create(form))
        {
            var result = await provider.SendAsync(SmsTo("+447700900123", messageId: "m_form"), Deadline());
            Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
            Assert.Equal("F-1", result.ProviderMessageId);
        }
        var request = Assert.Single(_vendor.Requests);
        Assert.StartsWith("application/x-www-form-urlencoded", request.Headers["Content-Type"], StringComparison.Ordinal);
        var fields = request.Form;
        Assert.Equal(3, fields.Count);
        Assert.Equal("+447700900123", fields["to"]);
        Assert.Equal(AwkwardText, fields["text"]);
        Assert.Equal("m_form", fields["id"]);

        var text = $$$"""{"url": "{{{_vendor.Endpoint}}}/text?to={{to}}", "bodyType": "text", "body": "{{text}}", "headers": {"Content-Type": "text/x-sms; charset=utf-8"}}""";
        _vendor.Handle = _ => new VendorAnswer(200, "queued", "text/plain");
        await using (var provider = Create(text))
        {
            var result = await provider.SendAsync(SmsTo("+447700900123", messageId: "m_text"), Deadline());
            Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
            Assert.Equal("m_text", result.ProviderMessageId);
        }
        Assert.Equal(AwkwardText, _vendor.Requests[^1].Text);
        Assert.Equal("text/x-sms; charset=utf-8", _vendor.Requests[^1].Headers["Content-Type"]);
    }

    public static TheoryData<int, string, string, ProviderOutcome, bool, bool> Answers => new()
    {
        // status, body, Retry-After, outcome, hard bounce, provider down
        { 200, "{\"code\":\"INVALID_NUMBER\"}", "", ProviderOutcome.PermanentFailure, true, false },
        { 400, "{\"code\":\"INVALID_NUMBER\"}", "", ProviderOutcome.PermanentFailure, true, false },
        { 200, "{\"code\":\"BLOCKED\"}", "", ProviderOutcome.PermanentFailure, false, false },
        { 200, "{\"code\":\"SOMETHING_NEW\"}", "", ProviderOutcome.PermanentFailure, false, false },
        { 200, "{\"code\":\"BUSY\"}", "", ProviderOutcome.TransientFailure, false, false },
        { 201, "{\"code\":0}", "", ProviderOutcome.PermanentFailure, false, false },
        { 422, "{\"error\":\"bad\"}", "", ProviderOutcome.PermanentFailure, false, false },
        { 429, "{\"code\":\"RATE\"}", "7", ProviderOutcome.TransientFailure, false, false },
        { 500, "oops", "", ProviderOutcome.TransientFailure, false, true },
        { 503, "", "", ProviderOutcome.TransientFailure, false, true },
        { 401, "{\"code\":\"AUTH\"}", "", ProviderOutcome.TransientFailure, false, true },
        { 403, "", "", ProviderOutcome.TransientFailure, false, true },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task Answers_map_to_outcomes(int status, string body, string retryAfter, ProviderOutcome outcome, bool hardBounce, bool providerDown)
    {
        _vendor.Handle = Checking(_ => new VendorAnswer(status, body,
            Headers: retryAfter.Length > 0 ? new Dictionary<string, string> { ["Retry-After"] = retryAfter } : null));
        await using var provider = Create(JsonConfig());

        var result = await provider.SendAsync(SmsTo("+8613800138000"), Deadline());

        Assert.Equal(outcome, result.Outcome);
        Assert.Equal(hardBounce, result.HardBounce);
        Assert.Equal(providerDown, result.ProviderDown);
        Assert.Equal(retryAfter.Length > 0 ? TimeSpan.FromSeconds(int.Parse(retryAfter, CultureInfo.InvariantCulture)) : (TimeSpan?)null, result.RetryAfter);
        Assert.Single(_vendor.Requests);
    }

    [Fact]
    public async Task A_refused_connection_and_a_timeout_are_transient_and_take_the_provider_down()
    {
        await using (var provider = Create(JsonConfig($"http://127.0.0.1:{ClosedPort()}")))
        {
            var refused = await provider.SendAsync(SmsTo("+8613800138000"), Deadline());
            Assert.Equal(ProviderOutcome.TransientFailure, refused.Outcome);
            Assert.True(refused.ProviderDown);
            Assert.Contains("Connection", refused.Detail, StringComparison.Ordinal);
        }
        _vendor.Handle = _ => new VendorAnswer(200, "{\"code\":0}", Delay: TimeSpan.FromSeconds(5));
        await using (var provider = Create(JsonConfig(), timeout: TimeSpan.FromMilliseconds(300)))
        {
            var slow = await provider.SendAsync(SmsTo("+8613800138000"), Deadline());
            Assert.Equal(ProviderOutcome.TransientFailure, slow.Outcome);
            Assert.True(slow.ProviderDown);
            Assert.StartsWith("Timeout", slow.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Loopback_is_refused_unless_allow_listed_and_a_malformed_recipient_is_a_hard_bounce()
    {
        var factory = new HttpSmsProviderFactory(TimeProvider.System);
        await using (var provider = factory.Create("gw", "sms", Json(JsonConfig()), NullReportSink.Instance))
        {
            var result = await provider.SendAsync(SmsTo("+8613800138000"), Deadline());
            Assert.Equal(ProviderOutcome.PermanentFailure, result.Outcome);
            Assert.True(result.ProviderDown);
            Assert.Contains("loopback", result.Detail, StringComparison.Ordinal);
        }
        await using (var provider = Create(JsonConfig()))
        {
            var result = await provider.SendAsync(SmsTo("13800138000"), Deadline());
            Assert.Equal(ProviderOutcome.PermanentFailure, result.Outcome);
            Assert.True(result.HardBounce);
        }
        Assert.Empty(_vendor.Requests);
    }

    [Fact]
    public void Validation_names_each_problem_by_its_path()
    {
        var factory = new HttpSmsProviderFactory(TimeProvider.System);
        IReadOnlyList<(string Path, string Message)> Errors(string json) => factory.Validate(Json(json));

        Assert.Empty(Errors(JsonConfig()));
        Assert.Contains(Errors("""{"url": "https://gw.example/send", "body": "{\"to\": \"{{recipient}}\"}"}"""),
            e => e.Path == "$.config.body" && e.Message.Contains("{{recipient}}", StringComparison.Ordinal));
        Assert.Contains(Errors("""{"url": "https://gw.example/send", "headers": {"Authorization": "Bearer {{secret.nope}}"}, "secrets": {"token": "x"}}"""),
            e => e.Path == "$.config.headers.Authorization" && e.Message.Contains("nope", StringComparison.Ordinal));
        Assert.Contains(Errors("""{"url": "https://gw.example/send?to={{ to }}"}"""), e => e.Path == "$.config.url");
        Assert.Contains(Errors("""{"url": "https://gw.example/send", "body": "{\"to\": {{to}}}"}"""),
            e => e.Path == "$.config.body" && e.Message.Contains("JSON", StringComparison.Ordinal));
        Assert.Contains(Errors("""{"url": "https://gw.example/send", "body": "{{text"}"""), e => e.Path == "$.config.body" && e.Message.Contains("unclosed", StringComparison.Ordinal));
        Assert.Contains(Errors("""{"url": "https://gw.example/send", "extra": 1}"""), e => e.Path == "$.config.extra");
        Assert.Contains(Errors("""{"url": "ftp://gw.example/send"}"""), e => e.Path == "$.config.url");
        Assert.Contains(Errors("""{"method": "GET", "url": "https://gw.example/send", "body": "x"}"""), e => e.Path == "$.config.body");
        Assert.Contains(Errors("""{"url": "https://gw.example/send", "response": {"messageIdPath": "data.id"}}"""), e => e.Path == "$.config.response.messageIdPath");
        Assert.Contains(Errors("""{"url": "https://gw.example/send", "signature": {"scheme": "hmac-sha256", "header": "X-Sig", "secret": "short"}}"""),
            e => e.Path == "$.config.signature.secret");
        Assert.Contains(Errors("""{"url": "https://gw.example/send", "callback": {"messageIdPath": "$.id", "statusPath": "$.s"}}"""),
            e => e.Path == "$.config.callback.signature");
        Assert.Contains(Errors("""{"url": "https://gw.example/send", "callback": {"statusPath": "$.s", "signature": {"scheme": "none"}}}"""),
            e => e.Path == "$.config.callback.signature.scheme");
    }

    private static string CallbackSignature(byte[] body) => Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(CallbackSecret), body));

    private static ProviderCallback SignedCallback(string body, string? signature = null)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        return Callback("POST", "https://chuda.example/callbacks/ws/gw", bytes,
            new Dictionary<string, string> { ["X-Callback-Signature"] = signature ?? CallbackSignature(bytes) });
    }

    [Fact]
    public async Task Signed_callbacks_give_delivery_and_inbound_reports_and_tampered_ones_are_rejected()
    {
        await using var provider = Create(JsonConfig());
        var callbacks = (IProviderCallbacks)provider;

        var delivered = callbacks.HandleCallback(SignedCallback("""{"id": "gw-777", "status": "DELIVRD"}"""));
        Assert.True(delivered.Authentic);
        Assert.Equal(200, delivered.StatusCode);
        var report = Assert.Single(delivered.Reports);
        Assert.Equal(ProviderReportKind.Delivered, report.Kind);
        Assert.Equal("gw-777", report.ProviderMessageId);

        var batch = callbacks.HandleCallback(SignedCallback("""
            [{"id": "a", "status": "UNDELIV"}, {"id": "b", "status": "NO_SUCH_NUMBER"}, {"id": "c", "status": "ACCEPTD"},
             {"from": "+8613800138000", "text": "TD"}, {"from": "+447700900123", "text": "STOP"}]
            """));
        Assert.True(batch.Authentic);
        Assert.Equal(
            [
                new ProviderReport(ProviderReportKind.Failed, "a", "UNDELIV"),
                new ProviderReport(ProviderReportKind.Undeliverable, "b", "NO_SUCH_NUMBER"),
                new ProviderReport(ProviderReportKind.Inbound, null, "inbound SMS", "+8613800138000", "TD"),
                new ProviderReport(ProviderReportKind.Inbound, null, "inbound SMS", "+447700900123", "STOP"),
            ],
            batch.Reports);

        // A form-encoded callback reads the same way.
        var form = callbacks.HandleCallback(SignedCallback("id=gw-9&status=DELIVRD"));
        Assert.Equal(ProviderReportKind.Delivered, Assert.Single(form.Reports).Kind);

        var original = """{"id": "gw-777", "status": "UNDELIV"}""";
        var tampered = callbacks.HandleCallback(SignedCallback("""{"id": "gw-777", "status": "DELIVRD"}""", CallbackSignature(Encoding.UTF8.GetBytes(original))));
        Assert.False(tampered.Authentic);
        Assert.Equal(401, tampered.StatusCode);
        Assert.Empty(tampered.Reports);

        var unsigned = callbacks.HandleCallback(Callback("POST", "https://chuda.example/callbacks/ws/gw", Encoding.UTF8.GetBytes(original)));
        Assert.False(unsigned.Authentic);
        var garbage = callbacks.HandleCallback(SignedCallback("{}", "not base64!"));
        Assert.False(garbage.Authentic);
    }

    [Fact]
    public async Task A_timestamped_callback_signature_older_than_five_minutes_is_rejected()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 9, 30, 0, TimeSpan.Zero));
        var config = JsonConfig().Replace("\"encoding\": \"base64\"}", "\"encoding\": \"hex\", \"over\": \"timestamp.body\", \"timestampHeader\": \"X-Callback-Time\"}",
            StringComparison.Ordinal);
        await using var provider = Create(config, time);
        var callbacks = (IProviderCallbacks)provider;
        var body = Encoding.UTF8.GetBytes("""{"id": "gw-1", "status": "DELIVRD"}""");
        ProviderCallback At(DateTimeOffset when)
        {
            var ts = when.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(CallbackSecret), Encoding.UTF8.GetBytes(ts + ".").Concat(body).ToArray());
            return Callback("POST", "https://chuda.example/callbacks/ws/gw", body,
                new Dictionary<string, string> { ["X-Callback-Signature"] = Convert.ToHexString(mac), ["X-Callback-Time"] = ts });
        }

        Assert.True(callbacks.HandleCallback(At(time.GetUtcNow().AddSeconds(-30))).Authentic);
        Assert.False(callbacks.HandleCallback(At(time.GetUtcNow().AddMinutes(-6))).Authentic);
    }

    [Fact]
    public void Json_paths_select_names_and_indexes()
    {
        using var document = JsonDocument.Parse("""{"data": {"items": [{"id": 42}, {"id": "x"}], "ok": true}, "weird.name": "w"}""");
        string? Select(string path) => SimpleJsonPath.TryParse(path, out var p, out _) ? p.SelectText(document.RootElement) : "invalid";
        Assert.Equal("42", Select("$.data.items[0].id"));
        Assert.Equal("x", Select("$.data.items[1].id"));
        Assert.Equal("true", Select("$.data.ok"));
        Assert.Equal("w", Select("$['weird.name']"));
        Assert.Null(Select("$.data.items[2].id"));
        Assert.Null(Select("$.data.missing"));
        Assert.Equal("invalid", Select("data.id"));
        Assert.Equal("invalid", Select("$.data[x]"));
        Assert.Equal("invalid", Select("$..id"));
    }
}
