using Chuda.Storage;

namespace Chuda.Engine.Scheduling;

/// <summary>When the engine's stored, time-driven work next comes due: journey timers, segment re-checks and journey runs
/// (broadcasts, activations). Drivers of virtual time (<c>chuda simulate</c>, tests) step the clock to it.</summary>
public static class DueWork
{
    /// <summary>The earliest due instant of any kind, or null when nothing is pending. With <paramref name="includeMessages"/>,
    /// the delivery outbox counts too (drivers that run the dispatcher).</summary>
    public static async Task<DateTimeOffset?> NextAsync(IChudaStore store, CancellationToken cancellationToken, bool includeMessages = false)
    {
        ArgumentNullException.ThrowIfNull(store);
        var candidates = new[]
        {
            await store.GetNextJourneyTimerDueAsync(cancellationToken),
            await store.GetNextSegmentCheckDueAsync(cancellationToken),
            (await store.ListJourneysAsync(null, cancellationToken)).Min(j => j.NextRunAt),
            includeMessages ? await store.GetNextMessageDueAsync(cancellationToken) : null,
        };
        return candidates.Where(c => c is not null).Min();
    }
}
