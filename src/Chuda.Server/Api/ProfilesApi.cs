using System.Globalization;
using System.Text.Json;
using Chuda.Domain.Profiles;
using Chuda.Engine.Profiles;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.AspNetCore.Mvc;

namespace Chuda.Server.Api;

public sealed record IdentityView(string Type, string Value);

public sealed record ProfileView(
    string? UserId,
    IReadOnlyList<string> AnonymousIds,
    IReadOnlyList<IdentityView> Identities,
    JsonElement Traits,
    IReadOnlyList<string> Tags,
    string? Timezone,
    string? Locale,
    bool Suppressed,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen);

public sealed record EventView(string MessageId, string Type, string? Name, DateTimeOffset Timestamp, DateTimeOffset ReceivedAt, JsonElement Payload);

/// <param name="Next">Pass as <c>before</c> to get the next (older) page; null on the last page.</param>
public sealed record EventPage(IReadOnlyList<EventView> Events, string? Next);

public sealed record TagsRequest(IReadOnlyList<string> Tags);

public sealed record TraitsPatch(JsonElement Traits);

/// <summary>One hit of a profile search: the contact points and display name the console lists.</summary>
public sealed record ProfileSearchItem(string? UserId, long ProfileId, string? Email, string? Phone, string? Name, DateTimeOffset LastSeen);

public sealed record ProfileSearchResult(IReadOnlyList<ProfileSearchItem> Profiles);

public sealed record ErasureReport(string UserId, int Profiles, int Identities, int Events, int Suppressions);

/// <summary>Profiles: read, look up by identity, page through events, edit tags and traits, erase.</summary>
public static class ProfilesApi
{
    public const int MaxTagLength = 128;

    public static IEndpointRouteBuilder MapProfilesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/profiles").WithTags("Profiles");

