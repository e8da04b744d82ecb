using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Chuda.Domain.Profiles;

/// <summary>Fast copying of JSON parts: compact, unescaped input is copied byte for byte instead of being
/// re-serialised; anything else (white space between tokens, escapes) goes through <see cref="JsonElement.WriteTo"/>,
/// which compacts and normalises it.</summary>
internal static class JsonRaw
{
    public static void WriteProperty(Utf8JsonWriter writer, JsonProperty prop)
    {
        var name = JsonMarshal.GetRawUtf8PropertyName(prop);
        var value = JsonMarshal.GetRawUtf8Value(prop.Value);
        if (name.IndexOf((byte)'\\') < 0 && IsCompactUnescaped(value))
        {
            writer.WritePropertyName(name);
            writer.WriteRawValue(value, skipInputValidation: true);
        }
        else
        {
            prop.WriteTo(writer);
        }
    }

    public static void WriteValue(Utf8JsonWriter writer, JsonElement element)
    {
        var value = JsonMarshal.GetRawUtf8Value(element);
        if (IsCompactUnescaped(value))
        {
            writer.WriteRawValue(value, skipInputValidation: true);
        }
        else
        {
            element.WriteTo(writer);
        }
    }

    private static readonly SearchValues<byte> QuoteOrWhiteSpace = SearchValues.Create("\" \t\r\n"u8);

    /// <summary>True when the raw value has no backslash and no white space outside strings.</summary>
    private static bool IsCompactUnescaped(ReadOnlySpan<byte> raw)
    {
        if (raw.IndexOf((byte)'\\') >= 0)
        {
            return false;
        }

        // Without backslashes every quote delimits a string: skip strings, stop at white space outside them.
        while (true)
        {
            var i = raw.IndexOfAny(QuoteOrWhiteSpace);
            if (i < 0)
            {
                return true;
            }

            if (raw[i] != (byte)'"')
            {
                return false;
            }

            raw = raw[(i + 1)..];
            var close = raw.IndexOf((byte)'"');
            if (close < 0)
            {
                return false;
            }

            raw = raw[(close + 1)..];
        }
    }
}
