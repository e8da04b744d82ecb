using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Chuda.Bench;

/// <summary>
/// Realistic Segment bodies as templates: <c>@U@</c> = a user number (chosen by the caller), <c>@V@</c> = the same
/// user again, <c>@M@</c> = a unique message id. The same templates feed the in-process runs, the SQL ceilings and
/// (as files) the wrk Lua script, so every side receives the same bytes.
/// </summary>
public static class Payloads
{
    // ~420 bytes once filled in: an e-commerce track call with the e-mail in context.traits (an identity on every event).
    public const string Track =
        """{"type":"track","messageId":"@M@","userId":"user-@U@","anonymousId":"anon-@V@","event":"Order Completed","properties":{"orderId":"ord-@V@","revenue":42.5,"currency":"EUR","coupon":null,"products":[{"sku":"SKU-1","qty":2,"price":21.25}]},"context":{"ip":"203.0.113.7","locale":"en-GB","timezone":"Europe/London","library":{"name":"analytics-node","version":"3.1.0"},"traits":{"email":"user-@V@@example.com"}},"timestamp":"2025-03-01T12:00:00.000Z"}""";

    // ~400 bytes: identify with nested traits.
    public const string Identify =
        """{"type":"identify","messageId":"@M@","userId":"user-@U@","anonymousId":"anon-@V@","traits":{"email":"user-@V@@example.com","name":"User @V@","plan":"pro","company":{"name":"Acme","size":42},"createdAt":"2024-01-01T00:00:00Z"},"context":{"ip":"203.0.113.7","locale":"en-GB","timezone":"Europe/London","library":{"name":"analytics-node","version":"3.1.0"}},"timestamp":"2025-03-01T12:00:00.000Z"}""";

    /// <summary>Event <paramref name="i"/> of a batch: one identify in five, the rest track.</summary>
    public static bool IsIdentify(int i) => i % 5 == 0;

    public static string EventTemplate(int i) => IsIdentify(i) ? Identify : Track;

    public static string BatchTemplate(int events)
    {
        var sb = new StringBuilder("""{"batch":[""");
        for (var i = 0; i < events; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(EventTemplate(i));
        }
        sb.Append("""],"sentAt":"2025-03-01T12:00:01.000Z","context":{"library":{"name":"analytics-node","version":"3.1.0"}}}""");
        return sb.ToString();
    }
}

/// <summary>A compiled template that renders bodies quickly into a byte buffer.</summary>
public sealed class BodyTemplate
{
    private readonly byte[][] _parts;
    private readonly byte[] _kinds;
    private readonly byte[] _tail;

    public BodyTemplate(string template)
    {
        Text = template;
        var parts = new List<byte[]>();
        var kinds = new List<byte>();
        var pos = 0;
        while (true)
        {
            var at = FindMarker(template, pos);
            if (at < 0) break;
            parts.Add(Encoding.UTF8.GetBytes(template[pos..at]));
            kinds.Add((byte)template[at + 1]);
            pos = at + 3;
        }
        _parts = [.. parts];
        _kinds = [.. kinds];
        _tail = Encoding.UTF8.GetBytes(template[pos..]);
        Events = kinds.Count(k => k == 'M');
    }

    public string Text { get; }

    /// <summary>Message ids (events) per rendered body.</summary>
    public int Events { get; }

    private static int FindMarker(string s, int from)
    {
        for (var i = s.IndexOf('@', from); i >= 0 && i + 2 < s.Length; i = s.IndexOf('@', i + 1))
        {
            if (s[i + 2] == '@' && s[i + 1] is 'U' or 'V' or 'M') return i;
        }
        return -1;
    }

    /// <summary>Renders one body. <paramref name="nextUser"/> is called once per event; message ids are
    /// <c>{prefix}{firstMessage + k}</c>.</summary>
    public void Render(ArrayBufferWriter<byte> output, Func<long> nextUser, string prefix, long firstMessage)
    {
        output.ResetWrittenCount();
        var prefixBytes = Encoding.UTF8.GetBytes(prefix);
        long user = 0;
        var message = firstMessage;
        for (var i = 0; i < _parts.Length; i++)
        {
            output.Write(_parts[i]);
            switch (_kinds[i])
            {
                case (byte)'U':
                    user = nextUser();
                    WriteNumber(output, user);
                    break;
                case (byte)'V':
                    WriteNumber(output, user);
                    break;
                default:
                    output.Write(prefixBytes);
                    WriteNumber(output, message++);
                    break;
            }
        }
        output.Write(_tail);
    }

    private static void WriteNumber(ArrayBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
    }
}
