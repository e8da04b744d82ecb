using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Domain.Delivery;
using Chuda.Storage;

namespace Chuda.Engine.Delivery;

/// <summary>What delivery needs to know about one workspace: its policy, zone, signing keys and provider instances.</summary>
public sealed class WorkspaceDelivery
{
    public required long WorkspaceId { get; init; }
    public required DeliverySettings Settings { get; init; }
    public required string? TimeZone { get; init; }
    public required LinkSigner Links { get; init; }
    public required string InboxSecret { get; init; }
    public required bool TemplateApprovals { get; init; }
    /// <summary>Enabled providers per channel, in failover order.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<ProviderRuntime>> Providers { get; init; }
    public required DateTimeOffset LoadedAt { get; init; }
}

/// <summary>
/// Snapshots of each workspace's delivery configuration, read from the store and reused for
/// <see cref="DeliveryOptions.CatalogRefresh"/> (or until this process changes them). Provider instances are created
/// from their stored configuration by the registered <see cref="IProviderFactory"/>s and disposed when replaced.
/// </summary>
public sealed class DeliveryCatalog : IAsyncDisposable
{
    public const string SigningKeySetting = "delivery.signing_key";
    public const string InboxSecretSetting = "inbox.secret";
    public const string TemplateApprovalsSetting = "templates.approvals";

    private readonly IChudaStore _store;
    private readonly TimeProvider _time;
    private readonly DeliveryOptions _options;
    private readonly IReadOnlyDictionary<string, IProviderFactory> _factories;
    private readonly ConcurrentDictionary<long, WorkspaceDelivery> _workspaces = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<IChannelProvider> _retired = [];
    private readonly CancellationTokenSource _disposing = new();
    private readonly Dictionary<(long Workspace, string Id), ProviderRuntime> _instances = [];
    private readonly ConcurrentDictionary<(long Workspace, string Id), ProviderCounters> _counters = new();
    private readonly ProviderReportQueue _reports;

    public DeliveryCatalog(IChudaStore store, TimeProvider time, DeliveryOptions options, IEnumerable<IProviderFactory> factories, ProviderReportQueue? reports = null)
    {
        _store = store;
        _time = time;
        _options = options;
        _factories = factories.ToDictionary(f => f.Kind, StringComparer.Ordinal);
        _reports = reports ?? new ProviderReportQueue(time);
    }

    /// <summary>Where this catalog's providers put their receipts and inbound messages.</summary>
    public ProviderReportQueue Reports => _reports;

    public IReadOnlyDictionary<string, IProviderFactory> Factories => _factories;

    public DeliveryOptions Options => _options;

