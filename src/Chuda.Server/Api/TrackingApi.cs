using System.Net;
using System.Text;
using System.Text.Json;
using Chuda.Domain.Delivery;
using Chuda.Engine.Delivery;
using Chuda.Engine.Workspaces;
using Chuda.Storage;

namespace Chuda.Server.Api;

/// <summary>
/// The links inside messages (no API key; each carries an HMAC signature): the open pixel, click redirects (only for
/// links we signed — a tampered or unsigned link never redirects), one-click unsubscribe (RFC 8058) and the hosted
/// preference page. Plus the in-app inbox's client API, authenticated per user with an HMAC user token.
/// </summary>
public static class TrackingApi
{
    private static readonly byte[] Gif = Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

    public static void MapTrackingApi(this WebApplication app)
    {
        app.MapGet("/t/o/{ws:long}/{file}", OpenAsync).WithTags("Tracking").WithName("track-open").ExcludeFromDescription();
        app.MapGet("/t/c/{ws:long}/{id:long}", ClickAsync).WithTags("Tracking").WithName("track-click").ExcludeFromDescription();
        app.MapGet("/u/{ws:long}/{id:long}", UnsubscribePageAsync).WithTags("Tracking").WithName("unsubscribe-page").ExcludeFromDescription();
        app.MapPost("/u/{ws:long}/{id:long}", UnsubscribeAsync).WithTags("Tracking").WithName("unsubscribe").ExcludeFromDescription();
        app.MapGet("/p/{ws:long}/{id:long}", PreferencesPageAsync).WithTags("Tracking").WithName("preferences-page").ExcludeFromDescription();
        app.MapPost("/p/{ws:long}/{id:long}", SavePreferencesAsync).WithTags("Tracking").WithName("save-preferences").ExcludeFromDescription();

        var inbox = app.MapGroup("/api/v1/inbox").WithTags("In-app inbox");
        inbox.MapGet("/messages", InboxListAsync).WithName("inbox-list")
            .WithSummary("The user's inbox, newest first (write key as Basic user; X-Chuda-User + X-Chuda-User-Token, or user= & token=)")
            .Produces<InboxPage>().ProducesProblem(401);
        inbox.MapGet("/unread-count", UnreadAsync).WithName("inbox-unread").Produces<UnreadView>().ProducesProblem(401);
        inbox.MapPost("/messages/{id}/read", ReadAsync).WithName("inbox-read").Produces(204).ProducesProblem(401).ProducesProblem(404);
        inbox.MapPost("/messages/{id}/archive", ArchiveAsync).WithName("inbox-archive").Produces(204).ProducesProblem(401).ProducesProblem(404);
        inbox.MapGet("/stream", StreamAsync).WithName("inbox-stream")
            .WithSummary("Server-Sent Events: 'message', 'read' and 'archived' notices for the user (EventSource: pass writeKey=, user= and token= in the query)");
    }

    // ---- tracking links ----------------------------------------------------------------------------

    private static async Task<IResult> OpenAsync(long ws, string file, string? s, HttpContext context, DeliveryService delivery)
    {
        // Always a pixel, so a mail client shows nothing odd; only a signed one counts.
        if (file.EndsWith(".gif", StringComparison.Ordinal) && long.TryParse(file.AsSpan(0, file.Length - 4), out var id))
        {
            try
            {
                await delivery.OpenAsync(ws, id, s, context.RequestAborted);
            }
            catch (KeyNotFoundException)
            {
                // an erased person's message: nothing to record
            }
        }
        context.Response.Headers.CacheControl = "no-store";
        return Results.File(Gif, "image/gif");
    }

    private static async Task<IResult> ClickAsync(long ws, long id, string? u, string? s, HttpContext context, DeliveryService delivery)
    {
        string? target;
        try
        {
            target = await delivery.ClickAsync(ws, id, u, s, context.RequestAborted);
        }
        catch (KeyNotFoundException)
        {
            target = null;
        }
        if (target is null) return Page(400, "Link not valid", "<p>This link is not valid. It may have been changed or copied incompletely.</p>");
        return Results.Redirect(target);
    }

    private static async Task<IResult> UnsubscribePageAsync(long ws, long id, string? s, HttpContext context, DeliveryService delivery)
    {
        var m = await delivery.LinkMessageAsync(ws, id, "u", s, context.RequestAborted);
        if (m is null) return Page(400, "Link not valid", "<p>This unsubscribe link is not valid.</p>");
        // A GET never changes anything (mail scanners follow links): the page asks for a confirmation.
        var action = $"/u/{ws}/{id}?s={Uri.EscapeDataString(s!)}";
        return Page(200, "Unsubscribe", $"""
            <p>Stop receiving <b>{Enc(m.Category)}</b> messages{(m.Channel is null ? "" : " by " + Enc(m.Channel))}?</p>
            <form method="post" action="{Enc(action)}"><button type="submit">Unsubscribe</button></form>
            """);
    }

