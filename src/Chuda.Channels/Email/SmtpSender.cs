using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chuda.Channels.Email;

/// <summary>
/// Sends e-mail to one SMTP server (a provider's submission endpoint or a relay) over a pool of reused connections:
/// EHLO, STARTTLS and AUTH once per connection, then one transaction per message — MAIL FROM, RCPT TO and DATA sent
/// as one group when the server offers PIPELINING, RSET only after a transaction that did not end with an accepted
/// message. At most <see cref="SmtpSenderOptions.MaxConnections"/> connections are open; concurrent sends use
/// different ones. A connection that saw an I/O error, a timeout, a protocol violation or a 421 is dropped; one that
/// turns out to be stale when reused (closed by the server, or a 421, before anything of the message was sent) is
/// replaced once, transparently. Build one per server and share it.
/// </summary>
public sealed class SmtpSender : IAsyncDisposable
{
    private readonly SmtpSenderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _permits;
    private readonly Stack<SmtpConnection> _idle = new(); // most recently used on top; guarded by itself
    private readonly ITimer _sweeper;
    private long _opened;
    private bool _disposed; // set under the lock of _idle

    public SmtpSender(SmtpSenderOptions options, TimeProvider timeProvider, ILogger<SmtpSender>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        _options = options;
        _time = timeProvider;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _permits = new SemaphoreSlim(options.MaxConnections, options.MaxConnections);
        var sweep = options.IdleTimeout / 2;
        _sweeper = timeProvider.CreateTimer(_ => CloseExpiredIdle(), null, sweep, sweep);
    }

    /// <summary>Connections opened so far (successfully or not).</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _opened);

