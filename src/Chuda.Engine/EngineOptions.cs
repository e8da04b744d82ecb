namespace Chuda.Engine;

/// <summary>Tuning of the processing loop. Validated at start (<see cref="Validate"/>).</summary>
public sealed record EngineOptions
{
    /// <summary>Partitions (one consumer each). Null: as many as the store allows writers, at most the core count.</summary>
    public int? Partitions { get; init; }

    /// <summary>Most commands one partition applies in one transaction (group commit).</summary>
    public int MaxBatchSize { get; init; } = 4096;

    /// <summary>Commands accepted but not yet committed, across partitions, before new work is refused with 503.</summary>
    public int MaxQueuedCommands { get; init; } = 500_000;

    /// <summary>Identities (identity → profile id) each partition keeps in memory; up to twice this many. 0 disables.</summary>
    public int IdentityCacheSize { get; init; } = 200_000;

    /// <summary>Profile records each partition keeps in memory; up to twice this many. 0 disables.</summary>
    public int ProfileCacheSize { get; init; } = 50_000;

    /// <summary>Recently active profiles whose segment-relevant event history each partition keeps in memory (up to twice this many;
    /// histories longer than <see cref="SegmentHistoryMaxEvents"/> are not kept). Saves re-reading and re-parsing a
    /// profile's history on each event when segments read events. 0 disables.</summary>
    public int SegmentHistoryCacheSize { get; init; } = 5_000;

    /// <summary>Longest history (events) the segment history cache keeps for one profile.</summary>
    public int SegmentHistoryMaxEvents { get; init; } = 500;

    /// <summary>How long a write key or admin key lookup is cached (revocations elsewhere take effect within it).</summary>
    public TimeSpan KeyCacheTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long shutdown waits for accepted work to commit.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (Partitions is < 1 or > 1024) throw new ArgumentOutOfRangeException(nameof(Partitions), Partitions, "Partitions must be 1..1024.");
        if (MaxBatchSize is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "MaxBatchSize must be 1..100000.");
        if (MaxQueuedCommands < MaxBatchSize) throw new ArgumentOutOfRangeException(nameof(MaxQueuedCommands), MaxQueuedCommands, "MaxQueuedCommands must be at least MaxBatchSize.");
        if (IdentityCacheSize is < 0 or > 10_000_000) throw new ArgumentOutOfRangeException(nameof(IdentityCacheSize), IdentityCacheSize, "IdentityCacheSize must be 0..10000000.");
        if (ProfileCacheSize is < 0 or > 10_000_000) throw new ArgumentOutOfRangeException(nameof(ProfileCacheSize), ProfileCacheSize, "ProfileCacheSize must be 0..10000000.");
        if (SegmentHistoryCacheSize is < 0 or > 10_000_000) throw new ArgumentOutOfRangeException(nameof(SegmentHistoryCacheSize), SegmentHistoryCacheSize, "SegmentHistoryCacheSize must be 0..10000000.");
        if (SegmentHistoryMaxEvents is < 0 or > 1_000_000) throw new ArgumentOutOfRangeException(nameof(SegmentHistoryMaxEvents), SegmentHistoryMaxEvents, "SegmentHistoryMaxEvents must be 0..1000000.");
        if (KeyCacheTtl < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(KeyCacheTtl), KeyCacheTtl, "KeyCacheTtl must not be negative.");
        if (DrainTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(DrainTimeout), DrainTimeout, "DrainTimeout must be positive.");
    }
}
