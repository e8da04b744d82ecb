using System.Text.Json;

namespace Chuda.Channels.Sms.Http;

/// <summary>
/// The small JSON path gateways' answers need: <c>$</c> followed by <c>.name</c>, <c>['name']</c> and <c>[index]</c> steps
/// (<c>$.data.id</c>, <c>$.result[0].msgid</c>). No wildcards, filters or recursion.
/// </summary>
public sealed class SimpleJsonPath
{
    private readonly List<object> _steps;

    private SimpleJsonPath(string text, List<object> steps)
    {
        Text = text;
        _steps = steps;
    }

    public string Text { get; }

    public override string ToString() => Text;

    public static bool TryParse(string? text, out SimpleJsonPath path, out string error)
    {
        path = null!;
        error = "";
        if (string.IsNullOrEmpty(text) || text[0] != '$')
        {
            error = "expected a path starting with '$' such as $.data.id";
            return false;
        }
        var steps = new List<object>();
        var i = 1;
        while (i < text.Length)
        {
            if (text[i] == '.')
            {
                var end = i + 1;
                while (end < text.Length && text[end] is not ('.' or '[')) end++;
                if (end == i + 1)
                {
                    error = $"empty name at offset {i}";
                    return false;
                }
                steps.Add(text[(i + 1)..end]);
                i = end;
            }
            else if (text[i] == '[')
            {
                var close = text.IndexOf(']', i);
                if (close < 0)
                {
                    error = $"unclosed '[' at offset {i}";
                    return false;
                }
                var inner = text[(i + 1)..close];
                if (inner.Length >= 2 && inner[0] == '\'' && inner[^1] == '\'') steps.Add(inner[1..^1]);
                else if (int.TryParse(inner, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)) steps.Add(index);
                else
                {
                    error = $"expected [number] or ['name'] at offset {i}";
                    return false;
                }
                i = close + 1;
            }
            else
            {
                error = $"unexpected '{text[i]}' at offset {i}";
                return false;
            }
        }
        path = new SimpleJsonPath(text, steps);
        return true;
    }

    public JsonElement? Select(JsonElement root)
    {
        var current = root;
        foreach (var step in _steps)
        {
            if (step is string name)
            {
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current)) return null;
            }
            else
            {
                var index = (int)step;
                if (current.ValueKind != JsonValueKind.Array || index >= current.GetArrayLength()) return null;
                current = current[index];
            }
        }
        return current;
    }

    /// <summary>The selected value as text: a string's value, a number's or boolean's JSON text; null when absent or null.</summary>
    public string? SelectText(JsonElement root) => Select(root) is { } value ? AsText(value) : null;

    public static string? AsText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => null,
    };
}
