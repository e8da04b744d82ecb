using System.Globalization;
using Chuda.Domain.Delivery;
using Chuda.Domain.Journeys;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Chuda.Domain.Tests.Delivery.DeliveryTestKit;

namespace Chuda.Domain.Tests.Delivery;

/// <summary>Property tests over <see cref="DeliveryPolicy.Decide"/> with random messages, recipients, settings, zones and instants.</summary>
public class DeliveryPropertyTests
{
    private static readonly string[] ChannelPool = [.. ChannelNames.All, "fax", "", "EMAIL", "carrier_pigeon"];

    private static readonly string?[] ZonePool =
    [
        "Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC", "America/Havana", "America/Santiago", "Australia/Lord_Howe",
        null, "", " ", "Mars/Base", "../../etc/passwd", "Europe/Berlin ", "europe/berlin", "\0", "Asia/Shanghai\n", new string('x', 200), "+08:00",
    ];

    private static readonly string[] CategoryPool = [Marketing, Transactional, "newsletter", "price_alerts"];

    private static readonly DateTimeOffset Base = Utc(2026, 1, 1);

    private static readonly DateTimeOffset[] Transitions =
        [Utc(2026, 3, 8, 7, 0), Utc(2026, 3, 29, 1, 0), Utc(2026, 10, 25, 1, 0), Utc(2026, 11, 1, 6, 0)];

    private static readonly Gen<DateTimeOffset> Instant = Gen.Frequency(
        (2, Gen.Choose(0, 366 * 24 * 60).Select(m => Base.AddMinutes(m))),
        (1, from t in Gen.Elements(Transitions) from m in Gen.Choose(-2 * 24 * 60, 2 * 24 * 60) select t.AddMinutes(m)));

    private static readonly Gen<string> Channel = Gen.Frequency((4, Gen.Elements(ChannelNames.All.ToArray())), (1, Gen.Elements(ChannelPool)));

    /// <summary>A list of at most <paramref name="max"/> items.</summary>
    private static Gen<List<T>> UpTo<T>(Gen<T> gen, int max) =>
        from n in Gen.Choose(0, max)
        from items in Gen.ArrayOf(gen, n)
        select items.ToList();

    /// <summary>Mostly nothing, sometimes a few of <paramref name="pool"/>.</summary>
    private static Gen<List<string>> Some(string[] pool) =>
        Gen.Frequency((3, Gen.Constant(new List<string>())), (1, Gen.SubListOf(pool).Select(l => l.ToList())));

    private static readonly Gen<TimeOnly> TimeOfDay = Gen.Choose(0, 24 * 4 - 1).Select(q => new TimeOnly(q / 4, q % 4 * 15));

    private static readonly Gen<QuietWindow?> Window =
        Gen.Frequency(
            (1, Gen.Constant<QuietWindow?>(null)),
            (4, from a in TimeOfDay from b in TimeOfDay select a == b ? null : (QuietWindow?)new QuietWindow(a, b)));

    private static readonly Gen<FrequencyCap> CapGen =
        from limit in Gen.Choose(0, 4)
        from period in Gen.Elements(CapPeriod.CalendarDay, CapPeriod.RollingDay, CapPeriod.RollingWeek)
        from channel in Gen.Frequency((2, Gen.Constant<string?>(null)), (1, Channel.Select(c => (string?)c)))
        from category in Gen.Frequency((2, Gen.Constant<string?>(null)), (1, Gen.Elements<string?>(Marketing, "newsletter")))
        select new FrequencyCap(limit, period, channel, category);

    private static readonly Gen<DeliverySettings> Settings =
        from quiet in Window
        from byChannel in UpTo(Gen.Zip(Channel, Window), 3)
        from caps in UpTo(CapGen, 3)
        from allowUsers in Gen.Elements<string[]>([], ["user-1"], ["other"])
        from allowTags in Gen.Elements<string[]>([], ["staff"])
        from optIn in Gen.Elements(true, false, false, false)
        from dedupHours in Gen.Choose(1, 72)
        from ignored in Gen.Choose(0, 4)
        from ignoredDays in Gen.Choose(1, 20)
        from order in UpTo(Channel, 6)
        select new DeliverySettings(
            quiet,
            byChannel.GroupBy(p => p.Item1).ToDictionary(g => g.Key, g => (QuietWindow?)g.First().Item2, StringComparer.Ordinal),
            caps,
            allowUsers,
            allowTags,
            optIn,
            TimeSpan.FromHours(dedupHours),
            CoolDownSettings.Default with { IgnoredInARow = ignored, IgnoredPeriod = TimeSpan.FromDays(ignoredDays) },
            order);

