using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Chuda.Domain.Journeys;
using Chuda.Domain.Profiles;
using Chuda.Engine.Profiles;
using Chuda.Engine.Segments;
using Chuda.Storage;

namespace Chuda.Engine.Journeys;

/// <summary>The definition is invalid (on save) or fails the publish checks; every fault is listed.</summary>
public sealed class JourneyValidationException(IReadOnlyList<JourneyError> errors)
    : Exception(errors.Count == 0 ? "Invalid journey." : errors[0].ToString())
{
    public IReadOnlyList<JourneyError> Errors { get; } = errors;
}

/// <summary>The action does not fit the journey's state (archived, not published, stale revision, approving your own request, ...).</summary>
public sealed class JourneyStateException(string message, bool forbidden = false, bool stale = false) : Exception(message)
{
    /// <summary>403 rather than 409 (e.g. the requester approving their own publish).</summary>
    public bool Forbidden { get; } = forbidden;

    /// <summary>412: the If-Match revision is not the current one.</summary>
    public bool Stale { get; } = stale;
}

/// <summary>A funnel line: per version and step, the counters (entered, completed, exited:reason, converted, timed_out) and
/// how many wait there now.</summary>
public sealed record JourneyStepStats(int Version, string Step, long Entered, long Completed, long Waiting, long Converted,
    IReadOnlyDictionary<string, long> Exited);

public sealed record JourneyStats(string Journey, long Entered, long Active, long Completed, long Exited, long Converted, double ConversionRate,
    IReadOnlyList<JourneyStepStats> Steps);

/// <summary>What a publish did.</summary>
public sealed record PublishResult(JourneyRecord Journey, bool PendingApproval, long Migrated);

