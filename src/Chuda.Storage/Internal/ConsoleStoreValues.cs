using System.Text;

namespace Chuda.Storage.Internal;

/// <summary>Helpers shared by both stores' console queries.</summary>
internal static class ConsoleStoreValues
{
    /// <summary>
    /// The smallest string greater than every string that starts with <paramref name="prefix"/> in code point order (which is
    /// UTF-8 byte order, SQLite's BINARY and PostgreSQL's "C" collation): the prefix with its last code point incremented, so a
    /// prefix match is the index range <c>prefix ≤ value &lt; upper</c>. Null when there is none (the prefix is all U+10FFFF).
    /// </summary>
    public static string? PrefixUpperBound(string prefix)
    {
        var runes = prefix.EnumerateRunes().ToList();
        while (runes.Count > 0)
        {
            var last = runes[^1].Value;
            runes.RemoveAt(runes.Count - 1);
            if (last == 0x10FFFF) continue;
            var next = last + 1 == 0xD800 ? 0xE000 : last + 1; // skip the surrogate range
            var builder = new StringBuilder();
            foreach (var rune in runes) builder.Append(rune.ToString());
            builder.Append(new Rune(next).ToString());
            return builder.ToString();
        }
        return null;
    }

    /// <summary>The prefixes a search tries per identity kind: the user id as typed, the e-mail lower-cased (as stored), the phone
    /// as typed and, for digits, with a leading '+' (E.164 as stored).</summary>
    public static (string UserId, string Email, string Phone, string PhonePlus) SearchPrefixes(string prefix) =>
        (prefix, prefix.ToLowerInvariant(), prefix, prefix.Length > 0 && char.IsAsciiDigit(prefix[0]) ? "+" + prefix : prefix);

    public static List<MessageBucketCount> Ordered(List<MessageBucketCount> list)
    {
        list.Sort((a, b) =>
        {
            var c = a.Start.CompareTo(b.Start);
            if (c == 0) c = (a.Channel is null ? 0 : 1).CompareTo(b.Channel is null ? 0 : 1);
            if (c == 0) c = string.CompareOrdinal(a.Channel, b.Channel);
            if (c == 0) c = string.CompareOrdinal(a.Status, b.Status);
            return c;
        });
        return list;
    }
}
