using System.Globalization;
using System.Text;
using System.Text.Json;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Domain.Workspaces;
using Chuda.Engine.Journeys;
using Chuda.Engine.Profiles;
using Chuda.Engine.Scheduling;
using Chuda.Engine.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Chuda.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chuda.Engine.Tests;

/// <summary>The engine wired as the server wires it (partitions with the segment stage, scheduler, backfill,
/// service) on a real SQLite store, with a fake clock; <see cref="RestartAsync"/> reopens everything on the same data.</summary>
internal sealed class SegmentHarness : IAsyncDisposable
{
    private readonly string _dataPath;
    private readonly bool _durable;
    private int _messages;

    private SegmentHarness(string dataPath, FakeTimeProvider time, bool durable)
    {
        _dataPath = dataPath;
        _durable = durable;
        Time = time;
    }

    public FakeTimeProvider Time { get; }

    public IChudaStore Store { get; private set; } = null!;

    public SegmentCatalog Catalog { get; private set; } = null!;

    public ProfilePartitions Partitions { get; private set; } = null!;

    public SegmentScheduler Scheduler { get; private set; } = null!;

    public SegmentBackfill Backfill { get; private set; } = null!;

    public SegmentService Service { get; private set; } = null!;

    public WorkspaceDirectory Directory { get; private set; } = null!;

    public JourneyCatalog Journeys { get; private set; } = null!;

    public JourneyScheduler Timers { get; private set; } = null!;

    public JourneyRunner Runner { get; private set; } = null!;

    public JourneyService JourneyService { get; private set; } = null!;

    public WebhookDispatcher Webhooks { get; private set; } = null!;

    public JourneyOptions JourneyOptions { get; set; } = new() { WebhookAllowedNetworks = ["127.0.0.0/8"] };

    public Workspace Workspace { get; private set; } = null!;

    public Chuda.Engine.Delivery.DeliveryOptions DeliveryOptions { get; set; } = new() { QuickRetries = 0 };

    /// <summary>The tests' recording provider kind (<c>test</c>), registered beside the built-in ones.</summary>
    public Delivery.RecordingProviderFactory Recorder { get; } = new();

    public Chuda.Engine.Delivery.DeliveryCatalog DeliveryCatalog { get; private set; } = null!;

    public Chuda.Engine.Delivery.DeliveryDispatcher Dispatcher { get; private set; } = null!;

    public Chuda.Engine.Delivery.DeliveryService Delivery { get; private set; } = null!;

    public Chuda.Engine.Delivery.InboxHub Inbox { get; private set; } = null!;

    /// <param name="durable">False: SQLite without fsync on commit, for tests that commit thousands of times.</param>
    public static async Task<SegmentHarness> StartAsync(string dataPath, FakeTimeProvider time, bool durable = true)
    {
        var h = new SegmentHarness(dataPath, time, durable);
        await h.OpenAsync();
        h.Workspace = (await h.Directory.CreateAsync("w", false, null, null, CancellationToken.None)).Workspace;
        return h;
    }

