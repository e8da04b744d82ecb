using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Email;
using Chuda.Domain.Templates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chuda.Channels.Providers;

/// <summary>
/// E-mail over SMTP through <see cref="SmtpSender"/> (connection reuse, PIPELINING, STARTTLS, AUTH). The
/// <c>Message-ID</c> is derived from the message's idempotency key, so a message sent again after a crash carries the
/// same id and receivers can recognise the repeat. A 5xx to RCPT TO that names the mailbox or domain (5.1.x, or 550/551/553
/// without an enhanced code) is a hard bounce; other 5xx replies are permanent failures; 4xx and connection faults are
/// transient.
/// </summary>
public sealed class SmtpProvider(string id, SmtpSender sender, EmailAddress from, EmailAddress? replyTo) : IChannelProvider
{
    public const string KindName = "smtp";

    public string Id { get; } = id;

    public string Channel => "email";

    public SmtpSender Sender => sender;

    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        if (message.Content is not EmailContent content) return new ProviderResult(ProviderOutcome.PermanentFailure, "not e-mail content");
        SmtpSendResult result;
        try
        {
            var email = new EmailMessage
            {
                From = content.From is { Length: > 0 } f ? ParseMailbox(f) ?? from : from,
                To = new EmailAddress(message.Recipient),
                ReplyTo = content.ReplyTo is { Length: > 0 } r ? ParseMailbox(r) ?? replyTo : replyTo,
                Subject = content.Subject,
                Html = content.Html,
                Text = content.Text,
                MessageId = MessageIdFor(message),
                Headers = message.Headers,
            };
            // The sender validates addresses and headers (no CR/LF injection) before it connects.
            result = await sender.SendAsync(email, cancellationToken);
        }
        catch (ArgumentException ex)
        {
            return new ProviderResult(ProviderOutcome.PermanentFailure, "invalid message: " + ex.Message);
        }
        var detail = result.ReplyCode is { } code ? $"{code} {result.EnhancedCode} {result.Text}".Replace("  ", " ", StringComparison.Ordinal) : result.Text;
        return result.Outcome switch
        {
            SmtpOutcome.Accepted => new ProviderResult(ProviderOutcome.Accepted, detail, result.MessageId),
            SmtpOutcome.TransientFailure => new ProviderResult(ProviderOutcome.TransientFailure, detail),
            _ => new ProviderResult(ProviderOutcome.PermanentFailure, detail, HardBounce: IsHardBounce(result)),
        };
    }

    /// <summary>The left part of the Message-ID: the public message id and a digest of the idempotency key (stable across retries).</summary>
    public static string MessageIdFor(ProviderMessage message)
    {
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(message.IdempotencyKey)))[..16];
        return message.MessageId.Replace('_', '.') + "." + digest;
    }

    private static bool IsHardBounce(SmtpSendResult result) =>
        result.Stage == SmtpStage.RcptTo && (result.EnhancedCode is { } e ? e.StartsWith("5.1.", StringComparison.Ordinal) : result.ReplyCode is 550 or 551 or 553);

    /// <summary>Reads <c>Name &lt;a@b&gt;</c> or <c>a@b</c>.</summary>
    public static EmailAddress? ParseMailbox(string text)
    {
        text = text.Trim();
        var lt = text.LastIndexOf('<');
        if (lt >= 0 && text.EndsWith('>'))
        {
            var address = text[(lt + 1)..^1].Trim();
            var name = text[..lt].Trim().Trim('"');
            return address.Contains('@', StringComparison.Ordinal) ? new EmailAddress(address, name.Length > 0 ? name : null) : null;
        }
        return text.Contains('@', StringComparison.Ordinal) && !text.Contains(' ', StringComparison.Ordinal) ? new EmailAddress(text) : null;
    }

    public ValueTask DisposeAsync() => sender.DisposeAsync();
}