    /// <summary>
    /// Sends <paramref name="message"/> once. Every outcome of the conversation — refusals, dropped connections, timeouts,
    /// TLS failures — is returned, classified; only a cancellation of <paramref name="cancellationToken"/> throws.
    /// </summary>
    /// <exception cref="ArgumentException">The message itself is malformed (see <see cref="MimeWriter"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the connection in use is dropped.</exception>
    /// <exception cref="ObjectDisposedException">The sender was disposed.</exception>
    public async Task<SmtpSendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        var rendered = MimeWriter.Render(message, _options.LocalDomain, _time);
        var data = SmtpData.Encode(rendered.Content);
        var started = _time.GetTimestamp();
        await _permits.WaitAsync(cancellationToken);
        SmtpSendResult result;
        try
        {
            result = await SendWithPermitAsync(rendered, data, cancellationToken);
        }
        finally
        {
            _permits.Release();
        }
        if (result.Accepted)
            EmailLog.Accepted(_logger, result.MessageId, _options.Host, result.ReplyCode, result.QueueId, _time.GetElapsedTime(started).TotalMilliseconds);
        else
            EmailLog.Failed(_logger, result.MessageId, _options.Host, result.Outcome, result.Stage, result.ReplyCode, result.EnhancedCode, result.Text);
        return result;
    }

    private async Task<SmtpSendResult> SendWithPermitAsync(MimeWriter.Rendered message, byte[] data, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var connection = TakeIdle();
            var reused = connection is not null;
            if (connection is null)
            {
                (connection, var failure) = await OpenAsync(message.MessageId, cancellationToken);
                if (failure is not null) return failure;
            }

            SmtpSendResult result;
            string? stale;
            try
            {
                result = await connection!.SendAsync(message, data, cancellationToken);
                stale = result.ReplyCode == 421 ? "421 " + result.Text : result.Stage == SmtpStage.Reset ? result.Text : null;
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or SmtpTimeoutException)
            {
                connection!.Abort();
                var why = SmtpConnection.Describe(ex);
                result = new SmtpSendResult(SmtpOutcome.TransientFailure, null, null, why, message.MessageId, null, connection.Stage);
                EmailLog.Closed(_logger, connection.Id, _options.Host, connection.Transactions, why);
                stale = ex is SmtpTimeoutException ? null : why;
            }
            catch
            {
                connection!.Abort(); // cancelled mid-conversation: the connection's state is unknown
                throw;
            }

            if (!connection.Broken)
            {
                await ReturnAsync(connection);
                return result;
            }
            connection.Abort();
            // A reused connection the server had given up on, before any of the message went out: nothing was
            // delivered, so a fresh connection gets the message once more.
            if (attempt == 0 && reused && stale is not null && !connection.ContentStarted)
            {
                EmailLog.Stale(_logger, connection.Id, _options.Host, stale, message.MessageId);
                continue;
            }
            return result;
        }
    }

    private async Task<(SmtpConnection?, SmtpSendResult?)> OpenAsync(string messageId, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _opened);
        try
        {
            var (connection, failure) = await SmtpConnection.OpenAsync(_options, _time, id, messageId, cancellationToken);
            if (connection is not null)
            {
                EmailLog.Connected(_logger, id, _options.Host, _options.Port, connection.Encrypted, connection.Capabilities.Pipelining, connection.Authenticated);
                return (connection, null);
            }
            if (failure!.ReplyCode is null) EmailLog.Misconfigured(_logger, _options.Host, _options.Port, failure.Stage, failure.Text);
            return (null, failure);
        }
        catch (OpenFailedException ex)
        {
            var text = $"{(ex.Stage == SmtpStage.Connect ? "cannot connect to" : "connection lost with")} {_options.Host}:{_options.Port}: {ex.Message}";
            return (null, new SmtpSendResult(SmtpOutcome.TransientFailure, null, null, text, messageId, null, ex.Stage));
        }
    }

    private SmtpConnection? TakeIdle()
    {
        List<SmtpConnection>? expired = null;
        SmtpConnection? taken = null;
        lock (_idle)
        {
            while (_idle.TryPop(out var connection))
            {
                if (_time.GetElapsedTime(connection.IdleSince) < _options.IdleTimeout)
                {
                    taken = connection;
                    break;
                }
                (expired ??= []).Add(connection);
            }
        }
        if (expired is not null) CloseInBackground(expired, "idle timeout");
        return taken;
    }

    private async Task ReturnAsync(SmtpConnection connection)
    {
        if (connection.Transactions < _options.MaxMessagesPerConnection)
        {
            connection.IdleSince = _time.GetTimestamp();
            lock (_idle)
            {
                if (!_disposed)
                {
                    _idle.Push(connection);
                    return;
                }
            }
        }
        await connection.QuitAsync();
        EmailLog.Closed(_logger, connection.Id, _options.Host, connection.Transactions, "message limit or sender disposed");
    }

    private void CloseExpiredIdle()
    {
        List<SmtpConnection> expired;
        lock (_idle)
        {
            if (_idle.Count == 0) return;
            var all = _idle.ToList(); // top first
            expired = all.Where(c => _time.GetElapsedTime(c.IdleSince) >= _options.IdleTimeout).ToList();
            if (expired.Count == 0) return;
            _idle.Clear();
            for (var i = all.Count - 1; i >= 0; i--)
            {
                if (!expired.Contains(all[i])) _idle.Push(all[i]);
            }
        }
        CloseInBackground(expired, "idle timeout");
    }

    private void CloseInBackground(List<SmtpConnection> connections, string reason) =>
        _ = Task.Run(async () =>
        {
            foreach (var connection in connections)
            {
                await connection.QuitAsync();
                EmailLog.Closed(_logger, connection.Id, _options.Host, connection.Transactions, reason);
            }
        });

    /// <summary>Says QUIT on every idle connection; connections in use are closed when their send ends.</summary>
    public async ValueTask DisposeAsync()
    {
        List<SmtpConnection> idle;
        lock (_idle)
        {
            if (_disposed) return;
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }
        await _sweeper.DisposeAsync();
        foreach (var connection in idle)
        {
            await connection.QuitAsync();
            EmailLog.Closed(_logger, connection.Id, _options.Host, connection.Transactions, "sender disposed");
        }
    }
}
