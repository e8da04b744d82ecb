namespace Chuda.Domain.Segments;

/// <summary>
/// A boolean function of time from an instant <c>now</c> on: its value at <c>now</c> and the instants after
/// <c>now</c> (UTC ticks, strictly increasing) at which it toggles. Every condition's truth set is a union of
/// half-open intervals <c>[a, b)</c>, so the value changes exactly <em>at</em> a toggle instant.
/// </summary>
internal sealed class Timeline
{
    public static readonly Timeline True = new(true, []);
    public static readonly Timeline False = new(false, []);

    public Timeline(bool initial, long[] toggles)
    {
        Initial = initial;
        Toggles = toggles;
    }

    public bool Initial { get; }

    /// <summary>Strictly increasing instants, all after now.</summary>
    public long[] Toggles { get; }

    public static Timeline Constant(bool value) => value ? True : False;

    /// <summary>The earliest toggle, or null when the value never changes.</summary>
    public long? Next => Toggles.Length > 0 ? Toggles[0] : null;

    public Timeline Not() => new(!Initial, Toggles);

    /// <summary>Builds the timeline of a union of half-open intervals <c>[start, end)</c> (<see cref="long.MinValue"/> /
    /// <see cref="long.MaxValue"/> for unbounded), seen from <paramref name="now"/>.</summary>
    public static Timeline FromIntervals(List<(long Start, long End)> intervals, long now)
    {
        if (intervals.Count == 0)
        {
            return False;
        }

        intervals.Sort((a, b) => a.Start.CompareTo(b.Start));
        var initial = false;
        var toggles = new List<long>();
        long? curStart = null;
        long curEnd = 0;
        void Flush(long s, long e)
        {
            if (s <= now && now < e)
            {
                initial = true;
            }

            if (s > now)
            {
                toggles.Add(s);
            }

            if (e > now && e != long.MaxValue)
            {
                toggles.Add(e);
            }
        }

        foreach (var (s, e) in intervals)
        {
            if (e <= s)
            {
                continue;
            }

            if (curStart is null)
            {
                curStart = s;
                curEnd = e;
            }
            else if (s <= curEnd)
            {
                curEnd = Math.Max(curEnd, e);
            }
            else
            {
                Flush(curStart.Value, curEnd);
                curStart = s;
                curEnd = e;
            }
        }

        if (curStart is { } last)
        {
            Flush(last, curEnd);
        }

        return new Timeline(initial, [.. toggles]);
    }

    /// <summary>Pointwise combination of two timelines.</summary>
    public static Timeline Combine(Timeline a, Timeline b, Func<bool, bool, bool> f)
    {
        var value = f(a.Initial, b.Initial);
        var va = a.Initial;
        var vb = b.Initial;
        var toggles = new List<long>();
        int i = 0, j = 0;
        while (i < a.Toggles.Length || j < b.Toggles.Length)
        {
            long t;
            if (j >= b.Toggles.Length || (i < a.Toggles.Length && a.Toggles[i] < b.Toggles[j]))
            {
                t = a.Toggles[i++];
                va = !va;
            }
            else if (i >= a.Toggles.Length || b.Toggles[j] < a.Toggles[i])
            {
                t = b.Toggles[j++];
                vb = !vb;
            }
            else
            {
                t = a.Toggles[i++];
                j++;
                va = !va;
                vb = !vb;
            }

            var next = f(va, vb);
            if (next != value)
            {
                toggles.Add(t);
                value = next;
            }
        }

        return new Timeline(f(a.Initial, b.Initial), [.. toggles]);
    }
}
