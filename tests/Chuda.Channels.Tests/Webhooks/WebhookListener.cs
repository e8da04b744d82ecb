using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chuda.Channels.Tests.Webhooks;

/// <summary>A request as the listener received it.</summary>
public sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>
/// A real HTTP endpoint (Kestrel) on a loopback address with an ephemeral port that records every connection and request
/// and answers with <see cref="Respond"/> (204 by default).
/// </summary>
public sealed class WebhookListener : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private int _connections;

    private WebhookListener(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    public int Port => Address.Port;

    /// <summary>TCP connections accepted, whether or not a request followed.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    public Func<HttpContext, Task> Respond { get; set; } = context =>
    {
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    };

    public Uri Url(string path) => new(Address, path);

    /// <summary>Starts listening on <paramref name="bind"/> (127.0.0.1 by default) with an ephemeral port.</summary>
    public static async Task<WebhookListener> StartAsync(IPAddress? bind = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        WebhookListener? listener = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(bind ?? IPAddress.Loopback, 0, endpoint =>
            endpoint.Use(next => connection =>
            {
                Interlocked.Increment(ref listener!._connections);
                return next(connection);
            })));
        var app = builder.Build();
        listener = new WebhookListener(app);
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            listener._requests.Enqueue(new ReceivedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, body.ToArray()));
            await listener.Respond(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        listener.Address = new Uri(address + "/");
        return listener;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
