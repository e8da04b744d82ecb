using System.Globalization;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Sms.Http;
using Chuda.Channels.Voice;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>
/// Voice notifications: a text-to-speech call through an HTTP voice API of Twilio's Programmable Voice shape —
/// <c>POST {endpoint}/2010-04-01/Accounts/{AccountSid}/Calls.json</c> with form fields <c>To</c>, <c>From</c>, <c>Twiml</c>
/// (<see cref="TwimlSay"/>: the text, its language and repeat count), <c>Timeout</c> (ring seconds), <c>StatusCallback</c>, HTTP Basic
/// authentication with the account SID and auth token. The call's <c>sid</c> (<c>CA…</c>) is the provider message id and Accepted is
/// returned at once; the result arrives by the status callback, verified with <c>X-Twilio-Signature</c>, mapped by
/// <see cref="TwilioCallStatus"/>: completed → Delivered and Read (a person answered; Delivered only for an answering machine);
/// busy, no-answer, canceled → Failed; failed → Undeliverable for an invalid number, else Failed. Errors of the create call:
/// 21211, 21217, 13223, 13224 (invalid number) → permanent, hard bounce; 21215 / 21216 (number not allowed or blocked) → permanent;
/// 20003 / 20005 → provider down; 20429 / 429 → transient with Retry-After; 5xx, timeouts, refused connections → transient, provider down.
/// </summary>
public sealed class HttpVoiceProvider(string id, HttpVoiceConfig config, HttpGatewayClient client, IProviderReportSink? reports = null)
    : IChannelProvider, IProviderCallbacks
{
    public const string KindName = "http_voice";

    /// <summary>Twilio's limit on the <c>Twiml</c> parameter.</summary>
    public const int MaxTwimlLength = 4000;

    private static readonly int[] HardBounceCodes = [21211, 21217, 13223, 13224];

    private readonly Uri _callsUrl = new($"{config.Endpoint.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(config.AccountSid)}/Calls.json");
    private readonly string _authorization = TwilioApi.BasicAuthorization(config.AccountSid, config.AuthToken);

    public string Id { get; } = id;

    public string Channel => "voice";

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Content is not VoiceContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not voice content");
        if (!PhoneNumbers.IsE164(message.Recipient))
            return new ProviderResult(ProviderOutcome.PermanentFailure, $"'{message.Recipient}' is not an E.164 number", HardBounce: true);
        if (string.IsNullOrWhiteSpace(content.Text)) return new ProviderResult(ProviderOutcome.PermanentFailure, "nothing to say");
        var twiml = TwimlSay.Build(content, config.Voice, config.Language);
        if (twiml.Length > MaxTwimlLength) return new ProviderResult(ProviderOutcome.PermanentFailure, $"the call's TwiML is {twiml.Length} characters; the limit is {MaxTwimlLength}");
        var fields = new List<KeyValuePair<string, string>>
        {
            new("To", message.Recipient),
            new("From", config.From),
            new("Twiml", twiml),
            new("Timeout", ((int)config.RingTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture)),
        };
        if ((config.StatusCallbackUrl ?? reports?.CallbackUrl?.ToString()) is { } callback)
        {
            fields.Add(new("StatusCallback", callback));
            fields.Add(new("StatusCallbackMethod", "POST"));
        }
        var response = await client.SendAsync(new HttpGatewayRequest(HttpMethod.Post, _callsUrl)
        {
            Headers = [new("Authorization", _authorization), new("Accept", "application/json")],
            Body = Encoding.UTF8.GetBytes(FormEncoding.Encode(fields)),
            ContentType = "application/x-www-form-urlencoded; charset=utf-8",
        }, cancellationToken);
        return TwilioApi.Classify(response, (code, detail) => code switch
        {
            _ when HardBounceCodes.Contains(code) => new ProviderResult(ProviderOutcome.PermanentFailure, detail, HardBounce: true),
            _ => null,
        });
    }

    public ProviderCallbackResult HandleCallback(ProviderCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var parameters = TwilioApi.Parameters(callback);
        if (!TwilioApi.VerifySignature(config.AuthToken, callback, string.Equals(callback.Method, "GET", StringComparison.OrdinalIgnoreCase) ? [] : parameters))
            return ProviderCallbackResult.Rejected("X-Twilio-Signature does not verify");
        return new ProviderCallbackResult(true, TwilioCallStatus.Map(FormEncoding.ToDictionary(parameters)), 200, TwilioApi.EmptyTwiml, "text/xml");
    }

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A valid <c>http_voice</c> configuration.</summary>
public sealed record HttpVoiceConfig(string Endpoint, string AccountSid, string AuthToken, string From, string? StatusCallbackUrl, string? Voice, string? Language,
    TimeSpan RingTimeout)
{
    private static readonly string[] Known = ["endpoint", "accountSid", "authToken", "from", "statusCallbackUrl", "voice", "language", "ringTimeoutSeconds"];

    public static HttpVoiceConfig? Parse(JsonElement config, List<(string Path, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"accountSid\": \"AC…\", \"authToken\": …, \"from\": \"+1…\"}"));
            return null;
        }
        var before = errors.Count;
        foreach (var p in config.EnumerateObject())
        {
            if (!Known.Contains(p.Name)) errors.Add(($"$.config.{p.Name}", $"unknown property; expected {string.Join(", ", Known)}"));
            else if (p.Name != "ringTimeoutSeconds" && p.Value.ValueKind != JsonValueKind.String) errors.Add(($"$.config.{p.Name}", "expected a string"));
        }
        string? Str(string name) => config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var (endpoint, sid, token, callback) = TwilioApi.ReadAccount(config, errors);
        var from = Str("from");
        if (!PhoneNumbers.IsE164(from)) errors.Add(("$.config.from", "required: the calling number in E.164"));
        var ring = TimeSpan.FromSeconds(30);
        if (config.TryGetProperty("ringTimeoutSeconds", out var r))
        {
            if (!r.TryGetInt32(out var seconds) || seconds is < 5 or > 600) errors.Add(("$.config.ringTimeoutSeconds", "expected 5-600"));
            else ring = TimeSpan.FromSeconds(seconds);
        }
        return errors.Count > before ? null : new HttpVoiceConfig(endpoint, sid!, token!, from!, callback, Str("voice"), Str("language"), ring);
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Endpoint = {Endpoint}, AccountSid = {AccountSid}, AuthToken = ***, From = {From}");
        return true;
    }
}

/// <summary>
/// Voice notifications over the Twilio-shaped Calls API. Configuration: <c>{"accountSid": "AC…", "authToken": "…",
/// "from": "+15005550006", "statusCallbackUrl": "https://chuda.example/callbacks/{workspace}/{providerId}", "voice": "Polly.Zhiyu",
/// "language": "zh-CN", "ringTimeoutSeconds": 30, "endpoint": "https://api.twilio.com"}</c>. The auth token is write-only.
/// </summary>
public sealed class HttpVoiceProviderFactory(TimeProvider time, HttpGatewayOptions? options = null) : IProviderFactory
{
    public string Kind => HttpVoiceProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["voice"];

    public IReadOnlyList<string> SecretFields { get; } = ["authToken"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string Path, string Message)>();
        HttpVoiceConfig.Parse(config, errors);
        return errors;
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports)
    {
        var errors = new List<(string Path, string Message)>();
        var parsed = HttpVoiceConfig.Parse(config, errors)
            ?? throw new ArgumentException("Invalid http_voice configuration: " + string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}")), nameof(config));
        return new HttpVoiceProvider(id, parsed, new HttpGatewayClient(options ?? new HttpGatewayOptions(), time), reports);
    }
}
