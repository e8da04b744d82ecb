using Chuda.Testing;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Chuda.Web.Tests;

/// <summary>A console server and a browser, shared by the tests of one class.</summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public ConsoleServer Server { get; } = new();
    public BrowserFixture Browser { get; } = new();

    public async Task InitializeAsync()
    {
        await Server.InitializeAsync();
        await Browser.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>
/// Each test gets a fresh browser context (no cookies) and page. Script errors on the page fail the test; screenshots go to
/// artifacts/screenshots/ to be looked at.
/// </summary>
public abstract class ConsoleTest(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>, IAsyncLifetime
{
    private readonly List<string> _errors = [];

    protected ConsoleServer Server => fixture.Server;
    protected IBrowserContext Context { get; private set; } = null!;
    protected IPage Page { get; private set; } = null!;

    public static string ScreenshotDirectory => Repository.File("artifacts/screenshots");

    public virtual async Task InitializeAsync()
    {
        Context = await fixture.Browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Server.Address.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = 1440, Height = 960 },
            Locale = "en-US",
        });
        Context.SetDefaultTimeout(15_000);
        Page = await Context.NewPageAsync();
        Page.PageError += (_, error) => _errors.Add("page error: " + error);
        // Answers like 401 before sign-in are logged by Chromium as "Failed to load resource"; those are expected, script errors are not.
        Page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal)) _errors.Add("console: " + message.Text);
        };
    }

    public virtual async Task DisposeAsync()
    {
        await Context.CloseAsync();
        Assert.True(_errors.Count == 0, "The page logged errors:\n" + string.Join('\n', _errors));
    }

    /// <summary>Signs in with the workspace admin key and waits for the dashboard shell.</summary>
    protected async Task SignInAsync(string path = "/")
    {
        await Page.GotoAsync(path);
        await Page.GetByTestId("admin-key").FillAsync(ConsoleServer.AdminKey);
        await Page.GetByTestId("sign-in").ClickAsync();
        await Page.GetByTestId("nav-dashboard").WaitForAsync();
    }

    protected async Task ShotAsync(string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    /// <summary>Polls until the condition holds (the console refreshes on its own timers), or fails with the message.</summary>
    protected static async Task EventuallyAsync(Func<Task<bool>> condition, string message, TimeSpan? within = null)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (long)((within ?? TimeSpan.FromSeconds(20)).TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (true)
        {
            if (await condition()) return;
            if (TimeProvider.System.GetTimestamp() > deadline) Assert.Fail(message);
            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System);
        }
    }
}
