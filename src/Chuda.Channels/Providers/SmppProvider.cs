using System.Text.Json;
using System.Text.RegularExpressions;
using Chuda.Channels.Sms.Smpp;
using Chuda.Domain.Templates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chuda.Channels.Providers;

/// <summary>The sender and receipt settings of an <see cref="SmppProvider"/> (the connection is in <see cref="SmppClientOptions"/>).</summary>
/// <param name="SourceAddress">Sender id, short code or long number as the SMSC expects it.</param>
/// <param name="RegisteredDelivery">Ask for a delivery receipt (registered_delivery 1) on each message.</param>
public sealed record SmppSenderSettings(string SourceAddress, byte SourceTon, byte SourceNpi, bool RegisteredDelivery);

/// <summary>
/// SMS over SMPP 3.4 through one long-lived <see cref="SmppClient"/> (a bound transceiver opened on the first send, shared by
/// concurrent sends through its window, re-established when it drops). A text of the GSM 03.38 alphabet is sent as
/// <c>data_coding</c> 0, anything else as UCS-2 (8); a long text goes in concatenated parts (UDH IEI 0x00), submitted in order.
/// <para>The <see cref="ProviderResult.ProviderMessageId"/> is the SMSC's message_id for the FIRST part; only that part asks
/// for a delivery receipt, and its receipt resolves the message (the other parts' fates are not tracked). If a later part
/// fails, the earlier ones have been sent already: the result is that part's failure, and a retry sends the whole text again.</para>
/// <para>Outcomes: ESME_ROK → Accepted; ESME_RTHROTTLED / ESME_RMSGQFUL → transient with RetryAfter (the whole session
/// pauses); ESME_RINVDSTADR → permanent hard bounce; ESME_RSYSERR (the SMSC's own fault) → transient; other error statuses →
/// permanent; no session (connection refused, bind refused, timeout), a link that dropped before the response, or no
/// response in time → transient with ProviderDown, so the engine fails over. Receipts (esm_class 0x04) become
/// <see cref="ProviderReportKind.Delivered"/> (DELIVRD) or <see cref="ProviderReportKind.Failed"/> (EXPIRED, DELETED, UNDELIV,
/// REJECTD, UNKNOWN; the receipt's err: codes are vendor-specific, so none is read as an invalid number); intermediate ones
/// (ENROUTE, ACCEPTD) are acknowledged and dropped. Any other deliver_sm is an inbound message
/// (<see cref="ProviderReportKind.Inbound"/>, From in +E.164 when the source TON is international); the parts of a
/// concatenated one are joined first (<see cref="SmppInboundAssembler"/>; parts still incomplete after
/// <see cref="InboundPartsWait"/> are reported as they are when the next inbound message comes).</para>
/// <para>A receipt can reach the sink before <see cref="SendAsync"/> has returned the id it names (the SMSC may send the
/// deliver_sm right behind the submit_sm_resp).</para>
/// </summary>
public sealed partial class SmppProvider : IChannelProvider
{
    public const string KindName = "smpp";

    /// <summary>How long the parts of a concatenated inbound message are held for the missing ones.</summary>
    public static readonly TimeSpan InboundPartsWait = TimeSpan.FromMinutes(2);

    private readonly SmppClient _client;
    private readonly SmppSenderSettings _sender;
    private readonly IProviderReportSink _reports;
    private readonly ILogger _logger;
    private readonly SmppInboundAssembler _inbound;

    public SmppProvider(string id, SmppClientOptions options, SmppSenderSettings sender, IProviderReportSink reports, TimeProvider time,
        ILoggerFactory? logs = null)
    {
        Id = id;
        _sender = sender;
        _reports = reports;
        _logger = logs?.CreateLogger<SmppProvider>() ?? NullLogger<SmppProvider>.Instance;
        _inbound = new SmppInboundAssembler(time, InboundPartsWait);
        _client = new SmppClient(options, time, OnDeliverAsync, logs?.CreateLogger<SmppClient>());
    }

    public string Id { get; }

    public string Channel => "sms";

