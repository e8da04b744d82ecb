using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HandlebarsDotNet;
using HandlebarsDotNet.IO;
using HandlebarsDotNet.Iterators;
using HandlebarsDotNet.MemberAccessors;
using HandlebarsDotNet.ObjectDescriptors;
using HandlebarsDotNet.PathStructure;

namespace Chuda.Domain.Templates;

/// <summary>How the values inserted into a field are escaped.</summary>
internal enum FieldEncoding
{
    /// <summary>Not at all (subjects, SMS, push, in-app, WeChat, e-mail text part).</summary>
    Text,

    /// <summary>HTML-escaped (the e-mail HTML part).</summary>
    Html,

    /// <summary>Escaped for the inside of a JSON string (webhook bodies).</summary>
    Json,
}

/// <summary>One compiled field: literal text (no mustaches) or a Handlebars delegate.</summary>
internal sealed class CompiledField
{
    private readonly string? _literal;
    private readonly HandlebarsTemplate<object, object>? _template;

    private CompiledField(string? literal, HandlebarsTemplate<object, object>? template)
    {
        _literal = literal;
        _template = template;
    }

    /// <summary>Compiles <paramref name="source"/>; throws (Handlebars' exception) on a syntax error.</summary>
    public static CompiledField Compile(FieldEncoding encoding, string source)
    {
        if (!source.Contains("{{", StringComparison.Ordinal))
        {
            return new CompiledField(source, null);
        }

        return new CompiledField(null, TemplateEnvironments.Compile(encoding, source));
    }

    public string Render(DataNode root) => _literal ?? _template!(root, null);
}

/// <summary>Compiles each distinct (encoding, source) once; shared by the parser and the compiled template it makes.</summary>
internal sealed class FieldCompiler
{
    private readonly Dictionary<(FieldEncoding, string), CompiledField> _done = [];

    public CompiledField Compile(FieldEncoding encoding, string source)
    {
        if (!_done.TryGetValue((encoding, source), out var field))
        {
            field = CompiledField.Compile(encoding, source);
            _done[(encoding, source)] = field;
        }

        return field;
    }
}

/// <summary>The three Handlebars environments (text, HTML, JSON), each with the data model, formatters and helpers.
/// Created once; compiled templates from them are safe to run on many threads at once.</summary>
internal static class TemplateEnvironments
{
    private static readonly IHandlebars TextEnvironment = Create(FieldEncoding.Text);
    private static readonly IHandlebars HtmlEnvironment = Create(FieldEncoding.Html);
    private static readonly IHandlebars JsonEnvironment = Create(FieldEncoding.Json);
    private static readonly Lock CompileLock = new();

    public static HandlebarsTemplate<object, object> Compile(FieldEncoding encoding, string source)
    {
        var environment = encoding switch
        {
            FieldEncoding.Html => HtmlEnvironment,
            FieldEncoding.Json => JsonEnvironment,
            _ => TextEnvironment,
        };

        // Compilation is rare (once per template version); serialise it rather than rely on the library's
        // lazily built configuration being safe to build from several threads.
        lock (CompileLock)
        {
            return environment.Compile(source);
        }
    }

    private static IHandlebars Create(FieldEncoding encoding)
    {
        var configuration = new HandlebarsConfiguration
        {
            FormatProvider = CultureInfo.InvariantCulture,
            NoEscape = encoding == FieldEncoding.Text,
            ThrowOnUnresolvedBindingExpression = false,
        };
        if (encoding == FieldEncoding.Json)
        {
            configuration.TextEncoder = new JsonStringEncoder();
        }

        configuration.ObjectDescriptorProviders.Add(new DataDescriptors());
        configuration.FormatterProviders.Add(new ValueFormatters());
        var handlebars = Handlebars.Create(configuration);
        TemplateHelpers.Register(handlebars, encoding);
        return handlebars;
    }
}

/// <summary>
/// A JSON object of the template data as Handlebars sees it, knowing its own path (for problem reports). The root node
/// has the parts of <see cref="TemplateData"/> as members. Members are read from the <see cref="JsonElement"/> on access:
/// strings become <see cref="string"/>, numbers <see cref="decimal"/> (or <see cref="double"/> beyond its range),
/// booleans <see cref="bool"/>, objects nodes, arrays <c>object?[]</c>; absent and null members become
/// <see cref="Missing"/>.
/// </summary>
internal sealed class DataNode
{
    private readonly TemplateData? _root;
    private readonly DataNode? _parent;
    private readonly string _name;

    private DataNode(TemplateData? root, JsonElement element, DataNode? parent, string name)
    {
        _root = root;
        Element = element;
        _parent = parent;
        _name = name;
    }

    public JsonElement Element { get; }

    public bool IsRoot => _root is not null;

    public static DataNode Root(TemplateData data) => new(data, default, null, "");

    /// <summary>The path of this node: <c>profile.address</c>, <c>items[2].event</c>; empty for the root.</summary>
    public string Path => _parent is null ? _name : Join(_parent.Path, _name);

    public static string Join(string parent, string name) =>
        name.StartsWith('[') ? parent + name : parent.Length == 0 ? name : parent + "." + name;

    public IEnumerable<string> MemberNames()
    {
        if (_root is not null)
        {
            return TemplateSyntax.Roots.Where(r => RootPart(r) is not null);
        }

        return Element.ValueKind == JsonValueKind.Object ? Element.EnumerateObject().Select(p => p.Name) : [];
    }

    public object Member(string name)
    {
        if (_root is not null)
        {
            return RootPart(name) is { } part ? Convert(part, name) : new Missing(name);
        }

