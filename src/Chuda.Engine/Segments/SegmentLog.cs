using Microsoft.Extensions.Logging;

namespace Chuda.Engine.Segments;

internal static partial class SegmentLog
{
    [LoggerMessage(2001, LogLevel.Error, "Segment re-check loop failed; retrying")]
    public static partial void SchedulerFailed(ILogger logger, Exception exception);

    [LoggerMessage(2002, LogLevel.Warning, "{Count} segment re-check(s) are due again right after being handed over; backing off")]
    public static partial void ChecksStuck(ILogger logger, int count);

    [LoggerMessage(2003, LogLevel.Information, "Segment {Segment} (workspace {Workspace}, v{Version}): backfill started over {Total} profile(s)")]
    public static partial void BackfillStarted(ILogger logger, string segment, long workspace, int version, long total);

    [LoggerMessage(2004, LogLevel.Information, "Segment {Segment} (workspace {Workspace}, v{Version}): backfill done, {Done} profile(s) evaluated")]
    public static partial void BackfillDone(ILogger logger, string segment, long workspace, int version, long done);

    [LoggerMessage(2005, LogLevel.Error, "Segment backfill failed; retrying")]
    public static partial void BackfillFailed(ILogger logger, Exception exception);
}
