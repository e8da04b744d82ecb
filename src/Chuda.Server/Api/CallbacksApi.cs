using Chuda.Channels.Providers;
using Chuda.Engine.Delivery;
using Chuda.Storage;

namespace Chuda.Server.Api;

/// <summary>
/// Provider callbacks: delivery-status reports, inbound messages and call results that SMS, voice, push and WeChat vendors post
/// (or GET) to <c>/callbacks/{workspace}/{providerId}</c> — the <c>callbackUrl</c> the provider API shows. There is no API key:
/// the provider verifies the vendor's own signature or token; a request that does not verify is answered 401 and changes nothing.
/// </summary>
public static class CallbacksApi
{
    /// <summary>Callback bodies are small (a few reports); anything larger is refused.</summary>
    private const int MaxBody = 1 << 20;

    public static void MapCallbacksApi(this WebApplication app)
    {
        app.MapMethods("/callbacks/{ws:long}/{providerId}", ["GET", "POST"], CallbackAsync).WithTags("Providers").WithName("provider-callback")
            .ExcludeFromDescription();
    }

    private static async Task<IResult> CallbackAsync(long ws, string providerId, HttpContext context, DeliveryCatalog catalog, IChudaStore store)
    {
        var ct = context.RequestAborted;
        // An unknown workspace is a 404 like an unknown provider (nothing is created for it).
        var provider = await store.GetWorkspaceAsync(ws, ct) is null ? null : await catalog.FindProviderAsync(ws, providerId, ct);
        if (provider?.Provider is not IProviderCallbacks callbacks) return Problems.NotFound($"No provider '{providerId}' takes callbacks here.");

        using var buffer = new MemoryStream();
        var read = new byte[16 * 1024];
        int n;
        while ((n = await context.Request.Body.ReadAsync(read, ct)) > 0)
        {
            if (buffer.Length + n > MaxBody) return TypedResults.StatusCode(StatusCodes.Status413PayloadTooLarge);
            buffer.Write(read, 0, n);
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in context.Request.Headers) headers[h.Key] = h.Value.ToString();
        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var q in context.Request.Query) query[q.Key] = q.Value.ToString();
        // The URL as the vendor called it (URL-signing schemes sign it): the configured public base URL's scheme and host.
        var publicBase = catalog.Options.PublicBaseUrl;
        var url = new Uri(publicBase, context.Request.Path.Value!.TrimStart('/') + context.Request.QueryString.Value);
        var result = callbacks.HandleCallback(new ProviderCallback(context.Request.Method, url, headers, query, buffer.ToArray()));
        if (!result.Authentic) return TypedResults.Problem(statusCode: 401, title: "Callback not authentic", detail: result.ResponseBody);
        foreach (var report in result.Reports) catalog.Reports.Enqueue(ws, providerId, provider.Record.Channel, report);
        return TypedResults.Text(result.ResponseBody, result.ContentType, statusCode: result.StatusCode);
    }
}
