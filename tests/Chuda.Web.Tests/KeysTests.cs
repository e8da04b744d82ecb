using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Chuda.Web.Tests;

/// <summary>API keys in the console: a write key issued there works for ingestion until it is revoked there.</summary>
public sealed class KeysTests(ConsoleFixture fixture) : ConsoleTest(fixture)
{
    private async Task<HttpStatusCode> TrackWithAsync(string writeKey, string userId)
    {
        using var client = new HttpClient { BaseAddress = Server.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        using var body = new StringContent($$"""{"userId":"{{userId}}","event":"Key Tested"}""", Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/v1/track", body);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_write_key_issued_in_the_console_sends_events_until_it_is_revoked_there()
    {
        await SignInAsync("/delivery?tab=settings");
        var panel = Page.GetByTestId("keys-panel");
        await panel.WaitForAsync();
        // The session's own key is marked and cannot be revoked from here.
        var mine = panel.GetByTestId("key-row").Filter(new() { Has = Page.GetByTestId("key-this-session") });
        await Assertions.Expect(mine).ToHaveCountAsync(1);
        await Assertions.Expect(mine.GetByTestId("key-revoke")).ToHaveCountAsync(0);
        var before = await panel.GetByTestId("key-row").CountAsync();

        await Page.GetByTestId("key-issue-write").ClickAsync();
        var secret = (await Page.GetByTestId("key-secret").InnerTextAsync()).Trim();
        Assert.StartsWith("wk_", secret, StringComparison.Ordinal);
        var keyId = await Page.GetByTestId("key-issued-id").GetAttributeAsync("data-key-id");
        Assert.Matches("^key_[0-9a-f]{12}$", keyId);
        await Assertions.Expect(Page.GetByTestId("key-issued")).ToContainTextAsync("will not be shown again");
        await ShotAsync("60-keys-issued");
        await Page.GetByTestId("key-issued-close").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("key-secret")).ToHaveCountAsync(0);
        await Assertions.Expect(panel.GetByTestId("key-row")).ToHaveCountAsync(before + 1);
        Assert.DoesNotContain(secret, await Page.ContentAsync(), StringComparison.Ordinal); // shown once, and only in the dialog

        Assert.Equal(HttpStatusCode.OK, await TrackWithAsync(secret, "key-user"));

        // Revoke it, with confirmation.
        var row = panel.Locator($"[data-testid=key-row][data-key-id={keyId}]");
        await Assertions.Expect(row.GetByTestId("key-status")).ToContainTextAsync("Active");
        await row.GetByTestId("key-revoke").ClickAsync();
        await Page.GetByTestId("key-revoke-confirm").ClickAsync();
        await Assertions.Expect(row.GetByTestId("key-status")).ToContainTextAsync("Revoked");
        await Assertions.Expect(row.GetByTestId("key-revoke")).ToHaveCountAsync(0);
        await ShotAsync("60-keys");

        Assert.Equal(HttpStatusCode.Unauthorized, await TrackWithAsync(secret, "key-user"));
        Assert.Equal(HttpStatusCode.OK, await TrackWithAsync(ConsoleServer.WriteKey, "key-user")); // the other write key still works

        var audit = await Server.GetJsonAsync("/api/v1/audit");
        Assert.Contains(audit.GetProperty("entries").EnumerateArray(), e => e.GetProperty("action").GetString() == "key.revoked");
    }
}
