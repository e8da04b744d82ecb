namespace Chuda.Channels.Email;

/// <summary>
/// A mailbox: an address (<c>local@domain</c>; the domain may be internationalised, the local part is ASCII) and an
/// optional display name in any script (<c>李雷</c>), which is sent as RFC 2047 encoded-words when it is not plain ASCII.
/// </summary>
public sealed record EmailAddress(string Address, string? DisplayName = null);

/// <summary>
/// One e-mail to one recipient, as <see cref="MimeWriter"/> renders it and <see cref="SmtpSender"/> sends it.
/// Every text that ends up in a header is checked: CR, LF and NUL are refused (an <see cref="ArgumentException"/>),
/// so no caller-supplied value can add a header or end the header block.
/// </summary>
public sealed record EmailMessage
{
    public required EmailAddress From { get; init; }

    /// <summary>The one recipient: the <c>To</c> header and the envelope's <c>RCPT TO</c>.</summary>
    public required EmailAddress To { get; init; }

    public EmailAddress? ReplyTo { get; init; }

    /// <summary>The envelope sender (<c>MAIL FROM</c>, where bounces go); <see cref="From"/>'s address when null.</summary>
    public string? EnvelopeFrom { get; init; }

    public required string Subject { get; init; }

    /// <summary>The HTML body. With <see cref="Text"/> too the message is <c>multipart/alternative</c>; at least one is required.</summary>
    public string? Html { get; init; }

    /// <summary>The plain-text body.</summary>
    public string? Text { get; init; }

    /// <summary>
    /// The left part of the <c>Message-ID</c> (dot-atom text: letters, digits, <c>!#$%&amp;'*+-/=?^_`{|}~</c> and
    /// single dots inside). The sender adds its domain: <c>&lt;MessageId@LocalDomain&gt;</c>.
    /// </summary>
    public required string MessageId { get; init; }

    /// <summary>
    /// Extra headers in order, e.g. <c>List-Unsubscribe</c>, <c>List-Unsubscribe-Post</c>, <c>X-Chuda-Message-Id</c>.
    /// Values are unstructured text (non-ASCII is encoded); the headers the writer sets itself may not be given here.
    /// </summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>The <c>Date</c> header; the sender's clock (<see cref="TimeProvider"/>) when null.</summary>
    public DateTimeOffset? Date { get; init; }
}
