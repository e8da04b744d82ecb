using System.Text.Json;
using Chuda.Domain.Segments;

namespace Chuda.Domain.Tests.Segments;

internal static class SegmentTestKit
{
    public static readonly DateTimeOffset T0 = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    public static JsonElement Json(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public static SegmentRule Rule(string json)
    {
        var r = RuleParser.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors));
        return r.Rule!;
    }

    public static EventFact Ev(string name, DateTimeOffset at, string props = "{}") => new(name, at, Json(props));

    public static ProfileFacts Facts(string traits = "{}", string[]? tags = null, string[]? kinds = null, string key = "user-1",
        params EventFact[] events) =>
        new(Json(traits), tags ?? [], kinds ?? [], key, events);

    public static ProfileFacts Events(params EventFact[] events) => Facts(events: events);

    public static bool Eval(SegmentRule rule, ProfileFacts facts, DateTimeOffset now, Func<string, bool>? member = null) =>
        SegmentEvaluator.Evaluate(rule, facts, now, member ?? (_ => false));

    public static DateTimeOffset? Next(SegmentRule rule, ProfileFacts facts, DateTimeOffset now, Func<string, bool>? member = null) =>
        SegmentEvaluator.NextChange(rule, facts, now, member ?? (_ => false));

    /// <summary>Asserts the value is constant on (now, next) (at a few points incl. next − 1 tick) and differs at next.</summary>
    public static void AssertNextIsExact(SegmentRule rule, ProfileFacts facts, DateTimeOffset now)
    {
        var v = Eval(rule, facts, now);
        var next = Next(rule, facts, now);
        if (next is not { } n)
        {
            return;
        }

        Assert.True(n > now);
        Assert.Equal(v, Eval(rule, facts, n.AddTicks(-1)));
        Assert.NotEqual(v, Eval(rule, facts, n));
    }
}
