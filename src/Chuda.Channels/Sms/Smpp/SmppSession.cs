using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Chuda.Channels.Sms.Smpp;

/// <summary>The link is gone (closed by the SMSC, a read or write failed, enquire_link went unanswered, the session was disposed).</summary>
public sealed class SmppLinkException(string message) : IOException(message);

/// <summary>The SMSC refused the bind (ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RINVSYSID, …).</summary>
public sealed class SmppBindException(uint status, string message) : Exception(message)
{
    public uint Status { get; } = status;
}

/// <summary>
/// One TCP connection bound as a transceiver. Requests get sequence numbers and are matched to their responses; each
/// waits at most <see cref="SmppClientOptions.ResponseTimeout"/>. PDUs are written by one writer loop (several queued PDUs
/// go out in one write), read by one reader loop. The SMSC's <c>enquire_link</c> and <c>unbind</c> are answered; an
/// <c>enquire_link</c> is sent when nothing has been received for <see cref="SmppClientOptions.EnquireLinkInterval"/>, and
/// the link is dropped if it goes unanswered. Each <c>deliver_sm</c> is handed, in order, to the delivery handler and
/// answered with <c>deliver_sm_resp</c> carrying the status the handler returned. When the link goes, every request still
/// waiting fails with <see cref="SmppLinkException"/> (once), and <see cref="Closed"/> completes with the reason.
/// </summary>
public sealed class SmppSession : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SmppClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<SmppShortMessage, CancellationToken, ValueTask<uint>> _onDeliver;
    private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<(uint Sequence, SmppShortMessage Message)> _inbound =
        Channel.CreateUnbounded<(uint, SmppShortMessage)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly ConcurrentDictionary<uint, Pending> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _responseTimeoutTicks;
    private readonly long _enquireTicks;
    private ITimer? _timer;
    private Task _loops = Task.CompletedTask;
    private int _sequence;
    private long _lastReceived;
    private int _enquiring;
    private volatile bool _unbindReceived;

    private sealed class Pending(uint commandId, long deadline)
    {
        public uint CommandId { get; } = commandId;
        public long Deadline { get; } = deadline;
        public TaskCompletionSource<SmppPdu> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private SmppSession(Socket socket, SmppClientOptions options, TimeProvider time, Func<SmppShortMessage, CancellationToken, ValueTask<uint>> onDeliver,
        ILogger logger, long id)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _options = options;
        _time = time;
        _onDeliver = onDeliver;
        _logger = logger;
        Id = id;
        _responseTimeoutTicks = Ticks(options.ResponseTimeout);
        _enquireTicks = Ticks(options.EnquireLinkInterval);
        _lastReceived = time.GetTimestamp();
    }

    /// <summary>A number for logs.</summary>
    public long Id { get; }

    /// <summary>Completes with the reason when the link is gone.</summary>
    public Task<string> Closed => _closed.Task;

    public bool IsOpen => !_closed.Task.IsCompleted;

    /// <summary>Requests waiting for their response.</summary>
    public int InFlight => _pending.Count;

    /// <summary>Connects and binds as a transceiver, within <see cref="SmppClientOptions.ConnectTimeout"/>.</summary>
    /// <exception cref="SocketException">The connection was refused or failed.</exception>
    /// <exception cref="SmppBindException">The SMSC refused the bind.</exception>
    /// <exception cref="TimeoutException">Connecting and binding took too long.</exception>
    /// <exception cref="SmppLinkException">The SMSC closed the link during the bind.</exception>
    public static async Task<SmppSession> OpenAsync(SmppClientOptions options, TimeProvider time,
        Func<SmppShortMessage, CancellationToken, ValueTask<uint>> onDeliver, ILogger logger, long id, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(options.ConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SmppSession? session = null;
        try
        {
            await socket.ConnectAsync(options.Host, options.Port, linked.Token);
            session = new SmppSession(socket, options, time, onDeliver, logger, id);
            session.Start();
            var bind = new SmppBind(options.SystemId, options.Password, options.SystemType);
            var response = await session.SendRequest(SmppCommand.BindTransceiver, bind.EncodeBody()).WaitAsync(linked.Token);
            if (response.CommandId != SmppCommand.BindTransceiverResp || response.Status != SmppStatus.Ok)
            {
                var status = response.CommandId == SmppCommand.GenericNack && response.Status == SmppStatus.Ok ? SmppStatus.BindFailed : response.Status;
                throw new SmppBindException(status, $"bind_transceiver refused: {SmppStatus.Name(status)}");
            }
            SmppLog.Bound(logger, id, options.Host, options.Port, options.SystemId, SmppResponseBody.FirstCString(response.Body.Span));
            return session;
        }
        catch (Exception ex)
        {
            if (session is not null) await session.DisposeAsync();
            else socket.Dispose();
            if (ex is OperationCanceledException && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                throw new TimeoutException($"connecting to and binding with {options.Host}:{options.Port} took longer than {options.ConnectTimeout}");
            throw;
        }
    }

    /// <summary>Sends a request; the task completes with its response (which may carry an error status, or be a generic_nack).</summary>
    /// <returns>Fails with <see cref="SmppLinkException"/> when the link goes before the response, <see cref="TimeoutException"/>
    /// when no response came within <see cref="SmppClientOptions.ResponseTimeout"/>.</returns>
    public Task<SmppPdu> SendRequest(uint commandId, ReadOnlySpan<byte> body)
    {
        if (_closed.Task.IsCompleted) return Task.FromException<SmppPdu>(new SmppLinkException(_closed.Task.Result));
        var sequence = NextSequence();
        var pending = new Pending(commandId, _time.GetTimestamp() + _responseTimeoutTicks);
        _pending[sequence] = pending;
        if (!_outbound.Writer.TryWrite(SmppPduWriter.Frame(commandId, SmppStatus.Ok, sequence, body)) || _closed.Task.IsCompleted)
        {
            // Closed meanwhile: Close may or may not have seen this entry; whoever removes it completes it.
            if (_pending.TryRemove(sequence, out var removed))
                removed.Completion.TrySetException(new SmppLinkException(_closed.Task.IsCompleted ? _closed.Task.Result : "the link is closing"));
        }
        return pending.Completion.Task;
    }

    /// <summary>Sends <c>unbind</c>, waits (briefly) for <c>unbind_resp</c>, and closes.</summary>
    public async Task UnbindAsync(CancellationToken cancellationToken)
    {
        if (!IsOpen) return;
        try
        {
            var timeout = _options.ResponseTimeout < TimeSpan.FromSeconds(5) ? _options.ResponseTimeout : TimeSpan.FromSeconds(5);
            await SendRequest(SmppCommand.Unbind, []).WaitAsync(timeout, _time, cancellationToken);
            SmppLog.Unbound(_logger, Id);
        }
        catch (Exception ex) when (ex is TimeoutException or SmppLinkException)
        {
            SmppLog.UnbindFailed(_logger, Id, ex.Message);
        }
        finally
        {
            Close("unbound");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close("disposed");
        try
        {
            await _loops;
        }
        catch (Exception ex)
        {
            SmppLog.LoopFailed(_logger, Id, ex.Message);
        }
        _stream.Dispose();
        _stop.Dispose();
    }

    /// <summary>Closes the link: every waiting request fails with <paramref name="reason"/>.</summary>
    public void Close(string reason)
    {
        if (!_closed.TrySetResult(reason)) return;
        SmppLog.Closed(_logger, Id, reason, _pending.Count);
        _timer?.Dispose();
        _outbound.Writer.TryComplete();
        _inbound.Writer.TryComplete();
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _socket.Dispose();
        foreach (var sequence in _pending.Keys)
        {
            if (_pending.TryRemove(sequence, out var pending)) pending.Completion.TrySetException(new SmppLinkException(reason));
        }
    }

    private void Start()
    {
        var period = TimeSpan.FromTicks(Math.Clamp(Math.Min(_options.ResponseTimeout.Ticks, _options.EnquireLinkInterval.Ticks) / 4,
            TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _timer = _time.CreateTimer(_ => Tick(), null, period, period);
        _loops = Task.WhenAll(Task.Run(ReadLoopAsync), Task.Run(WriteLoopAsync), Task.Run(InboundLoopAsync));
    }

    private uint NextSequence()
    {
        while (true)
        {
            var sequence = (uint)Interlocked.Increment(ref _sequence) & 0x7FFFFFFF;
            if (sequence != 0) return sequence;
        }
    }

    private void Send(uint commandId, uint status, uint sequence, ReadOnlySpan<byte> body) =>
        _outbound.Writer.TryWrite(SmppPduWriter.Frame(commandId, status, sequence, body));

    private void Tick()
    {
        if (!IsOpen) return;
        var now = _time.GetTimestamp();
        foreach (var (sequence, pending) in _pending)
        {
            if (now >= pending.Deadline && _pending.TryRemove(sequence, out var expired))
            {
                expired.Completion.TrySetException(new TimeoutException(
                    $"no response to {SmppCommand.Name(expired.CommandId)} (sequence {sequence}) within {_options.ResponseTimeout}"));
            }
        }
        if (now - Interlocked.Read(ref _lastReceived) >= _enquireTicks && Interlocked.CompareExchange(ref _enquiring, 1, 0) == 0)
        {
            _ = EnquireAsync();
        }
    }

    private async Task EnquireAsync()
    {
        try
        {
            await SendRequest(SmppCommand.EnquireLink, []);
        }
        catch (TimeoutException)
        {
            Close($"enquire_link got no answer within {_options.ResponseTimeout}");
        }
        catch (SmppLinkException)
        {
            // Closed already.
        }
        finally
        {
            Volatile.Write(ref _enquiring, 0);
        }
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[SmppPdu.MaxLength];
        int start = 0, end = 0;
        try
        {
            while (true)
            {
                while (end - start >= 4)
                {
                    var length = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(start));
                    if (length is < SmppPdu.HeaderLength or > SmppPdu.MaxLength)
                    {
                        Close($"the SMSC sent a PDU of {length} octets");
                        return;
                    }
                    if (end - start < length) break;
                    Dispatch(buffer.AsSpan(start, (int)length));
                    start += (int)length;
                }
                if (start > 0)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }
                var read = await _stream.ReadAsync(buffer.AsMemory(end), _stop.Token);
                if (read == 0)
                {
                    Close("the SMSC closed the connection");
                    return;
                }
                end += read;
                Interlocked.Exchange(ref _lastReceived, _time.GetTimestamp());
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Close("read failed: " + ex.Message);
        }
    }

    private void Dispatch(ReadOnlySpan<byte> frame)
    {
        var commandId = BinaryPrimitives.ReadUInt32BigEndian(frame[4..]);
        var status = BinaryPrimitives.ReadUInt32BigEndian(frame[8..]);
        var sequence = BinaryPrimitives.ReadUInt32BigEndian(frame[12..]);
        var body = frame[SmppPdu.HeaderLength..];
        if (SmppCommand.IsResponse(commandId))
        {
            if (_pending.TryRemove(sequence, out var pending)) pending.Completion.TrySetResult(new SmppPdu(commandId, status, sequence, body.ToArray()));
            else SmppLog.UnexpectedResponse(_logger, Id, SmppCommand.Name(commandId), sequence);
            return;
        }
        switch (commandId)
        {
            case SmppCommand.EnquireLink:
                Send(SmppCommand.EnquireLinkResp, SmppStatus.Ok, sequence, []);
                break;
            case SmppCommand.Unbind:
                Send(SmppCommand.UnbindResp, SmppStatus.Ok, sequence, []);
                // The writer flushes the answer, then closes.
                _unbindReceived = true;
                _outbound.Writer.TryComplete();
                break;
            case SmppCommand.DeliverSm:
                SmppShortMessage message;
                try
                {
                    message = SmppShortMessage.Decode(body);
                }
                catch (SmppProtocolException ex)
                {
                    SmppLog.MalformedDeliver(_logger, Id, sequence, ex.Message);
                    Send(SmppCommand.DeliverSmResp, SmppStatus.InvalidMessageLength, sequence, SmppResponseBody.EmptyMessageId);
                    break;
                }
                if (!_inbound.Writer.TryWrite((sequence, message))) return;
                break;
            default:
                Send(SmppCommand.GenericNack, SmppStatus.InvalidCommandId, sequence, []);
                break;
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new ArrayBufferWriter<byte>(16 * 1024);
        var reader = _outbound.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                batch.ResetWrittenCount();
                while (batch.WrittenCount < 64 * 1024 && reader.TryRead(out var frame)) batch.Write(frame);
                await _stream.WriteAsync(batch.WrittenMemory, _stop.Token);
            }
            if (_unbindReceived) Close("the SMSC unbound the session");
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Close("write failed: " + ex.Message);
        }
    }

    private async Task InboundLoopAsync()
    {
        try
        {
            await foreach (var (sequence, message) in _inbound.Reader.ReadAllAsync(_stop.Token))
            {
                uint status;
                try
                {
                    status = await _onDeliver(message, _stop.Token);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    // The SMSC keeps the message and delivers it again later.
                    SmppLog.DeliverHandlerFailed(_logger, Id, sequence, ex.Message);
                    status = SmppStatus.TemporaryAppError;
                }
                Send(SmppCommand.DeliverSmResp, status, sequence, SmppResponseBody.EmptyMessageId);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
