using Microsoft.Extensions.Logging;

namespace Chuda.Channels.Sms.Smpp;

/// <summary>SMPP log messages, source-generated, with stable event ids (3600s: SMPP). Phone numbers and texts are not logged.</summary>
internal static partial class SmppLog
{
    [LoggerMessage(3601, LogLevel.Information, "SMPP session {SessionId} bound to {Host}:{Port} as {SystemId} (SMSC {SmscId})")]
    public static partial void Bound(ILogger logger, long sessionId, string host, int port, string systemId, string smscId);

    [LoggerMessage(3602, LogLevel.Information, "SMPP session {SessionId} closed ({Reason}); {InFlight} request(s) in flight fail")]
    public static partial void Closed(ILogger logger, long sessionId, string reason, int inFlight);

    [LoggerMessage(3603, LogLevel.Debug, "SMPP session {SessionId} unbound")]
    public static partial void Unbound(ILogger logger, long sessionId);

    [LoggerMessage(3604, LogLevel.Debug, "SMPP session {SessionId}: unbind got no answer ({Reason})")]
    public static partial void UnbindFailed(ILogger logger, long sessionId, string reason);

    [LoggerMessage(3605, LogLevel.Debug, "SMPP session {SessionId}: {Command} with sequence {Sequence} matches no request (late or unknown)")]
    public static partial void UnexpectedResponse(ILogger logger, long sessionId, string command, uint sequence);

    [LoggerMessage(3606, LogLevel.Warning, "SMPP session {SessionId}: malformed deliver_sm {Sequence}: {Reason}")]
    public static partial void MalformedDeliver(ILogger logger, long sessionId, uint sequence, string reason);

    [LoggerMessage(3607, LogLevel.Warning, "SMPP session {SessionId}: deliver_sm {Sequence} not taken ({Reason}); answered ESME_RX_T_APPN so the SMSC retries")]
    public static partial void DeliverHandlerFailed(ILogger logger, long sessionId, uint sequence, string reason);

    [LoggerMessage(3608, LogLevel.Warning, "SMPP connection to {Host}:{Port} failed ({Reason}); next attempt in {DelayMs} ms")]
    public static partial void ConnectFailed(ILogger logger, string host, int port, string reason, double delayMs);

    [LoggerMessage(3609, LogLevel.Information, "SMSC {Host}:{Port} throttles ({Status}); the session pauses {DelayMs} ms")]
    public static partial void Throttled(ILogger logger, string host, int port, string status, double delayMs);

    [LoggerMessage(3610, LogLevel.Debug, "SMPP session {SessionId}: a loop ended with {Reason}")]
    public static partial void LoopFailed(ILogger logger, long sessionId, string reason);

    [LoggerMessage(3611, LogLevel.Warning, "SMPP deliver_sm receipt without a message id ignored")]
    public static partial void ReceiptWithoutId(ILogger logger);
}
