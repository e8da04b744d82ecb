namespace Chuda.Channels.Email;

/// <summary>How a send ended.</summary>
public enum SmtpOutcome
{
    /// <summary>The server took responsibility for the message (2xx after the data).</summary>
    Accepted,

    /// <summary>
    /// Try again later: a 4xx reply (including 421), or no usable connection — refused, reset, timed out, a failed TLS
    /// handshake — or a local policy the server cannot meet (<see cref="StartTlsPolicy.Required"/> without STARTTLS,
    /// credentials without a supported AUTH mechanism or without TLS). See <see cref="SmtpSendResult.Stage"/>.
    /// </summary>
    TransientFailure,

    /// <summary>A 5xx reply: this message will not be accepted as it is (bad recipient, rejected content, wrong credentials…).</summary>
    PermanentFailure,
}

/// <summary>Where in the SMTP conversation a send ended.</summary>
public enum SmtpStage
{
    /// <summary>Opening the TCP connection (and the handshake, with implicit TLS).</summary>
    Connect,

    /// <summary>The server's 220 greeting.</summary>
    Greeting,

    /// <summary>EHLO (or HELO).</summary>
    Hello,

    /// <summary>STARTTLS and its handshake, or its absence under <see cref="StartTlsPolicy.Required"/>.</summary>
    StartTls,

    /// <summary>AUTH.</summary>
    Auth,

    /// <summary>RSET before a transaction on a reused connection.</summary>
    Reset,

    MailFrom,

    RcptTo,

    /// <summary>The DATA command (before the 354).</summary>
    Data,

    /// <summary>The message content and the reply after its final dot: an accepted message ends here.</summary>
    Content,
}

/// <summary>The outcome of <see cref="SmtpSender.SendAsync"/>.</summary>
/// <param name="Outcome">Accepted, or a failure classified as transient (retry later) or permanent.</param>
/// <param name="ReplyCode">The SMTP reply code that decided the outcome; null when none came (connection failure, timeout, local policy).</param>
/// <param name="EnhancedCode">The RFC 3463 enhanced status code of that reply (<c>5.1.1</c>), when the server gave one.</param>
/// <param name="Text">The reply text without codes (lines joined with a space), or a description of what went wrong.</param>
/// <param name="MessageId">The <c>Message-ID</c> the message carried, <c>&lt;id@domain&gt;</c>.</param>
/// <param name="QueueId">The server's queue id when its final 250 reply names one (<c>queued as 4XyZ</c>, <c>id=…</c>).</param>
/// <param name="Stage">Where the conversation ended: failures before <see cref="SmtpStage.MailFrom"/> are about the
/// connection or configuration, not about this message.</param>
public sealed record SmtpSendResult(
    SmtpOutcome Outcome,
    int? ReplyCode,
    string? EnhancedCode,
    string Text,
    string MessageId,
    string? QueueId,
    SmtpStage Stage)
{
    public bool Accepted => Outcome == SmtpOutcome.Accepted;
}
