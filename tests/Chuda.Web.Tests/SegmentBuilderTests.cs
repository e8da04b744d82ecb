namespace Chuda.Web.Tests;

/// <summary>The segment rule builder with its live count, and the profile pages, in a browser.</summary>
public sealed class SegmentBuilderTests(ConsoleFixture fixture) : ConsoleTest(fixture)
{
    [Fact]
    public async Task A_segment_built_in_the_rule_builder_shows_its_live_count_and_is_saved()
    {
        for (var i = 0; i < 5; i++)
            await Server.IdentifyAsync($"seg-user-{i}", new { email = $"seg{i}@example.com", cohort = i < 3 ? "spring" : "autumn" });
        await EventuallyAsync(async () => (await Server.GetJsonAsync("/api/v1/profiles/seg-user-4")).ValueKind == System.Text.Json.JsonValueKind.Object,
            "the profiles were ingested");

        await SignInAsync("/segments");
        await Page.GetByTestId("new-segment").ClickAsync();
        await Page.GetByTestId("segment-name").FillAsync("Spring cohort");
        await Page.GetByTestId("rule-add-condition").ClickAsync();
        var condition = Page.GetByTestId("rule-cond").First;
        await condition.GetByTestId("cond-trait").FillAsync("cohort");
        await condition.GetByTestId("cond-value").FillAsync("spring");
        await Assertions.Expect(Page.GetByTestId("segment-count")).ToHaveTextAsync("3", new() { Timeout = 15_000 });
        await Assertions.Expect(Page.GetByTestId("segment-sample")).ToContainTextAsync("seg-user-");
        await ShotAsync("20-segment-builder");

        // Unsaved edits are not lost to a stray click on the sidebar: the console asks, and "cancel" keeps the page.
        var asked = new List<string>();
        void Dismiss(object? sender, IDialog dialog)
        {
            asked.Add(dialog.Message);
            _ = dialog.DismissAsync();
        }
        Page.Dialog += Dismiss;
        await Page.GetByTestId("nav-journeys").ClickAsync();
        Page.Dialog -= Dismiss;
        Assert.Single(asked);
        Assert.EndsWith("/segments/new", Page.Url, StringComparison.Ordinal);
        await Assertions.Expect(Page.GetByTestId("segment-name")).ToHaveValueAsync("Spring cohort");

        await Page.GetByTestId("segment-save").ClickAsync();
        await Page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/segments/(?!new$)[a-z0-9_-]+$"));
        var id = Page.Url.Split('/')[^1];
        await EventuallyAsync(async () => (await Server.GetJsonAsync($"/api/v1/segments/{id}/count")).GetProperty("count").GetInt32() == 3,
            "the saved segment has the three spring profiles");

        await Page.GetByTestId("nav-segments").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("segment-row").Filter(new LocatorFilterOptions { HasText = "Spring cohort" })).ToBeVisibleAsync();
        await ShotAsync("21-segments-list");
    }

    [Fact]
    public async Task A_profile_is_found_by_email_prefix_and_its_page_shows_traits_and_events()
    {
        await Server.IdentifyAsync("find-me", new { email = "Find.Me@Example.com", first_name = "Mei", last_name = "Lin", plan = "pro" });
        await Server.TrackAsync("find-me", "Product Viewed", new { sku = "SKU-42" });
        await EventuallyAsync(async () =>
        {
            var events = await Server.GetJsonAsync("/api/v1/profiles/find-me/events");
            return events.GetProperty("events").GetArrayLength() >= 1;
        }, "the events were ingested");

        await SignInAsync("/profiles");
        await Page.GetByTestId("profile-search").FillAsync("find.me@");
        var row = Page.GetByTestId("profile-row").Filter(new LocatorFilterOptions { HasText = "find-me" });
        await row.ClickAsync();
        await Assertions.Expect(Page.GetByTestId("profile-header")).ToContainTextAsync("Mei Lin");
        await Assertions.Expect(Page.GetByTestId("profile-traits")).ToContainTextAsync("pro");
        await ShotAsync("30-profile");
        await Page.GetByTestId("tab-events").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("profile-event").First).ToContainTextAsync("Product Viewed");
    }
}
