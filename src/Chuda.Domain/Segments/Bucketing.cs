using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Chuda.Domain.Segments;

/// <summary>
/// Stable random buckets: the same key and salt give the same position on every machine and in every version.
/// Position = first 8 bytes of SHA-256 over the UTF-8 of <c>salt + "\n" + key</c>, read big-endian as an unsigned
/// 64-bit integer, modulo 10,000. A bucket of <c>percent</c> p holds the positions below <c>p × 100</c>, so
/// <c>{"bucket":{"salt":"s","percent":10}}</c> and <c>{"not":{"bucket":{"salt":"s","percent":10}}}</c> split
/// profiles 10 / 90 with no overlap, and growing the percentage only adds profiles.
/// </summary>
public static class Bucketing
{
    /// <summary>Number of positions (basis points).</summary>
    public const int Positions = 10_000;

    /// <summary>The position (0..9,999) of <paramref name="key"/> under <paramref name="salt"/>.</summary>
    public static int Position(string salt, string key)
    {
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentNullException.ThrowIfNull(key);
        var bytes = Encoding.UTF8.GetBytes(salt + "\n" + key);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(bytes, hash);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(hash) % Positions);
    }
}
