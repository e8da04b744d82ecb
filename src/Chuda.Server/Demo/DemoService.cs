using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Engine.Delivery;
using Chuda.Engine.Journeys;
using Chuda.Engine.Profiles;
using Chuda.Engine.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Server.Hosting;
using Chuda.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Chuda.Server.Demo;

/// <summary>The default workspace holds data that is not the demo's: the demo leaves it alone.</summary>
public sealed class DemoRefusedException(string message) : Exception(message);

/// <summary>What the demo did at start: seeded the workspace now, or found it seeded and resumed.</summary>
public sealed record DemoStart(long WorkspaceId, bool Seeded, int Profiles, int Events, int Templates, int Segments, int Journeys);

/// <summary>
/// <c>chuda serve --demo</c>. Once the server listens, seeds workspace <c>default</c> (unless its <c>demo.seeded</c>
/// setting says it was seeded before) with the synthetic shop — templates, the shoppers' history through the ingestion
/// pipeline, segments (waiting for their backfill), published journeys — and then keeps a few shoppers acting every
/// second: browsing, adding to the cart, ordering (some within the journey's wait, some after the reminder, some never),
/// signing up. Everything goes through the real engine; nothing is counted by hand.
/// </summary>
public sealed class DemoService(
    DemoOptions options,
    ServeOptions serve,
    IChudaStore store,
    WorkspaceDirectory directory,
    ProfilePartitions partitions,
    SegmentService segments,
    JourneyService journeys,
    DeliveryService delivery,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    IServer server,
    ILogger<DemoService> logger) : BackgroundService
{
    /// <summary>Workspace setting written when seeding finished; its presence makes a restart resume instead of seeding again.</summary>
    public const string SeededSetting = "demo.seeded";

    /// <summary>Workspace setting written when seeding starts: an interrupted seeding is continued, not refused.</summary>
    public const string SeedingSetting = "demo.seeding";

    private const string Actor = "demo";
    private const int ChunkEvents = 1000;

    private readonly TaskCompletionSource<DemoStart> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _activityEvents;

    /// <summary>Completes when the workspace is seeded (or found seeded) and the activity starts; faults if seeding failed.</summary>
    public Task<DemoStart> Started => _started.Task;

    /// <summary>Events the activity generator has ingested since this start.</summary>
    public long ActivityEvents => Interlocked.Read(ref _activityEvents);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // The console must come up at once: seed only once the server listens.
            await WhenStartedAsync(stoppingToken);
            var start = await SeedAsync(stoppingToken);
            _started.TrySetResult(start);
            await PrintAsync(start);
            if (options.Activity) await RunActivityAsync(start.WorkspaceId, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _started.TrySetCanceled(stoppingToken);
        }
        catch (OverloadedException) when (stoppingToken.IsCancellationRequested)
        {
            _started.TrySetCanceled(stoppingToken); // shutting down while a batch was being handed over
        }
        catch (DemoRefusedException ex)
        {
            DemoLog.Refused(logger, ex.Message);
            _started.TrySetException(ex);
        }
        catch (Exception ex)
        {
            DemoLog.Failed(logger, ex);
            _started.TrySetException(ex);
        }
    }

    private async Task WhenStartedAsync(CancellationToken ct)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(ct);
    }

    /// <summary>Where people sign in: the public URL when one is configured, else the address the server listens on.</summary>
    private string Url() =>
        serve.PublicUrl?.ToString() ?? server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()?.TrimEnd('/') + "/";

    private async Task PrintAsync(DemoStart start)
    {
        var key = serve.AdminKey is not null ? "the admin key in CHUDA_ADMIN_KEY" : "the admin key printed when the store was created";
        var every = options.ActivityInterval.TotalSeconds;
        var line = start.Seeded
            ? string.Create(CultureInfo.InvariantCulture,
                $"Demo: seeded workspace 'default' with {start.Profiles:N0} shoppers ({start.Events:N0} events), {start.Templates} templates, {start.Segments} segments and {start.Journeys} published journeys; shoppers now act every {every:0.##} s. Sign in at {Url()} with {key}.")
            : string.Create(CultureInfo.InvariantCulture,
                $"Demo: workspace 'default' was seeded before; its shoppers act again every {every:0.##} s. Sign in at {Url()} with {key}.");
        await serve.Console.WriteLineAsync(line);
    }

    // ---- seeding -------------------------------------------------------------------------------

    private async Task<DemoStart> SeedAsync(CancellationToken ct)
    {
        var ws = await directory.FindAsync(WorkspaceDirectory.DefaultWorkspace, ct)
            ?? throw new InvalidOperationException("The demo needs workspace 'default'; this store has other workspaces but not that one.");
        var settings = await store.GetWorkspaceSettingsAsync(ws.Id, ct);
        if (settings.TryGetValue(SeededSetting, out var marker))
        {
            DemoLog.Resuming(logger, marker);
            return new DemoStart(ws.Id, false, 0, 0, 0, 0, 0);
        }

        // Never mix the demo into real data: its shoppers would act there, and real providers would really send to them.
        // An earlier, interrupted seeding left "demo.seeding" and is simply continued.
        if (!settings.ContainsKey(SeedingSetting))
        {
            var profiles = await store.CountProfilesAsync(ws.Id, ct);
            var journeyCount = (await store.ListJourneysAsync(ws.Id, ct)).Count;
            var providers = (await store.ListProvidersAsync(ws.Id, ct)).Count;
            if (profiles > 0 || journeyCount > 0 || providers > 0)
                throw new DemoRefusedException(string.Create(CultureInfo.InvariantCulture,
                    $"Demo: workspace 'default' already holds data that is not the demo's ({profiles} profiles, {journeyCount} journeys, {providers} providers); not seeding. Run the demo on a data directory of its own, e.g. ./chuda serve --demo --data .chuda-demo"));
            await store.SetWorkspaceSettingAsync(ws.Id, SeedingSetting, DemoShop.Iso(time.GetUtcNow()), ct);
        }

        DemoLog.Seeding(logger, options.Profiles, options.Seed);
        // A shop in China: broadcasts and profiles without a zone use Shanghai time. Quiet hours are off so that the
        // accelerated journeys' reminders show up in the sandbox whatever the hour (the rest of the policy is the default).
        if (!settings.ContainsKey(JourneyService.TimeZoneSetting)) await store.SetWorkspaceSettingAsync(ws.Id, JourneyService.TimeZoneSetting, "Asia/Shanghai", ct);
        using (var policy = JsonDocument.Parse("""{"quietHours": null}"""))
        {
            await delivery.SetPolicyAsync(ws.Id, policy.RootElement, Actor, ct);
        }

        var templates = 0;
        foreach (var t in DemoContent.Templates)
        {
            if (await store.GetTemplateVersionAsync(ws.Id, t.Id, null, ct) is not null) continue;
            await delivery.SaveTemplateAsync(ws.Id, t.Id, t.Json, null, Actor, ct);
            templates++;
        }

        var events = await IngestHistoryAsync(ws.Id, ct);

        var created = 0;
        foreach (var s in DemoContent.Segments)
        {
            if (await store.GetSegmentAsync(ws.Id, s.Id, ct) is not null) continue;
            using var rule = JsonDocument.Parse(s.Json);
            await segments.CreateAsync(ws.Id, new SegmentInput(s.Id, s.Name, null, rule.RootElement.Clone()), ct);
            created++;
        }
        await WaitForBackfillAsync(ws.Id, ct);

        var published = 0;
        foreach (var j in DemoContent.Journeys(options))
        {
            var existing = await store.GetJourneyAsync(ws.Id, j.Id, ct);
            if (existing is null)
            {
                using var doc = JsonDocument.Parse(j.Json);
                await journeys.CreateAsync(ws.Id, j.Id, doc.RootElement, Actor, ct);
            }
            if (existing?.LiveVersion is null)
            {
                var result = await journeys.PublishAsync(ws.Id, j.Id, null, false, Actor, ct);
                if (result.PendingApproval) DemoLog.AwaitingApproval(logger, j.Id);
                else published++;
            }
        }

        var at = time.GetUtcNow();
        await store.SetWorkspaceSettingAsync(ws.Id, SeededSetting,
            $"{options.Profiles} profiles, seed {options.Seed}, at {DemoShop.Iso(at)}", ct);
        DemoLog.Seeded(logger, options.Profiles, events, templates, created, published);
        return new DemoStart(ws.Id, true, options.Profiles, events, templates, created, published);
    }

    private async Task<int> IngestHistoryAsync(long ws, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var people = DemoShop.People(options.Seed, options.Profiles);
        var chunk = new List<JsonObject>(ChunkEvents + 64);
        var total = 0;
        var nextReport = 0.1;
        for (var i = 0; i < people.Count; i++)
        {
            chunk.AddRange(DemoShop.History(people[i], options.Seed, now, options.History));
            if (chunk.Count >= ChunkEvents || i == people.Count - 1)
            {
                total += await IngestAsync(ws, chunk, ct);
                chunk.Clear();
                if (i + 1 >= nextReport * people.Count)
                {
                    DemoLog.Progress(logger, i + 1, people.Count, total);
                    while (i + 1 >= nextReport * people.Count) nextReport += 0.1;
                }
            }
        }
        return total;
    }

    /// <summary>Waits (bounded) until every demo segment's backfill is done, so journeys see exact membership.</summary>
    private async Task WaitForBackfillAsync(long ws, CancellationToken ct)
    {
        var until = time.GetUtcNow() + TimeSpan.FromMinutes(2);
        while (time.GetUtcNow() < until)
        {
            var pending = 0;
            foreach (var s in DemoContent.Segments)
            {
                if (await store.GetSegmentAsync(ws, s.Id, ct) is { Status: SegmentStatus.Backfilling }) pending++;
            }
            if (pending == 0) return;
            await Task.Delay(TimeSpan.FromMilliseconds(200), time, ct);
        }
        DemoLog.BackfillSlow(logger);
    }

    /// <summary>
    /// Hands messages to the ingestion pipeline the way <c>POST /v1/batch</c> does: the same parser and validation,
    /// then the profile partitions. Waits for the commit; retries when the pipeline is momentarily full.
    /// </summary>
    private async Task<int> IngestAsync(long ws, IReadOnlyList<JsonObject> messages, CancellationToken ct)
    {
        if (messages.Count == 0) return 0;
        var count = 0;
        // The batch API's limits (2,500 events, 500 KB) apply here too: split into bodies well under them.
        for (var from = 0; from < messages.Count; from += 400)
        {
            var batch = new JsonArray();
            for (var i = from; i < Math.Min(messages.Count, from + 400); i++) batch.Add(messages[i].DeepClone());
            var body = JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["batch"] = batch });
            var parsed = SegmentParser.ParseBatch(body, time.GetUtcNow(), () => "demo-" + Guid.CreateVersion7(time.GetUtcNow()).ToString("N"));
            if (!parsed.IsValid) throw new InvalidOperationException("The demo generated an invalid event: " + string.Join("; ", parsed.Errors));
            var commands = new ProfileCommand[parsed.Messages.Count];
            for (var i = 0; i < commands.Length; i++) commands[i] = new IngestMessage(ws, parsed.Messages[i]);
            while (true)
            {
                try
                {
                    await partitions.SubmitAsync(commands, ct);
                    break;
                }
                catch (OverloadedException) when (!ct.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), time, ct);
                }
            }
            count += commands.Length;
        }
        return count;
    }

    // ---- accelerated activity ------------------------------------------------------------------

    private sealed record PendingOrder(DateTimeOffset At, DemoPerson Person, JsonObject Properties);

    private async Task RunActivityAsync(long ws, CancellationToken ct)
    {
        var people = new List<DemoPerson>(DemoShop.People(options.Seed, options.Profiles));
        var recent = new List<DemoPerson>();
        // Different choices on every start (new sign-ups must not repeat ids); the seeding above is what is deterministic.
        var rng = new Random(unchecked(options.Seed ^ (int)time.GetUtcNow().ToUnixTimeSeconds()));
        var pending = new PriorityQueue<PendingOrder, DateTimeOffset>();
        // A short stamp of this start keeps new ids unique across restarts (and cart links short enough for one SMS).
        var stamp = Base36(time.GetUtcNow().ToUnixTimeSeconds() % 60_466_176); // 36^5: five characters, unique for two years
        var signUps = 0;
        var carts = 0;
        DemoLog.ActivityStarted(logger, options.ActivityInterval, options.ActorsPerTick);
        using var timer = new PeriodicTimer(options.ActivityInterval, time);
        while (await timer.WaitForNextTickAsync(ct))
        {
            var now = time.GetUtcNow();
            var batch = new List<JsonObject>();
            var orders = new List<(DemoPerson Person, decimal Revenue)>();
            while (pending.TryPeek(out var due, out var at) && at <= now)
            {
                pending.Dequeue();
                batch.Add(DemoShop.Track(due.Person, "Order Completed", due.Properties, null, null));
                orders.Add((due.Person, due.Properties["revenue"]!.GetValue<decimal>()));
            }
            for (var a = 0; a < options.ActorsPerTick; a++)
            {
                // Every fifth actor is a recent sign-up, so the welcome series sees first orders (and its goal converts).
                var p = recent.Count > 0 && rng.NextDouble() < 0.2 ? recent[rng.Next(recent.Count)] : people[rng.Next(people.Count)];
                var roll = rng.NextDouble();
                var product = DemoShop.Products[rng.Next(DemoShop.Products.Count)];
                if (roll < 0.40)
                {
                    batch.Add(DemoShop.Page(p, product.Name(p.Chinese), "/products/" + product.Id, null, null));
                    batch.Add(DemoShop.Track(p, "Product Viewed", DemoShop.ProductProperties(p, product), null, null));
                }
                else if (roll < 0.50)
                {
                    batch.Add(DemoShop.Page(p, p.Chinese ? "会员价格" : "Membership pricing", "/pricing", null, null));
                }
                else if (roll < 0.80 && pending.Count < 5000)
                {
                    var quantity = rng.NextDouble() < 0.2 ? 2 : 1;
                    var cartId = $"c{stamp}-{++carts}";
                    batch.Add(DemoShop.Track(p, "Product Added", DemoShop.CartProperties(p, product, quantity, cartId), null, null));
                    var fate = rng.NextDouble();
                    // Some order within the journey's wait (they convert, no reminder), some only after the reminder
                    // (converted after it), the rest never (the reminder is all they get).
                    TimeSpan? after = fate < 0.35 ? options.CartWait * (0.1 + 0.7 * rng.NextDouble())
                        : fate < 0.50 ? options.CartWait * (1.3 + 1.5 * rng.NextDouble())
                        : null;
                    if (after is { } d)
                        pending.Enqueue(new PendingOrder(now + d, p, DemoShop.OrderProperties(p, product, quantity, cartId, $"o{cartId[1..]}")), now + d);
                }
                else
                {
                    batch.Add(DemoShop.Page(p, p.Chinese ? "首页" : "Home", "/", null, null));
                }
            }
            if (rng.NextDouble() < 0.03 * options.ActorsPerTick)
            {
                // A new shopper signs up (and enters the welcome series).
                var userId = $"n{stamp}-{++signUps}";
                var p = DemoShop.NewPerson(rng, options.Profiles + signUps, userId);
                batch.Add(DemoShop.Identify(p, 0, 0, now, null, null));
                batch.Add(DemoShop.Track(p, "Signed Up", new JsonObject { ["method"] = p.Chinese && rng.NextDouble() < 0.6 ? "wechat" : "email" }, null, null));
                people.Add(p);
                recent.Add(p);
                if (recent.Count > 20) recent.RemoveAt(0);
            }
            try
            {
                Interlocked.Add(ref _activityEvents, await IngestAsync(ws, batch, ct));
                foreach (var (p, revenue) in orders) await UpdateLifetimeValueAsync(ws, p, revenue, ct);
            }
            catch (OverloadedException) when (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                break;
            }
        }
    }

    private static string Base36(long value)
    {
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var s = new System.Text.StringBuilder();
        do
        {
            s.Insert(0, digits[(int)(value % 36)]);
            value /= 36;
        }
        while (value > 0);
        return s.ToString();
    }

    /// <summary>After an order, the shop's backend updates the shopper's lifetime value (so the VIP segment moves live).</summary>
    private async Task UpdateLifetimeValueAsync(long ws, DemoPerson p, decimal revenue, CancellationToken ct)
    {
        var id = await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.UserId, p.UserId), ct);
        if (id is null || await store.GetProfileAsync(ws, id.Value, ct) is not { } profile) return;
        decimal value;
        int orders;
        using (var traits = JsonDocument.Parse(profile.TraitsJson))
        {
            value = traits.RootElement.TryGetProperty("lifetime_value", out var v) && v.TryGetDecimal(out var d) ? d : 0m;
            orders = traits.RootElement.TryGetProperty("orders_count", out var o) && o.TryGetInt32(out var n) ? n : 0;
        }
        var identify = new JsonObject
        {
            ["type"] = "identify",
            ["userId"] = p.UserId,
            ["traits"] = new JsonObject { ["lifetime_value"] = value + revenue, ["orders_count"] = orders + 1 },
        };
        Interlocked.Add(ref _activityEvents, await IngestAsync(ws, [identify], ct));
    }
}