    /// <summary>The workspace's snapshot, loading it when missing or older than the refresh interval.</summary>
    public async ValueTask<WorkspaceDelivery> GetAsync(long workspaceId, CancellationToken ct)
    {
        if (_workspaces.TryGetValue(workspaceId, out var w) && _time.GetUtcNow() - w.LoadedAt < _options.CatalogRefresh) return w;
        await _gate.WaitAsync(ct);
        try
        {
            if (_workspaces.TryGetValue(workspaceId, out w) && _time.GetUtcNow() - w.LoadedAt < _options.CatalogRefresh) return w;
            var loaded = await LoadAsync(workspaceId, ct);
            _workspaces[workspaceId] = loaded;
            return loaded;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets a workspace's snapshot (after this process changed its policy or providers).</summary>
    public void Invalidate(long workspaceId) => _workspaces.TryRemove(workspaceId, out _);

    /// <summary>The provider used for <paramref name="channel"/> when none is configured: the built-in inbox for in-app, else
    /// the sandbox.</summary>
    public static IChannelProvider DefaultProviderFor(string channel) =>
        channel == ChannelNames.InApp ? BuiltInInbox : new SandboxProvider(SandboxProvider.KindName, channel);

    private static readonly InAppProvider BuiltInInbox = new("inbox");

    /// <summary>Where the vendor of provider <paramref name="id"/> sends its callbacks (served by the host's callbacks endpoint).</summary>
    public Uri CallbackUrl(long workspaceId, string id) =>
        new(_options.PublicBaseUrl, $"callbacks/{workspaceId.ToString(System.Globalization.CultureInfo.InvariantCulture)}/{Uri.EscapeDataString(id)}");

    /// <summary>The configured, enabled provider <paramref name="id"/> of the workspace, or null.</summary>
    public async ValueTask<ProviderRuntime?> FindProviderAsync(long workspaceId, string id, CancellationToken ct)
    {
        var w = await GetAsync(workspaceId, ct);
        return w.Providers.Values.SelectMany(l => l).FirstOrDefault(p => p.Id == id);
    }

    /// <summary>Health of every configured provider of the workspace (disabled ones too, with their counters so far).</summary>
    public async Task<IReadOnlyList<ProviderHealth>> HealthAsync(long workspaceId, CancellationToken ct)
    {
        var w = await GetAsync(workspaceId, ct);
        var running = w.Providers.Values.SelectMany(l => l).ToDictionary(p => p.Id, StringComparer.Ordinal);
        var list = new List<ProviderHealth>();
        foreach (var record in await _store.ListProvidersAsync(workspaceId, ct))
        {
            list.Add(running.TryGetValue(record.Id, out var rt)
                ? rt.Health()
                : _counters.GetOrAdd((workspaceId, record.Id), _ => new ProviderCounters()).Snapshot(record, record.Enabled ? "closed" : "disabled", null));
        }
        return list;
    }

    private async Task<WorkspaceDelivery> LoadAsync(long workspaceId, CancellationToken ct)
    {
        var settings = await _store.GetWorkspaceSettingsAsync(workspaceId, ct);
        var policy = DeliverySettings.Default;
        if (settings.TryGetValue(DeliverySettings.SettingName, out var json))
        {
            using var doc = JsonDocument.Parse(json);
            var errors = new List<(string, string)>();
            var parsed = DeliverySettings.Parse(doc.RootElement, errors);
            if (errors.Count == 0) policy = parsed;
        }
        if (!settings.TryGetValue(SigningKeySetting, out var key))
        {
            key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            await _store.SetWorkspaceSettingAsync(workspaceId, SigningKeySetting, key, ct);
        }
        if (!settings.TryGetValue(InboxSecretSetting, out var inbox))
        {
            inbox = "inbox_" + LinkSigner.Base64Url(RandomNumberGenerator.GetBytes(24));
            await _store.SetWorkspaceSettingAsync(workspaceId, InboxSecretSetting, inbox, ct);
        }

        var providers = new Dictionary<string, IReadOnlyList<ProviderRuntime>>(StringComparer.Ordinal);
        foreach (var group in (await _store.ListProvidersAsync(workspaceId, ct)).Where(p => p.Enabled).GroupBy(p => p.Channel))
        {
            var list = new List<ProviderRuntime>();
            foreach (var record in group.OrderBy(p => p.Priority).ThenBy(p => p.Id, StringComparer.Ordinal))
            {
                if (!_factories.TryGetValue(record.Kind, out var factory)) continue;
                // An unchanged provider keeps its instance (its connections, its circuit state).
                if (_instances.TryGetValue((workspaceId, record.Id), out var known) && known.Record == record)
                {
                    list.Add(known);
                    continue;
                }
                using var config = JsonDocument.Parse(record.ConfigJson);
                var provider = factory.Create(record.Id, record.Channel, config.RootElement.Clone(), _reports.For(workspaceId, record.Id, record.Channel, () => CallbackUrl(workspaceId, record.Id)));
                if (known is not null)
                {
                    Retire(known.Provider);
                }
                var runtime = new ProviderRuntime(record, provider, _counters.GetOrAdd((workspaceId, record.Id), _ => new ProviderCounters()), _time, _options);
                _instances[(workspaceId, record.Id)] = runtime;
                list.Add(runtime);
            }
            providers[group.Key] = list;
        }

        return new WorkspaceDelivery
        {
            WorkspaceId = workspaceId,
            Settings = policy,
            TimeZone = settings.GetValueOrDefault(Journeys.JourneyService.TimeZoneSetting),
            Links = new LinkSigner(Convert.FromBase64String(key)),
            InboxSecret = inbox,
            TemplateApprovals = settings.GetValueOrDefault(TemplateApprovalsSetting) == "true",
            Providers = providers,
            LoadedAt = _time.GetUtcNow(),
        };
    }

    /// <summary>A replaced provider may still be in a send: it is disposed once the longest send could have ended (closing its
    /// connections — an SMPP session is unbound, an SMTP pool closed), or with the catalog, whichever comes first.</summary>
    private void Retire(IChannelProvider provider)
    {
        lock (_retired) _retired.Add(provider);
        _ = DisposeLaterAsync(provider);
    }

    private async Task DisposeLaterAsync(IChannelProvider provider)
    {
        try
        {
            await Task.Delay(_options.ProviderTimeout + TimeSpan.FromSeconds(5), _time, _disposing.Token);
        }
        catch (OperationCanceledException)
        {
            return; // the catalog is being disposed: it disposes the provider itself
        }
        bool mine;
        lock (_retired) mine = _retired.Remove(provider);
        if (mine) await provider.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _disposing.CancelAsync();
        var all = _instances.Values.Select(i => i.Provider).ToList();
        lock (_retired)
        {
            all.AddRange(_retired);
            _retired.Clear();
        }
        _workspaces.Clear();
        foreach (var p in all.Distinct()) await p.DisposeAsync();
        _gate.Dispose();
        _disposing.Dispose();
    }
}
