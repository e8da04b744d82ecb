using Chuda.Domain.Journeys;

namespace Chuda.Storage.Internal;

/// <summary>Conversions for journey records shared by the backends.</summary>
internal static class JourneyStoreValues
{
    /// <summary>The record as it reads back: timestamps at the stored precision (milliseconds), in UTC.</summary>
    public static JourneyRecord Normalize(JourneyRecord j) => j with
    {
        NextRunAt = j.NextRunAt is { } n ? StoreValues.Truncate(n) : null,
        CreatedAt = StoreValues.Truncate(j.CreatedAt),
        UpdatedAt = StoreValues.Truncate(j.UpdatedAt),
    };

    /// <summary>Appended to the entry key of a merged profile's instance when the survivor has an instance of that journey
    /// with the same entry key (one profile enters a journey once per entry key), with the instance id, which keeps it unique.</summary>
    public const string MergedEntryKeyInfix = "#merged:";
}
