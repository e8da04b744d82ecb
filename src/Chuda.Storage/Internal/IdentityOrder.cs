using Chuda.Domain.Profiles;

namespace Chuda.Storage.Internal;

/// <summary>Ordinal order of identities: kind, then value (the same on every backend, whatever its collation).</summary>
internal static class IdentityOrder
{
    public static int Compare(IdentityKey a, IdentityKey b)
    {
        var kind = string.CompareOrdinal(a.Kind, b.Kind);
        return kind != 0 ? kind : string.CompareOrdinal(a.Value, b.Value);
    }
}
