using System.Text;
using System.Text.RegularExpressions;
using Chuda.Channels.Email;
using Chuda.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Chuda.Channels.Tests.Email;

/// <summary>The MIME writer on its own: header safety, folding and encoded-words, quoted-printable, the date.</summary>
public sealed partial class MimeWriterTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 3, 3, 1, 5, 0, TimeSpan.Zero));

    private static EmailMessage Message() => new()
    {
        From = new EmailAddress("news@chuda.test", "Chuda"),
        To = new EmailAddress("li.lei@example.com", "Li Lei"),
        Subject = "Hello",
        Text = "Hi",
        MessageId = "m1",
    };

    private static string Render(EmailMessage message) => Encoding.ASCII.GetString(MimeWriter.Write(message, "chuda.test", Clock));

    private static string Head(string rendered) => rendered[..rendered.IndexOf("\r\n\r\n", StringComparison.Ordinal)];

    /// <summary>The unfolded value of header <paramref name="name"/> (RFC 5322 §2.2.3: CRLF before whitespace removed).</summary>
    private static string Header(string rendered, string name)
    {
        var unfolded = Head(rendered).Replace("\r\n ", " ", StringComparison.Ordinal).Replace("\r\n\t", "\t", StringComparison.Ordinal);
        var line = unfolded.Split("\r\n").Single(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));
        return line[(name.Length + 2)..];
    }

    /// <summary>RFC 2047 decoding of a value that is either plain text or only B encoded-words (how the writer emits them).</summary>
    private static string DecodeWords(string value)
    {
        if (!value.StartsWith("=?", StringComparison.Ordinal)) return value;
        var words = value.Split(' ');
        Assert.All(words, w => Assert.Matches(EncodedWord(), w));
        return string.Concat(words.Select(w => Encoding.UTF8.GetString(Convert.FromBase64String(w[10..^2]))));
    }

    [GeneratedRegex(@"^=\?UTF-8\?B\?[A-Za-z0-9+/]*={0,2}\?=$")]
    private static partial Regex EncodedWord();

    private static string DecodeQuotedPrintable(string encoded)
    {
        var bytes = new List<byte>();
        var text = encoded.Replace("=\r\n", "", StringComparison.Ordinal);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '=')
            {
                bytes.Add(Convert.ToByte(text.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                bytes.Add((byte)'\n');
                i++;
            }
            else
            {
                bytes.Add((byte)text[i]);
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    public static TheoryData<string, Func<EmailMessage, EmailMessage>> Injections() => new()
    {
        { "Subject", m => m with { Subject = "Hi\r\nBcc: victim@example.com" } },
        { "Subject", m => m with { Subject = "Hi\nBcc: victim@example.com" } },
        { "Subject", m => m with { Subject = "Hi\rBcc: victim@example.com" } },
        { "Subject", m => m with { Subject = "Hi\0there" } },
        { "From.DisplayName", m => m with { From = new EmailAddress("news@chuda.test", "Chuda\r\nBcc: victim@example.com") } },
        { "To.DisplayName", m => m with { To = new EmailAddress("li.lei@example.com", "李雷\n") } },
        { "ReplyTo.DisplayName", m => m with { ReplyTo = new EmailAddress("help@chuda.test", "Help\r\n\r\n<html>") } },
        { "List-Unsubscribe", m => m with { Headers = new Dictionary<string, string> { ["List-Unsubscribe"] = "<https://x.test/u>\r\nBcc: victim@example.com" } } },
        { "header name", m => m with { Headers = new Dictionary<string, string> { ["X-A\r\nBcc"] = "v" } } },
        { "To", m => m with { To = new EmailAddress("li.lei@example.com\r\nBcc: victim@example.com") } },
        { "From", m => m with { From = new EmailAddress("news@chuda.test>\r\nBcc: <victim@example.com") } },
        { "EnvelopeFrom", m => m with { EnvelopeFrom = "bounce@chuda.test\r\nRCPT TO:<victim@example.com>" } },
        { "Message-ID", m => m with { MessageId = "m1>\r\nBcc: <victim" } },
    };

    [Theory]
    [MemberData(nameof(Injections))]
    public void A_line_break_in_any_header_value_is_refused(string field, Func<EmailMessage, EmailMessage> change)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => MimeWriter.Write(change(Message()), "chuda.test", Clock));
        Assert.False(string.IsNullOrEmpty(error.Message), field);
        Assert.DoesNotContain('\n', error.Message); // the refused value is shown escaped
    }

    [Theory]
    [InlineData("From")]
    [InlineData("to")]
    [InlineData("Bcc")]
    [InlineData("Message-ID")]
    [InlineData("Content-Type")]
    [InlineData("MIME-Version")]
    [InlineData("Content-Transfer-Encoding")]
    public void Headers_the_writer_sets_cannot_be_given_as_extra_headers(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => Render(Message() with { Headers = new Dictionary<string, string> { [name] = "x" } }));
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-at-sign")]
    [InlineData("two@@example.com")]
    [InlineData("dot.@example.com")]
    [InlineData("a b@example.com")]
    [InlineData("李雷@example.com")]
    [InlineData("x@exa mple.com")]
    [InlineData("x@-bad-.com")]
    [InlineData("x@[999.1.1.1]")]
    public void Addresses_that_are_not_plain_dot_atom_at_domain_are_refused(string address) =>
        Assert.ThrowsAny<ArgumentException>(() => Render(Message() with { To = new EmailAddress(address) }));

    [Fact]
    public void A_message_needs_a_body_and_a_valid_Message_ID_part()
    {
        Assert.Throws<ArgumentException>(() => Render(Message() with { Text = null }));
        Assert.Throws<ArgumentException>(() => Render(Message() with { MessageId = "a..b" }));
        Assert.Throws<ArgumentException>(() => Render(Message() with { MessageId = "a b" }));
        Assert.Throws<ArgumentException>(() => MimeWriter.Write(Message(), "not a domain", Clock));
        Assert.Equal("<a.b-c_d@chuda.test>", MimeWriter.FormatMessageId("a.b-c_d", "Chuda.Test"));
        Assert.Equal("<x@[127.0.0.1]>", MimeWriter.FormatMessageId("x", "[127.0.0.1]"));
    }

    [Fact]
    public void Internationalised_domains_go_on_the_wire_as_ASCII()
    {
        var rendered = Render(Message() with { To = new EmailAddress("li.lei@例子.中国", "李雷") });
        Assert.EndsWith(" <li.lei@xn--fsqu00a.xn--fiqs8s>", Header(rendered, "To"), StringComparison.Ordinal);
        Assert.Equal("李雷", DecodeWords(Header(rendered, "To")[..^" <li.lei@xn--fsqu00a.xn--fiqs8s>".Length]));
    }

    [Fact]
    public void Date_comes_from_the_clock_in_RFC_5322_form_or_from_the_message_with_its_offset()
    {
        Assert.Equal("Tue, 03 Mar 2026 01:05:00 +0000", Header(Render(Message()), "Date"));
        var date = new DateTimeOffset(2026, 11, 9, 8, 0, 7, TimeSpan.FromHours(8));
        Assert.Equal("Mon, 09 Nov 2026 08:00:07 +0800", Header(Render(Message() with { Date = date }), "Date"));
        var west = new DateTimeOffset(2026, 1, 2, 23, 30, 0, TimeSpan.FromMinutes(-210));
        Assert.Equal("Fri, 02 Jan 2026 23:30:00 -0330", Header(Render(Message() with { Date = west }), "Date"));
    }

    [Fact]
    public void Display_names_are_atoms_quoted_strings_or_encoded_words_as_needed()
    {
        string Name(string display) => Header(Render(Message() with { From = new EmailAddress("news@chuda.test", display) }), "From");
        Assert.Equal("Chuda News <news@chuda.test>", Name("Chuda News"));
        Assert.Equal("\"News, Chuda (HQ)\" <news@chuda.test>", Name("News, Chuda (HQ)"));
        Assert.Equal("\"say \\\"hi\\\" \\\\o/\" <news@chuda.test>", Name("say \"hi\" \\o/"));
        Assert.Equal("=?UTF-8?B?6Kem6L6+?= <news@chuda.test>", Name("触达"));
        Assert.Equal("news@chuda.test", Name(" "));
    }

    [Fact]
    public void A_single_body_is_one_quoted_printable_part_ending_without_adding_a_line()
    {
        var rendered = Render(Message() with { Text = "naïve = café\ntrailing space \nend" });
        Assert.DoesNotContain("multipart", rendered, StringComparison.Ordinal);
        Assert.Contains("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", rendered, StringComparison.Ordinal);
        var body = rendered[(rendered.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.Equal("na=C3=AFve =3D caf=C3=A9\r\ntrailing space=20\r\nend=\r\n", body);
        Assert.EndsWith("\r\n", rendered, StringComparison.Ordinal);
    }

    [Fact]
    public void Multipart_alternative_has_a_fresh_boundary_that_cannot_occur_in_the_parts()
    {
        var message = Message() with { Html = "<p>x</p>" };
        var first = Render(message);
        var boundary = Regex.Match(first, "boundary=\"([^\"]+)\"").Groups[1].Value;
        Assert.StartsWith("=_", boundary, StringComparison.Ordinal); // "=_" never appears in quoted-printable
        Assert.NotEqual(boundary, Regex.Match(Render(message), "boundary=\"([^\"]+)\"").Groups[1].Value);
        Assert.Equal(3, Regex.Count(first, "^--" + Regex.Escape(boundary), RegexOptions.Multiline));
        Assert.EndsWith("\r\n--" + boundary + "--\r\n", first, StringComparison.Ordinal);
    }

    private static readonly Gen<string> AnyText = Gen.Elements(
            "a", "Z", "0", " ", "  ", "\t", "=", "?", "=?", "?=", ".", "\"", "\\", ",", "<", ">", ":", "李", "雷", "，", "¥", "é", "😀", "\u200b", "\u0001",
            "\n", "\r\n", "\r", "word", "=?UTF-8?B?6Kem?=", "From ", "-")
        .ArrayOf().Select(parts => string.Concat(parts));

    [Property(MaxTest = 300)]
    public Property Any_subject_without_line_breaks_round_trips_through_encoded_words_in_lines_of_at_most_78() =>
        Prop.ForAll(AnyText.Select(s => s.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal)).ToArbitrary(), subject =>
        {
            var rendered = Render(Message() with { Subject = subject });
            var lines = Head(rendered).Split("\r\n");
            return lines.All(l => l.Length <= 78 && l.All(c => c is >= ' ' and <= '~' or '\t') && l.Trim().Length > 0)
                && DecodeWords(Header(rendered, "Subject")) == subject;
        });

    [Property(MaxTest = 300)]
    public Property Any_text_body_round_trips_through_quoted_printable_in_lines_of_at_most_76() =>
        Prop.ForAll(Gen.Zip(AnyText, Gen.Choose(0, 200)).ToArbitrary(), t =>
        {
            var text = string.Concat(Enumerable.Repeat(t.Item1, 1 + t.Item2 % 20)) + new string('x', t.Item2);
            var rendered = Render(Message() with { Text = text });
            var body = rendered[(rendered.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
            var lines = body.Split("\r\n");
            return lines.All(l => l.Length <= 76 && !l.EndsWith(' ') && !l.EndsWith('\t'))
                && !rendered.Replace("\r\n", "", StringComparison.Ordinal).Contains('\n') && !rendered.Replace("\r\n", "", StringComparison.Ordinal).Contains('\r')
                && DecodeQuotedPrintable(body) == text.ReplaceLineEndings("\n");
        });
}