/// <summary>
/// Journeys' lifecycle (draft → published → paused → archived, versions, approvals), each action audited; the API
/// trigger; funnel statistics. Runtime state changes go through the partitions or revision-checked store writes.
/// </summary>
public sealed partial class JourneyService(IChudaStore store, JourneyCatalog catalog, SegmentCatalog segments, ProfilePartitions partitions,
    TimeProvider time)
{
    /// <summary>Workspace setting: publishing needs a second admin key's approval (<c>true</c> / <c>false</c>).</summary>
    public const string ApprovalsSetting = "journeys.approvals";

    /// <summary>Workspace setting: the IANA zone for broadcasts and for profiles without a zone.</summary>
    public const string TimeZoneSetting = "time_zone";

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex IdPattern();

    private static JourneyDefinition Parse(JsonElement definition)
    {
        var parsed = JourneyParser.Parse(definition);
        if (!parsed.IsValid) throw new JourneyValidationException([.. parsed.Errors.Select(e => e with { Path = "$.definition" + e.Path[1..] })]);
        return parsed.Definition!;
    }

    public async Task<JourneyRecord> CreateAsync(long ws, string? id, JsonElement definition, string actor, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        id ??= "j_" + Guid.CreateVersion7(now).ToString("N")[^12..];
        if (!IdPattern().IsMatch(id))
            throw new JourneyValidationException([new JourneyError("$.id", null, JourneyErrorCodes.InvalidValue, "id is 1-64 of a-z, 0-9, _ and -, starting with a letter or digit")]);
        var def = Parse(definition);
        var record = new JourneyRecord(ws, 0, id, def.Name, JourneyStatus.Draft, 1, null, null, null, 0, def.Trigger.Type, null, 0, now, now, 1);
        var created = await store.CreateJourneyAsync(record, new JourneyVersionRecord(ws, 0, 1, definition.GetRawText(), now, actor), ct);
        await AuditAsync(ws, actor, "journey.created", id, new { version = 1 }, ct);
        return created;
    }

    public async Task<JourneyRecord> GetRequiredAsync(long ws, string id, CancellationToken ct) =>
        await store.GetJourneyAsync(ws, id, ct) ?? throw new KeyNotFoundException($"No journey has id '{id}'.");

    /// <summary>Saves a new version (the live one, if any, keeps running until the new one is published).</summary>
    public async Task<JourneyRecord> UpdateAsync(long ws, string id, JsonElement definition, long? ifRevision, string actor, CancellationToken ct)
    {
        var journey = await GetRequiredAsync(ws, id, ct);
        if (journey.Status == JourneyStatus.Archived) throw new JourneyStateException($"Journey '{id}' is archived; archived journeys cannot change.");
        if (ifRevision is { } r && r != journey.Revision) throw new JourneyStateException($"Journey '{id}' is at revision {journey.Revision}, not {r}.", stale: true);
        var def = Parse(definition);
        var now = time.GetUtcNow();
        var version = journey.LatestVersion + 1;
        var next = journey with { Name = def.Name, LatestVersion = version, TriggerType = journey.LiveVersion is null ? def.Trigger.Type : journey.TriggerType, UpdatedAt = now };
        if (!await store.UpdateJourneyAsync(next, journey.Revision, new JourneyVersionRecord(ws, journey.Key, version, definition.GetRawText(), now, actor), ct))
            throw new JourneyStateException($"Journey '{id}' changed meanwhile; read it again.", stale: true);
        await AuditAsync(ws, actor, "journey.version_created", id, new { version }, ct);
        return await GetRequiredAsync(ws, id, ct);
    }

    /// <summary>The publish checks of a version, without publishing.</summary>
    public async Task<IReadOnlyList<JourneyError>> ValidateAsync(long ws, JourneyRecord journey, int version, CancellationToken ct)
    {
        var stored = await store.GetJourneyVersionAsync(ws, journey.Key, version, ct) ?? throw new KeyNotFoundException($"Journey '{journey.Id}' has no version {version}.");
        var parsed = JourneyParser.Parse(stored.DefinitionJson);
        if (!parsed.IsValid) return parsed.Errors;
        var known = segments.For(ws).ById;
        return JourneyValidator.Validate(parsed.Definition!, known.ContainsKey);
    }

    public async Task<PublishResult> PublishAsync(long ws, string id, int? version, bool migrate, string actor, CancellationToken ct)
    {
        var journey = await GetRequiredAsync(ws, id, ct);
        if (journey.Status == JourneyStatus.Archived) throw new JourneyStateException($"Journey '{id}' is archived.");
        var v = version ?? journey.LatestVersion;
        var errors = await ValidateAsync(ws, journey, v, ct);
        if (errors.Count > 0) throw new JourneyValidationException(errors);
        var settings = await store.GetWorkspaceSettingsAsync(ws, ct);
        var now = time.GetUtcNow();
        if (settings.GetValueOrDefault(ApprovalsSetting) == "true")
        {
            var pending = journey with { Status = journey.LiveVersion is null ? JourneyStatus.PendingApproval : journey.Status, PendingVersion = v, PendingBy = actor, UpdatedAt = now };
            if (!await store.UpdateJourneyAsync(pending, journey.Revision, null, ct)) throw new JourneyStateException($"Journey '{id}' changed meanwhile.", stale: true);
            await AuditAsync(ws, actor, "journey.publish_requested", id, new { version = v, migrate }, ct);
            return new PublishResult(await GetRequiredAsync(ws, id, ct), true, 0);
        }
        var (published, migrated) = await GoLiveAsync(ws, journey, v, migrate, ct);
        await AuditAsync(ws, actor, "journey.published", id, new { version = v, migrated }, ct);
        return new PublishResult(published, false, migrated);
    }

    public async Task<PublishResult> ApproveAsync(long ws, string id, bool migrate, string actor, CancellationToken ct)
    {
        var journey = await GetRequiredAsync(ws, id, ct);
        if (journey.PendingVersion is not { } v) throw new JourneyStateException($"Journey '{id}' has no publish waiting for approval.");
        if (journey.PendingBy == actor) throw new JourneyStateException("The key that asked to publish cannot approve it; approve with another admin key.", forbidden: true);
        var errors = await ValidateAsync(ws, journey, v, ct);
        if (errors.Count > 0) throw new JourneyValidationException(errors);
        var (published, migrated) = await GoLiveAsync(ws, journey, v, migrate, ct);
        await AuditAsync(ws, actor, "journey.approved", id, new { version = v, requested_by = journey.PendingBy, migrated }, ct);
        return new PublishResult(published, false, migrated);
    }

    public async Task<JourneyRecord> RejectAsync(long ws, string id, string? reason, string actor, CancellationToken ct)
    {
        var journey = await GetRequiredAsync(ws, id, ct);
        if (journey.PendingVersion is not { } v) throw new JourneyStateException($"Journey '{id}' has no publish waiting for approval.");
        var next = journey with
        {
            Status = journey.Status == JourneyStatus.PendingApproval ? JourneyStatus.Draft : journey.Status,
            PendingVersion = null,
            PendingBy = null,
            UpdatedAt = time.GetUtcNow(),
        };
        if (!await store.UpdateJourneyAsync(next, journey.Revision, null, ct)) throw new JourneyStateException($"Journey '{id}' changed meanwhile.", stale: true);
        await AuditAsync(ws, actor, "journey.rejected", id, new { version = v, reason }, ct);
        return await GetRequiredAsync(ws, id, ct);
    }

    private async Task<(JourneyRecord, long)> GoLiveAsync(long ws, JourneyRecord journey, int version, bool migrate, CancellationToken ct)
    {
        var stored = await store.GetJourneyVersionAsync(ws, journey.Key, version, ct)
            ?? throw new KeyNotFoundException($"Journey '{journey.Id}' has no version {version}.");
        var def = JourneyParser.Parse(stored.DefinitionJson).Definition!;
        var now = time.GetUtcNow();
        var (nextRun, cursor) = await FirstRunAsync(ws, def, now, ct);
        var wasPaused = journey.Status == JourneyStatus.Paused;
        var next = journey with
        {
            Status = JourneyStatus.Published,
            LiveVersion = version,
            PendingVersion = null,
            PendingBy = null,
            TriggerType = def.Trigger.Type,
            NextRunAt = nextRun,
            RunCursor = cursor,
            UpdatedAt = now,
        };
        if (!await store.UpdateJourneyAsync(next, journey.Revision, null, ct)) throw new JourneyStateException($"Journey '{journey.Id}' changed meanwhile.", stale: true);
        if (wasPaused) await store.HoldJourneyTimersAsync(ws, journey.Key, hold: false, now, ct);
        await catalog.RefreshAsync(ct);
        var migrated = migrate ? await MigrateAsync(ws, journey.Key, version, def, ct) : 0;
        if (migrated > 0) await catalog.RefreshAsync(ct);
        return (await GetRequiredAsync(ws, journey.Id, ct), migrated);
    }

    /// <summary>When a broadcast first runs, or (date-trait trigger) that existing profiles must be scheduled now.</summary>
    private async Task<(DateTimeOffset? NextRun, long Cursor)> FirstRunAsync(long ws, JourneyDefinition def, DateTimeOffset now, CancellationToken ct)
    {
        switch (def.Trigger)
        {
            case DateTraitTrigger:
                return (now, 0);
            case BroadcastTrigger b:
                var zone = await WorkspaceZoneAsync(ws, b.Zone ?? def.TimeZone, ct);
                return (JourneyRunner.NextBroadcast(b, zone, now - TimeSpan.FromMilliseconds(1)), 0);
            default:
                return (null, 0);
        }
    }

    internal async Task<TimeZoneInfo> WorkspaceZoneAsync(long ws, string? preferred, CancellationToken ct)
    {
        if (LocalTimes.TryFindZone(preferred, out var z)) return z;
        var settings = await store.GetWorkspaceSettingsAsync(ws, ct);
        return LocalTimes.ZoneFor(settings.GetValueOrDefault(TimeZoneSetting), null);
    }

    /// <summary>Moves open instances of older versions to <paramref name="version"/> when their current step exists there.</summary>
    private async Task<long> MigrateAsync(long ws, long journeyKey, int version, JourneyDefinition def, CancellationToken ct)
    {
        long moved = 0, after = 0;
        while (true)
        {
            var page = await store.GetOpenJourneyInstancesAsync(ws, journeyKey, after, 500, ct);
            if (page.Count == 0) return moved;
            after = page[^1].Id;
            var changes = page.Where(i => i.Version != version && def.Step(i.StepId) is not null)
                .Select(i => i with { Version = version, UpdatedAt = time.GetUtcNow(), Revision = i.Revision + 1 }).ToList();
            if (changes.Count == 0) continue;
            await using var tx = await store.BeginAsync(ct);
            await tx.SaveJourneyInstancesAsync(changes, ct);
            await tx.CommitAsync(ct);
            moved += changes.Count;
        }
    }

    public async Task<JourneyRecord> PauseAsync(long ws, string id, string actor, CancellationToken ct)
    {
        var journey = await GetRequiredAsync(ws, id, ct);
        if (journey.Status != JourneyStatus.Published) throw new JourneyStateException($"Only a published journey can be paused; '{id}' is {Name(journey.Status)}.");
        var now = time.GetUtcNow();
        if (!await store.UpdateJourneyAsync(journey with { Status = JourneyStatus.Paused, UpdatedAt = now }, journey.Revision, null, ct))
            throw new JourneyStateException($"Journey '{id}' changed meanwhile.", stale: true);
        await catalog.RefreshAsync(ct);
        await partitions.BarrierAsync(ws, ct); // batches that still saw it running have committed
        var held = await store.HoldJourneyTimersAsync(ws, journey.Key, hold: true, now, ct);
        await AuditAsync(ws, actor, "journey.paused", id, new { held }, ct);
        return await GetRequiredAsync(ws, id, ct);
    }

    public async Task<JourneyRecord> ResumeAsync(long ws, string id, string actor, CancellationToken ct)
    {
        var journey = await GetRequiredAsync(ws, id, ct);
        if (journey.Status != JourneyStatus.Paused) throw new JourneyStateException($"Only a paused journey can be resumed; '{id}' is {Name(journey.Status)}.");
        var now = time.GetUtcNow();
        if (!await store.UpdateJourneyAsync(journey with { Status = JourneyStatus.Published, UpdatedAt = now }, journey.Revision, null, ct))
            throw new JourneyStateException($"Journey '{id}' changed meanwhile.", stale: true);
        var released = await store.HoldJourneyTimersAsync(ws, journey.Key, hold: false, now, ct);
        await catalog.RefreshAsync(ct);
        catalog.OnTimerScheduled(now);
        await AuditAsync(ws, actor, "journey.resumed", id, new { released }, ct);
        return await GetRequiredAsync(ws, id, ct);
    }

    /// <summary>Archives: no more entries, and everyone inside leaves (reason <c>archived</c>).</summary>
    public async Task<JourneyRecord> ArchiveAsync(long ws, string id, string actor, CancellationToken ct)
    {
        var journey = await GetRequiredAsync(ws, id, ct);
        if (journey.Status == JourneyStatus.Archived) return journey;
        var now = time.GetUtcNow();
        if (!await store.UpdateJourneyAsync(journey with { Status = JourneyStatus.Archived, PendingVersion = null, PendingBy = null, NextRunAt = null, UpdatedAt = now },
                journey.Revision, null, ct))
            throw new JourneyStateException($"Journey '{id}' changed meanwhile.", stale: true);
        await catalog.RefreshAsync(ct);
        await partitions.BarrierAsync(ws, ct);
        long ended = 0, after = 0;
        while (true)
        {
            var page = await store.GetOpenJourneyInstancesAsync(ws, journey.Key, after, 500, ct);
            if (page.Count == 0) break;
            after = page[^1].Id;
            var changes = page.Select(i => i with
            {
                Status = i.Status == InstanceStatus.Scheduled ? InstanceStatus.Scheduled : InstanceStatus.Exited,
                DueAt = null,
                WaitEvent = null,
                EndReason = "archived",
                EndedAt = now,
                UpdatedAt = now,
                Revision = i.Revision + 1,
            }).ToList();
            var stats = changes.Where(i => i.Status == InstanceStatus.Exited).GroupBy(i => (i.Version, i.StepId))
                .Select(g => new JourneyStatDelta(ws, journey.Key, g.Key.Version, g.Key.StepId, "exited:archived", -1, g.Count())).ToList();
            await using var tx = await store.BeginAsync(ct);
            await tx.SaveJourneyInstancesAsync(changes, ct);
            await tx.WriteJourneyEffectsAsync([], [], [], [], stats, ct);
            await tx.CommitAsync(ct);
            ended += changes.Count;
        }
        await AuditAsync(ws, actor, "journey.archived", id, new { ended }, ct);
        return await GetRequiredAsync(ws, id, ct);
    }

    /// <summary>The API trigger: enters the profile with that user id. <paramref name="idempotencyKey"/> with the same body answers the
    /// first call's outcome again; with a different body, <c>idempotency_mismatch</c>.</summary>
    public async Task<JourneyEntryOutcome?> TriggerAsync(long ws, string id, string userId, string? propertiesJson, string? idempotencyKey, string bodyHash,
        CancellationToken ct)
    {
        var journey = await GetRequiredAsync(ws, id, ct);
        if (journey.Status == JourneyStatus.Archived) throw new JourneyStateException($"Journey '{id}' is archived.");
        if (journey.Status != JourneyStatus.Published) throw new JourneyStateException($"Journey '{id}' is {Name(journey.Status)}; only a published journey takes entries.");
        var def = catalog.For(ws).Find(journey.Key)?.Live;
        if (def?.Trigger is not ApiTrigger) throw new JourneyStateException($"Journey '{id}' is entered by its {def?.Trigger.Type ?? "unknown"} trigger, not through the API.");
        var now = time.GetUtcNow();
        var entryKey = idempotencyKey is null ? "api:" + Guid.CreateVersion7(now).ToString("N") : "api:" + idempotencyKey;
        var idem = idempotencyKey is null ? null : new JourneyTriggerRecord(ws, journey.Key, idempotencyKey, bodyHash, "", null, now);
        var outcomes = await partitions.SubmitAsync([new EnterJourney(ws, new IdentityKey(IdentityKinds.UserId, userId), null, null, journey.Key, entryKey,
            propertiesJson, idem, null)], ct);
        return outcomes[0] as JourneyEntryOutcome;
    }

    public async Task<JourneyStats> StatsAsync(long ws, string id, CancellationToken ct)
    {
        var journey = await GetRequiredAsync(ws, id, ct);
        var counters = await store.GetJourneyStatsAsync(ws, journey.Key, ct);
        var waiting = await store.GetJourneyWaitingAsync(ws, journey.Key, ct);
        long Total(string kind) => counters.Where(c => c.StepId == "$journey" && c.Kind == kind).Sum(c => c.Count);
        var steps = counters.Where(c => c.StepId != "$journey").Select(c => (c.Version, c.StepId))
            .Concat(waiting.Select(w => (w.Version, w.StepId))).Distinct().OrderBy(k => k.Version).ThenBy(k => k.StepId, StringComparer.Ordinal)
            .Select(k =>
            {
                var mine = counters.Where(c => c.Version == k.Version && c.StepId == k.StepId).ToList();
                return new JourneyStepStats(k.Version, k.StepId,
                    mine.Where(c => c.Kind == "entered").Sum(c => c.Count),
                    mine.Where(c => c.Kind == "completed").Sum(c => c.Count),
                    waiting.Where(w => w.Version == k.Version && w.StepId == k.StepId && w.Kind == "waiting").Sum(w => w.Count),
                    mine.Where(c => c.Kind == "converted").Sum(c => c.Count),
                    mine.Where(c => c.Kind.StartsWith("exited:", StringComparison.Ordinal))
                        .GroupBy(c => c.Kind["exited:".Length..]).ToDictionary(g => g.Key, g => g.Sum(c => c.Count), StringComparer.Ordinal));
            }).ToList();
        var entered = Total("entered");
        var converted = Total("converted");
        // Archive exits are counted per step only (shard -1).
        var archived = counters.Where(c => c.Kind == "exited:archived").Sum(c => c.Count);
        return new JourneyStats(id, entered, waiting.Where(w => w.Kind == "waiting").Sum(w => w.Count), Total("completed"), Total("exited") + archived,
            converted, entered == 0 ? 0 : Math.Round((double)converted / entered, 4), steps);
    }

    public Task AuditAsync(long ws, string actor, string action, string target, object? detail, CancellationToken ct) =>
        store.AppendAuditAsync(new AuditEntry(ws, 0, time.GetUtcNow(), actor, action, "journey", target,
            detail is null ? null : JsonSerializer.Serialize(detail)), ct);

    public static string Name(JourneyStatus status) => status switch
    {
        JourneyStatus.Draft => "draft",
        JourneyStatus.PendingApproval => "pending_approval",
        JourneyStatus.Published => "published",
        JourneyStatus.Paused => "paused",
        JourneyStatus.Archived => "archived",
        _ => status.ToString().ToLowerInvariant(),
    };
}