    internal sealed record Case(OutboundMessage Message, RecipientState Recipient, DeliverySettings Settings, string? WorkspaceZone, DateTimeOffset Now,
        DecideMode Mode)
    {
        public override string ToString() =>
            $"{Mode} at {Now:O} zone {Recipient.TimeZone ?? "-"}/{WorkspaceZone ?? "-"}: {Message.Category} [{string.Join(",", Message.Channels)}] " +
            $"index {Message.ChannelIndex} dedup {Message.DedupKey} digest {Message.DigestKey} expires {Message.ExpiresAt:O}; " +
            $"addresses [{string.Join(",", Recipient.Addresses.Keys)}] suppressed [{string.Join(",", Recipient.SuppressedAddresses.Keys)}] " +
            $"subs [{string.Join(",", Recipient.Subscriptions.Select(s => $"{s.Category}/{s.Channel}/{s.State}"))}] " +
            $"preferred [{string.Join(",", Recipient.PreferredChannels)}] ledger {Recipient.Ledger.Count}; settings {Settings.ToJsonSafe()}";
    }

    internal static readonly Gen<Case> Cases =
        from now in Instant
        from mode in Gen.Elements(DecideMode.Full, DecideMode.Full, DecideMode.DigestRelease, DecideMode.Fallback)
        from category in Gen.Elements(CategoryPool)
        from channels in UpTo(Channel, 5)
        from index in Gen.Choose(-1, 6)
        from dedupKey in Gen.Elements<string?>(null, null, "k1", "k2")
        from dedupWindow in Gen.Elements<TimeSpan?>(null, TimeSpan.FromHours(1), TimeSpan.FromDays(3))
        from digestKey in Gen.Elements<string?>(null, null, "daily")
        from expires in Gen.Frequency((3, Gen.Constant<int?>(null)), (1, Gen.Choose(-48, 48).Select(h => (int?)h)))
        from zone in Gen.Elements(ZonePool)
        from workspaceZone in Gen.Elements(ZonePool)
        from addressed in Gen.Frequency((1, Gen.SubListOf(ChannelPool).Select(l => l.ToList())), (2, Gen.Constant(ChannelPool.ToList())))
        from suppressedChannels in Some(ChannelPool)
        from subs in UpTo(
            from c in Gen.Elements(CategoryPool)
            from ch in Gen.Frequency((3, Channel), (1, Gen.Constant("*")))
            from st in Gen.Elements(SubscriptionState.Subscribed, SubscriptionState.Subscribed, SubscriptionState.Unsubscribed)
            select Sub(c, ch, st), 3)
        from coolDownHours in Gen.Frequency((3, Gen.Constant<int?>(null)), (1, Gen.Choose(-48, 48).Select(h => (int?)h)))
        from ledger in UpTo(
            from minutesAgo in Gen.Choose(-60, 10 * 24 * 60)
            from id in Gen.Choose(990, 1010)
            from ch in Gen.Frequency((4, Channel.Select(c => (string?)c)), (1, Gen.Constant<string?>(null)))
            from cat in Gen.Elements(CategoryPool)
            from key in Gen.Elements<string?>(null, "k1", "k2")
            from engaged in Gen.Elements(true, false, false)
            select Entry(id, now.AddMinutes(-minutesAgo), ch, cat, key, engaged), 8)
        from preferred in UpTo(Channel, 3)
        from userId in Gen.Elements<string?>(null, "user-1", "user-2")
        from tags in Gen.Elements<string[]>([], ["staff"], ["vip"])
        from erased in Gen.Frequency((15, Gen.Constant(false)), (1, Gen.Constant(true)))
        from settings in Settings
        select new Case(
            Message(category, channels, index, dedupKey, dedupWindow, digestKey, expires is { } h ? now.AddHours(h) : null),
            new RecipientState
            {
                ProfileId = 7,
                UserId = userId,
                TimeZone = zone,
                Tags = tags,
                Erased = erased,
                Addresses = addressed.ToDictionary(c => c, c => "addr-" + c, StringComparer.Ordinal),
                PreferredChannels = preferred,
                Subscriptions = subs,
                SuppressedAddresses = suppressedChannels.ToDictionary(c => DeliveryPolicy.AddressKey(c, "addr-" + c), _ => SuppressionReasons.HardBounce,
                    StringComparer.Ordinal),
                CoolDown = coolDownHours is { } ch2 ? new CoolDown(1, 7, now.AddHours(ch2), "complaint", now) : null,
                Ledger = [.. ledger.OrderBy(e => e.DispatchedAt)],
            },
            settings,
            workspaceZone,
            now,
            mode);

