using System.Text.RegularExpressions;

namespace Chuda.Web.Tests;

/// <summary>
/// The scenario in a browser: build the abandoned-cart journey on the canvas by dragging and connecting steps,
/// publish it, send events through the ingestion API, watch the per-step counts move and find the reminder in the sandbox.
/// </summary>
public sealed class JourneyCanvasTests(ConsoleFixture fixture) : ConsoleTest(fixture)
{
    [Fact]
    public async Task The_abandoned_cart_journey_is_built_by_drag_and_drop_published_and_runs()
    {
        await Server.SendJsonAsync(HttpMethod.Put, "/api/v1/templates/cart-reminder", """
            {"name":"Cart reminder","category":"marketing","defaultLocale":"en",
             "locales":{"en":{"email":{"subject":"Your cart is waiting, {{default profile.first_name \"friend\"}}",
                                       "text":"You left cart {{event.cart_id}} behind."}}}}
            """);
        // It is night somewhere whenever this runs; quiet hours would (rightly) defer the reminder to the morning.
        await Server.SendJsonAsync(HttpMethod.Put, "/api/v1/delivery/policy", """{"quietHours":null}""");
        foreach (var (user, name) in new[] { ("cart-ann", "Ann"), ("cart-bob", "Bob") })
            await Server.IdentifyAsync(user, new { email = $"{user}@example.com", first_name = name });

        await SignInAsync("/journeys");
        await Page.GetByTestId("new-journey").ClickAsync();
        await Page.GetByTestId("new-journey-name").FillAsync("Abandoned cart");
        await Page.GetByTestId("new-journey-id").FillAsync("abandoned-cart");
        await Page.GetByTestId("new-journey-trigger").SelectOptionAsync("event");
        await Page.GetByTestId("new-journey-trigger-value").FillAsync("Product Added");
        await Page.GetByTestId("new-journey-create").ClickAsync();
        await Page.GetByTestId("node-trigger").WaitForAsync();
        await Page.GetByTestId("node-end").WaitForAsync();

        // Drag "wait for event" from the palette onto the canvas, below the trigger.
        var canvas = Page.GetByTestId("journey-canvas");
        await Page.GetByTestId("palette-wait_for_event").DragToAsync(canvas, new LocatorDragToOptions { TargetPosition = new TargetPosition { X = 300, Y = 260 } });
        await Page.GetByTestId("node-wait-for-event-1").WaitForAsync();
        var panel = Page.GetByTestId("side-panel");
        await panel.GetByTestId("field-event").FillAsync("Order Completed");
        await panel.GetByTestId("field-match").FillAsync("cart_id");
        await panel.GetByTestId("field-timeout").FillAsync("PT30M");

        await Page.GetByTestId("palette-send").DragToAsync(canvas, new LocatorDragToOptions { TargetPosition = new TargetPosition { X = 520, Y = 420 } });
        await Page.GetByTestId("node-send-1").WaitForAsync();
        await Page.GetByTestId("side-panel").GetByTestId("field-template").SelectOptionAsync("cart-reminder");

        await ConnectAsync("handle-trigger-start", "handle-wait-for-event-1-in");
        await ConnectAsync("handle-wait-for-event-1-timeout", "handle-send-1-in");
        await ConnectAsync("handle-send-1-next", "handle-end-in");
        await Page.GetByTestId("journey-arrange").ClickAsync(); // the automatic top-down layout
        await ShotAsync("10-journey-canvas-built");

        await Page.GetByTestId("journey-save").ClickAsync();
        await Page.Locator("[data-testid=journey-dirty][data-dirty=false]").WaitForAsync();
        var saved = await Server.GetJsonAsync("/api/v1/journeys/abandoned-cart");
        var definition = saved.GetProperty("definition");
        Assert.Equal("wait-for-event-1", definition.GetProperty("start").GetString());
        var steps = definition.GetProperty("steps");
        Assert.Contains(steps.EnumerateArray(), s => s.GetProperty("id").GetString() == "wait-for-event-1"
            && s.GetProperty("on_timeout").GetString() == "send-1");
        Assert.Contains(steps.EnumerateArray(), s => s.GetProperty("id").GetString() == "send-1" && s.GetProperty("next").GetString() == "end");
        Assert.True(definition.GetProperty("layout").TryGetProperty("send-1", out _), "the canvas positions are saved with the definition");

        await Page.GetByTestId("journey-publish").ClickAsync();
        await Page.GetByTestId("publish-confirm").ClickAsync();
        await Page.Locator("[data-testid=journey-status][data-status=published]").WaitForAsync();

        // Two carts; Ann completes her order, Bob does not.
        await Server.TrackAsync("cart-ann", "Product Added", new { cart_id = "c-1" });
        await Server.TrackAsync("cart-bob", "Product Added", new { cart_id = "c-2" });
        await Assertions.Expect(Page.GetByTestId("step-count-wait-for-event-1")).ToHaveTextAsync("2", new() { Timeout = 20_000 });
        await Assertions.Expect(Page.GetByTestId("funnel-entered")).ToContainTextAsync("2");
        await Server.TrackAsync("cart-ann", "Order Completed", new { cart_id = "c-1" });

        // Half an hour later Bob's wait times out and the reminder is sent.
        Server.Clock.Advance(TimeSpan.FromMinutes(31));
        await Assertions.Expect(Page.GetByTestId("step-count-send-1")).ToHaveTextAsync("1", new() { Timeout = 20_000 });
        await ShotAsync("11-journey-canvas-running");

        await Page.GetByTestId("nav-delivery").ClickAsync();
        await Page.GetByTestId("tab-sandbox").ClickAsync();
        var message = Page.GetByTestId("sandbox-message").Filter(new LocatorFilterOptions { HasText = "Your cart is waiting, Bob" });
        await Assertions.Expect(message).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await Assertions.Expect(Page.GetByTestId("sandbox-message").Filter(new LocatorFilterOptions { HasTextRegex = new Regex("Ann") })).ToHaveCountAsync(0);
        await ShotAsync("12-sandbox-outbox");
    }

    /// <summary>Drags from a source handle to a target handle in small steps (React Flow swallows the first mouse step).</summary>
    private async Task ConnectAsync(string from, string to)
    {
        var source = await Page.GetByTestId(from).BoundingBoxAsync() ?? throw new InvalidOperationException(from + " is not visible");
        var target = await Page.GetByTestId(to).BoundingBoxAsync() ?? throw new InvalidOperationException(to + " is not visible");
        await Page.Mouse.MoveAsync(source.X + source.Width / 2, source.Y + source.Height / 2);
        await Page.Mouse.DownAsync();
        await Page.Mouse.MoveAsync(source.X + source.Width / 2 + 5, source.Y + source.Height / 2 + 5, new MouseMoveOptions { Steps = 2 });
        await Page.Mouse.MoveAsync(target.X + target.Width / 2, target.Y + target.Height / 2, new MouseMoveOptions { Steps = 10 });
        await Page.Mouse.UpAsync();
    }
}