    private async Task OpenAsync()
    {
        Store = await StoreFactory.OpenAsync(new StoreOptions(null, _dataPath) { SqliteSynchronousFull = _durable }, CancellationToken.None);
        await Store.MigrateAsync(CancellationToken.None);
        var options = new EngineOptions();
        Directory = new WorkspaceDirectory(Store, Time, options);
        Catalog = new SegmentCatalog(Store);
        await Catalog.RefreshAsync(CancellationToken.None);
        var segmentOptions = new SegmentOptions();
        Journeys = new JourneyCatalog(Store);
        await Journeys.RefreshAsync(CancellationToken.None);
        Partitions = new ProfilePartitions(Store, Directory, options, NullLogger<ProfilePartitions>.Instance, Time, Catalog, Journeys, JourneyOptions);
        await Partitions.StartAsync(CancellationToken.None);
        Timers = new JourneyScheduler(Store, Partitions, Journeys, Time, NullLogger<JourneyScheduler>.Instance, JourneyOptions);
        Runner = new JourneyRunner(Store, Partitions, Journeys, Catalog, Time, NullLogger<JourneyRunner>.Instance, JourneyOptions);
        JourneyService = new JourneyService(Store, Journeys, Catalog, Partitions, Time);
        Webhooks = new WebhookDispatcher(Store, Journeys, Time, NullLogger<WebhookDispatcher>.Instance,
            NullLogger<Chuda.Channels.Webhooks.WebhookClient>.Instance, JourneyOptions);
        Scheduler = new SegmentScheduler(Store, Partitions, Catalog, Time, NullLogger<SegmentScheduler>.Instance, segmentOptions);
        Backfill = new SegmentBackfill(Store, Partitions, Catalog, Time, NullLogger<SegmentBackfill>.Instance, segmentOptions);
        Service = new SegmentService(Store, Catalog, Time, segmentOptions);
        var client = new Chuda.Channels.Webhooks.WebhookClient(new Chuda.Channels.Webhooks.WebhookClientOptions
        {
            Security = new Chuda.Channels.Webhooks.WebhookSecurityOptions { AllowedNetworks = ["127.0.0.0/8"] },
        }, Time);
        Reports = new Chuda.Engine.Delivery.ProviderReportQueue(Time);
        DeliveryCatalog = new Chuda.Engine.Delivery.DeliveryCatalog(Store, Time, DeliveryOptions,
        [
            new Chuda.Channels.Providers.SandboxProviderFactory(), new Chuda.Channels.Providers.InAppProviderFactory(),
            new Chuda.Channels.Providers.WebhookChannelProviderFactory(client), Recorder,
        ], Reports);
        var composer = new Chuda.Engine.Delivery.MessageComposer(Store, DeliveryOptions);
        Dispatcher = new Chuda.Engine.Delivery.DeliveryDispatcher(Store, DeliveryCatalog, composer, Time, DeliveryOptions,
            NullLogger<Chuda.Engine.Delivery.DeliveryDispatcher>.Instance);
        Inbox = new Chuda.Engine.Delivery.InboxHub(Dispatcher);
        Delivery = new Chuda.Engine.Delivery.DeliveryService(Store, DeliveryCatalog, composer, Dispatcher, Inbox, Time);
        ReportWorker = new Chuda.Engine.Delivery.ProviderReportWorker(Reports, Store, Delivery, Time, DeliveryOptions,
            NullLogger<Chuda.Engine.Delivery.ProviderReportWorker>.Instance);
    }

    /// <summary>Provider reports (receipts, inbound messages); <see cref="ApplyReportsAsync"/> applies the queued ones.</summary>
    public Chuda.Engine.Delivery.ProviderReportQueue Reports { get; private set; } = null!;

    public Chuda.Engine.Delivery.ProviderReportWorker ReportWorker { get; private set; } = null!;

    /// <summary>Applies every queued provider report; returns those whose message was not found.</summary>
    public async Task<List<Chuda.Engine.Delivery.ProviderReportItem>> ApplyReportsAsync()
    {
        var unmatched = new List<Chuda.Engine.Delivery.ProviderReportItem>();
        while (Reports.Reader.TryRead(out var item))
        {
            if (!await ReportWorker.ApplyAsync(item, CancellationToken.None)) unmatched.Add(item);
        }
        return unmatched;
    }

    /// <summary>Stops the engine and closes the store (as a process exit would), then opens a new engine on the same data.</summary>
    public async Task RestartAsync()
    {
        await Partitions.StopAsync(CancellationToken.None);
        await DeliveryCatalog.DisposeAsync();
        Dispatcher.Dispose();
        await Store.DisposeAsync();
        await OpenAsync();
    }

    public async Task<SegmentDefinition> CreateSegmentAsync(string id, string rule)
    {
        using var doc = JsonDocument.Parse(rule);
        return await Service.CreateAsync(Workspace.Id, new SegmentInput(id, id, null, doc.RootElement.Clone()), CancellationToken.None);
    }

