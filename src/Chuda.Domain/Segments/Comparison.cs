namespace Chuda.Domain.Segments;

/// <summary>The operators of trait comparisons and event property filters (JSON names in snake case).</summary>
public enum ComparisonOperator
{
    /// <summary><c>eq</c>: equal to a string, number or boolean.</summary>
    Eq,
    /// <summary><c>neq</c>: the negation of <c>eq</c> (true when the value is missing).</summary>
    Neq,
    /// <summary><c>gt</c>: a number greater than the operand.</summary>
    Gt,
    /// <summary><c>gte</c>: a number greater than or equal to the operand.</summary>
    Gte,
    /// <summary><c>lt</c>: a number less than the operand.</summary>
    Lt,
    /// <summary><c>lte</c>: a number less than or equal to the operand.</summary>
    Lte,
    /// <summary><c>contains</c>: a string containing the operand string, or an array with an element equal to it.</summary>
    Contains,
    /// <summary><c>starts_with</c>: a string starting with the operand string.</summary>
    StartsWith,
    /// <summary><c>in</c>: a scalar equal to one of the operands.</summary>
    In,
    /// <summary><c>not_in</c>: the negation of <c>in</c> (true when the value is missing).</summary>
    NotIn,
    /// <summary><c>exists</c>: present and not JSON null.</summary>
    Exists,
    /// <summary><c>not_exists</c>: missing or JSON null.</summary>
    NotExists,
    /// <summary><c>before</c>: a date strictly before an absolute instant.</summary>
    Before,
    /// <summary><c>after</c>: a date strictly after an absolute instant.</summary>
    After,
    /// <summary><c>within_last</c>: a date <c>t</c> with <c>now - D &lt; t &lt;= now</c>.</summary>
    WithinLast,
    /// <summary><c>within_next</c>: a date <c>t</c> with <c>now &lt; t &lt;= now + D</c>.</summary>
    WithinNext,
    /// <summary><c>more_than_ago</c>: a date <c>t</c> with <c>t &lt;= now - D</c> (at least D ago).</summary>
    MoreThanAgo,
    /// <summary><c>more_than_ahead</c>: a date <c>t</c> with <c>t &gt; now + D</c>.</summary>
    MoreThanAhead,
}

/// <summary>
/// One comparison: an operator and exactly the operand it needs. Created through the static factories, which enforce
/// the pairing: scalar operators carry <see cref="Value"/>, <c>in</c>/<c>not_in</c> carry <see cref="Values"/>,
/// <c>before</c>/<c>after</c> carry <see cref="Instant"/>, relative date operators carry <see cref="Duration"/>,
/// <c>exists</c>/<c>not_exists</c> carry nothing.
/// </summary>
public sealed record Comparison
{
    private Comparison(ComparisonOperator op, RuleValue? value, ValueList<RuleValue> values, DateTimeOffset? instant, TimeSpan? duration)
    {
        Op = op;
        Value = value;
        Values = values;
        Instant = instant;
        Duration = duration;
    }

    public ComparisonOperator Op { get; }

    /// <summary>The operand of eq, neq, gt, gte, lt, lte, contains, starts_with.</summary>
    public RuleValue? Value { get; }

    /// <summary>The operands of in / not_in; empty for other operators.</summary>
    public ValueList<RuleValue> Values { get; }

    /// <summary>The operand of before / after (UTC).</summary>
    public DateTimeOffset? Instant { get; }

    /// <summary>The operand of within_last, within_next, more_than_ago, more_than_ahead (positive).</summary>
    public TimeSpan? Duration { get; }

    /// <summary>True for the operators whose truth depends on the current time.</summary>
    public bool IsRelativeDate => Op is ComparisonOperator.WithinLast or ComparisonOperator.WithinNext
        or ComparisonOperator.MoreThanAgo or ComparisonOperator.MoreThanAhead;

    /// <summary>True for the operators that read the value as a date.</summary>
    public bool IsDate => IsRelativeDate || Op is ComparisonOperator.Before or ComparisonOperator.After;

