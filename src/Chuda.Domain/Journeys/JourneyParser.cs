using System.Globalization;
using System.Text.Json;
using Chuda.Domain.Segments;

namespace Chuda.Domain.Journeys;

/// <summary>One fault in a journey definition: the JSON path, the step it concerns (when it concerns one), a stable code and a message.</summary>
public sealed record JourneyError(string Path, string? Step, string Code, string Message)
{
    public override string ToString() => Step is null ? $"{Path}: {Message} ({Code})" : $"{Path} (step '{Step}'): {Message} ({Code})";
}

/// <summary>The stable codes of <see cref="JourneyError"/> (rule errors inside conditions keep their <see cref="RuleErrorCodes"/>).</summary>
public static class JourneyErrorCodes
{
    public const string InvalidJson = "invalid_json";
    public const string UnknownKey = "unknown_key";
    public const string DuplicateKey = "duplicate_key";
    public const string MissingKey = "missing_key";
    public const string InvalidValue = "invalid_value";
    public const string UnknownStepType = "unknown_step_type";
    public const string UnknownTrigger = "unknown_trigger";
    public const string DuplicateStep = "duplicate_step";
    public const string DanglingEdge = "dangling_edge";
    public const string Unreachable = "unreachable";
    public const string LoopWithoutWait = "loop_without_wait";
    public const string WaitNeverEnds = "wait_never_ends";
    public const string MissingTemplate = "missing_template";
    public const string UnknownSegment = "unknown_segment";
    public const string UnsupportedSchema = "unsupported_schema";
    public const string UnknownZone = "unknown_time_zone";
    public const string TooComplex = "too_complex";
    public const string UnknownStep = "unknown_step";
}

public sealed record JourneyParseResult(JourneyDefinition? Definition, IReadOnlyList<JourneyError> Errors)
{
    public bool IsValid => Definition is not null && Errors.Count == 0;
}

/// <summary>
/// Parses and validates a journey definition (docs/journeys.md). Strict like the segment rule parser: unknown and
/// duplicate keys, wrong types, bad durations and unknown step types are errors with the JSON path and the step id.
/// Conditions and event filters use the segment rule language. Graph checks (reachability, dangling edges, loops
/// without a wait) are <see cref="JourneyValidator"/>'s, run on publish.
/// </summary>
public static class JourneyParser
{
    /// <summary>The one schema version this build reads.</summary>
    public const int SchemaVersion = 1;

    public const int MaxSteps = 500;

    public static IReadOnlyList<string> StepTypes { get; } = ["wait", "wait_for_event", "branch", "split", "send", "update_profile", "webhook", "task", "exit"];

    public static IReadOnlyList<string> TriggerTypes { get; } = ["event", "segment_entered", "segment_exited", "date_trait", "api", "broadcast"];

