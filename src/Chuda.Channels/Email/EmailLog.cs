using Microsoft.Extensions.Logging;

namespace Chuda.Channels.Email;

/// <summary>All SMTP log messages, source-generated, with stable event ids (3100s: e-mail). Recipients are not logged.</summary>
internal static partial class EmailLog
{
    [LoggerMessage(3101, LogLevel.Debug, "SMTP connection {ConnectionId} to {Host}:{Port} ready (TLS {Encrypted}, PIPELINING {Pipelining}, AUTH {Auth})")]
    public static partial void Connected(ILogger logger, long connectionId, string host, int port, bool encrypted, bool pipelining, string? auth);

    [LoggerMessage(3102, LogLevel.Debug, "E-mail {MessageId} accepted by {Host} ({ReplyCode}, queue id {QueueId}) in {DurationMs} ms")]
    public static partial void Accepted(ILogger logger, string messageId, string host, int? replyCode, string? queueId, double durationMs);

    [LoggerMessage(3103, LogLevel.Information, "E-mail {MessageId} to {Host} failed ({Outcome} at {Stage}, reply {ReplyCode} {EnhancedCode}): {Text}")]
    public static partial void Failed(ILogger logger, string messageId, string host, SmtpOutcome outcome, SmtpStage stage, int? replyCode, string? enhancedCode, string text);

    [LoggerMessage(3104, LogLevel.Warning, "SMTP server {Host}:{Port} cannot be used as configured ({Stage}): {Text}")]
    public static partial void Misconfigured(ILogger logger, string host, int port, SmtpStage stage, string text);

    [LoggerMessage(3105, LogLevel.Debug, "SMTP connection {ConnectionId} to {Host} closed after {Transactions} transaction(s): {Reason}")]
    public static partial void Closed(ILogger logger, long connectionId, string host, int transactions, string reason);

    [LoggerMessage(3106, LogLevel.Debug, "SMTP connection {ConnectionId} to {Host} was stale ({Reason}); e-mail {MessageId} is tried once more on a new connection")]
    public static partial void Stale(ILogger logger, long connectionId, string host, string reason, string messageId);
}