    private static async Task<IResult> UnsubscribeAsync(long ws, long id, string? s, HttpContext context, DeliveryService delivery)
    {
        bool ok;
        try
        {
            ok = await delivery.UnsubscribeAsync(ws, id, s, context.RequestAborted);
        }
        catch (KeyNotFoundException)
        {
            ok = false;
        }
        if (!ok) return Page(400, "Link not valid", "<p>This unsubscribe link is not valid.</p>");
        return Page(200, "Unsubscribed", "<p>You are unsubscribed. You can close this page.</p>");
    }

    private static async Task<IResult> PreferencesPageAsync(long ws, long id, string? s, HttpContext context, DeliveryService delivery, IChudaStore store)
    {
        var m = await delivery.LinkMessageAsync(ws, id, "p", s, context.RequestAborted);
        if (m?.ProfileId is not { } profileId) return Page(400, "Link not valid", "<p>This preferences link is not valid.</p>");
        var subs = await store.LoadSubscriptionsAsync(ws, [profileId], context.RequestAborted);
        var categories = subs.Select(x => x.Category).Append(Categories.Marketing).Append(m.Category).Where(c => !Categories.IsTransactional(c))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var rows = new StringBuilder();
        foreach (var c in categories)
        {
            var off = subs.Any(x => x.Category == c && x.Channel == "*" && x.State == SubscriptionState.Unsubscribed);
            rows.Append($"""<label><input type="checkbox" name="on" value="{Enc(c)}"{(off ? "" : " checked")}> {Enc(c)}</label><br>""");
            rows.Append($"""<input type="hidden" name="all" value="{Enc(c)}">""");
        }
        return Page(200, "Your e-mail and message preferences", $"""
            <form method="post" action="/p/{ws}/{id}?s={Enc(Uri.EscapeDataString(s!))}">{rows}<button type="submit">Save</button></form>
            """);
    }

    private static async Task<IResult> SavePreferencesAsync(long ws, long id, string? s, HttpContext context, DeliveryService delivery)
    {
        var m = await delivery.LinkMessageAsync(ws, id, "p", s, context.RequestAborted);
        if (m?.ProfileId is not { } profileId || !context.Request.HasFormContentType) return Page(400, "Link not valid", "<p>This preferences link is not valid.</p>");
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var on = form["on"].OfType<string>().ToHashSet(StringComparer.Ordinal);
        var changes = form["all"].OfType<string>().Where(Categories.IsValid).Where(c => !Categories.IsTransactional(c)).Distinct(StringComparer.Ordinal)
            .Select(c => (c, "*", on.Contains(c) ? SubscriptionState.Subscribed : SubscriptionState.Unsubscribed)).ToList();
        try
        {
            await delivery.SetSubscriptionsAsync(ws, profileId, changes, "preference page " + m.PublicId, context.RequestAborted);
        }
        catch (DeliveryValidationException)
        {
            return Page(400, "Not saved", "<p>The form was not valid.</p>");
        }
        return Page(200, "Saved", "<p>Your preferences are saved.</p>");
    }

    private static string Enc(string s) => WebUtility.HtmlEncode(s);

    private static IResult Page(int status, string title, string body) => Results.Content($"""
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
        <link rel="icon" href="data:,"><title>{Enc(title)}</title></head>
        <body style="font-family:sans-serif;max-width:32rem;margin:3rem auto"><h1>{Enc(title)}</h1>{body}</body></html>
        """, "text/html; charset=utf-8", Encoding.UTF8, status);

    // ---- the inbox client API --------------------------------------------------------------------

    private sealed record InboxCaller(long Workspace, string User);

    private static async Task<(InboxCaller? Caller, IResult? Problem)> InboxAuthAsync(HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var key = Auth.BasicUser(context.Request) ?? context.Request.Query["writeKey"].ToString();
        if (string.IsNullOrEmpty(key)) return (null, Problems.Unauthorized("Send the write key as the Basic user name (or writeKey= for EventSource)."));
        var caller = await directory.AuthenticateAsync(key, context.RequestAborted);
        if (caller is null) return (null, Problems.Unauthorized("The key is unknown or revoked."));
        var user = context.Request.Headers["X-Chuda-User"].ToString() is { Length: > 0 } h ? h : context.Request.Query["user"].ToString();
        var token = context.Request.Headers["X-Chuda-User-Token"].ToString() is { Length: > 0 } t ? t : context.Request.Query["token"].ToString();
        if (string.IsNullOrEmpty(user)) return (null, Problems.Unauthorized("Name the user (X-Chuda-User or user=)."));
        if (!await delivery.VerifyUserAsync(caller.Workspace.Id, user, token, context.RequestAborted))
            return (null, Problems.Unauthorized("The user token does not match: hex(HMAC-SHA256(inbox secret, user id))."));
        return (new InboxCaller(caller.Workspace.Id, user), null);
    }

