using System.Text;
using System.Text.Json;
using Chuda.Domain.Profiles;

namespace Chuda.Storage.Internal;

/// <summary>Conversions shared by the backends.</summary>
internal static class StoreValues
{
    /// <summary>The stored precision: milliseconds, UTC.</summary>
    public static long ToMillis(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromMillis(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    /// <summary>Truncates to the stored precision, in UTC.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) => FromMillis(ToMillis(value));

    public static string TagsToJson(IReadOnlyList<string> tags)
    {
        if (tags.Count == 0) return "[]";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var tag in tags) writer.WriteStringValue(tag);
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static IReadOnlyList<string> TagsFromJson(string json)
    {
        if (json is "[]" or "") return [];
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        var tags = new List<string>();
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.String) tags.Add(reader.GetString()!);
        }
        return tags;
    }

    public static void ValidateReservation(int count) => ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);

    /// <summary>Versions start at 1, and a batch names each profile once (one write per profile per batch).</summary>
    public static void ValidateUpsert(IReadOnlyCollection<ProfileRecord> profiles)
    {
        var seen = new HashSet<long>();
        foreach (var p in profiles)
        {
            if (p.Version < 1)
                throw new ArgumentException($"Profile {p.Id} has version {p.Version}; versions start at 1.", nameof(profiles));
            if (!seen.Add(p.Id))
                throw new ArgumentException($"Profile {p.Id} appears twice in one upsert.", nameof(profiles));
        }
    }
}
