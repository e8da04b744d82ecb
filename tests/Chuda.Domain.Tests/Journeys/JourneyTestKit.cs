using System.Text.Json;
using Chuda.Domain.Journeys;
using Chuda.Domain.Segments;
using Chuda.Testing;

namespace Chuda.Domain.Tests.Journeys;

internal static class JourneyTestKit
{
    public static readonly string[] SampleNames =
        ["abandoned-cart", "b2b-lead-follow-up", "payment-failed", "security-alert", "trial-expiry", "welcome-series", "win-back"];

    public static TimeZoneInfo Berlin => Zone("Europe/Berlin");

    public static TimeZoneInfo NewYork => Zone("America/New_York");

    public static TimeZoneInfo Shanghai => Zone("Asia/Shanghai");

    public static TimeZoneInfo Zone(string id)
    {
        Assert.True(LocalTimes.TryFindZone(id, out var zone), $"zone {id} not found");
        return zone;
    }

    public static DateTimeOffset Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, TimeSpan.Zero);

    public static DateTime Local(int year, int month, int day, int hour = 0, int minute = 0) =>
        new(year, month, day, hour, minute, 0, DateTimeKind.Unspecified);

    public static JsonElement Json(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public static string Sample(string name) => File.ReadAllText(Repository.File($"samples/journeys/{name}.json"));

    /// <summary>Parses a definition that must be valid.</summary>
    public static JourneyDefinition Parse(string json)
    {
        var r = JourneyParser.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors));
        return r.Definition!;
    }

    /// <summary>Parses a definition that must be invalid; returns its errors.</summary>
    public static IReadOnlyList<JourneyError> Errors(string json)
    {
        var r = JourneyParser.Parse(json);
        Assert.False(r.IsValid, "expected errors");
        Assert.Null(r.Definition);
        Assert.NotEmpty(r.Errors);
        return r.Errors;
    }

    /// <summary>The one error of an invalid definition; asserts its path, step and code.</summary>
    public static JourneyError SingleError(string json, string path, string? step, string code)
    {
        var errors = Errors(json);
        var e = Assert.Single(errors);
        Assert.Equal((path, step, code), (e.Path, e.Step, e.Code));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        return e;
    }

    /// <summary>A definition with an event trigger and the given steps (JSON array content).</summary>
    public static string WithSteps(string steps, string extra = "") =>
        "{\"name\":\"t\",\"trigger\":{\"type\":\"event\",\"event\":\"E\"}," + extra + "\"steps\":[" + steps + "]}";

    /// <summary>A definition with one step before the given one (so the step under test is <c>$.steps[1]</c>).</summary>
    public static string Second(string step) =>
        WithSteps("{\"id\":\"first\",\"type\":\"send\",\"template\":\"t\",\"channel\":\"email\",\"next\":\"x\"}," + step);

    /// <summary>A definition with the given trigger and one exit step.</summary>
    public static string WithTrigger(string trigger) =>
        "{\"name\":\"t\",\"trigger\":" + trigger + ",\"steps\":[{\"id\":\"end\",\"type\":\"exit\"}]}";

    public static IReadOnlyDictionary<string, string> NoVariants { get; } = new Dictionary<string, string>();

    public static WalkResult Enter(JourneyDefinition d, DateTimeOffset at, FakeProfile profile, JsonElement entry = default) =>
        JourneyWalker.Walk(d, new WalkPosition(d.Start, at, 0), WalkCause.Entered, at, profile, entry, NoVariants);

    public static WalkResult Resume(JourneyDefinition d, WalkResult waiting, WalkCause cause, DateTimeOffset at, FakeProfile profile,
        JsonElement entry = default) =>
        JourneyWalker.Walk(d, waiting.Position, cause, at, profile, entry, waiting.Variants);

    public static string[] CountStrings(WalkResult r) => [.. r.Counts.Select(c => c.StepId + ":" + c.Kind)];
}

/// <summary>A profile for walks: a zone, a bucket key, traits, and rule answers from a delegate.</summary>
internal sealed class FakeProfile : IJourneyProfile
{
    public FakeProfile(string traits = "{}", string? zone = null, string key = "user-1", Func<SegmentRule, bool>? holds = null)
    {
        Traits = JourneyTestKit.Json(traits);
        TimeZone = zone;
        BucketKey = key;
        HoldsRule = holds ?? (_ => false);
    }

    public string? TimeZone { get; set; }

    public string BucketKey { get; set; }

    public JsonElement Traits { get; set; }

    public Func<SegmentRule, bool> HoldsRule { get; set; }

    public List<(SegmentRule Rule, DateTimeOffset Now)> Asked { get; } = [];

    public List<UpdateProfileStep> Updates { get; } = [];

    public bool Holds(SegmentRule rule, DateTimeOffset now)
    {
        Asked.Add((rule, now));
        return HoldsRule(rule);
    }

    public void Update(UpdateProfileStep step) => Updates.Add(step);
}
