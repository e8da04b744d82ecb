using Chuda.Domain.Journeys;
using Chuda.Testing;

namespace Chuda.Engine.Tests.Journeys;

internal static class JourneyTestKit
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    /// <summary>The text of a shipped sample under samples/journeys.</summary>
    public static string Sample(string name) => File.ReadAllText(Repository.File(Path.Combine("samples", "journeys", name + ".json")));

    public static async Task<SegmentHarness> StartAsync(TempDirectory dir, DateTimeOffset? start = null, bool durable = false)
    {
        var time = new FakeTimeProvider(start ?? T0);
        return await SegmentHarness.StartAsync(dir.Path, time, durable);
    }

    public static string Track(string userId, string name, string properties = "{}") =>
        $$"""{"type":"track","userId":"{{userId}}","event":"{{name}}","properties":{{properties}}}""";

    public static string Identify(string userId, string traits) =>
        $$"""{"type":"identify","userId":"{{userId}}","traits":{{traits}}}""";

    public static IEnumerable<string> Templates(this IEnumerable<SendRequest> sends) => sends.Select(s => s.Template);
}