    private static InboxMessageView InboxView(OutboundMessage m)
    {
        string? title = null, body = null, label = null, url = null;
        if (m.ContentJson is { } json)
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            string? S(string n) => r.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            title = S("title");
            body = S("body");
            label = S("actionLabel");
            url = S("actionUrl");
        }
        return new InboxMessageView(m.PublicId, title, body, label, url, m.DeliveredAt, m.ReadAt is not null, m.ArchivedAt is not null);
    }

    private static async Task<long?> ProfileAsync(IChudaStore store, InboxCaller c, CancellationToken ct) =>
        await store.FindProfileIdAsync(c.Workspace, new Domain.Profiles.IdentityKey(Domain.Profiles.IdentityKinds.UserId, c.User), ct);

    private static MessageQuery InboxQuery(long profileId, bool? archived = false, bool? unread = null, long? before = null, int limit = 50) =>
        new(profileId, ChannelNames.InApp, MessageStatuses.Delivered, Archived: archived, Unread: unread, BeforeId: before, Limit: limit);

    private static async Task<IResult> InboxListAsync(HttpContext context, WorkspaceDirectory directory, DeliveryService delivery, IChudaStore store,
        string? archived, string? before, string? limit)
    {
        var (c, problem) = await InboxAuthAsync(context, directory, delivery);
        if (c is null) return problem!;
        if (!Query.TryInt(limit, "limit", 1, 200, 50, out var take, out var bad)) return bad!;
        if (!Query.TryBool(archived, "archived", out var arch, out bad)) return bad!;
        if (!DeliveryApi.TryBefore(before, out var beforeId, out bad)) return bad!;
        var ct = context.RequestAborted;
        if (await ProfileAsync(store, c, ct) is not { } profileId) return TypedResults.Ok(new InboxPage([], 0, null));
        var rows = await store.ListMessagesAsync(c.Workspace, InboxQuery(profileId, arch ?? false, null, beforeId, take + 1), ct);
        var unread = await store.CountMessagesAsync(c.Workspace, InboxQuery(profileId, false, true), ct);
        var views = rows.Take(take).Select(InboxView).ToList();
        return TypedResults.Ok(new InboxPage(views, unread, rows.Count > take ? views[^1].Id : null));
    }

    private static async Task<IResult> UnreadAsync(HttpContext context, WorkspaceDirectory directory, DeliveryService delivery, IChudaStore store)
    {
        var (c, problem) = await InboxAuthAsync(context, directory, delivery);
        if (c is null) return problem!;
        var ct = context.RequestAborted;
        if (await ProfileAsync(store, c, ct) is not { } profileId) return TypedResults.Ok(new UnreadView(0));
        return TypedResults.Ok(new UnreadView(await store.CountMessagesAsync(c.Workspace, InboxQuery(profileId, false, true), ct)));
    }

    private static async Task<IResult> ReadAsync(string id, HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var (c, problem) = await InboxAuthAsync(context, directory, delivery);
        if (c is null) return problem!;
        if (!MessageIds.TryParse(id, out var key)) return Problems.Field("id", "A message id such as m_123.");
        var m = await delivery.InboxMessageAsync(c.Workspace, c.User, key, context.RequestAborted);
        if (m is null) return Problems.NotFound($"No inbox message {id} for this user.");
        if (m.ReadAt is null) await delivery.RecordAsync(c.Workspace, key, MessageEventKinds.Read, "read in the inbox", null, context.RequestAborted);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> ArchiveAsync(string id, HttpContext context, WorkspaceDirectory directory, DeliveryService delivery)
    {
        var (c, problem) = await InboxAuthAsync(context, directory, delivery);
        if (c is null) return problem!;
        if (!MessageIds.TryParse(id, out var key)) return Problems.Field("id", "A message id such as m_123.");
        var m = await delivery.InboxMessageAsync(c.Workspace, c.User, key, context.RequestAborted);
        if (m is null) return Problems.NotFound($"No inbox message {id} for this user.");
        await delivery.ArchiveAsync(c.Workspace, c.User, m, context.RequestAborted);
        return TypedResults.NoContent();
    }

    private static async Task StreamAsync(HttpContext context, WorkspaceDirectory directory, DeliveryService delivery, InboxHub hub)
    {
        var (c, problem) = await InboxAuthAsync(context, directory, delivery);
        if (c is null)
        {
            await problem!.ExecuteAsync(context);
            return;
        }
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        using var subscription = hub.Subscribe(c.Workspace, c.User);
        var ct = context.RequestAborted;
        await context.Response.WriteAsync(": connected\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
        try
        {
            await foreach (var notice in subscription.Reader.ReadAllAsync(ct))
            {
                await context.Response.WriteAsync($"event: {notice.Type}\ndata: {{\"id\":\"{notice.MessageId}\"}}\n\n", ct);
                await context.Response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the client went away
        }
    }
}
