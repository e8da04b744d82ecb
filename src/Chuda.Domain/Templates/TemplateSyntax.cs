using System.Globalization;

namespace Chuda.Domain.Templates;

/// <summary>
/// A light reading of Handlebars source, after Handlebars.Net has accepted it: the variable paths it uses (with the
/// context of <c>#each</c> / <c>#with</c> blocks resolved, e.g. <c>items[].event.name</c>) and the uses this engine
/// forbids: unknown helpers and block helpers, wrong argument counts, partials, decorators, raw blocks and variables
/// that start outside <c>profile</c>, <c>event</c>, <c>journey</c>, <c>message</c> and <c>items</c>.
/// </summary>
internal static class TemplateSyntax
{
    /// <summary>The roots of variable paths.</summary>
    public static readonly string[] Roots = ["profile", "event", "journey", "message", "items"];

    private static readonly string[] BlockHelpers = ["if", "unless", "each", "with"];

    // Inline helpers and their (min, max) positional argument counts.
    private static readonly Dictionary<string, (int Min, int Max)> Helpers = new(StringComparer.Ordinal)
    {
        ["formatDate"] = (2, 3),
        ["formatNumber"] = (1, 2),
        ["formatCurrency"] = (2, 2),
        ["default"] = (2, 2),
        ["upper"] = (1, 1),
        ["lower"] = (1, 1),
        ["truncate"] = (2, 3),
        ["eq"] = (2, 2),
        ["json"] = (1, 1),
        ["urlEncode"] = (1, 1),
        ["lookup"] = (2, 2),
    };

    /// <summary>The helper names templates may call (inline helpers, then block helpers).</summary>
    public static IEnumerable<string> HelperNames => Helpers.Keys.Concat(BlockHelpers);

    /// <summary>What <see cref="Analyze"/> found: variable paths in order of first use, and errors for people.</summary>
    public sealed record Analysis(IReadOnlyList<string> Variables, IReadOnlyList<string> Errors);

    public static Analysis Analyze(string source) => new Reader(source).Run();

    private enum Kind
    {
        Word,
        String,
        Open,
        Close,
        Equals,
        Pipe,
    }

    private readonly record struct Token(Kind Kind, string Text);

    private sealed record Frame(string Name, string Prefix, bool NewContext, Dictionary<string, string?>? Params);

    private sealed class Reader(string source)
    {
        private readonly List<string> _variables = [];
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly List<string> _errors = [];
        private readonly List<Frame> _frames = [new Frame("", "", true, null)];

        public Analysis Run()
        {
            var i = 0;
            while (i < source.Length)
            {
                var start = source.IndexOf("{{", i, StringComparison.Ordinal);
                if (start < 0)
                {
                    break;
                }

                if (start > 0 && source[start - 1] == '\\' && !(start > 1 && source[start - 2] == '\\'))
                {
                    var end = source.IndexOf("}}", start + 2, StringComparison.Ordinal);
                    i = end < 0 ? source.Length : end + 2;
                    continue;
                }

                if (At(start, "{{!--"))
                {
                    var end = source.IndexOf("--}}", start + 5, StringComparison.Ordinal);
                    i = end < 0 ? source.Length : end + 4;
                    continue;
                }

                if (At(start, "{{!") || At(start, "{{~!"))
                {
                    var end = source.IndexOf("}}", start + 3, StringComparison.Ordinal);
                    i = end < 0 ? source.Length : end + 2;
                    continue;
                }

                if (At(start, "{{{{"))
                {
                    _errors.Add("raw blocks ({{{{raw}}}}) are not supported");
                    return Result();
                }

                var triple = At(start, "{{{");
                var from = start + (triple ? 3 : 2);
                var close = CloseOf(from, triple ? "}}}" : "}}");
                var content = source[from..close].Trim();
                i = Math.Min(close + (triple ? 3 : 2), source.Length);
                if (content.StartsWith('~'))
                {
                    content = content[1..];
                }

                if (content.EndsWith('~'))
                {
                    content = content[..^1];
                }

                Mustache(content.Trim());
            }

            for (var f = _frames.Count - 1; f > 0; f--)
            {
                _errors.Add($"{{{{#{_frames[f].Name}}}}} is not closed");
            }

            return Result();
        }

