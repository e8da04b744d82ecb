namespace Chuda.Web.Tests;

/// <summary>Sign-in, the session cookie, sign-out and the language switch, in a real browser.</summary>
public sealed class SessionTests(ConsoleFixture fixture) : ConsoleTest(fixture)
{
    [Fact]
    public async Task A_wrong_key_is_refused_in_words_and_the_right_one_opens_the_dashboard()
    {
        await Page.GotoAsync("/");
        await Page.GetByTestId("admin-key").FillAsync("ak_not_a_real_key");
        await Page.GetByTestId("sign-in").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("error")).ToContainTextAsync("key");
        await ShotAsync("01-sign-in-refused");

        await Page.GetByTestId("admin-key").FillAsync(ConsoleServer.AdminKey);
        await Page.GetByTestId("sign-in").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("workspace")).ToHaveTextAsync("default");
        await ShotAsync("02-dashboard");
    }

    [Fact]
    public async Task The_session_cookie_is_HttpOnly_SameSite_and_survives_a_reload_until_sign_out()
    {
        await SignInAsync();
        var cookie = Assert.Single(await Context.CookiesAsync(), c => c.Name == "chuda_session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain("chuda_session", await Page.EvaluateAsync<string>("document.cookie"), StringComparison.Ordinal);
        Assert.DoesNotContain(ConsoleServer.AdminKey, await Page.EvaluateAsync<string>("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)"), StringComparison.Ordinal);

        await Page.ReloadAsync();
        await Page.GetByTestId("nav-dashboard").WaitForAsync();

        await Page.GetByTestId("sign-out").ClickAsync();
        await Page.GetByTestId("admin-key").WaitForAsync();
        await Page.ReloadAsync();
        await Page.GetByTestId("admin-key").WaitForAsync();
        // The old cookie value is dead on the server too, not merely forgotten by the browser.
        await Context.AddCookiesAsync([new Cookie { Name = cookie.Name, Value = cookie.Value, Domain = cookie.Domain, Path = cookie.Path }]);
        var status = await Page.EvaluateAsync<int>("fetch('/api/v1/session').then(r => r.status)");
        Assert.Equal(401, status);
    }

    [Fact]
    public async Task A_deep_link_opens_its_page_after_sign_in_and_the_console_speaks_Chinese_when_asked()
    {
        await SignInAsync("/journeys");
        await Assertions.Expect(Page.GetByTestId("nav-journeys")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("active"));

        await Page.GetByTestId("lang-zh").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("nav-journeys")).ToContainTextAsync("旅程");
        await Page.ReloadAsync();
        await Assertions.Expect(Page.GetByTestId("nav-segments")).ToContainTextAsync("分群");
        await ShotAsync("03-journeys-zh");
        await Page.GetByTestId("lang-en").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("nav-segments")).ToContainTextAsync("Segments");
    }
}
