using System.Globalization;
using System.Text.Json;
using Chuda.Domain.Delivery;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;
using Chuda.Domain.Segments;
using Chuda.Engine.Delivery;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.AspNetCore.Mvc;

namespace Chuda.Server.Api;

public sealed record TemplateView(string Id, int LatestVersion, int? ApprovedVersion, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    JsonElement? Definition);

public sealed record TemplateVersionView(int Version, DateTimeOffset CreatedAt, string? CreatedBy, DateTimeOffset? ApprovedAt, string? ApprovedBy,
    JsonElement Definition);

public sealed record PreviewProblemView(string Field, string? Variable, string Message, string Severity);

public sealed record PreviewChannelView(string Channel, string? Locale, JsonElement? Content, IReadOnlyList<PreviewProblemView> Problems, bool Ok,
    string? SmsEncoding, int? SmsSegments, int? SmsLength);

public sealed record TemplatePreviewView(string TemplateId, IReadOnlyList<PreviewChannelView> Channels);

public sealed record SendView(string MessageId, string Status, bool Created);

public sealed record MessageEventView(DateTimeOffset At, string Kind, string? Channel, string Detail, string? MessageId = null);

public sealed record MessageView(string Id, string? UserId, string? Address, string Source, string? Journey, string? Step, string? Template,
    string Category, string Lane, IReadOnlyList<string> Channels, string? Channel, string? Recipient, string? Provider, string Status,
    string? Reason, DateTimeOffset? DueAt, int Attempts, DateTimeOffset? ExpiresAt, string? DedupKey, string? DigestKey, string? DigestId,
    DateTimeOffset CreatedAt, DateTimeOffset? DispatchedAt, DateTimeOffset? SentAt, DateTimeOffset? DeliveredAt, DateTimeOffset? OpenedAt,
    DateTimeOffset? ClickedAt, DateTimeOffset? ReadAt, DateTimeOffset? ArchivedAt, JsonElement? Content, IReadOnlyList<MessageEventView>? Timeline);

public sealed record MessagePage(IReadOnlyList<MessageView> Messages, string? Next);

/// <summary>A configured provider. <paramref name="CallbackUrl"/> is where the vendor posts delivery reports and inbound messages
/// (for kinds that receive callbacks); <paramref name="Health"/> is its circuit state and counters in this process.</summary>
public sealed record ProviderView(string Id, string Channel, string Kind, int Priority, bool Enabled, double? RatePerSecond, int? MaxConcurrency, JsonElement Config,
    DateTimeOffset UpdatedAt, string CallbackUrl, ProviderHealth? Health);

public sealed record SubscriptionView(string Category, string Channel, string State, string Source, DateTimeOffset At);

public sealed record SubscriptionsView(string UserId, IReadOnlyList<SubscriptionView> Subscriptions, IReadOnlyList<SubscriptionView> ConsentLog);

public sealed record SuppressionView(string Kind, string Address, string Reason, string? Detail, DateTimeOffset CreatedAt);

public sealed record DeliveryTimelineView(string UserId, IReadOnlyList<MessageEventView> Events);

public sealed record InboxMessageView(string Id, string? Title, string? Body, string? ActionLabel, string? ActionUrl, DateTimeOffset? DeliveredAt,
    bool Read, bool Archived);

public sealed record InboxPage(IReadOnlyList<InboxMessageView> Messages, long Unread, string? Next);

public sealed record UnreadView(long Unread);

public sealed record InboxSecretView(string Secret);

public sealed record UserTokenView(string UserId, string Token);

