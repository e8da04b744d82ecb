namespace Chuda.Web.Tests;

/// <summary>
/// Every page opens, in both languages, on an empty workspace and after some activity, without a script error or an error
/// box; a screenshot of each is kept for a human to look at.
/// </summary>
public sealed class PagesTests(ConsoleFixture fixture) : ConsoleTest(fixture)
{
    private static readonly string[] Paths =
    [
        "/", "/profiles", "/segments", "/segments/new", "/journeys", "/templates",
        "/delivery?tab=providers", "/delivery?tab=policy", "/delivery?tab=sandbox", "/delivery?tab=suppressions", "/delivery?tab=settings",
        "/tasks", "/audit",
    ];

    [Theory]
    [InlineData("en")]
    [InlineData("zh")]
    public async Task Every_page_opens_without_an_error(string lang)
    {
        await SignInAsync();
        await Page.GetByTestId("lang-" + lang).ClickAsync();
        foreach (var path in Paths)
        {
            await Page.GotoAsync(path);
            await Page.Locator("main h1").First.WaitForAsync();
            await Page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            var errors = Page.GetByTestId("error");
            Assert.True(await errors.CountAsync() == 0, $"{path} shows an error: {(await errors.CountAsync() > 0 ? await errors.First.InnerTextAsync() : "")}");
            var name = path == "/" ? "dashboard" : path.Trim('/').Replace('/', '-').Replace("?tab=", "-", StringComparison.Ordinal);
            await ShotAsync($"50-{lang}-{name}");
        }
    }
}
