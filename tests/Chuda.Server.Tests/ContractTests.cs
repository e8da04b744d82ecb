using System.Text.Json;
using System.Text.Json.Nodes;
using Chuda.Engine;
using Chuda.Server.Hosting;
using Chuda.Testing;

namespace Chuda.Server.Tests;

/// <summary>Public contracts and first-start behaviour.</summary>
public sealed class ContractTests
{
    /// <summary>
    /// The OpenAPI document is a public contract: a change to it must show up as a diff of docs/openapi.json.
    /// Run with CHUDA_UPDATE_SNAPSHOTS=1 to accept an intended change.
    /// </summary>
    [Fact]
    public async Task The_openapi_document_matches_the_checked_in_contract()
    {
        await using var server = await ChudaServer.StartAsync(null);
        var json = await server.Admin.GetStringAsync("/openapi/v1.json");
        using var doc = JsonDocument.Parse(json);
        var paths = doc.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var expected in new[] { "/v1/track", "/v1/batch", "/api/v1/profiles/{userId}", "/api/v1/profiles/{userId}/events", "/api/v1/workspaces", "/health" })
            Assert.Contains(expected, paths);

        // The server list names this run's random port; everything else is the contract.
        var contract = JsonNode.Parse(json)!.AsObject();
        contract.Remove("servers");
        var pretty = contract.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        var snapshot = Repository.File("docs/openapi.json");
        if (Environment.GetEnvironmentVariable("CHUDA_UPDATE_SNAPSHOTS") == "1") await File.WriteAllTextAsync(snapshot, pretty);
        Assert.True(File.Exists(snapshot), "docs/openapi.json is missing; run the tests with CHUDA_UPDATE_SNAPSHOTS=1.");
        Assert.Equal(await File.ReadAllTextAsync(snapshot), pretty);
    }

    [Fact]
    public async Task First_start_prints_keys_once_and_stores_only_their_hashes()
    {
        using var data = new TempDirectory();
        var console = new StringWriter();
        var options = new ServeOptions { Urls = "http://127.0.0.1:0", DataDirectory = data.Path, Console = console };
        await using (var app = await ChudaApp.BuildAsync(options, CancellationToken.None))
        {
            await app.StartAsync();
            await app.StopAsync();
        }
        var printed = console.ToString();
        var writeKey = printed.Split("write key (ingestion, Basic-auth user name): ")[1].Split('\n')[0].Trim();
        var adminKey = printed.Split("admin key (management API, Bearer token):")[1].Split('\n')[0].Trim();
        Assert.StartsWith("wk_", writeKey, StringComparison.Ordinal);
        Assert.StartsWith("ak_", adminKey, StringComparison.Ordinal);

        foreach (var file in Directory.GetFiles(data.Path))
        {
            var bytes = await File.ReadAllTextAsync(file);
            Assert.DoesNotContain(writeKey, bytes, StringComparison.Ordinal);
            Assert.DoesNotContain(adminKey, bytes, StringComparison.Ordinal);
        }

        var second = new StringWriter();
        await using (var app = await ChudaApp.BuildAsync(options with { Console = second }, CancellationToken.None))
        {
            await app.StartAsync();
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            client.DefaultRequestHeaders.Authorization = ChudaServer.Basic(writeKey);
            var response = await client.PostAsync("/v1/track", ChudaServer.Json("""{"userId":"x","event":"E"}"""));
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            await app.StopAsync();
        }
        Assert.DoesNotContain("wk_", second.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_engine_options_fail_at_start()
    {
        using var data = new TempDirectory();
        var options = new ServeOptions { DataDirectory = data.Path, Engine = new EngineOptions { MaxBatchSize = 0 }, Console = TextWriter.Null };
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ChudaApp.BuildAsync(options, CancellationToken.None));
    }

    [Fact]
    public async Task Help_lists_the_commands()
    {
        var original = Console.Out;
        var captured = new StringWriter();
        Console.SetOut(captured);
        try
        {
            Assert.Equal(0, await Cli.Cli.RunAsync(["--help"]));
        }
        finally
        {
            Console.SetOut(original);
        }
        Assert.Contains("chuda serve", captured.ToString(), StringComparison.Ordinal);
        Assert.Contains("chuda import", captured.ToString(), StringComparison.Ordinal);
    }
}
