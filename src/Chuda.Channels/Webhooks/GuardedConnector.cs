using System.Net;
using System.Net.Sockets;

namespace Chuda.Channels.Webhooks;

/// <summary>Raised (inside the HTTP client's exception) when the SSRF rules refuse every way to reach an endpoint.</summary>
public sealed class EndpointRefusedException(string message) : Exception(message)
{
    /// <summary>The refusal in <paramref name="ex"/> or its inner exceptions, if any.</summary>
    public static EndpointRefusedException? Find(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is EndpointRefusedException refusal) return refusal;
        }
        return null;
    }
}

/// <summary>
/// A <see cref="SocketsHttpHandler.ConnectCallback"/> that applies <see cref="SsrfGuard"/>'s address rules at connect time, for
/// every HTTP client whose URLs come from outside (webhook URLs, HTTP SMS and voice gateways, Web Push subscriptions written by
/// browsers): every address a host resolves to is vetted before any is tried, so a name that resolves to one public and
/// one internal address is refused outright rather than raced.
/// </summary>
public sealed class GuardedConnector(SsrfGuard guard)
{
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
        foreach (var address in addresses)
        {
            var verdict = guard.CheckAddress(host, address);
            if (!verdict.Allowed) throw new EndpointRefusedException($"{host}: {verdict.Reason}");
        }
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last!;
    }
}
