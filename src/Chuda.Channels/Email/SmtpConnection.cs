using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Chuda.Channels.Email;

/// <summary>What a server said it supports in its EHLO reply (RFC 5321 §4.1.1.1 and the extensions' RFCs).</summary>
internal sealed record SmtpCapabilities(
    bool StartTls,
    bool Pipelining,
    long? Size,
    bool EightBitMime,
    bool SmtpUtf8,
    bool EnhancedStatusCodes,
    IReadOnlyList<string> AuthMechanisms)
{
    /// <summary>What a server that answered HELO (not EHLO) supports: nothing.</summary>
    public static readonly SmtpCapabilities None = new(false, false, null, false, false, false, []);

    public static SmtpCapabilities Parse(SmtpReply ehlo)
    {
        bool startTls = false, pipelining = false, eightBit = false, utf8 = false, enhanced = false;
        long? size = null;
        var auth = new List<string>();
        foreach (var line in ehlo.Lines.Skip(1))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            var keyword = parts[0].ToUpperInvariant();
            switch (keyword)
            {
                case "STARTTLS": startTls = true; break;
                case "PIPELINING": pipelining = true; break;
                case "8BITMIME": eightBit = true; break;
                case "SMTPUTF8": utf8 = true; break;
                case "ENHANCEDSTATUSCODES": enhanced = true; break;
                case "SIZE":
                    size = parts.Length > 1 && long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var limit) ? limit : 0;
                    break;
                default:
                    // "AUTH PLAIN LOGIN", and the pre-standard "AUTH=PLAIN LOGIN" some servers still send.
                    if (keyword == "AUTH" || keyword.StartsWith("AUTH=", StringComparison.Ordinal))
                    {
                        if (keyword.Length > 5) auth.Add(keyword[5..]);
                        auth.AddRange(parts.Skip(1).Select(p => p.ToUpperInvariant()));
                    }
                    break;
            }
        }
        return new SmtpCapabilities(startTls, pipelining, size, eightBit, utf8, enhanced, auth.Distinct().ToList());
    }
}

/// <summary>A step took longer than <see cref="SmtpSenderOptions.CommandTimeout"/>.</summary>
internal sealed class SmtpTimeoutException(string message) : TimeoutException(message);

/// <summary>
/// One SMTP client connection, used by one send at a time. Protocol outcomes (replies) come back as
/// <see cref="SmtpSendResult"/>; a broken connection (I/O, protocol violation, timeout) throws and is then useless.
/// </summary>
internal sealed class SmtpConnection
{
    private readonly SmtpSenderOptions _options;
    private readonly TimeProvider _time;
    private readonly Socket _socket;
    private Stream _stream;
    private SmtpReplyReader _reader;
    private readonly byte[] _ehlo;

    private SmtpConnection(SmtpSenderOptions options, TimeProvider time, Socket socket, Stream stream, long id)
    {
        _options = options;
        _time = time;
        _socket = socket;
        _stream = stream;
        _reader = new SmtpReplyReader(stream);
        _ehlo = Encoding.ASCII.GetBytes($"EHLO {MimeWriter.NormalizeDomain(options.LocalDomain, nameof(options.LocalDomain))}\r\n");
        Id = id;
        Encrypted = stream is SslStream;
    }

    public long Id { get; }

    public SmtpCapabilities Capabilities { get; private set; } = SmtpCapabilities.None;

    public bool Encrypted { get; private set; }

    /// <summary>The AUTH mechanism used, if any.</summary>
    public string? Authenticated { get; private set; }

    /// <summary>Transactions attempted on this connection.</summary>
    public int Transactions { get; private set; }

    /// <summary>The step in progress or last done; after an exception, the step that failed.</summary>
    public SmtpStage Stage { get; private set; } = SmtpStage.Connect;

    /// <summary>The current send has started sending its content: a failure now may or may not have delivered it.</summary>
    public bool ContentStarted { get; private set; }

    /// <summary>The server said 421 (it is closing) or something unexpected: the connection must not be reused.</summary>
    public bool Broken { get; private set; }

    /// <summary>The last transaction did not end with an accepted message, so the next one starts with RSET.</summary>
    public bool NeedsReset { get; private set; }

    /// <summary>When it was last returned to the pool (a <see cref="TimeProvider"/> timestamp).</summary>
    public long IdleSince { get; set; }

