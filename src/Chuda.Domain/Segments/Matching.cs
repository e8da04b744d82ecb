using System.Text.Json;

namespace Chuda.Domain.Segments;

/// <summary>Comparison of JSON values against rule operands (pure; shared by traits and property filters).</summary>
internal static class Matching
{
    /// <summary>The value at a dotted path of an object; false when any step is missing or not an object.</summary>
    public static bool TryGetPath(JsonElement root, string path, out JsonElement value)
    {
        value = root;
        var start = 0;
        while (true)
        {
            if (value.ValueKind != JsonValueKind.Object)
            {
                value = default;
                return false;
            }

            var dot = path.IndexOf('.', start);
            var name = dot < 0 ? path.AsSpan(start) : path.AsSpan(start, dot - start);
            if (!value.TryGetProperty(name, out var next))
            {
                value = default;
                return false;
            }

            value = next;
            if (dot < 0)
            {
                return true;
            }

            start = dot + 1;
        }
    }

    /// <summary>Evaluates a comparison on the value at <paramref name="path"/> of <paramref name="root"/>.</summary>
    public static bool Test(Comparison c, JsonElement root, string path, long nowTicks)
    {
        var found = TryGetPath(root, path, out var value);
        return Test(c, found ? value : default, nowTicks);
    }

    /// <summary>Evaluates a comparison on a value (Undefined = missing).</summary>
    public static bool Test(Comparison c, JsonElement value, long nowTicks)
    {
        var present = value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);
        switch (c.Op)
        {
            case ComparisonOperator.Exists:
                return present;
            case ComparisonOperator.NotExists:
                return !present;
            case ComparisonOperator.Eq:
                return present && ScalarEquals(value, c.Value!);
            case ComparisonOperator.Neq:
                return !(present && ScalarEquals(value, c.Value!));
            case ComparisonOperator.In:
                return present && c.Values.Any(v => ScalarEquals(value, v));
            case ComparisonOperator.NotIn:
                return !(present && c.Values.Any(v => ScalarEquals(value, v)));
            case ComparisonOperator.Gt or ComparisonOperator.Gte or ComparisonOperator.Lt or ComparisonOperator.Lte:
                if (value.ValueKind != JsonValueKind.Number)
                {
                    return false;
                }

                var cmp = CompareNumber(value, ((NumberValue)c.Value!).Value);
                return c.Op switch
                {
                    ComparisonOperator.Gt => cmp > 0,
                    ComparisonOperator.Gte => cmp >= 0,
                    ComparisonOperator.Lt => cmp < 0,
                    _ => cmp <= 0,
                };
            case ComparisonOperator.Contains:
                return value.ValueKind switch
                {
                    JsonValueKind.String => c.Value is StringValue s && value.GetString()!.Contains(s.Value, StringComparison.Ordinal),
                    JsonValueKind.Array => value.EnumerateArray().Any(item => ScalarEquals(item, c.Value!)),
                    _ => false,
                };
            case ComparisonOperator.StartsWith:
                return value.ValueKind == JsonValueKind.String
                    && value.GetString()!.StartsWith(((StringValue)c.Value!).Value, StringComparison.Ordinal);
            default:
                return TryDate(value, out var t) && TestDate(c, t, nowTicks);
        }
    }

    /// <summary>Reads a JSON string as a date (see <see cref="RuleDates"/>), as UTC ticks.</summary>
    public static bool TryDate(JsonElement value, out long ticks)
    {
        ticks = 0;
        if (value.ValueKind != JsonValueKind.String || !RuleDates.TryParse(value.GetString(), out var instant))
        {
            return false;
        }

        ticks = instant.UtcTicks;
        return true;
    }

    /// <summary>Evaluates a date comparison on instant <paramref name="t"/> at <paramref name="now"/> (UTC ticks).</summary>
    public static bool TestDate(Comparison c, long t, long now)
    {
        var d = c.Duration?.Ticks ?? 0;
        return c.Op switch
        {
            ComparisonOperator.Before => t < c.Instant!.Value.UtcTicks,
            ComparisonOperator.After => t > c.Instant!.Value.UtcTicks,
            ComparisonOperator.WithinLast => now - d < t && t <= now,
            ComparisonOperator.WithinNext => now < t && t <= now + d,
            ComparisonOperator.MoreThanAgo => t <= now - d,
            ComparisonOperator.MoreThanAhead => t > now + d,
            _ => false,
        };
    }

    public static bool ScalarEquals(JsonElement value, RuleValue operand) => operand switch
    {
        StringValue s => value.ValueKind == JsonValueKind.String && value.ValueEquals(s.Value),
        NumberValue n => value.ValueKind == JsonValueKind.Number && CompareNumber(value, n.Value) == 0,
        BooleanValue b => value.ValueKind == (b.Value ? JsonValueKind.True : JsonValueKind.False),
        _ => false,
    };

    private static int CompareNumber(JsonElement value, decimal operand) =>
        value.TryGetDecimal(out var d) ? d.CompareTo(operand) : value.GetDouble().CompareTo((double)operand);

    /// <summary>True when the event's properties pass every filter.</summary>
    public static bool Passes(EventMatcher m, EventFact e)
    {
        foreach (var f in m.Where)
        {
            if (!Test(f.Comparison, e.Properties, f.Path, 0))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The matching events, sorted by timestamp.</summary>
    public static List<EventFact> Matches(EventMatcher m, ProfileFacts facts)
    {
        var all = facts.EventsNamed(m.Event);
        var result = new List<EventFact>(all.Count);
        foreach (var e in all)
        {
            if (Passes(m, e))
            {
                result.Add(e);
            }
        }

        return result;
    }
}
