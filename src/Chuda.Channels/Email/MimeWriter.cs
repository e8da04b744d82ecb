using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Chuda.Channels.Email;

/// <summary>
/// Renders an <see cref="EmailMessage"/> as RFC 5322 / MIME bytes, 7-bit clean so that any SMTP server takes it:
/// CRLF line endings throughout; headers folded at 78 characters (never over 998), non-ASCII header text as UTF-8
/// B encoded-words (RFC 2047); bodies as UTF-8 quoted-printable (<c>text/plain</c>, <c>text/html</c>, or both in a
/// <c>multipart/alternative</c>, plain text first); a <c>Date</c> (RFC 5322 format) and a <c>Message-ID</c>.
/// </summary>
public static class MimeWriter
{
    private const int FoldAt = 78;
    private const int MaxLine = 998;
    private const int MaxEncodedWord = 75;
    private const int QuotedPrintableLine = 76;

    // Set by the writer itself: a caller's extra header may not replace or duplicate them.
    private static readonly HashSet<string> OwnHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject", "Message-ID", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding", "Return-Path", "Received",
    };

    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = true };

    /// <summary>Renders <paramref name="message"/>; its <c>Message-ID</c> is <c>&lt;MessageId@messageIdDomain&gt;</c>.</summary>
    /// <param name="timeProvider">The clock for the <c>Date</c> header when the message has no <see cref="EmailMessage.Date"/>.</param>
    /// <exception cref="ArgumentException">A field is malformed: an invalid address, a CR or LF in a header value, no body…</exception>
    public static byte[] Write(EmailMessage message, string messageIdDomain, TimeProvider timeProvider) =>
        Render(message, messageIdDomain, timeProvider).Content;

    /// <summary><c>&lt;idLeft@domain&gt;</c>, after checking both parts (an internationalised domain is converted to ASCII).</summary>
    /// <exception cref="ArgumentException">Either part is not valid in a <c>Message-ID</c>.</exception>
    public static string FormatMessageId(string idLeft, string domain)
    {
        ArgumentNullException.ThrowIfNull(idLeft);
        if (idLeft.Length is 0 or > 200 || !IsDotAtom(idLeft))
            throw new ArgumentException($"'{Printable(idLeft)}' is not a valid Message-ID left part (dot-atom text, at most 200 characters).", nameof(idLeft));
        return $"<{idLeft}@{NormalizeDomain(domain, nameof(domain))}>";
    }

    /// <summary>The message rendered, with the envelope addresses (ASCII) it goes with.</summary>
    internal sealed record Rendered(byte[] Content, string MessageId, string EnvelopeFrom, string EnvelopeTo);

    internal static Rendered Render(EmailMessage message, string messageIdDomain, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(message.From);
        ArgumentNullException.ThrowIfNull(message.To);
        ArgumentNullException.ThrowIfNull(message.Subject);
        ArgumentNullException.ThrowIfNull(message.Headers);
        if (message.Html is null && message.Text is null)
            throw new ArgumentException("An e-mail needs a text or an HTML body (or both).", nameof(message));

        var messageId = FormatMessageId(message.MessageId, messageIdDomain);
        var from = NormalizeAddress(message.From.Address, "From");
        var to = NormalizeAddress(message.To.Address, "To");
        var envelopeFrom = message.EnvelopeFrom is null ? from : NormalizeAddress(message.EnvelopeFrom, "EnvelopeFrom");

        var headers = new HeaderWriter(new StringBuilder(1024 + 2 * ((message.Html?.Length ?? 0) + (message.Text?.Length ?? 0))));
        headers.Start("Date");
        headers.AppendToken(FormatDate(message.Date ?? timeProvider.GetUtcNow()));
        headers.End();
        headers.Start("From");
        headers.AppendMailbox(message.From, from, "From");
        headers.End();
        if (message.ReplyTo is { } replyTo)
        {
            headers.Start("Reply-To");
            headers.AppendMailbox(replyTo, NormalizeAddress(replyTo.Address, "ReplyTo"), "ReplyTo");
            headers.End();
        }
        headers.Start("To");
        headers.AppendMailbox(message.To, to, "To");
        headers.End();
        headers.Start("Subject");
        headers.AppendUnstructured(message.Subject, "Subject", encodeLongWords: true);
        headers.End();
        headers.Start("Message-ID");
        headers.AppendToken(messageId);
        headers.End();
        foreach (var (name, value) in message.Headers)
        {
            if (name is null || name.Length is 0 or > 76 || name.Any(c => c is < '!' or > '~' or ':'))
                throw new ArgumentException($"'{Printable(name ?? "")}' is not a header name (1 to 76 printable ASCII characters, no colon).", nameof(message));
            if (OwnHeaders.Contains(name))
                throw new ArgumentException($"Header '{name}' is set by the writer and may not be given as an extra header.", nameof(message));
            ArgumentNullException.ThrowIfNull(value, name);
            headers.Start(name);
            headers.AppendUnstructured(value, name);
            headers.End();
        }

        var sb = headers.Builder;
        sb.Append("MIME-Version: 1.0\r\n");
        if (message.Html is not null && message.Text is not null)
        {
            var boundary = "=_chuda_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            sb.Append("Content-Type: multipart/alternative;\r\n boundary=\"").Append(boundary).Append("\"\r\n\r\n");
            sb.Append("--").Append(boundary).Append("\r\n");
            AppendPart(sb, "text/plain", message.Text, endWithLineBreak: false);
            sb.Append("\r\n--").Append(boundary).Append("\r\n");
            AppendPart(sb, "text/html", message.Html, endWithLineBreak: false);
            sb.Append("\r\n--").Append(boundary).Append("--\r\n");
        }
        else
        {
            // The message must end with a line break: a soft one adds none to the text.
            AppendPart(sb, message.Html is null ? "text/plain" : "text/html", message.Html ?? message.Text!, endWithLineBreak: true);
        }
        return new Rendered(Encoding.ASCII.GetBytes(sb.ToString()), messageId, envelopeFrom, to);
    }

    private static void AppendPart(StringBuilder sb, string mediaType, string body, bool endWithLineBreak)
    {
        sb.Append("Content-Type: ").Append(mediaType).Append("; charset=utf-8\r\n");
        sb.Append("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        AppendQuotedPrintable(sb, body, endWithLineBreak);
    }

    /// <summary>
    /// UTF-8 quoted-printable (RFC 2045 §6.7): every line break of the text (CRLF, CR or LF) becomes a CRLF hard break;
    /// lines are at most 76 characters with soft breaks; whitespace before a break is encoded. Nothing else is changed
    /// (a line that starts with a dot stays so: the SMTP client dot-stuffs it). With <paramref name="endWithLineBreak"/>
    /// the output ends with a line break even when the text does not (a soft one, which decodes to nothing).
    /// </summary>
    internal static void AppendQuotedPrintable(StringBuilder sb, string text, bool endWithLineBreak)
    {
        var bytes = Encoding.UTF8.GetBytes(text.ReplaceLineEndings("\n"));
        // At most 3 characters a byte, plus a 3-character soft break every 25 bytes or so, plus the final one.
        var output = System.Buffers.ArrayPool<char>.Shared.Rent(bytes.Length * 3 + bytes.Length / 8 + 8);
        var o = 0;
        var line = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (b == '\n')
            {
                output[o++] = '\r';
                output[o++] = '\n';
                line = 0;
                continue;
            }
            // Whitespace last on a line is encoded, and the last character may take the 76th column; not so before
            // the final soft break.
            var lastOnLine = i + 1 == bytes.Length ? !endWithLineBreak : bytes[i + 1] == '\n';
            var literal = b is (byte)' ' or (byte)'\t' ? !lastOnLine : b is >= 33 and <= 126 and not (byte)'=';
            var length = literal ? 1 : 3;
            // A line may be 76 characters; one that goes on needs the last of them for the soft break's '='.
            if (line + length > (lastOnLine ? QuotedPrintableLine : QuotedPrintableLine - 1))
            {
                output[o++] = '=';
                output[o++] = '\r';
                output[o++] = '\n';
                line = 0;
            }
            if (literal)
            {
                output[o++] = (char)b;
            }
            else
            {
                output[o++] = '=';
                output[o++] = HexUpper(b >> 4);
                output[o++] = HexUpper(b & 0xF);
            }
            line += length;
        }
        if (endWithLineBreak && bytes.Length > 0 && bytes[^1] != '\n')
        {
            output[o++] = '=';
            output[o++] = '\r';
            output[o++] = '\n';
        }
        sb.Append(output, 0, o);
        System.Buffers.ArrayPool<char>.Shared.Return(output);
    }

    private static char HexUpper(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);

    /// <summary>RFC 5322 §3.3: <c>Tue, 03 Mar 2026 09:05:00 +0800</c>.</summary>
    internal static string FormatDate(DateTimeOffset date)
    {
        var offset = date.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        offset = offset.Duration();
        return date.ToString("ddd, dd MMM yyyy HH':'mm':'ss", CultureInfo.InvariantCulture)
            + string.Create(CultureInfo.InvariantCulture, $" {sign}{offset.Hours:00}{offset.Minutes:00}");
    }

    /// <summary>
    /// <c>local@domain</c> in the form that goes on the wire: the local part ASCII dot-atom (at most 64 characters;
    /// a non-ASCII local part would need SMTPUTF8, which this writer does not use), the domain a host name (converted
    /// from an internationalised name to its ASCII form) or an address literal.
    /// </summary>
    /// <exception cref="ArgumentException">The address is not of that form.</exception>
    internal static string NormalizeAddress(string? address, string field)
    {
        ArgumentNullException.ThrowIfNull(address, field);
        var at = address.LastIndexOf('@');
        if (at <= 0 || at > 64 || !IsDotAtom(address.AsSpan(0, at)))
            throw new ArgumentException($"{field}: '{Printable(address)}' is not an e-mail address this sender supports (ASCII dot-atom local part of at most 64 characters, '@', domain).", field);
        var normalized = string.Concat(address.AsSpan(0, at + 1), NormalizeDomain(address[(at + 1)..], field));
        if (normalized.Length > 254)
            throw new ArgumentException($"{field}: '{Printable(address)}' is longer than 254 characters.", field);
        return normalized;
    }

    /// <summary>A host name in ASCII (IDNA), or an address literal (<c>[192.0.2.1]</c>, <c>[IPv6:2001:db8::1]</c>).</summary>
    internal static string NormalizeDomain(string? domain, string field)
    {
        ArgumentNullException.ThrowIfNull(domain, field);
        if (domain.StartsWith('[') && domain.EndsWith(']'))
        {
            var inner = domain[1..^1];
            var v6 = inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase);
            if (IPAddress.TryParse(v6 ? inner[5..] : inner, out var ip)
                && ip.AddressFamily == (v6 ? System.Net.Sockets.AddressFamily.InterNetworkV6 : System.Net.Sockets.AddressFamily.InterNetwork)
                && !inner.Contains('%', StringComparison.Ordinal))
                return domain;
            throw new ArgumentException($"{field}: '{Printable(domain)}' is not an address literal.", field);
        }
        string ascii;
        try
        {
            ascii = Idn.GetAscii(domain.TrimEnd('.'));
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"{field}: '{Printable(domain)}' is not a domain name.", field);
        }
        if (ascii.Length is 0 or > 253 || ascii.Split('.').Any(label => label.Length is 0 or > 63))
            throw new ArgumentException($"{field}: '{Printable(domain)}' is not a domain name.", field);
        return ascii.ToLowerInvariant();
    }

    private static bool IsAtext(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9'
        || "!#$%&'*+-/=?^_`{|}~".Contains(c, StringComparison.Ordinal);

    private static bool IsDotAtom(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value[0] == '.' || value[^1] == '.') return false;
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '.' ? value[i - 1] == '.' : !IsAtext(value[i])) return false;
        }
        return true;
    }

    /// <summary>A value for an error message, with line breaks and other controls made visible.</summary>
    private static string Printable(string value)
    {
        var shown = value.Length > 80 ? value[..80] + "…" : value;
        return string.Concat(shown.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
    }

    /// <summary>Writes header fields into a <see cref="StringBuilder"/>, folding at whitespace between tokens.</summary>
    private sealed class HeaderWriter(StringBuilder builder)
    {
        private int _line;        // characters on the current line
        private bool _lineHasText; // the current line has a token after the field name (so folding before the next is allowed)

        public StringBuilder Builder { get; } = builder;

        public void Start(string name)
        {
            Builder.Append(name).Append(':');
            _line = name.Length + 1;
            _lineHasText = false;
        }

        public void End() => Builder.Append("\r\n");

        /// <summary>Appends <c>" " + token</c>, first folding the line when it would pass 78 characters.</summary>
        public void AppendToken(string token)
        {
            if (_lineHasText && token.Length > 0 && _line + 1 + token.Length > FoldAt)
            {
                Builder.Append("\r\n");
                _line = 0;
            }
            Builder.Append(' ').Append(token);
            _line += 1 + token.Length;
            _lineHasText |= token.Length > 0;
            if (_line > MaxLine)
                throw new ArgumentException($"A header has a word too long for one line ({token.Length} characters; lines are at most {MaxLine}).");
        }

        /// <summary>
        /// Unstructured text (RFC 5322 §3.2.5): as is when it is plain printable ASCII, else encoded-words — also, with
        /// <paramref name="encodeLongWords"/>, when a word is too long to fold (encoded-words can be split anywhere).
        /// </summary>
        public void AppendUnstructured(string value, string field, bool encodeLongWords = false)
        {
            RefuseLineBreaks(value, field);
            if (NeedsEncoding(value) || (encodeLongWords && value.Split(' ').Any(w => w.Length > FoldAt - _line - 1)))
            {
                AppendEncodedWords(value);
                return;
            }
            foreach (var word in value.Split(' ')) AppendToken(word);
        }

        /// <summary><c>name &lt;address&gt;</c> with the name as atoms, a quoted string or encoded-words; or the bare address.</summary>
        public void AppendMailbox(EmailAddress mailbox, string address, string field)
        {
            var name = mailbox.DisplayName;
            if (string.IsNullOrWhiteSpace(name))
            {
                AppendToken(address);
                return;
            }
            RefuseLineBreaks(name, field + ".DisplayName");
            name = name.Trim();
            var words = name.Split(' ');
            if (words.All(w => w.Length > 0 && w.All(IsAtext)) && !name.Contains("=?", StringComparison.Ordinal))
            {
                foreach (var word in words) AppendToken(word);
            }
            else if (!NeedsEncoding(name) && name.Length <= 60)
            {
                AppendToken("\"" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"");
            }
            else
            {
                AppendEncodedWords(name);
            }
            AppendToken("<" + address + ">");
        }

        /// <summary>
        /// The whole text as UTF-8 B encoded-words (RFC 2047), each at most 75 characters and split only between
        /// characters, the first sized to what is left of the current line so no line passes 78 characters.
        /// </summary>
        private void AppendEncodedWords(string value)
        {
            var budget = Math.Max(FoldAt - _line - 1, 24);
            Span<byte> word = stackalloc byte[64];
            Span<byte> rune = stackalloc byte[4];
            var used = 0;
            foreach (var r in value.EnumerateRunes())
            {
                var size = r.EncodeToUtf8(rune);
                var maxBytes = (Math.Min(budget, MaxEncodedWord) - 12) / 4 * 3;
                if (used + size > maxBytes)
                {
                    AppendToken(EncodedWord(word[..used]));
                    used = 0;
                    budget = MaxEncodedWord;
                }
                rune[..size].CopyTo(word[used..]);
                used += size;
            }
            if (used > 0 || value.Length == 0) AppendToken(EncodedWord(word[..used]));
        }

        private static string EncodedWord(ReadOnlySpan<byte> bytes) => "=?UTF-8?B?" + Convert.ToBase64String(bytes) + "?=";

        private static bool NeedsEncoding(string value) =>
            value.Any(c => c is < ' ' and not '\t' or > '~') || value.Contains("=?", StringComparison.Ordinal);

        private static void RefuseLineBreaks(string value, string field)
        {
            if (value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
                throw new ArgumentException($"{field}: a header value may not contain CR, LF or NUL ('{Printable(value)}').", field);
        }
    }
}
