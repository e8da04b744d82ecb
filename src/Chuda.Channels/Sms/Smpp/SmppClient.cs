using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chuda.Channels.Sms.Smpp;

/// <summary>What became of one <c>submit_sm</c>.</summary>
public enum SmppSubmitStatus
{
    /// <summary>submit_sm_resp with ESME_ROK; <see cref="SmppSubmitResult.MessageId"/> is the SMSC's id.</summary>
    Accepted,
    /// <summary>The SMSC answered with an error status (or generic_nack) other than throttling.</summary>
    Rejected,
    /// <summary>ESME_RTHROTTLED or ESME_RMSGQFUL: the session pauses; try this message again after <see cref="SmppSubmitResult.RetryAfter"/>.</summary>
    Throttled,
    /// <summary>No bound session: the connection or the bind failed (or the client is disposed). Nothing was sent.</summary>
    NotConnected,
    /// <summary>The link went while the submit waited for its response: the SMSC may or may not have taken it.</summary>
    LinkLost,
    /// <summary>No response within the response timeout: the SMSC may or may not have taken it.</summary>
    TimedOut,
    /// <summary>The message does not fit SMPP (an address too long, a field with characters SMPP cannot carry). Nothing was sent.</summary>
    Invalid,
}

/// <param name="CommandStatus">The SMSC's command_status for <see cref="SmppSubmitStatus.Accepted"/>, <see cref="SmppSubmitStatus.Rejected"/>
/// and <see cref="SmppSubmitStatus.Throttled"/>; for <see cref="SmppSubmitStatus.NotConnected"/> the bind's refusal status, if that was the cause.</param>
public sealed record SmppSubmitResult(SmppSubmitStatus Status, string Detail, string? MessageId = null, uint? CommandStatus = null, TimeSpan? RetryAfter = null);

/// <summary>
/// A long-lived SMPP 3.4 ESME: one transceiver session to one SMSC, opened on the first submit and kept open. At most
/// <see cref="SmppClientOptions.Window"/> submits are in flight at once (callers beyond it wait for a slot; a slot is given
/// back when the response arrives, times out or the link goes — not merely when a caller stops waiting). When the link drops,
/// the submits in flight complete as <see cref="SmppSubmitStatus.LinkLost"/> (each exactly once) and the client reconnects: at
/// once if the link had been up a while, otherwise after an exponential back-off (<see cref="SmppClientOptions.ReconnectDelayMin"/>
/// doubling to <see cref="SmppClientOptions.ReconnectDelayMax"/>), during which submits fail fast as
/// <see cref="SmppSubmitStatus.NotConnected"/> with a RetryAfter. ESME_RTHROTTLED / ESME_RMSGQFUL pause every submit of the
/// session (<see cref="SmppClientOptions.ThrottleDelayMin"/>, doubling while the SMSC keeps throttling after a pause, reset by
/// the next accepted submit). Every <c>deliver_sm</c> (receipts and mobile-originated messages) goes to the handler given to
/// the constructor and is answered with the status it returns. Disposing waits briefly for submits in flight, unbinds and closes.
/// </summary>
public sealed class SmppClient : IAsyncDisposable
{
    // A link that lived at least this long before it dropped is re-established at once; a shorter one counts as a failure.
    private static readonly TimeSpan StableLink = TimeSpan.FromSeconds(1);

    private readonly SmppClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<SmppShortMessage, CancellationToken, ValueTask<uint>> _onDeliver;
    private readonly SemaphoreSlim _window;
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource<LinkState> _link = NewLink();
    private Task? _run;
    private long _pausedUntil;
    private TimeSpan _throttleDelay;
    private long _sessionIds;
    private int _reference;
    private volatile bool _disposed;

    private sealed record LinkState(SmppSession? Session, string Detail, TimeSpan? RetryAfter = null, uint? BindStatus = null);

    /// <param name="onDeliver">Takes each deliver_sm and returns the deliver_sm_resp status (ESME_ROK when taken; an exception
    /// answers ESME_RX_T_APPN so the SMSC delivers it again later). Null answers ESME_ROK and drops them.</param>
    public SmppClient(SmppClientOptions options, TimeProvider time, Func<SmppShortMessage, CancellationToken, ValueTask<uint>>? onDeliver = null,
        ILogger<SmppClient>? logger = null)
    {
        options.Validate();
        _options = options;
        _time = time;
        _logger = logger ?? NullLogger<SmppClient>.Instance;
        _onDeliver = onDeliver ?? ((_, _) => ValueTask.FromResult(SmppStatus.Ok));
        _window = new SemaphoreSlim(options.Window, options.Window);
        _throttleDelay = options.ThrottleDelayMin;
    }

