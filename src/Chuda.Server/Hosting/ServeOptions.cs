using Chuda.Engine;

namespace Chuda.Server.Hosting;

/// <summary>What <c>chuda serve</c> runs with. Built from the command line and the environment, or by tests.</summary>
public sealed record ServeOptions
{
    public const string DefaultUrls = "http://127.0.0.1:5080";

    public string Urls { get; init; } = DefaultUrls;

    /// <summary>Where the embedded SQLite store lives (git-ignored <c>./.chuda/</c> by default).</summary>
    public string DataDirectory { get; init; } = ".chuda";

    /// <summary>A PostgreSQL connection string (<c>Host=…;Database=…</c>); null for the embedded SQLite store.</summary>
    public string? Store { get; init; }

    /// <summary>Write key of workspace <c>default</c> to use instead of a random one.</summary>
    public string? WriteKey { get; init; }

    /// <summary>Admin (and instance admin) key of workspace <c>default</c> to use instead of a random one.</summary>
    public string? AdminKey { get; init; }

    public EngineOptions Engine { get; init; } = new();

    public Chuda.Engine.Segments.SegmentOptions Segments { get; init; } = new();

    public Chuda.Engine.Journeys.JourneyOptions Journeys { get; init; } = new();

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where first-start keys are printed.</summary>
    public TextWriter Console { get; init; } = System.Console.Out;

    /// <summary>Request logging and other framework chatter (off by default: it costs throughput).</summary>
    public bool VerboseLogging { get; init; }
}
