using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Channels.Sms.Http;
using Chuda.Channels.Webhooks;
using Chuda.Domain.Templates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chuda.Channels.Tests.Sms;

/// <summary>A request as the fake vendor received it. <see cref="Query"/> and <see cref="Form"/> are decoded by ASP.NET Core's own
/// parser (not by the code under test).</summary>
public sealed record VendorRequest(string Method, string Path, string RawQuery, IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public Dictionary<string, string> Form =>
        QueryHelpers.ParseQuery("?" + Text).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);
}

/// <summary>The answer the fake vendor gives to one request.</summary>
public sealed record VendorAnswer(int Status, string Body, string ContentType = "application/json", IReadOnlyDictionary<string, string>? Headers = null,
    TimeSpan? Delay = null);

/// <summary>
/// A vendor's HTTP API played by Kestrel on 127.0.0.1 and an ephemeral port: every request is recorded and handed to
/// <see cref="Handle"/>, which checks it (authentication, signature, fields) and decides the answer.
/// </summary>
public sealed class HttpFakeVendor : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<VendorRequest> _requests = new();
    private int _connections;

    private HttpFakeVendor(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    public string Endpoint => Address.ToString().TrimEnd('/');

    public IReadOnlyList<VendorRequest> Requests => [.. _requests];

    /// <summary>TCP connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public Func<VendorRequest, VendorAnswer> Handle { get; set; } = _ => new VendorAnswer(204, "");

    public static async Task<HttpFakeVendor> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        HttpFakeVendor? vendor = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, endpoint => endpoint.Use(next => connection =>
        {
            Interlocked.Increment(ref vendor!._connections);
            return next(connection);
        })));
        var app = builder.Build();
        vendor = new HttpFakeVendor(app);
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var request = new VendorRequest(
                context.Request.Method,
                context.Request.Path.Value ?? "",
                context.Request.QueryString.Value ?? "",
                context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal),
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body.ToArray());
            vendor._requests.Enqueue(request);
            VendorAnswer answer;
            try
            {
                answer = vendor.Handle(request);
            }
            catch (Exception ex)
            {
                // A failed check: answered with a status no mapping treats as success, and visible in the result's detail.
                answer = new VendorAnswer(418, "fake vendor check failed: " + ex.Message, "text/plain");
            }
            if (answer.Delay is { } delay) await Task.Delay(delay, TimeProvider.System, context.RequestAborted);
            context.Response.StatusCode = answer.Status;
            context.Response.ContentType = answer.ContentType;
            foreach (var (name, value) in answer.Headers ?? new Dictionary<string, string>()) context.Response.Headers[name] = value;
            await context.Response.WriteAsync(answer.Body, context.RequestAborted);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        vendor.Address = new Uri(address + "/");
        return vendor;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>What the HTTP SMS and voice tests share.</summary>
public static class HttpTestSupport
{
    /// <summary>The gateway client as configured for tests: loopback allowed (it is refused by default), a 5 s timeout.</summary>
    public static HttpGatewayOptions Loopback(TimeSpan? timeout = null) => new()
    {
        Security = new WebhookSecurityOptions { AllowedNetworks = ["127.0.0.1"] },
        Timeout = timeout ?? TimeSpan.FromSeconds(5),
    };

    /// <summary>Quotes, a backslash, a newline, <c>&amp;</c>, <c>+</c>, <c>%</c>, <c>=</c>, Chinese and an emoji.</summary>
    public const string AwkwardText = "He said \"hi\" \\o/\nline 2 & a+b=c 100% 你好，退订回TD 🎉";

    public static ProviderMessage SmsTo(string recipient, string text = AwkwardText, string messageId = "m_01", IReadOnlyDictionary<string, string>? headers = null) =>
        new(messageId, "idem-" + messageId, "sms", recipient, new SmsContent(text, SmsSegments.Ucs2, 1, text.Length), "transactional",
            headers ?? new Dictionary<string, string>());

    public static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    public static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static ProviderCallback Callback(string method, string url, byte[] body, IDictionary<string, string>? headers = null)
    {
        var uri = new Uri(url);
        var query = QueryHelpers.ParseQuery(uri.Query).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        return new ProviderCallback(method, uri, new Dictionary<string, string>(headers ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase),
            query, body);
    }

    /// <summary>Bounds a test: every send gets this token.</summary>
    public static CancellationToken Deadline(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
