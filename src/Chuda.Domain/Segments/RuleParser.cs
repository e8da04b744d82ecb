using System.Globalization;
using System.Text.Json;

namespace Chuda.Domain.Segments;

/// <summary>
/// Parses and validates the JSON rule language (docs/segments.md) into a <see cref="SegmentRule"/>. Validation is
/// strict: unknown or duplicate keys, unknown operators, operand type mismatches, bad durations, empty groups and out
/// of range values are all errors, each reported with the JSON path of the fault. All errors are collected; the rule
/// is returned only when there are none. <c>member_of</c> references are checked separately by
/// <see cref="RuleValidator.CheckReferences"/> because that needs the other segments.
/// </summary>
public static class RuleParser
{
    private const int MaxNameLength = 200;
    private const int MaxPathSegments = 10;

    private static readonly string[] Discriminators =
    [
        "and", "or", "not", "trait", "tag", "event", "not_performed", "sequence", "first_performed", "last_performed",
        "reachable", "member_of", "bucket",
    ];

    /// <summary>Parses rule JSON text. Malformed JSON gives one <see cref="RuleErrorCodes.InvalidJson"/> error at <c>$</c>.</summary>
    public static RuleParseResult Parse(string json, RuleParserOptions? options = null)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 128 });
            return Parse(doc.RootElement, options);
        }
        catch (JsonException e)
        {
            return new RuleParseResult(null, [new RuleError("$", RuleErrorCodes.InvalidJson, e.Message)]);
        }
    }

    /// <summary>Parses and validates a rule. The result holds the rule, or every error found.</summary>
    public static RuleParseResult Parse(JsonElement json, RuleParserOptions? options = null)
    {
        var ctx = new Context(options ?? RuleParserOptions.Default);
        var rule = ctx.Rule(json, "$", 0);
        return ctx.Errors.Count == 0 && rule is not null
            ? new RuleParseResult(rule, [])
            : new RuleParseResult(null, ctx.Errors);
    }

    /// <summary>Appends a property name to a JSON path: <c>$.a</c>, or <c>$['a b']</c> for names that are not simple.</summary>
    public static string Child(string path, string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
            ? path + "." + name
            : path + "['" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "']";

    /// <summary>Appends an array index to a JSON path: <c>$.and[1]</c>.</summary>
    public static string Index(string path, int index) => path + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";

    private sealed class Context(RuleParserOptions options)
    {
        public List<RuleError> Errors { get; } = [];
        private int _nodes;
        private bool _tooMany;

        private void Error(string path, string code, string message) => Errors.Add(new RuleError(path, code, message));

        public SegmentRule? Rule(JsonElement e, string path, int depth)
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, RuleErrorCodes.InvalidValue, $"expected a rule object, got {Kind(e)}");
                return null;
            }

            if (depth > options.MaxDepth)
            {
                Error(path, RuleErrorCodes.TooComplex, $"rules may nest at most {options.MaxDepth} levels");
                return null;
            }

            if (++_nodes > options.MaxNodes)
            {
                if (!_tooMany)
                {
                    _tooMany = true;
                    Error(path, RuleErrorCodes.TooComplex, $"a rule may have at most {options.MaxNodes} conditions");
                }

                return null;
            }

            var present = new List<string>();
            foreach (var p in e.EnumerateObject())
            {
                if (Array.IndexOf(Discriminators, p.Name) >= 0 && !present.Contains(p.Name))
                {
                    present.Add(p.Name);
                }
            }

            if (present.Count == 0)
            {
                var hasEventKeys = e.EnumerateObject().Any(p => p.Name is "count" or "within" or "where");
                if (hasEventKeys)
                {
                    Error(Child(path, "event"), RuleErrorCodes.MissingKey, "'count', 'within' and 'where' need an 'event'");
                }
                else
                {
                    Error(path, RuleErrorCodes.UnknownCondition,
                        e.EnumerateObject().Any()
                            ? $"not a condition; expected one of: {string.Join(", ", Discriminators)}"
                            : "empty rule object; expected one of: " + string.Join(", ", Discriminators));
                }

                return null;
            }

            if (present.Count > 1)
            {
                Error(path, RuleErrorCodes.AmbiguousCondition,
                    $"'{present[0]}' and '{present[1]}' cannot share one object; combine conditions with 'and' / 'or'");
                return null;
            }

            return present[0] switch
            {
                "and" or "or" => Group(e, path, depth, present[0]),
                "not" => Not(e, path, depth),
                "trait" => Trait(e, path),
                "tag" => Tag(e, path),
                "event" => Performed(e, path),
                "not_performed" => NotPerformed(e, path),
                "sequence" => Sequence(e, path),
                "first_performed" or "last_performed" => Occurrence(e, path, present[0]),
                "reachable" => Reachable(e, path),
                "member_of" => MemberOf(e, path),
                _ => Bucket(e, path),
            };
        }

        /// <summary>Collects an object's properties, reporting unknown and duplicate keys.</summary>
        private Dictionary<string, JsonElement> Keys(JsonElement e, string path, params string[] allowed)
        {
            var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                if (Array.IndexOf(allowed, p.Name) < 0)
                {
                    Error(Child(path, p.Name), RuleErrorCodes.UnknownKey,
                        $"unknown key '{p.Name}'; allowed here: {string.Join(", ", allowed)}");
                }
                else if (!result.TryAdd(p.Name, p.Value))
                {
                    Error(Child(path, p.Name), RuleErrorCodes.DuplicateKey, $"'{p.Name}' appears more than once");
                }
            }

            return result;
        }

        private SegmentRule? Group(JsonElement e, string path, int depth, string key)
        {
            var keys = Keys(e, path, key);
            var list = keys[key];
            var listPath = Child(path, key);
            if (list.ValueKind != JsonValueKind.Array)
            {
                Error(listPath, RuleErrorCodes.InvalidValue, $"'{key}' takes an array of rules, got {Kind(list)}");
                return null;
            }

            if (list.GetArrayLength() == 0)
            {
                Error(listPath, RuleErrorCodes.EmptyGroup, $"'{key}' needs at least one rule");
                return null;
            }

            var rules = new List<SegmentRule>();
            var i = 0;
            foreach (var item in list.EnumerateArray())
            {
                if (Rule(item, Index(listPath, i++), depth + 1) is { } r)
                {
                    rules.Add(r);
                }
            }

            return rules.Count != list.GetArrayLength()
                ? null
                : key == "and" ? new AndRule(ValueList.From(rules)) : new OrRule(ValueList.From(rules));
        }

        private NotRule? Not(JsonElement e, string path, int depth)
        {
            var keys = Keys(e, path, "not");
            return Rule(keys["not"], Child(path, "not"), depth + 1) is { } inner ? new NotRule(inner) : null;
        }

        private TraitCondition? Trait(JsonElement e, string path)
        {
            var keys = Keys(e, path, "trait", "op", "value");
            var traitPath = DottedPath(keys["trait"], Child(path, "trait"));
            var comparison = Comparison(keys, path, allowRelative: true, traitPath);
            return traitPath is not null && comparison is not null ? new TraitCondition(traitPath, comparison) : null;
        }

        private TagCondition? Tag(JsonElement e, string path)
        {
            var keys = Keys(e, path, "tag", "op");
            var tag = Name(keys["tag"], Child(path, "tag"), "a tag");
            var present = true;
            if (keys.TryGetValue("op", out var op))
            {
                switch (op.ValueKind == JsonValueKind.String ? op.GetString() : null)
                {
                    case "present":
                        break;
                    case "absent":
                        present = false;
                        break;
                    default:
                        Error(Child(path, "op"), RuleErrorCodes.UnknownOperator, "tag op is 'present' or 'absent'");
                        return null;
                }
            }

            return tag is null ? null : new TagCondition(tag, present);
        }

        private EventPerformedCondition? Performed(JsonElement e, string path)
        {
            var keys = Keys(e, path, "event", "where", "count", "within");
            var match = Matcher(keys, "event", path);
            var count = EventCount.Once;
            var ok = match is not null;
            if (keys.TryGetValue("count", out var c))
            {
                var parsed = Count(c, Child(path, "count"));
                ok &= parsed is not null;
                count = parsed ?? count;
            }

            var within = OptionalDuration(keys, "within", path, ref ok);
            return ok ? new EventPerformedCondition(match!, count, within) : null;
        }

        private EventNotPerformedCondition? NotPerformed(JsonElement e, string path)
        {
            var keys = Keys(e, path, "not_performed", "where", "within");
            var match = Matcher(keys, "not_performed", path);
            var ok = match is not null;
            var within = OptionalDuration(keys, "within", path, ref ok);
            return ok ? new EventNotPerformedCondition(match!, within) : null;
        }

        private SequenceCondition? Sequence(JsonElement e, string path)
        {
            Keys(e, path, "sequence");
            var seqPath = Child(path, "sequence");
            var seq = e.GetProperty("sequence");
            if (seq.ValueKind != JsonValueKind.Object)
            {
                Error(seqPath, RuleErrorCodes.InvalidValue, $"'sequence' takes an object, got {Kind(seq)}");
                return null;
            }

            var keys = Keys(seq, seqPath, "first", "followed_by", "not_followed_by", "within", "match", "lookback");
            var ok = true;
            EventMatcher? first = null;
            if (!keys.TryGetValue("first", out var f))
            {
                Error(Child(seqPath, "first"), RuleErrorCodes.MissingKey, "a sequence needs 'first': {\"event\": ...}");
                ok = false;
            }
            else
            {
                first = SequenceStep(f, Child(seqPath, "first"));
                ok &= first is not null;
            }

            var hasFollowed = keys.TryGetValue("followed_by", out var fb);
            var hasNotFollowed = keys.TryGetValue("not_followed_by", out var nfb);
            EventMatcher? then = null;
            if (hasFollowed == hasNotFollowed)
            {
                Error(Child(seqPath, "not_followed_by"), hasFollowed ? RuleErrorCodes.AmbiguousCondition : RuleErrorCodes.MissingKey,
                    "a sequence needs exactly one of 'followed_by' and 'not_followed_by'");
                ok = false;
            }
            else
            {
                var name = hasFollowed ? "followed_by" : "not_followed_by";
                then = SequenceStep(hasFollowed ? fb : nfb, Child(seqPath, name));
                ok &= then is not null;
            }

            TimeSpan within = default;
            if (!keys.TryGetValue("within", out var w))
            {
                Error(Child(seqPath, "within"), RuleErrorCodes.MissingKey, "a sequence needs 'within' (e.g. \"PT30M\")");
                ok = false;
            }
            else if (Duration(w, Child(seqPath, "within")) is { } d)
            {
                within = d;
            }
            else
            {
                ok = false;
            }

            string? matchProperty = null;
            if (keys.TryGetValue("match", out var m))
            {
                matchProperty = DottedPath(m, Child(seqPath, "match"));
                ok &= matchProperty is not null;
            }

            var lookback = OptionalDuration(keys, "lookback", seqPath, ref ok);
            if (ok && lookback is { } lb && lb <= within)
            {
                Error(Child(seqPath, "lookback"), RuleErrorCodes.InvalidValue,
                    "'lookback' must be longer than 'within', or the sequence could never be true");
                ok = false;
            }

            return ok ? new SequenceCondition(first!, then!, hasFollowed, within, matchProperty, lookback) : null;
        }

        private EventMatcher? SequenceStep(JsonElement e, string path)
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, RuleErrorCodes.InvalidValue, $"expected {{\"event\": ..., \"where\": [...]}}, got {Kind(e)}");
                return null;
            }

            var keys = Keys(e, path, "event", "where");
            if (!keys.ContainsKey("event"))
            {
                Error(Child(path, "event"), RuleErrorCodes.MissingKey, "missing 'event'");
                return null;
            }

            return Matcher(keys, "event", path);
        }

        private OccurrenceCondition? Occurrence(JsonElement e, string path, string key)
        {
            var keys = Keys(e, path, key, "where", "op", "value");
            var match = Matcher(keys, key, path);
            var comparison = Comparison(keys, path, allowRelative: true, traitPath: null, occurrence: true);
            return match is not null && comparison is not null
                ? new OccurrenceCondition(key == "first_performed" ? Segments.Occurrence.First : Segments.Occurrence.Last, match, comparison)
                : null;
        }

        private ReachableCondition? Reachable(JsonElement e, string path)
        {
            var keys = Keys(e, path, "reachable");
            var v = keys["reachable"];
            var text = v.ValueKind == JsonValueKind.String ? v.GetString()! : null;
            switch (text)
            {
                case "email":
                    return new ReachableCondition(ReachChannel.Email);
                case "phone":
                    return new ReachableCondition(ReachChannel.Phone);
                case "push":
                    return new ReachableCondition(ReachChannel.Push);
                case "wechat":
                    return new ReachableCondition(ReachChannel.WeChat);
                case { } s when s.StartsWith("push:", StringComparison.Ordinal) && s.Length > 5 && s.Length <= 64
                    && s[5..].All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-'):
                    return new ReachableCondition(ReachChannel.Push, s[5..]);
                default:
                    Error(Child(path, "reachable"), RuleErrorCodes.InvalidValue,
                        "reachable is one of 'email', 'phone', 'push', 'push:<platform>', 'wechat'");
                    return null;
            }
        }

        private SegmentMembershipCondition? MemberOf(JsonElement e, string path)
        {
            var keys = Keys(e, path, "member_of");
            var id = Name(keys["member_of"], Child(path, "member_of"), "a segment id");
            return id is null ? null : new SegmentMembershipCondition(id);
        }

        private RandomBucketCondition? Bucket(JsonElement e, string path)
        {
            Keys(e, path, "bucket");
            var bucketPath = Child(path, "bucket");
            var b = e.GetProperty("bucket");
            if (b.ValueKind != JsonValueKind.Object)
            {
                Error(bucketPath, RuleErrorCodes.InvalidValue, "'bucket' takes {\"salt\": \"...\", \"percent\": 10}");
                return null;
            }

            var keys = Keys(b, bucketPath, "salt", "percent");
            string? salt = null;
            if (keys.TryGetValue("salt", out var s))
            {
                salt = Name(s, Child(bucketPath, "salt"), "a salt");
            }
            else
            {
                Error(Child(bucketPath, "salt"), RuleErrorCodes.MissingKey, "a bucket needs a 'salt' (a fixed string per experiment)");
            }

            decimal? percent = null;
            if (!keys.TryGetValue("percent", out var p))
            {
                Error(Child(bucketPath, "percent"), RuleErrorCodes.MissingKey, "a bucket needs 'percent' (0 to 100)");
            }
            else if (p.ValueKind != JsonValueKind.Number)
            {
                Error(Child(bucketPath, "percent"), RuleErrorCodes.TypeMismatch, $"percent is a number, got {Kind(p)}");
            }
            else if (!p.TryGetDecimal(out var pv) || pv < 0 || pv > 100 || decimal.Round(pv, 2) != pv)
            {
                Error(Child(bucketPath, "percent"), RuleErrorCodes.InvalidValue, "percent is 0 to 100 with at most two decimals");
            }
            else
            {
                percent = pv;
            }

            return salt is not null && percent is { } pc ? new RandomBucketCondition(salt, pc) : null;
        }

        private EventMatcher? Matcher(Dictionary<string, JsonElement> keys, string nameKey, string path)
        {
            var name = Name(keys[nameKey], Child(path, nameKey), "an event name");
            var filters = new List<PropertyFilter>();
            var ok = name is not null;
            if (keys.TryGetValue("where", out var where))
            {
                var wherePath = Child(path, "where");
                if (where.ValueKind != JsonValueKind.Array)
                {
                    Error(wherePath, RuleErrorCodes.InvalidValue, $"'where' takes an array of property filters, got {Kind(where)}");
                    return null;
                }

                var i = 0;
                foreach (var f in where.EnumerateArray())
                {
                    var fPath = Index(wherePath, i++);
                    if (f.ValueKind != JsonValueKind.Object)
                    {
                        Error(fPath, RuleErrorCodes.InvalidValue, "expected {\"property\": ..., \"op\": ..., \"value\": ...}");
                        ok = false;
                        continue;
                    }

                    var fk = Keys(f, fPath, "property", "op", "value");
                    if (!fk.TryGetValue("property", out var prop))
                    {
                        Error(Child(fPath, "property"), RuleErrorCodes.MissingKey, "a filter needs 'property'");
                        ok = false;
                        continue;
                    }

                    var propPath = DottedPath(prop, Child(fPath, "property"));
                    var comparison = Comparison(fk, fPath, allowRelative: false, traitPath: null);
                    if (propPath is not null && comparison is not null)
                    {
                        filters.Add(new PropertyFilter(propPath, comparison));
                    }
                    else
                    {
                        ok = false;
                    }
                }
            }

            return ok ? new EventMatcher(name!, ValueList.From(filters)) : null;
        }

        private EventCount? Count(JsonElement c, string path)
        {
            if (c.ValueKind != JsonValueKind.Object)
            {
                Error(path, RuleErrorCodes.InvalidValue, "'count' takes {\"op\": \"at_least\", \"value\": 3}");
                return null;
            }

            var keys = Keys(c, path, "op", "value");
            CountOperator? op = null;
            if (!keys.TryGetValue("op", out var o))
            {
                Error(Child(path, "op"), RuleErrorCodes.MissingKey, "count needs 'op': at_least, exactly or at_most");
            }
            else
            {
                op = (o.ValueKind == JsonValueKind.String ? o.GetString() : null) switch
                {
                    "at_least" => CountOperator.AtLeast,
                    "exactly" => CountOperator.Exactly,
                    "at_most" => CountOperator.AtMost,
                    _ => null,
                };
                if (op is null)
                {
                    Error(Child(path, "op"), RuleErrorCodes.UnknownOperator, "count op is at_least, exactly or at_most");
                }
            }

            int? value = null;
            if (!keys.TryGetValue("value", out var v))
            {
                Error(Child(path, "value"), RuleErrorCodes.MissingKey, "count needs 'value'");
            }
            else if (v.ValueKind != JsonValueKind.Number)
            {
                Error(Child(path, "value"), RuleErrorCodes.TypeMismatch, $"count value is a whole number, got {Kind(v)}");
            }
            else if (!v.TryGetInt32(out var n) || n < 0 || n > options.MaxCount)
            {
                Error(Child(path, "value"), RuleErrorCodes.InvalidValue, $"count value is a whole number from 0 to {options.MaxCount}");
            }
            else if (n == 0 && op == CountOperator.AtLeast)
            {
                Error(Child(path, "value"), RuleErrorCodes.InvalidValue, "at_least 0 is always true; use at_least 1 or more");
            }
            else
            {
                value = n;
            }

            return op is { } cop && value is { } cv ? new EventCount(cop, cv) : null;
        }

        private Comparison? Comparison(Dictionary<string, JsonElement> keys, string path, bool allowRelative, string? traitPath,
            bool occurrence = false)
        {
            var opPath = Child(path, "op");
            var valuePath = Child(path, "value");
            if (!keys.TryGetValue("op", out var opElement))
            {
                Error(opPath, RuleErrorCodes.MissingKey, "missing 'op'");
                return null;
            }

            var opName = opElement.ValueKind == JsonValueKind.String ? opElement.GetString()! : null;
            if (opName is null || !OperatorNames.TryParse(opName, out var op))
            {
                Error(opPath, RuleErrorCodes.UnknownOperator,
                    $"unknown operator {(opName is null ? Kind(opElement) : "'" + opName + "'")}; expected one of: {string.Join(", ", OperatorNames.All)}");
                return null;
            }

            if (occurrence && op is not (ComparisonOperator.Before or ComparisonOperator.After or ComparisonOperator.WithinLast
                    or ComparisonOperator.MoreThanAgo))
            {
                Error(opPath, RuleErrorCodes.UnknownOperator,
                    $"'{opName}' does not apply to an occurrence time; use before, after, within_last or more_than_ago");
                return null;
            }

            if (!allowRelative && op is ComparisonOperator.WithinLast or ComparisonOperator.WithinNext
                    or ComparisonOperator.MoreThanAgo or ComparisonOperator.MoreThanAhead)
            {
                Error(opPath, RuleErrorCodes.UnknownOperator,
                    $"'{opName}' is not allowed in a property filter; use before / after with a date");
                return null;
            }

            var hasValue = keys.TryGetValue("value", out var v);
            if (op is ComparisonOperator.Exists or ComparisonOperator.NotExists)
            {
                if (hasValue)
                {
                    Error(valuePath, RuleErrorCodes.InvalidValue, $"'{opName}' takes no value");
                    return null;
                }

                return CheckKind(Segments.Comparison.Existence(op == ComparisonOperator.Exists), traitPath, opPath);
            }

            if (!hasValue)
            {
                Error(valuePath, RuleErrorCodes.MissingKey, $"'{opName}' needs a value");
                return null;
            }

            Comparison? result = null;
            switch (op)
            {
                case ComparisonOperator.Eq or ComparisonOperator.Neq or ComparisonOperator.Contains:
                    if (Scalar(v) is { } any)
                    {
                        result = Segments.Comparison.Scalar(op, any);
                    }
                    else
                    {
                        Error(valuePath, RuleErrorCodes.TypeMismatch, $"'{opName}' needs a string, number or boolean value, got {Kind(v)}");
                    }

                    break;
                case ComparisonOperator.Gt or ComparisonOperator.Gte or ComparisonOperator.Lt or ComparisonOperator.Lte:
                    if (Scalar(v) is NumberValue number)
                    {
                        result = Segments.Comparison.Scalar(op, number);
                    }
                    else
                    {
                        Error(valuePath, RuleErrorCodes.TypeMismatch,
                            $"'{opName}' compares numbers, got {Kind(v)}" + (v.ValueKind == JsonValueKind.String ? "; for dates use before / after" : ""));
                    }

                    break;
                case ComparisonOperator.StartsWith:
                    if (v.ValueKind == JsonValueKind.String)
                    {
                        result = Segments.Comparison.Scalar(op, new StringValue(v.GetString()!));
                    }
                    else
                    {
                        Error(valuePath, RuleErrorCodes.TypeMismatch, $"'starts_with' needs a string value, got {Kind(v)}");
                    }

                    break;
                case ComparisonOperator.In or ComparisonOperator.NotIn:
                    result = Set(v, valuePath, op == ComparisonOperator.NotIn, opName);
                    break;
                case ComparisonOperator.Before or ComparisonOperator.After:
                    if (v.ValueKind == JsonValueKind.String && RuleDates.TryParse(v.GetString(), out var instant))
                    {
                        result = Segments.Comparison.Absolute(op, instant);
                    }
                    else
                    {
                        Error(valuePath, RuleErrorCodes.TypeMismatch,
                            $"'{opName}' needs an ISO 8601 date (\"2026-05-01\" or \"2026-05-01T12:00:00Z\"), got {Describe(v)}");
                    }

                    break;
                default:
                    if (Duration(v, valuePath) is { } d)
                    {
                        result = Segments.Comparison.Relative(op, d);
                    }

                    break;
            }

            return result is null ? null : CheckKind(result, traitPath, opPath);
        }

        private Comparison? Set(JsonElement v, string path, bool negated, string opName)
        {
            if (v.ValueKind != JsonValueKind.Array)
            {
                Error(path, RuleErrorCodes.TypeMismatch, $"'{opName}' needs an array of values, got {Kind(v)}");
                return null;
            }

            var n = v.GetArrayLength();
            if (n == 0)
            {
                Error(path, RuleErrorCodes.InvalidValue, $"'{opName}' needs at least one value");
                return null;
            }

            if (n > options.MaxListValues)
            {
                Error(path, RuleErrorCodes.TooComplex, $"'{opName}' takes at most {options.MaxListValues} values");
                return null;
            }

            var values = new List<RuleValue>();
            var i = 0;
            foreach (var item in v.EnumerateArray())
            {
                if (Scalar(item) is { } s)
                {
                    values.Add(s);
                }
                else
                {
                    Error(Index(path, i), RuleErrorCodes.TypeMismatch, $"values of '{opName}' are strings, numbers or booleans, got {Kind(item)}");
                }

                i++;
            }

            return values.Count == n ? Segments.Comparison.Set(negated, ValueList.From(values)) : null;
        }

        /// <summary>Checks the operator against the trait's declared kind, when the options know it.</summary>
        private Comparison? CheckKind(Comparison c, string? traitPath, string opPath)
        {
            if (traitPath is null || options.TraitKinds?.Invoke(traitPath) is not { } kind)
            {
                return c;
            }

            bool ValueFits(RuleValue v) => kind switch
            {
                TraitKind.String or TraitKind.Date => v is StringValue,
                TraitKind.Number => v is NumberValue,
                TraitKind.Boolean => v is BooleanValue,
                _ => false,
            };

            var ok = c.Op switch
            {
                ComparisonOperator.Exists or ComparisonOperator.NotExists => true,
                ComparisonOperator.Eq or ComparisonOperator.Neq => ValueFits(c.Value!),
                ComparisonOperator.In or ComparisonOperator.NotIn => c.Values.All(ValueFits),
                ComparisonOperator.Gt or ComparisonOperator.Gte or ComparisonOperator.Lt or ComparisonOperator.Lte => kind == TraitKind.Number,
                ComparisonOperator.Contains => kind == TraitKind.Array || (kind == TraitKind.String && c.Value is StringValue),
                ComparisonOperator.StartsWith => kind == TraitKind.String,
                _ => kind == TraitKind.Date,
            };
            if (!ok)
            {
                Error(opPath, RuleErrorCodes.TypeMismatch,
                    $"'{OperatorNames.Name(c.Op)}' does not apply to trait '{traitPath}', which is declared as {kind.ToString().ToLowerInvariant()}"
                    + (c.Value is { } value && c.Op is ComparisonOperator.Eq or ComparisonOperator.Neq ? $" (value {Describe(value)})" : ""));
                return null;
            }

            return c;
        }

        private TimeSpan? OptionalDuration(Dictionary<string, JsonElement> keys, string key, string path, ref bool ok)
        {
            if (!keys.TryGetValue(key, out var w))
            {
                return null;
            }

            var d = Duration(w, Child(path, key));
            ok &= d is not null;
            return d;
        }

        private TimeSpan? Duration(JsonElement v, string path)
        {
            if (v.ValueKind != JsonValueKind.String)
            {
                Error(path, RuleErrorCodes.BadDuration, $"expected an ISO 8601 duration string such as \"P7D\", got {Kind(v)}");
                return null;
            }

            if (RuleDuration.TryParse(v.GetString()!, out var d, out var error))
            {
                return d;
            }

            Error(path, RuleErrorCodes.BadDuration, error);
            return null;
        }

        private string? Name(JsonElement v, string path, string what)
        {
            if (v.ValueKind != JsonValueKind.String)
            {
                Error(path, RuleErrorCodes.TypeMismatch, $"expected {what} (a string), got {Kind(v)}");
                return null;
            }

            var s = v.GetString()!;
            if (string.IsNullOrWhiteSpace(s) || s.Length > MaxNameLength)
            {
                Error(path, RuleErrorCodes.InvalidValue, $"{what} is 1 to {MaxNameLength} characters and not blank");
                return null;
            }

            return s;
        }

        private string? DottedPath(JsonElement v, string path)
        {
            var s = Name(v, path, "a dotted path");
            if (s is null)
            {
                return null;
            }

            var parts = s.Split('.');
            if (parts.Length > MaxPathSegments || parts.Any(p => p.Length == 0 || p.Trim().Length != p.Length))
            {
                Error(path, RuleErrorCodes.InvalidValue,
                    $"'{s}' is not a path: names separated by single dots, no empty names or surrounding spaces, at most {MaxPathSegments} levels");
                return null;
            }

            return s;
        }

        private static RuleValue? Scalar(JsonElement v) => v.ValueKind switch
        {
            JsonValueKind.String => new StringValue(v.GetString()!),
            JsonValueKind.True => new BooleanValue(true),
            JsonValueKind.False => new BooleanValue(false),
            JsonValueKind.Number when v.TryGetDecimal(out var d) => new NumberValue(d),
            _ => null,
        };

        private static string Kind(JsonElement v) => v.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            _ => "nothing",
        };

        private static string Describe(JsonElement v) => v.ValueKind == JsonValueKind.String ? $"\"{v.GetString()}\"" : Kind(v);

        private static string Describe(RuleValue v) => v is StringValue s ? $"\"{s.Value}\"" : v.ToString()!;
    }
}