        return Element.ValueKind == JsonValueKind.Object && Element.TryGetProperty(name, out var value)
            ? Convert(value, name)
            : new Missing(Join(Path, name));
    }

    private JsonElement? RootPart(string name) => name switch
    {
        "profile" => _root!.Profile,
        "event" => _root!.Event,
        "journey" => _root!.Journey,
        "message" => _root!.Message,
        "items" => _root!.Items,
        _ => null,
    };

    private object Convert(JsonElement value, string name)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString()!;
            case JsonValueKind.Number:
                return value.TryGetDecimal(out var d) ? d : value.GetDouble();
            case JsonValueKind.True:
                return BoxedTrue;
            case JsonValueKind.False:
                return BoxedFalse;
            case JsonValueKind.Object:
                return new DataNode(null, value, this, name);
            case JsonValueKind.Array:
                var items = new object?[value.GetArrayLength()];
                var holder = new DataNode(null, default, this, name);
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    items[i] = holder.Convert(item, "[" + i.ToString(CultureInfo.InvariantCulture) + "]");
                    i++;
                }

                return items;
            default:
                return new Missing(Join(Path, name));
        }
    }

    private static readonly object BoxedTrue = true;
    private static readonly object BoxedFalse = false;
}

/// <summary>A variable with no value. Falsy and empty for <c>#if</c>, <c>#each</c>, <c>#with</c>; reported when written.</summary>
internal sealed class Missing(string path) : IEnumerable
{
    public string Path { get; } = path;

    public IEnumerator GetEnumerator()
    {
        yield break;
    }

    public override string ToString() => "";
}

/// <summary>Describes <see cref="DataNode"/> and <see cref="Missing"/> to Handlebars.</summary>
internal sealed class DataDescriptors : IObjectDescriptorProvider, IMemberAccessor
{
    private readonly ObjectDescriptor _node;
    private readonly ObjectDescriptor _missing;

    public DataDescriptors()
    {
        _node = new ObjectDescriptor(typeof(DataNode), this,
            (_, o) => ((DataNode)o).MemberNames().Select(ChainSegment.Create).ToArray(),
            d => new ObjectIterator(d));
        _missing = new ObjectDescriptor(typeof(Missing), this, (_, _) => Array.Empty<ChainSegment>(), d => new ObjectIterator(d));
    }

    public bool TryGetDescriptor(Type type, out ObjectDescriptor value)
    {
        if (type == typeof(DataNode))
        {
            value = _node;
            return true;
        }

        if (type == typeof(Missing))
        {
            value = _missing;
            return true;
        }

        value = ObjectDescriptor.Empty;
        return false;
    }

    public bool TryGetValue(object instance, ChainSegment memberName, out object? value)
    {
        var name = memberName.TrimmedValue;
        value = instance switch
        {
            DataNode node => node.Member(name),
            Missing missing => new Missing(DataNode.Join(missing.Path, name.All(char.IsAsciiDigit) ? "[" + name + "]" : name)),
            _ => null,
        };
        return value is not null;
    }
}

/// <summary>How values are written: missing ones are reported (and write nothing), numbers invariantly, booleans as
/// <c>true</c>/<c>false</c>, objects as their JSON.</summary>
internal sealed class ValueFormatters : IFormatterProvider, IFormatter
{
    public bool TryCreateFormatter(Type type, out IFormatter formatter)
    {
        formatter = this;
        return type == typeof(Missing) || type == typeof(UndefinedBindingResult) || type == typeof(DataNode)
            || type == typeof(bool) || type == typeof(decimal) || type == typeof(double);
    }

    public void Format<T>(T value, in EncodedTextWriter writer)
    {
        switch (value)
        {
            case Missing missing:
                RenderScope.Current?.ReportMissing(missing.Path);
                break;
            case UndefinedBindingResult undefined:
                RenderScope.Current?.ReportMissing(undefined.Value);
                break;
            default:
                writer.Write(TemplateValues.ToText(value));
                break;
        }
    }
}

/// <summary>Escapes inserted text for the inside of a JSON string: quote, backslash, control characters and unpaired
/// surrogates become escapes, so a value can never end the string or make the body invalid.</summary>
internal sealed class JsonStringEncoder : ITextEncoder
{
    public void Encode(StringBuilder? text, TextWriter target)
    {
        if (text is not null)
        {
            Encode(text.ToString(), target);
        }
    }

    public void Encode(string? text, TextWriter target)
    {
        if (text is null)
        {
            return;
        }

        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            string? escape = c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                _ when c < ' ' || c == '\u2028' || c == '\u2029' => Unicode(c),
                _ when char.IsHighSurrogate(c) && !(i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) => Unicode(c),
                _ when char.IsLowSurrogate(c) && !(i > 0 && char.IsHighSurrogate(text[i - 1])) => Unicode(c),
                _ => null,
            };
            if (escape is null)
            {
                continue;
            }

            target.Write(text.AsSpan(start, i - start));
            target.Write(escape);
            start = i + 1;
        }

        target.Write(text.AsSpan(start));
    }

    public void Encode<T>(T? text, TextWriter target)
        where T : IEnumerator<char>
    {
        if (text is null)
        {
            return;
        }

        var builder = new StringBuilder();
        while (text.MoveNext())
        {
            builder.Append(text.Current);
        }

        Encode(builder.ToString(), target);
    }

    /// <summary>The JSON string literal of <paramref name="text"/>, with quotes.</summary>
    public static string Quote(string text)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        writer.Write('"');
        new JsonStringEncoder().Encode(text, writer);
        writer.Write('"');
        return writer.ToString();
    }

    private static string Unicode(char c) => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture);
}
