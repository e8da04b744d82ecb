using Chuda.Channels.Providers;
using Chuda.Channels.WeChat;
using Chuda.Testing;

namespace Chuda.Channels.Tests.WeChat;

public sealed class AccessTokenCacheTests
{
    [Fact]
    public async Task Concurrent_callers_share_one_failing_fetch_and_the_next_call_tries_again()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var cache = new AccessTokenCache(async _ =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            return AccessTokenFetch.Failed(new ProviderResult(ProviderOutcome.TransientFailure, "40164 invalid ip", ProviderDown: true));
        }, TimeProvider.System);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var waiting = Enumerable.Range(0, 20).Select(_ => cache.GetAsync(deadline.Token)).ToList();
        gate.SetResult();
        var results = await Task.WhenAll(waiting);

        Assert.All(results, r => Assert.True(r.Failure is { ProviderDown: true }));
        Assert.Equal(1, Volatile.Read(ref calls));
        Assert.Equal(1, cache.Fetches);
        // A failure is not cached: the next send asks again.
        Assert.NotNull((await cache.GetAsync(deadline.Token)).Failure);
        Assert.Equal(2, cache.Fetches);
    }

    [Fact]
    public async Task A_caller_that_gives_up_does_not_cancel_the_shared_fetch()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = new AccessTokenCache(async _ =>
        {
            await gate.Task;
            return new AccessTokenFetch("T1", TimeSpan.FromHours(2), null);
        }, new FakeTimeProvider());
        using var impatient = new CancellationTokenSource();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var first = cache.GetAsync(impatient.Token);
        var second = cache.GetAsync(deadline.Token);
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        gate.SetResult();

        Assert.Equal("T1", (await second).Token);
        Assert.Equal(1, cache.Fetches);
    }

    [Fact]
    public async Task Invalidating_an_old_token_keeps_the_new_one()
    {
        var n = 0;
        var cache = new AccessTokenCache(_ => Task.FromResult(new AccessTokenFetch("T" + Interlocked.Increment(ref n), TimeSpan.FromHours(2), null)), new FakeTimeProvider());
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        Assert.Equal("T1", (await cache.GetAsync(deadline.Token)).Token);
        cache.Invalidate("T1");
        Assert.Equal("T2", (await cache.GetAsync(deadline.Token)).Token);
        cache.Invalidate("T1"); // a late report about the old token
        Assert.Equal("T2", (await cache.GetAsync(deadline.Token)).Token);
        Assert.Equal(2, cache.Fetches);
    }

    [Theory]
    [InlineData(7200, 6900)]
    [InlineData(300, 240)]
    [InlineData(1000, 800)]
    public void The_margin_is_a_fifth_of_the_lifetime_at_most_five_minutes(int expiresIn, int usable)
    {
        Assert.Equal(TimeSpan.FromSeconds(usable), AccessTokenCache.UsableFor(TimeSpan.FromSeconds(expiresIn)));
    }
}
