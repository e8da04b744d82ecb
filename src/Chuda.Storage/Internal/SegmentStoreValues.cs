using System.Globalization;
using System.Text;
using Chuda.Domain.Segments;

namespace Chuda.Storage.Internal;

/// <summary>Validation and conversions for segment queries shared by the backends.</summary>
internal static class SegmentStoreValues
{
    /// <summary>A history bucket length in whole milliseconds (the stored precision); at least 1 ms.</summary>
    public static long BucketMillis(TimeSpan bucket)
    {
        var ms = bucket.Ticks / TimeSpan.TicksPerMillisecond;
        if (ms <= 0) throw new ArgumentOutOfRangeException(nameof(bucket), bucket, "A history bucket is at least one millisecond long.");
        return ms;
    }

    /// <summary>The ids as a JSON array (for json_each).</summary>
    public static string IdsJson(IEnumerable<long> ids)
    {
        var builder = new StringBuilder("[");
        foreach (var id in ids)
        {
            if (builder.Length > 1) builder.Append(',');
            builder.Append(id.ToString(CultureInfo.InvariantCulture));
        }
        return builder.Append(']').ToString();
    }

    /// <summary>The record as it reads back: timestamps at the stored precision (milliseconds), in UTC.</summary>
    public static SegmentDefinition Normalize(SegmentDefinition s) => s with
    {
        CreatedAt = StoreValues.Truncate(s.CreatedAt),
        UpdatedAt = StoreValues.Truncate(s.UpdatedAt),
        BackfillStartedAt = s.BackfillStartedAt is { } b ? StoreValues.Truncate(b) : null,
        BackfillCompletedAt = s.BackfillCompletedAt is { } c ? StoreValues.Truncate(c) : null,
    };
}
