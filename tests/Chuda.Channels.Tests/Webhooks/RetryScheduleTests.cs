using Chuda.Channels.Webhooks;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Chuda.Channels.Tests.Webhooks;

public sealed class RetryScheduleTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 8, 1, 30, 0, TimeSpan.Zero);

    private static readonly RetrySchedule Schedule = new(new RetryScheduleOptions
    {
        BaseDelay = TimeSpan.FromSeconds(1),
        MaxDelay = TimeSpan.FromMinutes(1),
        MaxAttempts = 10,
    });

    [Fact]
    public void Ceiling_doubles_from_the_base_and_stops_at_the_max()
    {
        var ceilings = Enumerable.Range(1, 9).Select(a => Schedule.Ceiling(a).TotalSeconds).ToArray();
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60], ceilings);
    }

    [Fact]
    public void Delays_are_jittered_within_the_ceiling_and_attempts_run_out()
    {
        var random = new Random(20260308);
        for (var round = 0; round < 200; round++)
        {
            for (var attempt = 1; attempt < 10; attempt++)
            {
                var at = Schedule.NextAttemptAt(attempt, Now, random);
                Assert.NotNull(at);
                Assert.InRange(at.Value - Now, TimeSpan.Zero, Schedule.Ceiling(attempt));
                Assert.True(at.Value - Now <= TimeSpan.FromMinutes(1));
            }
            Assert.Null(Schedule.NextAttemptAt(10, Now, random));
            Assert.Null(Schedule.NextAttemptAt(11, Now, random));
        }
    }

    [Fact]
    public void Jitter_spreads_delays_over_the_whole_range()
    {
        var random = new Random(7);
        var delays = Enumerable.Range(0, 1000).Select(_ => Schedule.NextDelay(8, random)!.Value.TotalSeconds).ToArray();
        Assert.True(delays.Min() < 6, $"min {delays.Min()}");
        Assert.True(delays.Max() > 54, $"max {delays.Max()}");
        Assert.InRange(delays.Average(), 25, 35);
    }

    [Fact]
    public void Same_seed_same_schedule()
    {
        var a = Enumerable.Range(1, 9).Select(n => Schedule.NextAttemptAt(n, Now, new Random(99))).ToArray();
        var b = Enumerable.Range(1, 9).Select(n => Schedule.NextAttemptAt(n, Now, new Random(99))).ToArray();
        Assert.Equal(a, b);
    }

    [Fact]
    public void A_longer_Retry_After_is_honoured_up_to_the_max_delay()
    {
        var random = new Random(1);
        Assert.Equal(Now + TimeSpan.FromSeconds(45), Schedule.NextAttemptAt(1, Now, random, TimeSpan.FromSeconds(45)));
        Assert.Equal(Now + TimeSpan.FromMinutes(1), Schedule.NextAttemptAt(1, Now, random, TimeSpan.FromHours(3)));
        for (var i = 0; i < 100; i++)
        {
            var delay = Schedule.NextDelay(7, random, TimeSpan.FromSeconds(2))!.Value;
            Assert.InRange(delay, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1));
        }
        Assert.Null(Schedule.NextAttemptAt(10, Now, random, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Many_attempts_do_not_overflow()
    {
        var schedule = new RetrySchedule(new RetryScheduleOptions
        {
            BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromDays(30), MaxAttempts = 100,
        });
        Assert.Equal(TimeSpan.FromDays(30), schedule.Ceiling(99));
        Assert.InRange(schedule.NextDelay(99, new Random(3))!.Value, TimeSpan.Zero, TimeSpan.FromDays(30));
    }

    [Theory]
    [InlineData(0, 60, 5, "BaseDelay")]
    [InlineData(10, 5, 5, "MaxDelay")]
    [InlineData(1, 60, 0, "MaxAttempts")]
    [InlineData(1, 60, 101, "MaxAttempts")]
    public void Options_out_of_range_are_refused(int baseSeconds, int maxSeconds, int attempts, string field)
    {
        var error = Assert.Throws<ArgumentException>(() => new RetrySchedule(new RetryScheduleOptions
        {
            BaseDelay = TimeSpan.FromSeconds(baseSeconds), MaxDelay = TimeSpan.FromSeconds(maxSeconds), MaxAttempts = attempts,
        }));
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 500)]
    public Property Delay_is_null_exactly_when_attempts_are_exhausted_and_otherwise_within_bounds() =>
        Prop.ForAll(
            Gen.Zip(Gen.Zip(Gen.Choose(1, 40), Gen.Choose(1, 30)), Gen.Zip(Gen.Choose(1, 5000), Gen.Choose(0, int.MaxValue))).ToArbitrary(),
            t =>
            {
                var ((attempt, maxAttempts), (baseMs, seed)) = t;
                var schedule = new RetrySchedule(new RetryScheduleOptions
                {
                    BaseDelay = TimeSpan.FromMilliseconds(baseMs), MaxDelay = TimeSpan.FromHours(1), MaxAttempts = maxAttempts,
                });
                var delay = schedule.NextDelay(attempt, new Random(seed));
                if (attempt >= maxAttempts) return delay is null;
                var bound = Math.Min(TimeSpan.FromHours(1).TotalMilliseconds, baseMs * Math.Pow(2, attempt - 1));
                return delay is { } d && d >= TimeSpan.Zero && d.TotalMilliseconds <= bound;
            });
}
