using System.Text;
using System.Text.Json;
using Chuda.Channels.Sms.Http;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>
/// SMS through any HTTP gateway, described by configuration (see <see cref="HttpSmsProviderFactory"/>): the request is built from
/// placeholder templates, optionally HMAC-signed, and the answer is mapped by status and by the gateway's own codes.
/// <list type="bullet">
/// <item>2xx (or one of <c>successStatus</c>) whose code at <c>errorCodePath</c> is one of <c>successCodes</c> (any code when none are
/// listed, no code needed then) → Accepted; the provider message id is read at <c>messageIdPath</c>, else Chuda's message id.</item>
/// <item>A code in <c>invalidNumberCodes</c> → permanent, hard bounce; in <c>permanentCodes</c> → permanent; in <c>transientCodes</c>
/// → transient; any other code, on a 2xx or another 4xx → permanent.</item>
/// <item>429 → transient with the answer's <c>Retry-After</c>; 401, 403, 408, 5xx, timeouts and refused connections → transient with
/// <see cref="ProviderResult.ProviderDown"/> (the engine fails over); a URL the SSRF rules refuse → permanent, provider down.</item>
/// </list>
/// Callbacks (<see cref="IProviderCallbacks"/>) must carry the configured HMAC signature; a JSON object, an array of them or a form
/// is read; each item with a status at <c>statusPath</c> becomes a Delivered / Failed / Undeliverable report for the id at
/// <c>messageIdPath</c> (other statuses are intermediate and ignored), and, when <c>inbound</c> is configured, an item with a sender and
/// text becomes an Inbound report (STOP / 退订 replies). The sender is reported as the gateway wrote it.
/// </summary>
public sealed class HttpSmsProvider(string id, HttpSmsConfig config, HttpGatewayClient client, TimeProvider time) : IChannelProvider, IProviderCallbacks
{
    public const string KindName = "http_sms";

    public string Id { get; } = id;

