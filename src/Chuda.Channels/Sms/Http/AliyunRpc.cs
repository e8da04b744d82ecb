using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Chuda.Channels.Sms.Http;

/// <summary>
/// Alibaba Cloud's RPC-style API signature (signature version 1.0, HMAC-SHA1), as used by Short Message Service (<c>dysmsapi</c>)
/// and Voice Messaging Service (<c>dyvmsapi</c>): the parameters (without <c>Signature</c>) sorted by name, each name and value
/// percent-encoded (<see cref="PercentEncode"/>) and joined as <c>name=value</c> with <c>&amp;</c>; the string to sign is
/// <c>METHOD&amp;%2F&amp;</c> followed by the percent-encoded canonical query; the signature is base64(HMAC-SHA1(key: secret + "&amp;")).
/// </summary>
public static class AliyunRpc
{
    /// <summary>
    /// RFC 3986 percent-encoding of UTF-8 bytes: only <c>A–Z a–z 0–9 - _ . ~</c> stay, everything else is <c>%XX</c> upper case — which
    /// is what their documentation describes as URL-encoding with a space as <c>%20</c>, <c>*</c> as <c>%2A</c> and <c>%7E</c> back to
    /// <c>~</c>.
    /// </summary>
    public static string PercentEncode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(value.Length * 2);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
                builder.Append((char)b);
            else
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }

    public static string CanonicalQuery(IEnumerable<KeyValuePair<string, string>> parameters) =>
        string.Join('&', parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => PercentEncode(p.Key) + "=" + PercentEncode(p.Value)));

    public static string StringToSign(string method, string canonicalQuery) => method + "&" + PercentEncode("/") + "&" + PercentEncode(canonicalQuery);

    public static string Sign(string accessKeySecret, string stringToSign)
    {
        ArgumentNullException.ThrowIfNull(accessKeySecret);
        ArgumentNullException.ThrowIfNull(stringToSign);
#pragma warning disable CA5350 // The vendor's signature scheme is HMAC-SHA1.
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(accessKeySecret + "&"), Encoding.UTF8.GetBytes(stringToSign)));
#pragma warning restore CA5350
    }

    /// <summary>
    /// The common parameters plus <paramref name="action"/>'s, signed: the result is the canonical query with
    /// <c>Signature=…</c> in front, ready for a GET URL or a form body.
    /// </summary>
    public static string SignedQuery(string method, string accessKeyId, string accessKeySecret, string version, DateTimeOffset now,
        IEnumerable<KeyValuePair<string, string>> actionParameters)
    {
        var parameters = new List<KeyValuePair<string, string>>(actionParameters)
        {
            new("AccessKeyId", accessKeyId),
            new("Format", "JSON"),
            new("SignatureMethod", "HMAC-SHA1"),
            new("SignatureNonce", Guid.NewGuid().ToString("N")),
            new("SignatureVersion", "1.0"),
            new("Timestamp", now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
            new("Version", version),
        };
        var canonical = CanonicalQuery(parameters);
        var signature = Sign(accessKeySecret, StringToSign(method, canonical));
        return "Signature=" + PercentEncode(signature) + "&" + canonical;
    }

    /// <summary>The number as their APIs take it: mainland China numbers without <c>+86</c>, others as country code and number without <c>+</c>.</summary>
    public static string PhoneNumber(string e164) => e164.StartsWith("+86", StringComparison.Ordinal) ? e164[3..] : e164.TrimStart('+');

    /// <summary>A number as their callbacks write it (mainland numbers without a country code) in E.164.</summary>
    public static string ToE164(string number)
    {
        ArgumentNullException.ThrowIfNull(number);
        number = number.Trim();
        if (number.StartsWith('+')) return number;
        if (number.Length == 11 && number[0] == '1' && number.All(char.IsAsciiDigit)) return "+86" + number;
        if (number.StartsWith("00", StringComparison.Ordinal) && number.All(char.IsAsciiDigit)) return "+" + number[2..];
        return number;
    }
}
