using System.Text;

namespace Chuda.Domain.Profiles;

/// <summary>A hash that is the same in every process and on every machine (unlike <see cref="string.GetHashCode()"/>),
/// so partition assignment survives restarts and can later be shared by several nodes.</summary>
public static class StableHash
{
    /// <summary>FNV-1a over the UTF-8 bytes of <c>workspaceId:key</c>, as a non-negative int.</summary>
    public static int RoutingHash(long workspaceId, string key)
    {
        const uint offset = 2166136261;
        const uint prime = 16777619;
        var hash = offset;
        Span<byte> buffer = stackalloc byte[256];
        var prefix = workspaceId.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":";
        foreach (var part in (ReadOnlySpan<string>)[prefix, key])
        {
            var max = Encoding.UTF8.GetMaxByteCount(part.Length);
            var bytes = max <= buffer.Length ? buffer : new byte[max];
            var n = Encoding.UTF8.GetBytes(part, bytes);
            foreach (var b in bytes[..n])
            {
                hash ^= b;
                hash *= prime;
            }
        }
        return (int)(hash & 0x7FFFFFFF);
    }

    /// <summary>The partition that owns a routing hash.</summary>
    public static int Partition(int routingHash, int partitionCount) => routingHash % partitionCount;
}