    public string Channel => "sms";

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Content is not SmsContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not SMS content");
        if (!PhoneNumbers.IsE164(message.Recipient))
            return new ProviderResult(ProviderOutcome.PermanentFailure, $"'{message.Recipient}' is not an E.164 number", HardBounce: true);
        var values = new PlaceholderValues(message.Recipient, content.Text, message.MessageId, message.IdempotencyKey, config.Secrets);
        if (!Uri.TryCreate(config.Url.Render(values, PlaceholderEscape.Url), UriKind.Absolute, out var url))
            return new ProviderResult(ProviderOutcome.PermanentFailure, "the rendered URL is not valid");
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, template) in config.Headers)
        {
            var value = template.Render(values, PlaceholderEscape.None);
            if (value.AsSpan().IndexOfAny('\r', '\n') >= 0)
                return new ProviderResult(ProviderOutcome.PermanentFailure, $"header '{name}' would contain a line break (placeholder value)");
            headers.Add(new(name, value));
        }
        var body = config.Body is null ? null : Encoding.UTF8.GetBytes(config.Body.Render(values, config.BodyEscape));
        if (config.Signature is { } signature) headers.AddRange(signature.Sign(body ?? [], time.GetUtcNow()));
        var response = await client.SendAsync(new HttpGatewayRequest(config.Method, url)
        {
            Headers = headers,
            Body = body,
            ContentType = body is null ? null : config.ContentType,
        }, cancellationToken);
        return Classify(response, message.MessageId);
    }

    private ProviderResult Classify(HttpGatewayResponse response, string messageId)
    {
        if (response.CommonOutcome() is { } common) return common;
        var mapping = config.Response;
        using var document = TryParse(response.Body);
        var root = document?.RootElement;
        var code = root is { } r1 && mapping.ErrorCodePath is { } codePath ? codePath.SelectText(r1) : null;
        var detail = response.Describe();
        if (response.Is2xx && (mapping.SuccessStatus is null || mapping.SuccessStatus.Contains(response.Status)))
        {
            var success = mapping.SuccessCodes.Count == 0
                ? code is null || !(mapping.InvalidNumberCodes.Contains(code) || mapping.PermanentCodes.Contains(code) || mapping.TransientCodes.Contains(code))
                : code is not null && mapping.SuccessCodes.Contains(code);
            if (success)
            {
                var providerId = root is { } r2 && mapping.MessageIdPath is { } idPath ? idPath.SelectText(r2) : null;
                return new ProviderResult(ProviderOutcome.Accepted, detail, providerId ?? messageId);
            }
        }
        if (code is not null)
        {
            if (mapping.InvalidNumberCodes.Contains(code)) return new ProviderResult(ProviderOutcome.PermanentFailure, detail, HardBounce: true);
            if (mapping.TransientCodes.Contains(code)) return new ProviderResult(ProviderOutcome.TransientFailure, detail, RetryAfter: response.RetryAfter);
        }
        return new ProviderResult(ProviderOutcome.PermanentFailure, detail);
    }

    private static JsonDocument? TryParse(string body)
    {
        if (body.Length == 0) return null;
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public ProviderCallbackResult HandleCallback(ProviderCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (config.Callback is not { } mapping) return ProviderCallbackResult.Rejected("this provider takes no callbacks");
        if (!mapping.Signature.Verify(callback.Headers, callback.Body.Span, time.GetUtcNow(), out var why)) return ProviderCallbackResult.Rejected(why);
        using var document = CallbackBody.Parse(callback.Body.Span);
        if (document is null) return new ProviderCallbackResult(true, [], 400, "unreadable body");
        var root = document.RootElement;
        var items = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
        var reports = new List<ProviderReport>();
        foreach (var item in items)
        {
            var status = mapping.StatusPath?.SelectText(item);
            var providerId = mapping.MessageIdPath?.SelectText(item);
            if (status is not null && providerId is not null)
            {
                ProviderReportKind? kind = mapping.DeliveredValues.Contains(status) ? ProviderReportKind.Delivered
                    : mapping.UndeliverableValues.Contains(status) ? ProviderReportKind.Undeliverable
                    : mapping.FailedValues.Contains(status) ? ProviderReportKind.Failed
                    : null;
                if (kind is { } k) reports.Add(new ProviderReport(k, providerId, status));
                continue;
            }
            if (mapping.InboundFromPath?.SelectText(item) is { } from && mapping.InboundTextPath?.SelectText(item) is { } text)
                reports.Add(new ProviderReport(ProviderReportKind.Inbound, null, "inbound SMS", from, text));
        }
        return new ProviderCallbackResult(true, reports, 200, "OK");
    }

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The generic HTTP SMS gateway. Configuration:
/// <code>
/// {"method": "POST", "url": "https://sms.example/send?to={{to_digits}}",
///  "headers": {"Authorization": "Bearer {{secret.token}}"},
///  "body": "{\"to\": \"{{to}}\", \"text\": \"{{text}}\", \"ref\": \"{{message_id}}\"}", "bodyType": "json",
///  "secrets": {"token": "…"},
///  "signature": {"scheme": "hmac-sha256", "header": "X-Signature", "secret": "…", "encoding": "hex", "over": "timestamp.body", "timestampHeader": "X-Timestamp"},
///  "response": {"successStatus": [200, 202], "messageIdPath": "$.data.id", "errorCodePath": "$.code", "successCodes": ["0"],
///               "permanentCodes": ["BLOCKED"], "invalidNumberCodes": ["INVALID_NUMBER"], "transientCodes": ["BUSY"]},
///  "callback": {"messageIdPath": "$.id", "statusPath": "$.status", "deliveredValues": ["DELIVRD"], "failedValues": ["UNDELIV"],
///               "undeliverableValues": ["UNKNOWN_NUMBER"], "inbound": {"fromPath": "$.from", "textPath": "$.text"},
///               "signature": {"scheme": "hmac-sha256", "header": "X-Signature", "secret": "…"}}}
/// </code>
/// Placeholders (<see cref="PlaceholderTemplate"/>) are escaped for where they stand: URL-encoded in the URL, JSON-escaped in a JSON
/// body (inside the template's quotes), form-encoded in a form body, as is in headers (a value with a line break fails the message)
/// and in a text body. <c>secrets</c>, <c>signature.secret</c> and <c>callback.signature.secret</c> are write-only.
/// </summary>
public sealed class HttpSmsProviderFactory(TimeProvider time, HttpGatewayOptions? options = null) : IProviderFactory
{
    public string Kind => HttpSmsProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["sms"];

    public IReadOnlyList<string> SecretFields { get; } = ["secrets", "signature.secret", "callback.signature.secret"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string Path, string Message)>();
        HttpSmsConfig.Parse(config, errors);
        return errors;
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports)
    {
        var errors = new List<(string Path, string Message)>();
        var parsed = HttpSmsConfig.Parse(config, errors)
            ?? throw new ArgumentException("Invalid http_sms configuration: " + string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}")), nameof(config));
        return new HttpSmsProvider(id, parsed, new HttpGatewayClient(options ?? new HttpGatewayOptions(), time), time);
    }
}
