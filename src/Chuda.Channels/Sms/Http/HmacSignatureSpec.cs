using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Chuda.Channels.Sms.Http;

/// <summary>
/// A gateway's HMAC signature: <c>{"scheme": "hmac-sha256", "header": "X-Signature", "secret": "…", "encoding": "hex"|"base64",
/// "over": "body"|"timestamp.body", "timestampHeader": "X-Timestamp"}</c>. The signed bytes are the raw body, or the Unix time in
/// seconds, a dot and the raw body (the time is sent in <c>timestampHeader</c>). Hex is lower case on the way out and read in either
/// case. Verification compares in constant time and, when a timestamp is signed, refuses one more than <see cref="Tolerance"/> away
/// from now (replays).
/// </summary>
public sealed record HmacSignatureSpec(string Header, byte[] Secret, bool Base64, bool WithTimestamp, string? TimestampHeader)
{
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    private static readonly string[] Known = ["scheme", "header", "secret", "encoding", "over", "timestampHeader"];

    /// <summary>Reads a signature object; null for <c>"scheme": "none"</c> or when problems were found (added to <paramref name="errors"/>).</summary>
    public static HmacSignatureSpec? Parse(JsonElement element, string path, List<(string Path, string Message)> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add((path, "expected {\"scheme\": \"hmac-sha256\", \"header\": …, \"secret\": …}"));
            return null;
        }
        foreach (var p in element.EnumerateObject())
        {
            if (!Known.Contains(p.Name)) errors.Add(($"{path}.{p.Name}", $"unknown property; expected {string.Join(", ", Known)}"));
            else if (p.Value.ValueKind != JsonValueKind.String) errors.Add(($"{path}.{p.Name}", "expected a string"));
        }
        string? Str(string name) => element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var scheme = Str("scheme");
        if (scheme == "none") return null;
        if (scheme != "hmac-sha256")
        {
            errors.Add(($"{path}.scheme", "expected hmac-sha256 or none"));
            return null;
        }
        var header = Str("header");
        if (string.IsNullOrWhiteSpace(header) || header.Any(c => c is <= ' ' or > '~' or ':')) errors.Add(($"{path}.header", "required: a header name"));
        var secret = Str("secret");
        if (secret is null || secret.Length < 16) errors.Add(($"{path}.secret", "required: at least 16 characters"));
        var encoding = Str("encoding") ?? "hex";
        if (encoding is not ("hex" or "base64")) errors.Add(($"{path}.encoding", "expected hex or base64"));
        var over = Str("over") ?? "body";
        if (over is not ("body" or "timestamp.body")) errors.Add(($"{path}.over", "expected body or timestamp.body"));
        var timestampHeader = Str("timestampHeader");
        if (over == "timestamp.body" && string.IsNullOrWhiteSpace(timestampHeader)) errors.Add(($"{path}.timestampHeader", "required when over is timestamp.body"));
        if (errors.Count > 0) return null;
        return new HmacSignatureSpec(header!, Encoding.UTF8.GetBytes(secret!), encoding == "base64", over == "timestamp.body", timestampHeader);
    }

    /// <summary>The headers that sign <paramref name="body"/> at <paramref name="now"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Sign(ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        var timestamp = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var mac = Compute(body, WithTimestamp ? timestamp : null);
        var value = Base64 ? Convert.ToBase64String(mac) : Convert.ToHexStringLower(mac);
        return WithTimestamp ? [new(Header, value), new(TimestampHeader!, timestamp)] : [new(Header, value)];
    }

    /// <summary>Whether the headers sign <paramref name="body"/>; <paramref name="why"/> says what failed.</summary>
    public bool Verify(IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> body, DateTimeOffset now, out string why)
    {
        ArgumentNullException.ThrowIfNull(headers);
        why = "";
        if (!headers.TryGetValue(Header, out var given) || given.Length == 0)
        {
            why = $"no {Header} header";
            return false;
        }
        string? timestamp = null;
        if (WithTimestamp)
        {
            if (!headers.TryGetValue(TimestampHeader!, out timestamp) || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                why = $"no valid {TimestampHeader} header";
                return false;
            }
            if (seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds() || (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Tolerance)
            {
                why = "timestamp outside the tolerance";
                return false;
            }
        }
        byte[] presented;
        try
        {
            presented = Base64 ? Convert.FromBase64String(given.Trim()) : Convert.FromHexString(given.Trim());
        }
        catch (FormatException)
        {
            why = "signature is not " + (Base64 ? "base64" : "hex");
            return false;
        }
        var expected = Compute(body, timestamp);
        if (!CryptographicOperations.FixedTimeEquals(expected, presented))
        {
            why = "signature does not match";
            return false;
        }
        return true;
    }

    private byte[] Compute(ReadOnlySpan<byte> body, string? timestamp)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Secret);
        if (timestamp is not null) hmac.AppendData(Encoding.ASCII.GetBytes(timestamp + "."));
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }

    // Keeps the secret out of logs.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Header = {Header}, Base64 = {Base64}, WithTimestamp = {WithTimestamp}, TimestampHeader = {TimestampHeader}, Secret = ***");
        return true;
    }
}
