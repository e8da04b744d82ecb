using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Chuda.Channels.Providers;
using Chuda.Channels.Tests.Sms;
using Chuda.Domain.Templates;
using static Chuda.Channels.Tests.Sms.HttpTestSupport;

namespace Chuda.Channels.Tests.Voice;

/// <summary>The text-to-speech voice provider against a fake Calls API that checks authentication, the form and the TwiML it gets.</summary>
public sealed class HttpVoiceProviderTests : IAsyncLifetime
{
    private const string AccountSid = "ACfedcba9876543210fedcba9876543210";
    private const string AuthToken = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    private const string CallbackUrl = "https://chuda.example/callbacks/ws/voice";
    private const string Spoken = "您的验证码是 1 2 3 4 & <不要> 告诉\"别人\"";

    private HttpFakeVendor _vendor = null!;

    public async Task InitializeAsync()
    {
        _vendor = await HttpFakeVendor.StartAsync();
        _vendor.Handle = FakeCallsApi;
    }

    public async Task DisposeAsync() => await _vendor.DisposeAsync();

    private static VendorAnswer FakeCallsApi(VendorRequest request)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.ASCII.GetBytes(AccountSid + ":" + AuthToken));
        if (request.Headers.GetValueOrDefault("Authorization") != expected) return new VendorAnswer(401, """{"code": 20003, "message": "Authenticate", "status": 401}""");
        if (request.Path != $"/2010-04-01/Accounts/{AccountSid}/Calls.json") return new VendorAnswer(404, """{"code": 20404, "status": 404}""");
        var form = request.Form;
        if (!form.TryGetValue("Twiml", out var twiml) || !form.ContainsKey("From")) return new VendorAnswer(400, """{"code": 21205, "message": "Url parameter is required", "status": 400}""");
        // Twilio parses the TwiML: malformed XML is refused.
        try
        {
            XDocument.Parse(twiml);
        }
        catch (System.Xml.XmlException)
        {
            return new VendorAnswer(400, """{"code": 12100, "message": "Document parse failure", "status": 400}""");
        }
        return form["To"] switch
        {
            "+15005550001" => new VendorAnswer(400, """{"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}"""),
            "+15005550500" => new VendorAnswer(500, "{}"),
            _ => new VendorAnswer(201, """{"sid": "CA0123456789abcdef0123456789abcdef", "status": "queued"}"""),
        };
    }

    private IChannelProvider Create(string? endpoint = null)
    {
        var factory = new HttpVoiceProviderFactory(TimeProvider.System, Loopback());
        var config = Json(JsonSerializer.Serialize(new
        {
            endpoint = endpoint ?? _vendor.Endpoint,
            accountSid = AccountSid,
            authToken = AuthToken,
            from = "+15005550006",
            statusCallbackUrl = CallbackUrl,
            voice = "Polly.Zhiyu",
            ringTimeoutSeconds = 25,
        }));
        Assert.Empty(factory.Validate(config));
        return factory.Create("voice", "voice", config, NullReportSink.Instance);
    }

    private static ProviderMessage Call(string to, string text = Spoken, string? language = "zh-CN", int repeat = 2) =>
        new("m_v1", "idem-v1", "voice", to, new VoiceContent(text, language, repeat), "transactional", new Dictionary<string, string>());

    [Fact]
    public async Task A_call_carries_the_text_in_a_say_verb_and_the_call_sid_is_the_provider_message_id()
    {
        await using var provider = Create();

        var result = await provider.SendAsync(Call("+8613812345678"), Deadline());

        Assert.True(result.Outcome == ProviderOutcome.Accepted, result.Detail);
        Assert.Equal("CA0123456789abcdef0123456789abcdef", result.ProviderMessageId);
        var form = Assert.Single(_vendor.Requests).Form;
        Assert.Equal("+8613812345678", form["To"]);
        Assert.Equal("+15005550006", form["From"]);
        Assert.Equal("25", form["Timeout"]);
        Assert.Equal(CallbackUrl, form["StatusCallback"]);
        var say = XDocument.Parse(form["Twiml"]).Root!.Element("Say")!;
        Assert.Equal("Response", say.Parent!.Name.LocalName);
        Assert.Equal(Spoken, say.Value);
        Assert.Equal("zh-CN", say.Attribute("language")!.Value);
        Assert.Equal("Polly.Zhiyu", say.Attribute("voice")!.Value);
        Assert.Equal("2", say.Attribute("loop")!.Value);
    }

    [Fact]
    public async Task An_invalid_number_is_a_hard_bounce_and_a_server_error_takes_the_provider_down()
    {
        await using var provider = Create();

        var invalid = await provider.SendAsync(Call("+15005550001"), Deadline());
        Assert.Equal(ProviderOutcome.PermanentFailure, invalid.Outcome);
        Assert.True(invalid.HardBounce);
        Assert.False(invalid.ProviderDown);

        var down = await provider.SendAsync(Call("+15005550500"), Deadline());
        Assert.Equal(ProviderOutcome.TransientFailure, down.Outcome);
        Assert.True(down.ProviderDown);

        await using var unreachable = Create($"http://127.0.0.1:{ClosedPort()}");
        var refused = await unreachable.SendAsync(Call("+8613812345678"), Deadline());
        Assert.True(refused.ProviderDown);
    }

    /// <summary>The test's own Twilio signature: URL, sorted name+value pairs, HMAC-SHA1 keyed by the token, base64.</summary>
    private static string Sign(string url, IEnumerable<(string Name, string Value)> fields, string token = AuthToken)
    {
        var data = url + string.Concat(fields.OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => f.Name + f.Value));
