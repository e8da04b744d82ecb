namespace Chuda.Channels.Webhooks;

/// <summary>
/// Exceptions to the SSRF rules (see <see cref="SsrfGuard"/>), for webhooks that really do go to an internal
/// service. Both lists are empty by default: only public addresses may be contacted.
/// </summary>
public sealed record WebhookSecurityOptions
{
    /// <summary>
    /// Host names (exactly, case-insensitive, no wildcards) that may be contacted whatever they resolve to,
    /// e.g. <c>hooks.internal.example</c>. IP addresses go in <see cref="AllowedNetworks"/>.
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>CIDR ranges that may be contacted, e.g. <c>10.20.0.0/16</c>, <c>fd00:1::/64</c> or a single <c>127.0.0.1</c>.</summary>
    public IReadOnlyList<string> AllowedNetworks { get; init; } = [];
}
