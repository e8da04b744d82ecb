using System.Text;
using System.Text.Encodings.Web;

namespace Chuda.Channels.Sms.Http;

/// <summary>Where a placeholder's value lands, and so how it is escaped.</summary>
public enum PlaceholderEscape
{
    /// <summary>As is (a header value: CR and LF are refused when the request is built; a text body).</summary>
    None,
    /// <summary>Percent-encoded as a URL component (RFC 3986 unreserved characters stay).</summary>
    Url,
    /// <summary>Escaped for the inside of a JSON string: the template supplies the quotes (<c>"text": "{{text}}"</c>).</summary>
    Json,
    /// <summary><c>application/x-www-form-urlencoded</c>: percent-encoded, a space as <c>+</c>.</summary>
    Form,
}

/// <summary>The values a request template may use.</summary>
/// <param name="To">The recipient in E.164 with the leading <c>+</c>.</param>
public sealed record PlaceholderValues(string To, string Text, string MessageId, string IdempotencyKey, IReadOnlyDictionary<string, string> Secrets)
{
    public string? Get(string name) => name switch
    {
        "to" => To,
        "to_digits" => To.TrimStart('+'),
        "text" => Text,
        "message_id" => MessageId,
        "idempotency_key" => IdempotencyKey,
        _ when name.StartsWith("secret.", StringComparison.Ordinal) => Secrets.TryGetValue(name["secret.".Length..], out var s) ? s : null,
        _ => null,
    };
}

/// <summary>
/// A string with <c>{{name}}</c> placeholders: <c>to</c>, <c>to_digits</c>, <c>text</c>, <c>message_id</c>, <c>idempotency_key</c>
/// and <c>secret.NAME</c> (a key of the configuration's <c>secrets</c>). Strict: an unknown name, a secret that is not configured,
/// whitespace inside the braces or an unclosed <c>{{</c> is a validation error. There is no other syntax (no escapes, no helpers): a
/// literal <c>{{</c> cannot be written, which no gateway seen so far needs.
/// </summary>
public sealed class PlaceholderTemplate
{
    private static readonly string[] Fixed = ["to", "to_digits", "text", "message_id", "idempotency_key"];

    private readonly List<(string Literal, string? Name)> _parts;

    private PlaceholderTemplate(List<(string, string?)> parts) => _parts = parts;

    public IEnumerable<string> Names => _parts.Where(p => p.Name is not null).Select(p => p.Name!);

    /// <summary>Parses <paramref name="text"/>; problems are added to <paramref name="errors"/> under <paramref name="path"/>.</summary>
    public static PlaceholderTemplate Parse(string text, string path, IReadOnlyCollection<string> secretNames, List<(string Path, string Message)> errors)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(errors);
        var parts = new List<(string, string?)>();
        var position = 0;
        while (position < text.Length)
        {
            var open = text.IndexOf("{{", position, StringComparison.Ordinal);
            if (open < 0)
            {
                parts.Add((text[position..], null));
                break;
            }
            var close = text.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                errors.Add((path, $"unclosed '{{{{' at offset {open}"));
                break;
            }
            var name = text[(open + 2)..close];
            if (!IsKnown(name, secretNames))
            {
                var hint = name.StartsWith("secret.", StringComparison.Ordinal)
                    ? $"no secret '{name["secret.".Length..]}' in $.config.secrets"
                    : "expected to, to_digits, text, message_id, idempotency_key or secret.NAME";
                errors.Add((path, $"unknown placeholder '{{{{{name}}}}}': {hint}"));
            }
            parts.Add((text[position..open], name));
            position = close + 2;
        }
        return new PlaceholderTemplate(parts);
    }

    private static bool IsKnown(string name, IReadOnlyCollection<string> secretNames) =>
        Fixed.Contains(name) || (name.StartsWith("secret.", StringComparison.Ordinal) && secretNames.Contains(name["secret.".Length..]));

    public string Render(PlaceholderValues values, PlaceholderEscape escape)
    {
        ArgumentNullException.ThrowIfNull(values);
        var builder = new StringBuilder();
        foreach (var (literal, name) in _parts)
        {
            builder.Append(literal);
            if (name is null) continue;
            var value = values.Get(name) ?? throw new InvalidOperationException($"placeholder '{name}' has no value");
            builder.Append(Escape(value, escape));
        }
        return builder.ToString();
    }

    public static string Escape(string value, PlaceholderEscape escape) => escape switch
    {
        PlaceholderEscape.Url => Uri.EscapeDataString(value),
        PlaceholderEscape.Form => FormEncoding.Encode(value),
        // The relaxed encoder leaves non-ASCII text (Chinese, emoji) as UTF-8 and escapes quotes, backslashes and control characters.
        PlaceholderEscape.Json => JavaScriptEncoder.UnsafeRelaxedJsonEscaping.Encode(value),
        _ => value,
    };
}
