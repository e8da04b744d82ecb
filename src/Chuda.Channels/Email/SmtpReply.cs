using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Chuda.Channels.Email;

/// <summary>One SMTP reply (RFC 5321 §4.2): a code and one or more lines of text, with the enhanced status code (RFC 3463) taken out.</summary>
internal sealed partial class SmtpReply
{
    public SmtpReply(int code, string? enhancedCode, IReadOnlyList<string> lines)
    {
        Code = code;
        EnhancedCode = enhancedCode;
        Lines = lines;
    }

    public int Code { get; }

    public string? EnhancedCode { get; }

    /// <summary>The text of each line, without the code and enhanced code.</summary>
    public IReadOnlyList<string> Lines { get; }

    public string Text => Lines.Count == 1 ? Lines[0] : string.Join(' ', Lines);

    public override string ToString() => EnhancedCode is null ? $"{Code} {Text}" : $"{Code} {EnhancedCode} {Text}";

    /// <summary>The queue id a final 250 reply names: Postfix <c>queued as X</c>, Exim <c>id=X</c>, Sendmail <c>X Message accepted</c>, SES <c>Ok X</c>.</summary>
    public string? QueueId()
    {
        var match = QueueIdPattern().Match(Text);
        if (!match.Success) return null;
        foreach (var group in match.Groups.Values.Skip(1))
        {
            if (group.Success) return group.Value;
        }
        return null;
    }

    [GeneratedRegex(@"queued as <?([A-Za-z0-9._@\-]+?)>?(?:\s|$)|\bid=<?([A-Za-z0-9._@\-]+?)>?(?:\s|$)|^([A-Za-z0-9]{6,}) Message accepted|^Ok ([0-9a-f]{16}[0-9a-f\-]*)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex QueueIdPattern();

    [GeneratedRegex(@"^([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: |$)", RegexOptions.CultureInvariant)]
    private static partial Regex EnhancedCodePattern();

    /// <summary>Builds a reply from its raw lines (CR LF removed), all checked to carry the same code.</summary>
    /// <exception cref="SmtpProtocolException">A line is not <c>NNN-text</c> / <c>NNN text</c> / <c>NNN</c>, or the codes differ.</exception>
    public static SmtpReply Parse(IReadOnlyList<string> raw)
    {
        var code = 0;
        string? enhanced = null;
        var lines = new string[raw.Count];
        for (var i = 0; i < raw.Count; i++)
        {
            var line = raw[i];
            if (line.Length < 3 || line[0] is < '2' or > '5' || !char.IsAsciiDigit(line[1]) || !char.IsAsciiDigit(line[2])
                || (line.Length > 3 && line[3] is not (' ' or '-')))
                throw new SmtpProtocolException($"not an SMTP reply line: '{Shorten(line)}'");
            var lineCode = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
            if (i == 0) code = lineCode;
            else if (lineCode != code) throw new SmtpProtocolException($"reply lines with different codes ({code}, {lineCode})");
            var text = line.Length > 4 ? line[4..] : "";
            // The enhanced code starts each line when the server uses them; its class must be the reply's.
            var match = EnhancedCodePattern().Match(text);
            if (match.Success && match.Groups[1].Value[0] == line[0])
            {
                enhanced ??= match.Value.TrimEnd();
                text = text[match.Length..];
            }
            lines[i] = text;
        }
        return new SmtpReply(code, enhanced, lines);
    }

    internal static string Shorten(string value) => value.Length > 120 ? value[..120] + "…" : value;
}

/// <summary>The server broke the protocol (a malformed or endless reply, bytes where none may be): the connection is unusable.</summary>
internal sealed class SmtpProtocolException(string message) : IOException(message);

/// <summary>Reads replies from a stream through its own buffer; <see cref="Buffered"/> tells what was read ahead.</summary>
internal sealed class SmtpReplyReader(Stream stream)
{
    private const int MaxLineBytes = 4096;
    private const int MaxLines = 200;

    private readonly byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;

    /// <summary>Bytes received but not yet read as a reply.</summary>
    public int Buffered => _end - _start;

    /// <exception cref="IOException">The connection broke or closed, or the server broke the protocol.</exception>
    public async ValueTask<SmtpReply> ReadAsync(CancellationToken cancellationToken)
    {
        List<string>? lines = null;
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line.Length >= 4 && line[3] == '-')
            {
                lines ??= new List<string>(8);
                lines.Add(line);
                if (lines.Count > MaxLines) throw new SmtpProtocolException($"a reply of more than {MaxLines} lines");
                continue;
            }
            if (lines is null) return SmtpReply.Parse([line]);
            lines.Add(line);
            return SmtpReply.Parse(lines);
        }
    }

    private async ValueTask<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var scanned = 0;
        while (true)
        {
            var newline = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = scanned + newline;
                var line = _buffer.AsSpan(_start, length);
                if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
                var text = Encoding.UTF8.GetString(line);
                _start += length + 1;
                return text;
            }
            scanned = _end - _start;
            if (scanned >= MaxLineBytes) throw new SmtpProtocolException($"a reply line longer than {MaxLineBytes} bytes");
            if (_start > 0)
            {
                _buffer.AsSpan(_start, scanned).CopyTo(_buffer);
                _start = 0;
                _end = scanned;
            }
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0) throw new IOException("the server closed the connection");
            _end += read;
        }
    }
}

/// <summary>Dot-stuffing (RFC 5321 §4.5.2) and the end-of-data terminator.</summary>
internal static class SmtpData
{
    private static readonly SearchValues<byte> LineFeed = SearchValues.Create("\n"u8);

    /// <summary>
    /// <paramref name="content"/> ready to follow a 354: a dot is added before every line that starts with one,
    /// a CRLF is added if the content does not end with a line break, then <c>.CRLF</c>.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<byte> content)
    {
        var dots = content.Length > 0 && content[0] == '.' ? 1 : 0;
        for (var i = content.IndexOf("\n."u8); i >= 0;)
        {
            dots++;
            var next = content[(i + 2)..].IndexOf("\n."u8);
            i = next < 0 ? -1 : i + 2 + next;
        }
        var endsWithBreak = content.Length > 0 && content[^1] == '\n';
        var output = new byte[content.Length + dots + (endsWithBreak || content.Length == 0 ? 0 : 2) + 3];
        var o = 0;
        var lineStart = true;
        while (!content.IsEmpty)
        {
            if (lineStart && content[0] == '.') output[o++] = (byte)'.';
            var newline = content.IndexOfAny(LineFeed);
            var take = newline < 0 ? content.Length : newline + 1;
            content[..take].CopyTo(output.AsSpan(o));
            o += take;
            content = content[take..];
            lineStart = newline >= 0;
        }
        if (!lineStart)
        {
            output[o++] = (byte)'\r';
            output[o++] = (byte)'\n';
        }
        ".\r\n"u8.CopyTo(output.AsSpan(o));
        return output;
    }
}
