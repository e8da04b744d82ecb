using System.Text.Json;
using Chuda.Domain.Delivery;
using Chuda.Domain.Journeys;
using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Engine.Segments;
using Chuda.Storage;

namespace Chuda.Engine.Journeys;

/// <summary>The partition batch's view of its profiles, for the journey stage.</summary>
internal interface IBatchProfiles
{
    ProfileRecord? Get(long workspaceId, long profileId);

    /// <summary>Loads the given profiles into the batch (timer firings do not load theirs unless the steps they run read it).</summary>
    Task EnsureLoadedAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken ct);

    /// <summary>Applies an update step (traits, tags) to the profile in the batch, marking it for segment re-evaluation.</summary>
    void Update(long workspaceId, long profileId, UpdateProfileStep step);
}

/// <summary>What one batch brings to the journeys of one workspace.</summary>
internal sealed class JourneyInput
{
    public Dictionary<long, List<EventRow>> Events { get; } = [];
    public List<SegmentChange> SegmentChanges { get; } = [];
    public List<FireJourneyTimer> Timers { get; } = [];
    public List<(EnterJourney Command, long ProfileId, JourneyEntryOutcome Outcome)> Entries { get; } = [];

    /// <summary>Top-level trait keys changed per profile (a new profile counts as all its traits).</summary>
    public Dictionary<long, HashSet<string>> TraitKeys { get; } = [];

    /// <summary>Profiles whose time zone changed (local-time waits are re-timed).</summary>
    public HashSet<long> ZoneChanged { get; } = [];

    public bool IsEmpty => Events.Count == 0 && SegmentChanges.Count == 0 && Timers.Count == 0 && Entries.Count == 0 && TraitKeys.Count == 0
        && ZoneChanged.Count == 0;
}

