using System.Globalization;
using System.Text;
using System.Text.Json;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Journeys;
using Chuda.Engine;
using Chuda.Engine.Journeys;
using Chuda.Engine.Profiles;
using Chuda.Engine.Scheduling;
using Chuda.Engine.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chuda.Server.Cli;

/// <summary>
/// <c>chuda simulate JOURNEY.json --events EVENTS.jsonl</c>: a dry run. The real engine (the same partitions, journey
/// stage and timers as the server) runs on a throw-away SQLite store in virtual time: each event is applied at its own
/// timestamp, every timer fires at its due time, and nothing is sent. Prints, per profile, what the journey did and when.
/// </summary>
public static class SimulateCommand
{
    /// <summary>A clock the simulation moves by hand. Timers (the engine's retry delays) run on real time.</summary>
    private sealed class VirtualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    internal static async Task<int> RunAsync(CommandLine options, TextWriter output, CancellationToken ct)
    {
        if (options.Positional.Count != 1) throw new UsageException("simulate takes exactly one JOURNEY.json.");
        var journeyFile = options.Positional[0];
        var eventsFile = options.Get("events") ?? throw new UsageException("simulate needs --events EVENTS.jsonl.");
        if (!File.Exists(journeyFile)) throw new UsageException($"No file '{journeyFile}'.");
        if (!File.Exists(eventsFile)) throw new UsageException($"No file '{eventsFile}'.");
        foreach (var name in options.Named.Keys)
        {
            if (name is not ("events" or "segments" or "until" or "time-zone")) throw new UsageException($"Unknown option --{name}.");
        }

        var definitionText = await File.ReadAllTextAsync(journeyFile, ct);
        var parsed = JourneyParser.Parse(definitionText);
        var errors = parsed.IsValid ? JourneyValidator.Validate(parsed.Definition!) : parsed.Errors;
        if (errors.Count > 0)
        {
            foreach (var e in errors) await output.WriteLineAsync("invalid: " + e);
            return 1;
        }

