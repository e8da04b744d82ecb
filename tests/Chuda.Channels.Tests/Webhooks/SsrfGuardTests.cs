using System.Net;
using Chuda.Channels.Webhooks;

namespace Chuda.Channels.Tests.Webhooks;

public sealed class SsrfGuardTests
{
    private static readonly SsrfGuard Default = new(new WebhookSecurityOptions());

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.255.0.9", "loopback")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("172.16.5.4", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("100.64.0.1", "CGNAT")]
    [InlineData("100.127.255.254", "CGNAT")]
    [InlineData("0.0.0.0", "'this network'")]
    [InlineData("0.1.2.3", "'this network'")]
    [InlineData("255.255.255.255", "broadcast")]
    [InlineData("224.0.0.251", "multicast")]
    [InlineData("240.0.0.1", "reserved")]
    [InlineData("198.18.0.1", "benchmarking")]
    [InlineData("192.0.2.10", "documentation")]
    [InlineData("192.0.0.170", "IETF")]
    [InlineData("::", "unspecified")]
    [InlineData("::1", "loopback")]
    [InlineData("::ffff:127.0.0.1", "IPv4-mapped loopback")]
    [InlineData("::ffff:10.0.0.1", "IPv4-mapped private")]
    [InlineData("::ffff:169.254.169.254", "IPv4-mapped link-local")]
    [InlineData("::127.0.0.1", "IPv4-compatible")]
    [InlineData("fd00::1", "unique local")]
    [InlineData("fc00::1", "unique local")]
    [InlineData("fd00:ec2::254", "unique local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("fec0::1", "site-local")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("64:ff9b::a00:1", "NAT64 private")]
    [InlineData("64:ff9b::7f00:1", "NAT64 loopback")]
    [InlineData("64:ff9b::a9fe:a9fe", "NAT64 link-local")]
    [InlineData("64:ff9b:1::8.8.8.8", "local-use NAT64")]
    [InlineData("2002:7f00:1::1", "6to4 loopback")]
    [InlineData("2002:c0a8:101::1", "6to4 private")]
    [InlineData("2001:db8::1", "documentation")]
    [InlineData("2001:0:4136:e378::1", "Teredo")]
    public void Special_purpose_addresses_are_refused(string address, string range)
    {
        var verdict = Default.CheckAddress("hooks.example.com", IPAddress.Parse(address));
        Assert.False(verdict.Allowed);
        Assert.Contains(range, verdict.Reason, StringComparison.Ordinal);
        Assert.Contains("AllowedNetworks", verdict.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("172.32.0.1")]
    [InlineData("172.15.255.255")]
    [InlineData("100.128.0.1")]
    [InlineData("11.0.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("2002:808:808::1")]
    public void Public_unicast_addresses_are_allowed(string address)
    {
        Assert.Null(SsrfGuard.ForbiddenRange(IPAddress.Parse(address)));
        Assert.True(Default.CheckAddress("hooks.example.com", IPAddress.Parse(address)).Allowed);
    }

    [Fact]
    public void Allowed_networks_open_exactly_their_range_including_the_IPv4_mapped_form()
    {
        var guard = new SsrfGuard(new WebhookSecurityOptions { AllowedNetworks = ["127.0.0.1", "10.1.0.0/16", "fd00:1::/64"] });
        Assert.True(guard.CheckAddress("h", IPAddress.Parse("127.0.0.1")).Allowed);
        Assert.True(guard.CheckAddress("h", IPAddress.Parse("::ffff:127.0.0.1")).Allowed);
        Assert.False(guard.CheckAddress("h", IPAddress.Parse("127.0.0.2")).Allowed);
        Assert.True(guard.CheckAddress("h", IPAddress.Parse("10.1.200.3")).Allowed);
        Assert.False(guard.CheckAddress("h", IPAddress.Parse("10.2.0.1")).Allowed);
        Assert.True(guard.CheckAddress("h", IPAddress.Parse("fd00:1::5")).Allowed);
        Assert.False(guard.CheckAddress("h", IPAddress.Parse("fd00:2::5")).Allowed);
        Assert.False(guard.CheckAddress("h", IPAddress.Parse("169.254.169.254")).Allowed);
    }

    [Fact]
    public void Allowed_hosts_may_resolve_anywhere_other_names_may_not()
    {
        var guard = new SsrfGuard(new WebhookSecurityOptions { AllowedHosts = ["Hooks.Internal.Example."] });
        Assert.True(guard.CheckAddress("hooks.internal.example", IPAddress.Parse("10.0.0.7")).Allowed);
        Assert.True(guard.CheckAddress("HOOKS.internal.example", IPAddress.Parse("10.0.0.7")).Allowed);
        Assert.True(guard.IsAllowedHost("hooks.internal.example"));
        Assert.False(guard.CheckAddress("evil.internal.example", IPAddress.Parse("10.0.0.7")).Allowed);
        Assert.False(guard.CheckAddress("internal.example", IPAddress.Parse("10.0.0.7")).Allowed);
        Assert.False(guard.CheckAddress("localhost", IPAddress.Loopback).Allowed);
    }

    [Theory]
    [InlineData("https://hooks.example.com/chuda?x=1", true, null)]
    [InlineData("http://hooks.example.com:8080/", true, null)]
    [InlineData("http://8.8.8.8/", true, null)]
    [InlineData("ftp://hooks.example.com/", false, "scheme 'ftp'")]
    [InlineData("file:///etc/passwd", false, "scheme 'file'")]
    [InlineData("gopher://hooks.example.com/", false, "scheme 'gopher'")]
    [InlineData("http://user:pass@hooks.example.com/", false, "user info")]
    [InlineData("http://token@hooks.example.com/", false, "user info")]
    [InlineData("http://127.0.0.1:8080/", false, "loopback")]
    [InlineData("http://2130706433/", false, "loopback")]
    [InlineData("http://0x7f.1/", false, "loopback")]
    [InlineData("http://[::1]/", false, "loopback")]
    [InlineData("http://[::ffff:169.254.169.254]/", false, "link-local")]
    [InlineData("http://169.254.169.254/latest/meta-data/", false, "link-local")]
    public void Urls_are_checked_for_scheme_user_info_and_literal_addresses(string url, bool allowed, string? reason)
    {
        var verdict = Default.CheckUrl(new Uri(url));
        Assert.Equal(allowed, verdict.Allowed);
        if (reason is not null) Assert.Contains(reason, verdict.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.1/8", "AllowedNetworks[0]: '10.0.0.1/8' has bits set after the /8 prefix; did you mean 10.0.0.0/8?")]
    [InlineData("10.0.0.0/33", "prefix length that is not 0–32")]
    [InlineData("fd00::/129", "prefix length that is not 0–128")]
    [InlineData("10.0.0.0/", "prefix length")]
    [InlineData("10.0.0.0/-1", "prefix length")]
    [InlineData("example.com/8", "is not a CIDR range")]
    [InlineData("", "is not a CIDR range")]
    [InlineData("0.0.0.0/0", "turns the SSRF guard off")]
    [InlineData("::/0", "turns the SSRF guard off")]
    public void Bad_networks_are_refused_with_a_clear_error(string network, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => new SsrfGuard(new WebhookSecurityOptions { AllowedNetworks = [network] }));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1", "is an IP address: put it in AllowedNetworks")]
    [InlineData("[::1]", "is an IP address")]
    [InlineData("*.example.com", "is not a host name")]
    [InlineData("http://hooks.example.com", "is not a host name")]
    [InlineData("hooks.example.com:8080", "is not a host name")]
    [InlineData(" ", "empty host name")]
    public void Bad_hosts_are_refused_with_a_clear_error(string host, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => new SsrfGuard(new WebhookSecurityOptions { AllowedHosts = [host] }));
        Assert.Contains("AllowedHosts[0]", error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bad_entry_is_reported_at_once()
    {
        var error = Assert.Throws<ArgumentException>(() => new SsrfGuard(new WebhookSecurityOptions
        {
            AllowedHosts = ["ok.example.com", "*"],
            AllowedNetworks = ["10.0.0.0/8", "10.0.0.1/8", "nope"],
        }));
        Assert.Contains("AllowedHosts[1]", error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowedNetworks[1]", error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowedNetworks[2]", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("AllowedNetworks[0]", error.Message, StringComparison.Ordinal);
    }
}
