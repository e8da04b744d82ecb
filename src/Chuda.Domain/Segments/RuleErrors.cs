namespace Chuda.Domain.Segments;

/// <summary>One fault in a rule: where (<see cref="Path"/>, a JSON path such as <c>$.and[1].count.op</c>), what kind
/// (<see cref="Code"/>, one of <see cref="RuleErrorCodes"/>) and a message for people.</summary>
public sealed record RuleError(string Path, string Code, string Message)
{
    public override string ToString() => $"{Path}: {Message} ({Code})";
}

/// <summary>The stable machine-readable codes of <see cref="RuleError"/>.</summary>
public static class RuleErrorCodes
{
    /// <summary>The document is not JSON.</summary>
    public const string InvalidJson = "invalid_json";
    /// <summary>An object has a key the language does not define there.</summary>
    public const string UnknownKey = "unknown_key";
    /// <summary>A key appears twice in one object.</summary>
    public const string DuplicateKey = "duplicate_key";
    /// <summary>A required key is missing (e.g. <c>op</c>, or <c>event</c> next to <c>count</c>).</summary>
    public const string MissingKey = "missing_key";
    /// <summary>An object matches no condition (none of and, or, not, trait, tag, event, ...).</summary>
    public const string UnknownCondition = "unknown_condition";
    /// <summary>An object names two conditions (e.g. both <c>trait</c> and <c>event</c>).</summary>
    public const string AmbiguousCondition = "ambiguous_condition";
    /// <summary>An <c>op</c> that the condition does not know.</summary>
    public const string UnknownOperator = "unknown_operator";
    /// <summary>An operand of the wrong type (gt with a string, a date operator with a non-date), or an operator that
    /// does not fit the trait's declared kind.</summary>
    public const string TypeMismatch = "type_mismatch";
    /// <summary>A duration that is not an accepted ISO 8601 duration.</summary>
    public const string BadDuration = "bad_duration";
    /// <summary><c>and</c> / <c>or</c> with no rules.</summary>
    public const string EmptyGroup = "empty_group";
    /// <summary>A value that is out of range or malformed (empty name, negative count, percent above 100, ...).</summary>
    public const string InvalidValue = "invalid_value";
    /// <summary>The rule is too deep, has too many conditions, or a list is too long.</summary>
    public const string TooComplex = "too_complex";
    /// <summary><c>member_of</c> names a segment that does not exist.</summary>
    public const string UnknownSegment = "unknown_segment";
    /// <summary><c>member_of</c> references lead back to the segment itself.</summary>
    public const string Cycle = "cycle";
}

/// <summary>The outcome of <see cref="RuleParser.Parse(System.Text.Json.JsonElement, RuleParserOptions?)"/>:
/// the rule when it is valid, otherwise every error found (the rule is then null).</summary>
public sealed record RuleParseResult(SegmentRule? Rule, IReadOnlyList<RuleError> Errors)
{
    public bool IsValid => Rule is not null && Errors.Count == 0;
}

/// <summary>The declared type of a trait, for operator checks at parse time (see <see cref="RuleParserOptions.TraitKinds"/>).</summary>
public enum TraitKind
{
    String,
    Number,
    Boolean,
    /// <summary>A string holding an ISO 8601 date or date-time.</summary>
    Date,
    Array,
    Object,
}

/// <summary>Limits and optional schema knowledge for the parser.</summary>
public sealed record RuleParserOptions
{
    public static RuleParserOptions Default { get; } = new();

    /// <summary>Declared kind of a trait path, when known (e.g. from a workspace's trait schema); null = unknown,
    /// in which case only the operand types are checked.</summary>
    public Func<string, TraitKind?>? TraitKinds { get; init; }

    /// <summary>Maximum nesting of and / or / not.</summary>
    public int MaxDepth { get; init; } = 16;

    /// <summary>Maximum number of rule objects (groups and conditions) in one rule.</summary>
    public int MaxNodes { get; init; } = 500;

    /// <summary>Maximum operands of in / not_in.</summary>
    public int MaxListValues { get; init; } = 1000;

    /// <summary>Maximum count operand.</summary>
    public int MaxCount { get; init; } = 1_000_000;
}