        private Analysis Result() => new(_variables, _errors);

        private bool At(int index, string text) => source.AsSpan(index).StartsWith(text, StringComparison.Ordinal);

        // The index of the closing braces, skipping string literals.
        private int CloseOf(int from, string closing)
        {
            var quote = '\0';
            for (var j = from; j < source.Length; j++)
            {
                var c = source[j];
                if (quote != '\0')
                {
                    if (c == quote)
                    {
                        quote = '\0';
                    }
                }
                else if (c is '"' or '\'')
                {
                    quote = c;
                }
                else if (At(j, closing))
                {
                    return j;
                }
            }

            return source.Length;
        }

        private void Mustache(string content)
        {
            if (content.Length == 0)
            {
                _errors.Add("empty expression {{}}");
                return;
            }

            switch (content[0])
            {
                case '>':
                    _errors.Add("partials ({{> name}}) are not supported");
                    return;
                case '*':
                    _errors.Add("decorators ({{* name}}) are not supported");
                    return;
                case '#' or '^':
                    if (content == "^")
                    {
                        Else("");
                        return;
                    }

                    Block(content[1..].TrimStart());
                    return;
                case '/':
                    var name = content[1..].Trim();
                    if (_frames.Count > 1 && _frames[^1].Name == name)
                    {
                        _frames.RemoveAt(_frames.Count - 1);
                    }
                    else
                    {
                        _errors.Add($"{{{{/{name}}}}} closes no open block");
                    }

                    return;
                case '&':
                    Inline(content[1..].Trim());
                    return;
                default:
                    if (content == "else" || content.StartsWith("else ", StringComparison.Ordinal))
                    {
                        Else(content[4..].Trim());
                        return;
                    }

                    Inline(content);
                    return;
            }
        }

        private void Block(string content)
        {
            if (content.StartsWith('>') || content.StartsWith('*'))
            {
                _errors.Add("partial blocks, inline partials and decorators are not supported");
                return;
            }

            var tokens = Tokenize(content);
            if (tokens.Count == 0 || tokens[0].Kind != Kind.Word)
            {
                _errors.Add("a block needs a helper name: {{#if ...}}, {{#unless ...}}, {{#each ...}} or {{#with ...}}");
                return;
            }

            var name = tokens[0].Text;
            var pos = 1;
            var (args, blockParams) = Arguments(tokens, ref pos, sub: false);
            if (Array.IndexOf(BlockHelpers, name) < 0)
            {
                _errors.Add(Helpers.ContainsKey(name)
                    ? $"'{name}' is not a block helper: write {{{{{name} ...}}}}"
                    : $"unknown block helper '{name}'; blocks are #if, #unless, #each and #with");
                _frames.Add(new Frame(name, _frames[^1].Prefix, false, null));
                return;
            }

            if (args.Count != 1)
            {
                _errors.Add($"#{name} takes one argument, got {args.Count}");
            }

            var target = args.Count > 0 ? args[0] : null;
            switch (name)
            {
                case "each":
                    var items = (target ?? _frames[^1].Prefix) + "[]";
                    _frames.Add(new Frame(name, items, true, Params(blockParams, items, null)));
                    break;
                case "with":
                    var inner = target ?? _frames[^1].Prefix;
                    _frames.Add(new Frame(name, inner, true, Params(blockParams, inner)));
                    break;
                default:
                    _frames.Add(new Frame(name, _frames[^1].Prefix, false, null));
                    break;
            }
        }

        private static Dictionary<string, string?>? Params(List<string> names, params string?[] values)
        {
            if (names.Count == 0)
            {
                return null;
            }

            var map = new Dictionary<string, string?>(StringComparer.Ordinal);
            for (var k = 0; k < names.Count; k++)
            {
                map[names[k]] = k < values.Length ? values[k] : null;
            }

            return map;
        }

        private void Else(string chained)
        {
            if (_frames.Count <= 1)
            {
                _errors.Add("{{else}} outside a block");
                return;
            }

            var top = _frames[^1];
            _frames.RemoveAt(_frames.Count - 1);
            var outer = _frames[^1].Prefix;
            _frames.Add(new Frame(top.Name, outer, false, null));
            if (chained.Length == 0)
            {
                return;
            }

            var tokens = Tokenize(chained);
            if (tokens.Count == 0 || tokens[0].Kind != Kind.Word || Array.IndexOf(BlockHelpers, tokens[0].Text) < 0)
            {
                _errors.Add($"unknown block helper in {{{{else {chained}}}}}");
                return;
            }

            var pos = 1;
            Arguments(tokens, ref pos, sub: false);
        }

