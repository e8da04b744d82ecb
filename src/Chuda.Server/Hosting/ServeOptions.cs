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

    /// <summary>Delivery tuning (defaults when null).</summary>
    public Chuda.Engine.Delivery.DeliveryOptions? Delivery { get; init; }

    /// <summary>The address people reach this server at, for tracking, unsubscribe and preference links
    /// (<c>--public-url</c> / <c>CHUDA_PUBLIC_URL</c>); null: the first address the server listens on.</summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>More provider kinds (tests, later channels); the built-in ones are sandbox, in_app, webhook and smtp.</summary>
    public IReadOnlyList<Chuda.Channels.Providers.IProviderFactory> ProviderFactories { get; init; } = [];

    /// <summary>The built operator console (<c>web/dist</c>) served at <c>/</c> (<c>--console-dir</c> / <c>CHUDA_CONSOLE_DIR</c>);
    /// null: <c>/</c> answers a page saying how to build it.</summary>
    public string? ConsoleDirectory { get; init; }

    /// <summary>Console sign-in sessions: idle and absolute expiry, sign-in throttling.</summary>
    public Chuda.Server.Api.SessionOptions Sessions { get; init; } = new();

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where first-start keys are printed.</summary>
    public TextWriter Console { get; init; } = System.Console.Out;

    /// <summary><c>--demo</c>: seed workspace <c>default</c> with the demo shop and keep its shoppers acting (null: off).</summary>
    public Chuda.Server.Demo.DemoOptions? Demo { get; init; }

    /// <summary>Request logging and other framework chatter (off by default: it costs throughput).</summary>
    public bool VerboseLogging { get; init; }
}
