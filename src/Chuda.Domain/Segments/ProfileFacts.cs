using System.Text.Json;
using Chuda.Domain.Profiles;

namespace Chuda.Domain.Segments;

/// <summary>One event as segment rules see it.</summary>
/// <param name="Name">The event name rules match on (<c>event</c>, <c>not_performed</c>, ...): the track event name;
/// <see cref="ViewedPage"/> for page calls and <see cref="ViewedScreen"/> for screen calls (see <see cref="FromRow"/>).</param>
/// <param name="Timestamp">When it happened. An event counts from this instant on; until then it is ignored.</param>
/// <param name="Properties">The event's properties object (JsonValueKind.Undefined when it has none).</param>
public sealed record EventFact(string Name, DateTimeOffset Timestamp, JsonElement Properties)
{
    /// <summary>The name under which page calls are matched.</summary>
    public const string ViewedPage = "Viewed Page";

    /// <summary>The name under which screen calls are matched.</summary>
    public const string ViewedScreen = "Viewed Screen";

    /// <summary>
    /// The fact of a stored event: track → its event name; page → <c>Viewed Page</c>, screen → <c>Viewed Screen</c>,
    /// with the page/screen name added as property <c>name</c> unless the properties already have one; identify,
    /// group and alias → null (they change traits and identities, not behaviour). Properties are cloned, so the
    /// fact does not hold on to the row's JSON document.
    /// </summary>
    public static EventFact? FromRow(EventRow row) => FromRow(row, null);

    /// <summary>As <see cref="FromRow(EventRow)"/>, but the payload is parsed only for events whose name is in
    /// <paramref name="propertiesOf"/> (null: all); the others get no properties. Parsing is most of the cost of
    /// reading history, and most rules only count or time events.</summary>
    public static EventFact? FromRow(EventRow row, IReadOnlySet<string>? propertiesOf)
    {
        ArgumentNullException.ThrowIfNull(row);
        var name = row.Type switch
        {
            "track" => row.Name,
            "page" => ViewedPage,
            "screen" => ViewedScreen,
            _ => null,
        };
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        if (propertiesOf is not null && !propertiesOf.Contains(name))
        {
            return new EventFact(name, row.Timestamp, default);
        }

        using var doc = JsonDocument.Parse(row.PayloadJson);
        var props = doc.RootElement.ValueKind == JsonValueKind.Object
            && doc.RootElement.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object
            ? p
            : default;
        if (row.Type != "track" && !string.IsNullOrEmpty(row.Name)
            && (props.ValueKind != JsonValueKind.Object || !props.TryGetProperty("name", out _)))
        {
            return new EventFact(name, row.Timestamp, WithName(props, row.Name));
        }

        return new EventFact(name, row.Timestamp, props.ValueKind == JsonValueKind.Object ? props.Clone() : default);
    }

    private static JsonElement WithName(JsonElement props, string pageName)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("name", pageName);
            if (props.ValueKind == JsonValueKind.Object)
            {
                foreach (var prop in props.EnumerateObject())
                {
                    prop.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        using var doc = JsonDocument.Parse(buffer.ToArray());
        return doc.RootElement.Clone();
    }
}

/// <summary>
/// Everything a segment rule can read about one profile, immutable. The engine builds it with
/// <see cref="From"/> (from the stored profile, its identities and its events) or with the constructor.
/// Events are indexed by name and kept sorted by timestamp.
/// </summary>
public sealed class ProfileFacts
{
    private static readonly EventFact[] NoEvents = [];
    private readonly Dictionary<string, EventFact[]> _byName;

    /// <param name="traits">The traits object (anything else is treated as no traits).</param>
    /// <param name="tags">The profile's tags.</param>
    /// <param name="identityKinds">The kinds of identities the profile has (<c>email</c>, <c>phone</c>, <c>push:ios</c>,
    /// <c>wechat_openid</c>, ...); values are not needed.</param>
    /// <param name="bucketKey">The stable key for random buckets; see <see cref="BucketKey"/>.</param>
    /// <param name="events">The profile's events (any order).</param>
    public ProfileFacts(JsonElement traits, IEnumerable<string> tags, IEnumerable<string> identityKinds, string bucketKey,
        IEnumerable<EventFact> events)
    {
        ArgumentNullException.ThrowIfNull(tags);
        ArgumentNullException.ThrowIfNull(identityKinds);
        ArgumentNullException.ThrowIfNull(bucketKey);
        ArgumentNullException.ThrowIfNull(events);
        Traits = traits.ValueKind == JsonValueKind.Object ? traits : default;
        Tags = new HashSet<string>(tags, StringComparer.Ordinal);
        IdentityKinds = new HashSet<string>(identityKinds, StringComparer.Ordinal);
        BucketKey = bucketKey;
        var sorted = events.OrderBy(e => e.Timestamp.UtcTicks).ToArray();
        Events = sorted;
        _byName = sorted.GroupBy(e => e.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>The traits object, or <c>default</c> (Undefined) when the profile has none.</summary>
    public JsonElement Traits { get; }

    public IReadOnlySet<string> Tags { get; }

    public IReadOnlySet<string> IdentityKinds { get; }

    /// <summary>The key random buckets hash. It must not depend on the workspace or on storage ids that change
    /// (the engine uses the user id, else the first anonymous id), so a profile keeps its bucket.</summary>
    public string BucketKey { get; }

    /// <summary>All events, sorted by timestamp (stable for equal timestamps).</summary>
    public IReadOnlyList<EventFact> Events { get; }

    /// <summary>The events named <paramref name="name"/>, sorted by timestamp.</summary>
    public IReadOnlyList<EventFact> EventsNamed(string name) => _byName.TryGetValue(name, out var list) ? list : NoEvents;

    /// <summary>
    /// Builds facts from storage rows: traits from <see cref="ProfileRecord.TraitsJson"/>, tags, the kinds of
    /// <paramref name="identities"/>, events through <see cref="EventFact.FromRow"/>. The bucket key defaults to the
    /// user id, else the first anonymous id (ordinal order), else the profile id.
    /// </summary>
    public static ProfileFacts From(ProfileRecord profile, IEnumerable<IdentityKey> identities, IEnumerable<EventRow> events,
        string? bucketKey = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var ids = identities.ToList();
        using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(profile.TraitsJson) ? "{}" : profile.TraitsJson);
        var key = bucketKey
            ?? profile.UserId
            ?? ids.Where(i => i.Kind == Profiles.IdentityKinds.AnonymousId).Select(i => i.Value).Order(StringComparer.Ordinal).FirstOrDefault()
            ?? profile.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ProfileFacts(doc.RootElement.Clone(), profile.Tags, ids.Select(i => i.Kind), key,
            events.Select(EventFact.FromRow).OfType<EventFact>());
    }
}
