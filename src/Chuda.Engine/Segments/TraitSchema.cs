using System.Text.Json;
using Chuda.Domain.Segments;
using Chuda.Storage;

namespace Chuda.Engine.Segments;

/// <summary>
/// The kinds of a workspace's traits as its data shows them, so that a rule comparing a trait in a way its values can
/// never satisfy (<c>gt</c> on a string trait, <c>before</c> on a number) is refused when it is saved instead of
/// quietly matching nobody. Inferred from the most recent profiles: a path whose values all have one kind gets that
/// kind (strings that all read as dates are <see cref="TraitKind.Date"/>); a path with mixed kinds, or not seen, is
/// unknown and is not checked.
/// </summary>
public sealed class TraitSchema
{
    private const int MaxDepth = 10;
    private readonly Dictionary<string, TraitKind?> _kinds = new(StringComparer.Ordinal);

    public static TraitSchema Empty { get; } = new();

    /// <summary>The kind of the trait at a dotted path, or null when unknown.</summary>
    public TraitKind? KindOf(string path) => _kinds.GetValueOrDefault(path);

    public static async Task<TraitSchema> InferAsync(IChudaStore store, long workspaceId, int sample, CancellationToken ct)
    {
        var schema = new TraitSchema();
        if (await store.GetProfileIdRangeAsync(workspaceId, ct) is not { } range) return schema;
        var profiles = await store.GetProfilesAsync(workspaceId, Math.Max(range.Min - 1, range.Max - sample), sample, ct);
        foreach (var profile in profiles)
        {
            using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(profile.TraitsJson) ? "{}" : profile.TraitsJson);
            if (doc.RootElement.ValueKind == JsonValueKind.Object) schema.Walk(doc.RootElement, "", 0);
        }
        return schema;
    }

    private void Walk(JsonElement obj, string prefix, int depth)
    {
        foreach (var p in obj.EnumerateObject())
        {
            var path = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
            var kind = p.Value.ValueKind switch
            {
                JsonValueKind.String => RuleDates.TryParse(p.Value.GetString(), out _) ? TraitKind.Date : TraitKind.String,
                JsonValueKind.Number => TraitKind.Number,
                JsonValueKind.True or JsonValueKind.False => TraitKind.Boolean,
                JsonValueKind.Array => TraitKind.Array,
                JsonValueKind.Object => TraitKind.Object,
                _ => (TraitKind?)null, // null values say nothing
            };
            if (kind is { } k) Record(path, k);
            if (p.Value.ValueKind == JsonValueKind.Object && depth + 1 < MaxDepth) Walk(p.Value, path, depth + 1);
        }
    }

    private void Record(string path, TraitKind kind)
    {
        if (!_kinds.TryGetValue(path, out var seen))
        {
            _kinds[path] = kind;
        }
        else if (seen is { } s && s != kind)
        {
            // Dates are strings too: a mix of dates and other strings is a string trait; any other mix is unknown.
            _kinds[path] = (s, kind) is (TraitKind.Date, TraitKind.String) or (TraitKind.String, TraitKind.Date) ? TraitKind.String : null;
        }
    }
}
