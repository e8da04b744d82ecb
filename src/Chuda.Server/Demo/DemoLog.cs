namespace Chuda.Server.Demo;

/// <summary>The demo's log messages, source-generated, with stable event ids.</summary>
internal static partial class DemoLog
{
    [LoggerMessage(7001, LogLevel.Information, "Demo: seeding workspace 'default' with {Profiles} shoppers (seed {Seed}) in the background; the console is already up")]
    public static partial void Seeding(ILogger logger, int profiles, int seed);

    [LoggerMessage(7002, LogLevel.Information, "Demo: history of {Done}/{Total} shoppers ingested ({Events} events)")]
    public static partial void Progress(ILogger logger, int done, int total, int events);

    [LoggerMessage(7003, LogLevel.Information, "Demo: seeded {Profiles} shoppers ({Events} events), {Templates} templates, {Segments} segments, {Journeys} published journeys")]
    public static partial void Seeded(ILogger logger, int profiles, int events, int templates, int segments, int journeys);

    [LoggerMessage(7004, LogLevel.Information, "Demo: workspace 'default' was seeded before ({Marker}); resuming the activity")]
    public static partial void Resuming(ILogger logger, string marker);

    [LoggerMessage(7005, LogLevel.Information, "Demo: shoppers act every {Interval} ({Actors} per tick)")]
    public static partial void ActivityStarted(ILogger logger, TimeSpan interval, int actors);

    [LoggerMessage(7006, LogLevel.Warning, "Demo: journey '{Journey}' waits for approval (the workspace requires approval to publish)")]
    public static partial void AwaitingApproval(ILogger logger, string journey);

    [LoggerMessage(7007, LogLevel.Warning, "Demo: segment backfill is still running after 2 minutes; publishing the journeys anyway")]
    public static partial void BackfillSlow(ILogger logger);

    [LoggerMessage(7008, LogLevel.Error, "Demo: seeding or activity failed; the server keeps running without it")]
    public static partial void Failed(ILogger logger, Exception exception);

    [LoggerMessage(7009, LogLevel.Warning, "{Message}")]
    public static partial void Refused(ILogger logger, string message);
}
