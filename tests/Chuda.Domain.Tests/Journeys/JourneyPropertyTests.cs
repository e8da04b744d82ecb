using System.Globalization;
using Chuda.Domain.Journeys;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Chuda.Domain.Tests.Journeys.JourneyTestKit;

namespace Chuda.Domain.Tests.Journeys;

/// <summary>Property tests over local times: NextLocalTime and CronSchedule.Next in three zones, with instants drawn
/// often near the daylight-saving changes of 2026 and 2027.</summary>
public class JourneyPropertyTests
{
    private static readonly DateTimeOffset Base = Utc(2026, 1, 1);

    private static readonly DateTimeOffset[] Transitions =
    [
        Utc(2026, 3, 8, 7, 0), Utc(2026, 3, 29, 1, 0), Utc(2026, 10, 25, 1, 0), Utc(2026, 11, 1, 6, 0),
        Utc(2027, 3, 14, 7, 0), Utc(2027, 3, 28, 1, 0), Utc(2027, 10, 31, 1, 0), Utc(2027, 11, 7, 6, 0),
    ];

    private static readonly Gen<string> ZoneId = Gen.Elements("Europe/Berlin", "America/New_York", "Asia/Shanghai");

    private static readonly Gen<DateTimeOffset> Instant = Gen.Frequency(
        (1, from minute in Gen.Choose(0, 2 * 365 * 24 * 60)
            from second in Gen.Elements(0, 0, 1, 30, 59)
            select Base.AddMinutes(minute).AddSeconds(second)),
        (2, from t in Gen.Elements(Transitions)
            from minute in Gen.Choose(-3 * 24 * 60, 3 * 24 * 60)
            from second in Gen.Elements(0, 0, 17)
            select t.AddMinutes(minute).AddSeconds(second)));

    private static readonly Gen<TimeOnly> TimeOfDay = Gen.Frequency(
        (3, Gen.Choose(0, 24 * 60 - 1).Select(m => new TimeOnly(m / 60, m % 60))),
        (2, Gen.Choose(0, 3 * 60 - 1).Select(m => new TimeOnly(m / 60, m % 60))), // 00:00–02:59: the gaps and overlaps
        (1, Gen.Elements(new TimeOnly(10, 0), new TimeOnly(2, 30), new TimeOnly(1, 30), new TimeOnly(23, 59, 59))));

    private static readonly Gen<DayOfWeek[]?> Days = Gen.Frequency(
        (2, Gen.Constant<DayOfWeek[]?>(null)),
        (1, Gen.Choose(1, 127).Select(mask => (DayOfWeek[]?)Enum.GetValues<DayOfWeek>().Where(d => (mask & (1 << (int)d)) != 0).ToArray())));

    private static readonly Gen<(string Zone, DateTimeOffset After, TimeOnly At, DayOfWeek[]? Days)> NextCase =
        from zone in ZoneId
        from after in Instant
        from at in TimeOfDay
        from days in Days
        select (zone, after, at, days);

    [Property(MaxTest = 1500)]
    public Property NextLocalTime_is_the_first_later_instant_with_that_local_time() =>
        Prop.ForAll(NextCase.ToArbitrary(), c =>
        {
            var zone = Zone(c.Zone);
            var next = LocalTimes.NextLocalTime(c.After, c.At, zone, c.Days);
            var label = $"{c.Zone} after {c.After:O} at {c.At} days {(c.Days is null ? "-" : string.Join(",", c.Days))} → {next:O}";
            if (next <= c.After)
            {
                return false.Label("not after: " + label);
            }

            if (next - c.After > TimeSpan.FromDays(8))
            {
                return false.Label("more than 8 days later: " + label);
            }

            var local = LocalTimes.ToLocal(next, zone);
            var nominal = local.Date + c.At.ToTimeSpan();
            if (local != nominal)
            {
                // Only a skipped local time may differ, and then by the gap (one hour in these zones).
                if (!zone.IsInvalidTime(nominal) || local - nominal != TimeSpan.FromHours(1))
                {
                    return false.Label($"local time {local:O} is not {c.At}: " + label);
                }
            }

            if (c.Days is { Length: > 0 } && !c.Days.Contains(nominal.DayOfWeek))
            {
                return false.Label("wrong weekday: " + label);
            }

            if (LocalTimes.ToInstant(nominal, zone) != next)
            {
                return false.Label("not the resolved instant of its local time: " + label);
            }

            // No earlier local day qualifies.
            for (var day = LocalTimes.ToLocal(c.After, zone).Date; day < nominal.Date; day = day.AddDays(1))
            {
                if (c.Days is { Length: > 0 } && !c.Days.Contains(day.DayOfWeek))
                {
                    continue;
                }

                if (LocalTimes.ToInstant(day + c.At.ToTimeSpan(), zone) > c.After)
                {
                    return false.Label($"{day:yyyy-MM-dd} came earlier: " + label);
                }
            }

            return true.ToProperty();
        });