        private void Inline(string content)
        {
            var tokens = Tokenize(content);
            if (tokens.Count == 0)
            {
                _errors.Add("empty expression");
                return;
            }

            var first = tokens[0];
            if (first.Kind == Kind.Open)
            {
                var p = 0;
                Arguments(tokens, ref p, sub: false);
                return;
            }

            if (first.Kind != Kind.Word)
            {
                return;
            }

            var pos = 1;
            var (args, _) = Arguments(tokens, ref pos, sub: false);
            if (tokens.Count == 1 && !Helpers.ContainsKey(first.Text) && Array.IndexOf(BlockHelpers, first.Text) < 0)
            {
                Value(first.Text);
                return;
            }

            CheckHelper(first.Text, args.Count);
        }

        private void CheckHelper(string name, int count)
        {
            if (Helpers.TryGetValue(name, out var arity))
            {
                if (count < arity.Min || count > arity.Max)
                {
                    _errors.Add(arity.Min == arity.Max
                        ? $"{name} takes {arity.Min} argument{(arity.Min == 1 ? "" : "s")}, got {count}"
                        : $"{name} takes {arity.Min} to {arity.Max} arguments, got {count}");
                }
            }
            else if (Array.IndexOf(BlockHelpers, name) >= 0)
            {
                _errors.Add($"'{name}' is a block helper: write {{{{#{name} ...}}}}...{{{{/{name}}}}}");
            }
            else
            {
                _errors.Add($"unknown helper '{name}'; helpers are {string.Join(", ", Helpers.Keys)}");
            }
        }

        // Reads arguments from pos to the end (or to the ')' of a sub-expression). Returns the resolved path of each
        // positional argument (null for literals and sub-expressions) and the names of 'as |a b|' block parameters.
        private (List<string?> Args, List<string> BlockParams) Arguments(List<Token> tokens, ref int pos, bool sub)
        {
            var args = new List<string?>();
            var blockParams = new List<string>();
            while (pos < tokens.Count)
            {
                var t = tokens[pos];
                if (t.Kind == Kind.Close)
                {
                    if (sub)
                    {
                        pos++;
                    }

                    return (args, blockParams);
                }

                if (t.Kind == Kind.Word && t.Text == "as" && pos + 1 < tokens.Count && tokens[pos + 1].Kind == Kind.Pipe)
                {
                    pos += 2;
                    while (pos < tokens.Count && tokens[pos].Kind == Kind.Word)
                    {
                        blockParams.Add(tokens[pos++].Text);
                    }

                    pos++;
                    continue;
                }

                if (t.Kind == Kind.Word && pos + 1 < tokens.Count && tokens[pos + 1].Kind == Kind.Equals)
                {
                    pos += 2;
                    if (pos < tokens.Count)
                    {
                        ArgumentValue(tokens, ref pos);
                    }

                    continue;
                }

                args.Add(ArgumentValue(tokens, ref pos));
            }

            return (args, blockParams);
        }

        private string? ArgumentValue(List<Token> tokens, ref int pos)
        {
            var t = tokens[pos++];
            switch (t.Kind)
            {
                case Kind.Word:
                    return Value(t.Text);
                case Kind.Open:
                    if (pos < tokens.Count && tokens[pos].Kind == Kind.Word)
                    {
                        var name = tokens[pos++].Text;
                        var (args, _) = Arguments(tokens, ref pos, sub: true);
                        CheckHelper(name, args.Count);
                    }

                    return null;
                default:
                    return null;
            }
        }

        // Records a path (returning its resolved form) or ignores a literal.
        private string? Value(string word)
        {
            if (IsLiteral(word))
            {
                return null;
            }

            var path = Resolve(word);
            if (path is not null && path.Length > 0 && _seen.Add(path))
            {
                _variables.Add(path);
            }

            return path;
        }

