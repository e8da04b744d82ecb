namespace Chuda.Storage.Internal;

/// <summary>
/// A stable 64-bit FNV-1a hash of a message id. It leads the de-duplication key so that the B-tree compares
/// (and mostly stores in its inner pages) an integer instead of a long random string; the id itself stays in the key,
/// so a collision costs nothing but a slightly longer comparison.
/// </summary>
internal static class MessageIdHash
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static long Of(string messageId)
    {
        var hash = Offset;
        foreach (var c in messageId)
        {
            hash ^= (byte)c;
            hash *= Prime;
            hash ^= (byte)(c >> 8);
            hash *= Prime;
        }
        return unchecked((long)hash);
    }
}