#pragma warning disable CA5350 // Twilio's scheme.
        using var hmac = new HMACSHA1(Encoding.UTF8.GetBytes(token));
#pragma warning restore CA5350
        return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(data)));
    }

    private static ProviderCallback StatusCallback((string, string)[] fields, string? signature = null, string url = CallbackUrl, (string, string)[]? sent = null) =>
        Callback("POST", url, Encoding.UTF8.GetBytes(string.Join('&', (sent ?? fields).Select(f => Uri.EscapeDataString(f.Item1) + "=" + Uri.EscapeDataString(f.Item2)))),
            new Dictionary<string, string> { ["X-Twilio-Signature"] = signature ?? Sign(url, fields) });

    private static (string, string)[] Status(string status, params (string, string)[] extra) =>
        [("AccountSid", AccountSid), ("CallSid", "CA1"), ("CallStatus", status), ("From", "+15005550006"), ("To", "+8613812345678"), ("Direction", "outbound-api"), .. extra];

    [Fact]
    public async Task Call_results_map_to_reports_and_tampered_callbacks_are_rejected()
    {
        await using var provider = Create();
        var callbacks = (IProviderCallbacks)provider;
        IEnumerable<ProviderReportKind> Kinds(ProviderCallbackResult r)
        {
            Assert.True(r.Authentic);
            return r.Reports.Select(x => x.Kind);
        }

        Assert.Equal([ProviderReportKind.Delivered, ProviderReportKind.Read], Kinds(callbacks.HandleCallback(StatusCallback(Status("completed", ("CallDuration", "14"))))));
        Assert.Equal([ProviderReportKind.Delivered], Kinds(callbacks.HandleCallback(StatusCallback(Status("completed", ("AnsweredBy", "machine_end_beep"))))));
        Assert.Equal([ProviderReportKind.Failed], Kinds(callbacks.HandleCallback(StatusCallback(Status("no-answer")))));
        Assert.Equal([ProviderReportKind.Failed], Kinds(callbacks.HandleCallback(StatusCallback(Status("busy")))));
        Assert.Equal([ProviderReportKind.Failed], Kinds(callbacks.HandleCallback(StatusCallback(Status("failed", ("ErrorCode", "31005"))))));
        Assert.Equal([ProviderReportKind.Undeliverable], Kinds(callbacks.HandleCallback(StatusCallback(Status("failed", ("ErrorCode", "13224"))))));
        Assert.Equal([ProviderReportKind.Undeliverable], Kinds(callbacks.HandleCallback(StatusCallback(Status("failed", ("SipResponseCode", "404"))))));
        Assert.Empty(Kinds(callbacks.HandleCallback(StatusCallback(Status("ringing")))));
        Assert.All(callbacks.HandleCallback(StatusCallback(Status("completed"))).Reports, r => Assert.Equal("CA1", r.ProviderMessageId));

        var tampered = callbacks.HandleCallback(StatusCallback(Status("no-answer"), sent: Status("completed")));
        Assert.False(tampered.Authentic);
        Assert.Empty(tampered.Reports);
        Assert.False(callbacks.HandleCallback(StatusCallback(Status("completed"), signature: Sign(CallbackUrl, Status("completed"), "other-token"))).Authentic);
    }

    [Fact]
    public async Task The_documented_example_request_verifies_with_its_token()
    {
        // Twilio's documentation example (a voice request with Digits): authentic for token 12345, not for another token.
        var factory = new HttpVoiceProviderFactory(TimeProvider.System, Loopback());
        IChannelProvider Provider(string token) => factory.Create("voice", "voice",
            Json(JsonSerializer.Serialize(new { accountSid = AccountSid, authToken = token, from = "+15005550006" })), NullReportSink.Instance);
        var callback = Callback("POST", "https://mycompany.com/myapp.php?foo=1&bar=2",
            Encoding.UTF8.GetBytes("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"),
            new Dictionary<string, string> { ["X-Twilio-Signature"] = "RSOYDt4T1cUTdK1PDd93/VVr8B8=" });
        await using var right = Provider("12345");
        await using var wrong = Provider("54321");
        Assert.True(((IProviderCallbacks)right).HandleCallback(callback).Authentic);
        Assert.False(((IProviderCallbacks)wrong).HandleCallback(callback).Authentic);
    }

    [Fact]
    public async Task Content_that_is_not_voice_or_a_recipient_that_is_not_a_phone_is_refused_without_a_call()
    {
        await using var provider = Create();
        var notPhone = await provider.SendAsync(Call("wecom:zhangsan"), Deadline());
        Assert.True(notPhone.HardBounce);
        var sms = await provider.SendAsync(SmsTo("+8613812345678") with { Channel = "voice" }, Deadline());
        Assert.Equal(ProviderOutcome.PermanentFailure, sms.Outcome);
        var tooLong = await provider.SendAsync(Call("+8613812345678", new string('长', 5000)), Deadline());
        Assert.Equal(ProviderOutcome.PermanentFailure, tooLong.Outcome);
        Assert.Empty(_vendor.Requests);
    }
}
