using System.Text.Json;
using System.Text.Json.Serialization;

namespace Chuda.Engine.Journeys;

/// <summary>A step an instance passed, and when.</summary>
public sealed record JourneyPathEntry(
    [property: JsonPropertyName("step")] string Step,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("note")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

/// <summary>
/// What an instance carries besides its position (stored as JSON in <c>journey_instances.context</c>): the entry event
/// (templates and match keys read its properties), split variants chosen, and the recent path (for "where is this
/// profile and why").
/// </summary>
public sealed class JourneyContext
{
    /// <summary>Most path entries kept (older ones are dropped; the funnel counters keep the totals).</summary>
    public const int MaxPath = 30;

    [JsonPropertyName("trigger")]
    public string Trigger { get; set; } = "";

    [JsonPropertyName("event")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Event { get; set; }

    [JsonPropertyName("properties")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public JsonElement Properties { get; set; }

    [JsonPropertyName("variants")]
    public Dictionary<string, string> Variants { get; set; } = new(StringComparer.Ordinal);

    [JsonPropertyName("path")]
    public List<JourneyPathEntry> Path { get; set; } = [];

    public void Passed(string step, DateTimeOffset at, string? note = null)
    {
        Path.Add(new JourneyPathEntry(step, at, note));
        if (Path.Count > MaxPath) Path.RemoveRange(0, Path.Count - MaxPath);
    }

    public string ToJson() => JsonSerializer.Serialize(this, JourneyJson.Default.JourneyContext);

    public static JourneyContext Parse(string json) =>
        JsonSerializer.Deserialize(json, JourneyJson.Default.JourneyContext) ?? new JourneyContext();
}

[JsonSerializable(typeof(JourneyContext))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class JourneyJson : JsonSerializerContext;