    private static IReadOnlyList<string> ExpectedList(Case c) =>
        c.Message.Channels.Count > 0 ? c.Message.Channels : c.Recipient.PreferredChannels.Count > 0 ? c.Recipient.PreferredChannels : c.Settings.ChannelOrder;

    private static Property Check(Case c, Func<DeliveryDecision, string?> check)
    {
        DeliveryDecision d;
        try
        {
            d = DeliveryPolicy.Decide(c.Message, c.Recipient, c.Settings, c.WorkspaceZone, c.Now, c.Mode);
        }
        catch (Exception e)
        {
            return false.Label($"threw {e.GetType().Name}: {e.Message} for {c}");
        }
        var problem = check(d);
        return (problem is null).Label($"{problem}: {d} for {c}");
    }

    [Property(MaxTest = 3000)]
    public Property Decide_never_throws_and_a_route_goes_to_a_reachable_unsuppressed_candidate() =>
        Prop.ForAll(Cases.ToArbitrary(), c => Check(c, d =>
        {
            var marketing = !Categories.IsTransactional(c.Message.Category);
            if (string.IsNullOrEmpty(d.Reason)) return "no reason";
            if (c.Message.ExpiresAt <= c.Now && d.Kind != DecisionKind.Expire) return "expired message not expired";
            if (c.Recipient.Erased && !(c.Message.ExpiresAt <= c.Now) && d.Kind != DecisionKind.Drop) return "erased person not dropped";
            if (d.Candidates is { } cands && !cands.SequenceEqual(ExpectedList(c))) return "candidates are not the expected list";
            switch (d.Kind)
            {
                case DecisionKind.Route:
                    if (d.Candidates is null) return "route without candidates";
                    if (d.ChannelIndex < 0 || d.ChannelIndex >= d.Candidates.Count) return "index outside the candidates";
                    if (d.Channel != d.Candidates[d.ChannelIndex]) return "channel is not the candidate at its index";
                    if (d.Channel is null || !c.Recipient.Addresses.TryGetValue(d.Channel, out var address)) return "channel without an address";
                    if (d.Recipient != address) return "recipient is not the channel's address";
                    if (c.Recipient.SuppressedAddresses.ContainsKey(DeliveryPolicy.AddressKey(d.Channel, address))) return "routed to a suppressed address";
                    if (marketing && !DeliveryPolicy.Consented(c.Message.Category, d.Channel, c.Recipient.Subscriptions, c.Settings.MarketingRequiresOptIn, out _))
                        return "routed marketing without consent";
                    if (c.Mode == DecideMode.Fallback && d.ChannelIndex <= c.Message.ChannelIndex) return "fallback did not move on";
                    if (c.Mode == DecideMode.Fallback != d.Reason.StartsWith("fell back to ", StringComparison.Ordinal)) return "wrong route wording";
                    if (c.Recipient.Erased) return "routed to an erased person";
                    if (marketing && c.Mode != DecideMode.Fallback && c.Recipient.CoolDown is { } cd && cd.Until > c.Now) return "routed during a cool-down";
                    if (c.Mode != DecideMode.Fallback && c.Message.DedupKey is { } key && c.Recipient.Ledger.Any(e =>
                            e.MessageId != c.Message.Id && e.DedupKey == key && e.DispatchedAt > c.Now - (c.Message.DedupWindow ?? c.Settings.DedupWindow)))
                        return "routed a duplicate";
                    if (marketing && c.Mode != DecideMode.Fallback)
                    {
                        var window = c.Settings.QuietFor(d.Channel);
                        var local = TimeOnly.FromDateTime(LocalTimes.ToLocal(c.Now, LocalTimes.ZoneFor(c.Recipient.TimeZone, c.WorkspaceZone)));
                        if (window is not null && window.Contains(local)) return "routed marketing in its quiet hours";
                    }
                    break;
                case DecisionKind.Defer:
                    if (!marketing) return "deferred a transactional message";
                    if (c.Mode == DecideMode.Fallback) return "deferred a fallback";
                    if (d.Until is not { } until || until <= c.Now) return "deferred to a past instant";
                    if (until - c.Now > TimeSpan.FromHours(25)) return "deferred more than a day";
                    if (c.Message.ExpiresAt is { } exp && exp <= until) return "deferred past its expiry";
                    if (!d.Reason.StartsWith("deferred by quiet hours (", StringComparison.Ordinal)) return "wrong defer wording";
                    // The window named in the reason holds now and is over at the deferral's end.
                    var named = new QuietWindow(TimeOnly.ParseExact(d.Reason[25..30], "HH:mm", CultureInfo.InvariantCulture),
                        TimeOnly.ParseExact(d.Reason[31..36], "HH:mm", CultureInfo.InvariantCulture));
                    var zone = LocalTimes.ZoneFor(c.Recipient.TimeZone, c.WorkspaceZone);
                    if (!named.Contains(TimeOnly.FromDateTime(LocalTimes.ToLocal(c.Now, zone)))) return "not inside the named window now";
                    if (named.Contains(TimeOnly.FromDateTime(LocalTimes.ToLocal(until, zone)))) return "still inside the named window at the end";
                    if (!d.Reason.EndsWith(" " + zone.Id, StringComparison.Ordinal)) return "reason does not name the zone";
                    break;
                case DecisionKind.Digest:
                    if (c.Mode != DecideMode.Full || c.Message.DigestKey is null) return "digest outside full mode or without a key";
                    break;
                case DecisionKind.Drop:
                    if (d.Channel is not null || d.Until is not null) return "a drop with a channel or time";
                    if (d.DuplicateOf is { } dup && !c.Recipient.Ledger.Any(e => e.MessageId == dup && e.DedupKey == c.Message.DedupKey)) return "duplicate of an unknown message";
                    break;
                case DecisionKind.Expire:
                    if (c.Message.ExpiresAt is null) return "expired without an expiry";
                    break;
            }
            return null;
        }));