        group.MapGet("/{userId}", GetAsync).WithName("get-profile").WithSummary("A profile by user id")
            .Produces<ProfileView>().ProducesProblem(404).ProducesProblem(401);
        group.MapGet("/", LookupAsync).WithName("lookup-profile")
            .WithSummary("A profile by one identity (email, phone, anonymousId, externalId as type:value, or userId); or, with none of those, " +
                "a search: ?q= prefix of user id, e-mail or phone, newest last-seen first (no q: the most recently seen), ?limit= 1..100 (20)")
            .Produces<ProfileView>().Produces<ProfileSearchResult>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(401);
        group.MapGet("/{userId}/events", EventsAsync).WithName("profile-events").WithSummary("A profile's events, newest first, paged")
            .Produces<EventPage>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(401);
        group.MapPost("/{userId}/tags", AddTagsAsync).WithName("add-tags").WithSummary("Add tags")
            .Accepts<TagsRequest>("application/json").Produces<ProfileView>().ProducesProblem(400).ProducesProblem(404);
        group.MapDelete("/{userId}/tags", RemoveTagsAsync).WithName("remove-tags")
            .WithSummary("Remove tags (body {\"tags\": [...]} or ?tags=a,b)")
            .Produces<ProfileView>().ProducesProblem(400).ProducesProblem(404);
        group.MapPatch("/{userId}", PatchAsync).WithName("patch-profile")
            .WithSummary("Deep-merge traits ({\"traits\": {...}}; null unsets a trait)")
            .Accepts<TraitsPatch>("application/json").Produces<ProfileView>().ProducesProblem(400).ProducesProblem(404);
        group.MapDelete("/{userId}", EraseAsync).WithName("erase-profile")
            .WithSummary("Erase a person (PIPL/GDPR): profile, identities, events; contact points stay suppressed as salted hashes")
            .Produces<ErasureReport>().ProducesProblem(404);
        return app;
    }

    private static async Task<IResult> GetAsync(string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        return await ViewAsync(store, caller.Workspace.Id, new IdentityKey(IdentityKinds.UserId, userId), context.RequestAborted)
            is { } view ? TypedResults.Ok(view) : Problems.NotFound($"No profile has userId '{userId}'.");
    }

    private static async Task<IResult> LookupAsync(
        HttpContext context, WorkspaceDirectory directory, IChudaStore store,
        string? email, string? phone, string? anonymousId, string? externalId, string? userId, string? q, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var given = new[] { ("email", email), ("phone", phone), ("anonymousId", anonymousId), ("externalId", externalId), ("userId", userId) }
            .Where(p => !string.IsNullOrEmpty(p.Item2)).ToList();
        if (given.Count == 0 && context.Request.Query.Keys.All(k => k is "q" or "limit"))
            return await SearchAsync(store, caller.Workspace.Id, q, limit, context.RequestAborted);
        if (q is not null || limit is not null)
            return Problems.Field("q", "A search (q, limit) cannot be combined with an identity lookup (email, phone, anonymousId, externalId, userId).");
        if (given.Count != 1)
            return Problems.Field("query", "Give exactly one of email, phone, anonymousId, externalId, userId.");
        var (field, value) = given[0];
        IdentityKey key;
        switch (field)
        {
            case "email":
                if (!Normalization.TryNormalizeEmail(value!, out var e)) return Problems.Field("email", "Not an e-mail address.");
                key = new(IdentityKinds.Email, e);
                break;
            case "phone":
                if (!Normalization.TryNormalizePhone(value!, null, out var p)) return Problems.Field("phone", "Not a phone number; use E.164, e.g. +8613800138000.");
                key = new(IdentityKinds.Phone, p);
                break;
            case "externalId":
                var colon = value!.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0 || colon == value.Length - 1) return Problems.Field("externalId", "Use type:value, e.g. crm_id:42 or wechat_openid:o6_bm...");
                var type = value[..colon];
                key = type is IdentityKinds.WeChatOpenId or IdentityKinds.WeChatUnionId or IdentityKinds.WeComUserId
                    ? new(type, value[(colon + 1)..])
                    : new(IdentityKinds.ExternalPrefix + type, value[(colon + 1)..]);
                break;
            case "anonymousId":
                key = new(IdentityKinds.AnonymousId, value!);
                break;
            default:
                key = new(IdentityKinds.UserId, value!);
                break;
        }
        return await ViewAsync(store, caller.Workspace.Id, key, context.RequestAborted)
            is { } view ? TypedResults.Ok(view) : Problems.NotFound($"No profile has {field} '{value}'.");
    }

    private static async Task<IResult> SearchAsync(IChudaStore store, long workspaceId, string? q, string? limitText, CancellationToken cancellationToken)
    {
        if (!Query.TryInt(limitText, "limit", 1, 100, 20, out var limit, out var problem)) return problem!;
        var text = q?.Trim();
        if (text is { Length: > 256 }) return Problems.Field("q", "At most 256 characters.");
        var hits = await store.SearchProfilesAsync(workspaceId, text, limit, cancellationToken);
        return TypedResults.Ok(new ProfileSearchResult(hits.Select(h => new ProfileSearchItem(h.UserId, h.ProfileId, h.Email, h.Phone,
            DisplayName(h.TraitsJson), h.LastSeen)).ToList()));
    }

    /// <summary>The name trait, else first and last name (snake_case or camelCase, as Segment's spec writes them); null when none.</summary>
    internal static string? DisplayName(string traitsJson)
    {
        try
        {
            using var doc = JsonDocument.Parse(traitsJson);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Trim() is { Length: > 0 } t ? t : null;
            if (Text("name") is { } name) return name;
            var first = Text("first_name") ?? Text("firstName");
            var last = Text("last_name") ?? Text("lastName");
            return first is null && last is null ? null : string.Join(' ', new[] { first, last }.Where(x => x is not null));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<IResult> EventsAsync(
        string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? limit, string? before)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 50, out var take, out var bad)) return bad!;
        EventCursor? cursor = null;
        if (before is not null)
        {
            if (!TryParseCursor(before, out var c)) return Problems.Field("before", "Not a cursor from a previous page's 'next'.");
            cursor = c;
        }
        var ws = caller.Workspace.Id;
        var id = await store.FindProfileIdAsync(ws, new(IdentityKinds.UserId, userId), context.RequestAborted);
        if (id is null) return Problems.NotFound($"No profile has userId '{userId}'.");
        var rows = await store.GetEventsAsync(ws, id.Value, take + 1, cursor, context.RequestAborted);
        var page = rows.Take(take).ToList();
        var events = page.Select(e => new EventView(e.MessageId, e.Type, e.Name, e.Timestamp, e.ReceivedAt, Json(e.PayloadJson))).ToList();
        var next = rows.Count > take ? FormatCursor(new EventCursor(page[^1].Timestamp, page[^1].Seq)) : null;
        return TypedResults.Ok(new EventPage(events, next));
    }

    private static Task<IResult> AddTagsAsync(string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store, ProfilePartitions partitions) =>
        ChangeTagsAsync(userId, add: true, context, directory, store, partitions, null);

    private static Task<IResult> RemoveTagsAsync(string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store, ProfilePartitions partitions, string? tags) =>
        ChangeTagsAsync(userId, add: false, context, directory, store, partitions, tags);

    private static async Task<IResult> ChangeTagsAsync(
        string userId, bool add, HttpContext context, WorkspaceDirectory directory,
        IChudaStore store, ProfilePartitions partitions, string? queryTags)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var tags = new List<string>();
        if (queryTags is not null)
        {
            tags.AddRange(queryTags.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        else
        {
            try
            {
                using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("tags", out var array))
                    return Problems.Field("tags", "Required: {\"tags\": [\"vip\", ...]}.");
                if (array.ValueKind != JsonValueKind.Array) return Problems.Field("tags", "Must be an array of strings.");
                var i = 0;
                foreach (var item in array.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String) return Problems.Field($"tags[{i}]", "Must be a string.");
                    tags.Add(item.GetString()!);
                    i++;
                }
            }
            catch (JsonException ex)
            {
                return Problems.Field("body", "Malformed JSON: " + ex.Message);
            }
        }
        if (tags.Count == 0) return Problems.Field("tags", "Give at least one tag.");
        for (var i = 0; i < tags.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(tags[i]) || tags[i].Length > MaxTagLength || tags[i].Any(char.IsControl))
                return Problems.Field($"tags[{i}]", $"A tag is 1..{MaxTagLength} characters, not blank, without control characters.");
        }
        var target = new IdentityKey(IdentityKinds.UserId, userId);
        var command = new ChangeTags(caller.Workspace.Id, target, add ? tags : [], add ? [] : tags);
        return await EditAsync(command, context, store, partitions);
    }

    private static async Task<IResult> PatchAsync(string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store, ProfilePartitions partitions)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        JsonElement traits;
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return Problems.Field("body", "Expected a JSON object.");
            if (!doc.RootElement.TryGetProperty("traits", out var t)) return Problems.Field("traits", "Required.");
            if (t.ValueKind != JsonValueKind.Object) return Problems.Field("traits", "Must be an object.");
            traits = t.Clone();
        }
        catch (JsonException ex)
        {
            return Problems.Field("body", "Malformed JSON: " + ex.Message);
        }
        return await EditAsync(new PatchTraits(caller.Workspace.Id, new(IdentityKinds.UserId, userId), traits), context, store, partitions);
    }

    private static async Task<IResult> EraseAsync(string userId, HttpContext context, WorkspaceDirectory directory, ProfilePartitions partitions, TimeProvider time)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var command = new EraseProfile(caller.Workspace.Id, new(IdentityKinds.UserId, userId), caller.Workspace.Salt, time.GetUtcNow());
        var outcome = (await partitions.SubmitAsync([command], context.RequestAborted))[0];
        return outcome is Erased { Counts: var c }
            ? TypedResults.Ok(new ErasureReport(userId, c.Profiles, c.Identities, c.Events, c.Suppressions))
            : Problems.NotFound($"No profile has userId '{userId}'.");
    }

    private static async Task<IResult> EditAsync(ProfileEdit command, HttpContext context, IChudaStore store, ProfilePartitions partitions)
    {
        CommandOutcome outcome;
        try
        {
            outcome = (await partitions.SubmitAsync([command], context.RequestAborted))[0];
        }
        catch (OverloadedException ex)
        {
            return Problems.Unavailable(ex.Message);
        }
        if (outcome is NotFoundOutcome) return Problems.NotFound($"No profile has userId '{command.Target.Value}'.");
        return await ViewAsync(store, command.WorkspaceId, command.Target, context.RequestAborted) is { } view
            ? TypedResults.Ok(view)
            : Problems.NotFound($"No profile has userId '{command.Target.Value}'.");
    }

    internal static async Task<ProfileView?> ViewAsync(IChudaStore store, long ws, IdentityKey key, CancellationToken ct)
    {
        var id = await store.FindProfileIdAsync(ws, key, ct);
        if (id is null) return null;
        var profile = await store.GetProfileAsync(ws, id.Value, ct);
        if (profile is null) return null;
        var identities = await store.GetIdentitiesAsync(ws, id.Value, ct);
        return new ProfileView(
            profile.UserId,
            identities.Where(i => i.Kind == IdentityKinds.AnonymousId).Select(i => i.Value).ToList(),
            identities.Where(i => i.Kind is not IdentityKinds.AnonymousId).Select(i => new IdentityView(i.Kind, i.Value)).ToList(),
            Json(profile.TraitsJson),
            profile.Tags,
            profile.Timezone,
            profile.Locale,
            profile.Suppressed,
            profile.FirstSeen,
            profile.LastSeen);
    }

    private static JsonElement Json(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static string FormatCursor(EventCursor cursor) =>
        string.Create(CultureInfo.InvariantCulture, $"{cursor.Timestamp.UtcTicks}.{cursor.Seq}");

    private static bool TryParseCursor(string text, out EventCursor cursor)
    {
        cursor = default;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0) return false;
        if (!long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)) return false;
        if (!long.TryParse(text.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)) return false;
        if (ticks > DateTimeOffset.MaxValue.UtcTicks) return false;
        cursor = new EventCursor(new DateTimeOffset(ticks, TimeSpan.Zero), seq);
        return true;
    }
}
