using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Chuda.Domain.Profiles;

/// <summary>Deep merging of trait objects (stored as compact JSON).</summary>
public static class TraitMerge
{
    /// <summary>Writer options shared by the domain: compact, non-ASCII (e.g. Chinese) written as-is.</summary>
    internal static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = true,
    };

    /// <summary>
    /// Applies an identify's <paramref name="incoming"/> traits to the stored ones: objects merge recursively,
    /// arrays and scalars replace, a JSON <c>null</c> removes the key (at any depth; nulls inside a newly added
    /// object are dropped too, so merging is idempotent). Key order: existing keys keep their place, new keys are
    /// appended. <paramref name="existingTraitsJson"/> may be <c>""</c>/white space (= <c>{}</c>); a stored value
    /// that is not an object is replaced. An <paramref name="incoming"/> that is not an object (undefined, null, ...)
    /// changes nothing. Returns compact JSON.
    /// </summary>
    public static string Merge(string existingTraitsJson, JsonElement incoming)
    {
        using var existing = ParseOrEmpty(existingTraitsJson);
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, (existingTraitsJson?.Length ?? 0) + 64));
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            var root = existing?.RootElement ?? default;
            var hasExisting = root.ValueKind == JsonValueKind.Object;
            if (incoming.ValueKind != JsonValueKind.Object)
            {
                if (hasExisting)
                {
                    JsonRaw.WriteValue(writer, root);
                }
                else
                {
                    writer.WriteStartObject();
                    writer.WriteEndObject();
                }
            }
            else if (hasExisting)
            {
                WriteMerged(writer, root, incoming);
            }
            else
            {
                WriteWithoutNulls(writer, incoming);
            }
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Merges two profiles' trait objects: <paramref name="intoJson"/> wins on conflicts, <paramref name="fromJson"/>
    /// fills the gaps, nested objects merge recursively (both sides objects → merged; otherwise <c>into</c>'s value).
    /// Either side may be <c>""</c>. Returns compact JSON.
    /// </summary>
    public static string MergeObjects(string intoJson, string fromJson)
    {
        using var into = ParseOrEmpty(intoJson);
        using var from = ParseOrEmpty(fromJson);
        var a = into?.RootElement ?? default;
        var b = from?.RootElement ?? default;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            var aObj = a.ValueKind == JsonValueKind.Object;
            var bObj = b.ValueKind == JsonValueKind.Object;
            if (aObj && bObj)
            {
                WritePreferFirst(writer, a, b, dedupe: true);
            }
            else if (aObj)
            {
                JsonRaw.WriteValue(writer, a);
            }
            else if (bObj)
            {
                JsonRaw.WriteValue(writer, b);
            }
            else
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes <paramref name="under"/> deep-merged with <paramref name="over"/> (over wins, nulls kept).
    /// Used for the batch-level context under a message's context.</summary>
    internal static void WriteOverlay(Utf8JsonWriter writer, JsonElement under, JsonElement over) =>
        WritePreferFirst(writer, over, under, dedupe: false);

    private static JsonDocument? ParseOrEmpty(string? json) =>
        string.IsNullOrWhiteSpace(json) ? null : JsonDocument.Parse(json);

    private static void WriteMerged(Utf8JsonWriter writer, JsonElement existing, JsonElement incoming)
    {
        writer.WriteStartObject();
        foreach (var prop in existing.EnumerateObject())
        {
            if (!IsLastOccurrence(existing, prop))
            {
                continue;
            }

            if (incoming.TryGetProperty(prop.Name, out var value))
            {
                if (value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                writer.WritePropertyName(prop.Name);
                if (value.ValueKind == JsonValueKind.Object && prop.Value.ValueKind == JsonValueKind.Object)
                {
                    WriteMerged(writer, prop.Value, value);
                }
                else
                {
                    WriteWithoutNulls(writer, value);
                }
            }
            else
            {
                JsonRaw.WriteProperty(writer, prop);
            }
        }

        foreach (var prop in incoming.EnumerateObject())
        {
            if (prop.Value.ValueKind == JsonValueKind.Null || existing.TryGetProperty(prop.Name, out _)
                || !IsLastOccurrence(incoming, prop))
            {
                continue;
            }

            writer.WritePropertyName(prop.Name);
            WriteWithoutNulls(writer, prop.Value);
        }

        writer.WriteEndObject();
    }

    /// <summary>Writes a value; in objects (recursively) keys whose value is null are dropped. Arrays verbatim.</summary>
    private static void WriteWithoutNulls(Utf8JsonWriter writer, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            JsonRaw.WriteValue(writer, value);
            return;
        }

        writer.WriteStartObject();
        foreach (var prop in value.EnumerateObject())
        {
            if (prop.Value.ValueKind == JsonValueKind.Null || !IsLastOccurrence(value, prop))
            {
                continue;
            }

            writer.WritePropertyName(prop.Name);
            WriteWithoutNulls(writer, prop.Value);
        }

        writer.WriteEndObject();
    }

    private static void WritePreferFirst(Utf8JsonWriter writer, JsonElement first, JsonElement second, bool dedupe)
    {
        writer.WriteStartObject();
        foreach (var prop in first.EnumerateObject())
        {
            if (dedupe && !IsLastOccurrence(first, prop))
            {
                continue;
            }

            if (prop.Value.ValueKind == JsonValueKind.Object
                && TryGetSameName(second, prop, out var other) && other.ValueKind == JsonValueKind.Object)
            {
                writer.WritePropertyName(prop.Name);
                WritePreferFirst(writer, prop.Value, other, dedupe);
            }
            else
            {
                JsonRaw.WriteProperty(writer, prop);
            }
        }

        foreach (var prop in second.EnumerateObject())
        {
            if (!TryGetSameName(first, prop, out _) && (!dedupe || IsLastOccurrence(second, prop)))
            {
                JsonRaw.WriteProperty(writer, prop);
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>Looks <paramref name="prop"/>'s name up in <paramref name="obj"/> without allocating when the name
    /// has no escapes.</summary>
    private static bool TryGetSameName(JsonElement obj, JsonProperty prop, out JsonElement value)
    {
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(prop);
        return raw.IndexOf((byte)'\\') < 0 ? obj.TryGetProperty(raw, out value) : obj.TryGetProperty(prop.Name, out value);
    }

    /// <summary>Duplicate keys: JSON lookups see the last one, so only the last one is written.</summary>
    private static bool IsLastOccurrence(JsonElement obj, JsonProperty prop)
    {
        // TryGetProperty returns the last property of that name; compare by position via the raw value identity.
        return obj.TryGetProperty(prop.Name, out var last) && SameElement(last, prop.Value);
    }

    private static bool SameElement(JsonElement a, JsonElement b) =>
        System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(a).Overlaps(
            System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(b), out var offset) && offset == 0
        && System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(a).Length
            == System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(b).Length;
}
