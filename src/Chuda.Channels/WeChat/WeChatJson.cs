using System.Globalization;
using System.Text;

namespace Chuda.Channels.WeChat;

/// <summary>
/// A small JSON writer for WeChat request bodies. WeChat rejects <c>\uXXXX</c> escapes in request text (global return code
/// 40033, "不合法的请求字符，不能包含\uxxxx格式的字符"), and System.Text.Json's encoders escape every non-ASCII character (and
/// even the relaxed one escapes characters outside the BMP, such as emoji). This writer escapes only what JSON requires —
/// <c>"</c>, <c>\</c> and control characters — and writes everything else as UTF-8. Lone surrogates become U+FFFD.
/// </summary>
public sealed class WeChatJson
{
    private readonly StringBuilder _text = new();
    private readonly Stack<bool> _first = new();

    public WeChatJson StartObject(string? name = null)
    {
        Name(name);
        _text.Append('{');
        _first.Push(true);
        return this;
    }

    public WeChatJson EndObject()
    {
        _first.Pop();
        _text.Append('}');
        return this;
    }

    public WeChatJson String(string name, string value)
    {
        Name(name);
        Quote(value);
        return this;
    }

    /// <summary>Writes the property only when <paramref name="value"/> is not null or empty.</summary>
    public WeChatJson OptionalString(string name, string? value) => string.IsNullOrEmpty(value) ? this : String(name, value);

    public WeChatJson Number(string name, long value)
    {
        Name(name);
        _text.Append(value.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    public override string ToString() => _text.ToString();

    public byte[] ToUtf8() => Encoding.UTF8.GetBytes(_text.ToString());

    private void Name(string? name)
    {
        if (_first.Count > 0)
        {
            if (!_first.Pop()) _text.Append(',');
            _first.Push(false);
        }
        if (name is not null)
        {
            Quote(name);
            _text.Append(':');
        }
    }

    private void Quote(string value)
    {
        _text.Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '"': _text.Append("\\\""); break;
                case '\\': _text.Append("\\\\"); break;
                case '\n': _text.Append("\\n"); break;
                case '\r': _text.Append("\\r"); break;
                case '\t': _text.Append("\\t"); break;
                case '\b': _text.Append("\\b"); break;
                case '\f': _text.Append("\\f"); break;
                default:
                    if (c < 0x20)
                    {
                        // Other control characters have no short escape; they do not belong in a notification: a space.
                        _text.Append(' ');
                    }
                    else if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                    {
                        _text.Append(c).Append(value[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        _text.Append('\uFFFD');
                    }
                    else
                    {
                        _text.Append(c);
                    }
                    break;
            }
        }
        _text.Append('"');
    }
}
