using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Chuda.Engine;
using Chuda.Server.Hosting;
using Chuda.Testing;
using Microsoft.AspNetCore.Builder;

namespace Chuda.Web.Tests;

/// <summary>
/// A real Chuda server (Kestrel on loopback, SQLite in a temp directory) serving the built console from web/dist, on a clock
/// the test moves: the browser's own timers run in real time, the engine's waits fire when <see cref="Clock"/> is advanced.
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    public const string WriteKey = "wk_console_test_write";
    public const string AdminKey = "ak_console_test_admin";

    private readonly TempDirectory _data = new();
    private WebApplication? _app;

    /// <summary>Starts at the real present so that event timestamps, the browser and the server agree.</summary>
    public FakeTimeProvider Clock { get; } = new(TruncatedNow());

    public Uri Address { get; private set; } = null!;
    public HttpClient Ingest { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;

    public static string ConsoleDirectory => Repository.File("web/dist");

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(ConsoleDirectory, "index.html")))
        {
            throw new InvalidOperationException(
                $"The console is not built ({ConsoleDirectory}/index.html is missing): run `npm ci && npm run build` in web/ (./test.sh does).");
        }
        var options = new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = _data.Path,
            Store = null, // the embedded SQLite store in DataDirectory
            WriteKey = WriteKey,
            AdminKey = AdminKey,
            Engine = new EngineOptions(),
            Time = Clock,
            Console = TextWriter.Null,
            ConsoleDirectory = ConsoleDirectory,
        };
        _app = await ChudaApp.BuildAsync(options, CancellationToken.None);
        await _app.StartAsync();
        Address = new Uri(_app.Urls.First());
        Ingest = new HttpClient { BaseAddress = Address };
        Ingest.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(WriteKey + ":")));
        Admin = new HttpClient { BaseAddress = Address };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public async Task DisposeAsync()
    {
        Ingest?.Dispose();
        Admin?.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        _data.Dispose();
    }

    /// <summary>Sends one Segment-style message through the ingestion API (the write key, as a client library would).</summary>
    public async Task TrackAsync(string userId, string @event, object? properties = null)
    {
        var body = JsonSerializer.Serialize(new { userId, @event, properties = properties ?? new { }, timestamp = Clock.GetUtcNow() });
        using var response = await Ingest.PostAsync("/v1/track", new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    public async Task IdentifyAsync(string userId, object traits)
    {
        var body = JsonSerializer.Serialize(new { userId, traits, timestamp = Clock.GetUtcNow() });
        using var response = await Ingest.PostAsync("/v1/identify", new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Admin.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    public async Task<JsonElement> SendJsonAsync(HttpMethod method, string path, string json)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = await Admin.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
        using var doc = JsonDocument.Parse(string.IsNullOrEmpty(text) ? "null" : text);
        return doc.RootElement.Clone();
    }

    private static DateTimeOffset TruncatedNow()
    {
        var now = TimeProvider.System.GetUtcNow();
        return new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }
}