    public SmppClient Client => _client;

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        if (message.Content is not SmsContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not SMS content");
        if (!E164().IsMatch(message.Recipient))
            return new ProviderResult(ProviderOutcome.PermanentFailure, "the recipient is not an E.164 number (+ and 7-15 digits)", HardBounce: true);
        if (content.Text.Length == 0) return new ProviderResult(ProviderOutcome.PermanentFailure, "empty SMS text");
        IReadOnlyList<SmppTextPart> parts;
        try
        {
            parts = SmppText.Encode(content.Text, _client.NextReference());
        }
        catch (ArgumentException ex)
        {
            return new ProviderResult(ProviderOutcome.PermanentFailure, ex.Message);
        }
        string? firstId = null;
        for (var i = 0; i < parts.Count; i++)
        {
            var part = parts[i];
            var submit = new SmppShortMessage
            {
                SourceTon = _sender.SourceTon,
                SourceNpi = _sender.SourceNpi,
                SourceAddress = _sender.SourceAddress,
                DestinationTon = 1,
                DestinationNpi = 1,
                DestinationAddress = message.Recipient[1..],
                EsmClass = part.EsmClass,
                RegisteredDelivery = (byte)(_sender.RegisteredDelivery && i == 0 ? 1 : 0),
                DataCoding = part.DataCoding,
                ShortMessage = part.ShortMessage,
            };
            var result = await _client.SubmitAsync(submit, cancellationToken);
            if (result.Status != SmppSubmitStatus.Accepted)
            {
                var failed = Map(result);
                return i == 0 ? failed : failed with { Detail = $"part {i + 1} of {parts.Count} (the first {i} were sent): {failed.Detail}" };
            }
            firstId ??= result.MessageId;
        }
        return new ProviderResult(ProviderOutcome.Accepted, parts.Count == 1 ? "accepted" : $"accepted in {parts.Count} parts", firstId);
    }

    /// <summary>The provider outcome of one submit that was not accepted.</summary>
    public static ProviderResult Map(SmppSubmitResult result) => result.Status switch
    {
        SmppSubmitStatus.Accepted => new ProviderResult(ProviderOutcome.Accepted, result.Detail, result.MessageId),
        SmppSubmitStatus.Throttled => new ProviderResult(ProviderOutcome.TransientFailure, result.Detail, RetryAfter: result.RetryAfter),
        SmppSubmitStatus.Rejected when result.CommandStatus == SmppStatus.InvalidDestinationAddress =>
            new ProviderResult(ProviderOutcome.PermanentFailure, result.Detail, HardBounce: true),
        SmppSubmitStatus.Rejected when result.CommandStatus == SmppStatus.SystemError =>
            new ProviderResult(ProviderOutcome.TransientFailure, result.Detail),
        SmppSubmitStatus.Rejected when result.CommandStatus == SmppStatus.IncorrectBindStatus =>
            new ProviderResult(ProviderOutcome.TransientFailure, result.Detail, ProviderDown: true),
        SmppSubmitStatus.Rejected or SmppSubmitStatus.Invalid => new ProviderResult(ProviderOutcome.PermanentFailure, result.Detail),
        _ => new ProviderResult(ProviderOutcome.TransientFailure, result.Detail, RetryAfter: result.RetryAfter, ProviderDown: true),
    };

    /// <summary>What a deliver_sm reports: a receipt's outcome, an inbound message, or null for an intermediate receipt.</summary>
    public static ProviderReport? ToReport(SmppShortMessage deliver)
    {
        if (deliver.IsDeliveryReceipt)
        {
            if (SmppReceipt.Parse(deliver) is not { } receipt) return null;
            var detail = receipt.Error is { } err ? $"stat:{receipt.Stat} err:{err}" : $"stat:{receipt.Stat}";
            return receipt.State switch
            {
                SmppReceiptState.Pending => null,
                SmppReceiptState.Delivered => new ProviderReport(ProviderReportKind.Delivered, receipt.MessageId, detail),
                _ => new ProviderReport(ProviderReportKind.Failed, receipt.MessageId, detail),
            };
        }
        return Inbound(new SmppInboundMessage(deliver, SmppText.Decode(deliver), 1, 1));
    }

