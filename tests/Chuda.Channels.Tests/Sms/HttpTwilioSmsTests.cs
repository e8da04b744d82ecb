using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Channels.Sms.Http;
using static Chuda.Channels.Tests.Sms.HttpTestSupport;

namespace Chuda.Channels.Tests.Sms;

/// <summary>The Twilio SMS preset against a fake Messages API that checks Basic authentication and the form it receives, and Twilio's
/// webhook signature against the worked example in Twilio's documentation.</summary>
public sealed class HttpTwilioSmsTests : IAsyncLifetime
{
    private const string AccountSid = "AC0123456789abcdef0123456789abcdef";
    private const string AuthToken = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
    private const string CallbackUrl = "https://chuda.example/callbacks/ws/twilio?tenant=a%20b";

    private HttpFakeVendor _vendor = null!;

    public async Task InitializeAsync()
    {
        _vendor = await HttpFakeVendor.StartAsync();
        _vendor.Handle = FakeMessagesApi;
    }

    public async Task DisposeAsync() => await _vendor.DisposeAsync();

    /// <summary>
    /// Twilio's Messages resource as far as the provider uses it: Basic auth must be the account SID and token, the path must name
    /// the account, To/From/Body are required; some numbers answer with Twilio's documented error codes.
    /// </summary>
    private static VendorAnswer FakeMessagesApi(VendorRequest request)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.ASCII.GetBytes(AccountSid + ":" + AuthToken));
        if (request.Headers.GetValueOrDefault("Authorization") != expected)
            return new VendorAnswer(401, """{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}""");
        if (request.Method != "POST" || request.Path != $"/2010-04-01/Accounts/{AccountSid}/Messages.json")
            return new VendorAnswer(404, """{"code": 20404, "message": "The requested resource was not found", "status": 404}""");
        if (!request.Headers.GetValueOrDefault("Content-Type", "").StartsWith("application/x-www-form-urlencoded", StringComparison.Ordinal))
            return new VendorAnswer(400, """{"code": 21601, "message": "not a form", "status": 400}""");
        var form = request.Form;
        if (!form.TryGetValue("To", out var to) || !form.TryGetValue("Body", out var body) || !(form.ContainsKey("From") || form.ContainsKey("MessagingServiceSid")))
            return new VendorAnswer(400, """{"code": 21604, "message": "A 'To' phone number is required.", "status": 400}""");
        return to switch
        {
            "+15005550001" => new VendorAnswer(400, """{"code": 21211, "message": "The 'To' number +15005550001 is not a valid phone number.", "status": 400}"""),
            "+15005550009" => new VendorAnswer(400, """{"code": 21614, "message": "'To' number is not a valid mobile number", "status": 400}"""),
            "+15005550004" => new VendorAnswer(400, """{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}"""),
            "+15005550429" => new VendorAnswer(429, """{"code": 20429, "message": "Too Many Requests", "status": 429}""", Headers: new Dictionary<string, string> { ["Retry-After"] = "3" }),
            "+15005550500" => new VendorAnswer(503, "Service Unavailable", "text/plain"),
            _ => new VendorAnswer(201, JsonSerializer.Serialize(new { sid = "SM" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(to + body)))[..32], status = "queued", to, body })),
        };
    }

    private IChannelProvider Create(string token = AuthToken, string? endpoint = null)
    {
        var factory = new TwilioSmsProviderFactory(TimeProvider.System, Loopback());
        var config = Json(JsonSerializer.Serialize(new
        {
            endpoint = endpoint ?? _vendor.Endpoint,
            accountSid = AccountSid,
            authToken = token,
            from = "+15005550006",
            statusCallbackUrl = CallbackUrl,
        }));
        Assert.Empty(factory.Validate(config));
        return factory.Create("twilio", "sms", config, NullReportSink.Instance);
    }

    [Fact]
    public async Task A_message_is_a_form_post_with_basic_auth_and_the_sid_is_the_provider_message_id()
    {
        await using var provider = Create();

        var result = await provider.SendAsync(SmsTo("+447700900123"), Deadline());

        Assert.True(result.Outcome == ProviderOutcome.Accepted, result.Detail);
        Assert.StartsWith("SM", result.ProviderMessageId, StringComparison.Ordinal);
        var form = Assert.Single(_vendor.Requests).Form;
        Assert.Equal("+447700900123", form["To"]);
        Assert.Equal("+15005550006", form["From"]);
        Assert.Equal(AwkwardText, form["Body"]);
        Assert.Equal(CallbackUrl, form["StatusCallback"]);
        Assert.Equal(4, form.Count);
    }

    [Fact]
    public async Task Without_a_configured_status_callback_the_host_s_callback_url_is_sent()
    {
        var factory = new TwilioSmsProviderFactory(TimeProvider.System, Loopback());
        var config = Json(JsonSerializer.Serialize(new { endpoint = _vendor.Endpoint, accountSid = AccountSid, authToken = AuthToken, from = "+15005550006" }));
        var hosted = new Uri("https://chuda.example.com/callbacks/7/twilio");
        await using (var provider = factory.Create("twilio", "sms", config, new HostedSink(hosted)))
        {
            Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(SmsTo("+447700900123"), Deadline())).Outcome);
        }
        Assert.Equal(hosted.ToString(), Assert.Single(_vendor.Requests).Form["StatusCallback"]);

        // No host URL and none configured: no StatusCallback at all (Twilio would otherwise post to nowhere).
        await using (var bare = factory.Create("twilio", "sms", config, NullReportSink.Instance))
        {
            Assert.Equal(ProviderOutcome.Accepted, (await bare.SendAsync(SmsTo("+447700900124"), Deadline())).Outcome);
        }
        Assert.DoesNotContain("StatusCallback", _vendor.Requests[^1].Form.Keys);
    }

    private sealed class HostedSink(Uri url) : IProviderReportSink
    {
        public Uri? CallbackUrl => url;

        public ValueTask ReportAsync(ProviderReport report, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    [Theory]
    [InlineData("+15005550001", ProviderOutcome.PermanentFailure, true, false, null)]
    [InlineData("+15005550009", ProviderOutcome.PermanentFailure, true, false, null)]
    [InlineData("+15005550004", ProviderOutcome.PermanentFailure, false, false, null)]
    [InlineData("+15005550429", ProviderOutcome.TransientFailure, false, false, 3)]
    [InlineData("+15005550500", ProviderOutcome.TransientFailure, false, true, null)]
    public async Task Twilio_errors_map_to_outcomes(string to, ProviderOutcome outcome, bool hardBounce, bool providerDown, int? retryAfterSeconds)
    {
        await using var provider = Create();

        var result = await provider.SendAsync(SmsTo(to), Deadline());

        Assert.Equal(outcome, result.Outcome);
        Assert.Equal(hardBounce, result.HardBounce);
        Assert.Equal(providerDown, result.ProviderDown);
        Assert.Equal(retryAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : null, result.RetryAfter);
    }

    [Fact]
    public async Task A_wrong_auth_token_or_an_unreachable_api_takes_the_provider_down()
    {
        await using (var provider = Create(token: "wrong-token"))
        {
            var result = await provider.SendAsync(SmsTo("+447700900123"), Deadline());
            Assert.Equal(ProviderOutcome.TransientFailure, result.Outcome);
            Assert.True(result.ProviderDown);
            Assert.Contains("20003", result.Detail, StringComparison.Ordinal);
        }
        await using (var provider = Create(endpoint: $"http://127.0.0.1:{ClosedPort()}"))
        {
            var result = await provider.SendAsync(SmsTo("+447700900123"), Deadline());
            Assert.Equal(ProviderOutcome.TransientFailure, result.Outcome);
            Assert.True(result.ProviderDown);
        }
    }

    [Fact]
    public void The_signature_of_the_worked_example_in_Twilio_docs_is_reproduced()
    {
        // Twilio's security documentation: auth token 12345, this URL and these POST parameters give this X-Twilio-Signature.
        var parameters = new Dictionary<string, string>
        {
            ["CallSid"] = "CA1234567890ABCDE",
            ["Caller"] = "+14158675309",
            ["Digits"] = "1234",
            ["From"] = "+14158675309",
            ["To"] = "+18005551212",
        };
        Assert.Equal("RSOYDt4T1cUTdK1PDd93/VVr8B8=", TwilioApi.ComputeSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", parameters));
    }

    /// <summary>The test's own implementation of Twilio's scheme: URL, then sorted name+value pairs, HMAC-SHA1 with the token, base64.</summary>
    private static string Sign(string url, IEnumerable<(string Name, string Value)> fields, string token = AuthToken)
    {
        var data = url + string.Concat(fields.OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => f.Name + f.Value));
#pragma warning disable CA5350 // Twilio's scheme.
        using var hmac = new HMACSHA1(Encoding.UTF8.GetBytes(token));
#pragma warning restore CA5350
        return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(data)));
    }

    private static ProviderCallback Webhook((string Name, string Value)[] fields, string? signature = null, string url = CallbackUrl, (string, string)[]? sent = null)
    {
        var body = string.Join('&', (sent ?? fields).Select(f => Uri.EscapeDataString(f.Item1) + "=" + Uri.EscapeDataString(f.Item2).Replace("%20", "+", StringComparison.Ordinal)));
        return Callback("POST", url, Encoding.UTF8.GetBytes(body),
            new Dictionary<string, string> { ["X-Twilio-Signature"] = signature ?? Sign(url, fields), ["Content-Type"] = "application/x-www-form-urlencoded" });
    }

    [Fact]
    public async Task Status_callbacks_and_inbound_messages_verify_and_map_and_tampered_ones_are_rejected()
    {
        await using var provider = Create();
        var callbacks = (IProviderCallbacks)provider;
        (string, string)[] Status(string sid, string status, string? error = null) =>
        [
            ("AccountSid", AccountSid), ("ApiVersion", "2010-04-01"), ("From", "+15005550006"), ("To", "+447700900123"), ("MessageSid", sid),
            ("SmsSid", sid), ("SmsStatus", status), ("MessageStatus", status), .. error is null ? Array.Empty<(string, string)>() : [("ErrorCode", error)],
        ];

        var delivered = callbacks.HandleCallback(Webhook(Status("SM1", "delivered")));
        Assert.True(delivered.Authentic);
        Assert.Equal("text/xml", delivered.ContentType);
        Assert.Contains("<Response>", delivered.ResponseBody, StringComparison.Ordinal);
        Assert.Equal(new ProviderReport(ProviderReportKind.Delivered, "SM1", "delivered"), Assert.Single(delivered.Reports));

        Assert.Empty(callbacks.HandleCallback(Webhook(Status("SM1", "sent"))).Reports);
        Assert.Equal(ProviderReportKind.Failed, Assert.Single(callbacks.HandleCallback(Webhook(Status("SM2", "undelivered", "30003"))).Reports).Kind);
        Assert.Equal(ProviderReportKind.Undeliverable, Assert.Single(callbacks.HandleCallback(Webhook(Status("SM3", "failed", "30005"))).Reports).Kind);

        (string, string)[] inbound =
        [
            ("AccountSid", AccountSid), ("MessageSid", "SM9"), ("SmsStatus", "received"), ("From", "+447700900123"), ("To", "+15005550006"),
            ("Body", "STOP please & thanks"), ("NumMedia", "0"),
        ];
        var reply = callbacks.HandleCallback(Webhook(inbound));
        Assert.True(reply.Authentic);
        Assert.Equal(new ProviderReport(ProviderReportKind.Inbound, null, "inbound SMS", "+447700900123", "STOP please & thanks"), Assert.Single(reply.Reports));

        // Signed for "undelivered", sent as "delivered".
        var tampered = callbacks.HandleCallback(Webhook(Status("SM4", "undelivered"), sent: Status("SM4", "delivered")));
        Assert.False(tampered.Authentic);
        Assert.Equal(401, tampered.StatusCode);
        Assert.Empty(tampered.Reports);
        Assert.False(callbacks.HandleCallback(Webhook(Status("SM5", "delivered"), signature: Sign(CallbackUrl, Status("SM5", "delivered"), "another-token"))).Authentic);
        Assert.False(callbacks.HandleCallback(Webhook(Status("SM6", "delivered"), signature: Sign("https://chuda.example/elsewhere", Status("SM6", "delivered")))).Authentic);
        var missing = Webhook(Status("SM7", "delivered"));
        Assert.False(callbacks.HandleCallback(missing with { Headers = new Dictionary<string, string>() }).Authentic);

        // Signed by Twilio with the explicit default port, received without it (or the other way round): still authentic.
        const string withPort = "https://chuda.example:443/callbacks/ws/twilio?tenant=a%20b";
        Assert.True(callbacks.HandleCallback(Webhook(Status("SM8", "delivered"), signature: Sign(withPort, Status("SM8", "delivered")))).Authentic);
        Assert.True(callbacks.HandleCallback(Webhook(Status("SM8", "delivered"), url: withPort, signature: Sign(CallbackUrl, Status("SM8", "delivered")))).Authentic);
    }

    [Fact]
    public void Validation_requires_credentials_and_exactly_one_sender()
    {
        var factory = new TwilioSmsProviderFactory(TimeProvider.System);
        var errors = factory.Validate(Json("""{"accountSid": "AC12", "from": "+15005550006", "messagingServiceSid": "MG1", "colour": "red"}"""));
        Assert.Contains(errors, e => e.Path == "$.config.accountSid");
        Assert.Contains(errors, e => e.Path == "$.config.authToken");
        Assert.Contains(errors, e => e.Path == "$.config.from");
        Assert.Contains(errors, e => e.Path == "$.config.colour");
        Assert.Empty(factory.Validate(Json($$"""{"accountSid": "{{AccountSid}}", "authToken": "x", "messagingServiceSid": "MG0123"}""")));
        Assert.Equal(["authToken"], factory.SecretFields);
    }
}
