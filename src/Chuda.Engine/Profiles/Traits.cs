using System.Text.Json;
using Chuda.Domain.Profiles;

namespace Chuda.Engine.Profiles;

internal static class Traits
{
    /// <summary>The e-mail and phone traits of a profile, normalised, so that erasure suppresses them too.</summary>
    public static IEnumerable<IdentityKey> ContactPoints(string traitsJson)
    {
        using var doc = JsonDocument.Parse(traitsJson);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) yield break;
        if (doc.RootElement.TryGetProperty("email", out var email) && email.ValueKind == JsonValueKind.String
            && Normalization.TryNormalizeEmail(email.GetString()!, out var e))
            yield return new IdentityKey(IdentityKinds.Email, e);
        if (doc.RootElement.TryGetProperty("phone", out var phone) && phone.ValueKind == JsonValueKind.String
            && Normalization.TryNormalizePhone(phone.GetString()!, null, out var p))
            yield return new IdentityKey(IdentityKinds.Phone, p);
    }
}
