namespace Chuda.Server.Demo;

/// <summary>
/// <c>chuda serve --demo</c>: what the demo workspace holds and how fast its simulated shoppers act. The journeys' waits
/// are accelerated (minutes instead of hours) so that a newcomer sees people move through them while watching.
/// </summary>
public sealed record DemoOptions
{
    /// <summary>Synthetic shoppers with history (<c>--demo-profiles</c>, env <c>CHUDA_DEMO_PROFILES</c>).</summary>
    public int Profiles { get; init; } = 3000;

    /// <summary>The random seed: the same seed gives the same people, products and history shape.</summary>
    public int Seed { get; init; } = 20261122;

    /// <summary>How far back the generated history reaches.</summary>
    public TimeSpan History { get; init; } = TimeSpan.FromDays(14);

    /// <summary>How often the activity generator lets a few shoppers act.</summary>
    public TimeSpan ActivityInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Shoppers acting per tick (the rate is bounded by this and the interval).</summary>
    public int ActorsPerTick { get; init; } = 3;

    /// <summary>Abandoned cart: how long the journey waits for the order before reminding (30 minutes in a real shop).</summary>
    public TimeSpan CartWait { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Welcome series: the pause between the welcome and the first-order offer (days in a real shop).</summary>
    public TimeSpan WelcomeWait { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>VIP win-back: how long the journey waits for an order after the coupon before handing over to a person.</summary>
    public TimeSpan WinBackWait { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Off: seed only (tests of the seeding alone).</summary>
    public bool Activity { get; init; } = true;

    /// <summary>Throws on values the demo cannot run with.</summary>
    public void Validate()
    {
        if (Profiles is < 10 or > 200_000) throw new ArgumentOutOfRangeException(nameof(Profiles), Profiles, "The demo takes 10 to 200,000 profiles.");
        if (History < TimeSpan.FromDays(8) || History > TimeSpan.FromDays(90))
            throw new ArgumentOutOfRangeException(nameof(History), History, "The demo history is 8 to 90 days.");
        if (ActivityInterval < TimeSpan.FromMilliseconds(10)) throw new ArgumentOutOfRangeException(nameof(ActivityInterval), ActivityInterval, "At least 10 ms.");
        if (ActorsPerTick is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(ActorsPerTick), ActorsPerTick, "1 to 100 shoppers per tick.");
        foreach (var (name, wait) in new[] { (nameof(CartWait), CartWait), (nameof(WelcomeWait), WelcomeWait), (nameof(WinBackWait), WinBackWait) })
        {
            if (wait < TimeSpan.FromSeconds(1) || wait > TimeSpan.FromDays(30) || wait.Ticks % TimeSpan.TicksPerSecond != 0)
                throw new ArgumentOutOfRangeException(name, wait, "A demo wait is whole seconds, from 1 second to 30 days.");
        }
    }
}