    /// <summary>
    /// Connects (and with implicit TLS, handshakes), then greets, says EHLO, upgrades with STARTTLS and authenticates
    /// as the options say. Returns the connection ready for transactions, or the failure that ended the attempt.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="OpenFailedException">The connection broke, timed out or its TLS handshake failed.</exception>
    public static async Task<(SmtpConnection? Connection, SmtpSendResult? Failure)> OpenAsync(
        SmtpSenderOptions options, TimeProvider time, long id, string messageId, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(options.CommandTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var stage = SmtpStage.Connect;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SmtpConnection? connection = null;
        try
        {
            await socket.ConnectAsync(options.Host, options.Port, linked.Token);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (options.ImplicitTls)
            {
                timeout.CancelAfter(options.CommandTimeout);
                stream = await HandshakeAsync(options, stream, linked.Token);
            }
            connection = new SmtpConnection(options, time, socket, stream, id);
            var failure = await connection.StartAsync(messageId, timeout, linked.Token);
            if (failure is null) return (connection, null);
            await connection.QuitAsync();
            return (null, failure);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            stage = connection?.Stage ?? stage;
            connection?.Abort();
            socket.Dispose();
            throw new OpenFailedException(stage, $"no answer within {options.CommandTimeout.TotalMilliseconds:0} ms", null);
        }
        catch (Exception ex) when (ex is IOException or SocketException or System.Security.Authentication.AuthenticationException)
        {
            stage = connection?.Stage ?? stage;
            connection?.Abort();
            socket.Dispose();
            throw new OpenFailedException(stage, Describe(ex), ex);
        }
        catch
        {
            connection?.Abort();
            socket.Dispose();
            throw;
        }
    }

    private static async Task<SslStream> HandshakeAsync(SmtpSenderOptions options, Stream inner, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = options.Host,
                RemoteCertificateValidationCallback = options.ServerCertificateValidation,
            }, cancellationToken);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    /// <summary>Greeting, EHLO, STARTTLS, AUTH. Null when ready.</summary>
    private async Task<SmtpSendResult?> StartAsync(string messageId, CancellationTokenSource timeout, CancellationToken token)
    {
        Stage = SmtpStage.Greeting;
        timeout.CancelAfter(_options.CommandTimeout);
        var greeting = await _reader.ReadAsync(token);
        if (greeting.Code != 220) return Failure(greeting, messageId);

        if (await HelloAsync(messageId, timeout, token) is { } helloFailed) return helloFailed;

        if (!Encrypted && _options.StartTls != StartTlsPolicy.None)
        {
            Stage = SmtpStage.StartTls;
            if (Capabilities.StartTls)
            {
                var reply = await CommandAsync("STARTTLS\r\n"u8.ToArray(), timeout, token);
                if (reply.Code == 220)
                {
                    // Anything already received after the 220 was sent in plain text and could be an injection
                    // (CVE-2011-0411 and its kin): refuse rather than read it as if it came over TLS.
                    if (_reader.Buffered > 0) throw new SmtpProtocolException("the server sent data after its STARTTLS reply, before the TLS handshake");
                    timeout.CancelAfter(_options.CommandTimeout);
                    _stream = await HandshakeAsync(_options, _stream, token);
                    _reader = new SmtpReplyReader(_stream);
                    Encrypted = true;
                    // RFC 3207 §4.2: forget what was learnt before TLS and ask again.
                    if (await HelloAsync(messageId, timeout, token) is { } again) return again;
                }
                else if (_options.StartTls == StartTlsPolicy.Required || reply.Code == 421)
                {
                    return Failure(reply, messageId);
                }
            }
            else if (_options.StartTls == StartTlsPolicy.Required)
            {
                return Local(messageId, "the server does not offer STARTTLS and the StartTls policy is Required");
            }
        }

        if (_options.Username is not null) return await AuthenticateAsync(messageId, timeout, token);
        return null;
    }

    private async Task<SmtpSendResult?> HelloAsync(string messageId, CancellationTokenSource timeout, CancellationToken token)
    {
        Stage = SmtpStage.Hello;
        var reply = await CommandAsync(_ehlo, timeout, token);
        if (reply.Code == 250)
        {
            Capabilities = SmtpCapabilities.Parse(reply);
            return null;
        }
        if (reply.Code is not (500 or 501 or 502 or 504 or 550)) return Failure(reply, messageId);
        // An old server that does not know EHLO: HELO, and no extensions.
        var helo = await CommandAsync(Encoding.ASCII.GetBytes("HELO" + Encoding.ASCII.GetString(_ehlo, 4, _ehlo.Length - 4)), timeout, token);
        if (helo.Code != 250) return Failure(helo, messageId);
        Capabilities = SmtpCapabilities.None;
        return null;
    }

