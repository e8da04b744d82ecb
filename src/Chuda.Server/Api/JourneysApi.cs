using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Chuda.Domain.Journeys;
using Chuda.Domain.Profiles;
using Chuda.Engine.Journeys;
using Chuda.Engine.Profiles;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.AspNetCore.Mvc;

namespace Chuda.Server.Api;

/// <param name="Status">draft, pending_approval, published, paused or archived.</param>
/// <param name="Trigger">The live (else latest) version's trigger type: event, segment_entered, segment_exited, date_trait, api, broadcast.</param>
/// <param name="LatestVersion">The newest version (edits create a new one).</param>
/// <param name="LiveVersion">The version new entries walk; null until first published.</param>
/// <param name="PendingVersion">The version waiting for a second admin key's approval, asked for by <paramref name="PendingBy"/> (a key id).</param>
/// <param name="Revision">Changes on every update; send it as If-Match to edit only what you read (also the ETag).</param>
/// <param name="Definition">The latest version's definition.</param>
public sealed record JourneyView(
    string Id, string Name, string Status, string Trigger, int LatestVersion, int? LiveVersion, int? PendingVersion, string? PendingBy,
    IReadOnlyList<int> Versions, long Revision, DateTimeOffset? NextRunAt, JsonElement Definition, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record JourneySummary(
    string Id, string Name, string Status, string Trigger, int LatestVersion, int? LiveVersion, int? PendingVersion, long Revision,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record JourneyList(IReadOnlyList<JourneySummary> Journeys);

public sealed record JourneyRequest(string? Id, JsonElement Definition);

public sealed record JourneyUpdateRequest(JsonElement Definition);

/// <param name="CreatedBy">The admin key id that saved it.</param>
public sealed record JourneyVersionSummary(int Version, bool Live, bool Pending, DateTimeOffset CreatedAt, string? CreatedBy);

public sealed record JourneyVersionList(string Journey, IReadOnlyList<JourneyVersionSummary> Versions);

public sealed record JourneyVersionView(string Journey, int Version, bool Live, bool Pending, DateTimeOffset CreatedAt, string? CreatedBy, JsonElement Definition);

/// <summary>One fault of a journey definition.</summary>
/// <param name="Field">The path without <c>$.</c>, as every other error of this API names fields.</param>
/// <param name="Path">The JSON path in the request body (<c>$.definition.steps[2].type</c>); for a stored version, in its definition as
/// <c>GET /api/v1/journeys/{id}/versions/{version}</c> shows it.</param>
/// <param name="Step">The id of the step at fault, when there is one.</param>
/// <param name="Code">unknown_step_type, dangling_edge, unreachable, loop_without_wait, wait_never_ends, missing_template, unknown_segment, ...</param>
public sealed record JourneyErrorView(string Field, string Path, string? Step, string Code, string Message);

public sealed record ValidationView(string Journey, int Version, bool Valid, IReadOnlyList<JourneyErrorView> Errors);

public sealed record PublishRequest(int? Version, bool? Migrate);

/// <param name="PendingApproval">True (with 202) when the workspace requires approvals: another admin key must approve.</param>
/// <param name="Migrated">Profiles already inside moved to the new version (only with <c>"migrate": true</c>).</param>
public sealed record PublishView(JourneyView Journey, bool PendingApproval, long Migrated);

public sealed record ApproveRequest(bool? Migrate);

public sealed record RejectRequest(string? Reason);

public sealed record TriggerRequest(string UserId, JsonElement? Properties);

/// <param name="Result">entered, scheduled or replayed (202); filtered, not_reentrant, cap_reached or duplicate (200, not entered).</param>
/// <param name="InstanceId">The entry (on a replay, the first call's).</param>
/// <param name="Reason">Why the profile did not enter, when it did not.</param>
public sealed record TriggerView(string Result, long? InstanceId, string? Reason);

public sealed record ConversionView(long InstanceId, long ProfileId, string? UserId, int Version, DateTimeOffset At, string LastStep, JsonElement Variants);

/// <param name="Next">Pass as <c>after</c> for the next page; null on the last page.</param>
public sealed record ConversionPage(IReadOnlyList<ConversionView> Conversions, string? Next);

/// <param name="Status">pending, delivered or failed.</param>
public sealed record WebhookView(long Id, long InstanceId, long ProfileId, string Step, string IdempotencyKey, string Url, string Method, string Status,
    int Attempts, DateTimeOffset? NextAttemptAt, int? LastStatusCode, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record WebhookPage(IReadOnlyList<WebhookView> Webhooks, string? Next);

public sealed record JourneyPathView(string Step, DateTimeOffset At, string? Note);

/// <param name="Status">scheduled (entry due at dueAt), active, completed, exited or converted.</param>
/// <param name="Step">Where the profile is (or ended).</param>
/// <param name="StepType">The step's type in its version (wait, wait_for_event, ...).</param>
/// <param name="DueAt">When its timer fires: the end of a wait, a wait-for-event's timeout, a scheduled entry.</param>
/// <param name="WaitingFor">The event a wait_for_event step waits for.</param>
/// <param name="Path">The steps passed, oldest first (the most recent 30), with a note where the engine recorded why.</param>
/// <param name="Variants">Split variants chosen, by split step id.</param>
public sealed record ProfileJourneyView(
    string? Journey, long InstanceId, int Version, string Status, string Step, string? StepType, DateTimeOffset StepEnteredAt, DateTimeOffset? DueAt,
    string? WaitingFor, DateTimeOffset EnteredAt, DateTimeOffset? EndedAt, string? EndReason, string? Trigger, IReadOnlyList<JourneyPathView> Path,
    IReadOnlyDictionary<string, string> Variants);

public sealed record ProfileJourneys(string UserId, IReadOnlyList<ProfileJourneyView> Journeys);

/// <param name="Channels">Ordered channel preference.</param>
/// <param name="Context">Entry event and journey context for the template.</param>
/// <param name="ScheduledFor">The step's logical instant.</param>
/// <param name="Status">pending until the delivery pipeline takes it.</param>
public sealed record SendRequestView(
    long Id, string? Journey, int Version, long InstanceId, long ProfileId, string? UserId, string Step, int Seq, string IdempotencyKey, string Template,
    JsonElement Channels, string Category, string? DedupKey, JsonElement Context, DateTimeOffset ScheduledFor, DateTimeOffset CreatedAt, string Status);

public sealed record SendRequestPage(IReadOnlyList<SendRequestView> SendRequests, string? Next);

/// <param name="Assignee">The person (from a profile trait such as owner) or the queue.</param>
/// <param name="FromQueue">True when the assignee is a queue (the trait was empty).</param>
/// <param name="Status">open or done.</param>
public sealed record TaskView(
    long Id, string? Journey, long InstanceId, long ProfileId, string? UserId, string Step, string Title, string? Note, string Assignee, bool FromQueue,
    DateTimeOffset DueAt, string Status, DateTimeOffset CreatedAt, DateTimeOffset? DoneAt);

/// <param name="Next">Pass as <c>after</c> for the next page (an opaque cursor); null on the last page.</param>
public sealed record TaskPage(IReadOnlyList<TaskView> Tasks, string? Next);

public sealed record TaskDone(long Id, string Status, DateTimeOffset DoneAt);

/// <param name="Actor">The admin key id (key_…) that acted.</param>
/// <param name="TargetType">journey, settings, task or api_key.</param>
public sealed record AuditView(long Seq, DateTimeOffset At, string Actor, string Action, string TargetType, string TargetId, JsonElement? Detail);

/// <param name="Next">Pass as <c>after</c> to continue; an empty page answers the same value, so it can be polled.</param>
public sealed record AuditPage(IReadOnlyList<AuditView> Entries, long Next);

/// <param name="TimeZone">IANA zone for broadcasts and for profiles without a zone of their own (null: UTC).</param>
/// <param name="JourneyApprovals">Publishing a journey needs a second admin key's approval.</param>
/// <param name="WebhookSecret">The Standard Webhooks signing secret (whsec_…) receivers verify journey webhooks with.</param>
public sealed record SettingsView(string? TimeZone, bool JourneyApprovals, string WebhookSecret, bool TemplateApprovals);

public sealed record SettingsPatch(string? TimeZone, bool? JourneyApprovals, bool? TemplateApprovals);

/// <summary>Journeys (lifecycle, versions, approvals, API trigger, funnel), where profiles are in them, the requests they
/// produced (sends, tasks, webhooks), the audit log and workspace settings.</summary>
public static class JourneysApi
{
    private static readonly Dictionary<string, string> NotEnteredReasons = new(StringComparer.Ordinal)
    {
        ["filtered"] = "The profile does not pass the journey's entry filter.",
        ["not_reentrant"] = "The journey's re-entry policy does not let this profile enter again now.",
        ["cap_reached"] = "The journey has reached its entry cap.",
        ["duplicate"] = "The profile already entered this journey with this entry key.",
    };

    public static IEndpointRouteBuilder MapJourneysApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/journeys").WithTags("Journeys").ProducesProblem(401).ProducesProblem(403);
        group.MapPost("/", CreateAsync).WithName("create-journey")
            .WithSummary("Create a journey (draft, version 1) from a definition; 400 names the field and step of every fault")
            .Accepts<JourneyRequest>("application/json").Produces<JourneyView>(201).ProducesProblem(400).ProducesProblem(409);
        group.MapGet("/", ListAsync).WithName("list-journeys").WithSummary("All journeys of the workspace, ordered by id")
            .Produces<JourneyList>();
        group.MapGet("/{id}", GetAsync).WithName("get-journey")
            .WithSummary("A journey with its latest definition and versions; ETag is its revision")
            .Produces<JourneyView>().ProducesProblem(404);
        group.MapPut("/{id}", UpdateAsync).WithName("update-journey")
            .WithSummary("Save a new version (If-Match: the revision you edited, optional); the live version runs until the new one is published")
            .Accepts<JourneyUpdateRequest>("application/json").Produces<JourneyView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409)
            .ProducesProblem(412);
        group.MapGet("/{id}/versions", VersionsAsync).WithName("journey-versions").WithSummary("The versions of a journey, oldest first")
            .Produces<JourneyVersionList>().ProducesProblem(404);
        group.MapGet("/{id}/versions/{version}", VersionAsync).WithName("journey-version").WithSummary("One version with its definition")
            .Produces<JourneyVersionView>().ProducesProblem(400).ProducesProblem(404);
        group.MapPost("/{id}/validate", ValidateAsync).WithName("validate-journey")
            .WithSummary("The publish checks of a version (default: the latest) without publishing")
            .Produces<ValidationView>().ProducesProblem(400).ProducesProblem(404);
        group.MapPost("/{id}/publish", PublishAsync).WithName("publish-journey")
            .WithSummary("Publish a version (default: the latest); 202 when the workspace requires approval; \"migrate\": true moves profiles inside to it")
            .Accepts<PublishRequest>("application/json").Produces<PublishView>().Produces<PublishView>(202).ProducesProblem(400).ProducesProblem(404)
            .ProducesProblem(409);
        group.MapPost("/{id}/approve", ApproveAsync).WithName("approve-journey")
            .WithSummary("Approve the publish waiting for approval (with another admin key than the one that asked)")
            .Accepts<ApproveRequest>("application/json").Produces<PublishView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);
        group.MapPost("/{id}/reject", RejectAsync).WithName("reject-journey").WithSummary("Reject the publish waiting for approval")
            .Accepts<RejectRequest>("application/json").Produces<JourneyView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);
        group.MapPost("/{id}/pause", PauseAsync).WithName("pause-journey")
            .WithSummary("Pause a published journey: no entries, and everyone inside is held where they are")
            .Produces<JourneyView>().ProducesProblem(404).ProducesProblem(409);
        group.MapPost("/{id}/resume", ResumeAsync).WithName("resume-journey").WithSummary("Resume a paused journey; overdue timers fire with a bounded stagger")
            .Produces<JourneyView>().ProducesProblem(404).ProducesProblem(409);
        group.MapPost("/{id}/archive", ArchiveAsync).WithName("archive-journey")
            .WithSummary("Archive: no more entries or edits, and everyone inside leaves (reason archived)")
            .Produces<JourneyView>().ProducesProblem(404).ProducesProblem(409);
        group.MapPost("/{id}/trigger", TriggerAsync).WithName("trigger-journey")
            .WithSummary("Enter a profile into a published API-triggered journey; Idempotency-Key: a repeat with the same body answers the first outcome, with another body 422")
            .Accepts<TriggerRequest>("application/json").Produces<TriggerView>(202).Produces<TriggerView>().ProducesProblem(400).ProducesProblem(404)
            .ProducesProblem(409).ProducesProblem(422).ProducesProblem(503);
        group.MapGet("/{id}/stats", StatsAsync).WithName("journey-stats")
            .WithSummary("The funnel: entered, active, completed, exited, converted; per version and step with exits by reason")
            .Produces<JourneyStats>().ProducesProblem(404);
        group.MapGet("/{id}/conversions", ConversionsAsync).WithName("journey-conversions")
            .WithSummary("Conversions (goal met) with the version, last step and split variants they are attributed to, paged")
            .Produces<ConversionPage>().ProducesProblem(400).ProducesProblem(404);
        group.MapGet("/{id}/webhooks", WebhooksAsync).WithName("journey-webhooks")
            .WithSummary("The journey's webhook calls with their delivery status, attempts and last error, paged")
            .Produces<WebhookPage>().ProducesProblem(400).ProducesProblem(404);

        app.MapGet("/api/v1/profiles/{userId}/journeys", ProfileJourneysAsync).WithTags("Profiles").WithName("profile-journeys")
            .WithSummary("Where a profile is in each journey it entered, and why: step, timer, awaited event, path, end reason (newest entry first)")
            .Produces<ProfileJourneys>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(401).ProducesProblem(403);
        app.MapGet("/api/v1/send-requests", SendRequestsAsync).WithTags("Journeys").WithName("list-send-requests")
            .WithSummary("Send requests written by journey send steps (what the delivery pipeline consumes), oldest first, paged")
            .Produces<SendRequestPage>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(401).ProducesProblem(403);

        var tasks = app.MapGroup("/api/v1/tasks").WithTags("Tasks").ProducesProblem(401).ProducesProblem(403);
        tasks.MapGet("/", TasksAsync).WithName("list-tasks")
            .WithSummary("Follow-up tasks by due time: filter by assignee, due_before (ISO 8601 instant) and status (open, done); paged")
            .Produces<TaskPage>().ProducesProblem(400);
        tasks.MapPost("/{id}/done", TaskDoneAsync).WithName("complete-task").WithSummary("Mark a task done (409 when it is done already)")
            .Produces<TaskDone>().ProducesProblem(404).ProducesProblem(409);

        app.MapGet("/api/v1/audit", AuditAsync).WithTags("Audit").WithName("audit-log")
            .WithSummary("Who (admin key id) did what: journey lifecycle, approvals, settings, keys, tasks; oldest first after a sequence number")
            .Produces<AuditPage>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        var settings = app.MapGroup("/api/v1/settings").WithTags("Settings").ProducesProblem(401).ProducesProblem(403);
        settings.MapGet("/", SettingsAsync).WithName("get-settings").WithSummary("Workspace settings: time zone, journey approvals, webhook signing secret")
            .Produces<SettingsView>();
        settings.MapPatch("/", PatchSettingsAsync).WithName("patch-settings")
            .WithSummary("Change timeZone (IANA; null: UTC) and journeyApprovals; every change is audited")
            .Accepts<SettingsPatch>("application/json").Produces<SettingsView>().ProducesProblem(400);
        return app;
    }

    // ---------- journeys ----------

    private static async Task<IResult> CreateAsync(HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["id", "definition"]);
        if (body is null) return bad!;
        if (!Body.TryString(body.Root, "id", out var id, out bad)) return bad!;
        if (!body.Root.TryGetProperty("definition", out var definition)) return Problems.Field("definition", "Required: the journey definition object.");
        var ct = context.RequestAborted;
        try
        {
            var created = await journeys.CreateAsync(caller.Workspace.Id, id, definition, caller.KeyId, ct);
            return Tagged(context, TypedResults.Created($"/api/v1/journeys/{created.Id}", await ViewAsync(store, created, ct)), created);
        }
        catch (JourneyValidationException ex)
        {
            return DefinitionProblem(ex.Errors);
        }
        catch (DuplicateNameException)
        {
            return Problems.Conflict("id", $"A journey with id '{id}' exists.");
        }
    }

    private static async Task<IResult> ListAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var all = await store.ListJourneysAsync(caller.Workspace.Id, context.RequestAborted);
        return TypedResults.Ok(new JourneyList([.. all.Select(j => new JourneySummary(j.Id, j.Name, JourneyService.Name(j.Status), j.TriggerType,
            j.LatestVersion, j.LiveVersion, j.PendingVersion, j.Revision, j.CreatedAt, j.UpdatedAt))]));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var journey = await store.GetJourneyAsync(caller.Workspace.Id, id, context.RequestAborted);
        return journey is null ? NotFound(id) : Tagged(context, TypedResults.Ok(await ViewAsync(store, journey, context.RequestAborted)), journey);
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store,
        [FromHeader(Name = "If-Match")] string? ifMatch)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!TryIfMatch(ifMatch, out var expected, out var bad)) return bad!;
        var (body, badBody) = await Body.ReadObjectAsync(context, ["definition"]);
        if (body is null) return badBody!;
        if (!body.Root.TryGetProperty("definition", out var definition)) return Problems.Field("definition", "Required: the journey definition object.");
        var ct = context.RequestAborted;
        return await LifecycleAsync(context, store, caller.Workspace.Id, id, expected is not null,
            () => journeys.UpdateAsync(caller.Workspace.Id, id, definition, expected, caller.KeyId, ct));
    }

    private static async Task<IResult> VersionsAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var journey = await store.GetJourneyAsync(caller.Workspace.Id, id, context.RequestAborted);
        if (journey is null) return NotFound(id);
        var versions = await store.ListJourneyVersionsAsync(caller.Workspace.Id, journey.Key, context.RequestAborted);
        return TypedResults.Ok(new JourneyVersionList(journey.Id,
            [.. versions.Select(v => new JourneyVersionSummary(v.Version, v.Version == journey.LiveVersion, v.Version == journey.PendingVersion, v.CreatedAt, v.CreatedBy))]));
    }

    private static async Task<IResult> VersionAsync(string id, string version, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(version, "version", 1, int.MaxValue, 1, out var number, out var bad)) return bad!;
        var journey = await store.GetJourneyAsync(caller.Workspace.Id, id, context.RequestAborted);
        if (journey is null) return NotFound(id);
        var stored = await store.GetJourneyVersionAsync(caller.Workspace.Id, journey.Key, number, context.RequestAborted);
        if (stored is null) return Problems.Named(404, "Not found", "version", $"Journey '{id}' has no version {number}.");
        return TypedResults.Ok(new JourneyVersionView(journey.Id, stored.Version, stored.Version == journey.LiveVersion, stored.Version == journey.PendingVersion,
            stored.CreatedAt, stored.CreatedBy, Json(stored.DefinitionJson)));
    }

    private static async Task<IResult> ValidateAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store,
        string? version)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(version, "version", 1, int.MaxValue, 0, out var number, out var bad)) return bad!;
        var journey = await store.GetJourneyAsync(caller.Workspace.Id, id, context.RequestAborted);
        if (journey is null) return NotFound(id);
        var v = version is null ? journey.LatestVersion : number;
        try
        {
            var errors = await journeys.ValidateAsync(caller.Workspace.Id, journey, v, context.RequestAborted);
            return TypedResults.Ok(new ValidationView(journey.Id, v, errors.Count == 0, [.. errors.Select(e => ErrorView(InDefinition(e)))]));
        }
        catch (KeyNotFoundException ex)
        {
            return Problems.Named(404, "Not found", "version", ex.Message);
        }
    }

    private static async Task<IResult> PublishAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["version", "migrate"], optional: true);
        if (body is null) return bad!;
        if (!Body.TryInt(body.Root, "version", 1, int.MaxValue, out var version, out bad)) return bad!;
        if (!Body.TryBool(body.Root, "migrate", out var migrate, out bad)) return bad!;
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        try
        {
            var result = await journeys.PublishAsync(ws, id, version, migrate ?? false, caller.KeyId, ct);
            var view = new PublishView(await ViewAsync(store, result.Journey, ct), result.PendingApproval, result.Migrated);
            return Tagged(context, result.PendingApproval ? TypedResults.Accepted($"/api/v1/journeys/{result.Journey.Id}", view) : TypedResults.Ok(view), result.Journey);
        }
        catch (Exception ex) when (ex is JourneyValidationException or JourneyStateException or KeyNotFoundException)
        {
            return await FailureAsync(ex, store, ws, id, hadIfMatch: false, ct);
        }
    }

    private static async Task<IResult> ApproveAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["migrate"], optional: true);
        if (body is null) return bad!;
        if (!Body.TryBool(body.Root, "migrate", out var migrate, out bad)) return bad!;
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        try
        {
            var result = await journeys.ApproveAsync(ws, id, migrate ?? false, caller.KeyId, ct);
            return Tagged(context, TypedResults.Ok(new PublishView(await ViewAsync(store, result.Journey, ct), false, result.Migrated)), result.Journey);
        }
        catch (Exception ex) when (ex is JourneyValidationException or JourneyStateException or KeyNotFoundException)
        {
            return await FailureAsync(ex, store, ws, id, hadIfMatch: false, ct);
        }
    }

    private static async Task<IResult> RejectAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["reason"], optional: true);
        if (body is null) return bad!;
        if (!Body.TryString(body.Root, "reason", out var reason, out bad)) return bad!;
        if (reason is { Length: > 2000 }) return Problems.Field("reason", "At most 2,000 characters.");
        var ct = context.RequestAborted;
        return await LifecycleAsync(context, store, caller.Workspace.Id, id, false, () => journeys.RejectAsync(caller.Workspace.Id, id, reason, caller.KeyId, ct));
    }

    private static async Task<IResult> PauseAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var ct = context.RequestAborted;
        return await LifecycleAsync(context, store, caller.Workspace.Id, id, false, () => journeys.PauseAsync(caller.Workspace.Id, id, caller.KeyId, ct));
    }

    private static async Task<IResult> ResumeAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var ct = context.RequestAborted;
        return await LifecycleAsync(context, store, caller.Workspace.Id, id, false, () => journeys.ResumeAsync(caller.Workspace.Id, id, caller.KeyId, ct));
    }

    private static async Task<IResult> ArchiveAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var ct = context.RequestAborted;
        return await LifecycleAsync(context, store, caller.Workspace.Id, id, false, () => journeys.ArchiveAsync(caller.Workspace.Id, id, caller.KeyId, ct));
    }

    private static async Task<IResult> TriggerAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys, IChudaStore store,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (idempotencyKey is not null)
        {
            idempotencyKey = idempotencyKey.Trim();
            if (context.Request.Headers["Idempotency-Key"].Count != 1 || idempotencyKey.Length is 0 or > 255)
                return Problems.Field("Idempotency-Key", "One key of 1 to 255 characters, e.g. a UUID.");
        }
        var (body, bad) = await Body.ReadObjectAsync(context, ["userId", "properties"], maxBytes: 32 * 1024);
        if (body is null) return bad!;
        if (!Body.TryString(body.Root, "userId", out var userId, out bad)) return bad!;
        if (string.IsNullOrWhiteSpace(userId)) return Problems.Field("userId", "Required: the user id of the profile to enter.");
        string? properties = null;
        if (body.Root.TryGetProperty("properties", out var p) && p.ValueKind != JsonValueKind.Null)
        {
            if (p.ValueKind != JsonValueKind.Object) return Problems.Field("properties", "Must be an object.");
            properties = p.GetRawText();
        }
        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(body.Raw));
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        JourneyEntryOutcome? outcome;
        try
        {
            outcome = await journeys.TriggerAsync(ws, id, userId, properties, idempotencyKey, bodyHash, ct);
        }
        catch (OverloadedException ex)
        {
            context.Response.Headers.RetryAfter = "1";
            return Problems.Unavailable(ex.Message);
        }
        catch (Exception ex) when (ex is JourneyStateException or KeyNotFoundException)
        {
            return await FailureAsync(ex, store, ws, id, hadIfMatch: false, ct);
        }
        if (outcome is null) return Problems.Named(404, "Not found", "userId", $"No profile has userId '{userId}'.");
        return outcome.Result switch
        {
            "entered" or "scheduled" or "replayed" => TypedResults.Accepted((string?)null, new TriggerView(outcome.Result, outcome.InstanceId, null)),
            "idempotency_mismatch" => Problems.Named(422, "Unprocessable request", "Idempotency-Key",
                "This Idempotency-Key was used with a different request body; use a new key for a new request."),
            "not_accepting" => Problems.Conflict("status", $"Journey '{id}' does not take entries now (paused, archived or republished meanwhile)."),
            var result => TypedResults.Ok(new TriggerView(result, outcome.InstanceId, NotEnteredReasons.GetValueOrDefault(result, "The profile did not enter."))),
        };
    }

    private static async Task<IResult> StatsAsync(string id, HttpContext context, WorkspaceDirectory directory, JourneyService journeys)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        try
        {
            return TypedResults.Ok(await journeys.StatsAsync(caller.Workspace.Id, id, context.RequestAborted));
        }
        catch (KeyNotFoundException)
        {
            return NotFound(id);
        }
    }

    private static async Task<IResult> ConversionsAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? after, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 100, out var take, out var bad)) return bad!;
        if (!Query.TryLong(after, "after", 0, long.MaxValue, 0, out var cursor, out bad)) return bad!;
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        var journey = await store.GetJourneyAsync(ws, id, ct);
        if (journey is null) return NotFound(id);
        var rows = await store.GetJourneyConversionsAsync(ws, journey.Key, cursor, take + 1, ct);
        var users = await UserIdsAsync(store, ws, rows.Take(take).Select(c => c.ProfileId), ct);
        var page = rows.Take(take).Select(c => new ConversionView(c.InstanceId, c.ProfileId, users.GetValueOrDefault(c.ProfileId), c.Version, c.At, c.LastStep,
            Json(c.VariantsJson))).ToList();
        return TypedResults.Ok(new ConversionPage(page, rows.Count > take ? Invariant(page[^1].InstanceId) : null));
    }

    private static async Task<IResult> WebhooksAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? after, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 100, out var take, out var bad)) return bad!;
        if (!Query.TryLong(after, "after", 0, long.MaxValue, 0, out var cursor, out bad)) return bad!;
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        var journey = await store.GetJourneyAsync(ws, id, ct);
        if (journey is null) return NotFound(id);
        var rows = await store.GetWebhooksAsync(ws, journey.Key, cursor, take + 1, ct);
        var page = rows.Take(take).Select(w => new WebhookView(w.Id, w.InstanceId, w.ProfileId, w.StepId, w.IdempotencyKey, w.Url, w.Method, w.Status,
            w.Attempts, w.NextAttemptAt, w.LastStatusCode, w.LastError, w.CreatedAt, w.UpdatedAt)).ToList();
        return TypedResults.Ok(new WebhookPage(page, rows.Count > take ? Invariant(page[^1].Id) : null));
    }

    // ---------- profiles, sends, tasks ----------

    private static async Task<IResult> ProfileJourneysAsync(string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store,
        JourneyCatalog catalog, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 100, out var take, out var bad)) return bad!;
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        var profileId = await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.UserId, userId), ct);
        if (profileId is null) return Problems.NotFound($"No profile has userId '{userId}'.");
        var instances = await store.GetProfileJourneyInstancesAsync(ws, profileId.Value, take, ct);
        var ids = await JourneyIdsAsync(store, ws, ct);
        var views = new List<ProfileJourneyView>(instances.Count);
        foreach (var i in instances)
        {
            var context2 = ParseContext(i.ContextJson);
            var definition = await catalog.DefinitionAsync(ws, i.JourneyKey, i.Version, ct);
            views.Add(new ProfileJourneyView(ids.GetValueOrDefault(i.JourneyKey), i.Id, i.Version, InstanceStatusName(i.Status), i.StepId,
                definition?.Step(i.StepId)?.Type, i.StepEnteredAt, i.DueAt, i.WaitEvent, i.EnteredAt, i.EndedAt, i.EndReason,
                context2?.Trigger is { Length: > 0 } t ? t : null,
                context2 is null ? [] : [.. context2.Path.Select(p => new JourneyPathView(p.Step, Millis(p.At), p.Note))],
                context2?.Variants ?? new Dictionary<string, string>(StringComparer.Ordinal)));
        }
        return TypedResults.Ok(new ProfileJourneys(userId, views));
    }

    private static async Task<IResult> SendRequestsAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? userId, string? journey,
        string? after, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 100, out var take, out var bad)) return bad!;
        if (!Query.TryLong(after, "after", 0, long.MaxValue, 0, out var cursor, out bad)) return bad!;
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        long? profileId = null;
        if (userId is not null)
        {
            profileId = await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.UserId, userId), ct);
            if (profileId is null) return Problems.Named(404, "Not found", "userId", $"No profile has userId '{userId}'.");
        }
        long? journeyKey = null;
        if (journey is not null)
        {
            var j = await store.GetJourneyAsync(ws, journey, ct);
            if (j is null) return Problems.Named(404, "Not found", "journey", $"No journey has id '{journey}'.");
            journeyKey = j.Key;
        }
        var rows = await store.GetSendRequestsAsync(ws, profileId, journeyKey, cursor, take + 1, ct);
        var page = rows.Take(take).ToList();
        var ids = await JourneyIdsAsync(store, ws, ct);
        var users = await UserIdsAsync(store, ws, page.Select(s => s.ProfileId), ct);
        var views = page.Select(s => new SendRequestView(s.Id, ids.GetValueOrDefault(s.JourneyKey), s.Version, s.InstanceId, s.ProfileId,
            users.GetValueOrDefault(s.ProfileId), s.StepId, s.Seq, s.IdempotencyKey, s.Template, Json(s.ChannelsJson), s.Category, s.DedupKey,
            Json(s.ContextJson), s.ScheduledFor, s.CreatedAt, s.Status)).ToList();
        return TypedResults.Ok(new SendRequestPage(views, rows.Count > take ? Invariant(views[^1].Id) : null));
    }

    private static async Task<IResult> TasksAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? assignee,
        [FromQuery(Name = "due_before")] string? dueBefore, string? status, string? after, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 100, out var take, out var bad)) return bad!;
        DateTimeOffset? before = null;
        if (dueBefore is not null)
        {
            if (!TryInstant(dueBefore, out var b)) return Problems.Field("due_before", "An ISO 8601 instant such as 2026-11-23T00:00:00Z.");
            before = b;
        }
        if (status is not (null or "open" or "done")) return Problems.Field("status", "Must be 'open' or 'done'.");
        DateTimeOffset? afterDue = null;
        long afterId = 0;
        if (after is not null)
        {
            var parts = after.Split(':');
            if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var millis)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out afterId)
                || millis < -62135596800000 || millis > 253402300799999)
                return Problems.Field("after", "Not a cursor from a previous page's 'next'.");
            afterDue = DateTimeOffset.FromUnixTimeMilliseconds(millis);
        }
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        var rows = await store.GetTasksAsync(ws, string.IsNullOrEmpty(assignee) ? null : assignee, before, status, afterDue, afterId, take + 1, ct);
        var page = rows.Take(take).ToList();
        var ids = await JourneyIdsAsync(store, ws, ct);
        var users = await UserIdsAsync(store, ws, page.Select(t => t.ProfileId), ct);
        var views = page.Select(t => new TaskView(t.Id, ids.GetValueOrDefault(t.JourneyKey), t.InstanceId, t.ProfileId, users.GetValueOrDefault(t.ProfileId),
            t.StepId, t.Title, t.Note, t.Assignee, t.FromQueue, t.DueAt, t.Status, t.CreatedAt, t.DoneAt)).ToList();
        var next = rows.Count > take ? Invariant(page[^1].DueAt.ToUnixTimeMilliseconds()) + ":" + Invariant(page[^1].Id) : null;
        return TypedResults.Ok(new TaskPage(views, next));
    }

    private static async Task<IResult> TaskDoneAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store, TimeProvider time)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var taskId)) return Problems.NotFound($"No task has id '{id}'.");
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        var now = Millis(time.GetUtcNow());
        if (await store.CompleteTaskAsync(ws, taskId, now, ct))
        {
            await store.AppendAuditAsync(new AuditEntry(ws, 0, now, caller.KeyId, "task.done", "task", Invariant(taskId), null), ct);
            return TypedResults.Ok(new TaskDone(taskId, "done", now));
        }
        return await IsDoneTaskAsync(store, ws, taskId, ct)
            ? Problems.Conflict("id", $"Task {taskId} is done already.")
            : Problems.NotFound($"No task has id '{id}'.");
    }

    /// <summary>Whether a task that could not be completed exists (done already). The store has no point lookup of tasks, so
    /// this walks the workspace's done tasks; it only runs when completing failed.</summary>
    private static async Task<bool> IsDoneTaskAsync(IChudaStore store, long ws, long taskId, CancellationToken ct)
    {
        DateTimeOffset? afterDue = null;
        long afterId = 0;
        while (true)
        {
            var page = await store.GetTasksAsync(ws, null, null, "done", afterDue, afterId, 1000, ct);
            if (page.Any(t => t.Id == taskId)) return true;
            if (page.Count < 1000) return false;
            afterDue = page[^1].DueAt;
            afterId = page[^1].Id;
        }
    }

    // ---------- audit, settings ----------

    private static async Task<IResult> AuditAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? after, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 100, out var take, out var bad)) return bad!;
        if (!Query.TryLong(after, "after", 0, long.MaxValue, 0, out var cursor, out bad)) return bad!;
        var rows = await store.GetAuditAsync(caller.Workspace.Id, cursor, take, context.RequestAborted);
        var entries = rows.Select(a => new AuditView(a.Seq, a.At, a.Actor, a.Action, a.TargetType, a.TargetId, a.DetailJson is null ? null : Json(a.DetailJson)))
            .ToList();
        return TypedResults.Ok(new AuditPage(entries, entries.Count == 0 ? cursor : entries[^1].Seq));
    }

    private static async Task<IResult> SettingsAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, WebhookDispatcher webhooks)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        return TypedResults.Ok(await SettingsViewAsync(store, webhooks, caller.Workspace.Id, context.RequestAborted));
    }

    private static async Task<IResult> PatchSettingsAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, WebhookDispatcher webhooks,
        TimeProvider time)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["timeZone", "journeyApprovals", "templateApprovals"]);
        if (body is null) return bad!;
        var changes = new List<(string Name, string? Value)>();
        if (body.Root.TryGetProperty("timeZone", out _))
        {
            if (!Body.TryString(body.Root, "timeZone", out var zone, out bad)) return bad!;
            if (zone is not null && !LocalTimes.TryFindZone(zone, out _))
                return Problems.Field("timeZone", $"'{zone}' is not an IANA time zone (e.g. Asia/Shanghai, Europe/Berlin); null for UTC.");
            changes.Add((JourneyService.TimeZoneSetting, zone));
        }
        if (body.Root.TryGetProperty("journeyApprovals", out _))
        {
            if (!Body.TryBool(body.Root, "journeyApprovals", out var approvals, out bad)) return bad!;
            changes.Add((JourneyService.ApprovalsSetting, approvals == true ? "true" : null));
        }
        if (body.Root.TryGetProperty("templateApprovals", out _))
        {
            if (!Body.TryBool(body.Root, "templateApprovals", out var approvals, out bad)) return bad!;
            changes.Add((Chuda.Engine.Delivery.DeliveryCatalog.TemplateApprovalsSetting, approvals == true ? "true" : null));
        }
        var ws = caller.Workspace.Id;
        var ct = context.RequestAborted;
        var current = await store.GetWorkspaceSettingsAsync(ws, ct);
        foreach (var (name, value) in changes)
        {
            var before = current.GetValueOrDefault(name);
            if (before == value) continue;
            await store.SetWorkspaceSettingAsync(ws, name, value, ct);
            await store.AppendAuditAsync(new AuditEntry(ws, 0, time.GetUtcNow(), caller.KeyId, "settings.changed", "settings", name,
                JsonSerializer.Serialize(new Dictionary<string, string?> { ["from"] = before, ["to"] = value })), ct);
        }
        if (changes.Count > 0) context.RequestServices.GetRequiredService<Chuda.Engine.Delivery.DeliveryCatalog>().Invalidate(ws);
        return TypedResults.Ok(await SettingsViewAsync(store, webhooks, ws, ct));
    }

    private static async Task<SettingsView> SettingsViewAsync(IChudaStore store, WebhookDispatcher webhooks, long ws, CancellationToken ct)
    {
        var secret = await webhooks.SecretAsync(ws, ct);
        var settings = await store.GetWorkspaceSettingsAsync(ws, ct);
        return new SettingsView(settings.GetValueOrDefault(JourneyService.TimeZoneSetting), settings.GetValueOrDefault(JourneyService.ApprovalsSetting) == "true",
            secret, settings.GetValueOrDefault(Chuda.Engine.Delivery.DeliveryCatalog.TemplateApprovalsSetting) == "true");
    }

    // ---------- helpers ----------

    /// <summary>Runs a lifecycle action answering the journey (with its revision as ETag), or the problem it raised.</summary>
    private static async Task<IResult> LifecycleAsync(HttpContext context, IChudaStore store, long ws, string id, bool hadIfMatch, Func<Task<JourneyRecord>> action)
    {
        try
        {
            var journey = await action();
            return Tagged(context, TypedResults.Ok(await ViewAsync(store, journey, context.RequestAborted)), journey);
        }
        catch (Exception ex) when (ex is JourneyValidationException or JourneyStateException or KeyNotFoundException)
        {
            return await FailureAsync(ex, store, ws, id, hadIfMatch, context.RequestAborted);
        }
    }

    /// <summary>
    /// The problem for what the journey service refused: invalid definition or failed publish checks 400 (each fault with its
    /// path and step), approving your own publish 403, unknown journey 404, a stale If-Match 412, any other state conflict 409.
    /// </summary>
    private static async Task<IResult> FailureAsync(Exception ex, IChudaStore store, long ws, string id, bool hadIfMatch, CancellationToken ct)
    {
        switch (ex)
        {
            case JourneyValidationException v:
                return DefinitionProblem([.. v.Errors.Select(InDefinition)]);
            case JourneyStateException { Forbidden: true } s:
                return Problems.Forbidden(s.Message);
            case JourneyStateException { Stale: true } s when hadIfMatch:
                var current = await store.GetJourneyAsync(ws, id, ct);
                return Problems.Named(StatusCodes.Status412PreconditionFailed, "Precondition failed", "If-Match", s.Message,
                    new Dictionary<string, object?> { ["revision"] = current?.Revision });
            case JourneyStateException s:
                return Problems.Conflict("status", s.Message);
            default:
                return await store.GetJourneyAsync(ws, id, ct) is null ? NotFound(id) : Problems.Named(404, "Not found", "version", ex.Message);
        }
    }

    /// <summary>Paths of the publish checks are relative to the definition; name them as in the journey view (<c>$.definition.…</c>).</summary>
    private static JourneyError InDefinition(JourneyError e) =>
        e.Path.StartsWith("$.definition", StringComparison.Ordinal) || e.Path.StartsWith("$.id", StringComparison.Ordinal)
            ? e
            : e with { Path = "$.definition" + e.Path[1..] };

    private static JourneyErrorView ErrorView(JourneyError e) =>
        new(e.Path.StartsWith("$.", StringComparison.Ordinal) ? e.Path[2..] : e.Path.TrimStart('$'), e.Path, e.Step, e.Code, e.Message);

    private static IResult DefinitionProblem(IReadOnlyList<JourneyError> errors)
    {
        var shown = errors.Take(100).Select(ErrorView).ToList();
        var first = shown.Count == 0 ? null : shown[0];
        var text = first is null ? "The journey is invalid." : first.Step is null
            ? $"{first.Field}: {first.Message} ({first.Code})"
            : $"{first.Field} (step '{first.Step}'): {first.Message} ({first.Code})";
        var detail = shown.Count <= 1 ? text : $"{shown.Count} faults; the first is {text}";
        return TypedResults.Problem(detail: detail, statusCode: 400, title: "Invalid journey", type: "urn:chuda:problem:400",
            extensions: new Dictionary<string, object?> { ["errors"] = shown });
    }

    private static bool TryIfMatch(string? ifMatch, out long? revision, out IResult? problem)
    {
        revision = null;
        problem = null;
        if (string.IsNullOrEmpty(ifMatch)) return true;
        if (!long.TryParse(ifMatch.Trim().Trim('"').TrimStart('W', '/').Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var r))
        {
            problem = Problems.Field("If-Match", "The journey revision you edited (its ETag), e.g. If-Match: \"3\".");
            return false;
        }
        revision = r;
        return true;
    }

    private static IResult Tagged(HttpContext context, IResult result, JourneyRecord journey)
    {
        context.Response.Headers.ETag = $"\"{Invariant(journey.Revision)}\"";
        return result;
    }

    private static async Task<JourneyView> ViewAsync(IChudaStore store, JourneyRecord j, CancellationToken ct)
    {
        var versions = await store.ListJourneyVersionsAsync(j.WorkspaceId, j.Key, ct);
        var latest = versions.FirstOrDefault(v => v.Version == j.LatestVersion) ?? (versions.Count > 0 ? versions[^1] : null);
        return new JourneyView(j.Id, j.Name, JourneyService.Name(j.Status), j.TriggerType, j.LatestVersion, j.LiveVersion, j.PendingVersion, j.PendingBy,
            [.. versions.Select(v => v.Version)], j.Revision, j.NextRunAt, Json(latest?.DefinitionJson ?? "null"), j.CreatedAt, j.UpdatedAt);
    }

    private static async Task<Dictionary<long, string>> JourneyIdsAsync(IChudaStore store, long ws, CancellationToken ct) =>
        (await store.ListJourneysAsync(ws, ct)).ToDictionary(j => j.Key, j => j.Id);

    /// <summary>User ids of profiles (null for anonymous or erased profiles).</summary>
    private static async Task<Dictionary<long, string?>> UserIdsAsync(IChudaStore store, long ws, IEnumerable<long> profileIds, CancellationToken ct)
    {
        var users = new Dictionary<long, string?>();
        foreach (var id in profileIds.Distinct())
            users[id] = (await store.GetProfileAsync(ws, id, ct))?.UserId;
        return users;
    }

    private static JourneyContext? ParseContext(string json)
    {
        try
        {
            return JourneyContext.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static string InstanceStatusName(InstanceStatus status) => status switch
    {
        InstanceStatus.Scheduled => "scheduled",
        InstanceStatus.Active => "active",
        InstanceStatus.Completed => "completed",
        InstanceStatus.Exited => "exited",
        InstanceStatus.Converted => "converted",
        _ => status.ToString().ToLowerInvariant(),
    };

    private static JsonElement Json(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static IResult NotFound(string id) => Problems.NotFound($"No journey has id '{id}'.");

    private static bool TryInstant(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Truncated to the millisecond, as the store keeps instants.</summary>
    private static DateTimeOffset Millis(DateTimeOffset t) => t.AddTicks(-(t.Ticks % TimeSpan.TicksPerMillisecond));
}
