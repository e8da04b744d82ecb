using System.Text;
using System.Text.Json;
using Chuda.Channels.Webhooks;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Providers;

/// <summary>
/// The webhook channel: each message is POSTed to the configured endpoint, signed with Standard Webhooks
/// (<c>webhook-id</c> is the message's idempotency key, so a receiver can drop a repeat), through the SSRF guard and
/// with the client's timeout. The body is the template's rendered webhook body, else a JSON envelope.
/// Configuration: <c>{"url": "https://…", "secret": "whsec_…", "headers": {"X-Team": "growth"}}</c>.
/// </summary>
public sealed class WebhookChannelProvider(string id, Uri url, string? secret, IReadOnlyDictionary<string, string> headers, WebhookClient client) : IChannelProvider
{
    public const string KindName = "webhook";

    public string Id { get; } = id;

    public string Channel => "webhook";

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        var body = message.Content is WebhookContent w ? w.Body : Envelope(message);
        var result = await client.SendAsync(new WebhookRequest
        {
            Url = url,
            MessageId = message.IdempotencyKey,
            Body = Encoding.UTF8.GetBytes(body),
            Headers = headers,
            Secret = secret,
        }, cancellationToken);
        if (result.Delivered) return new ProviderResult(ProviderOutcome.Delivered, $"endpoint answered {result.StatusCode}", message.IdempotencyKey);
        var detail = result.Error ?? $"endpoint answered {result.StatusCode}";
        return new ProviderResult(result.Retryable ? ProviderOutcome.TransientFailure : ProviderOutcome.PermanentFailure, detail, RetryAfter: result.RetryAfter);
    }

    private static string Envelope(ProviderMessage message)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("messageId", message.MessageId);
            writer.WriteString("recipient", message.Recipient);
            writer.WriteString("category", message.Category);
            writer.WritePropertyName("content");
            JsonSerializer.Serialize(writer, message.Content, message.Content.GetType());
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Creates webhook channel providers; they share one <see cref="WebhookClient"/> (connection pool, SSRF guard).</summary>
public sealed class WebhookChannelProviderFactory(WebhookClient client) : IProviderFactory
{
    public string Kind => WebhookChannelProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["webhook"];

    public IReadOnlyList<string> SecretFields { get; } = ["secret"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string, string)>();
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"url\": \"https://…\", \"secret\": \"…\", \"headers\": {…}}"));
            return errors;
        }
        var hasUrl = false;
        foreach (var p in config.EnumerateObject())
        {
            switch (p.Name)
            {
                case "url":
                    hasUrl = true;
                    if (p.Value.ValueKind != JsonValueKind.String || !Uri.TryCreate(p.Value.GetString(), UriKind.Absolute, out var u) || u.Scheme is not ("https" or "http"))
                        errors.Add(("$.config.url", "expected an absolute http(s) URL"));
                    else if (client.Guard.CheckUrl(u) is { Allowed: false } verdict)
                        errors.Add(("$.config.url", "not allowed: " + verdict.Reason));
                    break;
                case "secret":
                    if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString()!.Length < 16) errors.Add(("$.config.secret", "expected a string of at least 16 characters"));
                    break;
                case "headers":
                    if (p.Value.ValueKind != JsonValueKind.Object || p.Value.EnumerateObject().Any(h => h.Value.ValueKind != JsonValueKind.String))
                        errors.Add(("$.config.headers", "expected an object of header name → string value"));
                    break;
                default:
                    errors.Add(($"$.config.{p.Name}", "unknown property; expected url, secret, headers"));
                    break;
            }
        }
        if (!hasUrl) errors.Add(("$.config.url", "required"));
        return errors;
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports)
    {
        var url = new Uri(config.GetProperty("url").GetString()!);
        var secret = config.TryGetProperty("secret", out var s) ? s.GetString() : null;
        var headers = config.TryGetProperty("headers", out var h)
            ? h.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.OrdinalIgnoreCase)
            : new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        return new WebhookChannelProvider(id, url, secret, headers, client);
    }
}