/// <summary>
/// Runs journeys inside the partition batch, in the batch's transaction: timers that came due, events that resume
/// waits, meet goals or trigger exits, segment changes, entries (events, segments, date traits, the API, broadcasts).
/// Every transition writes the instance's new state together with its side effects (send requests, tasks, webhook
/// calls, conversions, funnel counters), so a crash either loses the whole transition (and it is redone from the
/// same state) or none of it: nothing is lost and nothing is repeated.
/// </summary>
internal sealed class JourneyStage(
    IProfileTransaction tx,
    long ws,
    WorkspaceJourneys journeys,
    WorkspaceSegments segments,
    IBatchProfiles profiles,
    DateTimeOffset now,
    int shard,
    TimeSpan lateTolerance,
    string? workspaceZone = null)
{
    private const int IdBlock = 256;
    private readonly IBatchProfiles _profiles = profiles;
    private readonly long _ws = ws;
    private readonly WorkspaceSegments _segments = segments;
    private readonly Dictionary<long, Working> _instances = [];
    private readonly Dictionary<long, List<Working>> _byProfile = [];
    private readonly Dictionary<(long Journey, long Profile), (DateTimeOffset LastEnteredAt, bool Active)> _entries = [];
    private readonly List<SendRequest> _sends = [];
    private readonly List<OutboundMessage> _messages = [];
    private readonly List<JourneyTask> _tasks = [];
    private readonly List<WebhookRequest> _webhooks = [];
    private readonly List<JourneyConversion> _conversions = [];
    private readonly Dictionary<(long Journey, int Version, string Step, string Kind), long> _stats = [];
    private readonly Dictionary<long, Facts> _facts = [];
    private long _nextId;
    private long _idsLeft;

    /// <summary>The earliest timer this stage set.</summary>
    public DateTimeOffset? EarliestTimer { get; private set; }

    public bool QueuedWebhooks => _webhooks.Count > 0;

    /// <summary>The earliest due time of the messages this stage queued for delivery.</summary>
    public DateTimeOffset? EarliestMessage => _messages.Count == 0 ? null : _messages.Min(m => m.DueAt);

    private sealed class Working(JourneyInstance instance, bool isNew)
    {
        public JourneyInstance Instance { get; set; } = instance;
        public bool IsNew { get; } = isNew;
        public long LoadedRevision { get; } = isNew ? 0 : instance.Revision;
        public bool Dirty { get; set; } = isNew;
        public JourneyContext? Context { get; set; }
    }

    /// <summary>What rules evaluated for a profile may read, loaded on demand before walking.</summary>
    private sealed class Facts
    {
        public List<EventRow> Events { get; } = [];
        public IReadOnlySet<string> IdentityKinds { get; set; } = new HashSet<string>();
        public IReadOnlySet<long> Memberships { get; set; } = new HashSet<long>();
    }

    public async Task RunAsync(JourneyInput input, CancellationToken ct)
    {
        // Which profiles need their open instances, and which may enter something.
        var needOpen = new HashSet<long>();
        var mayEnter = new HashSet<long>();
        foreach (var (profileId, events) in input.Events)
        {
            foreach (var e in events)
            {
                var name = FactName(e);
                if (name is null) continue;
                if (journeys.InstanceEvents.Contains(name)) needOpen.Add(profileId);
                if (journeys.ByTriggerEvent.ContainsKey(name)) mayEnter.Add(profileId);
            }
        }
        foreach (var change in input.SegmentChanges)
        {
            if (!_segments.ByKey.TryGetValue(change.SegmentKey, out var s)) continue;
            if (!change.Entered && journeys.ExitSegments.Contains(s.Id)) needOpen.Add(change.ProfileId);
            if (journeys.BySegmentTrigger.ContainsKey(s.Id)) mayEnter.Add(change.ProfileId);
        }
        foreach (var (profileId, keys) in input.TraitKeys)
        {
            if (keys.Any(k => journeys.ByDateTrait.ContainsKey(k))) mayEnter.Add(profileId);
            if (keys.Any(journeys.InstanceTraitKeys.Contains)) needOpen.Add(profileId);
        }
        foreach (var (_, profileId, _) in input.Entries) mayEnter.Add(profileId);
        needOpen.UnionWith(mayEnter);
        needOpen.UnionWith(input.ZoneChanged);
        if (needOpen.Count == 0 && input.Timers.Count == 0) return;

        if (needOpen.Count > 0)
        {
            foreach (var i in await tx.LoadOpenJourneyInstancesAsync(_ws, needOpen, ct)) Track(new Working(i, false));
        }
        if (mayEnter.Count > 0)
        {
            foreach (var (key, value) in await tx.LoadJourneyEntriesAsync(_ws, mayEnter, ct)) _entries[key] = value;
        }
        if (input.Timers.Count > 0)
        {
            var missing = input.Timers.Select(t => t.InstanceId).Where(id => !_instances.ContainsKey(id)).ToList();
            if (missing.Count > 0)
            {
                foreach (var i in (await tx.LoadJourneyInstancesAsync(_ws, missing, ct)).Values) Track(new Working(i, false));
            }
        }
        // A timer's profile is read only if the steps it runs read it (most resumes go wait → send → wait).
        var readers = new HashSet<long>();
        foreach (var timer in input.Timers)
        {
            if (!_instances.TryGetValue(timer.InstanceId, out var w) || journeys.Find(w.Instance.JourneyKey) is not { } j) continue;
            if (w.Instance.Status == InstanceStatus.Scheduled || Definition(j, w.Instance.Version) is not { } d || JourneyReads.ResumeReadsProfile(d, w.Instance.StepId))
                readers.Add(w.Instance.ProfileId); // the instance's own: a merge may have moved it to the survivor since the timer was read
        }
        if (readers.Count > 0) await _profiles.EnsureLoadedAsync(_ws, readers, ct);
        await PreloadFactsAsync([.. needOpen, .. readers], ct);

        // 1. Timers, in due order.
        foreach (var timer in input.Timers.OrderBy(t => t.DueAt).ThenBy(t => t.InstanceId))
        {
            if (!_instances.TryGetValue(timer.InstanceId, out var w)) continue;
            var i = w.Instance;
            if (!i.IsOpen || i.DueAt is not { } due || StoreTruncate(due) != StoreTruncate(timer.DueAt)) continue; // stale: moved or ended
            if (journeys.Find(i.JourneyKey) is not { } journey || !journey.Runs) continue;
            var at = now - due > lateTolerance ? now : due; // small lateness does not accumulate; after downtime, start from now
            if (i.Status == InstanceStatus.Scheduled) await FireScheduledEntryAsync(w, journey, at, ct);
            else if (Definition(journey, i.Version) is { } def) Walk(w, def, WalkCause.TimerDue, at);
        }

        // 2. Events, per profile in time order: open instances react first (exit, goal, wait), then triggers.
        foreach (var (profileId, events) in input.Events.OrderBy(kv => kv.Key))
        {
            foreach (var e in events.OrderBy(e => e.Timestamp).ThenBy(e => e.Seq))
            {
                var name = FactName(e);
                if (name is null) continue;
                JsonElement props = default;
                var parsed = false;
                JsonElement Props()
                {
                    if (!parsed)
                    {
                        props = EventFact.FromRow(e)?.Properties ?? default;
                        parsed = true;
                    }
                    return props;
                }
                if (journeys.InstanceEvents.Contains(name)) ReactToEvent(profileId, name, Props(), e.Timestamp);
                if (journeys.ByTriggerEvent.TryGetValue(name, out var triggered))
                {
                    foreach (var journey in triggered)
                    {
                        var trigger = (EventTrigger)journey.Live!.Trigger;
                        if (!SegmentEvaluator.Matches(trigger.Match, name, Props())) continue;
                        var ctx = new JourneyContext { Trigger = "event", Event = name, Properties = Props().ValueKind == JsonValueKind.Object ? Props().Clone() : default };
                        await TryEnterAsync(journey, profileId, "e:" + e.MessageId, ctx, null, ct);
                    }
                }
            }
        }

        // 3. Segment changes: exits, then segment triggers.
        foreach (var change in input.SegmentChanges)
        {
            if (!_segments.ByKey.TryGetValue(change.SegmentKey, out var s)) continue;
            if (!change.Entered && journeys.ExitSegments.Contains(s.Id))
            {
                foreach (var w in OpenOf(change.ProfileId))
                {
                    if (journeys.Find(w.Instance.JourneyKey) is not { } j || !j.Runs || w.Instance.Status != InstanceStatus.Active) continue;
                    if (Definition(j, w.Instance.Version) is { } def && def.Exits.OfType<ExitOnSegmentExit>().Any(x => x.SegmentId == s.Id))
                        End(w, InstanceStatus.Exited, "exit:segment:" + s.Id, change.At);
                }
            }
            if (journeys.BySegmentTrigger.TryGetValue(s.Id, out var triggered))
            {
                foreach (var journey in triggered)
                {
                    var trigger = (SegmentTrigger)journey.Live!.Trigger;
                    if (trigger.Exited == change.Entered) continue;
                    var ctx = new JourneyContext { Trigger = trigger.Type };
                    var key = (change.Entered ? "se:" : "sx:") + s.Id + ":" + Millis(change.At);
                    await TryEnterAsync(journey, change.ProfileId, key, ctx, null, ct);
                }
            }
        }

        // 4. Explicit entries (API trigger, broadcasts, activation walks).
        foreach (var (command, profileId, outcome) in input.Entries)
        {
            if (journeys.Find(command.JourneyKey) is not { } journey || !journey.AcceptsEntries)
            {
                outcome.Result = "not_accepting";
                continue;
            }
            if (command.DateTriggerOnly)
            {
                await ScheduleDateEntryAsync(journey, profileId, ct);
                outcome.Result = "scheduled";
                continue;
            }
            if (command.Idempotency is { } idem)
            {
                if (await tx.FindJourneyTriggerAsync(_ws, command.JourneyKey, idem.IdempotencyKey, ct) is { } seen)
                {
                    outcome.Result = seen.BodyHash == idem.BodyHash ? "replayed" : "idempotency_mismatch";
                    outcome.InstanceId = seen.InstanceId;
                    if (seen.BodyHash == idem.BodyHash && seen.Outcome != "entered") outcome.Result = seen.Outcome;
                    continue;
                }
            }
            var ctx = new JourneyContext { Trigger = journey.Live!.Trigger.Type };
            if (command.PropertiesJson is { } pj)
            {
                using var doc = JsonDocument.Parse(pj);
                ctx.Properties = doc.RootElement.Clone();
            }
            var enterAt = command.EnterAt;
            if (command.LocalEnterAt is { } local && _profiles.Get(_ws, profileId) is { } owner)
                enterAt = LocalTimes.ToInstant(local, LocalTimes.ZoneFor(owner.Timezone, journey.Live.TimeZone ?? workspaceZone));
            var (result, instanceId) = await TryEnterAsync(journey, profileId, command.EntryKey, ctx, enterAt, ct);
            outcome.Result = result;
            outcome.InstanceId = instanceId;
            if (command.Idempotency is { } record)
                await tx.RecordJourneyTriggerAsync(record with { Outcome = result, InstanceId = instanceId, CreatedAt = now }, ct);
        }

        // 5. Trait changes: date-trait entries are (re)scheduled. Date waits (after a trait change) and local-time waits (after
        //    a zone change) are re-timed now, so a move to an earlier instant is not noticed only at the old one.
        foreach (var (profileId, keys) in input.TraitKeys.OrderBy(kv => kv.Key))
        {
            foreach (var key in keys)
            {
                if (!journeys.ByDateTrait.TryGetValue(key, out var dated)) continue;
                foreach (var journey in dated) await ScheduleDateEntryAsync(journey, profileId, ct);
            }
        }
        var retime = input.TraitKeys.Where(kv => kv.Value.Any(journeys.InstanceTraitKeys.Contains)).Select(kv => kv.Key).Concat(input.ZoneChanged).ToHashSet();
        foreach (var profileId in retime.Order())
        {
            foreach (var w in OpenOf(profileId).ToList())
            {
                if (w.Instance.Status != InstanceStatus.Active || journeys.Find(w.Instance.JourneyKey) is not { } j || !j.Runs) continue;
                if (Definition(j, w.Instance.Version) is not { } def) continue;
                var profile = Profile(profileId);
                DateTimeOffset? due = def.Step(w.Instance.StepId) switch
                {
                    WaitUntilTraitStep step => TraitInstant(def, step, profile),
                    WaitUntilTimeStep step => LocalTimes.NextLocalTime(w.Instance.StepEnteredAt, step.At, JourneyWalker.Zone(def, profile), step.Days),
                    _ => null,
                };
                if (due is null && def.Step(w.Instance.StepId) is not WaitUntilTraitStep) continue;
                var next = due is { } d && d > now ? d : now; // gone or past: continue at once
                if (w.Instance.DueAt != next) Set(w, w.Instance with { DueAt = next });
            }
        }

        await WriteAsync(ct);
    }

    private static string Millis(DateTimeOffset at) => at.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static long StoreTruncate(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static string? FactName(EventRow e) => e.Type switch
    {
        "track" => e.Name,
        "page" => EventFact.ViewedPage,
        "screen" => EventFact.ViewedScreen,
        _ => null,
    };

    /// <summary>Adds an instance to the stage's working set (an instance's profile does not change within a stage).</summary>
    private void Track(Working w)
    {
        if (!_instances.TryAdd(w.Instance.Id, w)) return;
        if (!_byProfile.TryGetValue(w.Instance.ProfileId, out var list)) _byProfile[w.Instance.ProfileId] = list = [];
        list.Add(w);
    }

    /// <summary>The profile's instances in the working set (by id; new entries last).</summary>
    private IReadOnlyList<Working> Of(long profileId) => _byProfile.TryGetValue(profileId, out var list) ? list : [];

    private IEnumerable<Working> OpenOf(long profileId) => Of(profileId).Where(w => w.Instance.IsOpen).ToList();

    private static JourneyDefinition? Definition(CompiledJourney journey, int version) => journey.Versions.GetValueOrDefault(version);

    private JourneyContext Context(Working w) => w.Context ??= JourneyContext.Parse(w.Instance.ContextJson);

    private void Set(Working w, JourneyInstance next)
    {
        w.Instance = next with { UpdatedAt = now };
        w.Dirty = true;
        if (next.DueAt is { } due && (EarliestTimer is not { } e || due < e)) EarliestTimer = due;
    }

    private void Count(long journey, int version, string step, string kind, long delta = 1)
    {
        var key = (journey, version, step, kind);
        _stats[key] = _stats.GetValueOrDefault(key) + delta;
    }

    // ---- reactions ------------------------------------------------------------------------------------

    private void ReactToEvent(long profileId, string name, JsonElement props, DateTimeOffset timestamp)
    {
        foreach (var w in OpenOf(profileId))
        {
            var i = w.Instance;
            if (i.Status != InstanceStatus.Active || journeys.Find(i.JourneyKey) is not { } journey || !journey.Runs) continue;
            if (Definition(journey, i.Version) is not { } def) continue;
            var ctx = Context(w);
            // Meeting the goal converts (even when the same event is also an exit criterion).
            if (def.Goal is { } goal && SegmentEvaluator.Matches(goal.Match, name, props) && KeyMatches(goal.MatchKey, ctx, props)
                && timestamp <= i.EnteredAt + goal.Within && now <= i.EnteredAt + goal.Within + lateTolerance)
            {
                End(w, InstanceStatus.Converted, "goal", now);
                continue;
            }
            if (def.Exits.OfType<ExitOnEvent>().Any(x => SegmentEvaluator.Matches(x.Match, name, props) && KeyMatches(x.MatchKey, ctx, props)))
            {
                End(w, InstanceStatus.Exited, "exit:event:" + name, now);
                continue;
            }
            if (i.WaitEvent == name && def.Step(i.StepId) is WaitForEventStep wait
                && SegmentEvaluator.Matches(wait.Match, name, props) && KeyMatches(wait.MatchKey, ctx, props))
            {
                Walk(w, def, WalkCause.EventArrived, now);
            }
        }
    }

    private static bool KeyMatches(string? path, JourneyContext ctx, JsonElement props)
    {
        if (path is null) return true;
        if (!SegmentEvaluator.TryGetPath(ctx.Properties, path, out var mine) || !SegmentEvaluator.TryGetPath(props, path, out var theirs)) return false;
        return JsonElement.DeepEquals(mine, theirs);
    }

    private void End(Working w, InstanceStatus status, string reason, DateTimeOffset at)
    {
        var i = w.Instance;
        Set(w, i with { Status = status, DueAt = null, WaitEvent = null, EndReason = reason, EndedAt = at });
        var ctx = Context(w);
        ctx.Passed(i.StepId, at, reason);
        if (status == InstanceStatus.Converted)
        {
            Count(i.JourneyKey, i.Version, "$journey", "converted");
            Count(i.JourneyKey, i.Version, i.StepId, "converted");
            _conversions.Add(new JourneyConversion(_ws, i.JourneyKey, i.Version, i.Id, i.ProfileId, at, i.StepId,
                JsonSerializer.Serialize(ctx.Variants, JourneyJson.Default.DictionaryStringString)));
        }
        else
        {
            Count(i.JourneyKey, i.Version, i.StepId, "exited:" + reason);
            Count(i.JourneyKey, i.Version, "$journey", "exited");
        }
        if (_entries.TryGetValue((i.JourneyKey, i.ProfileId), out var e)) _entries[(i.JourneyKey, i.ProfileId)] = (e.LastEnteredAt, false);
    }

    // ---- walking --------------------------------------------------------------------------------------

    private void Walk(Working w, JourneyDefinition def, WalkCause cause, DateTimeOffset at)
    {
        var i = w.Instance;
        var ctx = Context(w);
        var profile = Profile(i.ProfileId);
        var result = JourneyWalker.Walk(def, new WalkPosition(i.StepId, i.StepEnteredAt, i.Seq), cause, at, profile, ctx.Properties, ctx.Variants);
        foreach (var step in result.Passed) ctx.Passed(step, at);
        ctx.Variants = new Dictionary<string, string>(result.Variants, StringComparer.Ordinal);
        foreach (var (step, kind) in result.Counts) Count(i.JourneyKey, i.Version, step, kind);
        foreach (var effect in result.Effects) AddEffect(i, effect, ctx, at);
        var ended = result.EndReason is not null;
        Set(w, i with
        {
            Status = ended ? (result.EndReason is "completed" or "exit_step" ? InstanceStatus.Completed : InstanceStatus.Exited) : InstanceStatus.Active,
            StepId = result.Position.StepId,
            StepEnteredAt = result.Position.StepEnteredAt,
            Seq = result.Position.Seq,
            DueAt = result.DueAt,
            WaitEvent = result.WaitingFor?.Match.Event,
            EndReason = result.EndReason,
            EndedAt = ended ? at : null,
        });
        if (ended)
        {
            Count(i.JourneyKey, i.Version, "$journey", result.EndReason == "completed" || result.EndReason == "exit_step" ? "completed" : "exited");
            if (_entries.TryGetValue((i.JourneyKey, i.ProfileId), out var e)) _entries[(i.JourneyKey, i.ProfileId)] = (e.LastEnteredAt, false);
        }
    }

    private void AddEffect(JourneyInstance i, JourneyEffect effect, JourneyContext ctx, DateTimeOffset at)
    {
        var key = "j" + i.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-" + effect.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture);
        switch (effect)
        {
            case SendEffect s:
                _sends.Add(new SendRequest(_ws, 0, i.ProfileId, i.JourneyKey, i.Version, i.Id, s.StepId, s.Seq, key, s.Step.Template,
                    JsonSerializer.Serialize(s.Step.Channels.ToList(), JourneyJson.Default.ListString), s.Step.Category, s.Step.DedupKey,
                    SendContext(ctx), at, now, "pending"));
                _messages.Add(DeliveryMessage(i, s, key, ctx, at));
                break;
            case TaskEffect t:
                _tasks.Add(new JourneyTask(_ws, 0, i.ProfileId, i.JourneyKey, i.Id, t.StepId, t.Seq, t.Step.Title, t.Step.Note, t.Assignee, t.FromQueue,
                    t.DueAt, "open", now, null));
                break;
            case WebhookEffect h:
                _webhooks.Add(new WebhookRequest(_ws, 0, i.ProfileId, i.JourneyKey, i.Id, h.StepId, h.Seq, key, h.Step.Url, h.Step.Method,
                    JsonSerializer.Serialize(new Dictionary<string, string>(h.Step.Headers), JourneyJson.Default.DictionaryStringString),
                    WebhookBody(h.Step, i, ctx, key), "pending", 0, now, null, null, now, now));
                break;
            case UpdateEffect:
                break; // applied to the profile during the walk
        }
    }

    /// <summary>The outbox row for a send step: written in the same transaction as the walk, with the same idempotency key.</summary>
    private OutboundMessage DeliveryMessage(JourneyInstance i, SendEffect s, string key, JourneyContext ctx, DateTimeOffset at)
    {
        var step = s.Step;
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("event");
            if (ctx.Properties.ValueKind == JsonValueKind.Object) ctx.Properties.WriteTo(writer);
            else writer.WriteRawValue("{}");
            writer.WritePropertyName("journey");
            writer.WriteRawValue(SendContext(ctx));
            writer.WriteEndObject();
        }
        var category = step.Category;
        return new OutboundMessage(_ws, 0, key, i.ProfileId, null, "journey", i.JourneyKey, s.StepId, step.Template, null, category,
            Categories.IsTransactional(category) ? Lane.Transactional : Lane.Marketing, step.Channels, 0, null, null, null, step.DedupKey, step.DedupWindow,
            step.DigestKey, step.DigestWindow, null, step.FallbackAfter is { } fa ? new FallbackRule(fa, step.FallbackUntil ?? FallbackRule.Delivered) : null,
            System.Text.Encoding.UTF8.GetString(stream.ToArray()), null, MessageStatuses.Queued, at, 0, step.ExpiresAfter is { } ex ? at + ex : null, now,
            null, null, null, null, null, null, null, null, null, null);
    }

    private static string SendContext(JourneyContext ctx)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("trigger", ctx.Trigger);
            if (ctx.Event is not null) writer.WriteString("event", ctx.Event);
            if (ctx.Properties.ValueKind == JsonValueKind.Object)
            {
                writer.WritePropertyName("properties");
                ctx.Properties.WriteTo(writer);
            }
            writer.WritePropertyName("variants");
            writer.WriteStartObject();
            foreach (var (k, v) in ctx.Variants) writer.WriteString(k, v);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The webhook body: the step's own JSON body when given, else a standard envelope with the profile and entry event.</summary>
    private string WebhookBody(WebhookStep step, JourneyInstance i, JourneyContext ctx, string key)
    {
        if (step.BodyJson is { } body) return body;
        var profile = _profiles.Get(_ws, i.ProfileId);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "journey.step");
            writer.WriteString("id", key);
            writer.WriteString("journey_key", i.JourneyKey.ToString(System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteNumber("version", i.Version);
            writer.WriteString("step", step.Id);
            writer.WriteString("at", now);
            if (profile?.UserId is { } uid) writer.WriteString("user_id", uid);
            writer.WritePropertyName("traits");
            using (var traits = JsonDocument.Parse(profile?.TraitsJson ?? "{}")) traits.RootElement.WriteTo(writer);
            writer.WritePropertyName("context");
            using (var c = JsonDocument.Parse(SendContext(ctx))) c.RootElement.WriteTo(writer);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    // ---- entries --------------------------------------------------------------------------------------

    private async ValueTask<long> NextIdAsync(CancellationToken ct)
    {
        if (_idsLeft == 0)
        {
            _nextId = await tx.ReserveJourneyInstanceIdsAsync(IdBlock, ct);
            _idsLeft = IdBlock;
        }
        _idsLeft--;
        return _nextId++;
    }

    /// <summary>Applies the entry rules (filter, re-entry policy, cap, one entry per key) and enters, or schedules the entry
    /// for <paramref name="enterAt"/> when that is later than now.</summary>
    private async Task<(string Result, long? InstanceId)> TryEnterAsync(CompiledJourney journey, long profileId, string entryKey, JourneyContext ctx,
        DateTimeOffset? enterAt, CancellationToken ct)
    {
        var def = journey.Live!;
        if (_profiles.Get(_ws, profileId) is not { } record) return ("not_accepting", null);
        if (Of(profileId).Any(w => w.Instance.JourneyKey == journey.Key && w.Instance.EntryKey == entryKey)
            || await tx.JourneyEntryExistsAsync(_ws, journey.Key, profileId, entryKey, ct))
            return ("duplicate", null);
        var scheduled = enterAt is { } later && later > now;
        if (!scheduled)
        {
            if (def.EntryFilter is { } filter && !JourneyWalker.Holds(new BranchCondition(filter.Profile, filter.Entry), Profile(profileId), ctx.Properties, now))
                return ("filtered", null);
            if (!MayReEnter(def, journey.Key, profileId)) return ("not_reentrant", null);
            if (def.EntryCap is { } cap && await tx.ReserveJourneyEntriesAsync(_ws, journey.Key, 1, cap, ct) == 0) return ("cap_reached", null);
        }
        var id = await NextIdAsync(ct);
        var version = journey.Record.LiveVersion!.Value;
        var instance = new JourneyInstance(_ws, id, journey.Key, version, profileId, record.RoutingHash,
            scheduled ? InstanceStatus.Scheduled : InstanceStatus.Active, def.Start, now, now, 0, scheduled ? enterAt : null, null, entryKey,
            "{}", null, null, now, 1);
        var w = new Working(instance, isNew: true) { Context = ctx };
        Track(w);
        if (scheduled)
        {
            Set(w, instance);
            Count(journey.Key, version, "$journey", "scheduled");
            return ("scheduled", id);
        }
        Enter(w, journey, def);
        return ("entered", id);
    }

    private void Enter(Working w, CompiledJourney journey, JourneyDefinition def)
    {
        var i = w.Instance;
        Count(journey.Key, i.Version, "$journey", "entered");
        _entries[(journey.Key, i.ProfileId)] = (now, true);
        Walk(w, def, WalkCause.Entered, now);
    }

    private bool MayReEnter(JourneyDefinition def, long journeyKey, long profileId)
    {
        if (!_entries.TryGetValue((journeyKey, profileId), out var last)) return true;
        return def.ReEntry.Kind switch
        {
            ReEntryKind.Once => false,
            ReEntryKind.NotWhileActive => !last.Active,
            ReEntryKind.AfterCooldown => !last.Active && last.LastEnteredAt + def.ReEntry.Cooldown <= now,
            _ => false,
        };
    }

    /// <summary>A scheduled entry came due: date-trait entries re-check the date (a changed trait moves or cancels them).</summary>
    private async Task FireScheduledEntryAsync(Working w, CompiledJourney journey, DateTimeOffset at, CancellationToken ct)
    {
        var i = w.Instance;
        if (!journey.AcceptsEntries || journey.Record.LiveVersion != i.Version && journey.Live is null)
        {
            Set(w, i with { DueAt = null, EndReason = "cancelled", EndedAt = now });
            return;
        }
        var def = Definition(journey, i.Version) ?? journey.Live!;
        if (def.Trigger is DateTraitTrigger dt)
        {
            var due = DateEntryInstant(def, dt, i.ProfileId);
            if (due is { } d && StoreTruncate(d) > StoreTruncate(i.DueAt!.Value))
            {
                Set(w, i with { DueAt = d });
                return;
            }
            if (due is null)
            {
                Set(w, i with { DueAt = null, EndReason = "cancelled", EndedAt = now });
                return;
            }
        }
        var ctx = Context(w);
        if (def.EntryFilter is { } filter && !JourneyWalker.Holds(new BranchCondition(filter.Profile, filter.Entry), Profile(i.ProfileId), ctx.Properties, now)
            || !MayReEnter(def, journey.Key, i.ProfileId)
            || def.EntryCap is { } cap && await tx.ReserveJourneyEntriesAsync(_ws, journey.Key, 1, cap, ct) == 0)
        {
            Set(w, i with { DueAt = null, EndReason = "entry_refused", EndedAt = now });
            return;
        }
        Set(w, i with { Status = InstanceStatus.Active, EnteredAt = at, StepEnteredAt = at, DueAt = null });
        Enter(w, journey, def);
    }

    private DateTimeOffset? DateEntryInstant(JourneyDefinition def, DateTraitTrigger trigger, long profileId) =>
        DateEntry(def, trigger, profileId).Instant;

    /// <summary>The date trait's text and the entry instant it gives (both null when the profile has no such date).</summary>
    private (string? Value, DateTimeOffset? Instant) DateEntry(JourneyDefinition def, DateTraitTrigger trigger, long profileId)
    {
        if (_profiles.Get(_ws, profileId) is not { } record) return (null, null);
        using var doc = JsonDocument.Parse(record.TraitsJson);
        if (!SegmentEvaluator.TryGetPath(doc.RootElement, trigger.Trait, out var v) || v.ValueKind != JsonValueKind.String) return (null, null);
        var value = v.GetString();
        return (value, LocalTimes.FromDateTrait(value, trigger.Offset, trigger.At, LocalTimes.ZoneFor(record.Timezone, def.TimeZone)));
    }

    /// <summary>(Re)schedules a date-trait entry from the profile's current traits.</summary>
    private async Task ScheduleDateEntryAsync(CompiledJourney journey, long profileId, CancellationToken ct)
    {
        if (!journey.AcceptsEntries || journey.Live!.Trigger is not DateTraitTrigger trigger) return;
        var existing = Of(profileId).FirstOrDefault(w => w.Instance.JourneyKey == journey.Key
            && w.Instance.Status == InstanceStatus.Scheduled && w.Instance.DueAt is not null);
        var (value, due) = DateEntry(journey.Live, trigger, profileId);
        if (existing is not null)
        {
            if (due is { } d && d > now) { if (existing.Instance.DueAt != d) Set(existing, existing.Instance with { DueAt = d }); }
            else Set(existing, existing.Instance with { DueAt = null, EndReason = "cancelled", EndedAt = now });
            return;
        }
        if (due is not { } when || when <= now) return;
        await TryEnterAsync(journey, profileId, "d:" + value, new JourneyContext { Trigger = "date_trait" }, when, ct);
    }

    // ---- profile facts for rules ------------------------------------------------------------------------

    /// <summary>Loads what the journeys' profile rules read (events, identity kinds, memberships) for the profiles that may
    /// evaluate one; nothing when no rule reads them (see <see cref="WorkspaceJourneys.RuleReads"/>).</summary>
    private async Task PreloadFactsAsync(IReadOnlyCollection<long> ids, CancellationToken ct)
    {
        var reads = journeys.RuleReads;
        if (ids.Count == 0 || (reads.Events.IsEmpty && !reads.IdentityKinds && !reads.Memberships)) return;
        foreach (var id in ids) _facts[id] = new Facts();
        if (!reads.Events.IsEmpty)
        {
            foreach (var e in await tx.LoadEventsAsync(_ws, ids, reads.Events, ct)) _facts[e.ProfileId].Events.Add(e);
        }
        if (reads.IdentityKinds)
        {
            foreach (var (id, kinds) in await tx.LoadIdentityKindsAsync(_ws, ids, ct)) _facts[id].IdentityKinds = kinds;
        }
        if (reads.Memberships)
        {
            foreach (var (id, state) in await tx.LoadSegmentStateAsync(_ws, ids, ct)) _facts[id].Memberships = state.Memberships.Keys.ToHashSet();
        }
    }

    private BatchJourneyProfile Profile(long profileId) => new(this, profileId);

    private sealed class BatchJourneyProfile(JourneyStage stage, long profileId) : IJourneyProfile
    {
        private ProfileRecord Record => stage._profiles.Get(stage._ws, profileId) ?? throw new InvalidOperationException($"Profile {profileId} is not in the batch.");

        public string? TimeZone => Record.Timezone;

        public string BucketKey => Record.UserId ?? profileId.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public JsonElement Traits
        {
            get
            {
                using var doc = JsonDocument.Parse(Record.TraitsJson);
                return doc.RootElement.Clone();
            }
        }

        public bool Holds(SegmentRule rule, DateTimeOffset now)
        {
            var facts = stage._facts.GetValueOrDefault(profileId);
            var record = Record;
            using var doc = JsonDocument.Parse(record.TraitsJson);
            var pf = new ProfileFacts(doc.RootElement, record.Tags, facts?.IdentityKinds ?? new HashSet<string>(), BucketKey,
                (facts?.Events ?? []).Select(EventFact.FromRow).OfType<EventFact>());
            var memberships = facts?.Memberships ?? new HashSet<long>();
            return SegmentEvaluator.Evaluate(rule, pf, now,
                id => stage._segments.ById.TryGetValue(id, out var s) && memberships.Contains(s.Key));
        }

        public void Update(UpdateProfileStep step) => stage._profiles.Update(stage._ws, profileId, step);
    }

    private static DateTimeOffset? TraitInstant(JourneyDefinition def, WaitUntilTraitStep step, IJourneyProfile profile)
    {
        if (!SegmentEvaluator.TryGetPath(profile.Traits, step.Trait, out var v) || v.ValueKind != JsonValueKind.String) return null;
        return LocalTimes.FromDateTrait(v.GetString(), step.Offset, step.At, JourneyWalker.Zone(def, profile));
    }

    // ---- write ------------------------------------------------------------------------------------------

    private async Task WriteAsync(CancellationToken ct)
    {
        var changed = new List<JourneyInstance>();
        foreach (var w in _instances.Values)
        {
            if (!w.Dirty) continue;
            var ctxJson = w.Context?.ToJson() ?? w.Instance.ContextJson;
            changed.Add(w.Instance with { ContextJson = ctxJson, Revision = w.IsNew ? 1 : w.LoadedRevision + 1 });
        }
        if (changed.Count > 0) await tx.SaveJourneyInstancesAsync(changed, ct);
        if (_sends.Count + _tasks.Count + _webhooks.Count + _conversions.Count + _stats.Count > 0)
        {
            await tx.WriteJourneyEffectsAsync(_sends, _tasks, _webhooks, _conversions,
                [.. _stats.Select(kv => new JourneyStatDelta(_ws, kv.Key.Journey, kv.Key.Version, kv.Key.Step, kv.Key.Kind, shard, kv.Value))], ct);
        }
        if (_messages.Count > 0) await tx.InsertMessagesAsync(_messages, ct);
        if (_conversions.Count > 0) await tx.RecordMessageConversionsAsync(_conversions, ct);
    }
}