        private static bool IsLiteral(string word) =>
            word is "true" or "false" or "null" or "undefined"
            || decimal.TryParse(word, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _);

        private string? Resolve(string raw)
        {
            var segments = Segments(raw);
            if (segments.Count == 0)
            {
                return null;
            }

            var contexts = _frames.Where(f => f.NewContext).Select(f => f.Prefix).ToList();
            var prefix = contexts[^1];
            var index = 0;
            var explicitContext = false;
            if (segments[0].StartsWith('@'))
            {
                if (segments[0] != "@root")
                {
                    return null;
                }

                prefix = "";
                index = 1;
                explicitContext = true;
            }
            else
            {
                var ups = 0;
                while (index < segments.Count && segments[index] == "..")
                {
                    ups++;
                    index++;
                }

                if (ups > 0)
                {
                    prefix = contexts[Math.Max(0, contexts.Count - 1 - ups)];
                    explicitContext = true;
                }

                if (index < segments.Count && segments[index] is "this" or ".")
                {
                    index++;
                    explicitContext = true;
                }
            }

            if (!explicitContext && index < segments.Count)
            {
                for (var f = _frames.Count - 1; f >= 0; f--)
                {
                    if (_frames[f].Params is { } ps && ps.TryGetValue(segments[index], out var bound))
                    {
                        if (bound is null)
                        {
                            return null;
                        }

                        prefix = bound;
                        index++;
                        break;
                    }
                }
            }

            if (prefix.Length == 0 && index < segments.Count && Array.IndexOf(Roots, segments[index]) < 0)
            {
                _errors.Add($"unknown variable '{raw}': variables start with profile., event., journey., message. or items");
                return null;
            }

            var path = prefix;
            for (; index < segments.Count; index++)
            {
                var s = segments[index];
                path = s.Length > 0 && s.All(char.IsAsciiDigit) ? path + "[" + s + "]" : path.Length == 0 ? s : path + "." + s;
            }

            return path;
        }

        private static List<string> Segments(string raw)
        {
            var segments = new List<string>();
            var i = 0;
            while (i < raw.Length)
            {
                if (raw.AsSpan(i).StartsWith("../") || raw.AsSpan(i).SequenceEqual(".."))
                {
                    segments.Add("..");
                    i += 3;
                    continue;
                }

                if (raw.AsSpan(i).StartsWith("./"))
                {
                    segments.Add(".");
                    i += 2;
                    continue;
                }

                if (raw[i] == '[')
                {
                    var end = raw.IndexOf(']', i + 1);
                    end = end < 0 ? raw.Length : end;
                    segments.Add(raw[(i + 1)..end]);
                    i = end + 1;
                }
                else
                {
                    var j = i;
                    while (j < raw.Length && raw[j] is not ('.' or '/'))
                    {
                        j++;
                    }

                    segments.Add(raw[i..j]);
                    i = j;
                }

                if (i < raw.Length && raw[i] is '.' or '/')
                {
                    i++;
                }
            }

            return segments;
        }

        private static List<Token> Tokenize(string s)
        {
            var tokens = new List<Token>();
            var i = 0;
            while (i < s.Length)
            {
                var c = s[i];
                if (char.IsWhiteSpace(c))
                {
                    i++;
                }
                else if (c is '(' or ')' or '=' or '|')
                {
                    tokens.Add(new Token(c switch { '(' => Kind.Open, ')' => Kind.Close, '=' => Kind.Equals, _ => Kind.Pipe }, c.ToString()));
                    i++;
                }
                else if (c is '"' or '\'')
                {
                    var end = s.IndexOf(c, i + 1);
                    end = end < 0 ? s.Length : end;
                    tokens.Add(new Token(Kind.String, s[(i + 1)..end]));
                    i = end + 1;
                }
                else
                {
                    var j = i;
                    while (j < s.Length && !char.IsWhiteSpace(s[j]) && s[j] is not ('(' or ')' or '=' or '|'))
                    {
                        if (s[j] == '[')
                        {
                            var end = s.IndexOf(']', j + 1);
                            j = end < 0 ? s.Length : end + 1;
                        }
                        else
                        {
                            j++;
                        }
                    }

                    tokens.Add(new Token(Kind.Word, s[i..j]));
                    i = j;
                }
            }

            return tokens;
        }
    }
}
