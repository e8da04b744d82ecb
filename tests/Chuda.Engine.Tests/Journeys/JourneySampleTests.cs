using Chuda.Domain.Journeys;
using Chuda.Testing;
using static Chuda.Engine.Tests.Journeys.JourneyTestKit;

namespace Chuda.Engine.Tests.Journeys;

/// <summary>Every sample under samples/journeys, run through the real engine on SQLite in virtual time.</summary>
public sealed class JourneySampleTests
{
    [Fact]
    public async Task Every_sample_parses_and_passes_the_publish_checks()
    {
        foreach (var file in Directory.GetFiles(Repository.File("samples/journeys"), "*.json"))
        {
            var parsed = JourneyParser.Parse(File.ReadAllText(file));
            Assert.True(parsed.IsValid, Path.GetFileName(file) + ": " + string.Join("; ", parsed.Errors));
            Assert.Empty(JourneyValidator.Validate(parsed.Definition!));
        }
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Abandoned_cart_push_at_30_minutes_sms_at_24_hours_exit_on_the_same_cart_order()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("abandoned-cart", Sample("abandoned-cart"));

        await h.SendAsync(Track("u1", "Product Added", """{"cart_id":"c1","sku":"A"}"""));
        await h.SendAsync(Track("u2", "Product Added", """{"cart_id":"c2","sku":"B"}"""));
        await h.SendAsync(Track("u3", "Product Added", """{"sku":"no cart"}""")); // filtered by the trigger
        Assert.Empty(await h.SendsAsync());

        await h.RunUntilAsync(T0 + TimeSpan.FromMinutes(30) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(await h.SendsAsync());
        await h.RunUntilAsync(T0 + TimeSpan.FromMinutes(30));
        var pushes = await h.SendsAsync();
        Assert.Equal(2, pushes.Count);
        Assert.All(pushes, s => Assert.Equal("cart-reminder", s.Template));
        Assert.All(pushes, s => Assert.Equal(T0 + TimeSpan.FromMinutes(30), s.ScheduledFor));
        Assert.Contains("\"cart_id\":\"c1\"", pushes.Single(p => p.ProfileId == pushes.Min(x => x.ProfileId)).ContextJson);

        // u1 orders another cart: stays. u2 orders its cart: leaves (and converts).
        h.Time.Advance(TimeSpan.FromHours(1));
        await h.SendAsync(Track("u1", "Order Completed", """{"cart_id":"other"}"""));
        await h.SendAsync(Track("u2", "Order Completed", """{"cart_id":"c2"}"""));

        await h.RunUntilAsync(T0 + TimeSpan.FromHours(48));
        var u1 = await h.SendsAsync("u1");
        Assert.Equal(["cart-reminder", "cart-coupon"], u1.Templates());
        Assert.Equal(T0 + TimeSpan.FromHours(24), u1[1].ScheduledFor);
        Assert.Equal("""["sms","email"]""", u1[1].ChannelsJson);
        Assert.Equal(["cart-reminder"], (await h.SendsAsync("u2")).Templates());

        var stats = await h.JourneyService.StatsAsync(h.Workspace.Id, "abandoned-cart", CancellationToken.None);
        Assert.True(stats.Entered == 2, System.Text.Json.JsonSerializer.Serialize(stats));
        Assert.Equal(1, stats.Converted);
        Assert.Equal(0, stats.Active);
        var u2Instance = Assert.Single(await h.Store.GetProfileJourneyInstancesAsync(h.Workspace.Id, await h.ProfileIdAsync("u2"), 10, CancellationToken.None));
        Assert.Equal(InstanceStatus.Converted, u2Instance.Status);
        Assert.Equal("wait-24h", u2Instance.StepId);
    }

    [Fact]
    public async Task B2b_lead_creates_a_task_for_the_owner_due_in_5_minutes_else_for_the_queue()
    {
        using var dir = new TempDirectory();
        await using var h = await StartAsync(dir);
        await h.PublishJourneyAsync("b2b-lead", Sample("b2b-lead-follow-up"));
        await h.SendAsync(Identify("lead-1", """{"owner":"alice@sales"}"""));
        await h.SendAsync(Track("lead-1", "Form Submitted", """{"form":"contact-sales"}"""));
        await h.SendAsync(Track("lead-2", "Form Submitted", """{"form":"contact-sales"}"""));
        await h.SendAsync(Track("lead-3", "Form Submitted", """{"form":"newsletter"}"""));

        var tasks = await h.Store.GetTasksAsync(h.Workspace.Id, null, null, null, null, 0, 100, CancellationToken.None);
        Assert.Equal(2, tasks.Count);
        var alice = Assert.Single(tasks, t => t.Assignee == "alice@sales");
        Assert.False(alice.FromQueue);
        Assert.Equal(T0 + TimeSpan.FromMinutes(5), alice.DueAt);
        Assert.True(Assert.Single(tasks, t => t.Assignee == "inbound-sales").FromQueue);
        Assert.Equal(2, (await h.SendsAsync()).Count);
    }
}
