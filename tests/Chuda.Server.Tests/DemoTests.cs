using System.Diagnostics;
using Chuda.Server.Demo;
using Chuda.Storage;
using Chuda.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Chuda.Server.Tests;

/// <summary><c>chuda serve --demo</c>: seeding through the real engine, once; the accelerated activity moving the journeys.</summary>
public sealed class DemoTests
{
    private static readonly DemoOptions Small = new()
    {
        Profiles = 100,
        ActivityInterval = TimeSpan.FromMilliseconds(50),
        ActorsPerTick = 6,
        CartWait = TimeSpan.FromSeconds(2),
        WelcomeWait = TimeSpan.FromSeconds(2),
        WinBackWait = TimeSpan.FromSeconds(5),
    };

    private static async Task<DemoStart> StartedAsync(ChudaServer server) =>
        await server.App.Services.GetRequiredService<DemoService>().Started.WaitAsync(TimeSpan.FromSeconds(60));

    [Fact]
    public async Task Seeds_shoppers_templates_segments_and_published_journeys_once()
    {
        using var dir = new TempDirectory();
        var console = new StringWriter();
        long profiles;
        await using (var server = await ChudaServer.StartAsync(null, dir.Path,
                         configure: o => o with { Demo = Small with { Activity = false }, Console = TextWriter.Synchronized(console) }))
        {
            var start = await StartedAsync(server);
            Assert.True(start.Seeded);
            Assert.Equal(100, start.Profiles);
            Assert.True(start.Events > 1000, $"{start.Events} events");
            Assert.Equal(5, start.Templates);
            Assert.Equal(7, start.Segments);
            Assert.Equal(4, start.Journeys);
            Assert.Contains($"Sign in at {server.Address.ToString().TrimEnd('/')}/", console.ToString(), StringComparison.Ordinal);

            profiles = await server.App.Services.GetRequiredService<IChudaStore>().CountProfilesAsync(start.WorkspaceId, CancellationToken.None);
            Assert.Equal(100, profiles);

            // A shopper as the console shows it: traits, zone, locale, e-mail and phone identities, history.
            var shopper = (await server.ProfileAsync(DemoShop.UserId(1)))!.Value;
            Assert.True(shopper.GetProperty("traits").GetProperty("lifetime_value").GetDecimal() >= 0);
            Assert.Contains(shopper.GetProperty("locale").GetString(), new[] { "zh-CN", "en", "en-GB", "en-US", "en-AU" });
            Assert.False(string.IsNullOrEmpty(shopper.GetProperty("timezone").GetString()));
            var kinds = shopper.GetProperty("identities").EnumerateArray().Select(i => i.GetProperty("type").GetString()).ToList();
            Assert.Contains("email", kinds);
            Assert.Contains("phone", kinds);
            Assert.NotEmpty(await server.EventsAsync(DemoShop.UserId(1)));

            // Segments are ready (backfilled) and the broad ones have members.
            foreach (var s in DemoContent.Segments)
            {
                var count = await server.GetJsonAsync($"/api/v1/segments/{s.Id}/count");
                Assert.Equal("ready", count.GetProperty("status").GetString());
                if (s.Id is "shanghai" or "app-users" or "vip" or "inactive-7d")
                    Assert.True(count.GetProperty("count").GetInt64() > 0, $"segment {s.Id} is empty");
            }

            var journeys = (await server.GetJsonAsync("/api/v1/journeys")).GetProperty("journeys").EnumerateArray().ToList();
            Assert.Equal(4, journeys.Count);
            Assert.All(journeys, j => Assert.Equal("published", j.GetProperty("status").GetString()));

            // Every template renders cleanly (strict preview) for a real shopper on every channel it has.
            foreach (var t in DemoContent.Templates)
            {
                var response = await server.PostAsync($"/api/v1/templates/{t.Id}/preview", """
                    {"userId": "u100001", "event": {"cart_id": "c-1", "product_name": "Smart watch", "cart_value": 1599,
                                                    "order_id": "o-1", "item_count": 1, "revenue": 1599}}
                    """, server.Admin);
                var preview = await ChudaServer.ReadJsonAsync(response);
                Assert.True(response.IsSuccessStatusCode, preview.ToString());
                foreach (var channel in preview.GetProperty("channels").EnumerateArray())
                    Assert.True(channel.GetProperty("ok").GetBoolean(), channel.ToString());
            }
        }

        // A second start finds the marker: nothing is seeded again.
        await using (var server = await ChudaServer.StartAsync(null, dir.Path, configure: o => o with { Demo = Small with { Activity = false } }))
        {
            var start = await StartedAsync(server);
            Assert.False(start.Seeded);
            Assert.Equal(profiles, await server.App.Services.GetRequiredService<IChudaStore>().CountProfilesAsync(start.WorkspaceId, CancellationToken.None));
            Assert.Equal(4, (await server.GetJsonAsync("/api/v1/journeys")).GetProperty("journeys").GetArrayLength());
            var templates = (await server.GetJsonAsync("/api/v1/templates")).EnumerateArray().ToList();
            Assert.Equal(5, templates.Count);
            Assert.All(templates, t => Assert.Equal(1, t.GetProperty("latestVersion").GetInt32()));
        }
    }

    [Fact]
    public async Task The_activity_moves_the_journeys_and_fills_the_sandbox()
    {
        await using var server = await ChudaServer.StartAsync(null, configure: o => o with { Demo = Small with { Profiles = 30 } });
        var start = await StartedAsync(server);
        Assert.True(start.Seeded);

        var clock = Stopwatch.StartNew();
        long cartEntered = 0, reminders = 0, confirmations = 0, welcomes = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            cartEntered = (await server.GetJsonAsync("/api/v1/journeys/abandoned-cart/stats")).GetProperty("entered").GetInt64();
            var sandbox = (await server.GetJsonAsync("/api/v1/sandbox?limit=500")).GetProperty("messages").EnumerateArray().ToList();
            reminders = sandbox.Count(m => m.GetProperty("template").GetString() == "cart-reminder");
            confirmations = sandbox.Count(m => m.GetProperty("template").GetString() == "order-confirmation");
            welcomes = sandbox.Count(m => m.GetProperty("template").GetString() == "welcome");
            if (cartEntered > 0 && reminders > 0 && confirmations > 0) break;
            await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System);
        }
        Assert.True(cartEntered > 0, "no one entered the abandoned-cart journey");
        Assert.True(confirmations > 0, "no order confirmation reached the sandbox");
        Assert.True(reminders > 0, $"no cart reminder reached the sandbox ({cartEntered} entered; {welcomes} welcome messages)");
        Assert.True(server.App.Services.GetRequiredService<DemoService>().ActivityEvents > 0);
    }

    [Fact]
    public async Task A_workspace_with_data_of_its_own_is_left_alone()
    {
        using var dir = new TempDirectory();
        await using (var server = await ChudaServer.StartAsync(null, dir.Path))
        {
            var response = await server.PostAsync("/v1/identify", """{"userId": "real-customer", "traits": {"email": "real@example.com"}}""");
            response.EnsureSuccessStatusCode();
        }
        await using (var server = await ChudaServer.StartAsync(null, dir.Path, configure: o => o with { Demo = Small }))
        {
            var error = await Assert.ThrowsAsync<DemoRefusedException>(() => StartedAsync(server));
            Assert.Contains("--data", error.Message, StringComparison.Ordinal);
            Assert.Empty((await server.GetJsonAsync("/api/v1/journeys")).GetProperty("journeys").EnumerateArray());
            Assert.Null(await server.ProfileAsync(DemoShop.UserId(1)));
        }
    }
}