    public SmppClientOptions Options => _options;

    /// <summary>A concatenation reference for the next multipart message (8-bit, wrapping).</summary>
    public byte NextReference() => (byte)Interlocked.Increment(ref _reference);

    /// <summary>Submits one <c>submit_sm</c>. Never throws for an outcome, only for cancellation.</summary>
    public async Task<SmppSubmitResult> SubmitAsync(SmppShortMessage message, CancellationToken cancellationToken)
    {
        if (_disposed) return new SmppSubmitResult(SmppSubmitStatus.NotConnected, "the SMPP client is disposed");
        byte[] body;
        try
        {
            body = message.EncodeBody();
        }
        catch (ArgumentException ex)
        {
            return new SmppSubmitResult(SmppSubmitStatus.Invalid, ex.Message);
        }
        EnsureStarted();
        await _window.WaitAsync(cancellationToken);
        Task<SmppPdu>? request = null;
        try
        {
            await PauseWhileThrottledAsync(cancellationToken);
            var link = await CurrentLinkAsync(cancellationToken);
            if (link.Session is not { } session)
                return new SmppSubmitResult(SmppSubmitStatus.NotConnected, link.Detail, CommandStatus: link.BindStatus, RetryAfter: link.RetryAfter);
            request = session.SendRequest(SmppCommand.SubmitSm, body);
            SmppPdu response;
            try
            {
                response = await request.WaitAsync(cancellationToken);
            }
            catch (SmppLinkException ex)
            {
                return new SmppSubmitResult(SmppSubmitStatus.LinkLost, "the SMPP link dropped before submit_sm_resp: " + ex.Message);
            }
            catch (TimeoutException ex)
            {
                return new SmppSubmitResult(SmppSubmitStatus.TimedOut, ex.Message);
            }
            return Interpret(response);
        }
        finally
        {
            if (request is null || request.IsCompleted) _window.Release();
            else _ = request.ContinueWith(static (_, w) => ((SemaphoreSlim)w!).Release(), _window, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private SmppSubmitResult Interpret(SmppPdu response)
    {
        var status = response.Status;
        if (response.CommandId == SmppCommand.GenericNack)
            return new SmppSubmitResult(SmppSubmitStatus.Rejected, "generic_nack: " + SmppStatus.Name(status), CommandStatus: status);
        if (status == SmppStatus.Ok)
        {
            string id;
            try
            {
                id = SmppResponseBody.FirstCString(response.Body.Span);
            }
            catch (SmppProtocolException ex)
            {
                return new SmppSubmitResult(SmppSubmitStatus.Rejected, "malformed submit_sm_resp: " + ex.Message, CommandStatus: status);
            }
            ResetThrottle();
            return new SmppSubmitResult(SmppSubmitStatus.Accepted, "submit_sm_resp ESME_ROK", id.Length > 0 ? id : null, status);
        }
        if (SmppStatus.IsThrottling(status))
        {
            var wait = Throttle(status);
            return new SmppSubmitResult(SmppSubmitStatus.Throttled, "submit_sm_resp " + SmppStatus.Name(status), CommandStatus: status, RetryAfter: wait);
        }
        return new SmppSubmitResult(SmppSubmitStatus.Rejected, "submit_sm_resp " + SmppStatus.Name(status), CommandStatus: status);
    }

    /// <summary>Pauses the session; the wait this message should leave before it is tried again.</summary>
    private TimeSpan Throttle(uint status)
    {
        TimeSpan wait;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (now >= _pausedUntil)
            {
                // A new pause (not another answer to submits sent before the current one began): escalate.
                wait = _throttleDelay;
                _pausedUntil = now + Ticks(wait);
                _throttleDelay = _throttleDelay * 2 > _options.ThrottleDelayMax ? _options.ThrottleDelayMax : _throttleDelay * 2;
                SmppLog.Throttled(_logger, _options.Host, _options.Port, SmppStatus.Name(status), wait.TotalMilliseconds);
            }
            else
            {
                wait = TimeSpan.FromSeconds((double)(_pausedUntil - now) / _time.TimestampFrequency);
            }
        }
        return wait;
    }

    private void ResetThrottle()
    {
        if (_throttleDelay == _options.ThrottleDelayMin) return;
        lock (_gate) _throttleDelay = _options.ThrottleDelayMin;
    }

    private async Task PauseWhileThrottledAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            long until;
            lock (_gate) until = _pausedUntil;
            var wait = until - _time.GetTimestamp();
            if (wait <= 0) return;
            await Task.Delay(TimeSpan.FromSeconds((double)wait / _time.TimestampFrequency), _time, cancellationToken);
        }
    }

