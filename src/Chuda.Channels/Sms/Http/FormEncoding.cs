using System.Text;

namespace Chuda.Channels.Sms.Http;

/// <summary><c>application/x-www-form-urlencoded</c> (the WHATWG URL standard's serializer and parser).</summary>
public static class FormEncoding
{
    /// <summary>Percent-encodes UTF-8 bytes except <c>*-._</c> and alphanumerics; a space becomes <c>+</c>.</summary>
    public static string Encode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'*' or (byte)'-' or (byte)'.' or (byte)'_')
                builder.Append((char)b);
            else if (b == (byte)' ')
                builder.Append('+');
            else
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }

    public static string Encode(IEnumerable<KeyValuePair<string, string>> fields) =>
        string.Join('&', fields.Select(f => Encode(f.Key) + "=" + Encode(f.Value)));

    /// <summary>Name/value pairs in order; a repeated name keeps its last value in <see cref="ToDictionary"/>.</summary>
    public static List<KeyValuePair<string, string>> Parse(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var fields = new List<KeyValuePair<string, string>>();
        foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? "" : pair[(eq + 1)..];
            fields.Add(new(Decode(name), Decode(value)));
        }
        return fields;
    }

    public static Dictionary<string, string> ToDictionary(IEnumerable<KeyValuePair<string, string>> fields)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in fields) result[name] = value;
        return result;
    }

    private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));
}
