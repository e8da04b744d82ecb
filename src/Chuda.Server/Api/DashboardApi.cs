using System.Globalization;
using Chuda.Domain.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Storage;

namespace Chuda.Server.Api;

/// <param name="Profiles">The workspace's current profile count (not limited to the range).</param>
public sealed record DashboardTotals(long Profiles, long Events, long Messages, long Conversions);

public sealed record DashboardCount(DateTimeOffset Start, long Count);

/// <param name="Channel">The channel the message went (or goes) out on; <c>none</c> when no channel was chosen.</param>
/// <param name="Status">The message's current status.</param>
public sealed record DashboardMessageCount(DateTimeOffset Start, string Channel, string Status, long Count);

public sealed record DashboardView(DateTimeOffset From, DateTimeOffset To, string Interval, DashboardTotals Totals,
    IReadOnlyList<DashboardCount> Events, IReadOnlyList<DashboardMessageCount> Messages, IReadOnlyList<DashboardCount> Conversions);

/// <summary>The console's dashboard: events ingested, messages by channel and status, and journey conversions over time.</summary>
public static class DashboardApi
{
    public const int MaxBuckets = 10_000;

    public static IEndpointRouteBuilder MapDashboardApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/dashboard", GetAsync).WithTags("Console").WithName("dashboard")
            .WithSummary("Events (by receive time), messages (by creation time, per channel and current status) and journey goal conversions per " +
                "interval (from, to: ISO 8601 instants, default the last 7 days; interval: ISO 8601 duration, default PT1H; at most 10,000 buckets)")
            .Produces<DashboardView>().ProducesProblem(400).ProducesProblem(401);
        return app;
    }

    private static async Task<IResult> GetAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, TimeProvider time,
        string? from, string? to, string? interval)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var step = TimeSpan.FromHours(1);
        if (interval is not null)
        {
            if (!RuleDuration.TryParse(interval, out var d, out _) || d < TimeSpan.FromMilliseconds(1))
                return Problems.Field("interval", "An ISO 8601 duration such as PT1H, P1D or PT15M.");
            step = d;
        }
        var end = Millis(time.GetUtcNow());
        if (to is not null)
        {
            if (!TryInstant(to, out end)) return Problems.Field("to", "An ISO 8601 instant such as 2026-11-22T00:00:00Z.");
            end = Millis(end);
        }
        var start = end - TimeSpan.FromDays(7);
        if (from is not null)
        {
            if (!TryInstant(from, out start)) return Problems.Field("from", "An ISO 8601 instant such as 2026-11-15T00:00:00Z.");
            start = Millis(start);
        }
        if (start >= end) return Problems.Field("from", "Must be before 'to'.");
        if ((end - start) / step > MaxBuckets) return Problems.Field("interval", "Too many buckets (at most 10,000); use a longer interval.");
        var counts = await store.GetDashboardCountsAsync(caller.Workspace.Id, start, end, step, context.RequestAborted);
        var profiles = await store.CountProfilesAsync(caller.Workspace.Id, context.RequestAborted);
        var totals = new DashboardTotals(profiles, counts.Events.Sum(b => b.Count), counts.Messages.Sum(b => b.Count), counts.Conversions.Sum(b => b.Count));
        return TypedResults.Ok(new DashboardView(start, end, RuleDuration.Format(step), totals,
            [.. counts.Events.Select(b => new DashboardCount(b.Start, b.Count))],
            [.. counts.Messages.Select(b => new DashboardMessageCount(b.Start, b.Channel ?? "none", b.Status, b.Count))],
            [.. counts.Conversions.Select(b => new DashboardCount(b.Start, b.Count))]));
    }

    private static bool TryInstant(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private static DateTimeOffset Millis(DateTimeOffset t) => t.AddTicks(-(t.Ticks % TimeSpan.TicksPerMillisecond));
}
