namespace Chuda.Channels.Sms.Smpp;

/// <summary>How an <see cref="SmppClient"/> connects, binds and paces itself.</summary>
public sealed record SmppClientOptions
{
    public required string Host { get; init; }
    public int Port { get; init; } = 2775;
    public required string SystemId { get; init; }
    public string Password { get; init; } = "";
    public string SystemType { get; init; } = "";

    /// <summary>submit_sm PDUs in flight at once (sent, response not yet in); 1–1000. A keep-alive enquire_link is not counted.</summary>
    public int Window { get; init; } = 10;

    /// <summary>How long a request waits for its response before it fails (and, for enquire_link, the link is dropped).</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>An enquire_link is sent when nothing has been received for this long.</summary>
    public TimeSpan EnquireLinkInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connecting and binding, together, must finish within this.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first wait before reconnecting after a failed attempt; doubled after each further failure…</summary>
    public TimeSpan ReconnectDelayMin { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>…up to this.</summary>
    public TimeSpan ReconnectDelayMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The pause of the whole session after ESME_RTHROTTLED or ESME_RMSGQFUL; doubled while throttling goes on…</summary>
    public TimeSpan ThrottleDelayMin { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>…up to this.</summary>
    public TimeSpan ThrottleDelayMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host)) throw new ArgumentException("Host is required", nameof(Host));
        if (Port is < 1 or > 65535) throw new ArgumentException("Port must be 1-65535", nameof(Port));
        if (Window is < 1 or > 1000) throw new ArgumentException("Window must be 1-1000", nameof(Window));
        foreach (var (value, name) in new[]
                 {
                     (ResponseTimeout, nameof(ResponseTimeout)), (EnquireLinkInterval, nameof(EnquireLinkInterval)), (ConnectTimeout, nameof(ConnectTimeout)),
                     (ReconnectDelayMin, nameof(ReconnectDelayMin)), (ReconnectDelayMax, nameof(ReconnectDelayMax)), (ThrottleDelayMin, nameof(ThrottleDelayMin)),
                     (ThrottleDelayMax, nameof(ThrottleDelayMax)),
                 })
        {
            if (value <= TimeSpan.Zero) throw new ArgumentException($"{name} must be positive", name);
        }
        if (ReconnectDelayMax < ReconnectDelayMin) throw new ArgumentException("ReconnectDelayMax is below ReconnectDelayMin", nameof(ReconnectDelayMax));
        if (ThrottleDelayMax < ThrottleDelayMin) throw new ArgumentException("ThrottleDelayMax is below ThrottleDelayMin", nameof(ThrottleDelayMax));
        // The bind checks these again; failing here says so at configuration time.
        _ = new SmppBind(SystemId, Password, SystemType).EncodeBody();
    }

    public override string ToString() => $"SmppClientOptions {{ {SystemId}@{Host}:{Port}, window {Window} }}";
}
