namespace Chuda.Storage;

/// <summary>How to open the store.</summary>
/// <param name="ConnectionString">
/// Null or empty: SQLite in <paramref name="DataDirectory"/> (file <c>chuda.db</c>). Containing <c>Host=</c>: PostgreSQL.
/// Starting with <c>Data Source=</c>: SQLite with exactly that connection string.
/// </param>
/// <param name="DataDirectory">Where the embedded SQLite database lives (created when missing).</param>
public sealed record StoreOptions(string? ConnectionString, string DataDirectory)
{
    /// <summary>SQLite <c>synchronous=FULL</c> (durable on every commit, the default) or <c>NORMAL</c> (WAL: a power loss may lose the last commits, never corrupts).</summary>
    public bool SqliteSynchronousFull { get; init; } = true;

    /// <summary>SQLite busy timeout, for when another process holds the write lock.</summary>
    public TimeSpan SqliteBusyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>SQLite page cache of the writer connection, in KiB.</summary>
    public int SqliteCacheSizeKib { get; init; } = 64 * 1024;

    /// <summary>
    /// SQLite WAL size (in 4 KiB pages) that triggers an automatic checkpoint. Ingest dirties index pages all over
    /// the dedup and per-profile B-trees, so a checkpoint after nearly every batch (SQLite's default, 1000 pages) copies
    /// most of them back each time; a larger WAL lets a page changed by many batches be copied once. The default
    /// (about 200 MB of WAL between checkpoints) roughly doubled ingest in the 5,000-row-batch measurement.
    /// </summary>
    public int SqliteWalAutoCheckpointPages { get; init; } = 50_000;

    /// <summary>PostgreSQL: how many partitions may write at once; null means <see cref="Environment.ProcessorCount"/>.</summary>
    public int? MaxPartitions { get; init; }

    /// <summary>Clock for the few timestamps the store writes itself (applied migrations).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
