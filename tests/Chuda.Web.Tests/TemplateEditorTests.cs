namespace Chuda.Web.Tests;

/// <summary>The template editor and its live preview against a profile, in a browser.</summary>
public sealed class TemplateEditorTests(ConsoleFixture fixture) : ConsoleTest(fixture)
{
    [Fact]
    public async Task An_SMS_template_is_written_saved_and_previewed_for_a_profile_with_its_segment_count()
    {
        await Server.IdentifyAsync("tpl-user", new { phone = "+8613800138000", first_name = "Wei" });
        await EventuallyAsync(async () => (await Server.GetJsonAsync("/api/v1/profiles/tpl-user")).ValueKind == System.Text.Json.JsonValueKind.Object,
            "the profile was ingested");

        await SignInAsync("/templates");
        await Page.GetByTestId("new-template").ClickAsync();
        await Page.GetByTestId("new-template-id").FillAsync("otp");
        await Page.GetByTestId("new-template-create").ClickAsync();
        await Page.WaitForURLAsync("**/templates/otp");
        await Page.GetByTestId("template-add-channel-sms").ClickAsync();
        await Page.GetByTestId("template-field-sms-text").FillAsync("Hi {{profile.first_name}}, your code is {{event.code}}");
        await Page.GetByTestId("template-save").ClickAsync();

        await Page.GetByTestId("preview-user").FillAsync("tpl-user");
        await Page.GetByTestId("preview-event").FillAsync("""{"code":"4719"}""");
        await Assertions.Expect(Page.GetByTestId("preview-output")).ToContainTextAsync("Hi Wei, your code is 4719", new() { Timeout = 15_000 });
        await Assertions.Expect(Page.GetByTestId("sms-segments")).ToHaveTextAsync("1");
        await Assertions.Expect(Page.GetByTestId("sms-encoding")).ToContainTextAsync("GSM");
        await ShotAsync("40-template-preview");

        // Chinese text switches the message to UCS-2, and a long one needs several segments.
        await Page.GetByTestId("template-field-sms-text").FillAsync(string.Concat(Enumerable.Repeat("您好{{profile.first_name}}，验证码{{event.code}}。", 8)));
        await Page.GetByTestId("template-save").ClickAsync();
        await Assertions.Expect(Page.GetByTestId("sms-encoding")).ToContainTextAsync("UCS-2", new() { Timeout = 15_000 });
        await Assertions.Expect(Page.GetByTestId("sms-segments")).Not.ToHaveTextAsync("1");
    }
}
