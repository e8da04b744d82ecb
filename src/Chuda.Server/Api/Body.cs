using System.Globalization;
using System.Text.Json;

namespace Chuda.Server.Api;

/// <summary>A request body read in full (its raw bytes, e.g. to hash them) and parsed as a JSON object.</summary>
internal sealed record JsonBody(JsonElement Root, byte[] Raw);

/// <summary>
/// Request bodies read by hand, like <see cref="Query"/>: binding a typed body makes ASP.NET answer a bare 400 for
/// malformed JSON or a wrong type, and every 4xx of this API is problem+json naming the field.
/// </summary>
internal static class Body
{
    /// <summary>The largest management request body (a journey definition of 500 steps fits easily).</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>
    /// Reads the body as a JSON object whose fields are among <paramref name="allowed"/>, each at most once. With
    /// <paramref name="optional"/>, an empty body reads as <c>{}</c>.
    /// </summary>
    public static async Task<(JsonBody? Body, IResult? Problem)> ReadObjectAsync(HttpContext context, string[] allowed, bool optional = false,
        int maxBytes = MaxBytes)
    {
        var raw = await ReadBytesAsync(context.Request.Body, maxBytes, context.RequestAborted);
        if (raw is null) return (null, Problems.Field("body", $"Larger than {maxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes.", StatusCodes.Status413PayloadTooLarge));
        if (optional && raw.AsSpan().Trim(" \t\r\n"u8).IsEmpty) return (new JsonBody(EmptyObject, raw), null);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(raw);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return (null, Problems.Field("body", "Malformed JSON: " + ex.Message));
        }
        if (root.ValueKind != JsonValueKind.Object)
            return (null, Problems.Field("body", $"Expected a JSON object with {string.Join(", ", allowed)}."));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            if (!allowed.Contains(p.Name)) return (null, Problems.Field(p.Name, $"Unknown field; expected {string.Join(", ", allowed)}."));
            if (!seen.Add(p.Name)) return (null, Problems.Field(p.Name, "Appears more than once."));
        }
        return (new JsonBody(root, raw), null);
    }

    /// <summary>An optional string field (absent or null: null).</summary>
    public static bool TryString(JsonElement root, string name, out string? value, out IResult? problem)
    {
        value = null;
        problem = null;
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return true;
        if (v.ValueKind != JsonValueKind.String)
        {
            problem = Problems.Field(name, "Must be a string.");
            return false;
        }
        value = v.GetString();
        return true;
    }

    /// <summary>An optional boolean field (absent or null: null).</summary>
    public static bool TryBool(JsonElement root, string name, out bool? value, out IResult? problem)
    {
        value = null;
        problem = null;
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return true;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            problem = Problems.Field(name, "Must be true or false.");
            return false;
        }
        value = v.GetBoolean();
        return true;
    }

    /// <summary>An optional whole-number field from <paramref name="min"/> to <paramref name="max"/> (absent or null: null).</summary>
    public static bool TryInt(JsonElement root, string name, int min, int max, out int? value, out IResult? problem)
    {
        value = null;
        problem = null;
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return true;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n) || n < min || n > max)
        {
            problem = Problems.Field(name, $"Must be a whole number from {min} to {max}.");
            return false;
        }
        value = n;
        return true;
    }

    private static readonly JsonElement EmptyObject = Empty();

    private static JsonElement Empty()
    {
        using var doc = JsonDocument.Parse("{}");
        return doc.RootElement.Clone();
    }

    /// <summary>The whole stream, or null when it is longer than <paramref name="maxBytes"/>.</summary>
    private static async Task<byte[]?> ReadBytesAsync(Stream stream, int maxBytes, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var read = await stream.ReadAsync(chunk, ct);
            if (read == 0) return buffer.ToArray();
            if (buffer.Length + read > maxBytes) return null;
            buffer.Write(chunk, 0, read);
        }
    }
}