    private async Task<SmtpSendResult?> AuthenticateAsync(string messageId, CancellationTokenSource timeout, CancellationToken token)
    {
        Stage = SmtpStage.Auth;
        if (!Encrypted && !_options.AllowPlaintextAuthentication)
            return Local(messageId, "credentials are configured but the connection is not encrypted (use ImplicitTls or StartTls, or set AllowPlaintextAuthentication)");
        var mechanisms = Capabilities.AuthMechanisms;
        var user = Encoding.UTF8.GetBytes(_options.Username!);
        var password = Encoding.UTF8.GetBytes(_options.Password!);
        SmtpReply reply;
        if (mechanisms.Contains("PLAIN"))
        {
            var response = new byte[user.Length + password.Length + 2];
            user.CopyTo(response, 1);
            password.CopyTo(response, user.Length + 2);
            reply = await CommandAsync(Encoding.ASCII.GetBytes($"AUTH PLAIN {Convert.ToBase64String(response)}\r\n"), timeout, token);
            Authenticated = "PLAIN";
        }
        else if (mechanisms.Contains("LOGIN"))
        {
            Authenticated = "LOGIN";
            reply = await CommandAsync("AUTH LOGIN\r\n"u8.ToArray(), timeout, token);
            if (reply.Code == 334)
                reply = await CommandAsync(Encoding.ASCII.GetBytes(Convert.ToBase64String(user) + "\r\n"), timeout, token);
            if (reply.Code == 334)
                reply = await CommandAsync(Encoding.ASCII.GetBytes(Convert.ToBase64String(password) + "\r\n"), timeout, token);
        }
        else
        {
            return Local(messageId, mechanisms.Count == 0
                ? "credentials are configured but the server offers no AUTH"
                : $"credentials are configured but the server offers no AUTH mechanism this client supports (PLAIN, LOGIN); it offers {string.Join(", ", mechanisms)}");
        }
        if (reply.Code == 235) return null;
        Authenticated = null;
        if (reply.Code == 334) Broken = true; // a challenge we cannot answer: the exchange is left mid-way
        return Failure(reply, messageId);
    }

    /// <summary>
    /// One transaction: [RSET] MAIL FROM, RCPT TO, DATA — one group with PIPELINING — then the content.
    /// A refusal (of the sender, the recipient, the content) is returned and leaves the connection usable.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="IOException">The connection broke or the server broke the protocol.</exception>
    /// <exception cref="SmtpTimeoutException">A step took longer than the command timeout.</exception>
    public async Task<SmtpSendResult> SendAsync(MimeWriter.Rendered message, byte[] data, CancellationToken cancellationToken)
    {
        Transactions++;
        ContentStarted = false;
        using var timeout = new CancellationTokenSource(_options.CommandTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await TransactionAsync(message, data, timeout, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            Broken = true;
            throw new SmtpTimeoutException($"no answer within {_options.CommandTimeout.TotalMilliseconds:0} ms");
        }
        catch
        {
            Broken = true;
            throw;
        }
    }

    private async Task<SmtpSendResult> TransactionAsync(MimeWriter.Rendered message, byte[] data, CancellationTokenSource timeout, CancellationToken token)
    {
        var reset = NeedsReset;
        var mail = Capabilities.Size is null
            ? $"MAIL FROM:<{message.EnvelopeFrom}>\r\n"
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"MAIL FROM:<{message.EnvelopeFrom}> SIZE={data.Length}\r\n");
        var rcpt = $"RCPT TO:<{message.EnvelopeTo}>\r\n";
        SmtpReply mailReply, rcptReply, dataReply;
        NeedsReset = true; // until the message is accepted

        if (_options.UsePipelining && Capabilities.Pipelining)
        {
            Stage = reset ? SmtpStage.Reset : SmtpStage.MailFrom;
            await WriteAsync(Encoding.ASCII.GetBytes((reset ? "RSET\r\n" : "") + mail + rcpt + "DATA\r\n"), timeout, token);
            if (reset)
            {
                var resetReply = await _reader.ReadAsync(token);
                // The replies to the rest of the group cannot be trusted after a failed RSET: start afresh.
                if (resetReply.Code != 250) return ResetFailure(resetReply, message.MessageId);
            }
            Stage = SmtpStage.MailFrom;
            mailReply = await _reader.ReadAsync(token);
            if (mailReply.Code == 421) return Failure(mailReply, message.MessageId);
            Stage = SmtpStage.RcptTo;
            rcptReply = await _reader.ReadAsync(token);
            if (rcptReply.Code == 421) return Failure(rcptReply, message.MessageId);
            Stage = SmtpStage.Data;
            dataReply = await _reader.ReadAsync(token);
            if (dataReply.Code == 354 && !(mailReply.Code / 100 == 2 && rcptReply.Code / 100 == 2))
            {
                // RFC 2920 §3.1: the server took DATA although the transaction failed; end it with an empty message.
                ContentStarted = true;
                await WriteAsync(".\r\n"u8.ToArray(), timeout, token);
                var ignored = await _reader.ReadAsync(token);
                if (ignored.Code == 421) Broken = true;
            }
            if (mailReply.Code / 100 != 2) return StepFailure(mailReply, SmtpStage.MailFrom, message.MessageId);
            if (rcptReply.Code / 100 != 2) return StepFailure(rcptReply, SmtpStage.RcptTo, message.MessageId);
            if (dataReply.Code != 354) return StepFailure(dataReply, SmtpStage.Data, message.MessageId);
        }
        else
        {
            if (reset)
            {
                Stage = SmtpStage.Reset;
                var resetReply = await CommandAsync("RSET\r\n"u8.ToArray(), timeout, token);
                if (resetReply.Code != 250) return ResetFailure(resetReply, message.MessageId);
            }
            Stage = SmtpStage.MailFrom;
            mailReply = await CommandAsync(Encoding.ASCII.GetBytes(mail), timeout, token);
            if (mailReply.Code / 100 != 2) return StepFailure(mailReply, Stage, message.MessageId);
            Stage = SmtpStage.RcptTo;
            rcptReply = await CommandAsync(Encoding.ASCII.GetBytes(rcpt), timeout, token);
            if (rcptReply.Code / 100 != 2) return StepFailure(rcptReply, Stage, message.MessageId);
            Stage = SmtpStage.Data;
            dataReply = await CommandAsync("DATA\r\n"u8.ToArray(), timeout, token);
            if (dataReply.Code != 354) return StepFailure(dataReply, Stage, message.MessageId);
        }

        Stage = SmtpStage.Content;
        ContentStarted = true;
        var final = await CommandAsync(data, timeout, token);
        if (final.Code / 100 != 2) return StepFailure(final, Stage, message.MessageId);
        NeedsReset = false;
        return new SmtpSendResult(SmtpOutcome.Accepted, final.Code, final.EnhancedCode, final.Text, message.MessageId, final.QueueId(), Stage);
    }