/// <summary>Delivery: templates, the transactional send, policy, providers, consent, suppressions, messages and the sandbox.</summary>
public static class DeliveryApi
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static void MapDeliveryApi(this WebApplication app)
    {
        var templates = app.MapGroup("/api/v1/templates").WithTags("Templates").ProducesProblem(401).ProducesProblem(403);
        templates.MapGet("/", ListTemplatesAsync).WithName("list-templates").WithSummary("Templates with their latest and approved versions")
            .Produces<IReadOnlyList<TemplateView>>();
        templates.MapGet("/{id}", GetTemplateAsync).WithName("get-template").WithSummary("A template with its latest definition")
            .Produces<TemplateView>().ProducesProblem(404);
        templates.MapPut("/{id}", PutTemplateAsync).WithName("put-template")
            .WithSummary("Save a new version of a template (creating it); the body is the template (docs/templates.md). If-Match: the expected latest version")
            .Produces<TemplateView>().ProducesProblem(400).ProducesProblem(412);
        templates.MapDelete("/{id}", DeleteTemplateAsync).WithName("delete-template").WithSummary("Delete a template and its versions")
            .Produces(204).ProducesProblem(404);
        templates.MapGet("/{id}/versions", TemplateVersionsAsync).WithName("template-versions").WithSummary("Every version, newest first")
            .Produces<IReadOnlyList<TemplateVersionView>>().ProducesProblem(404);
        templates.MapPost("/{id}/versions/{version:int}/approve", ApproveTemplateAsync).WithName("approve-template")
            .WithSummary("Approve a version (another admin key than the one that wrote it); with approvals on, only approved versions are sent")
            .Produces<TemplateVersionView>().ProducesProblem(403).ProducesProblem(404);
        templates.MapPost("/{id}/preview", PreviewAsync).WithName("preview-template")
            .WithSummary("Render for a real profile (userId) or sample data; unknown variables and missing required fields are reported, not blanked")
            .Produces<TemplatePreviewView>().ProducesProblem(400).ProducesProblem(404);

        app.MapPost("/api/v1/send", SendAsync).WithTags("Send").WithName("send")
            .WithSummary("Send a message now (order confirmations, codes, alerts): a template or inline content to a userId, e-mail or phone; Idempotency-Key makes retries safe")
            .Produces<SendView>(202).Produces<SendView>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(422);

        var policy = app.MapGroup("/api/v1/delivery/policy").WithTags("Delivery policy").ProducesProblem(401).ProducesProblem(403);
        policy.MapGet("/", GetPolicyAsync).WithName("get-delivery-policy")
            .WithSummary("Quiet hours, frequency caps, allow-list, opt-in, de-dup window, cool-down, channel order");
        policy.MapPut("/", PutPolicyAsync).WithName("put-delivery-policy").WithSummary("Replace the delivery policy (omitted fields take their defaults)")
            .ProducesProblem(400);

        var providers = app.MapGroup("/api/v1/providers").WithTags("Providers").ProducesProblem(401).ProducesProblem(403);
        providers.MapGet("/", ListProvidersAsync).WithName("list-providers").WithSummary("Configured providers with their health; secrets are never returned")
            .Produces<IReadOnlyList<ProviderView>>();
        providers.MapGet("/{id}", GetProviderAsync).WithName("get-provider").WithSummary("One provider with its health: circuit state, counters, last error")
            .Produces<ProviderView>().ProducesProblem(404);
        providers.MapPut("/{id}", PutProviderAsync).WithName("put-provider")
            .WithSummary("Create or replace a provider {channel, kind, priority, enabled, config}; secret fields left out keep their stored values")
            .Produces<ProviderView>().ProducesProblem(400);
        providers.MapDelete("/{id}", DeleteProviderAsync).WithName("delete-provider").Produces(204).ProducesProblem(404);
        providers.MapPost("/vapid-keys", VapidKeysAsync).WithName("vapid-keys")
            .WithSummary("A new VAPID key pair for a webpush provider (the public key is the browsers' applicationServerKey); nothing is stored")
            .Produces<Chuda.Channels.Push.VapidKeyPair>();

        app.MapGet("/api/v1/profiles/{userId}/subscriptions", SubscriptionsAsync).WithTags("Consent").WithName("get-subscriptions")
            .WithSummary("A profile's subscriptions per category and channel, with the consent log (source, time)")
            .Produces<SubscriptionsView>().ProducesProblem(404).ProducesProblem(401).ProducesProblem(403);
        app.MapPut("/api/v1/profiles/{userId}/subscriptions", PutSubscriptionsAsync).WithTags("Consent").WithName("put-subscriptions")
            .WithSummary("Record consent changes {subscriptions: [{category, channel ('*' = all), state: subscribed|unsubscribed}], source}")
            .Produces<SubscriptionsView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(401).ProducesProblem(403);
        app.MapGet("/api/v1/profiles/{userId}/deliveries", DeliveriesAsync).WithTags("Messages").WithName("profile-deliveries")
            .WithSummary("Every delivery decision and event for a person, newest first (why a message was deferred, dropped, merged or fell back)")
            .Produces<DeliveryTimelineView>().ProducesProblem(404).ProducesProblem(401).ProducesProblem(403);

        var suppressions = app.MapGroup("/api/v1/suppressions").WithTags("Suppressions").ProducesProblem(401).ProducesProblem(403);
        suppressions.MapGet("/", ListSuppressionsAsync).WithName("list-suppressions").WithSummary("Suppressed addresses (hard bounces, complaints, manual blocks)")
            .Produces<IReadOnlyList<SuppressionView>>().ProducesProblem(400);
        suppressions.MapPost("/", AddSuppressionAsync).WithName("add-suppression").WithSummary("Block an address {kind: email|phone|push|wechat, address, detail}")
            .Produces<SuppressionView>().ProducesProblem(400);
        suppressions.MapDelete("/{kind}/{address}", RemoveSuppressionAsync).WithName("remove-suppression").Produces(204).ProducesProblem(404);

        var messages = app.MapGroup("/api/v1/messages").WithTags("Messages").ProducesProblem(401).ProducesProblem(403);
        messages.MapGet("/", ListMessagesAsync).WithName("list-messages")
            .WithSummary("Messages newest first; filter by userId, channel, status, provider; page with before=<id>")
            .Produces<MessagePage>().ProducesProblem(400).ProducesProblem(404);
        messages.MapGet("/{id}", GetMessageAsync).WithName("get-message").WithSummary("A message with its whole timeline: queued, decisions, sent, delivered, opened, …")
            .Produces<MessageView>().ProducesProblem(404);
        messages.MapPost("/{id}/events", MessageEventAsync).WithName("message-event")
            .WithSummary("A provider callback or client report {type: delivered|opened|clicked|read|bounced|soft_bounced|complained|failed, detail}")
            .Produces<MessageView>().ProducesProblem(400).ProducesProblem(404);
        app.MapGet("/api/v1/sandbox", SandboxAsync).WithTags("Messages").WithName("sandbox")
            .WithSummary("The sandbox outbox: messages on channels with no provider configured, with their rendered content (newest first)")
            .Produces<MessagePage>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);

        app.MapGet("/api/v1/inbox/secret", InboxSecretAsync).WithTags("In-app inbox").WithName("inbox-secret")
            .WithSummary("The workspace's inbox secret: user token = hex(HMAC-SHA256(secret, userId)), computed by your backend")
            .Produces<InboxSecretView>().ProducesProblem(401).ProducesProblem(403);
        app.MapPost("/api/v1/inbox/tokens", InboxTokenAsync).WithTags("In-app inbox").WithName("inbox-token")
            .WithSummary("Compute a user token {userId} (for testing; production backends compute it themselves)")
            .Produces<UserTokenView>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);
    }

    private static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static IResult Failure(Exception ex) => ex switch
    {
        DeliveryValidationException v => Problems.Validation([.. v.Errors.Select(e => new FieldError(e.Path, e.Message))]),
        DeliveryStateException { Status: 403 } s => Problems.Forbidden(s.Message),
        DeliveryStateException s => Problems.Named(s.Status, s.Status switch { 412 => "Precondition failed", 422 => "Unprocessable request", _ => "Conflict" },
            "state", s.Message),
        KeyNotFoundException k => Problems.NotFound(k.Message),
        _ => throw ex,
    };

    // ---- templates -------------------------------------------------------------------------------

    private static TemplateView View(TemplateRecord t, string? definition) =>
        new(t.Id, t.LatestVersion, t.ApprovedVersion, t.CreatedAt, t.UpdatedAt, definition is null ? null : Parse(definition));

    private static TemplateVersionView View(TemplateVersionRecord v) =>
        new(v.Version, v.CreatedAt, v.CreatedBy, v.ApprovedAt, v.ApprovedBy, Parse(v.DefinitionJson));

    private static async Task<IResult> ListTemplatesAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var list = await store.ListTemplatesAsync(caller.Workspace.Id, context.RequestAborted);
        return TypedResults.Ok(list.Select(t => View(t, null)).ToList());
    }

    private static async Task<IResult> GetTemplateAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var ws = caller.Workspace.Id;
        var t = await store.GetTemplateAsync(ws, id, context.RequestAborted);
        if (t is null) return Problems.NotFound($"No template has id '{id}'.");
        var latest = await store.GetTemplateVersionAsync(ws, id, null, context.RequestAborted);
        return TypedResults.Ok(View(t, latest?.DefinitionJson));
    }

    private static async Task<IResult> PutTemplateAsync(string id, HttpContext context, WorkspaceDirectory directory, DeliveryService delivery,
        [FromHeader(Name = "If-Match")] string? ifMatch)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        int? expected = null;
        if (ifMatch is not null)
        {
            if (!int.TryParse(ifMatch.Trim('"', ' '), NumberStyles.None, CultureInfo.InvariantCulture, out var v))
                return Problems.Field("If-Match", "The expected latest version number, e.g. \"3\" (0 for a new template).");
            expected = v;
        }
        using var reader = new StreamReader(context.Request.Body);
        var json = await reader.ReadToEndAsync(context.RequestAborted);
        if (json.Length > Body.MaxBytes) return Problems.Field("body", "Larger than 1 MiB.", 413);
        try
        {
            var saved = await delivery.SaveTemplateAsync(caller.Workspace.Id, id, json, expected, caller.KeyId, context.RequestAborted);
            return TypedResults.Ok(View(saved, json));
        }
        catch (Exception ex) when (ex is DeliveryValidationException or DeliveryStateException)
        {
            return Failure(ex);
        }
    }

    private static async Task<IResult> DeleteTemplateAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        return await store.DeleteTemplateAsync(caller.Workspace.Id, id, context.RequestAborted) ? TypedResults.NoContent() : Problems.NotFound($"No template has id '{id}'.");
    }

    private static async Task<IResult> TemplateVersionsAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var versions = await store.ListTemplateVersionsAsync(caller.Workspace.Id, id, context.RequestAborted);
        return versions.Count == 0 ? Problems.NotFound($"No template has id '{id}'.") : TypedResults.Ok(versions.Select(View).ToList());
    }

    private static async Task<IResult> ApproveTemplateAsync(string id, int version, HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        try
        {
            return TypedResults.Ok(View(await delivery.ApproveTemplateAsync(caller.Workspace.Id, id, version, caller.KeyId, context.RequestAborted)));
        }
        catch (Exception ex) when (ex is DeliveryStateException or KeyNotFoundException)
        {
            return Failure(ex);
        }
    }

    private static async Task<IResult> PreviewAsync(string id, HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["userId", "version", "channel", "locale", "event"], optional: true);
        if (body is null) return bad!;
        if (!Body.TryString(body.Root, "userId", out var userId, out bad)) return bad!;
        if (!Body.TryString(body.Root, "channel", out var channel, out bad)) return bad!;
        if (!Body.TryString(body.Root, "locale", out var locale, out bad)) return bad!;
        if (!Body.TryInt(body.Root, "version", 1, int.MaxValue, out var version, out bad)) return bad!;
        if (channel is not null && !ChannelNames.IsKnown(channel)) return Problems.Field("channel", $"Expected one of {string.Join(", ", ChannelNames.All)}.");
        string? evt = null;
        if (body.Root.TryGetProperty("event", out var e) && e.ValueKind != JsonValueKind.Null)
        {
            if (e.ValueKind != JsonValueKind.Object) return Problems.Field("event", "Must be an object (the event properties to render with).");
            evt = e.GetRawText();
        }
        try
        {
            var previews = await delivery.PreviewAsync(caller.Workspace.Id, id, version, userId, channel, locale, evt, context.RequestAborted);
            return TypedResults.Ok(new TemplatePreviewView(id, [.. previews.Select(p => new PreviewChannelView(p.Channel, p.Locale,
                p.Content is null ? null : Parse(DeliveryDispatcher.ContentJson(p.Content)!),
                [.. p.Problems.Select(x => new PreviewProblemView(x.Field, x.Variable, x.Message, x.Severity.ToString().ToLowerInvariant()))],
                p.Content is not null && p.Problems.All(x => x.Severity != Domain.Templates.RenderSeverity.Error),
                p.Sms?.Encoding, p.Sms?.Segments, p.Sms?.Length))]));
        }
        catch (Exception ex) when (ex is DeliveryValidationException or KeyNotFoundException)
        {
            return Failure(ex);
        }
    }

    // ---- send ------------------------------------------------------------------------------------

    private static async Task<IResult> SendAsync(HttpContext context, WorkspaceDirectory directory, DeliveryService delivery,
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
        var (body, bad) = await Body.ReadObjectAsync(context,
            ["to", "template", "content", "data", "channels", "category", "dedupKey", "dedupWindow", "expiresAt", "sendAt", "locale", "fallback"],
            maxBytes: 256 * 1024);
        if (body is null) return bad!;
        var root = body.Root;
        var errors = new List<FieldError>();
        string? userId = null, email = null, phone = null;
        if (!root.TryGetProperty("to", out var to) || to.ValueKind != JsonValueKind.Object) errors.Add(new("to", "Required: {\"userId\": …} or {\"email\": …} or {\"phone\": …}."));
        else
        {
            foreach (var p in to.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) errors.Add(new($"to.{p.Name}", "Must be a string."));
                else if (p.Name == "userId") userId = p.Value.GetString();
                else if (p.Name == "email") email = p.Value.GetString();
                else if (p.Name == "phone") phone = p.Value.GetString();
                else errors.Add(new($"to.{p.Name}", "Unknown field; expected userId, email or phone."));
            }
        }
        if (!Body.TryString(root, "template", out var template, out bad)) return bad!;
        string? content = null;
        if (root.TryGetProperty("content", out var c) && c.ValueKind != JsonValueKind.Null)
        {
            if (c.ValueKind != JsonValueKind.Object) errors.Add(new("content", "Must be a template object (docs/templates.md)."));
            else content = c.GetRawText();
        }
        var data = "{}";
        if (root.TryGetProperty("data", out var d) && d.ValueKind != JsonValueKind.Null)
        {
            if (d.ValueKind != JsonValueKind.Object) errors.Add(new("data", "Must be an object; templates read it as {{event.…}}."));
            else data = "{\"event\":" + d.GetRawText() + "}";
        }
        var channels = new List<string>();
        if (root.TryGetProperty("channels", out var ch) && ch.ValueKind != JsonValueKind.Null)
        {
            if (ch.ValueKind != JsonValueKind.Array || ch.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
                errors.Add(new("channels", "Must be an array of channel names in preference order."));
            else channels = [.. ch.EnumerateArray().Select(x => x.GetString()!)];
        }
        if (!Body.TryString(root, "category", out var category, out bad)) return bad!;
        if (!Body.TryString(root, "dedupKey", out var dedupKey, out bad)) return bad!;
        if (!Body.TryString(root, "locale", out var locale, out bad)) return bad!;
        TimeSpan? dedupWindow = null;
        if (Body.TryString(root, "dedupWindow", out var dw, out _) && dw is not null)
        {
            if (RuleDuration.TryParse(dw, out var span, out var err)) dedupWindow = span;
            else errors.Add(new("dedupWindow", err));
        }
        DateTimeOffset? expiresAt = null, sendAt = null;
        foreach (var (name, set) in new (string, Action<DateTimeOffset>)[] { ("expiresAt", v => expiresAt = v), ("sendAt", v => sendAt = v) })
        {
            if (Body.TryString(root, name, out var text, out _) && text is not null)
            {
                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) && text.Contains('T', StringComparison.Ordinal)) set(at);
                else errors.Add(new(name, "Must be an ISO 8601 instant with an offset, e.g. 2026-11-22T10:00:00+08:00."));
            }
        }
        FallbackRule? fallback = null;
        if (root.TryGetProperty("fallback", out var fb) && fb.ValueKind != JsonValueKind.Null)
        {
            if (fb.ValueKind == JsonValueKind.Object && fb.TryGetProperty("after", out var after) && after.ValueKind == JsonValueKind.String
                && RuleDuration.TryParse(after.GetString()!, out var afterSpan, out _))
            {
                var until = fb.TryGetProperty("until", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString()! : FallbackRule.Delivered;
                if (until is not (FallbackRule.Delivered or FallbackRule.Read)) errors.Add(new("fallback.until", "Expected delivered or read."));
                fallback = new FallbackRule(afterSpan, until);
            }
            else errors.Add(new("fallback", "Expected {\"after\": \"PT10M\", \"until\": \"delivered\"|\"read\"}."));
        }
        if (errors.Count > 0) return Problems.Validation(errors);
        try
        {
            var (message, created) = await delivery.SendAsync(caller.Workspace.Id, new SendCommand(userId, email, phone, template, content, data, channels,
                category ?? Categories.Transactional, dedupKey, dedupWindow, expiresAt, sendAt, locale, fallback), idempotencyKey, context.RequestAborted);
            var view = new SendView(message.PublicId, message.Status, created);
            return created ? TypedResults.Json(view, Web, statusCode: 202) : TypedResults.Ok(view);
        }
        catch (Exception ex) when (ex is DeliveryValidationException or DeliveryStateException)
        {
            return Failure(ex);
        }
    }

    // ---- policy and providers ----------------------------------------------------------------------

    private static async Task<IResult> GetPolicyAsync(HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        return Results.Text((await delivery.GetPolicyAsync(caller.Workspace.Id, context.RequestAborted)).ToJson(), "application/json");
    }

    private static async Task<IResult> PutPolicyAsync(HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        JsonElement root;
        try
        {
            root = (await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted)).RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return Problems.Field("body", "Malformed JSON: " + ex.Message);
        }
        try
        {
            return Results.Text((await delivery.SetPolicyAsync(caller.Workspace.Id, root, caller.KeyId, context.RequestAborted)).ToJson(), "application/json");
        }
        catch (DeliveryValidationException ex)
        {
            return Failure(ex);
        }
    }

    private static async Task<IResult> ListProvidersAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, DeliveryService delivery,
        DeliveryCatalog catalog)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var list = await store.ListProvidersAsync(caller.Workspace.Id, context.RequestAborted);
        var health = (await catalog.HealthAsync(caller.Workspace.Id, context.RequestAborted)).ToDictionary(h => h.Id, StringComparer.Ordinal);
        return TypedResults.Ok(list.Select(p => View(p, delivery, catalog, health.GetValueOrDefault(p.Id))).ToList());
    }

    private static async Task<IResult> GetProviderAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store, DeliveryService delivery,
        DeliveryCatalog catalog)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var p = (await store.ListProvidersAsync(caller.Workspace.Id, context.RequestAborted)).FirstOrDefault(x => x.Id == id);
        if (p is null) return Problems.NotFound($"No provider has id '{id}'.");
        var health = (await catalog.HealthAsync(caller.Workspace.Id, context.RequestAborted)).FirstOrDefault(h => h.Id == id);
        return TypedResults.Ok(View(p, delivery, catalog, health));
    }

    private static ProviderView View(ProviderRecord p, DeliveryService delivery, DeliveryCatalog catalog, ProviderHealth? health) =>
        new(p.Id, p.Channel, p.Kind, p.Priority, p.Enabled, p.RatePerSecond, p.MaxConcurrency, Parse(delivery.RedactedConfig(p)), p.UpdatedAt,
            catalog.CallbackUrl(p.WorkspaceId, p.Id).ToString(), health);

    private static async Task<IResult> PutProviderAsync(string id, HttpContext context, WorkspaceDirectory directory, DeliveryService delivery, DeliveryCatalog catalog)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["channel", "kind", "priority", "enabled", "config", "ratePerSecond", "maxConcurrency"]);
        if (body is null) return bad!;
        if (!Body.TryString(body.Root, "channel", out var channel, out bad)) return bad!;
        if (!Body.TryString(body.Root, "kind", out var kind, out bad)) return bad!;
        if (!Body.TryInt(body.Root, "priority", 0, 1000, out var priority, out bad)) return bad!;
        if (!Body.TryBool(body.Root, "enabled", out var enabled, out bad)) return bad!;
        if (channel is null || !ChannelNames.IsKnown(channel)) return Problems.Field("channel", $"Required: one of {string.Join(", ", ChannelNames.All)}.");
        if (kind is null) return Problems.Field("kind", "Required: the provider kind, e.g. smtp, webhook, sandbox.");
        double? rate = null;
        if (body.Root.TryGetProperty("ratePerSecond", out var r) && r.ValueKind != JsonValueKind.Null)
        {
            if (!r.TryGetDouble(out var rv)) return Problems.Field("ratePerSecond", "Expected a number of messages per second.");
            rate = rv;
        }
        if (!Body.TryInt(body.Root, "maxConcurrency", 1, 1000, out var maxConcurrency, out bad)) return bad!;
        var config = body.Root.TryGetProperty("config", out var cfg) ? cfg : Parse("{}");
        try
        {
            var p = await delivery.SaveProviderAsync(caller.Workspace.Id, id, channel, kind, priority ?? 0, enabled ?? true, config, caller.KeyId, context.RequestAborted,
                rate, maxConcurrency);
            var health = (await catalog.HealthAsync(caller.Workspace.Id, context.RequestAborted)).FirstOrDefault(h => h.Id == p.Id);
            return TypedResults.Ok(View(p, delivery, catalog, health));
        }
        catch (DeliveryValidationException ex)
        {
            return Failure(ex);
        }
    }

    private static async Task<IResult> VapidKeysAsync(HttpContext context, WorkspaceDirectory directory)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        return TypedResults.Ok(Chuda.Channels.Push.Vapid.GenerateKeys());
    }

    private static async Task<IResult> DeleteProviderAsync(string id, HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        return await delivery.DeleteProviderAsync(caller.Workspace.Id, id, caller.KeyId, context.RequestAborted)
            ? TypedResults.NoContent() : Problems.NotFound($"No provider has id '{id}'.");
    }

    // ---- consent -----------------------------------------------------------------------------------

    private static string State(SubscriptionState s) => s == SubscriptionState.Subscribed ? "subscribed" : "unsubscribed";

    private static async Task<SubscriptionsView> SubscriptionsViewAsync(IChudaStore store, long ws, long profileId, string userId, CancellationToken ct)
    {
        var subs = await store.LoadSubscriptionsAsync(ws, [profileId], ct);
        var log = await store.GetConsentLogAsync(ws, profileId, 100, ct);
        return new SubscriptionsView(userId, [.. subs.Select(s => new SubscriptionView(s.Category, s.Channel, State(s.State), s.Source, s.At))],
            [.. log.Select(s => new SubscriptionView(s.Category, s.Channel, State(s.State), s.Source, s.At))]);
    }

    private static async Task<IResult> SubscriptionsAsync(string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store, DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        try
        {
            var profileId = await delivery.ProfileIdAsync(caller.Workspace.Id, userId, context.RequestAborted);
            return TypedResults.Ok(await SubscriptionsViewAsync(store, caller.Workspace.Id, profileId, userId, context.RequestAborted));
        }
        catch (KeyNotFoundException ex)
        {
            return Failure(ex);
        }
    }

    private static async Task<IResult> PutSubscriptionsAsync(string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store,
        DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["subscriptions", "source"]);
        if (body is null) return bad!;
        if (!Body.TryString(body.Root, "source", out var source, out bad)) return bad!;
        if (!body.Root.TryGetProperty("subscriptions", out var list) || list.ValueKind != JsonValueKind.Array)
            return Problems.Field("subscriptions", "Required: [{\"category\": \"newsletter\", \"channel\": \"email\", \"state\": \"unsubscribed\"}].");
        var changes = new List<(string, string, SubscriptionState)>();
        var errors = new List<FieldError>();
        var i = 0;
        foreach (var s in list.EnumerateArray())
        {
            var path = $"subscriptions[{i++}]";
            string? Str(string name) => s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var category = Str("category");
            var channel = Str("channel") ?? "*";
            var state = Str("state");
            if (category is null) errors.Add(new($"{path}.category", "Required."));
            if (state is not ("subscribed" or "unsubscribed")) errors.Add(new($"{path}.state", "Expected subscribed or unsubscribed."));
            if (category is not null && state is "subscribed" or "unsubscribed")
                changes.Add((category, channel, state == "subscribed" ? SubscriptionState.Subscribed : SubscriptionState.Unsubscribed));
        }
        if (errors.Count > 0) return Problems.Validation(errors);
        var ws = caller.Workspace.Id;
        try
        {
            var profileId = await delivery.ProfileIdAsync(ws, userId, context.RequestAborted);
            await delivery.SetSubscriptionsAsync(ws, profileId, changes, source ?? "api:" + caller.KeyId, context.RequestAborted);
            return TypedResults.Ok(await SubscriptionsViewAsync(store, ws, profileId, userId, context.RequestAborted));
        }
        catch (Exception ex) when (ex is DeliveryValidationException or KeyNotFoundException)
        {
            return Failure(ex);
        }
    }

    private static async Task<IResult> DeliveriesAsync(string userId, HttpContext context, WorkspaceDirectory directory, IChudaStore store,
        DeliveryService delivery, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 200, out var take, out var bad)) return bad!;
        try
        {
            var profileId = await delivery.ProfileIdAsync(caller.Workspace.Id, userId, context.RequestAborted);
            var events = await store.GetProfileMessageEventsAsync(caller.Workspace.Id, profileId, take, context.RequestAborted);
            return TypedResults.Ok(new DeliveryTimelineView(userId, [.. events.Select(e => new MessageEventView(e.At, e.Kind, e.Channel, e.Detail,
                MessageIds.Format(e.MessageId)))]));
        }
        catch (KeyNotFoundException ex)
        {
            return Failure(ex);
        }
    }

    // ---- suppressions --------------------------------------------------------------------------------

    private static readonly string[] SuppressionKinds = ["email", "phone", "push", "wechat", "webhook", "in_app"];

    private static async Task<IResult> ListSuppressionsAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? kind, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 10_000, 1000, out var take, out var bad)) return bad!;
        var list = await store.ListDeliverySuppressionsAsync(caller.Workspace.Id, kind, take, context.RequestAborted);
        return TypedResults.Ok(list.Select(s => new SuppressionView(s.Kind, s.Address, s.Reason, s.Detail, s.CreatedAt)).ToList());
    }

    private static async Task<IResult> AddSuppressionAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, TimeProvider time)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["kind", "address", "detail"]);
        if (body is null) return bad!;
        if (!Body.TryString(body.Root, "kind", out var kind, out bad)) return bad!;
        if (!Body.TryString(body.Root, "address", out var address, out bad)) return bad!;
        if (!Body.TryString(body.Root, "detail", out var detail, out bad)) return bad!;
        if (kind is null || !SuppressionKinds.Contains(kind)) return Problems.Field("kind", $"Required: one of {string.Join(", ", SuppressionKinds)}.");
        if (string.IsNullOrWhiteSpace(address)) return Problems.Field("address", "Required.");
        if (kind == "email")
        {
            if (!Normalization.TryNormalizeEmail(address, out var e)) return Problems.Field("address", "Not an e-mail address.");
            address = e;
        }
        else if (kind == "phone")
        {
            if (!Normalization.TryNormalizePhone(address, null, out var p)) return Problems.Field("address", "Not a phone number in E.164 form.");
            address = p;
        }
        var row = new DeliverySuppression(caller.Workspace.Id, kind, address, SuppressionReasons.Manual, detail, time.GetUtcNow());
        await store.ApplyDeliveryAsync(new DeliveryWrite([], [], [row]), context.RequestAborted);
        return TypedResults.Ok(new SuppressionView(row.Kind, row.Address, row.Reason, row.Detail, row.CreatedAt));
    }

    private static async Task<IResult> RemoveSuppressionAsync(string kind, string address, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (kind == "email" && Normalization.TryNormalizeEmail(address, out var e)) address = e;
        return await store.RemoveDeliverySuppressionAsync(caller.Workspace.Id, kind, address, context.RequestAborted)
            ? TypedResults.NoContent() : Problems.NotFound($"{kind}:{address} is not suppressed.");
    }

    // ---- messages --------------------------------------------------------------------------------

    internal static async Task<MessageView> ViewAsync(IChudaStore store, OutboundMessage m, bool timeline, Dictionary<long, string?>? users, CancellationToken ct)
    {
        string? user = null;
        if (m.ProfileId is { } p)
        {
            if (users is not null && users.TryGetValue(p, out var known)) user = known;
            else
            {
                user = (await store.GetProfileAsync(m.WorkspaceId, p, ct))?.UserId;
                users?.Add(p, user);
            }
        }
        string? journey = null;
        if (m.JourneyKey is { } jk) journey = (await store.GetJourneyByKeyAsync(m.WorkspaceId, jk, ct))?.Id;
        IReadOnlyList<MessageEventView>? events = null;
        if (timeline)
        {
            events = [.. (await store.GetMessageEventsAsync(m.WorkspaceId, m.Id, ct)).Select(e => new MessageEventView(e.At, e.Kind, e.Channel, e.Detail))];
        }
        return new MessageView(m.PublicId, user, m.Address, m.Source, journey, m.StepId, m.TemplateId, m.Category, m.Lane == Lane.Transactional ? "transactional" : "marketing",
            m.Channels, m.Channel, m.Recipient, m.Provider, m.Status, m.Reason, m.DueAt, m.Attempts, m.ExpiresAt, m.DedupKey, m.DigestKey,
            m.DigestId is { } d ? MessageIds.Format(d) : null, m.CreatedAt, m.DispatchedAt, m.SentAt, m.DeliveredAt, m.OpenedAt, m.ClickedAt, m.ReadAt,
            m.ArchivedAt, m.ContentJson is null ? null : Parse(m.ContentJson), events);
    }

    /// <summary>The optional <c>before</c> cursor: a message id.</summary>
    internal static bool TryBefore(string? before, out long? id, out IResult? problem)
    {
        id = null;
        problem = null;
        if (before is null) return true;
        if (!MessageIds.TryParse(before, out var b))
        {
            problem = Problems.Field("before", "A message id such as m_123.");
            return false;
        }
        id = b;
        return true;
    }

    private static async Task<IResult> ListAsync(HttpContext context, IChudaStore store, long ws, MessageQuery query, int take)
    {
        var rows = await store.ListMessagesAsync(ws, query with { Limit = take + 1 }, context.RequestAborted);
        var users = new Dictionary<long, string?>();
        var views = new List<MessageView>();
        foreach (var m in rows.Take(take)) views.Add(await ViewAsync(store, m, false, users, context.RequestAborted));
        return TypedResults.Ok(new MessagePage(views, rows.Count > take ? views[^1].Id : null));
    }

    private static async Task<IResult> ListMessagesAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, DeliveryService delivery,
        string? userId, string? channel, string? status, string? provider, string? before, string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 50, out var take, out var bad)) return bad!;
        if (!TryBefore(before, out var beforeId, out bad)) return bad!;
        long? profileId = null;
        if (userId is not null)
        {
            try
            {
                profileId = await delivery.ProfileIdAsync(caller.Workspace.Id, userId, context.RequestAborted);
            }
            catch (KeyNotFoundException ex)
            {
                return Failure(ex);
            }
        }
        return await ListAsync(context, store, caller.Workspace.Id, new MessageQuery(profileId, channel, status, provider, BeforeId: beforeId), take);
    }

    private static async Task<IResult> SandboxAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store, string? channel, string? before,
        string? limit)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 1000, 50, out var take, out var bad)) return bad!;
        if (!TryBefore(before, out var beforeId, out bad)) return bad!;
        return await ListAsync(context, store, caller.Workspace.Id, new MessageQuery(Channel: channel, Provider: "sandbox", BeforeId: beforeId), take);
    }

    private static async Task<IResult> GetMessageAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!MessageIds.TryParse(id, out var key)) return Problems.Field("id", "A message id such as m_123.");
        var m = await store.GetMessageAsync(caller.Workspace.Id, key, context.RequestAborted);
        return m is null ? Problems.NotFound($"No message has id {id}.") : TypedResults.Ok(await ViewAsync(store, m, true, null, context.RequestAborted));
    }

    private static async Task<IResult> MessageEventAsync(string id, HttpContext context, WorkspaceDirectory directory, IChudaStore store, DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!MessageIds.TryParse(id, out var key)) return Problems.Field("id", "A message id such as m_123.");
        var (body, bad) = await Body.ReadObjectAsync(context, ["type", "detail"]);
        if (body is null) return bad!;
        if (!Body.TryString(body.Root, "type", out var type, out bad)) return bad!;
        if (!Body.TryString(body.Root, "detail", out var detail, out bad)) return bad!;
        if (type is null) return Problems.Field("type", "Required: delivered, opened, clicked, read, bounced, soft_bounced, complained or failed.");
        try
        {
            var m = await delivery.RecordAsync(caller.Workspace.Id, key, type, detail ?? type, "api:" + caller.KeyId, context.RequestAborted);
            return TypedResults.Ok(await ViewAsync(store, m, true, null, context.RequestAborted));
        }
        catch (Exception ex) when (ex is DeliveryValidationException or KeyNotFoundException)
        {
            return Failure(ex);
        }
    }

    private static async Task<IResult> InboxSecretAsync(HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        return TypedResults.Ok(new InboxSecretView(await delivery.InboxSecretAsync(caller.Workspace.Id, context.RequestAborted)));
    }

    private static async Task<IResult> InboxTokenAsync(HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        var (body, bad) = await Body.ReadObjectAsync(context, ["userId"]);
        if (body is null) return bad!;
        if (!Body.TryString(body.Root, "userId", out var userId, out bad)) return bad!;
        if (string.IsNullOrEmpty(userId)) return Problems.Field("userId", "Required.");
        return TypedResults.Ok(new UserTokenView(userId, LinkSigner.UserToken(await delivery.InboxSecretAsync(caller.Workspace.Id, context.RequestAborted), userId)));
    }
}
