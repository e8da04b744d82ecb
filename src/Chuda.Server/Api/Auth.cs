using System.Security.Cryptography;
using System.Text;
using Chuda.Domain.Workspaces;
using Chuda.Engine.Workspaces;
using Chuda.Storage;
using Microsoft.Net.Http.Headers;

namespace Chuda.Server.Api;

/// <summary>Reads the credentials of a request: Basic (Segment write key as user name), Bearer (admin key) or the console session cookie.</summary>
public static class Auth
{
    /// <summary>The user name of a Basic Authorization header (Segment sends the write key there, password empty).</summary>
    public static string? BasicUser(HttpRequest request)
    {
        var header = request.Headers[HeaderNames.Authorization].ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? decoded : decoded[..colon];
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static string? Bearer(HttpRequest request)
    {
        var header = request.Headers[HeaderNames.Authorization].ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }

    /// <summary>
    /// The admin caller of a management request, or the problem to answer: the one choke point of management auth.
    /// A Bearer admin key first (unchanged; needs no CSRF token); else the console session cookie, which for unsafe methods
    /// (POST, PUT, PATCH, DELETE) also needs the session's CSRF token in <c>X-Chuda-Csrf</c> and, when the browser sends an
    /// <c>Origin</c>, this server's own origin.
    /// </summary>
    public static async Task<(Caller? Caller, IResult? Problem)> AdminAsync(HttpContext context, WorkspaceDirectory directory)
    {
        var secret = Bearer(context.Request);
        if (secret is null)
        {
            var cookie = context.Request.Cookies[ConsoleSessions.CookieName];
            var sessions = context.RequestServices.GetService<ConsoleSessions>();
            if (cookie is null || sessions is null)
                return (null, Problems.Unauthorized("Send the admin key as 'Authorization: Bearer <key>', or sign in to the console."));
            var active = await sessions.AuthenticateAsync(cookie, context.RequestAborted);
            if (active is null) return (null, Problems.Unauthorized("The console session has ended (signed out, expired or its key revoked); sign in again."));
            if (IsUnsafe(context.Request.Method) && CsrfProblem(context.Request, active.Session) is { } csrf) return (null, csrf);
            return (active.Caller, null);
        }
        var caller = await directory.AuthenticateAsync(secret, context.RequestAborted);
        if (caller is null) return (null, Problems.Unauthorized("The admin key is unknown or revoked."));
        if (caller.Kind != ApiKeyKind.Admin) return (null, Problems.Forbidden("A write key can only send events; use an admin key."));
        return (caller, null);
    }

    public static bool IsUnsafe(string method) =>
        !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method));

    /// <summary>
    /// True unless the request carries an <c>Origin</c> naming another site. The origin's host and port must be the request's
    /// own <c>Host</c>, whatever the scheme (behind a proxy that terminates TLS the browser says https, Kestrel sees http), or
    /// those of the configured public URL (<c>--public-url</c>, for a proxy that also rewrites <c>Host</c>).
    /// </summary>
    public static bool SameOrigin(HttpRequest request)
    {
        var origin = request.Headers[HeaderNames.Origin].ToString();
        if (origin.Length == 0) return true;
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)) return false;
        if (string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)) return true;
        var publicUrl = request.HttpContext.RequestServices.GetService<Chuda.Engine.Delivery.DeliveryOptions>()?.PublicBaseUrl;
        return publicUrl is not null && string.Equals(uri.GetLeftPart(UriPartial.Authority), publicUrl.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The 403 to answer when a cookie-authenticated unsafe request fails the CSRF checks; null when it passes.</summary>
    public static IResult? CsrfProblem(HttpRequest request, ConsoleSession session)
    {
        if (!SameOrigin(request)) return Problems.Forbidden("CSRF check failed: the request's Origin is not this server.");
        var sent = request.Headers[ConsoleSessions.CsrfHeader].ToString();
        if (sent.Length == 0) return Problems.Forbidden($"CSRF check failed: send the session's CSRF token in {ConsoleSessions.CsrfHeader}.");
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(session.CsrfToken)))
            return Problems.Forbidden($"CSRF check failed: {ConsoleSessions.CsrfHeader} does not match the session's token.");
        return null;
    }
}
