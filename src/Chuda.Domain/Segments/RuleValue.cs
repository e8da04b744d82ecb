using System.Globalization;

namespace Chuda.Domain.Segments;

/// <summary>A scalar operand of a comparison: a string, a number or a boolean (JSON <c>null</c> is not an operand;
/// use <c>exists</c> / <c>not_exists</c>).</summary>
public abstract record RuleValue
{
    private protected RuleValue()
    {
    }
}

/// <summary>A string operand, compared ordinally (case-sensitive).</summary>
public sealed record StringValue(string Value) : RuleValue
{
    public override string ToString() => Value;
}

/// <summary>A number operand. JSON numbers are compared by value: <c>1</c> equals <c>1.0</c>.</summary>
public sealed record NumberValue(decimal Value) : RuleValue
{
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A boolean operand.</summary>
public sealed record BooleanValue(bool Value) : RuleValue
{
    public override string ToString() => Value ? "true" : "false";
}
