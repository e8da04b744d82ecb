using System.Globalization;
using Chuda.Channels.Providers;
using Chuda.Channels.Sms.Smpp;
using Chuda.Domain.Templates;
using Xunit.Abstractions;

namespace Chuda.Channels.Tests.Sms;

/// <summary>
/// Throughput of <see cref="SmppBareLoop"/> (the ceiling) and of <see cref="SmppProvider"/> against the same scripted SMSC,
/// receipts off, windows 10 and 100. Runs 2,000 messages per case by default and checks that the SMSC counted every one;
/// CHUDA_SMPP_BENCH_MESSAGES=20000 makes it the measurement (rates are printed with --logger "console;verbosity=detailed").
/// </summary>
public sealed class SmppThroughputTests(ITestOutputHelper output)
{
    [Theory(Timeout = 600_000)]
    [InlineData(10)]
    [InlineData(100)]
    public async Task Bare_loop_and_provider_send_every_message(int window)
    {
        var count = int.TryParse(Environment.GetEnvironmentVariable("CHUDA_SMPP_BENCH_MESSAGES"), CultureInfo.InvariantCulture, out var n) ? n : 2000;
        await using var server = await ScriptSmppServer.StartAsync(new { quiet = true });

        // Warms up both ends (the JIT here, V8 in the SMSC) before anything is measured.
        var warmUp = await SmppBareLoop.RunAsync("127.0.0.1", server.Port, ScriptSmppServer.SystemId, ScriptSmppServer.Password, 1000, window,
            CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(1000, warmUp.Accepted);
        await server.WaitForAsync(s => s.Of("close").Count == 1, "the warm-up session to close");

        var bare = await SmppBareLoop.RunAsync("127.0.0.1", server.Port, ScriptSmppServer.SystemId, ScriptSmppServer.Password, count, window,
            CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(4));
        Assert.Equal(count, bare.Accepted);
        await server.WaitForAsync(s => s.Of("close").Count == 2, "the bare loop's session to close");
        Assert.Equal(count, (int)server.Of("close")[1]["submits"]!);

        var provider = new SmppProviderFactory(TimeProvider.System).Create("bench", "sms", server.Config(new { window, registeredDelivery = false }),
            NullReportSink.Instance);
        var content = new SmsContent("Your code is 123456", SmsSegments.Gsm7, 1, 19);
        var accepted = 0;
        // One warm-up send binds the session before the clock starts, as the bare loop's bind is outside its clock too.
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message(content, -1), CancellationToken.None)).Outcome);
        var started = TimeProvider.System.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = window }, async (i, ct) =>
        {
            var result = await provider.SendAsync(Message(content, i), ct);
            if (result.Outcome == ProviderOutcome.Accepted) Interlocked.Increment(ref accepted);
        }).WaitAsync(TimeSpan.FromMinutes(4));
        var elapsed = TimeProvider.System.GetElapsedTime(started);
        await provider.DisposeAsync();

        Assert.Equal(count, accepted);
        await server.WaitForAsync(s => s.Of("close").Count == 3, "the provider's session to close");
        Assert.Equal(count + 1, (int)server.Of("close")[2]["submits"]!);
        output.WriteLine($"window {window}, {count} messages: bare loop {bare.MessagesPerSecond:F0}/s, provider {count / elapsed.TotalSeconds:F0}/s " +
                         $"({window} concurrent senders)");
    }

    private static ProviderMessage Message(SmsContent content, int i) =>
        new($"m_{i}", $"k_{i}", "sms", "+8613800138000", content, "transactional", new Dictionary<string, string>());
}
