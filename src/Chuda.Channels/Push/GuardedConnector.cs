using System.Net;
using System.Net.Sockets;
using Chuda.Channels.Webhooks;

namespace Chuda.Channels.Push;

/// <summary>Raised when the SSRF rules refuse every way to reach an endpoint.</summary>
public sealed class EndpointRefusedException(string message) : Exception(message);

/// <summary>
/// A <see cref="SocketsHttpHandler.ConnectCallback"/> that applies <see cref="SsrfGuard"/>'s address rules at connect time, for
/// endpoints that come from outside (Web Push subscriptions are written by browsers): every address a host resolves to is
/// vetted before any is tried.
/// </summary>
internal sealed class GuardedConnector(SsrfGuard guard)
{
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
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
