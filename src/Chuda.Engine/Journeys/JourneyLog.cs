using Microsoft.Extensions.Logging;

namespace Chuda.Engine.Journeys;

internal static partial class JourneyLog
{
    [LoggerMessage(3001, LogLevel.Error, "Journey timer loop failed; retrying")]
    public static partial void SchedulerFailed(ILogger logger, Exception exception);

    [LoggerMessage(3002, LogLevel.Warning, "{Count} journey timer(s) are due again right after being handed over; backing off")]
    public static partial void TimersStuck(ILogger logger, int count);

    [LoggerMessage(3003, LogLevel.Error, "Journey run loop (broadcasts, activations) failed; retrying")]
    public static partial void RunnerFailed(ILogger logger, Exception exception);

    [LoggerMessage(3004, LogLevel.Information, "Journey {Journey} (workspace {Workspace}): run {Run} started")]
    public static partial void RunStarted(ILogger logger, string journey, long workspace, string run);

    [LoggerMessage(3005, LogLevel.Information, "Journey {Journey} (workspace {Workspace}): run {Run} done, {Profiles} profile(s) offered")]
    public static partial void RunDone(ILogger logger, string journey, long workspace, string run, long profiles);

    [LoggerMessage(3006, LogLevel.Error, "Webhook dispatcher failed; retrying")]
    public static partial void WebhooksFailed(ILogger logger, Exception exception);

    [LoggerMessage(3007, LogLevel.Warning, "Webhook {Id} to {Url} gave up after {Attempts} attempt(s): {Error}")]
    public static partial void WebhookGaveUp(ILogger logger, long id, string url, int attempts, string error);
}
