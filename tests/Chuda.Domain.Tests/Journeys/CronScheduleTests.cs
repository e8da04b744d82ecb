using Chuda.Domain.Journeys;
using static Chuda.Domain.Tests.Journeys.JourneyTestKit;

namespace Chuda.Domain.Tests.Journeys;

public class CronScheduleTests
{
    private static CronSchedule Cron(string text)
    {
        Assert.True(CronSchedule.TryParse(text, out var schedule, out var error), error);
        Assert.Equal("", error);
        return schedule;
    }

    /// <summary>The first <paramref name="count"/> local occurrences strictly after <paramref name="after"/>.</summary>
    private static List<DateTime> Occurrences(string cron, DateTime after, int count)
    {
        var schedule = Cron(cron);
        var list = new List<DateTime>();
        var t = after;
        while (list.Count < count && schedule.NextLocal(t) is { } next)
        {
            Assert.True(next > t);
            list.Add(next);
            t = next;
        }

        return list;
    }

    [Fact]
    public void Mondays_at_ten()
    {
        // From Wednesday 6 May 2026: Mondays 11, 18, 25 May at 10:00.
        Assert.Equal([Local(2026, 5, 11, 10, 0), Local(2026, 5, 18, 10, 0), Local(2026, 5, 25, 10, 0)],
            Occurrences("0 10 * * 1", Local(2026, 5, 6, 12, 0), 3));
        // Strictly after: exactly at Monday 10:00 → the next Monday; a second later too.
        Assert.Equal(Local(2026, 5, 18, 10, 0), Cron("0 10 * * 1").NextLocal(Local(2026, 5, 11, 10, 0)));
        Assert.Equal(Local(2026, 5, 18, 10, 0), Cron("0 10 * * 1").NextLocal(Local(2026, 5, 11, 10, 0).AddSeconds(59)));
        Assert.Equal(Local(2026, 5, 11, 10, 0), Cron("0 10 * * 1").NextLocal(Local(2026, 5, 11, 9, 59).AddSeconds(59)));
    }

    [Fact]
    public void Every_quarter_hour_in_office_hours_on_weekdays()
    {
        const string cron = "*/15 9-17 * * 1-5";
        Assert.Equal(Local(2026, 5, 11, 9, 0), Cron(cron).NextLocal(Local(2026, 5, 8, 17, 45))); // Friday's last → Monday's first
        Assert.Equal(Local(2026, 5, 11, 9, 15), Cron(cron).NextLocal(Local(2026, 5, 11, 9, 0)));
        Assert.Equal(Local(2026, 5, 11, 12, 15), Cron(cron).NextLocal(Local(2026, 5, 11, 12, 7)));
        Assert.Equal(Local(2026, 5, 11, 17, 45), Cron(cron).NextLocal(Local(2026, 5, 11, 17, 30)));
        Assert.Equal(Local(2026, 5, 12, 9, 0), Cron(cron).NextLocal(Local(2026, 5, 11, 17, 45)));

        // A whole week (Sunday 10 May to Sunday 17 May): 5 days × 9 hours × 4 quarters.
        var week = Occurrences(cron, Local(2026, 5, 10, 0, 0), 1000).Where(t => t < Local(2026, 5, 17, 0, 0)).ToList();
        Assert.Equal(5 * 9 * 4, week.Count);
        Assert.All(week, t =>
        {
            Assert.InRange(t.Hour, 9, 17);
            Assert.Equal(0, t.Minute % 15);
            Assert.NotEqual(DayOfWeek.Saturday, t.DayOfWeek);
            Assert.NotEqual(DayOfWeek.Sunday, t.DayOfWeek);
        });
    }

    [Fact]
    public void Both_day_fields_restricted_match_either()
    {
        // The 1st of the month or any Monday: Friday 1 May, then Mondays, then Monday 1 June (both).
        Assert.Equal(
            [Local(2026, 5, 1), Local(2026, 5, 4), Local(2026, 5, 11), Local(2026, 5, 18), Local(2026, 5, 25), Local(2026, 6, 1), Local(2026, 6, 8)],
            Occurrences("0 0 1 * 1", Local(2026, 4, 30), 7));
        // The 13th or any Friday (not only Friday the 13th).
        Assert.Equal(
            [Local(2026, 11, 6), Local(2026, 11, 13), Local(2026, 11, 20), Local(2026, 11, 27), Local(2026, 12, 4), Local(2026, 12, 11), Local(2026, 12, 13),
             Local(2026, 12, 18)],
            Occurrences("0 0 13 * 5", Local(2026, 11, 1), 8));
    }

