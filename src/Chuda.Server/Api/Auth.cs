using System.Text;
using Chuda.Domain.Workspaces;
using Chuda.Engine.Workspaces;
using Microsoft.Net.Http.Headers;

namespace Chuda.Server.Api;

/// <summary>Reads the credentials of a request: Basic (Segment write key as user name) or Bearer (admin key).</summary>
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

    /// <summary>The admin caller of a management request, or the problem to answer.</summary>
    public static async Task<(Caller? Caller, IResult? Problem)> AdminAsync(HttpContext context, WorkspaceDirectory directory)
    {
        var secret = Bearer(context.Request);
        if (secret is null) return (null, Problems.Unauthorized("Send the admin key as 'Authorization: Bearer <key>'."));
        var caller = await directory.AuthenticateAsync(secret, context.RequestAborted);
        if (caller is null) return (null, Problems.Unauthorized("The admin key is unknown or revoked."));
        if (caller.Kind != ApiKeyKind.Admin) return (null, Problems.Forbidden("A write key can only send events; use an admin key."));
        return (caller, null);
    }
}
