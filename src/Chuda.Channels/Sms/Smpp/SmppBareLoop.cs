using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;

namespace Chuda.Channels.Sms.Smpp;

/// <summary>How a bare loop went.</summary>
public sealed record SmppBareLoopResult(int Accepted, TimeSpan Elapsed)
{
    public double MessagesPerSecond => Elapsed > TimeSpan.Zero ? Accepted / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Exists only as a benchmark reference ("a bare SMPP client against the same SMSC"), not for sending SMS: the simplest
/// possible client — one connection, bind_transceiver, then the same pre-encoded submit_sm (no receipts requested) sent
/// <c>count</c> times with at most <c>window</c> unanswered, one write per PDU, no timeouts, no reconnect, no enquire_link of its
/// own (the SMSC's enquire_link and deliver_sm are answered). Its rate is the ceiling <see cref="SmppClient"/> is measured against.
/// </summary>
public static class SmppBareLoop
{
    /// <summary>Sends <paramref name="count"/> submits; the result counts those answered ESME_ROK.</summary>
    /// <exception cref="IOException">The bind was refused or the SMSC closed the connection.</exception>
    public static async Task<SmppBareLoopResult> RunAsync(string host, int port, string systemId, string password, int count, int window,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(host, port, cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var writeLock = new SemaphoreSlim(1, 1);
        using var slots = new SemaphoreSlim(window, window);

        async Task Write(byte[] pdu)
        {
            await writeLock.WaitAsync(cancellationToken);
            try
            {
                await stream.WriteAsync(pdu, cancellationToken);
            }
            finally
            {
                writeLock.Release();
            }
        }

        var header = new byte[SmppPdu.HeaderLength];
        async Task<(uint Command, uint Status, uint Sequence, byte[] Body)> Read()
        {
            await stream.ReadExactlyAsync(header, cancellationToken);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header);
            if (length is < SmppPdu.HeaderLength or > SmppPdu.MaxLength) throw new IOException($"PDU of {length} octets");
            var body = new byte[length - SmppPdu.HeaderLength];
            await stream.ReadExactlyAsync(body, cancellationToken);
            return (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4)), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)),
                BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), body);
        }

        await Write(SmppPduWriter.Frame(SmppCommand.BindTransceiver, 0, 1, new SmppBind(systemId, password).EncodeBody()));
        var bind = await Read();
        if (bind.Command != SmppCommand.BindTransceiverResp || bind.Status != SmppStatus.Ok) throw new IOException("bind refused: " + SmppStatus.Name(bind.Status));

        var submit = SmppPduWriter.Frame(SmppCommand.SubmitSm, 0, 0, new SmppShortMessage
        {
            SourceTon = 5,
            SourceAddress = "Bench",
            DestinationTon = 1,
            DestinationNpi = 1,
            DestinationAddress = "8613800138000",
            ShortMessage = "Your code is 123456"u8.ToArray(),
        }.EncodeBody());
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        var accepted = 0;
        var reader = Task.Run(async () =>
        {
            for (var answered = 0; answered < count;)
            {
                var (command, status, sequence, _) = await Read();
                switch (command)
                {
                    case SmppCommand.SubmitSmResp:
                        if (status == SmppStatus.Ok) accepted++;
                        answered++;
                        slots.Release();
                        break;
                    case SmppCommand.EnquireLink:
                        await Write(SmppPduWriter.Frame(SmppCommand.EnquireLinkResp, 0, sequence, []));
                        break;
                    case SmppCommand.DeliverSm:
                        await Write(SmppPduWriter.Frame(SmppCommand.DeliverSmResp, 0, sequence, SmppResponseBody.EmptyMessageId));
                        break;
                    default:
                        throw new IOException("unexpected " + SmppCommand.Name(command));
                }
            }
        }, cancellationToken);
        // A reader that fails (the SMSC closed the link) stops the sender, which would otherwise wait for a slot forever.
        _ = reader.ContinueWith(_ => failed.Cancel(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        for (var i = 0; i < count && !failed.IsCancellationRequested; i++)
        {
            try
            {
                await slots.WaitAsync(failed.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
            var pdu = (byte[])submit.Clone();
            BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(12), (uint)(i + 2));
            await Write(pdu);
        }
        await reader;
        var elapsed = clock.Elapsed;
        await Write(SmppPduWriter.Frame(SmppCommand.Unbind, 0, (uint)(count + 2), []));
        return new SmppBareLoopResult(accepted, elapsed);
    }
}