/// <summary>
/// Configuration: <c>{"host": "smtp.example.com", "port": 587, "startTls": "required", "implicitTls": false,
/// "username": "…", "password": "…", "from": "Shop &lt;no-reply@shop.example&gt;", "replyTo": "…", "localDomain": "shop.example",
/// "maxConnections": 4, "maxMessagesPerConnection": 100, "allowPlaintextAuth": false}</c>. The password is write-only.
/// </summary>
public sealed class SmtpProviderFactory(TimeProvider time, ILoggerFactory? logs = null) : IProviderFactory
{
    public string Kind => SmtpProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["email"];

    public IReadOnlyList<string> SecretFields { get; } = ["password"];

    private static readonly string[] Known =
        ["host", "port", "startTls", "implicitTls", "username", "password", "from", "replyTo", "localDomain", "maxConnections", "maxMessagesPerConnection",
         "allowPlaintextAuth", "commandTimeoutSeconds"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config)
    {
        var errors = new List<(string, string)>();
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add(("$.config", "expected {\"host\": …, \"from\": …}"));
            return errors;
        }
        foreach (var p in config.EnumerateObject())
        {
            if (!Known.Contains(p.Name)) errors.Add(($"$.config.{p.Name}", $"unknown property; expected {string.Join(", ", Known)}"));
        }
        string? Str(string name) => config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (string.IsNullOrWhiteSpace(Str("host"))) errors.Add(("$.config.host", "required: the SMTP server's host name"));
        if (Str("from") is not { } from || SmtpProvider.ParseMailbox(from) is null) errors.Add(("$.config.from", "required: \"Name <address@domain>\" or an address"));
        if (Str("replyTo") is { } reply && SmtpProvider.ParseMailbox(reply) is null) errors.Add(("$.config.replyTo", "expected \"Name <address@domain>\" or an address"));
        if (config.TryGetProperty("port", out var port) && (!port.TryGetInt32(out var pn) || pn is < 1 or > 65535)) errors.Add(("$.config.port", "expected 1-65535"));
        if (Str("startTls") is { } tls && tls is not ("none" or "opportunistic" or "required")) errors.Add(("$.config.startTls", "expected none, opportunistic or required"));
        foreach (var (name, max) in new[] { ("maxConnections", 64), ("maxMessagesPerConnection", 100_000), ("commandTimeoutSeconds", 600) })
        {
            if (config.TryGetProperty(name, out var n) && (!n.TryGetInt32(out var v) || v < 1 || v > max)) errors.Add(($"$.config.{name}", $"expected 1-{max}"));
        }
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

    private static SmtpSenderOptions Options(JsonElement config)
    {
        string? Str(string name) => config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        int Int(string name, int fallback) => config.TryGetProperty(name, out var v) && v.TryGetInt32(out var n) ? n : fallback;
        bool Bool(string name) => config.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
        var implicitTls = Bool("implicitTls");
        var from = SmtpProvider.ParseMailbox(Str("from") ?? "")!;
        return new SmtpSenderOptions
        {
            Host = Str("host")!,
            Port = Int("port", implicitTls ? 465 : 587),
            ImplicitTls = implicitTls,
            StartTls = Str("startTls") switch { "none" => StartTlsPolicy.None, "opportunistic" => StartTlsPolicy.Opportunistic, _ => StartTlsPolicy.Required },
            Username = Str("username"),
            Password = Str("password"),
            AllowPlaintextAuthentication = Bool("allowPlaintextAuth"),
            LocalDomain = Str("localDomain") ?? from.Address[(from.Address.IndexOf('@', StringComparison.Ordinal) + 1)..],
            MaxConnections = Int("maxConnections", 4),
            MaxMessagesPerConnection = Int("maxMessagesPerConnection", 100),
            CommandTimeout = TimeSpan.FromSeconds(Int("commandTimeoutSeconds", 60)),
        };
    }

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports)
    {
        var options = Options(config);
        var from = SmtpProvider.ParseMailbox(config.GetProperty("from").GetString()!)!;
        var reply = config.TryGetProperty("replyTo", out var r) && r.ValueKind == JsonValueKind.String ? SmtpProvider.ParseMailbox(r.GetString()!) : null;
        var sender = new SmtpSender(options, time, logs?.CreateLogger<SmtpSender>() ?? NullLogger<SmtpSender>.Instance);
        return new SmtpProvider(id, sender, from, reply);
    }
}
