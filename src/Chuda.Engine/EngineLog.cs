using Microsoft.Extensions.Logging;

namespace Chuda.Engine;

/// <summary>All engine log messages, source-generated, with stable event ids.</summary>
internal static partial class EngineLog
{
    [LoggerMessage(1001, LogLevel.Information, "Processing with {Partitions} partition(s) on the {Store} store")]
    public static partial void Started(ILogger logger, int partitions, string store);

    [LoggerMessage(1002, LogLevel.Warning, "Partition {Partition}: write conflict, retrying batch of {Count} (attempt {Attempt})")]
    public static partial void Conflict(ILogger logger, int partition, int count, int attempt);

    [LoggerMessage(1003, LogLevel.Error, "Partition {Partition}: {Count} command(s) failed; their requests get an error and may be retried")]
    public static partial void BatchFailed(ILogger logger, Exception exception, int partition, int count);

    [LoggerMessage(1007, LogLevel.Warning, "Partition {Partition}: batch of {Count} failed; applying its commands one by one to isolate the failure")]
    public static partial void BatchIsolating(ILogger logger, Exception exception, int partition, int count);

    [LoggerMessage(1004, LogLevel.Information, "Draining: {Pending} accepted command(s) still to commit")]
    public static partial void Draining(ILogger logger, long pending);

    [LoggerMessage(1005, LogLevel.Information, "Drained; processing stopped")]
    public static partial void Drained(ILogger logger);

    [LoggerMessage(1006, LogLevel.Warning, "Drain timed out with {Pending} command(s) uncommitted (their requests got no 2xx)")]
    public static partial void DrainTimedOut(ILogger logger, long pending);
}
