using System.Collections.Concurrent;

namespace Chuda.Domain.Profiles;

/// <summary>Normalisation of contact points and zone ids. Pure functions (the time zone lookup reads the
/// runtime's tz database, which is immutable for the life of the process).</summary>
public static class Normalization
{
    private const int MaxCachedZones = 2048;
    private static readonly ConcurrentDictionary<string, string?> ZoneCache = new(StringComparer.Ordinal);

    /// <summary>
    /// Normalises a phone number to E.164 (<c>+</c> then 8..15 digits, the first not 0).
    /// Spaces (any white space), dashes, dots and parentheses are removed. A <c>+</c> or <c>00</c> prefix marks an
    /// international number. Without a prefix, an 11-digit Chinese mobile number (<c>1[3-9]</c> + 9 digits) gets
    /// <c>+86</c>; any other national number needs <paramref name="defaultCountryCallingCode"/> (e.g. <c>"44"</c> or
    /// <c>"+44"</c>), and a single leading trunk <c>0</c> is dropped from it (<c>020 7946 0958</c> → <c>+442079460958</c>).
    /// Anything else (letters, extensions, a lone <c>+</c>) is rejected.
    /// </summary>
    public static bool TryNormalizePhone(string raw, string? defaultCountryCallingCode, out string e164)
    {
        e164 = "";
        if (string.IsNullOrWhiteSpace(raw) || raw.Length > 64)
        {
            return false;
        }

        Span<char> digits = stackalloc char[64];
        var n = 0;
        var plus = false;
        foreach (var c in raw)
        {
            if (c is >= '0' and <= '9')
            {
                digits[n++] = c;
            }
            else if (c == '+')
            {
                // Only one, and only before any digit.
                if (plus || n > 0)
                {
                    return false;
                }

                plus = true;
            }
            else if (c is not ('-' or '.' or '(' or ')') && !char.IsWhiteSpace(c))
            {
                return false;
            }
        }

        ReadOnlySpan<char> national = digits[..n];
        string result;
        if (plus)
        {
            result = string.Concat("+", national);
        }
        else if (national.StartsWith("00"))
        {
            result = string.Concat("+", national[2..]);
        }
        else if (national.Length == 11 && national[0] == '1' && national[1] is >= '3' and <= '9')
        {
            result = string.Concat("+86", national);
        }
        else
        {
            if (string.IsNullOrEmpty(defaultCountryCallingCode))
            {
                return false;
            }

            var cc = defaultCountryCallingCode.AsSpan().Trim();
            if (cc.StartsWith('+'))
            {
                cc = cc[1..];
            }

            if (cc.Length is 0 or > 3 || cc[0] == '0' || !IsAllDigits(cc))
            {
                return false;
            }

            if (national.StartsWith('0'))
            {
                national = national[1..];
            }

            result = string.Concat("+", cc, national);
        }

        var body = result.AsSpan(1);
        if (body.Length is < 8 or > 15 || body[0] == '0')
        {
            return false;
        }

        e164 = result;
        return true;
    }

    /// <summary>
    /// Trims and lower-cases an e-mail address and checks that it looks like one: exactly one <c>@</c>, a local part of
    /// 1..64 characters, a domain with at least one dot, no empty labels, no white space or control characters,
    /// 254 characters at most. Non-ASCII (internationalised) addresses are allowed.
    /// </summary>
    public static bool TryNormalizeEmail(string raw, out string email)
    {
        email = "";
        if (raw is null)
        {
            return false;
        }

        var s = raw.AsSpan().Trim();
        if (s.Length is < 3 or > 254)
        {
            return false;
        }

        var at = s.IndexOf('@');
        if (at <= 0 || at > 64 || at != s.LastIndexOf('@') || at == s.Length - 1)
        {
            return false;
        }

        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or ',' or ';' or '"' or '\\' or '[' or ']')
            {
                return false;
            }
        }

        var local = s[..at];
        if (local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        var domain = s[(at + 1)..];
        if (domain.IndexOf('.') < 0 || domain[0] is '.' or '-' || domain[^1] is '.' or '-'
            || domain.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        email = s.ToString().ToLowerInvariant();
        return true;
    }

    /// <summary>
    /// True when <paramref name="id"/> names a zone of the IANA tz database known to the runtime, e.g.
    /// <c>Asia/Shanghai</c>, <c>America/New_York</c>, <c>UTC</c>, <c>Etc/GMT+8</c> (legacy IANA links such as
    /// <c>US/Eastern</c> or <c>PRC</c> are IANA names too and are accepted). Windows ids (<c>China Standard Time</c>)
    /// are rejected even though .NET can resolve them: zones are stored as IANA ids. Lookup is case-insensitive;
    /// <paramref name="canonicalId"/> is the id as the tz database spells it (<c>asia/shanghai</c> → <c>Asia/Shanghai</c>).
    /// Aliases are not folded (<c>Asia/Calcutta</c> stays <c>Asia/Calcutta</c>).
    /// </summary>
    public static bool IsValidTimeZone(string id, out string canonicalId)
    {
        canonicalId = "";
        if (string.IsNullOrEmpty(id) || id.Length > 64)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '+' or '-'))
            {
                return false;
            }
        }

        if (id[0] == '/' || id[^1] == '/' || id.Contains("//", StringComparison.Ordinal))
        {
            return false;
        }

        if (!ZoneCache.TryGetValue(id, out var canonical))
        {
            canonical = TimeZoneInfo.TryFindSystemTimeZoneById(id, out var tz) && tz.HasIanaId ? tz.Id : null;
            if (ZoneCache.Count < MaxCachedZones)
            {
                ZoneCache.TryAdd(id, canonical);
            }
        }

        if (canonical is null)
        {
            return false;
        }

        canonicalId = canonical;
        return true;
    }

    private static bool IsAllDigits(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }
}