    /// <summary>Sends one Segment message (JSON with a "type"); messageId and timestamp (the clock) are filled in when absent.</summary>
    public async Task SendAsync(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        node["messageId"] ??= "m" + (++_messages).ToString(CultureInfo.InvariantCulture);
        node["timestamp"] ??= Time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var parsed = SegmentParser.ParseLine(Encoding.UTF8.GetBytes(node.ToJsonString()), Time.GetUtcNow(), () => "unused", "");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
        await Partitions.SubmitAsync([new IngestMessage(Workspace.Id, Assert.Single(parsed.Messages))], CancellationToken.None);
    }

    public Task<CommandOutcome[]> SubmitAsync(ProfileCommand command) => Partitions.SubmitAsync([command], CancellationToken.None);

    public async Task<long> ProfileIdAsync(string userId) =>
        await Store.FindProfileIdAsync(Workspace.Id, new IdentityKey(IdentityKinds.UserId, userId), CancellationToken.None)
        ?? throw new InvalidOperationException($"No profile {userId}.");

    public async Task<bool> IsMemberAsync(string segmentId, long profileId)
    {
        var segment = await Store.GetSegmentAsync(Workspace.Id, segmentId, CancellationToken.None);
        return (await Store.GetProfileMembershipsAsync(Workspace.Id, profileId, CancellationToken.None)).Any(m => m.SegmentKey == segment!.Key);
    }

    public async Task<bool> IsMemberAsync(string segmentId, string userId) => await IsMemberAsync(segmentId, await ProfileIdAsync(userId));

    public async Task<IReadOnlyList<SegmentChange>> ChangesAsync(string segmentId)
    {
        var segment = await Store.GetSegmentAsync(Workspace.Id, segmentId, CancellationToken.None);
        return await Store.GetSegmentChangesAsync(Workspace.Id, segment!.Key, 0, 10_000, CancellationToken.None);
    }

    /// <summary>Moves the clock to <paramref name="at"/> and fires what is due (segment re-checks, journey runs and timers),
    /// as the schedulers' loops would.</summary>
    public async Task AdvanceToAsync(DateTimeOffset at)
    {
        Time.SetUtcNow(at);
        await Scheduler.FireDueAsync(CancellationToken.None);
        await Runner.RunDueAsync(CancellationToken.None);
        await Timers.FireDueAsync(CancellationToken.None);
        await Scheduler.FireDueAsync(CancellationToken.None);
        if (RunDelivery) await Dispatcher.RunDueAsync(CancellationToken.None);
    }

    /// <summary>Whether <see cref="AdvanceToAsync"/> and <see cref="RunUntilAsync"/> also run the delivery dispatcher.</summary>
    public bool RunDelivery { get; set; }

    /// <summary>Advances the clock in steps of at most <paramref name="step"/> up to <paramref name="until"/>, firing what comes due
    /// at each instant a timer is due (so every timer fires at its own due time, as in production).</summary>
    public async Task RunUntilAsync(DateTimeOffset until)
    {
        while (true)
        {
            var next = await DueWork.NextAsync(Store, CancellationToken.None, RunDelivery) ?? DateTimeOffset.MaxValue;
            if (next > until) break;
            await AdvanceToAsync(next > Time.GetUtcNow() ? next : Time.GetUtcNow());
        }
        if (Time.GetUtcNow() < until) await AdvanceToAsync(until);
    }

    /// <summary>Creates and publishes a journey from its JSON definition.</summary>
    public async Task<Chuda.Domain.Journeys.JourneyRecord> PublishJourneyAsync(string id, string definitionJson)
    {
        using var doc = JsonDocument.Parse(definitionJson);
        await JourneyService.CreateAsync(Workspace.Id, id, doc.RootElement.Clone(), "test", CancellationToken.None);
        return (await JourneyService.PublishAsync(Workspace.Id, id, null, false, "test", CancellationToken.None)).Journey;
    }

    public async Task<IReadOnlyList<Chuda.Domain.Journeys.SendRequest>> SendsAsync(string? userId = null) =>
        await Store.GetSendRequestsAsync(Workspace.Id, userId is null ? null : await ProfileIdAsync(userId), null, 0, 100_000, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await Partitions.StopAsync(CancellationToken.None);
        await DeliveryCatalog.DisposeAsync();
        Dispatcher.Dispose();
        await Store.DisposeAsync();
    }
}