    /// <summary>eq, neq (string, number or boolean); gt, gte, lt, lte (number); contains (any scalar); starts_with (string).</summary>
    public static Comparison Scalar(ComparisonOperator op, RuleValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var ok = op switch
        {
            ComparisonOperator.Eq or ComparisonOperator.Neq or ComparisonOperator.Contains => true,
            ComparisonOperator.Gt or ComparisonOperator.Gte or ComparisonOperator.Lt or ComparisonOperator.Lte => value is NumberValue,
            ComparisonOperator.StartsWith => value is StringValue,
            _ => false,
        };
        return ok
            ? new Comparison(op, value, ValueList<RuleValue>.Empty, null, null)
            : throw new ArgumentException($"{op} does not take a {value.GetType().Name}.", nameof(op));
    }

    /// <summary>in / not_in over a non-empty list of scalars.</summary>
    public static Comparison Set(bool negated, ValueList<RuleValue> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("in / not_in need at least one value.", nameof(values));
        }

        return new Comparison(negated ? ComparisonOperator.NotIn : ComparisonOperator.In, null, values, null, null);
    }

    /// <summary>exists / not_exists.</summary>
    public static Comparison Existence(bool exists) =>
        new(exists ? ComparisonOperator.Exists : ComparisonOperator.NotExists, null, ValueList<RuleValue>.Empty, null, null);

    /// <summary>before / after an absolute instant.</summary>
    public static Comparison Absolute(ComparisonOperator op, DateTimeOffset instant) =>
        op is ComparisonOperator.Before or ComparisonOperator.After
            ? new Comparison(op, null, ValueList<RuleValue>.Empty, instant.ToUniversalTime(), null)
            : throw new ArgumentException($"{op} is not before/after.", nameof(op));

    /// <summary>within_last, within_next, more_than_ago, more_than_ahead with a positive duration.</summary>
    public static Comparison Relative(ComparisonOperator op, TimeSpan duration)
    {
        if (op is not (ComparisonOperator.WithinLast or ComparisonOperator.WithinNext or ComparisonOperator.MoreThanAgo
            or ComparisonOperator.MoreThanAhead))
        {
            throw new ArgumentException($"{op} is not a relative date operator.", nameof(op));
        }

        return duration > TimeSpan.Zero
            ? new Comparison(op, null, ValueList<RuleValue>.Empty, null, duration)
            : throw new ArgumentOutOfRangeException(nameof(duration), "Durations are positive.");
    }

    public override string ToString() =>
        $"{OperatorNames.Name(Op)} {Value?.ToString() ?? (Values.Count > 0 ? Values.ToString() : Instant?.ToString("O") ?? (Duration is { } d ? RuleDuration.Format(d) : ""))}".TrimEnd();
}

/// <summary>JSON names of operators.</summary>
public static class OperatorNames
{
    private static readonly Dictionary<string, ComparisonOperator> ByName = new(StringComparer.Ordinal)
    {
        ["eq"] = ComparisonOperator.Eq,
        ["neq"] = ComparisonOperator.Neq,
        ["gt"] = ComparisonOperator.Gt,
        ["gte"] = ComparisonOperator.Gte,
        ["lt"] = ComparisonOperator.Lt,
        ["lte"] = ComparisonOperator.Lte,
        ["contains"] = ComparisonOperator.Contains,
        ["starts_with"] = ComparisonOperator.StartsWith,
        ["in"] = ComparisonOperator.In,
        ["not_in"] = ComparisonOperator.NotIn,
        ["exists"] = ComparisonOperator.Exists,
        ["not_exists"] = ComparisonOperator.NotExists,
        ["before"] = ComparisonOperator.Before,
        ["after"] = ComparisonOperator.After,
        ["within_last"] = ComparisonOperator.WithinLast,
        ["within_next"] = ComparisonOperator.WithinNext,
        ["more_than_ago"] = ComparisonOperator.MoreThanAgo,
        ["more_than_ahead"] = ComparisonOperator.MoreThanAhead,
    };

    private static readonly Dictionary<ComparisonOperator, string> ByOp = ByName.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>All operator names, in declaration order.</summary>
    public static IReadOnlyList<string> All { get; } = [.. ByName.Keys];

    /// <summary>The JSON name of <paramref name="op"/>, e.g. <c>starts_with</c>.</summary>
    public static string Name(ComparisonOperator op) => ByOp[op];

    /// <summary>Looks up an operator by its JSON name (exact, case-sensitive).</summary>
    public static bool TryParse(string name, out ComparisonOperator op) => ByName.TryGetValue(name, out op);
}
