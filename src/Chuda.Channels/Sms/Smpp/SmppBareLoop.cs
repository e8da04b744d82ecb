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
/// <c>count</c> times through a fixed window on one task: it writes a window of submits, then after each read writes as many
/// new ones (in one write) as responses that read brought. No timeouts, no reconnect, no enquire_link of its own (the SMSC's
/// enquire_link and deliver_sm are answered). Its rate is the ceiling <see cref="SmppClient"/> is measured against.
/// </summary>
public static class SmppBareLoop
{
    /// <summary>Sends <paramref name="count"/> submits; the result counts those answered ESME_ROK.</summary>
    /// <exception cref="IOException">The bind was refused, the SMSC sent something unexpected or closed the connection.</exception>
    public static async Task<SmppBareLoopResult> RunAsync(string host, int port, string systemId, string password, int count, int window,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(host, port, cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var buffer = new byte[SmppPdu.MaxLength];
        int start = 0, end = 0;

        // Reads until at least one whole PDU is buffered; returns the PDUs (command, status, sequence) now complete.
        async Task<List<(uint Command, uint Status, uint Sequence)>> ReadAsync()
        {
            var pdus = new List<(uint, uint, uint)>();
            while (pdus.Count == 0)
            {
                if (start > 0)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }
                var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken);
                if (read == 0) throw new IOException("the SMSC closed the connection");
                end += read;
                while (end - start >= SmppPdu.HeaderLength)
                {
                    var length = (int)BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(start));
                    if (length is < SmppPdu.HeaderLength or > SmppPdu.MaxLength) throw new IOException($"PDU of {length} octets");
                    if (end - start < length) break;
                    pdus.Add((BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(start + 4)), BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(start + 8)),
                        BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(start + 12))));
                    start += length;
                }
            }
            return pdus;
        }

        await stream.WriteAsync(SmppPduWriter.Frame(SmppCommand.BindTransceiver, 0, 1, new SmppBind(systemId, password).EncodeBody()), cancellationToken);
        var bind = (await ReadAsync())[0];
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
        var sent = 0;
        async Task SendAsync(int n)
        {
            n = Math.Min(n, count - sent);
            if (n <= 0) return;
            var pdus = new byte[n * submit.Length];
            for (var i = 0; i < n; i++)
            {
                submit.CopyTo(pdus, i * submit.Length);
                BinaryPrimitives.WriteUInt32BigEndian(pdus.AsSpan(i * submit.Length + 12), (uint)(sent + i + 2));
            }
            sent += n;
            await stream.WriteAsync(pdus, cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        int accepted = 0, answered = 0;
        await SendAsync(window);
        while (answered < count)
        {
            var freed = 0;
            foreach (var (command, status, sequence) in await ReadAsync())
            {
                switch (command)
                {
                    case SmppCommand.SubmitSmResp:
                        if (status == SmppStatus.Ok) accepted++;
                        answered++;
                        freed++;
                        break;
                    case SmppCommand.EnquireLink:
                        await stream.WriteAsync(SmppPduWriter.Frame(SmppCommand.EnquireLinkResp, 0, sequence, []), cancellationToken);
                        break;
                    case SmppCommand.DeliverSm:
                        await stream.WriteAsync(SmppPduWriter.Frame(SmppCommand.DeliverSmResp, 0, sequence, SmppResponseBody.EmptyMessageId), cancellationToken);
                        break;
                    default:
                        throw new IOException("unexpected " + SmppCommand.Name(command));
                }
            }
            await SendAsync(freed);
        }
        var elapsed = clock.Elapsed;
        await stream.WriteAsync(SmppPduWriter.Frame(SmppCommand.Unbind, 0, (uint)(count + 2), []), cancellationToken);
        return new SmppBareLoopResult(accepted, elapsed);
    }
}