    private async Task<LinkState> CurrentLinkAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            var current = Volatile.Read(ref _link);
            var remaining = _options.ConnectTimeout - _time.GetElapsedTime(started);
            LinkState state;
            try
            {
                state = await current.Task.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return new LinkState(null, $"no SMPP session to {_options.Host}:{_options.Port} within {_options.ConnectTimeout}");
            }
            if (state.Session is not { IsOpen: false }) return state;
            // The link just dropped: the run loop is about to start the next attempt.
            if (_disposed) return new LinkState(null, "the SMPP client is disposed");
            if (_time.GetElapsedTime(started) >= _options.ConnectTimeout)
                return new LinkState(null, "the SMPP link dropped and was not re-established in time", _options.ReconnectDelayMin);
            if (ReferenceEquals(current, Volatile.Read(ref _link))) await Task.Delay(TimeSpan.FromMilliseconds(5), _time, cancellationToken);
        }
    }

    private void EnsureStarted()
    {
        if (_run is not null) return;
        lock (_gate)
        {
            if (_run is null && !_disposed) _run = Task.Run(() => RunAsync(_disposing.Token), CancellationToken.None);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            var pending = Volatile.Read(ref _link);
            SmppSession session;
            try
            {
                session = await SmppSession.OpenAsync(_options, _time, _onDeliver, _logger, Interlocked.Increment(ref _sessionIds), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                pending.TrySetResult(new LinkState(null, "the SMPP client is disposed"));
                return;
            }
            catch (Exception ex)
            {
                failures++;
                var delay = Backoff(failures);
                var detail = Describe(ex);
                SmppLog.ConnectFailed(_logger, _options.Host, _options.Port, detail, delay.TotalMilliseconds);
                pending.TrySetResult(new LinkState(null, detail, delay, (ex as SmppBindException)?.Status));
                if (!await DelayAsync(delay, cancellationToken)) return;
                Volatile.Write(ref _link, NewLink());
                continue;
            }

            var boundAt = _time.GetTimestamp();
            pending.TrySetResult(new LinkState(session, "bound"));
            string reason;
            try
            {
                reason = await session.Closed.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                await DrainAsync(session);
                await session.UnbindAsync(CancellationToken.None);
                await session.DisposeAsync();
                return;
            }
            await session.DisposeAsync();
            if (_time.GetElapsedTime(boundAt) >= StableLink)
            {
                failures = 0;
                Volatile.Write(ref _link, NewLink());
                continue;
            }
            failures++;
            var wait = Backoff(failures);
            SmppLog.ConnectFailed(_logger, _options.Host, _options.Port, "the link dropped soon after the bind: " + reason, wait.TotalMilliseconds);
            var down = NewLink();
            down.SetResult(new LinkState(null, $"the SMPP link dropped ({reason}); reconnecting", wait));
            Volatile.Write(ref _link, down);
            if (!await DelayAsync(wait, cancellationToken)) return;
            Volatile.Write(ref _link, NewLink());
        }
    }

    // Lets submits in flight get their responses before the unbind (bounded by the response timeout, at most 5 s).
    private async Task DrainAsync(SmppSession session)
    {
        var limit = _options.ResponseTimeout < TimeSpan.FromSeconds(5) ? _options.ResponseTimeout : TimeSpan.FromSeconds(5);
        var started = _time.GetTimestamp();
        while (session.IsOpen && session.InFlight > 0 && _time.GetElapsedTime(started) < limit)
            await Task.Delay(TimeSpan.FromMilliseconds(5), _time, CancellationToken.None);
    }

    private TimeSpan Backoff(int failures)
    {
        var delay = _options.ReconnectDelayMin * Math.Pow(2, Math.Min(failures - 1, 20));
        return delay > _options.ReconnectDelayMax ? _options.ReconnectDelayMax : delay;
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private string Describe(Exception ex) => ex switch
    {
        SocketException s => $"cannot connect to {_options.Host}:{_options.Port}: {s.SocketErrorCode}",
        SmppBindException b => b.Message,
        SmppLinkException l => "the SMSC closed the link during the bind: " + l.Message,
        _ => ex.Message,
    };

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private static TaskCompletionSource<LinkState> NewLink() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        Task? run;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            run = _run;
        }
        await _disposing.CancelAsync();
        if (run is not null) await run;
        Volatile.Read(ref _link).TrySetResult(new LinkState(null, "the SMPP client is disposed"));
        _disposing.Dispose();
    }
}
