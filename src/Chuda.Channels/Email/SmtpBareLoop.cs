using System.Net.Sockets;
using System.Text;

namespace Chuda.Channels.Email;

/// <summary>
/// Exists only as a benchmark reference ("a bare SMTP client against the same sink"), not for sending mail: the
/// simplest possible client — one plain-text connection, one command at a time, no pool, no TLS, no AUTH, no
/// pipelining, no timeouts — sending the same pre-rendered message <c>count</c> times as MAIL FROM, RCPT TO, DATA,
/// content, RSET. Its rate is the ceiling a real client is measured against; use <see cref="SmtpSender"/> for e-mail.
/// </summary>
public static class SmtpBareLoop
{
    /// <summary>Sends <paramref name="mimeBytes"/> (CRLF lines) <paramref name="count"/> times; returns how many were accepted (2xx).</summary>
    /// <exception cref="IOException">The server refused a command other than a message's or closed the connection.</exception>
    public static async Task<int> RunAsync(string host, int port, int count, ReadOnlyMemory<byte> mimeBytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var data = SmtpData.Encode(mimeBytes.Span);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(host, port, cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var reader = new SmtpReplyReader(stream);

        async Task<int> Command(byte[] command)
        {
            if (command.Length > 0) await stream.WriteAsync(command, cancellationToken);
            return (await reader.ReadAsync(cancellationToken)).Code;
        }

        static void Expect(int code, int expected, string step)
        {
            if (code != expected) throw new IOException($"{step}: {code}");
        }

        Expect(await Command([]), 220, "greeting");
        Expect(await Command("EHLO bench.localhost\r\n"u8.ToArray()), 250, "EHLO");
        var mail = Encoding.ASCII.GetBytes("MAIL FROM:<bench@bench.localhost>\r\n");
        var rcpt = Encoding.ASCII.GetBytes("RCPT TO:<sink@bench.localhost>\r\n");
        var dataCommand = "DATA\r\n"u8.ToArray();
        var reset = "RSET\r\n"u8.ToArray();
        var accepted = 0;
        for (var i = 0; i < count; i++)
        {
            Expect(await Command(mail), 250, "MAIL FROM");
            Expect(await Command(rcpt), 250, "RCPT TO");
            Expect(await Command(dataCommand), 354, "DATA");
            if (await Command(data) / 100 == 2) accepted++;
            Expect(await Command(reset), 250, "RSET");
        }
        await Command("QUIT\r\n"u8.ToArray());
        return accepted;
    }
}