    [Fact]
    public void One_day_field_restricted_uses_only_that_field()
    {
        Assert.Equal([Local(2026, 5, 15), Local(2026, 6, 15), Local(2026, 7, 15)], Occurrences("0 0 15 * *", Local(2026, 5, 1), 3));
        Assert.Equal([Local(2026, 5, 2), Local(2026, 5, 9), Local(2026, 5, 16)], Occurrences("0 0 * * 6", Local(2026, 5, 1), 3));
    }

    [Fact]
    public void Sunday_is_zero_or_seven()
    {
        var zero = Occurrences("30 8 * * 0", Local(2026, 5, 1), 4);
        Assert.Equal(zero, Occurrences("30 8 * * 7", Local(2026, 5, 1), 4));
        Assert.Equal(Local(2026, 5, 3, 8, 30), zero[0]);
        Assert.All(zero, t => Assert.Equal(DayOfWeek.Sunday, t.DayOfWeek));
        Assert.Equal(7, Occurrences("0 12 * * 1-7", Local(2026, 5, 1), 7).Select(t => t.DayOfWeek).Distinct().Count());
    }

    [Fact]
    public void The_leap_day_comes_every_four_years()
    {
        Assert.Equal([Local(2028, 2, 29), Local(2032, 2, 29)], Occurrences("0 0 29 2 *", Local(2026, 1, 1), 2));
        Assert.Equal(Local(2028, 2, 29), Cron("0 0 29 2 *").NextLocal(Local(2026, 3, 1)));
    }

    [Fact]
    public void A_date_that_never_comes_gives_null()
    {
        Assert.Null(Cron("0 0 31 2 *").NextLocal(Local(2026, 1, 1)));
        Assert.Null(Cron("0 0 30 2 *").Next(Utc(2026, 1, 1), Berlin));
        Assert.Null(Cron("0 0 31 4,6,9,11 *").NextLocal(Local(2026, 1, 1)));
    }

    [Fact]
    public void Lists_ranges_and_steps()
    {
        var hour = Occurrences("5,10-12,50-59/5 * * * *", Local(2026, 5, 1, 8, 0), 6);
        Assert.Equal([5, 10, 11, 12, 50, 55], hour.Select(t => t.Minute));
        Assert.Equal([10, 30, 50], Occurrences("10/20 * * * *", Local(2026, 5, 1, 8, 0), 3).Select(t => t.Minute));
        Assert.Equal([0, 6, 12, 18], Occurrences("0 */6 * * *", Local(2026, 5, 1, 0, 0).AddMinutes(-1), 4).Select(t => t.Hour));
        Assert.Equal([1, 4, 7, 10], Occurrences("0 0 1 */3 *", Local(2026, 1, 1).AddMinutes(-1), 4).Select(t => t.Month));
        Assert.Equal(Local(2026, 5, 1, 8, 1), Cron("* * * * *").NextLocal(Local(2026, 5, 1, 8, 0).AddSeconds(30)));
        Assert.Equal(Local(2026, 12, 31, 23, 59), Cron("59 23 31 12 *").NextLocal(Local(2026, 1, 1)));
        Assert.Equal(Local(2027, 1, 1, 0, 0), Cron("0 0 1 1 *").NextLocal(Local(2026, 12, 31, 23, 59)));
    }

    [Fact]
    public void Extra_spaces_between_fields_are_fine() =>
        Assert.Equal(Local(2026, 5, 11, 10, 0), Cron("  0  10 *   * 1 ").NextLocal(Local(2026, 5, 6)));