        // Events in time order; each line must parse.
        var events = new List<SegmentMessage>();
        var lineNo = 0;
        foreach (var line in await File.ReadAllLinesAsync(eventsFile, ct))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var result = SegmentParser.ParseLine(Encoding.UTF8.GetBytes(line), DateTimeOffset.UnixEpoch,
                () => "sim-" + lineNo.ToString(CultureInfo.InvariantCulture), $"line {lineNo}");
            if (!result.IsValid)
            {
                await output.WriteLineAsync($"{eventsFile}:{lineNo}: {string.Join("; ", result.Errors)}");
                return 1;
            }
            events.AddRange(result.Messages);
        }
        if (events.Count == 0) throw new UsageException("The events file has no events.");
        events = [.. events.OrderBy(e => e.Timestamp)];
        var until = options.Get("until") is { } u
            ? DateTimeOffset.Parse(u, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
            : events[^1].Timestamp + TimeSpan.FromDays(400);

        var dir = Path.Combine(Path.GetTempPath(), "chuda-simulate-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var clock = new VirtualClock(events[0].Timestamp);
            await using var store = await StoreFactory.OpenAsync(new StoreOptions(null, dir) { SqliteSynchronousFull = false }, ct);
            await store.MigrateAsync(ct);
            var engine = new EngineOptions { Partitions = 1 };
            var directory = new WorkspaceDirectory(store, clock, engine);
            var ws = (await directory.CreateAsync("simulation", false, null, null, ct)).Workspace;
            if (options.Get("time-zone") is { } zone)
            {
                if (!LocalTimes.TryFindZone(zone, out _)) throw new UsageException($"'{zone}' is not an IANA time zone.");
                await store.SetWorkspaceSettingAsync(ws.Id, JourneyService.TimeZoneSetting, zone, ct);
            }
            var segmentCatalog = new SegmentCatalog(store);
            var segmentOptions = new SegmentOptions();
            var journeyOptions = new JourneyOptions { CatchUpRatePerSecond = 0 };
            var catalog = new JourneyCatalog(store);
            var partitions = new ProfilePartitions(store, directory, engine, NullLogger<ProfilePartitions>.Instance, clock, segmentCatalog, catalog, journeyOptions);
            await partitions.StartAsync(ct);
            try
            {
                var segmentService = new SegmentService(store, segmentCatalog, clock, segmentOptions);
                if (options.Get("segments") is { } segmentsFile)
                {
                    using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(segmentsFile, ct));
                    foreach (var s in doc.RootElement.EnumerateArray())
                    {
                        var id = s.GetProperty("id").GetString()!;
                        await segmentService.CreateAsync(ws.Id, new SegmentInput(id, id, null, s.GetProperty("rule").Clone()), ct);
                    }
                }
                var segmentScheduler = new SegmentScheduler(store, partitions, segmentCatalog, clock, NullLogger<SegmentScheduler>.Instance, segmentOptions);
                var timers = new JourneyScheduler(store, partitions, catalog, clock, NullLogger<JourneyScheduler>.Instance, journeyOptions);
                var runner = new JourneyRunner(store, partitions, catalog, segmentCatalog, clock, NullLogger<JourneyRunner>.Instance, journeyOptions);
                var service = new JourneyService(store, catalog, segmentCatalog, partitions, clock);
                using (var doc = JsonDocument.Parse(definitionText))
                {
                    await service.CreateAsync(ws.Id, "simulated", doc.RootElement, "simulate", ct);
                }
                await service.PublishAsync(ws.Id, "simulated", null, false, "simulate", ct);

                async Task RunTo(DateTimeOffset target)
                {
                    while (true)
                    {
                        var next = await DueWork.NextAsync(store, ct) ?? DateTimeOffset.MaxValue;
                        if (next > target) break;
                        if (next > clock.Now) clock.Now = next;
                        await segmentScheduler.FireDueAsync(ct);
                        await runner.RunDueAsync(ct);
                        await timers.FireDueAsync(ct);
                    }
                    if (target > clock.Now) clock.Now = target;
                }

                foreach (var e in events)
                {
                    await RunTo(e.Timestamp);
                    await partitions.SubmitAsync([new IngestMessage(ws.Id, e with { ReceivedAt = clock.Now })], ct);
                }
                await RunTo(until);
                await PrintAsync(store, ws.Id, output, until, ct);
            }
            finally
            {
                await partitions.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        return 0;
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static async Task PrintAsync(IChudaStore store, long ws, TextWriter output, DateTimeOffset until, CancellationToken ct)
    {
        var sends = await store.GetSendRequestsAsync(ws, null, null, 0, int.MaxValue, ct);
        var tasks = await store.GetTasksAsync(ws, null, null, null, null, 0, int.MaxValue, ct);
        var hooks = await store.GetWebhooksAsync(ws, null, 0, int.MaxValue, ct);
        var profileIds = new SortedSet<long>();
        long after = 0;
        while (true)
        {
            var page = await store.GetProfilesAsync(ws, after, 1000, ct);
            if (page.Count == 0) break;
            foreach (var p in page) profileIds.Add(p.Id);
            after = page[^1].Id;
        }
        var entered = 0;
        foreach (var id in profileIds)
        {
            var profile = await store.GetProfileAsync(ws, id, ct);
            var instances = (await store.GetProfileJourneyInstancesAsync(ws, id, 1000, ct)).OrderBy(i => i.Id).ToList();
            if (instances.Count == 0) continue;
            entered++;
            await output.WriteLineAsync($"{profile?.UserId ?? "profile " + id.ToString(CultureInfo.InvariantCulture)}:");
            foreach (var i in instances)
            {
                var lines = new List<(DateTimeOffset At, string Text)>();
                var ctx = JourneyContext.Parse(i.ContextJson);
                foreach (var p in ctx.Path) lines.Add((p.At, p.Note is null ? $"step {p.Step}" : $"step {p.Step}: {p.Note}"));
                foreach (var s in sends.Where(s => s.InstanceId == i.Id))
                    lines.Add((s.ScheduledFor, $"  would send '{s.Template}' via {string.Join(" > ", JsonSerializer.Deserialize<List<string>>(s.ChannelsJson) ?? [])} ({s.Category}, key {s.IdempotencyKey})"));
                foreach (var t in tasks.Where(t => t.InstanceId == i.Id))
                    lines.Add((t.CreatedAt, $"  would create task '{t.Title}' for {(t.FromQueue ? "queue " : "")}{t.Assignee}, due {Time(t.DueAt)}"));
                foreach (var h in hooks.Where(h => h.InstanceId == i.Id))
                    lines.Add((h.CreatedAt, $"  would call {h.Method} {h.Url}"));
                await output.WriteLineAsync($"  entry {i.EntryKey} at {Time(i.EnteredAt)} (v{i.Version}):");
                foreach (var (at, text) in lines.OrderBy(l => l.At)) await output.WriteLineAsync($"    {Time(at)}  {text}");
                var state = i.Status switch
                {
                    InstanceStatus.Active => i.DueAt is { } due ? $"waiting at {i.StepId} until {Time(due)}" : $"waiting at {i.StepId} for {i.WaitEvent ?? "an event"}",
                    InstanceStatus.Scheduled => i.DueAt is { } d ? $"scheduled to enter at {Time(d)}" : $"entry cancelled ({i.EndReason})",
                    InstanceStatus.Converted => $"converted at {Time(i.EndedAt!.Value)} (goal met after {i.StepId})",
                    _ => $"ended at {Time(i.EndedAt!.Value)}: {i.EndReason}",
                };
                await output.WriteLineAsync($"    → {state}");
            }
        }
        await output.WriteLineAsync($"{entered} profile(s) entered; {sends.Count} send(s), {tasks.Count} task(s), {hooks.Count} webhook call(s) would be made (simulated until {Time(until)}). Nothing was sent.");
    }
}