    [Property(MaxTest = 1000)]
    public Property Transactional_messages_are_only_stopped_by_expiry_erasure_reachability_suppression_or_duplicates() =>
        Prop.ForAll(Cases.Where(c => c.Message.Category == Transactional && c.Message.ExpiresAt is null && !c.Recipient.Erased && c.Message.DedupKey is null)
            .ToArbitrary(), c => Check(c, d =>
        {
            var list = ExpectedList(c);
            var start = c.Mode == DecideMode.Fallback ? c.Message.ChannelIndex + 1 : 0;
            var expected = Enumerable.Range(0, list.Count).Skip(Math.Max(0, start)).FirstOrDefault(i =>
                c.Recipient.Addresses.TryGetValue(list[i], out var a) && !c.Recipient.SuppressedAddresses.ContainsKey(DeliveryPolicy.AddressKey(list[i], a)), -1);
            if (expected < 0) return d.Kind == DecisionKind.Drop ? null : "expected a drop";
            if (c.Message.DigestKey is not null && c.Mode == DecideMode.Full) return d.Kind == DecisionKind.Digest ? null : "expected a digest";
            return d.Kind == DecisionKind.Route && d.ChannelIndex == expected ? null : $"expected a route to index {expected}";
        }));
}

internal static class DeliverySettingsFormatting
{
    /// <summary>ToJson for labels; settings generated here may hold values ToJson rejects.</summary>
    public static string ToJsonSafe(this DeliverySettings s)
    {
        try
        {
            return s.ToJson();
        }
        catch (ArgumentException e)
        {
            return "(" + e.Message + ")";
        }
    }
}
