using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Chuda.Channels.Webhooks;

/// <summary>Whether a URL or address may be contacted, and if not, why.</summary>
public readonly record struct SsrfVerdict(bool Allowed, string? Reason)
{
    public static SsrfVerdict Allow { get; } = new(true, null);

    public static SsrfVerdict Refuse(string reason) => new(false, reason);
}

/// <summary>
/// Keeps outbound webhooks off the operator's own network (server-side request forgery). Only http(s) URLs without
/// user info are accepted, and only public unicast addresses may be contacted: loopback, private, link-local
/// (including the cloud metadata service at 169.254.169.254), CGNAT, documentation, benchmarking, reserved,
/// multicast and broadcast ranges are refused, as are IPv6 loopback, unique-local, link-local and site-local
/// addresses and IPv6 forms that embed a refused IPv4 address (IPv4-mapped, NAT64, 6to4). An address inside
/// <see cref="WebhookSecurityOptions.AllowedNetworks"/>, or any address of a host named in
/// <see cref="WebhookSecurityOptions.AllowedHosts"/>, is allowed. <see cref="WebhookClient"/> applies the address
/// rules to every address a host resolves to, at connect time.
/// </summary>
public sealed class SsrfGuard
{
    private static readonly (IPNetwork Network, string Name)[] ForbiddenV4 =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "'this network'"),
        (IPNetwork.Parse("10.0.0.0/8"), "private"),
        (IPNetwork.Parse("100.64.0.0/10"), "shared address space (CGNAT)"),
        (IPNetwork.Parse("127.0.0.0/8"), "loopback"),
        (IPNetwork.Parse("169.254.0.0/16"), "link-local (cloud metadata)"),
        (IPNetwork.Parse("172.16.0.0/12"), "private"),
        (IPNetwork.Parse("192.0.0.0/24"), "IETF protocol assignments"),
        (IPNetwork.Parse("192.0.2.0/24"), "documentation"),
        (IPNetwork.Parse("192.88.99.0/24"), "6to4 relay anycast"),
        (IPNetwork.Parse("192.168.0.0/16"), "private"),
        (IPNetwork.Parse("198.18.0.0/15"), "benchmarking"),
        (IPNetwork.Parse("198.51.100.0/24"), "documentation"),
        (IPNetwork.Parse("203.0.113.0/24"), "documentation"),
        (IPNetwork.Parse("224.0.0.0/4"), "multicast"),
        (IPNetwork.Parse("240.0.0.0/4"), "reserved or broadcast"),
    ];

    private static readonly (IPNetwork Network, string Name)[] ForbiddenV6 =
    [
        (IPNetwork.Parse("::/128"), "unspecified"),
        (IPNetwork.Parse("::1/128"), "loopback"),
        (IPNetwork.Parse("::/96"), "deprecated IPv4-compatible"),
        (IPNetwork.Parse("64:ff9b:1::/48"), "local-use NAT64"),
        (IPNetwork.Parse("100::/64"), "discard-only"),
        (IPNetwork.Parse("2001::/32"), "Teredo"),
        (IPNetwork.Parse("2001:db8::/32"), "documentation"),
        (IPNetwork.Parse("3fff::/20"), "documentation"),
        (IPNetwork.Parse("fc00::/7"), "unique local"),
        (IPNetwork.Parse("fe80::/10"), "link-local"),
        (IPNetwork.Parse("fec0::/10"), "site-local"),
        (IPNetwork.Parse("ff00::/8"), "multicast"),
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    private readonly HashSet<string> _allowedHosts;
    private readonly IPNetwork[] _allowedNetworks;

    /// <exception cref="ArgumentException">An entry of the options is not a host name or CIDR range; the message lists every bad entry.</exception>
    public SsrfGuard(WebhookSecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        _allowedHosts = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.AllowedHosts.Count; i++)
        {
            if (TryParseHost(options.AllowedHosts[i], out var host, out var error)) _allowedHosts.Add(host);
            else errors.Add($"{nameof(WebhookSecurityOptions.AllowedHosts)}[{i}]: {error}");
        }
        var networks = new List<IPNetwork>();
        for (var i = 0; i < options.AllowedNetworks.Count; i++)
        {
            if (TryParseNetwork(options.AllowedNetworks[i], out var network, out var error)) networks.Add(network);
            else errors.Add($"{nameof(WebhookSecurityOptions.AllowedNetworks)}[{i}]: {error}");
        }
        if (errors.Count > 0)
            throw new ArgumentException("Invalid webhook security options: " + string.Join("; ", errors), nameof(options));
        _allowedNetworks = [.. networks];
    }

    /// <summary>
    /// The checks that need no DNS: an absolute http or https URL without user info, and, when its host is an IP
    /// literal, an allowed address. A host name passes here; its addresses are checked when connecting.
    /// </summary>
    public SsrfVerdict CheckUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri) return SsrfVerdict.Refuse("the URL is not absolute");
        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            return SsrfVerdict.Refuse($"scheme '{url.Scheme}' is not http or https");
        if (!string.IsNullOrEmpty(url.UserInfo)) return SsrfVerdict.Refuse("URLs with user info are refused");
        if (url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
            && IPAddress.TryParse(url.DnsSafeHost, out var literal))
            return CheckAddress(url.IdnHost, literal);
        if (url.HostNameType != UriHostNameType.Dns) return SsrfVerdict.Refuse($"host '{url.Host}' is not a DNS name or IP address");
        return SsrfVerdict.Allow;
    }

    /// <summary>Whether <paramref name="address"/>, which <paramref name="host"/> resolved to (or is), may be contacted.</summary>
    public SsrfVerdict CheckAddress(string host, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (IsAllowedHost(host)) return SsrfVerdict.Allow;
        var normalized = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var network in _allowedNetworks)
        {
            if (network.Contains(normalized) || network.Contains(address)) return SsrfVerdict.Allow;
        }
        var range = ForbiddenRange(address);
        return range is null
            ? SsrfVerdict.Allow
            : SsrfVerdict.Refuse($"{address} is in a refused range: {range}; allow-list it in {nameof(WebhookSecurityOptions.AllowedNetworks)} if it is meant");
    }

    /// <summary>Whether <paramref name="host"/> is in <see cref="WebhookSecurityOptions.AllowedHosts"/>.</summary>
    public bool IsAllowedHost(string? host) =>
        _allowedHosts.Count > 0 && host is not null && TryParseHost(host, out var normalized, out _) && _allowedHosts.Contains(normalized);

    /// <summary>The name of the special-purpose range <paramref name="address"/> is in, or null for a public unicast address.</summary>
    public static string? ForbiddenRange(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            foreach (var (network, name) in ForbiddenV4)
            {
                if (network.Contains(address)) return $"{name} ({network})";
            }
            return null;
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return "non-IP";
        if (address.IsIPv4MappedToIPv6) return Embedded("IPv4-mapped", address.MapToIPv4());
        foreach (var (network, name) in ForbiddenV6)
        {
            if (network.Contains(address)) return $"{name} ({network})";
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        if (Nat64.Contains(address)) return Embedded("NAT64", new IPAddress(bytes[12..]));
        if (SixToFour.Contains(address)) return Embedded("6to4", new IPAddress(bytes[2..6]));
        return null;
    }

    private static string? Embedded(string form, IPAddress v4) =>
        ForbiddenRange(v4) is { } inner ? $"{form} {inner}" : null;

    private static bool TryParseHost(string? value, out string host, out string error)
    {
        host = "";
        var trimmed = value?.Trim().TrimEnd('.') ?? "";
        if (trimmed.Length == 0)
        {
            error = "an empty host name";
            return false;
        }
        if (IPAddress.TryParse(trimmed.Trim('[', ']'), out _))
        {
            error = $"'{value}' is an IP address: put it in {nameof(WebhookSecurityOptions.AllowedNetworks)}";
            return false;
        }
        if (Uri.CheckHostName(trimmed) != UriHostNameType.Dns)
        {
            error = $"'{value}' is not a host name (no scheme, port, path or wildcard)";
            return false;
        }
        try
        {
            host = new IdnMapping().GetAscii(trimmed).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            error = $"'{value}' is not a valid host name";
            return false;
        }
        error = "";
        return true;
    }

    private static bool TryParseNetwork(string? value, out IPNetwork network, out string error)
    {
        network = default;
        var text = value?.Trim() ?? "";
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address)
            || address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            || (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0))
        {
            error = $"'{value}' is not a CIDR range (expected e.g. 10.20.0.0/16, fd00:1::/64 or 127.0.0.1)";
            return false;
        }
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = maxPrefix;
        if (slash >= 0
            && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > maxPrefix))
        {
            error = $"'{value}' has a prefix length that is not 0–{maxPrefix}";
            return false;
        }
        var masked = Mask(address, prefix);
        if (!masked.Equals(address))
        {
            error = $"'{value}' has bits set after the /{prefix} prefix; did you mean {masked}/{prefix}?";
            return false;
        }
        if (prefix == 0)
        {
            error = $"'{value}' allows every address, which turns the SSRF guard off";
            return false;
        }
        network = new IPNetwork(address, prefix);
        error = "";
        return true;
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }
}