    /// <summary>Says QUIT and closes, ignoring any error: the connection is done either way.</summary>
    public async Task QuitAsync()
    {
        if (!Broken)
        {
            try
            {
                using var timeout = new CancellationTokenSource(_options.CommandTimeout, _time);
                await CommandAsync("QUIT\r\n"u8.ToArray(), timeout, timeout.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
        Abort();
    }

    /// <summary>Closes at once, without QUIT.</summary>
    public void Abort()
    {
        Broken = true;
        _stream.Dispose();
        _socket.Dispose();
    }

    private async Task<SmtpReply> CommandAsync(byte[] command, CancellationTokenSource timeout, CancellationToken token)
    {
        await WriteAsync(command, timeout, token);
        return await _reader.ReadAsync(token);
    }

    private async Task WriteAsync(byte[] bytes, CancellationTokenSource timeout, CancellationToken token)
    {
        timeout.CancelAfter(_options.CommandTimeout);
        await _stream.WriteAsync(bytes, token);
        await _stream.FlushAsync(token);
    }

    private SmtpSendResult StepFailure(SmtpReply reply, SmtpStage stage, string messageId)
    {
        Stage = stage;
        return Failure(reply, messageId);
    }

    /// <summary>RSET refused: the connection is in an unknown state (transient whatever the code; the message was not tried).</summary>
    private SmtpSendResult ResetFailure(SmtpReply reply, string messageId)
    {
        Broken = true;
        return new SmtpSendResult(SmtpOutcome.TransientFailure, reply.Code, reply.EnhancedCode, "RSET refused: " + reply.Text, messageId, null, SmtpStage.Reset);
    }

    /// <summary>A reply that ends the attempt: 4xx transient, 5xx permanent; anything else was unexpected and is transient.</summary>
    private SmtpSendResult Failure(SmtpReply reply, string messageId)
    {
        if (reply.Code == 421 || reply.Code / 100 is 2 or 3) Broken = true;
        var outcome = reply.Code / 100 == 5 ? SmtpOutcome.PermanentFailure : SmtpOutcome.TransientFailure;
        var text = reply.Code / 100 is 2 or 3 ? $"unexpected reply: {reply.Text}" : reply.Text;
        return new SmtpSendResult(outcome, reply.Code, reply.EnhancedCode, text, messageId, null, Stage);
    }

    private SmtpSendResult Local(string messageId, string text) =>
        new(SmtpOutcome.TransientFailure, null, null, text, messageId, null, Stage);

    internal static string Describe(Exception ex)
    {
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!message.Contains(inner.Message, StringComparison.Ordinal)) message += ": " + inner.Message;
        }
        return message;
    }
}

/// <summary>Opening a connection failed at <see cref="Stage"/> without a reply to classify.</summary>
internal sealed class OpenFailedException(SmtpStage stage, string message, Exception? inner) : Exception(message, inner)
{
    public SmtpStage Stage { get; } = stage;
}