    public static JourneyParseResult Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 128 });
            return Parse(doc.RootElement);
        }
        catch (JsonException e)
        {
            return new JourneyParseResult(null, [new JourneyError("$", null, JourneyErrorCodes.InvalidJson, e.Message)]);
        }
    }

    public static JourneyParseResult Parse(JsonElement json)
    {
        var ctx = new Context();
        var definition = ctx.Definition(json);
        return ctx.Errors.Count == 0 && definition is not null
            ? new JourneyParseResult(definition, [])
            : new JourneyParseResult(null, ctx.Errors);
    }

    private sealed class Context
    {
        public List<JourneyError> Errors { get; } = [];
        private string? _step;

        private void Error(string path, string code, string message) => Errors.Add(new JourneyError(path, _step, code, message));

        private static string Child(string path, string name) => RuleParser.Child(path, name);

        private Dictionary<string, JsonElement>? Object(JsonElement e, string path, string[] allowed, params string[] required)
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, JourneyErrorCodes.InvalidValue, $"expected an object, got {Kind(e)}");
                return null;
            }
            var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                if (Array.IndexOf(allowed, p.Name) < 0)
                    Error(Child(path, p.Name), JourneyErrorCodes.UnknownKey, $"unknown key '{p.Name}'; allowed here: {string.Join(", ", allowed)}");
                else if (!result.TryAdd(p.Name, p.Value))
                    Error(Child(path, p.Name), JourneyErrorCodes.DuplicateKey, $"'{p.Name}' appears more than once");
            }
            var ok = true;
            foreach (var r in required)
            {
                if (result.ContainsKey(r)) continue;
                Error(Child(path, r), JourneyErrorCodes.MissingKey, $"'{r}' is required");
                ok = false;
            }
            return ok ? result : null;
        }

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

        private string? String(Dictionary<string, JsonElement> keys, string key, string path, int maxLength = 200)
        {
            if (!keys.TryGetValue(key, out var v)) return null;
            var p = Child(path, key);
            if (v.ValueKind != JsonValueKind.String)
            {
                Error(p, JourneyErrorCodes.InvalidValue, $"'{key}' must be a string, got {Kind(v)}");
                return null;
            }
            var s = v.GetString()!;
            if (s.Trim().Length == 0 || s.Length > maxLength)
            {
                Error(p, JourneyErrorCodes.InvalidValue, $"'{key}' must be 1..{maxLength} characters");
                return null;
            }
            return s;
        }

        private string? StepRef(Dictionary<string, JsonElement> keys, string key, string path)
        {
            if (!keys.TryGetValue(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            return String(keys, key, path);
        }

        private TimeSpan? Duration(Dictionary<string, JsonElement> keys, string key, string path, bool allowNegative = false)
        {
            if (!keys.TryGetValue(key, out var v)) return null;
            var p = Child(path, key);
            if (v.ValueKind != JsonValueKind.String)
            {
                Error(p, RuleErrorCodes.BadDuration, $"'{key}' must be an ISO 8601 duration string such as PT30M or P1D");
                return null;
            }
            var text = v.GetString()!;
            var negative = allowNegative && text.StartsWith('-');
            if (negative) text = text[1..];
            if (!RuleDuration.TryParse(text, out var d, out var error))
            {
                Error(p, RuleErrorCodes.BadDuration, error + (allowNegative ? " (prefix '-' for before)" : ""));
                return null;
            }
            return negative ? -d : d;
        }

        private TimeOnly? TimeOfDay(Dictionary<string, JsonElement> keys, string key, string path)
        {
            if (!keys.TryGetValue(key, out var v)) return null;
            if (v.ValueKind == JsonValueKind.String
                && TimeOnly.TryParseExact(v.GetString(), ["HH:mm", "HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var t))
                return t;
            Error(Child(path, key), JourneyErrorCodes.InvalidValue, $"'{key}' must be a local time of day such as \"10:00\" or \"21:30:00\"");
            return null;
        }

        private string? Zone(Dictionary<string, JsonElement> keys, string key, string path)
        {
            var zone = String(keys, key, path, 64);
            if (zone is null) return null;
            if (LocalTimes.TryFindZone(zone, out _)) return zone;
            Error(Child(path, key), JourneyErrorCodes.UnknownZone, $"'{zone}' is not an IANA time zone (e.g. Asia/Shanghai)");
            return null;
        }

        public JourneyDefinition? Definition(JsonElement json)
        {
            var keys = Object(json, "$",
                ["schema", "name", "description", "trigger", "entry_filter", "re_entry", "entry_cap", "goal", "exit", "time_zone", "start", "steps", "layout"],
                "name", "trigger", "steps");
            if (keys is null) return null;
            var schema = SchemaVersion;
            if (keys.TryGetValue("schema", out var s))
            {
                if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt32(out schema) || schema != SchemaVersion)
                {
                    Error("$.schema", JourneyErrorCodes.UnsupportedSchema, $"this version of Chuda reads journey schema {SchemaVersion}");
                    return null;
                }
            }
            var name = String(keys, "name", "$");
            var description = keys.ContainsKey("description") ? String(keys, "description", "$", 2000) : null;
            var trigger = Trigger(keys["trigger"], "$.trigger");
            EntryFilter? filter = null;
            if (keys.TryGetValue("entry_filter", out var f))
            {
                var c = Condition(f, "$.entry_filter");
                if (c is not null) filter = new EntryFilter(c.Profile, c.Entry);
            }
            var reEntry = keys.TryGetValue("re_entry", out var r) ? ReEntry(r, "$.re_entry") : ReEntryPolicy.Default;
            long? cap = null;
            if (keys.TryGetValue("entry_cap", out var capValue))
            {
                if (capValue.ValueKind == JsonValueKind.Number && capValue.TryGetInt64(out var n) && n > 0) cap = n;
                else Error("$.entry_cap", JourneyErrorCodes.InvalidValue, "'entry_cap' must be a positive integer");
            }
            var goal = keys.TryGetValue("goal", out var g) ? Goal(g, "$.goal") : null;
            var exits = keys.TryGetValue("exit", out var x) ? Exits(x, "$.exit") : [];
            var zone = keys.ContainsKey("time_zone") ? Zone(keys, "time_zone", "$") : null;
            var steps = Steps(keys["steps"], "$.steps");
            var start = keys.ContainsKey("start") ? String(keys, "start", "$") : steps is { Count: > 0 } ? steps[0].Id : null;
            if (keys["steps"].ValueKind == JsonValueKind.Array && keys["steps"].GetArrayLength() == 0)
                Error("$.steps", JourneyErrorCodes.InvalidValue, "a journey needs at least one step");
            var layout = keys.TryGetValue("layout", out var l) && steps is not null ? Layout(l, "$.layout", steps) : null;
            if (Errors.Count > 0 || name is null || trigger is null || steps is null || start is null || reEntry is null) return null;
            return new JourneyDefinition(schema, name, description, trigger, filter, reEntry, cap, goal, exits ?? [], zone, start, steps)
            {
                Layout = layout ?? JourneyDefinition.NoLayout,
            };
        }

        /// <summary>Canvas positions: <c>{"stepId": {"x": n, "y": n}}</c>, finite numbers, keys naming steps of this definition.</summary>
        private Dictionary<string, StepPosition>? Layout(JsonElement e, string path, List<JourneyStep> steps)
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, JourneyErrorCodes.InvalidValue, $"'layout' is an object of step id → {{\"x\": number, \"y\": number}}, got {Kind(e)}");
                return null;
            }
            var ids = steps.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
            var layout = new Dictionary<string, StepPosition>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                var pp = Child(path, p.Name);
                if (!ids.Contains(p.Name))
                {
                    Error(pp, JourneyErrorCodes.UnknownStep, $"'{p.Name}' is not a step of this journey; layout keys are step ids");
                    continue;
                }
                if (layout.ContainsKey(p.Name))
                {
                    Error(pp, JourneyErrorCodes.DuplicateKey, $"'{p.Name}' appears more than once");
                    continue;
                }
                _step = p.Name;
                var k = Object(p.Value, pp, ["x", "y"], "x", "y");
                if (k is not null)
                {
                    var x = Coordinate(k, "x", pp);
                    var y = Coordinate(k, "y", pp);
                    if (x is not null && y is not null) layout[p.Name] = new StepPosition(x.Value, y.Value);
                }
                _step = null;
            }
            return layout;
        }

        private double? Coordinate(Dictionary<string, JsonElement> k, string key, string path)
        {
            if (k[key].ValueKind == JsonValueKind.Number && k[key].TryGetDouble(out var v) && double.IsFinite(v)) return v;
            Error(Child(path, key), JourneyErrorCodes.InvalidValue, $"'{key}' must be a finite number");
            return null;
        }

        private JourneyTrigger? Trigger(JsonElement e, string path)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
            {
                Error(Child(path, "type"), JourneyErrorCodes.MissingKey, $"a trigger needs 'type': one of {string.Join(", ", TriggerTypes)}");
                return null;
            }
            switch (t.GetString())
            {
                case "event":
                {
                    var k = Object(e, path, ["type", "event", "where"], "event");
                    if (k is null) return null;
                    var m = Matcher(k, path);
                    return m is null ? null : new EventTrigger(m);
                }
                case "segment_entered" or "segment_exited":
                {
                    var k = Object(e, path, ["type", "segment"], "segment");
                    var id = k is null ? null : String(k, "segment", path);
                    return id is null ? null : new SegmentTrigger(id, t.GetString() == "segment_exited");
                }
                case "date_trait":
                {
                    var k = Object(e, path, ["type", "trait", "offset", "at"], "trait");
                    if (k is null) return null;
                    var trait = String(k, "trait", path);
                    var offset = k.ContainsKey("offset") ? Duration(k, "offset", path, allowNegative: true) : TimeSpan.Zero;
                    var at = TimeOfDay(k, "at", path);
                    if (trait is null || offset is null || (k.ContainsKey("at") && at is null)) return null;
                    return new DateTraitTrigger(trait, offset.Value, at);
                }
                case "api":
                    return Object(e, path, ["type"]) is null ? null : new ApiTrigger();
                case "broadcast":
                {
                    var k = Object(e, path, ["type", "segment", "at", "cron", "time_zone"], "segment");
                    if (k is null) return null;
                    var segment = String(k, "segment", path);
                    DateTime? once = null;
                    string? cron = null;
                    if (k.ContainsKey("at") == k.ContainsKey("cron"))
                    {
                        Error(path, JourneyErrorCodes.MissingKey, "a broadcast needs exactly one of 'at' (a local date-time) and 'cron'");
                        return null;
                    }
                    if (k.TryGetValue("at", out var atValue))
                    {
                        if (atValue.ValueKind == JsonValueKind.String
                            && DateTime.TryParseExact(atValue.GetString(), ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss"], CultureInfo.InvariantCulture,
                                DateTimeStyles.None, out var local))
                            once = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
                        else
                            Error(Child(path, "at"), JourneyErrorCodes.InvalidValue, "'at' is a local date-time without offset, e.g. \"2026-12-01T10:00\" (the zone is 'time_zone')");
                    }
                    else
                    {
                        cron = String(k, "cron", path);
                        if (cron is not null && !CronSchedule.TryParse(cron, out _, out var cronError))
                        {
                            Error(Child(path, "cron"), JourneyErrorCodes.InvalidValue, cronError);
                            cron = null;
                        }
                    }
                    var perUser = false;
                    string? zone = null;
                    if (k.TryGetValue("time_zone", out var z) && z.ValueKind == JsonValueKind.String && z.GetString() == "user") perUser = true;
                    else if (k.ContainsKey("time_zone")) zone = Zone(k, "time_zone", path);
                    if (segment is null || (once is null && cron is null)) return null;
                    return new BroadcastTrigger(segment, once, cron, perUser, zone);
                }
                default:
                    Error(Child(path, "type"), JourneyErrorCodes.UnknownTrigger, $"unknown trigger '{t.GetString()}'; one of {string.Join(", ", TriggerTypes)}");
                    return null;
            }
        }

        /// <summary>An event name with optional property filters, parsed by the segment rule parser.</summary>
        private EventMatcher? Matcher(Dictionary<string, JsonElement> keys, string path)
        {
            var wrapped = new Dictionary<string, JsonElement> { ["event"] = keys["event"] };
            if (keys.TryGetValue("where", out var w)) wrapped["where"] = w;
            var result = RuleParser.Parse(JsonSerializer.SerializeToElement(wrapped));
            foreach (var e in result.Errors) Error(path + e.Path[1..], e.Code, e.Message);
            return result.Rule is EventPerformedCondition c ? c.Match : null;
        }

        private IReadOnlyList<PropertyFilter>? Filters(JsonElement where, string path)
        {
            var wrapped = new Dictionary<string, JsonElement> { ["event"] = JsonSerializer.SerializeToElement("entry"), ["where"] = where };
            var result = RuleParser.Parse(JsonSerializer.SerializeToElement(wrapped));
            foreach (var e in result.Errors)
            {
                var rest = e.Path.StartsWith("$.where", StringComparison.Ordinal) ? e.Path["$.where".Length..] : e.Path[1..];
                Error(path + rest, e.Code, e.Message);
            }
            return result.Rule is EventPerformedCondition c ? c.Match.Where : null;
        }

        private BranchCondition? Condition(JsonElement e, string path)
        {
            var k = Object(e, path, ["profile", "entry"]);
            if (k is null) return null;
            if (k.Count == 0)
            {
                Error(path, JourneyErrorCodes.MissingKey, "a condition needs 'profile' (a segment rule) and/or 'entry' (filters on the entry event's properties)");
                return null;
            }
            SegmentRule? rule = null;
            var ok = true;
            if (k.TryGetValue("profile", out var p))
            {
                var result = RuleParser.Parse(p);
                foreach (var err in result.Errors) Error(Child(path, "profile") + err.Path[1..], err.Code, err.Message);
                rule = result.Rule;
                ok = result.IsValid;
            }
            IReadOnlyList<PropertyFilter> entry = [];
            if (k.TryGetValue("entry", out var en))
            {
                var filters = Filters(en, Child(path, "entry"));
                if (filters is null) ok = false;
                else entry = filters;
            }
            return ok ? new BranchCondition(rule, entry) : null;
        }

        private ReEntryPolicy? ReEntry(JsonElement e, string path)
        {
            var k = Object(e, path, ["policy", "cooldown"], "policy");
            if (k is null) return null;
            switch (String(k, "policy", path))
            {
                case "once":
                    return new ReEntryPolicy(ReEntryKind.Once, TimeSpan.Zero);
                case "not_while_active":
                    return ReEntryPolicy.Default;
                case "after_cooldown":
                    var d = Duration(k, "cooldown", path);
                    if (d is null && !k.ContainsKey("cooldown")) Error(Child(path, "cooldown"), JourneyErrorCodes.MissingKey, "'after_cooldown' needs 'cooldown'");
                    return d is null ? null : new ReEntryPolicy(ReEntryKind.AfterCooldown, d.Value);
                case null:
                    return null;
                default:
                    Error(Child(path, "policy"), JourneyErrorCodes.InvalidValue, "'policy' is one of once, not_while_active, after_cooldown");
                    return null;
            }
        }

        private JourneyGoal? Goal(JsonElement e, string path)
        {
            var k = Object(e, path, ["event", "where", "within", "match"], "event", "within");
            if (k is null) return null;
            var m = Matcher(k, path);
            var within = Duration(k, "within", path);
            var match = k.ContainsKey("match") ? String(k, "match", path) : null;
            return m is null || within is null ? null : new JourneyGoal(m, within.Value, match);
        }

        private List<ExitCriterion>? Exits(JsonElement e, string path)
        {
            if (e.ValueKind != JsonValueKind.Array)
            {
                Error(path, JourneyErrorCodes.InvalidValue, "'exit' is an array of criteria");
                return null;
            }
            var list = new List<ExitCriterion>();
            var i = 0;
            foreach (var item in e.EnumerateArray())
            {
                var p = RuleParser.Index(path, i++);
                if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("segment_exited", out _))
                {
                    var k = Object(item, p, ["segment_exited"]);
                    var id = k is null ? null : String(k, "segment_exited", p);
                    if (id is not null) list.Add(new ExitOnSegmentExit(id));
                }
                else
                {
                    var k = Object(item, p, ["event", "where", "match", "segment_exited"], "event");
                    if (k is null) continue;
                    var m = Matcher(k, p);
                    var match = k.ContainsKey("match") ? String(k, "match", p) : null;
                    if (m is not null) list.Add(new ExitOnEvent(m, match));
                }
            }
            return list;
        }

        private List<JourneyStep>? Steps(JsonElement e, string path)
        {
            if (e.ValueKind != JsonValueKind.Array)
            {
                Error(path, JourneyErrorCodes.InvalidValue, "'steps' is an array of steps");
                return null;
            }
            if (e.GetArrayLength() > MaxSteps)
            {
                Error(path, JourneyErrorCodes.TooComplex, $"at most {MaxSteps} steps");
                return null;
            }
            var steps = new List<JourneyStep>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            var i = 0;
            foreach (var item in e.EnumerateArray())
            {
                var p = RuleParser.Index(path, i++);
                _step = null;
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("id", out var idValue) || idValue.ValueKind != JsonValueKind.String
                    || idValue.GetString() is not { Length: > 0 and <= 64 } id)
                {
                    Error(Child(p, "id"), JourneyErrorCodes.MissingKey, "every step needs an 'id' (1..64 characters)");
                    continue;
                }
                _step = id;
                if (!ids.Add(id))
                {
                    Error(Child(p, "id"), JourneyErrorCodes.DuplicateStep, $"step id '{id}' is used twice");
                    continue;
                }
                var step = Step(item, p, id);
                if (step is not null) steps.Add(step);
            }
            _step = null;
            return steps;
        }

        private JourneyStep? Step(JsonElement e, string path, string id)
        {
            if (!e.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
            {
                Error(Child(path, "type"), JourneyErrorCodes.MissingKey, $"a step needs 'type': one of {string.Join(", ", StepTypes)}");
                return null;
            }
            switch (t.GetString())
            {
                case "wait":
                {
                    var k = Object(e, path, ["id", "type", "duration", "until_time", "days", "until_trait", "offset", "at", "next"]);
                    if (k is null) return null;
                    var next = StepRef(k, "next", path);
                    var forms = new[] { "duration", "until_time", "until_trait" }.Count(k.ContainsKey);
                    if (forms != 1)
                    {
                        Error(path, forms == 0 ? JourneyErrorCodes.WaitNeverEnds : JourneyErrorCodes.InvalidValue,
                            "a wait needs exactly one of 'duration', 'until_time' (local time of day) and 'until_trait' (a date trait)");
                        return null;
                    }
                    // Keys of another form would be silently ignored ("duration" with "at" is not "a day later at 10:00").
                    var form = k.ContainsKey("duration") ? "duration" : k.ContainsKey("until_time") ? "until_time" : "until_trait";
                    string[] foreign = form switch { "duration" => ["days", "offset", "at"], "until_time" => ["offset", "at"], _ => ["days"] };
                    var stray = foreign.Where(k.ContainsKey).ToList();
                    foreach (var key in stray)
                        Error(Child(path, key), JourneyErrorCodes.UnknownKey, $"'{key}' does not apply to a wait with '{form}'");
                    if (stray.Count > 0) return null;
                    if (k.ContainsKey("duration"))
                    {
                        var d = Duration(k, "duration", path);
                        return d is null ? null : new WaitDurationStep(id, d.Value, next);
                    }
                    if (k.ContainsKey("until_time"))
                    {
                        var at = TimeOfDay(k, "until_time", path);
                        List<DayOfWeek>? days = null;
                        if (k.TryGetValue("days", out var dv)) days = Days(dv, Child(path, "days"));
                        if (at is null || (k.ContainsKey("days") && days is null)) return null;
                        return new WaitUntilTimeStep(id, at.Value, days, next);
                    }
                    var trait = String(k, "until_trait", path);
                    var offset = k.ContainsKey("offset") ? Duration(k, "offset", path, allowNegative: true) : TimeSpan.Zero;
                    var atTime = TimeOfDay(k, "at", path);
                    if (trait is null || offset is null || (k.ContainsKey("at") && atTime is null)) return null;
                    return new WaitUntilTraitStep(id, trait, offset.Value, atTime, next);
                }
                case "wait_for_event":
                {
                    var k = Object(e, path, ["id", "type", "event", "where", "match", "timeout", "on_event", "on_timeout"], "event");
                    if (k is null) return null;
                    if (!k.ContainsKey("timeout"))
                    {
                        Error(Child(path, "timeout"), JourneyErrorCodes.WaitNeverEnds, "a wait for an event needs a 'timeout', or it could wait forever");
                        return null;
                    }
                    var m = Matcher(k, path);
                    var timeout = Duration(k, "timeout", path);
                    var match = k.ContainsKey("match") ? String(k, "match", path) : null;
                    return m is null || timeout is null ? null
                        : new WaitForEventStep(id, m, match, timeout.Value, StepRef(k, "on_event", path), StepRef(k, "on_timeout", path));
                }
                case "branch":
                {
                    var k = Object(e, path, ["id", "type", "branches", "else"], "branches");
                    if (k is null) return null;
                    var arms = new List<BranchArm>();
                    var bp = Child(path, "branches");
                    if (k["branches"].ValueKind != JsonValueKind.Array || k["branches"].GetArrayLength() == 0)
                    {
                        Error(bp, JourneyErrorCodes.InvalidValue, "'branches' is a non-empty array of {\"when\": ..., \"next\": ...}");
                        return null;
                    }
                    var i = 0;
                    var ok = true;
                    foreach (var arm in k["branches"].EnumerateArray())
                    {
                        var ap = RuleParser.Index(bp, i++);
                        var ak = Object(arm, ap, ["when", "next"], "when");
                        if (ak is null)
                        {
                            ok = false;
                            continue;
                        }
                        var when = Condition(ak["when"], Child(ap, "when"));
                        if (when is null) ok = false;
                        else arms.Add(new BranchArm(when, StepRef(ak, "next", ap)));
                    }
                    return ok ? new BranchStep(id, arms, StepRef(k, "else", path)) : null;
                }
                case "split":
                {
                    var k = Object(e, path, ["id", "type", "variants", "holdout"], "variants");
                    if (k is null) return null;
                    var vp = Child(path, "variants");
                    if (k["variants"].ValueKind != JsonValueKind.Array || k["variants"].GetArrayLength() == 0)
                    {
                        Error(vp, JourneyErrorCodes.InvalidValue, "'variants' is a non-empty array of {\"name\": ..., \"weight\": ..., \"next\": ...}");
                        return null;
                    }
                    var variants = new List<SplitVariant>();
                    var i = 0;
                    foreach (var v in k["variants"].EnumerateArray())
                    {
                        var variant = Variant(v, RuleParser.Index(vp, i++), "name", "weight", "next");
                        if (variant is not null) variants.Add(variant);
                    }
                    SplitVariant? holdout = null;
                    if (k.TryGetValue("holdout", out var h))
                    {
                        var hk = Object(h, Child(path, "holdout"), ["weight", "next"], "weight");
                        if (hk is not null)
                        {
                            var w = Weight(hk, Child(path, "holdout"));
                            if (w is not null) holdout = new SplitVariant("holdout", w.Value, StepRef(hk, "next", Child(path, "holdout")));
                        }
                    }
                    if (variants.Select(v => v.Name).Distinct(StringComparer.Ordinal).Count() != variants.Count)
                        Error(vp, JourneyErrorCodes.InvalidValue, "variant names must be distinct");
                    if (variants.Any(v => v.Name == "holdout"))
                        Error(vp, JourneyErrorCodes.InvalidValue, "'holdout' is the hold-out group's name; give the variant another name");
                    return new SplitStep(id, variants, holdout);
                }
                case "send":
                {
                    var k = Object(e, path, ["id", "type", "template", "channel", "channels", "category", "dedup_key", "dedup_window", "digest",
                        "expires_after", "fallback", "next"]);
                    if (k is null) return null;
                    if (!k.ContainsKey("template"))
                    {
                        Error(Child(path, "template"), JourneyErrorCodes.MissingTemplate, "a send step needs 'template' (the template id)");
                        return null;
                    }
                    var template = String(k, "template", path);
                    List<string>? channels = null;
                    if (k.ContainsKey("channel") == k.ContainsKey("channels"))
                        Error(path, JourneyErrorCodes.MissingKey, "a send step needs exactly one of 'channel' and 'channels' (an ordered list)");
                    else if (k.ContainsKey("channel"))
                        channels = String(k, "channel", path, 32) is { } c ? [c] : null;
                    else
                        channels = Strings(k["channels"], Child(path, "channels"), 32, nonEmpty: true);
                    var category = k.ContainsKey("category") ? String(k, "category", path, 64) : "marketing";
                    var dedup = k.ContainsKey("dedup_key") ? String(k, "dedup_key", path) : null;
                    var dedupWindow = k.ContainsKey("dedup_window") ? Duration(k, "dedup_window", path) : null;
                    var expires = k.ContainsKey("expires_after") ? Duration(k, "expires_after", path) : null;
                    string? digestKey = null;
                    TimeSpan? digestWindow = null;
                    if (k.TryGetValue("digest", out var dg))
                    {
                        var dk = Object(dg, Child(path, "digest"), ["key", "window"], "key");
                        if (dk is not null)
                        {
                            digestKey = String(dk, "key", Child(path, "digest"));
                            if (dk.ContainsKey("window")) digestWindow = Duration(dk, "window", Child(path, "digest"));
                        }
                    }
                    TimeSpan? fallbackAfter = null;
                    string? fallbackUntil = null;
                    if (k.TryGetValue("fallback", out var fb))
                    {
                        var fp = Child(path, "fallback");
                        var fk = Object(fb, fp, ["after", "until"], "after");
                        if (fk is not null)
                        {
                            fallbackAfter = Duration(fk, "after", fp);
                            fallbackUntil = fk.ContainsKey("until") ? String(fk, "until", fp) : "delivered";
                            if (fallbackUntil is not null and not ("delivered" or "read"))
                                Error(Child(fp, "until"), JourneyErrorCodes.InvalidValue, "expected 'delivered' or 'read'");
                        }
                        if (channels is { Count: < 2 }) Error(fp, JourneyErrorCodes.InvalidValue, "a fallback needs at least two channels");
                    }
                    if (template is null || channels is null || category is null) return null;
                    return new SendStep(id, template, channels, category, dedup, StepRef(k, "next", path))
                    {
                        DedupWindow = dedupWindow,
                        DigestKey = digestKey,
                        DigestWindow = digestWindow,
                        ExpiresAfter = expires,
                        FallbackAfter = fallbackAfter,
                        FallbackUntil = fallbackAfter is null ? null : fallbackUntil,
                    };
                }
                case "update_profile":
                {
                    var k = Object(e, path, ["id", "type", "set", "unset", "add_tags", "remove_tags", "next"]);
                    if (k is null) return null;
                    string? set = null;
                    if (k.TryGetValue("set", out var sv))
                    {
                        if (sv.ValueKind == JsonValueKind.Object) set = sv.GetRawText();
                        else Error(Child(path, "set"), JourneyErrorCodes.InvalidValue, "'set' is an object of traits to merge");
                    }
                    var unset = k.TryGetValue("unset", out var u) ? Strings(u, Child(path, "unset"), 200) : [];
                    var add = k.TryGetValue("add_tags", out var a) ? Strings(a, Child(path, "add_tags"), 100) : [];
                    var remove = k.TryGetValue("remove_tags", out var r) ? Strings(r, Child(path, "remove_tags"), 100) : [];
                    if (set is null && unset is { Count: 0 } && add is { Count: 0 } && remove is { Count: 0 })
                        Error(path, JourneyErrorCodes.MissingKey, "an update needs at least one of 'set', 'unset', 'add_tags', 'remove_tags'");
                    if (unset is null || add is null || remove is null) return null;
                    return new UpdateProfileStep(id, set, unset, add, remove, StepRef(k, "next", path));
                }
                case "webhook":
                {
                    var k = Object(e, path, ["id", "type", "url", "method", "headers", "body", "next"], "url");
                    if (k is null) return null;
                    var url = String(k, "url", path, 2000);
                    if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && uri.Scheme != "http")))
                    {
                        Error(Child(path, "url"), JourneyErrorCodes.InvalidValue, "'url' must be an absolute http(s) URL");
                        url = null;
                    }
                    var method = k.ContainsKey("method") ? String(k, "method", path, 10)?.ToUpperInvariant() : "POST";
                    if (method is not null and not ("POST" or "PUT" or "PATCH"))
                    {
                        Error(Child(path, "method"), JourneyErrorCodes.InvalidValue, "'method' is POST, PUT or PATCH");
                        method = null;
                    }
                    var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    if (k.TryGetValue("headers", out var hv))
                    {
                        if (hv.ValueKind != JsonValueKind.Object) Error(Child(path, "headers"), JourneyErrorCodes.InvalidValue, "'headers' is an object of strings");
                        else
                        {
                            foreach (var p in hv.EnumerateObject())
                            {
                                if (p.Value.ValueKind == JsonValueKind.String) headers[p.Name] = p.Value.GetString()!;
                                else Error(Child(Child(path, "headers"), p.Name), JourneyErrorCodes.InvalidValue, "header values are strings");
                            }
                        }
                    }
                    var body = k.TryGetValue("body", out var bv) ? bv.GetRawText() : null;
                    if (url is null || method is null) return null;
                    return new WebhookStep(id, url, method, headers, body, StepRef(k, "next", path));
                }
                case "task":
                {
                    var k = Object(e, path, ["id", "type", "title", "note", "assignee_trait", "queue", "due_in", "next"], "title", "due_in");
                    if (k is null) return null;
                    var title = String(k, "title", path, 500);
                    var note = k.ContainsKey("note") ? String(k, "note", path, 4000) : null;
                    var assignee = k.ContainsKey("assignee_trait") ? String(k, "assignee_trait", path) : null;
                    var queue = k.ContainsKey("queue") ? String(k, "queue", path) : null;
                    if (!k.ContainsKey("assignee_trait") && !k.ContainsKey("queue"))
                        Error(path, JourneyErrorCodes.MissingKey, "a task needs 'assignee_trait' (e.g. \"owner\") and/or 'queue' (used when the trait is empty)");
                    var due = Duration(k, "due_in", path);
                    if (title is null || due is null || (assignee is null && queue is null)) return null;
                    return new TaskStep(id, title, note, assignee, queue, due.Value, StepRef(k, "next", path));
                }
                case "exit":
                    return Object(e, path, ["id", "type"]) is null ? null : new ExitStep(id);
                default:
                    Error(Child(path, "type"), JourneyErrorCodes.UnknownStepType, $"unknown step type '{t.GetString()}'; one of {string.Join(", ", StepTypes)}");
                    return null;
            }
        }

        private List<DayOfWeek>? Days(JsonElement v, string path)
        {
            var names = Strings(v, path, 3, nonEmpty: true);
            if (names is null) return null;
            var days = new List<DayOfWeek>();
            foreach (var n in names)
            {
                var i = Array.IndexOf(DayNames, n);
                if (i < 0)
                {
                    Error(path, JourneyErrorCodes.InvalidValue, $"'{n}' is not a day; use {string.Join(", ", DayNames)}");
                    return null;
                }
                days.Add((DayOfWeek)i);
            }
            return days;
        }

        private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

        private SplitVariant? Variant(JsonElement v, string path, params string[] allowed)
        {
            var k = Object(v, path, allowed, "name", "weight");
            if (k is null) return null;
            var name = String(k, "name", path, 64);
            var weight = Weight(k, path);
            return name is null || weight is null ? null : new SplitVariant(name, weight.Value, StepRef(k, "next", path));
        }

        private int? Weight(Dictionary<string, JsonElement> k, string path)
        {
            if (k["weight"].ValueKind == JsonValueKind.Number && k["weight"].TryGetInt32(out var w) && w is >= 1 and <= 10_000) return w;
            Error(Child(path, "weight"), JourneyErrorCodes.InvalidValue, "'weight' is an integer 1..10000");
            return null;
        }

        private List<string>? Strings(JsonElement v, string path, int maxLength, bool nonEmpty = false)
        {
            if (v.ValueKind != JsonValueKind.Array || (nonEmpty && v.GetArrayLength() == 0))
            {
                Error(path, JourneyErrorCodes.InvalidValue, nonEmpty ? "expected a non-empty array of strings" : "expected an array of strings");
                return null;
            }
            var list = new List<string>();
            foreach (var item in v.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 } s || s.Length > maxLength)
                {
                    Error(path, JourneyErrorCodes.InvalidValue, $"expected strings of 1..{maxLength} characters");
                    return null;
                }
                list.Add(s);
            }
            return list;
        }
    }
}
