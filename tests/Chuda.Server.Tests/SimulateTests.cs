using Chuda.Server.Cli;
using Chuda.Testing;

namespace Chuda.Server.Tests;

/// <summary><c>chuda simulate</c>: the engine in virtual time over an events file; prints what would happen, sends nothing.</summary>
public sealed class SimulateTests
{
    private static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        var (_, options) = Cli.Cli.Parse(["simulate", .. args]);
        using var output = new StringWriter();
        var code = await SimulateCommand.RunAsync(options, output, CancellationToken.None);
        return (code, output.ToString());
    }

    [Fact]
    public async Task Abandoned_cart_dry_run_prints_each_profiles_path_and_the_sends_it_would_make()
    {
        using var dir = new TempDirectory();
        var events = Path.Combine(dir.Path, "events.jsonl");
        await File.WriteAllLinesAsync(events,
        [
            """{"type":"track","userId":"amy","event":"Product Added","properties":{"cart_id":"c1"},"timestamp":"2026-03-02T09:00:00Z"}""",
            """{"type":"track","userId":"bob","event":"Product Added","properties":{"cart_id":"c2"},"timestamp":"2026-03-02T09:10:00Z"}""",
            """{"type":"track","userId":"bob","event":"Order Completed","properties":{"cart_id":"c2"},"timestamp":"2026-03-02T12:00:00Z"}""",
            """{"type":"track","userId":"cat","event":"Page Viewed","timestamp":"2026-03-02T09:00:00Z"}""",
        ]);
        var (code, output) = await RunAsync(Repository.File("samples/journeys/abandoned-cart.json"), "--events", events);
        Assert.True(code == 0, output);
        Assert.Contains("amy:", output, StringComparison.Ordinal);
        Assert.Contains("2026-03-02T09:30:00.000Z    would send 'cart-reminder' via push", output, StringComparison.Ordinal);
        Assert.Contains("2026-03-03T09:00:00.000Z    would send 'cart-coupon' via sms > email", output, StringComparison.Ordinal);
        Assert.Contains("converted at 2026-03-02T12:00:00.000Z", output, StringComparison.Ordinal);
        Assert.DoesNotContain("cat:", output, StringComparison.Ordinal);
        Assert.Contains("2 profile(s) entered; 3 send(s), 0 task(s), 0 webhook call(s) would be made", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_journey_is_reported_with_the_step_and_exit_code_1()
    {
        using var dir = new TempDirectory();
        var journey = Path.Combine(dir.Path, "j.json");
        await File.WriteAllTextAsync(journey, """{"name":"Bad","trigger":{"type":"event","event":"Go"},"steps":[{"id":"a","type":"send","template":"t","channel":"email","next":"nowhere"}]}""");
        var events = Path.Combine(dir.Path, "e.jsonl");
        await File.WriteAllTextAsync(events, """{"type":"track","userId":"x","event":"Go"}""");
        var (code, output) = await RunAsync(journey, "--events", events);
        Assert.Equal(1, code);
        Assert.Contains("step 'a'", output, StringComparison.Ordinal);
        Assert.Contains("dangling_edge", output, StringComparison.Ordinal);
    }
}
