using Microsoft.Extensions.Logging;

namespace Chuda.Channels.Webhooks;

/// <summary>All webhook log messages, source-generated, with stable event ids (3000s: channels).</summary>
internal static partial class WebhookLog
{
    [LoggerMessage(3001, LogLevel.Warning, "Webhook {MessageId} to {Host} refused by the SSRF rules: {Reason}")]
    public static partial void Refused(ILogger logger, string messageId, string host, string reason);

    [LoggerMessage(3002, LogLevel.Information, "Webhook {MessageId} to {Host} failed ({Failure}, status {StatusCode}, retryable {Retryable}): {Error}")]
    public static partial void Failed(ILogger logger, string messageId, string host, WebhookFailure failure, int? statusCode, bool retryable, string? error);

    [LoggerMessage(3003, LogLevel.Debug, "Webhook {MessageId} to {Host} delivered ({StatusCode}) in {DurationMs} ms")]
    public static partial void Delivered(ILogger logger, string messageId, string host, int statusCode, double durationMs);
}