    /// <summary>The report of a (possibly joined) inbound message: From in +E.164 when the source TON is international.</summary>
    public static ProviderReport Inbound(SmppInboundMessage message)
    {
        var first = message.First;
        var from = first.SourceTon == 1 && first.SourceAddress.Length > 0 && first.SourceAddress.All(char.IsAsciiDigit)
            ? "+" + first.SourceAddress
            : first.SourceAddress;
        var detail = $"deliver_sm to {first.DestinationAddress}" + (message.Complete ? "" : $" (incomplete: {message.Parts} of {message.Total} parts)");
        return new ProviderReport(ProviderReportKind.Inbound, null, detail, from, message.Text);
    }

    private async ValueTask<uint> OnDeliverAsync(SmppShortMessage deliver, CancellationToken cancellationToken)
    {
        if (deliver.IsDeliveryReceipt)
        {
            if (ToReport(deliver) is { } receipt) await _reports.ReportAsync(receipt, cancellationToken);
            else if (SmppReceipt.Parse(deliver) is null) SmppProviderLog.ReceiptWithoutId(_logger, Id);
            return SmppStatus.Ok;
        }
        foreach (var incomplete in _inbound.TakeExpired()) await _reports.ReportAsync(Inbound(incomplete), cancellationToken);
        // A part of a longer message is held (and acknowledged) until the whole message is there.
        if (_inbound.Add(deliver) is { } whole) await _reports.ReportAsync(Inbound(whole), cancellationToken);
        return SmppStatus.Ok;
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex E164();
}

internal static partial class SmppProviderLog
{
    [LoggerMessage(3651, LogLevel.Warning, "SMPP provider {ProviderId}: a delivery receipt named no message id; acknowledged and dropped")]
    public static partial void ReceiptWithoutId(ILogger logger, string providerId);
}

/// <summary>
/// Configuration: <c>{"host": "smsc.example.net", "port": 2775, "systemId": "…", "password": "…", "systemType": "",
/// "sourceAddress": "106900001234", "sourceTon": 0, "sourceNpi": 1, "window": 10, "enquireLinkSeconds": 30,
/// "responseTimeoutSeconds": 10, "registeredDelivery": true, "maxConnectSeconds": 10, "throttleSeconds": 1,
/// "reconnectMinSeconds": 0.25, "reconnectMaxSeconds": 30}</c>. Only host, systemId and sourceAddress are required. Without
/// sourceTon/sourceNpi an alphanumeric sender id is TON 5 / NPI 0, a number TON 0 / NPI 1 (a leading + makes it TON 1 / NPI 1
/// and is dropped). Durations are seconds (fractions allowed). The password is write-only.
/// </summary>
public sealed class SmppProviderFactory(TimeProvider time, ILoggerFactory? logs = null) : IProviderFactory
{
    public string Kind => SmppProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["sms"];

    public IReadOnlyList<string> SecretFields { get; } = ["password"];

    private static readonly string[] Known =
        ["host", "port", "systemId", "password", "systemType", "sourceAddress", "sourceTon", "sourceNpi", "window", "enquireLinkSeconds",
         "responseTimeoutSeconds", "registeredDelivery", "maxConnectSeconds", "throttleSeconds", "reconnectMinSeconds", "reconnectMaxSeconds"];

