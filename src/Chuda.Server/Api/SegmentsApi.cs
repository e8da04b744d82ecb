using System.Globalization;
using System.Text.Json;
using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Engine.Segments;
using Chuda.Engine.Workspaces;
using Chuda.Storage;

namespace Chuda.Server.Api;

/// <param name="Done">Profiles evaluated by the backfill of the current version.</param>
/// <param name="Total">Profiles the workspace had when it started (new profiles are evaluated live and not counted).</param>
public sealed record BackfillView(long Done, long Total, double Percent, DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt);

/// <param name="Status"><c>backfilling</c> while existing profiles are being evaluated, then <c>ready</c> (membership exact).</param>
public sealed record SegmentView(
    string Id, string Name, string? Description, JsonElement Rule, int Version, string Status, BackfillView Backfill,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record SegmentList(IReadOnlyList<SegmentView> Segments);

public sealed record SegmentRequest(string? Id, string? Name, string? Description, JsonElement Rule);

public sealed record MemberView(string? UserId, long ProfileId, DateTimeOffset Since);

/// <param name="Next">Pass as <c>after</c> for the next page; null on the last page.</param>
public sealed record MemberPage(IReadOnlyList<MemberView> Members, string? Next);

/// <param name="Exact">True once the backfill of the current rule has finished; while it runs the count is partial.</param>
public sealed record CountView(long Count, bool Exact, string Status);

public sealed record HistoryBucketView(DateTimeOffset Start, long Entered, long Exited);

public sealed record HistoryView(DateTimeOffset From, DateTimeOffset To, string Interval, IReadOnlyList<HistoryBucketView> Buckets);

/// <param name="Type"><c>segment entered</c> or <c>segment exited</c>.</param>
/// <param name="Cause">event, traits, tags, identity, created, merge, merged_away, time, backfill, segment.</param>
/// <param name="Detail">The event name, trait key, tag, identity kind or referenced segment, when there is one.</param>
public sealed record ChangeView(long Seq, string Type, long ProfileId, DateTimeOffset At, string Cause, string? Detail);

public sealed record ChangePage(IReadOnlyList<ChangeView> Changes, long Next);

public sealed record PreviewRequest(JsonElement Rule, bool? Exact);

/// <param name="Estimate">True when the count is extrapolated from a random sample (see Evaluated); false when every profile was evaluated.</param>
/// <param name="Low">Lower end of the 95% interval of an estimate (equals Count when exact).</param>
public sealed record PreviewView(bool Estimate, long Count, long Low, long High, long Evaluated, long Matched, long Total,
    IReadOnlyList<MemberView> Sample, double TookMs);

public sealed record ProfileSegmentView(string Id, string Name, DateTimeOffset Since);

public sealed record ProfileSegments(string UserId, IReadOnlyList<ProfileSegmentView> Segments);

/// <summary>Audience segments: CRUD, members, counts, history, preview, and a profile's segments.</summary>
public static class SegmentsApi
{
    public static IEndpointRouteBuilder MapSegmentsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/segments").WithTags("Segments").ProducesProblem(401).ProducesProblem(403);
        group.MapPost("/", CreateAsync).WithName("create-segment")
            .WithSummary("Create a segment; membership over existing profiles is computed in the background (see backfill)")
            .Accepts<SegmentRequest>("application/json").Produces<SegmentView>(201).ProducesProblem(400);
        group.MapGet("/", ListAsync).WithName("list-segments").WithSummary("All segments of the workspace")
            .Produces<SegmentList>();
        group.MapPost("/preview", PreviewAsync).WithName("preview-segment")
            .WithSummary("Estimated (sampled) or exact ({\"exact\":true}) count and a sample of members for a rule, without saving it")
            .Accepts<PreviewRequest>("application/json").Produces<PreviewView>().ProducesProblem(400);
        group.MapGet("/{id}", GetAsync).WithName("get-segment").WithSummary("A segment with its backfill progress")
            .Produces<SegmentView>().ProducesProblem(404);
        group.MapPut("/{id}", UpdateAsync).WithName("update-segment")
            .WithSummary("Replace name, description and rule (If-Match: the version you edited, optional); a new rule restarts the backfill")
            .Accepts<SegmentRequest>("application/json").Produces<SegmentView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(412);
        group.MapDelete("/{id}", DeleteAsync).WithName("delete-segment")
            .WithSummary("Delete a segment with its memberships and history (409 while another segment references it)")
            .Produces(204).ProducesProblem(404).ProducesProblem(409);
        group.MapGet("/{id}/members", MembersAsync).WithName("segment-members").WithSummary("Members, paged by profile id")
            .Produces<MemberPage>().ProducesProblem(400).ProducesProblem(404);
        group.MapGet("/{id}/count", CountAsync).WithName("segment-count").WithSummary("Number of members")
            .Produces<CountView>().ProducesProblem(404);
        group.MapGet("/{id}/history", HistoryAsync).WithName("segment-history")
            .WithSummary("Entries and exits per interval (from, to: ISO 8601 instants; interval: ISO 8601 duration, default PT1H)")
            .Produces<HistoryView>().ProducesProblem(400).ProducesProblem(404);
        group.MapGet("/{id}/changes", ChangesAsync).WithName("segment-changes")
            .WithSummary("The recorded 'segment entered' / 'segment exited' changes after a sequence number, oldest first")
            .Produces<ChangePage>().ProducesProblem(400).ProducesProblem(404);
        app.MapGet("/api/v1/profiles/{userId}/segments", ProfileSegmentsAsync).WithTags("Profiles").WithName("profile-segments")
            .WithSummary("The segments a profile is a member of").Produces<ProfileSegments>().ProducesProblem(404).ProducesProblem(401).ProducesProblem(403);
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, WorkspaceDirectory directory, SegmentService segments)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (request, bad) = await ReadAsync(context);
        if (request is null) return bad!;
        try
        {
            var saved = await segments.CreateAsync(caller.Workspace.Id, Input(request), context.RequestAborted);
            return TypedResults.Created($"/api/v1/segments/{saved.Id}", View(saved));
        }
        catch (SegmentValidationException ex)
        {
            return RuleProblem(ex.Errors);
        }
    }

    private static async Task<IResult> ListAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var all = await store.ListSegmentsAsync(caller.Workspace.Id, context.RequestAborted);
        return TypedResults.Ok(new SegmentList([.. all.Select(View)]));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var segment = await store.GetSegmentAsync(caller.Workspace.Id, id, context.RequestAborted);
        return segment is null ? NotFound(id) : TypedResults.Ok(View(segment));
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext context, WorkspaceDirectory directory, SegmentService segments)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        int? expected = null;
        var ifMatch = context.Request.Headers.IfMatch.ToString();
        if (ifMatch.Length > 0)
        {
            if (!int.TryParse(ifMatch.Trim().Trim('"').TrimStart('W', '/').Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var v))
                return Problems.Field("If-Match", "The segment version you edited, e.g. If-Match: \"3\".");
            expected = v;
        }
        var (request, bad) = await ReadAsync(context);
        if (request is null) return bad!;
        try
        {
            var saved = await segments.UpdateAsync(caller.Workspace.Id, id, Input(request), expected, context.RequestAborted);
            return saved is null ? NotFound(id) : TypedResults.Ok(View(saved));
        }
        catch (SegmentValidationException ex)
        {
            return RuleProblem(ex.Errors);
        }
        catch (SegmentVersionConflictException ex)
        {
            return TypedResults.Problem(detail: ex.Message, statusCode: 412, title: "Precondition failed", type: "urn:chuda:problem:412",
                extensions: new Dictionary<string, object?> { ["errors"] = new[] { new ProblemField("If-Match", ex.Message) }, ["version"] = ex.Actual });
        }
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext context, WorkspaceDirectory directory, SegmentService segments)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        try
        {
            return await segments.DeleteAsync(caller.Workspace.Id, id, context.RequestAborted) ? TypedResults.NoContent() : NotFound(id);
        }
        catch (SegmentInUseException ex)
        {
            return Problems.Conflict("id", ex.Message);
        }
    }

    private static async Task<IResult> MembersAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? limit, string? after)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 100, out var take, out var bad)) return bad!;
        long cursor = 0;
        if (after is not null && (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out cursor)))
            return Problems.Field("after", "Not a cursor from a previous page's 'next'.");
        var segment = await store.GetSegmentAsync(caller.Workspace.Id, id, context.RequestAborted);
        if (segment is null) return NotFound(id);
        var rows = await store.GetSegmentMembersAsync(caller.Workspace.Id, segment.Key, cursor, take + 1, context.RequestAborted);
        var page = rows.Take(take).Select(m => new MemberView(m.UserId, m.ProfileId, m.Since)).ToList();
        var next = rows.Count > take ? page[^1].ProfileId.ToString(CultureInfo.InvariantCulture) : null;
        return TypedResults.Ok(new MemberPage(page, next));
    }

    private static async Task<IResult> CountAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var segment = await store.GetSegmentAsync(caller.Workspace.Id, id, context.RequestAborted);
        if (segment is null) return NotFound(id);
        var count = await store.CountSegmentMembersAsync(caller.Workspace.Id, segment.Key, context.RequestAborted);
        return TypedResults.Ok(new CountView(count, segment.Status == SegmentStatus.Ready, StatusName(segment.Status)));
    }

    private static async Task<IResult> HistoryAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store, TimeProvider time,
        string? from, string? to, string? interval)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var step = TimeSpan.FromHours(1);
        if (interval is not null)
        {
            if (!RuleDuration.TryParse(interval, out var d, out _)) return Problems.Field("interval", "An ISO 8601 duration such as PT1H, P1D or PT15M.");
            step = d;
        }
        var end = DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());
        if (to is not null && !TryInstant(to, out end)) return Problems.Field("to", "An ISO 8601 instant such as 2026-11-22T00:00:00Z.");
        var start = end - TimeSpan.FromDays(7);
        if (from is not null && !TryInstant(from, out start)) return Problems.Field("from", "An ISO 8601 instant such as 2026-11-15T00:00:00Z.");
        if (start >= end) return Problems.Field("from", "Must be before 'to'.");
        if ((end - start) / step > 10_000) return Problems.Field("interval", "Too many buckets (at most 10,000); use a longer interval.");
        var segment = await store.GetSegmentAsync(caller.Workspace.Id, id, context.RequestAborted);
        if (segment is null) return NotFound(id);
        var buckets = await store.GetSegmentHistoryAsync(caller.Workspace.Id, segment.Key, start, end, step, context.RequestAborted);
        return TypedResults.Ok(new HistoryView(start, end, RuleDuration.Format(step),
            [.. buckets.Select(b => new HistoryBucketView(b.Start, b.Entered, b.Exited))]));
    }

    private static async Task<IResult> ChangesAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? after, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 100, out var take, out var bad)) return bad!;
        if (!Query.TryLong(after, "after", 0, long.MaxValue, 0, out var afterSeq, out bad)) return bad!;
        var segment = await store.GetSegmentAsync(caller.Workspace.Id, id, context.RequestAborted);
        if (segment is null) return NotFound(id);
        var rows = await store.GetSegmentChangesAsync(caller.Workspace.Id, segment.Key, afterSeq, take, context.RequestAborted);
        var changes = rows.Select(c => new ChangeView(c.Seq, c.Entered ? "segment entered" : "segment exited", c.ProfileId, c.At, c.Cause, c.Detail)).ToList();
        return TypedResults.Ok(new ChangePage(changes, changes.Count == 0 ? afterSeq : changes[^1].Seq));
    }

    private static async Task<IResult> PreviewAsync(HttpContext context, WorkspaceDirectory directory, SegmentService segments, string? exact)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryBool(exact, "exact", out var exactQuery, out var badQuery)) return badQuery!;
        JsonElement rule;
        bool wantExact;
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return Problems.Field("body", "Expected {\"rule\": {...}}.");
            if (UnknownOrRepeated(doc.RootElement, ["rule", "exact"]) is { } fieldProblem) return fieldProblem;
            rule = doc.RootElement.TryGetProperty("rule", out var r) ? r.Clone() : default;
            wantExact = exactQuery ?? false;
            if (doc.RootElement.TryGetProperty("exact", out var e))
            {
                if (e.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return Problems.Field("exact", "Must be true or false.");
                wantExact = e.GetBoolean();
            }
        }
        catch (JsonException ex)
        {
            return Problems.Field("body", "Malformed JSON: " + ex.Message);
        }
        try
        {
            var parsed = await segments.ParseRuleAsync(caller.Workspace.Id, null, rule, context.RequestAborted);
            var result = await segments.PreviewAsync(caller.Workspace.Id, parsed, wantExact, context.RequestAborted);
            return TypedResults.Ok(new PreviewView(result.Estimate, result.Count, result.Low, result.High, result.Evaluated, result.Matched,
                result.Total, [.. result.Sample.Select(m => new MemberView(m.UserId, m.ProfileId, m.Since))], result.Took.TotalMilliseconds));
        }
        catch (SegmentValidationException ex)
        {
            return RuleProblem(ex.Errors);
        }
    }

    private static async Task<IResult> ProfileSegmentsAsync(string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store, SegmentCatalog catalog)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var ws = caller.Workspace.Id;
        var id = await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.UserId, userId), context.RequestAborted);
        if (id is null) return Problems.NotFound($"No profile has userId '{userId}'.");
        var known = catalog.For(ws);
        var memberships = await store.GetProfileMembershipsAsync(ws, id.Value, context.RequestAborted);
        var views = memberships.Where(m => known.ByKey.ContainsKey(m.SegmentKey))
            .Select(m => new ProfileSegmentView(known.ByKey[m.SegmentKey].Id, known.ByKey[m.SegmentKey].Definition.Name, m.Since))
            .OrderBy(v => v.Id, StringComparer.Ordinal).ToList();
        return TypedResults.Ok(new ProfileSegments(userId, views));
    }

    // ---------- helpers ----------

    private static async Task<(SegmentRequest? Request, IResult? Problem)> ReadAsync(HttpContext context)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, Problems.Field("body", "Expected a JSON object {\"name\", \"rule\", ...}."));
            string? Str(string name, out IResult? bad)
            {
                bad = null;
                if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
                if (v.ValueKind != JsonValueKind.String) bad = Problems.Field(name, "Must be a string.");
                return v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            }
            if (UnknownOrRepeated(root, ["id", "name", "description", "rule"]) is { } fieldProblem) return (null, fieldProblem);
            var id = Str("id", out var b1);
            var name = Str("name", out var b2);
            var description = Str("description", out var b3);
            if ((b1 ?? b2 ?? b3) is { } bad) return (null, bad);
            var rule = root.TryGetProperty("rule", out var r) ? r.Clone() : default;
            return (new SegmentRequest(id, name, description, rule), null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.Field("body", "Malformed JSON: " + ex.Message));
        }
    }

    /// <summary>A problem for the first field that is not one of <paramref name="allowed"/>, or that appears twice.</summary>
    private static IResult? UnknownOrRepeated(JsonElement body, string[] allowed)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in body.EnumerateObject())
        {
            if (!allowed.Contains(p.Name)) return Problems.Field(p.Name, $"Unknown field; expected {string.Join(", ", allowed)}.");
            if (!seen.Add(p.Name)) return Problems.Field(p.Name, "Appears more than once.");
        }
        return null;
    }

    private static SegmentInput Input(SegmentRequest r) => new(r.Id, r.Name, r.Description, r.Rule);

    private static IResult RuleProblem(IReadOnlyList<RuleError> errors) =>
        Problems.Validation([.. errors.Select(e => new Chuda.Domain.Ingestion.FieldError(FieldName(e.Path), $"{e.Message} ({e.Code})"))]);

    /// <summary><c>$.rule.and[1].op</c> → <c>rule.and[1].op</c>, matching the field names of the other endpoints.</summary>
    private static string FieldName(string path) => path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    private static IResult NotFound(string id) => Problems.NotFound($"No segment has id '{id}'.");

    private static bool TryInstant(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    internal static string StatusName(SegmentStatus status) => status == SegmentStatus.Ready ? "ready" : "backfilling";

    private static SegmentView View(SegmentDefinition s)
    {
        using var doc = JsonDocument.Parse(s.RuleJson);
        var percent = s.Status == SegmentStatus.Ready ? 100.0
            : s.BackfillTotal == 0 ? 0 : Math.Min(99.9, Math.Round(100.0 * s.BackfillDone / s.BackfillTotal, 1));
        return new SegmentView(s.Id, s.Name, s.Description, doc.RootElement.Clone(), s.Version, StatusName(s.Status),
            new BackfillView(s.BackfillDone, s.BackfillTotal, percent, s.BackfillStartedAt, s.BackfillCompletedAt), s.CreatedAt, s.UpdatedAt);
    }
}
