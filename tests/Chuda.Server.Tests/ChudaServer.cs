using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Chuda.Engine;
using Chuda.Server.Hosting;
using Chuda.Testing;

namespace Chuda.Server.Tests;

/// <summary>A real Chuda server on a loopback port (Kestrel, real store), as a client sees it.</summary>
public sealed class ChudaServer : IAsyncDisposable
{
    public const string WriteKey = "wk_test_write_key";
    public const string AdminKey = "ak_test_admin_key";

    private ChudaServer(WebApplication app, Uri address, string? store, string dataDirectory, TempDirectory? owned)
    {
        App = app;
        Address = address;
        Store = store;
        DataDirectory = dataDirectory;
        _owned = owned;
        Ingest = Client(Basic(WriteKey));
        Admin = Client(new AuthenticationHeaderValue("Bearer", AdminKey));
    }

    private readonly TempDirectory? _owned;

    public WebApplication App { get; }
    public Uri Address { get; }
    public string? Store { get; }
    public string DataDirectory { get; }

    /// <summary>Authenticated with the write key of workspace 'default'.</summary>
    public HttpClient Ingest { get; }

    /// <summary>Authenticated with the admin key of workspace 'default' (also the instance admin).</summary>
    public HttpClient Admin { get; }

    public static async Task<ChudaServer> StartAsync(string? store, string? dataDirectory = null, EngineOptions? engine = null, TimeProvider? time = null,
        Func<ServeOptions, ServeOptions>? configure = null)
    {
        TempDirectory? owned = null;
        if (dataDirectory is null)
        {
            owned = new TempDirectory();
            dataDirectory = owned.Path;
        }
        var options = new ServeOptions
        {
            Urls = "http://127.0.0.1:0",
            DataDirectory = dataDirectory,
            Store = store,
            WriteKey = WriteKey,
            AdminKey = AdminKey,
            Engine = engine ?? new EngineOptions(),
            Time = time ?? TimeProvider.System,
            Console = TextWriter.Null,
        };
        if (configure is not null) options = configure(options);
        var app = await ChudaApp.BuildAsync(options, CancellationToken.None);
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        return new ChudaServer(app, address, store, dataDirectory, owned);
    }

    public HttpClient Client(AuthenticationHeaderValue? auth)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = auth;
        return client;
    }

    public static AuthenticationHeaderValue Basic(string writeKey) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    public async Task<JsonElement?> ProfileAsync(string userId, HttpClient? admin = null)
    {
        var response = await (admin ?? Admin).GetAsync($"/api/v1/profiles/{Uri.EscapeDataString(userId)}");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        response.EnsureSuccessStatusCode();
        return await ReadJsonAsync(response);
    }

    public async Task<List<JsonElement>> EventsAsync(string userId, int limit = 1000)
    {
        var response = await Admin.GetAsync($"/api/v1/profiles/{Uri.EscapeDataString(userId)}/events?limit={limit}");
        response.EnsureSuccessStatusCode();
        return [.. (await ReadJsonAsync(response)).GetProperty("events").EnumerateArray()];
    }

    public async Task<HttpResponseMessage> PostAsync(string path, string json, HttpClient? client = null) =>
        await (client ?? Ingest).PostAsync(path, Json(json));

    public async Task StopAsync()
    {
        await App.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Ingest.Dispose();
        Admin.Dispose();
        await App.DisposeAsync();
        _owned?.Dispose();
    }

    public Task<JsonElement> GetJsonAsync(string path) => Admin.GetFromJsonAsync<JsonElement>(path);
}
