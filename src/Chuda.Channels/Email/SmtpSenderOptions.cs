using System.Net.Security;
using System.Text;

namespace Chuda.Channels.Email;

/// <summary>When the connection is upgraded with STARTTLS (RFC 3207). Irrelevant with <see cref="SmtpSenderOptions.ImplicitTls"/>.</summary>
public enum StartTlsPolicy
{
    /// <summary>Never, even when offered: the whole conversation is in plain text.</summary>
    None,

    /// <summary>
    /// When the server offers it. A handshake that fails (including an untrusted certificate) fails the attempt — it does
    /// not fall back to plain text; a server that does not offer STARTTLS gets plain text.
    /// </summary>
    Opportunistic,

    /// <summary>
    /// Always: a server that does not offer STARTTLS (or refuses it) gets nothing — the send is a
    /// <see cref="SmtpOutcome.TransientFailure"/> at <see cref="SmtpStage.StartTls"/>, since it is a fault of the
    /// connection or its configuration rather than of the message, and is logged as a warning.
    /// </summary>
    Required,
}

/// <summary>Settings of <see cref="SmtpSender"/>, validated when it is built.</summary>
public sealed record SmtpSenderOptions
{
    public required string Host { get; init; }

    /// <summary>587 (submission with STARTTLS) by default; 465 with <see cref="ImplicitTls"/>; 25 between MTAs.</summary>
    public int Port { get; init; } = 587;

    /// <summary>TLS from the first byte (SMTPS, usually port 465); <see cref="StartTls"/> is then not used.</summary>
    public bool ImplicitTls { get; init; }

    public StartTlsPolicy StartTls { get; init; } = StartTlsPolicy.Required;

    /// <summary>
    /// Replaces the default certificate validation (system trust store, host name) for TLS, e.g. to pin a test
    /// server's self-signed certificate. Null keeps the default.
    /// </summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; init; }

    /// <summary>With <see cref="Password"/>: authenticate with AUTH PLAIN (preferred) or LOGIN, whichever the server offers.</summary>
    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>
    /// Send credentials over a connection without TLS. Off by default: credentials configured on a plain-text
    /// connection make every send a <see cref="SmtpOutcome.TransientFailure"/> at <see cref="SmtpStage.Auth"/>.
    /// </summary>
    public bool AllowPlaintextAuthentication { get; init; }

    /// <summary>Our name: the EHLO argument and the domain of every <c>Message-ID</c> (a host name or an address literal).</summary>
    public required string LocalDomain { get; init; }

    /// <summary>Connections open at once (in use or idle); concurrent sends beyond it wait for one.</summary>
    public int MaxConnections { get; init; } = 4;

    /// <summary>A connection is closed (QUIT) after this many transactions, as many providers limit it.</summary>
    public int MaxMessagesPerConnection { get; init; } = 100;

    /// <summary>An idle connection is closed (QUIT) after this long unused.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most any one step may take: connecting, each TLS handshake, and each command (or pipelined group of
    /// commands, or the message content) until its reply. A step that takes longer ends the send as a
    /// <see cref="SmtpOutcome.TransientFailure"/> and closes that connection.
    /// </summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Send MAIL FROM, RCPT TO and DATA as one group when the server offers PIPELINING (RFC 2920).</summary>
    public bool UsePipelining { get; init; } = true;

    /// <exception cref="ArgumentException">A setting is missing or out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
            throw new ArgumentException($"{nameof(SmtpSenderOptions)}.{nameof(Host)} must not be empty.");
        if (Port is < 1 or > 65535)
            throw new ArgumentException($"{nameof(SmtpSenderOptions)}.{nameof(Port)} must be 1 to 65535 (was {Port}).");
        if (!Enum.IsDefined(StartTls))
            throw new ArgumentException($"{nameof(SmtpSenderOptions)}.{nameof(StartTls)} is not a policy ({StartTls}).");
        if (Username is null != Password is null)
            throw new ArgumentException($"{nameof(SmtpSenderOptions)}: set both {nameof(Username)} and {nameof(Password)}, or neither.");
        if (Username is not null && (Username.Length == 0 || Username.Contains('\0', StringComparison.Ordinal) || Password!.Contains('\0', StringComparison.Ordinal)))
            throw new ArgumentException($"{nameof(SmtpSenderOptions)}: {nameof(Username)} must not be empty, and neither it nor {nameof(Password)} may contain NUL.");
        MimeWriter.NormalizeDomain(LocalDomain, $"{nameof(SmtpSenderOptions)}.{nameof(LocalDomain)}");
        if (MaxConnections is < 1 or > 1000)
            throw new ArgumentException($"{nameof(SmtpSenderOptions)}.{nameof(MaxConnections)} must be 1 to 1000 (was {MaxConnections}).");
        if (MaxMessagesPerConnection < 1)
            throw new ArgumentException($"{nameof(SmtpSenderOptions)}.{nameof(MaxMessagesPerConnection)} must be at least 1 (was {MaxMessagesPerConnection}).");
        if (IdleTimeout <= TimeSpan.Zero || IdleTimeout > TimeSpan.FromHours(1))
            throw new ArgumentException($"{nameof(SmtpSenderOptions)}.{nameof(IdleTimeout)} must be more than 0 and at most an hour (was {IdleTimeout}).");
        if (CommandTimeout <= TimeSpan.Zero || CommandTimeout > TimeSpan.FromMinutes(30))
            throw new ArgumentException($"{nameof(SmtpSenderOptions)}.{nameof(CommandTimeout)} must be more than 0 and at most 30 minutes (was {CommandTimeout}).");
    }

    // Keeps the password out of logs and exception messages.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Host = {Host}, Port = {Port}, ImplicitTls = {ImplicitTls}, StartTls = {StartTls}, ");
        builder.Append($"Username = {Username ?? "none"}, Password = {(Password is null ? "none" : "***")}, LocalDomain = {LocalDomain}, ");
        builder.Append($"MaxConnections = {MaxConnections}, MaxMessagesPerConnection = {MaxMessagesPerConnection}, ");
        builder.Append($"IdleTimeout = {IdleTimeout}, CommandTimeout = {CommandTimeout}, UsePipelining = {UsePipelining}");
        return true;
    }
}
