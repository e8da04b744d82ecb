using System.Net.Mime;
using Chuda.Server.Api;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace Chuda.Server.Hosting;

/// <summary>
/// Serves the built operator console (<c>web/dist</c>) at <c>/</c>: hashed <c>/assets/*</c> cached for a year, <c>index.html</c>
/// revalidated on every load, and every other GET / HEAD outside the API's prefixes answered with <c>index.html</c> so deep links
/// (<c>/journeys/abc</c>) work. Unknown paths under the API's prefixes stay 404 problem+json.
/// </summary>
public static class ConsoleHosting
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    /// <summary>Paths that belong to the API and never fall back to the console.</summary>
    private static readonly string[] ReservedPrefixes = ["/api", "/v1", "/callbacks", "/t/", "/u/", "/p/", "/health", "/openapi"];

    public static bool IsReserved(PathString path)
    {
        var value = path.Value ?? "/";
        foreach (var prefix in ReservedPrefixes)
        {
            if (prefix.EndsWith('/'))
            {
                if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || value.Equals(prefix[..^1], StringComparison.OrdinalIgnoreCase)) return true;
            }
            else if (value.Equals(prefix, StringComparison.OrdinalIgnoreCase) || value.StartsWith(prefix + "/", StringComparison.OrdinalIgnoreCase)
                     || value.StartsWith(prefix + ".", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    public static void UseConsole(this WebApplication app, string? directory)
    {
        var root = directory is null ? null : Path.GetFullPath(directory);
        var index = root is null ? null : Path.Combine(root, "index.html");
        var available = index is not null && File.Exists(index);
        if (available)
        {
            var files = new PhysicalFileProvider(root!);
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                ServeUnknownFileTypes = false,
                OnPrepareResponse = ctx =>
                {
                    var headers = ctx.Context.Response.Headers;
                    SecurityHeaders(headers);
                    headers.CacheControl = ctx.Context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal)
                        ? "public, max-age=31536000, immutable"
                        : "no-cache";
                },
            });
        }
        // Static files run before routing: they leave alone requests that already have an endpoint. The fallback below is a
        // middleware after routing, not an endpoint (MapFallback): a fallback endpoint would compete in endpoint selection and
        // win over API endpoints that declare a request content type when a request sends none.
        app.UseRouting();
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint() is not null)
            {
                await next(context);
                return;
            }
            if (IsReserved(context.Request.Path) || !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
            {
                await Problems.NotFound($"No endpoint answers {context.Request.Method} {context.Request.Path}; see /openapi/v1.json.").ExecuteAsync(context);
                return;
            }
            var headers = context.Response.Headers;
            SecurityHeaders(headers);
            headers.CacheControl = "no-cache";
            context.Response.ContentType = MediaTypeNames.Text.Html + "; charset=utf-8";
            // Re-checked per request: the console may be built after the server started (./chuda builds it first, but a
            // developer may run `npm run build` later).
            if (index is not null && File.Exists(index))
            {
                if (HttpMethods.IsHead(context.Request.Method)) return;
                await context.Response.SendFileAsync(index, context.RequestAborted);
                return;
            }
            if (HttpMethods.IsHead(context.Request.Method)) return;
            await context.Response.WriteAsync(NotBuiltPage(directory), context.RequestAborted);
        });
    }

    private static void SecurityHeaders(IHeaderDictionary headers)
    {
        headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        headers["Referrer-Policy"] = "same-origin";
    }

    private static string NotBuiltPage(string? directory)
    {
        var where = directory is null
            ? "No console directory is configured (<code>--console-dir</code> / <code>CHUDA_CONSOLE_DIR</code>)."
            : $"The console directory <code>{System.Net.WebUtility.HtmlEncode(directory)}</code> has no <code>index.html</code>.";
        return $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Chuda</title>
            <style>body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2937}code{background:#f3f4f6;padding:0 .25rem;border-radius:3px}</style>
            </head><body>
            <h1>Chuda is running</h1>
            <p>The API answers at <code>/api/v1</code> and <code>/v1</code> (see <a href="/openapi/v1.json">/openapi/v1.json</a>), but the operator console is not built.</p>
            <p>{{where}}</p>
            <p>Start the server with <code>./chuda serve</code> from the repository: it builds the console (<code>web/</code>, with npm) when it is
            missing or stale and serves it here. Or build it yourself with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> and start the
            server with <code>--console-dir web/dist</code>.</p>
            </body></html>
            """;
    }
}