    private static readonly (string Name, double Min, double Max)[] Durations =
        [("enquireLinkSeconds", 0.1, 3600), ("responseTimeoutSeconds", 0.1, 300), ("maxConnectSeconds", 0.1, 300), ("throttleSeconds", 0.01, 600),
         ("reconnectMinSeconds", 0.01, 600), ("reconnectMaxSeconds", 0.01, 3600)];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string, string)>();
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"host\": …, \"systemId\": …, \"sourceAddress\": …}"));
            return errors;
        }
        foreach (var p in config.EnumerateObject())
        {
            if (!Known.Contains(p.Name)) errors.Add(($"$.config.{p.Name}", $"unknown property; expected {string.Join(", ", Known)}"));
        }
        void Text(string name, bool required, int max, string what)
        {
            if (!config.TryGetProperty(name, out var v))
            {
                if (required) errors.Add(($"$.config.{name}", "required: " + what));
                return;
            }
            if (v.ValueKind != JsonValueKind.String) errors.Add(($"$.config.{name}", "expected a string: " + what));
            else if (v.GetString() is { } s && (s.Length > max || s.Any(c => c is < ' ' or > '~')))
                errors.Add(($"$.config.{name}", $"at most {max} printable ASCII characters"));
            else if (required && string.IsNullOrWhiteSpace(v.GetString())) errors.Add(($"$.config.{name}", "required: " + what));
        }
        Text("host", true, 253, "the SMSC's host name");
        Text("systemId", true, 15, "the SMPP system_id");
        Text("password", false, 8, "the SMPP password");
        Text("systemType", false, 12, "the SMPP system_type");
        Text("sourceAddress", true, 21, "the sender id, short code or number");
        if (Str(config, "sourceAddress") is { } source && Sender(config).SourceAddress is { Length: > 20 })
            errors.Add(("$.config.sourceAddress", $"at most 20 characters ({source.Length} given)"));
        void Int(string name, int min, int max)
        {
            if (config.TryGetProperty(name, out var v) && (!v.TryGetInt32(out var n) || n < min || n > max)) errors.Add(($"$.config.{name}", $"expected {min}-{max}"));
        }
        Int("port", 1, 65535);
        Int("window", 1, 1000);
        Int("sourceTon", 0, 6);
        Int("sourceNpi", 0, 18);
        foreach (var (name, min, max) in Durations)
        {
            if (config.TryGetProperty(name, out var v) && (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || d < min || d > max))
                errors.Add(($"$.config.{name}", $"expected a number of seconds, {min}-{max}"));
        }
        if (config.TryGetProperty("registeredDelivery", out var rd) && rd.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            errors.Add(("$.config.registeredDelivery", "expected true or false"));
        if (errors.Count == 0)
        {
            try
            {
                Options(config).Validate();
            }
            catch (ArgumentException ex)
            {
                errors.Add(("$.config", ex.Message));
            }
        }
        return errors;
    }

    private static string? Str(JsonElement config, string name) =>
        config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static SmppClientOptions Options(JsonElement config)
    {
        int Int(string name, int fallback) => config.TryGetProperty(name, out var v) && v.TryGetInt32(out var n) ? n : fallback;
        TimeSpan Seconds(string name, double fallback) =>
            TimeSpan.FromSeconds(config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) ? d : fallback);
        return new SmppClientOptions
        {
            Host = Str(config, "host")!,
            Port = Int("port", 2775),
            SystemId = Str(config, "systemId")!,
            Password = Str(config, "password") ?? "",
            SystemType = Str(config, "systemType") ?? "",
            Window = Int("window", 10),
            EnquireLinkInterval = Seconds("enquireLinkSeconds", 30),
            ResponseTimeout = Seconds("responseTimeoutSeconds", 10),
            ConnectTimeout = Seconds("maxConnectSeconds", 10),
            ThrottleDelayMin = Seconds("throttleSeconds", 1),
            ThrottleDelayMax = TimeSpan.FromSeconds(Math.Max(30, Seconds("throttleSeconds", 1).TotalSeconds)),
            ReconnectDelayMin = Seconds("reconnectMinSeconds", 0.25),
            ReconnectDelayMax = TimeSpan.FromSeconds(Math.Max(Seconds("reconnectMinSeconds", 0.25).TotalSeconds, Seconds("reconnectMaxSeconds", 30).TotalSeconds)),
        };
    }

    private static SmppSenderSettings Sender(JsonElement config)
    {
        var source = Str(config, "sourceAddress") ?? "";
        byte ton, npi;
        if (source.StartsWith('+'))
        {
            source = source[1..];
            (ton, npi) = (1, 1);
        }
        else if (source.Length > 0 && source.All(char.IsAsciiDigit))
        {
            (ton, npi) = (0, 1);
        }
        else
        {
            (ton, npi) = (5, 0);
        }
        if (config.TryGetProperty("sourceTon", out var t) && t.TryGetByte(out var tv)) ton = tv;
        if (config.TryGetProperty("sourceNpi", out var n) && n.TryGetByte(out var nv)) npi = nv;
        var receipts = !config.TryGetProperty("registeredDelivery", out var rd) || rd.ValueKind != JsonValueKind.False;
        return new SmppSenderSettings(source, ton, npi, receipts);
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports) =>
        new SmppProvider(id, Options(config), Sender(config), reports, time, logs);
}