    [Property(MaxTest = 500)]
    public Property ToInstant_of_ToLocal_never_moves_an_instant_later() =>
        Prop.ForAll((from zone in ZoneId from t in Instant select (zone, t)).ToArbitrary(), c =>
        {
            var zone = Zone(c.zone);
            var local = LocalTimes.ToLocal(c.t, zone);
            var back = LocalTimes.ToInstant(local, zone);
            // Equal, except in the second pass of a repeated hour, which resolves to the first (one hour earlier).
            return back == c.t || (zone.IsAmbiguousTime(local) && c.t - back == TimeSpan.FromHours(1));
        });

    private static readonly (string Cron, Func<DateTime, bool> Matches)[] Crons =
    [
        ("*/15 9-17 * * 1-5", t => t.Minute % 15 == 0 && t.Hour is >= 9 and <= 17 && t.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)),
        ("30 2 * * *", t => t is { Hour: 2, Minute: 30 }),
        ("0 0,12 * * *", t => t.Minute == 0 && t.Hour is 0 or 12),
        ("0 10 13 * 5", t => t is { Hour: 10, Minute: 0 } && (t.Day == 13 || t.DayOfWeek == DayOfWeek.Friday)),
        ("45 1 * * 0", t => t is { Hour: 1, Minute: 45, DayOfWeek: DayOfWeek.Sunday }),
    ];

    private static readonly Gen<(string Zone, DateTimeOffset After, int Cron)> CronCase =
        from zone in ZoneId
        from after in Instant
        from cron in Gen.Choose(0, Crons.Length - 1)
        select (zone, after, cron);

    [Property(MaxTest = 300)]
    public Property Cron_next_is_the_first_matching_local_minute_after() =>
        Prop.ForAll(CronCase.ToArbitrary(), c =>
        {
            var zone = Zone(c.Zone);
            var (text, matches) = Crons[c.Cron];
            Assert.True(CronSchedule.TryParse(text, out var cron, out _));
            var next = cron.Next(c.After, zone);
            var label = $"'{text}' in {c.Zone} after {c.After:O} → {next:O}";
            if (next is not { } n || n <= c.After || n - c.After > TimeSpan.FromDays(8))
            {
                return false.Label("missing, early or too late: " + label);
            }

            var local = LocalTimes.ToLocal(n, zone);
            var ok = matches(local) || (zone.IsInvalidTime(local.AddHours(-1)) && matches(local.AddHours(-1)));
            if (!ok || n.Second != 0 || n.Millisecond != 0)
            {
                return false.Label("does not match: " + label);
            }

            // Every whole UTC minute in (after, next) is either not a match or the second pass of a repeated local time.
            var u = new DateTimeOffset(c.After.Year, c.After.Month, c.After.Day, c.After.Hour, c.After.Minute, 0, TimeSpan.Zero).AddMinutes(1);
            for (; u < n; u = u.AddMinutes(1))
            {
                var l = LocalTimes.ToLocal(u, zone);
                if (matches(l) && LocalTimes.ToInstant(l, zone) == u)
                {
                    return false.Label($"{l:O} ({u:O}) matched earlier: " + label);
                }
            }

            return true.ToProperty();
        });

    [Property(MaxTest = 300)]
    public Property Pick_returns_one_of_the_variants_and_is_stable() =>
        Prop.ForAll((from weights in Gen.Choose(1, 5).SelectMany(n => Gen.ArrayOf(Gen.Choose(1, 10_000), n))
                     from holdout in Gen.Choose(0, 10_000)
                     from key in Gen.Choose(0, 1_000_000)
                     select (weights, holdout, key)).ToArbitrary(), c =>
        {
            var variants = c.weights.Select((w, i) => new SplitVariant("v" + i.ToString(CultureInfo.InvariantCulture), w, null)).ToList();
            var split = new SplitStep("s", variants, c.holdout == 0 ? null : new SplitVariant("holdout", c.holdout, null));
            var key = "u" + c.key.ToString(CultureInfo.InvariantCulture);
            var picked = JourneyWalker.Pick(split, key);
            return (variants.Contains(picked) || picked == split.Holdout) && JourneyWalker.Pick(split, key) == picked;
        });
}
