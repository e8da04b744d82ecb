using Chuda.Engine;
using Chuda.Server.Hosting;

namespace Chuda.Server.Cli;

/// <summary>The <c>chuda</c> command line: serve, import, help.</summary>
public static class Cli
{
    public const string Usage = """
        chuda — open-source customer engagement engine

        Usage:
          chuda serve [--urls URL] [--data DIR] [--store CONNECTION] [--partitions N] [--demo]
              Run the server (default http://127.0.0.1:5080) on the embedded SQLite store in DIR
              (default ./.chuda), or on PostgreSQL with --store "Host=…;Database=…;Username=…"
              (env CHUDA_STORE). Env CHUDA_WRITE_KEY / CHUDA_ADMIN_KEY fix the keys of workspace 'default'.
              --public-url URL (env CHUDA_PUBLIC_URL): the address people reach this server at, used in
              tracking, unsubscribe and preference links (default: the first --urls address).
              --allow-networks CIDR[,CIDR…] (env CHUDA_ALLOW_NETWORKS): private networks that journey webhooks and
              HTTP channel vendors (SMS and voice gateways, Web Push) may reach, e.g. an on-premises SMS gateway at
              10.20.0.0/16. By default only public addresses are reachable.
              --console-dir DIR (env CHUDA_CONSOLE_DIR): the built operator console (web/dist) to serve at /;
              ./chuda builds it and sets this for you.
              --demo (env CHUDA_DEMO=1): seed workspace 'default' with a demo shop (shoppers with 14 days of history,
              templates, segments, published journeys on accelerated waits) once the server listens, and keep its
              shoppers acting every second; a restart resumes the activity without seeding again. Messages go to the
              sandbox outbox. --demo-profiles N (env CHUDA_DEMO_PROFILES): how many shoppers (default 3000).
          chuda import FILE [--workspace NAME] [--data DIR] [--store CONNECTION] [--report FILE]
              Load Segment-format JSONL events (*.jsonl, *.ndjson) or a CSV of profiles (header row =
              trait names; a userId column is required) through the same validation as the API.
              Idempotent by messageId; rejected lines go to a report (default FILE.rejected.txt).
          chuda simulate JOURNEY.json --events EVENTS.jsonl [--segments SEGMENTS.json] [--until INSTANT] [--time-zone ZONE]
              Dry run: play the events (Segment JSONL, each at its own timestamp) through the journey in virtual time
              and print, per profile, what it would do and when. Nothing is sent. SEGMENTS.json is an array of
              {"id","rule"} the journey refers to; --until defaults to 400 days after the last event.
          chuda --help
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return 0;
        }
        try
        {
            var (command, options) = Parse(args);
            switch (command)
            {
                case "serve":
                    return await ServeAsync(options);
                case "import":
                    return await ImportCommand.RunAsync(options, CancellationToken.None);
                case "simulate":
                    return await SimulateCommand.RunAsync(options, Console.Out, CancellationToken.None);
                default:
                    await Console.Error.WriteLineAsync($"Unknown command '{command}'.\n\n{Usage}");
                    return 2;
            }
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"{ex.Message}\n\n{Usage}");
            return 2;
        }
    }

    private static async Task<int> ServeAsync(CommandLine options)
    {
        options.EnsureNoPositional();
        var serve = options.ToServeOptions();
        await using var app = await ChudaApp.BuildAsync(serve, CancellationToken.None);
        await Console.Out.WriteLineAsync($"Chuda listening on {serve.Urls} (store: {(serve.Store is null ? "SQLite in " + Path.GetFullPath(serve.DataDirectory) : "PostgreSQL")})");
        await app.RunAsync();
        return 0;
    }

    internal static (string Command, CommandLine Options) Parse(string[] args)
    {
        var command = args[0];
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        var positional = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help") throw new UsageException($"Help for '{command}':");
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0) named[arg[2..eq]] = arg[(eq + 1)..];
                else if (CommandLine.Flags.Contains(arg[2..])) named[arg[2..]] = "true";
                else if (i + 1 < args.Length) named[arg[2..]] = args[++i];
                else throw new UsageException($"Option {arg} needs a value.");
            }
            else
            {
                positional.Add(arg);
            }
        }
        return (command, new CommandLine(named, positional));
    }
}

internal sealed class UsageException(string message) : Exception(message);

internal sealed record CommandLine(IReadOnlyDictionary<string, string> Named, IReadOnlyList<string> Positional)
{
    private static readonly HashSet<string> Known = ["urls", "data", "store", "partitions", "workspace", "report", "public-url", "allow-networks", "console-dir", "demo", "demo-profiles"];

    /// <summary>Options that take no value (<c>--demo</c>; <c>--demo=false</c> also works).</summary>
    public static readonly HashSet<string> Flags = ["demo"];

    public string? Get(string name) => Named.GetValueOrDefault(name);

    public void EnsureNoPositional()
    {
        if (Positional.Count > 0) throw new UsageException($"Unexpected argument '{Positional[0]}'.");
    }

    public ServeOptions ToServeOptions()
    {
        foreach (var name in Named.Keys)
        {
            if (!Known.Contains(name)) throw new UsageException($"Unknown option --{name}.");
        }
        int? partitions = null;
        if (Get("partitions") is { } p)
        {
            if (!int.TryParse(p, out var n) || n < 1) throw new UsageException("--partitions takes a positive whole number.");
            partitions = n;
        }
        return new ServeOptions
        {
            Urls = Get("urls") ?? Environment.GetEnvironmentVariable("CHUDA_URLS") ?? ServeOptions.DefaultUrls,
            DataDirectory = Get("data") ?? Environment.GetEnvironmentVariable("CHUDA_DATA") ?? ".chuda",
            Store = Get("store") ?? NullIfEmpty(Environment.GetEnvironmentVariable("CHUDA_STORE")),
            WriteKey = NullIfEmpty(Environment.GetEnvironmentVariable("CHUDA_WRITE_KEY")),
            AdminKey = NullIfEmpty(Environment.GetEnvironmentVariable("CHUDA_ADMIN_KEY")),
            Engine = new EngineOptions { Partitions = partitions },
            PublicUrl = PublicUrl(Get("public-url") ?? NullIfEmpty(Environment.GetEnvironmentVariable("CHUDA_PUBLIC_URL"))),
            ConsoleDirectory = Get("console-dir") ?? NullIfEmpty(Environment.GetEnvironmentVariable("CHUDA_CONSOLE_DIR")),
            Journeys = new Chuda.Engine.Journeys.JourneyOptions
            {
                WebhookAllowedNetworks = Networks(Get("allow-networks") ?? NullIfEmpty(Environment.GetEnvironmentVariable("CHUDA_ALLOW_NETWORKS"))),
            },
            Demo = Demo(),
        };
    }

    private Chuda.Server.Demo.DemoOptions? Demo()
    {
        var on = Get("demo") ?? NullIfEmpty(Environment.GetEnvironmentVariable("CHUDA_DEMO"));
        var enabled = on?.ToLowerInvariant() switch
        {
            null or "0" or "false" or "no" or "off" => false,
            "1" or "true" or "yes" or "on" => true,
            _ => throw new UsageException("--demo takes no value (or true / false); CHUDA_DEMO takes 1 or 0."),
        };
        var profilesText = Get("demo-profiles") ?? NullIfEmpty(Environment.GetEnvironmentVariable("CHUDA_DEMO_PROFILES"));
        if (!enabled)
        {
            if (Get("demo-profiles") is not null) throw new UsageException("--demo-profiles needs --demo.");
            return null;
        }
        var demo = new Chuda.Server.Demo.DemoOptions();
        if (profilesText is not null)
        {
            if (!int.TryParse(profilesText, out var n) || n is < 10 or > 200_000) throw new UsageException("--demo-profiles takes a whole number from 10 to 200000.");
            demo = demo with { Profiles = n };
        }
        return demo;
    }

    private static string[] Networks(string? text)
    {
        if (text is null) return [];
        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        try
        {
            // The same rules the SSRF guard applies at start-up (CIDR or single addresses, no bits after the prefix, never 0/0).
            _ = new Chuda.Channels.Webhooks.SsrfGuard(new Chuda.Channels.Webhooks.WebhookSecurityOptions { AllowedNetworks = list });
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"--allow-networks takes networks separated by commas, e.g. 10.20.0.0/16,fd00::/8: {ex.Message}");
        }
        return list;
    }

    private static Uri? PublicUrl(string? text)
    {
        if (text is null) return null;
        if (!Uri.TryCreate(text.TrimEnd('/') + "/", UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new UsageException("--public-url takes an absolute http(s) URL, e.g. https://chuda.example.com");
        return url;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
