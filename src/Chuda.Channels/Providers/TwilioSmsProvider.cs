using System.Text;
using System.Text.Json;
using Chuda.Channels.Sms.Http;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>
/// SMS through Twilio's Programmable Messaging REST API: <c>POST {endpoint}/2010-04-01/Accounts/{AccountSid}/Messages.json</c>,
/// form fields <c>To</c>, <c>From</c> (or <c>MessagingServiceSid</c>), <c>Body</c> and <c>StatusCallback</c>, HTTP Basic
/// authentication with the account SID and auth token. The message's <c>sid</c> is the provider message id.
/// <list type="bullet">
/// <item>Errors by Twilio code: 21211 (invalid 'To'), 21614 (not a mobile number), 21217 (number not valid) → permanent, hard bounce;
/// 21610 (the recipient replied STOP to this sender) and other 4xx codes → permanent; 20003 / 20005 (authentication, suspended
/// account) → provider down; 20429 and HTTP 429 → transient with Retry-After; 5xx, timeouts, refused connections → transient,
/// provider down.</item>
/// <item>Callbacks (<see cref="IProviderCallbacks"/>) must carry a valid <c>X-Twilio-Signature</c> (<see cref="TwilioApi.ComputeSignature"/>).
/// A status callback (<c>MessageSid</c>, <c>MessageStatus</c>, <c>ErrorCode</c>): delivered → Delivered; read → Read; undelivered or
/// failed → Failed, or Undeliverable for error 30005 (unknown handset), 30006 (landline or unreachable carrier), 21211, 21614;
/// queued / sending / sent / accepted are intermediate and ignored. An incoming message (<c>From</c>, <c>Body</c>, no
/// <c>MessageStatus</c>) → Inbound. The answer is empty TwiML.</item>
/// </list>
/// </summary>
public sealed class TwilioSmsProvider(string id, TwilioSmsConfig config, HttpGatewayClient client, IProviderReportSink? reports = null)
    : IChannelProvider, IProviderCallbacks
{
    public const string KindName = "twilio_sms";

    private static readonly int[] HardBounceCodes = [21211, 21614, 21217];
    private static readonly int[] UndeliverableReportCodes = [30005, 30006, 21211, 21614];

    private readonly Uri _messagesUrl = new($"{config.Endpoint.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(config.AccountSid)}/Messages.json");
    private readonly string _authorization = TwilioApi.BasicAuthorization(config.AccountSid, config.AuthToken);

    public string Id { get; } = id;

    public string Channel => "sms";

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Content is not SmsContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not SMS content");
        if (!PhoneNumbers.IsE164(message.Recipient))
            return new ProviderResult(ProviderOutcome.PermanentFailure, $"'{message.Recipient}' is not an E.164 number", HardBounce: true);
        var fields = new List<KeyValuePair<string, string>> { new("To", message.Recipient) };
        fields.Add(config.MessagingServiceSid is { } service ? new("MessagingServiceSid", service) : new("From", config.From!));
        fields.Add(new("Body", content.Text));
        if ((config.StatusCallbackUrl ?? reports?.CallbackUrl?.ToString()) is { } callback) fields.Add(new("StatusCallback", callback));
        var response = await client.SendAsync(new HttpGatewayRequest(HttpMethod.Post, _messagesUrl)
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
        var fields = FormEncoding.ToDictionary(parameters);
        var reports = new List<ProviderReport>();
        if (fields.TryGetValue("MessageStatus", out var status) && fields.TryGetValue("MessageSid", out var sid))
        {
            var error = fields.TryGetValue("ErrorCode", out var e) && int.TryParse(e, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : (int?)null;
            var detail = error is { } code ? $"{status} (error {code})" : status;
            switch (status)
            {
                case "delivered":
                    reports.Add(new ProviderReport(ProviderReportKind.Delivered, sid, detail));
                    break;
                case "read":
                    reports.Add(new ProviderReport(ProviderReportKind.Read, sid, detail));
                    break;
                case "undelivered" or "failed":
                    var kind = error is { } c && UndeliverableReportCodes.Contains(c) ? ProviderReportKind.Undeliverable : ProviderReportKind.Failed;
                    reports.Add(new ProviderReport(kind, sid, detail));
                    break;
            }
        }
        else if (fields.TryGetValue("From", out var from) && fields.TryGetValue("Body", out var body))
        {
            reports.Add(new ProviderReport(ProviderReportKind.Inbound, null, "inbound SMS", from, body));
        }
        return new ProviderCallbackResult(true, reports, 200, TwilioApi.EmptyTwiml, "text/xml");
    }

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A valid <c>twilio_sms</c> configuration.</summary>
public sealed record TwilioSmsConfig(string Endpoint, string AccountSid, string AuthToken, string? From, string? MessagingServiceSid, string? StatusCallbackUrl)
{
    private static readonly string[] Known = ["endpoint", "accountSid", "authToken", "from", "messagingServiceSid", "statusCallbackUrl"];

    public static TwilioSmsConfig? Parse(JsonElement config, List<(string Path, string Message)> errors)
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
            else if (p.Value.ValueKind != JsonValueKind.String) errors.Add(($"$.config.{p.Name}", "expected a string"));
        }
        string? Str(string name) => config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var (endpoint, sid, token, callback) = TwilioApi.ReadAccount(config, errors);
        var from = Str("from");
        var service = Str("messagingServiceSid");
        if ((from is null) == (service is null)) errors.Add(("$.config.from", "set exactly one of from (an E.164 number or alphanumeric sender id) and messagingServiceSid"));
        if (service is not null && !service.StartsWith("MG", StringComparison.Ordinal)) errors.Add(("$.config.messagingServiceSid", "expected MG…"));
        return errors.Count > before ? null : new TwilioSmsConfig(endpoint, sid!, token!, from, service, callback);
    }


    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Endpoint = {Endpoint}, AccountSid = {AccountSid}, AuthToken = ***, From = {From}, MessagingServiceSid = {MessagingServiceSid}");
        return true;
    }
}

/// <summary>
/// Twilio SMS. Configuration: <c>{"accountSid": "AC…", "authToken": "…", "from": "+15005550006" (or "messagingServiceSid": "MG…"),
/// "statusCallbackUrl": "https://chuda.example/callbacks/{workspace}/{providerId}", "endpoint": "https://api.twilio.com"}</c>.
/// The auth token is write-only; it also verifies Twilio's callbacks, so <c>statusCallbackUrl</c> must be the URL exactly as Twilio
/// calls it (and the inbound webhook of the number should point at the same callback URL).
/// </summary>
public sealed class TwilioSmsProviderFactory(TimeProvider time, HttpGatewayOptions? options = null) : IProviderFactory
{
    public string Kind => TwilioSmsProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["sms"];

    public IReadOnlyList<string> SecretFields { get; } = ["authToken"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string Path, string Message)>();
        TwilioSmsConfig.Parse(config, errors);
        return errors;
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports)
    {
        var errors = new List<(string Path, string Message)>();
        var parsed = TwilioSmsConfig.Parse(config, errors)
            ?? throw new ArgumentException("Invalid twilio_sms configuration: " + string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}")), nameof(config));
        return new TwilioSmsProvider(id, parsed, new HttpGatewayClient(options ?? new HttpGatewayOptions(), time), reports);
    }
}