    [Theory]
    [InlineData("")]
    [InlineData("* * * *")]
    [InlineData("* * * * * *")]
    [InlineData("60 * * * *")]
    [InlineData("* 24 * * *")]
    [InlineData("* * 0 * *")]
    [InlineData("* * 32 * *")]
    [InlineData("* * * 0 *")]
    [InlineData("* * * 13 *")]
    [InlineData("* * * * 8")]
    [InlineData("5-1 * * * *")]
    [InlineData("*/0 * * * *")]
    [InlineData("*/ * * * *")]
    [InlineData("*/x * * * *")]
    [InlineData("*/-1 * * * *")]
    [InlineData("a * * * *")]
    [InlineData("1,,2 * * * *")]
    [InlineData("-1 * * * *")]
    [InlineData("1- * * * *")]
    [InlineData("+1 * * * *")]
    [InlineData("0 10 * * MON")]
    [InlineData("0 10 * JAN *")]
    [InlineData("0 10 ? * 1")]
    [InlineData("0 10 L * *")]
    [InlineData("@daily")]
    [InlineData("99999999999 * * * *")]
    public void Invalid_expressions_are_rejected_with_a_message(string text)
    {
        Assert.False(CronSchedule.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void The_message_names_the_field_and_its_range()
    {
        Assert.False(CronSchedule.TryParse("0 10 * 13 *", out _, out var error));
        Assert.Contains("'13'", error, StringComparison.Ordinal);
        Assert.Contains("1..12", error, StringComparison.Ordinal);
        Assert.False(CronSchedule.TryParse("0 10 * *", out _, out error));
        Assert.Contains("five fields", error, StringComparison.Ordinal);
    }

    // ---- Next: local occurrences as instants ----------------------------------------------------

    [Fact]
    public void Next_reads_the_schedule_in_the_zone()
    {
        var mondays = Cron("0 10 * * 1");
        Assert.Equal(Utc(2026, 5, 11, 2, 0), mondays.Next(Utc(2026, 5, 6), Shanghai));
        Assert.Equal(Utc(2026, 5, 11, 8, 0), mondays.Next(Utc(2026, 5, 6), Berlin));
        Assert.Equal(Utc(2026, 5, 11, 14, 0), mondays.Next(Utc(2026, 5, 6), NewYork));
        // Strictly after the instant.
        Assert.Equal(Utc(2026, 5, 18, 2, 0), mondays.Next(Utc(2026, 5, 11, 2, 0), Shanghai));
        // The weekday is the local one: 23:00Z on Sunday is already Monday 07:00 in Shanghai.
        Assert.Equal(Utc(2026, 5, 11, 2, 0), mondays.Next(Utc(2026, 5, 10, 23, 0), Shanghai));
    }

    [Fact]
    public void Next_keeps_the_local_time_across_dst()
    {
        var daily = Cron("0 10 * * *");
        // New York: 10:00 EST on 7 March, then 10:00 EDT on 8 March (23 hours later).
        Assert.Equal(Utc(2026, 3, 8, 14, 0), daily.Next(Utc(2026, 3, 7, 15, 0), NewYork));
        // Berlin: 10:00 CEST on 24 October, then 10:00 CET on 25 October (25 hours later).
        Assert.Equal(Utc(2026, 10, 25, 9, 0), daily.Next(Utc(2026, 10, 24, 8, 0), Berlin));
    }

    [Fact]
    public void Next_at_a_skipped_time_moves_forward_by_the_gap()
    {
        var at0230 = Cron("30 2 * * *");
        var first = at0230.Next(Utc(2026, 3, 28, 2, 0), Berlin)!.Value;
        Assert.Equal(Utc(2026, 3, 29, 1, 30), first); // 03:30 CEST
        Assert.Equal(Utc(2026, 3, 30, 0, 30), at0230.Next(first, Berlin)); // 02:30 CEST
        Assert.Equal(Utc(2026, 3, 8, 7, 30), at0230.Next(Utc(2026, 3, 7, 12, 0), NewYork)); // 03:30 EDT
    }

    [Fact]
    public void Next_at_a_repeated_time_fires_once_at_the_first_occurrence()
    {
        var at0230 = Cron("30 2 * * *");
        var first = at0230.Next(Utc(2026, 10, 24, 12, 0), Berlin)!.Value;
        Assert.Equal(Utc(2026, 10, 25, 0, 30), first); // 02:30 CEST
        Assert.Equal(Utc(2026, 10, 26, 1, 30), at0230.Next(first, Berlin)); // not again at 02:30 CET
        // From inside the repeated hour (02:10 CET, the second pass) the next is 26 October too.
        Assert.Equal(Utc(2026, 10, 26, 1, 30), at0230.Next(Utc(2026, 10, 25, 1, 10), Berlin));
        // New York 01:30 on 1 November: 05:30Z (EDT) only.
        var nyc = Cron("30 1 * * *");
        Assert.Equal(Utc(2026, 11, 1, 5, 30), nyc.Next(Utc(2026, 10, 31, 12, 0), NewYork));
        Assert.Equal(Utc(2026, 11, 2, 6, 30), nyc.Next(Utc(2026, 11, 1, 5, 30), NewYork));
    }

    [Fact]
    public void Next_is_strictly_increasing_through_both_transitions()
    {
        var every30 = Cron("*/30 * * * *");
        foreach (var (from, to) in new[] { (Utc(2026, 3, 28, 20, 0), Utc(2026, 3, 29, 6, 0)), (Utc(2026, 10, 24, 20, 0), Utc(2026, 10, 25, 6, 0)) })
        {
            var t = from;
            var seen = new List<DateTimeOffset>();
            while (t < to)
            {
                var next = every30.Next(t, Berlin)!.Value;
                Assert.True(next > t);
                Assert.True(next - t <= TimeSpan.FromHours(1.5), $"{t:O} → {next:O}");
                var local = LocalTimes.ToLocal(next, Berlin);
                Assert.Equal(0, local.Minute % 30);
                seen.Add(next);
                t = next;
            }

            Assert.Equal(seen.Count, seen.Distinct().Count());
        }
    }
}
