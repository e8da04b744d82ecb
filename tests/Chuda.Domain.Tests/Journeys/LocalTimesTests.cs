using Chuda.Domain.Journeys;
using static Chuda.Domain.Tests.Journeys.JourneyTestKit;

namespace Chuda.Domain.Tests.Journeys;

public class LocalTimesTests
{
    private static readonly TimeOnly Ten = new(10, 0);

    // ---- zones ----------------------------------------------------------------------------------

    [Theory]
    [InlineData("Europe/Berlin")]
    [InlineData("America/New_York")]
    [InlineData("Asia/Shanghai")]
    [InlineData("UTC")]
    public void Finds_iana_zones(string id)
    {
        Assert.True(LocalTimes.TryFindZone(id, out var zone));
        Assert.NotNull(zone);
        Assert.True(LocalTimes.TryFindZone(id, out var again)); // cached
        Assert.Same(zone, again);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Mars/Olympus")]
    [InlineData("Europe/Atlantis")]
    public void Unknown_zones_are_not_found(string? id)
    {
        Assert.False(LocalTimes.TryFindZone(id, out var zone));
        Assert.Equal(TimeZoneInfo.Utc, zone);
    }

    [Fact]
    public void An_overlong_zone_name_is_not_found() => Assert.False(LocalTimes.TryFindZone(new string('a', 65), out _));

    [Fact]
    public void ZoneFor_prefers_the_profile_then_the_fallback_then_utc()
    {
        Assert.Equal(Shanghai, LocalTimes.ZoneFor("Asia/Shanghai", "Europe/Berlin"));
        Assert.Equal(Berlin, LocalTimes.ZoneFor(null, "Europe/Berlin"));
        Assert.Equal(Berlin, LocalTimes.ZoneFor("Not/AZone", "Europe/Berlin"));
        Assert.Equal(TimeZoneInfo.Utc, LocalTimes.ZoneFor("Not/AZone", "Also/Not"));
        Assert.Equal(TimeZoneInfo.Utc, LocalTimes.ZoneFor(null, null));
    }

    // ---- ToInstant ------------------------------------------------------------------------------

    [Fact]
    public void A_skipped_local_time_moves_forward_by_the_gap()
    {
        // 02:30 does not exist on 29 March 2026 in Berlin (02:00 CET → 03:00 CEST): it reads as 03:30 CEST.
        Assert.Equal(Utc(2026, 3, 29, 1, 30), LocalTimes.ToInstant(Local(2026, 3, 29, 2, 30), Berlin));
        Assert.Equal(Local(2026, 3, 29, 3, 30), LocalTimes.ToLocal(Utc(2026, 3, 29, 1, 30), Berlin));
        // New York, 8 March 2026 (02:00 EST → 03:00 EDT): 02:30 reads as 03:30 EDT.
        Assert.Equal(Utc(2026, 3, 8, 7, 30), LocalTimes.ToInstant(Local(2026, 3, 8, 2, 30), NewYork));
        Assert.Equal(Local(2026, 3, 8, 3, 30), LocalTimes.ToLocal(Utc(2026, 3, 8, 7, 30), NewYork));
    }

    [Fact]
    public void Gap_boundaries()
    {
        Assert.Equal(Utc(2026, 3, 29, 0, 59), LocalTimes.ToInstant(Local(2026, 3, 29, 1, 59), Berlin)); // last CET minute
        Assert.Equal(Utc(2026, 3, 29, 1, 0), LocalTimes.ToInstant(Local(2026, 3, 29, 2, 0), Berlin));   // first skipped minute → 03:00 CEST
        Assert.Equal(Utc(2026, 3, 29, 1, 59), LocalTimes.ToInstant(Local(2026, 3, 29, 2, 59), Berlin)); // last skipped minute → 03:59 CEST
        Assert.Equal(Utc(2026, 3, 29, 1, 0), LocalTimes.ToInstant(Local(2026, 3, 29, 3, 0), Berlin));   // first CEST minute
        Assert.Equal(Utc(2026, 3, 8, 7, 0), LocalTimes.ToInstant(Local(2026, 3, 8, 2, 0), NewYork));
    }

    [Fact]
    public void A_repeated_local_time_takes_the_first_occurrence()
    {
        // Berlin, 25 October 2026: 03:00 CEST → 02:00 CET; 02:30 happens at 00:30Z (CEST) and 01:30Z (CET).
        Assert.Equal(Utc(2026, 10, 25, 0, 30), LocalTimes.ToInstant(Local(2026, 10, 25, 2, 30), Berlin));
        // New York, 1 November 2026: 02:00 EDT → 01:00 EST; 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
        Assert.Equal(Utc(2026, 11, 1, 5, 30), LocalTimes.ToInstant(Local(2026, 11, 1, 1, 30), NewYork));
        Assert.Equal(Utc(2026, 11, 1, 5, 0), LocalTimes.ToInstant(Local(2026, 11, 1, 1, 0), NewYork));
        Assert.Equal(Utc(2026, 11, 1, 7, 0), LocalTimes.ToInstant(Local(2026, 11, 1, 2, 0), NewYork)); // after the overlap: EST
        Assert.Equal(Utc(2026, 10, 25, 2, 0), LocalTimes.ToInstant(Local(2026, 10, 25, 3, 0), Berlin));
    }

    [Theory]
    [InlineData(2026, 1, 15)]
    [InlineData(2026, 3, 29)]
    [InlineData(2026, 7, 1)]
    [InlineData(2026, 10, 25)]
    [InlineData(2026, 11, 1)]
    public void Shanghai_is_always_eight_hours_ahead(int year, int month, int day)
    {
        for (var h = 0; h < 24; h++)
        {
            var local = Local(year, month, day, h, 30);
            Assert.Equal(new DateTimeOffset(local, TimeSpan.FromHours(8)), LocalTimes.ToInstant(local, Shanghai));
        }
    }

    [Fact]
    public void Ordinary_times_use_the_offset_in_force()
    {
        Assert.Equal(Utc(2026, 1, 15, 11, 0), LocalTimes.ToInstant(Local(2026, 1, 15, 12, 0), Berlin));
        Assert.Equal(Utc(2026, 7, 1, 10, 0), LocalTimes.ToInstant(Local(2026, 7, 1, 12, 0), Berlin));
        Assert.Equal(Utc(2026, 1, 15, 17, 0), LocalTimes.ToInstant(Local(2026, 1, 15, 12, 0), NewYork));
        Assert.Equal(Utc(2026, 7, 1, 16, 0), LocalTimes.ToInstant(Local(2026, 7, 1, 12, 0), NewYork));
        Assert.Equal(Utc(2026, 7, 1, 12, 0), LocalTimes.ToInstant(Local(2026, 7, 1, 12, 0), TimeZoneInfo.Utc));
    }

    [Fact]
    public void The_kind_of_the_local_value_is_ignored()
    {
        var utcKind = new DateTime(2026, 7, 1, 12, 0, 0, DateTimeKind.Utc);
        Assert.Equal(Utc(2026, 7, 1, 4, 0), LocalTimes.ToInstant(utcKind, Shanghai));
        Assert.Equal(DateTimeKind.Unspecified, LocalTimes.ToLocal(Utc(2026, 7, 1), Berlin).Kind);
    }

    [Fact]
    public void ToLocal_and_ToInstant_round_trip_outside_gaps_and_overlaps()
    {
        foreach (var zone in new[] { Berlin, NewYork, Shanghai })
        {
            for (var t = Utc(2026, 1, 1); t < Utc(2027, 1, 1); t = t.AddHours(7).AddMinutes(13))
            {
                var local = LocalTimes.ToLocal(t, zone);
                if (zone.IsAmbiguousTime(local))
                {
                    Assert.True(LocalTimes.ToInstant(local, zone) <= t);
                    continue;
                }

                Assert.Equal(t, LocalTimes.ToInstant(local, zone));
            }
        }
    }

    // ---- NextLocalTime --------------------------------------------------------------------------

    [Fact]
    public void NextLocalTime_is_today_when_still_ahead()
    {
        // 09:00 in Shanghai → 10:00 the same day.
        Assert.Equal(Utc(2026, 5, 1, 2, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 1, 1, 0), Ten, Shanghai));
        Assert.Equal(Utc(2026, 5, 1, 2, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 1, 2, 0).AddTicks(-1), Ten, Shanghai));
    }

    [Fact]
    public void NextLocalTime_is_strictly_after()
    {
        // Exactly 10:00 local → tomorrow's 10:00.
        Assert.Equal(Utc(2026, 5, 2, 2, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 1, 2, 0), Ten, Shanghai));
        Assert.Equal(Utc(2026, 5, 2, 2, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 1, 2, 0).AddTicks(1), Ten, Shanghai));
        Assert.Equal(Utc(2026, 5, 2, 8, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 1, 8, 0), Ten, Berlin));
    }

    [Fact]
    public void NextLocalTime_crosses_the_local_date_line()
    {
        // 23:00Z on 1 May is 07:00 on 2 May in Shanghai: 10:00 that same local day.
        Assert.Equal(Utc(2026, 5, 2, 2, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 1, 23, 0), Ten, Shanghai));
        // 03:00Z on 2 May is 23:00 on 1 May in New York: 10:00 on 2 May local.
        Assert.Equal(Utc(2026, 5, 2, 14, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 2, 3, 0), Ten, NewYork));
    }

    [Fact]
    public void NextLocalTime_respects_the_days()
    {
        // Wednesday 6 May 2026 → Monday 11 May 10:00 in Berlin (CEST).
        Assert.Equal(Utc(2026, 5, 11, 8, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 6, 12, 0), Ten, Berlin, [DayOfWeek.Monday]));
        // Monday exactly at 10:00 → the next Monday, 7 days later.
        Assert.Equal(Utc(2026, 5, 18, 8, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 11, 8, 0), Ten, Berlin, [DayOfWeek.Monday]));
        // Monday before 10:00 → the same Monday.
        Assert.Equal(Utc(2026, 5, 11, 8, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 11, 7, 0), Ten, Berlin, [DayOfWeek.Monday]));
        // Friday after 10:00 with weekdays only → Monday.
        DayOfWeek[] weekdays = [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday];
        Assert.Equal(Utc(2026, 5, 11, 8, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 8, 9, 0), Ten, Berlin, weekdays));
        // The weekday is the local one: 20:00Z on Sunday 10 May is 04:00 on Monday in Shanghai.
        Assert.Equal(Utc(2026, 5, 11, 2, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 10, 20, 0), Ten, Shanghai, [DayOfWeek.Monday]));
        // An empty list is no restriction.
        Assert.Equal(Utc(2026, 5, 7, 8, 0), LocalTimes.NextLocalTime(Utc(2026, 5, 6, 12, 0), Ten, Berlin, []));
    }

    [Fact]
    public void NextLocalTime_keeps_the_local_time_across_dst()
    {
        // Spring forward: 10:00 CET on 28 March → 10:00 CEST on 29 March, only 23 hours later.
        var sat = Utc(2026, 3, 28, 9, 0);
        var sun = LocalTimes.NextLocalTime(sat, Ten, Berlin);
        Assert.Equal(Utc(2026, 3, 29, 8, 0), sun);
        Assert.Equal(TimeSpan.FromHours(23), sun - sat);
        Assert.Equal(Local(2026, 3, 29, 10, 0), LocalTimes.ToLocal(sun, Berlin));

        // Fall back: 10:00 CEST on 24 October → 10:00 CET on 25 October, 25 hours later.
        var oct24 = Utc(2026, 10, 24, 8, 0);
        var oct25 = LocalTimes.NextLocalTime(oct24, Ten, Berlin);
        Assert.Equal(Utc(2026, 10, 25, 9, 0), oct25);
        Assert.Equal(TimeSpan.FromHours(25), oct25 - oct24);

        // New York: 10:00 EST on 7 March → 10:00 EDT on 8 March; 10:00 EDT on 31 October → 10:00 EST on 1 November.
        Assert.Equal(Utc(2026, 3, 8, 14, 0), LocalTimes.NextLocalTime(Utc(2026, 3, 7, 15, 0), Ten, NewYork));
        Assert.Equal(Utc(2026, 11, 1, 15, 0), LocalTimes.NextLocalTime(Utc(2026, 10, 31, 14, 0), Ten, NewYork));
    }

    [Fact]
    public void NextLocalTime_in_a_gap_is_later_by_the_gap()
    {
        var at = new TimeOnly(2, 30);
        var first = LocalTimes.NextLocalTime(Utc(2026, 3, 28, 12, 0), at, Berlin);
        Assert.Equal(Utc(2026, 3, 29, 1, 30), first); // 03:30 CEST
        Assert.Equal(Utc(2026, 3, 30, 0, 30), LocalTimes.NextLocalTime(first, at, Berlin)); // 02:30 CEST the next day
        // Just before the shifted instant (but already after the gap) still gives the shifted instant.
        Assert.Equal(first, LocalTimes.NextLocalTime(Utc(2026, 3, 29, 1, 20), at, Berlin));
    }

    [Fact]
    public void NextLocalTime_in_an_overlap_takes_the_first_occurrence_only()
    {
        var at = new TimeOnly(2, 30);
        var first = LocalTimes.NextLocalTime(Utc(2026, 10, 24, 12, 0), at, Berlin);
        Assert.Equal(Utc(2026, 10, 25, 0, 30), first);
        // The second 02:30 (01:30Z) does not fire again: the next one is on 26 October (CET).
        Assert.Equal(Utc(2026, 10, 26, 1, 30), LocalTimes.NextLocalTime(first, at, Berlin));
        Assert.Equal(Utc(2026, 11, 2, 6, 30), LocalTimes.NextLocalTime(Utc(2026, 11, 1, 5, 30), new TimeOnly(1, 30), NewYork));
    }

    // ---- FromDateTrait --------------------------------------------------------------------------

    [Fact]
    public void A_date_only_value_is_that_date_in_the_zone()
    {
        Assert.Equal(Utc(2026, 5, 9, 16, 0), LocalTimes.FromDateTrait("2026-05-10", TimeSpan.Zero, null, Shanghai)); // local midnight
        Assert.Equal(Utc(2026, 5, 10, 4, 0), LocalTimes.FromDateTrait("2026-05-10", TimeSpan.Zero, null, NewYork));
        Assert.Equal(Utc(2026, 5, 10, 16, 0), LocalTimes.FromDateTrait("2026-05-10", TimeSpan.FromDays(1), null, Shanghai));
        Assert.Equal(Utc(2026, 5, 9, 4, 0), LocalTimes.FromDateTrait("2026-05-10", TimeSpan.FromHours(-12), null, Shanghai));
    }

    [Fact]
    public void A_date_only_value_with_at_is_that_local_time()
    {
        Assert.Equal(Utc(2026, 5, 10, 2, 0), LocalTimes.FromDateTrait("2026-05-10", TimeSpan.Zero, Ten, Shanghai));
        Assert.Equal(Utc(2026, 5, 7, 2, 0), LocalTimes.FromDateTrait("2026-05-10", TimeSpan.FromDays(-3), Ten, Shanghai));
        Assert.Equal(Utc(2026, 5, 11, 14, 0), LocalTimes.FromDateTrait("2026-05-10", TimeSpan.FromDays(1), Ten, NewYork));
    }

    [Fact]
    public void Day_offsets_with_at_keep_the_local_time_across_dst()
    {
        // trial_end 2026-03-30 in Berlin: 3 days before at 10:00 is 27 March 10:00 CET; 1 day before is 29 March 10:00 CEST.
        Assert.Equal(Utc(2026, 3, 27, 9, 0), LocalTimes.FromDateTrait("2026-03-30", TimeSpan.FromDays(-3), Ten, Berlin));
        Assert.Equal(Utc(2026, 3, 29, 8, 0), LocalTimes.FromDateTrait("2026-03-30", TimeSpan.FromDays(-1), Ten, Berlin));
        // At a skipped time: 02:30 on 29 March moves to 03:30 CEST.
        Assert.Equal(Utc(2026, 3, 29, 1, 30), LocalTimes.FromDateTrait("2026-03-28", TimeSpan.FromDays(1), new TimeOnly(2, 30), Berlin));
    }

    [Fact]
    public void A_date_time_value_without_at_is_the_instant_plus_the_offset()
    {
        Assert.Equal(Utc(2026, 5, 10, 20, 0), LocalTimes.FromDateTrait("2026-05-10T20:00:00Z", TimeSpan.Zero, null, Shanghai));
        Assert.Equal(Utc(2026, 5, 11, 0, 0), LocalTimes.FromDateTrait("2026-05-10T20:00:00-05:00", TimeSpan.FromHours(-1), null, Shanghai));
        Assert.Equal(Utc(2026, 5, 13, 20, 0), LocalTimes.FromDateTrait("2026-05-11T04:00+08:00", TimeSpan.FromDays(3), null, Berlin));
        Assert.Equal(Utc(2026, 5, 10, 9, 59, 30), LocalTimes.FromDateTrait("2026-05-10T10:00", TimeSpan.FromSeconds(-30), null, Berlin)); // no offset: UTC
    }

    [Fact]
    public void A_date_time_value_with_at_uses_its_local_date_in_the_zone()
    {
        // 20:00Z on 10 May is 04:00 on 11 May in Shanghai: the local date is 11 May.
        Assert.Equal(Utc(2026, 5, 11, 2, 0), LocalTimes.FromDateTrait("2026-05-10T20:00:00Z", TimeSpan.Zero, Ten, Shanghai));
        Assert.Equal(Utc(2026, 5, 12, 2, 0), LocalTimes.FromDateTrait("2026-05-10T20:00:00Z", TimeSpan.FromDays(1), Ten, Shanghai));
        Assert.Equal(Utc(2026, 5, 9, 2, 0), LocalTimes.FromDateTrait("2026-05-10T20:00:00Z", TimeSpan.FromDays(-2), Ten, Shanghai));
        // ... and 10 May in New York (16:00 EDT).
        Assert.Equal(Utc(2026, 5, 10, 14, 0), LocalTimes.FromDateTrait("2026-05-10T20:00:00Z", TimeSpan.Zero, Ten, NewYork));
        // The value's own offset does not choose the date; the zone does: 01:00+08:00 on 11 May is 17:00Z on 10 May (19:00 CEST).
        Assert.Equal(Utc(2026, 5, 10, 8, 0), LocalTimes.FromDateTrait("2026-05-11T01:00:00+08:00", TimeSpan.Zero, Ten, Berlin));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("tomorrow")]
    [InlineData("2026-13-01")]
    [InlineData("2026-02-30")]
    [InlineData("10/05/2026")]
    [InlineData("2026-05-10 10:00")]
    public void A_value_that_is_not_a_date_gives_null(string? value)
    {
        Assert.Null(LocalTimes.FromDateTrait(value, TimeSpan.Zero, null, Berlin));
        Assert.Null(LocalTimes.FromDateTrait(value, TimeSpan.FromDays(1), Ten, Berlin));
    }
}
