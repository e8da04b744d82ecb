using System.Globalization;
using Chuda.Domain.Journeys;

namespace Chuda.Domain.Delivery;

/// <summary>What the dispatcher knows about the person a message is for, loaded once per batch. The ledger is appended
/// to as messages in the same batch are routed, so caps and de-duplication see them at once.</summary>
public sealed class RecipientState
{
    public long? ProfileId { get; init; }
    public string? UserId { get; init; }
    public string? TimeZone { get; init; }
    public string? Locale { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>The person was erased (or matches an erased contact point): nothing is sent.</summary>
    public bool Erased { get; init; }
    /// <summary>Channel → the address to use there (<c>email</c> → <c>a@b.example</c>, <c>in_app</c> → the user id).</summary>
    public IReadOnlyDictionary<string, string> Addresses { get; init; } = new Dictionary<string, string>();
    /// <summary>The profile's own channel order (trait <c>preferred_channels</c>), if any.</summary>
    public IReadOnlyList<string> PreferredChannels { get; init; } = [];
    public IReadOnlyList<Subscription> Subscriptions { get; init; } = [];
    /// <summary>Suppressed addresses of this person: <c>email:a@b.example</c> → reason.</summary>
    public IReadOnlyDictionary<string, string> SuppressedAddresses { get; init; } = new Dictionary<string, string>();
    public CoolDown? CoolDown { get; init; }
    /// <summary>Recent messages (dispatched in the last <see cref="DeliveryPolicy.LedgerLookback"/>), oldest first.</summary>
    public List<LedgerEntry> Ledger { get; init; } = [];
}

/// <summary>How the policy is asked.</summary>
public enum DecideMode
{
    /// <summary>A new or deferred message: the whole pipeline.</summary>
    Full,
    /// <summary>A closed digest being released: the whole pipeline except the digest step.</summary>
    DigestRelease,
    /// <summary>The chosen channel failed or was not delivered in time: route to the next channel after
    /// <see cref="OutboundMessage.ChannelIndex"/> (consent, suppression and reachability are checked again for it).</summary>
    Fallback,
}

public enum DecisionKind
{
    Route,
    Defer,
    Drop,
    Digest,
    Expire,
}

/// <summary>A note on the way to a decision, e.g. "skipped sms: no phone number".</summary>
public sealed record DecisionNote(string Channel, string Text);

/// <summary>The pipeline's answer for one message, with the reason that is recorded on its timeline.</summary>
/// <param name="ChannelIndex">For a route: the index in the candidate list that was chosen (fallback continues after it).</param>
/// <param name="Candidates">The ordered channel list routing used (stored so that fallback walks the same list).</param>
public sealed record DeliveryDecision(
    DecisionKind Kind,
    string Reason,
    string? Channel = null,
    string? Recipient = null,
    int ChannelIndex = 0,
    IReadOnlyList<string>? Candidates = null,
    DateTimeOffset? Until = null,
    long? DuplicateOf = null,
    IReadOnlyList<DecisionNote>? Notes = null);

/// <summary>
/// The delivery pipeline's rules as one pure function: consent → suppression → cool-down → quiet hours → frequency caps
/// → cross-channel de-duplication → digest → routing. No I/O and no clock: the dispatcher loads the
/// <see cref="RecipientState"/>, asks, and applies the decision. docs/delivery.md describes each step.
/// </summary>
public static class DeliveryPolicy
{
    /// <summary>How far back the ledger must reach: the longest cap period, de-dup window or ignored-streak lookback.</summary>
    public static readonly TimeSpan LedgerLookback = TimeSpan.FromDays(30);

    public static DeliveryDecision Decide(OutboundMessage m, RecipientState r, DeliverySettings s, string? workspaceZone, DateTimeOffset now,
        DecideMode mode = DecideMode.Full)
    {
        if (m.ExpiresAt is { } expires && expires <= now)
            return new DeliveryDecision(DecisionKind.Expire, $"expired at {Iso(expires)} before it could be sent");
        if (r.Erased)
            return new DeliveryDecision(DecisionKind.Drop, "dropped: the person was erased (suppressed contact point)");

        var marketing = !Categories.IsTransactional(m.Category);
        var zone = LocalTimes.ZoneFor(r.TimeZone, workspaceZone);
        var notes = new List<DecisionNote>(2);

        // The channel list: the message's, else the person's preference, else the workspace order.
        var list = m.Channels.Count > 0 ? m.Channels : r.PreferredChannels.Count > 0 ? r.PreferredChannels : s.ChannelOrder;
        var start = mode == DecideMode.Fallback ? (int)Math.Clamp((long)m.ChannelIndex + 1, 0, int.MaxValue) : 0;
        if (start >= list.Count)
            return new DeliveryDecision(DecisionKind.Drop, mode == DecideMode.Fallback ? "failed: no channel left to fall back to" : "dropped: no channel to send on");

        // 1–2. Consent and suppression, and whether the person can be reached there at all.
        var candidates = new List<int>(list.Count);
        for (var i = start; i < list.Count; i++)
        {
            var channel = list[i];
            if (!r.Addresses.TryGetValue(channel, out var address))
            {
                notes.Add(new DecisionNote(channel, $"skipped {channel}: {Unreachable(channel)}"));
                continue;
            }
            if (marketing && !Consented(m.Category, channel, r.Subscriptions, s.MarketingRequiresOptIn, out var why))
            {
                notes.Add(new DecisionNote(channel, $"skipped {channel}: {why}"));
                continue;
            }
            if (r.SuppressedAddresses.TryGetValue(AddressKey(channel, address), out var reason))
            {
                notes.Add(new DecisionNote(channel, $"skipped {channel}: address suppressed ({reason})"));
                continue;
            }
            candidates.Add(i);
        }
        if (candidates.Count == 0)
            return Drop(mode == DecideMode.Fallback ? "failed: no further channel can reach the person" : "dropped: no channel with consent and a reachable address", notes, list);

        if (marketing && mode != DecideMode.Fallback)
        {
            // 3. Cool-down.
            if (r.CoolDown is { } cd && cd.Until > now)
                return Drop($"dropped: marketing paused for this person until {Local(cd.Until, zone)} ({cd.Reason})", notes, list);
            if (IgnoredStreak(r.Ledger, s.CoolDown) is { } streakEnds && streakEnds > now)
                return Drop($"dropped: cool-down after {s.CoolDown.IgnoredInARow} ignored messages in a row, until {Local(streakEnds, zone)}", notes, list);

            // 4. Quiet hours: a channel in its window is skipped; when every candidate is, the message waits for the earliest end.
            DateTimeOffset? earliestEnd = null;
            QuietWindow? earliestWindow = null;
            var local = TimeOnly.FromDateTime(LocalTimes.ToLocal(now, zone));
            var open = new List<int>(candidates.Count);
            foreach (var i in candidates)
            {
                var window = s.QuietFor(list[i]);
                if (window is null || !window.Contains(local))
                {
                    open.Add(i);
                    continue;
                }
                var end = LocalTimes.NextWallClock(now, window.End, zone);
                if (earliestEnd is null || end < earliestEnd)
                {
                    earliestEnd = end;
                    earliestWindow = window;
                }
                notes.Add(new DecisionNote(list[i], $"skipped {list[i]}: quiet hours {Hm(window.Start)}–{Hm(window.End)} {zone.Id}"));
            }
            if (open.Count == 0)
            {
                var until = earliestEnd!.Value;
                if (m.ExpiresAt is { } exp && exp <= until)
                    return new DeliveryDecision(DecisionKind.Expire, $"expired: quiet hours last until {Local(until, zone)}, after its expiry {Iso(exp)}", Notes: notes);
                notes.RemoveAll(n => n.Text.Contains("quiet hours", StringComparison.Ordinal));
                return new DeliveryDecision(DecisionKind.Defer,
                    $"deferred by quiet hours ({Hm(earliestWindow!.Start)}–{Hm(earliestWindow.End)}) to {Hm(TimeOnly.FromDateTime(LocalTimes.ToLocal(until, zone)))} {zone.Id}",
                    Until: until, Notes: notes, Candidates: list);
            }
            candidates = open;

            // 5. Frequency caps (allow-listed people are exempt).
            if (!AllowListed(r, s))
            {
                var remaining = new List<int>(candidates.Count);
                foreach (var i in candidates)
                {
                    string? blocked = null;
                    foreach (var cap in s.Caps)
                    {
                        if (cap.Category is not null && cap.Category != m.Category) continue;
                        if (cap.Channel is not null && cap.Channel != list[i]) continue;
                        if (Count(r.Ledger, cap, now, zone) >= cap.Limit)
                        {
                            blocked = cap.Describe();
                            if (cap.Channel is null) return Drop($"dropped: {blocked} reached", notes, list);
                            break;
                        }
                    }
                    if (blocked is null) remaining.Add(i);
                    else notes.Add(new DecisionNote(list[i], $"skipped {list[i]}: {blocked} reached"));
                }
                if (remaining.Count == 0) return Drop("dropped: every channel's cap is reached", notes, list);
                candidates = remaining;
            }
        }

        // 6. Cross-channel de-duplication (transactional too: a retried order confirmation must not go out twice).
        if (m.DedupKey is { } key && mode != DecideMode.Fallback)
        {
            var since = now - (m.DedupWindow ?? s.DedupWindow);
            for (var j = r.Ledger.Count - 1; j >= 0; j--)
            {
                var e = r.Ledger[j];
                if (e.MessageId != m.Id && e.DedupKey == key && e.DispatchedAt > since)
                {
                    return new DeliveryDecision(DecisionKind.Drop,
                        $"dropped: duplicate of {MessageIds.Format(e.MessageId)} (dedup key '{key}') sent on {e.Channel} at {Local(e.DispatchedAt, zone)}",
                        DuplicateOf: e.MessageId, Notes: notes, Candidates: list);
                }
            }
        }

        // 7. Digest: the dispatcher joins (or opens) the person's digest for the key.
        if (m.DigestKey is not null && mode == DecideMode.Full)
            return new DeliveryDecision(DecisionKind.Digest, $"merged into digest '{m.DigestKey}'", Notes: notes, Candidates: list);

        // 8. Routing: the first remaining channel; later ones stay as fallbacks.
        var chosen = candidates[0];
        var routed = mode == DecideMode.Fallback
            ? $"fell back to {list[chosen]}"
            : chosen == 0 ? $"routed to {list[chosen]}" : $"routed to {list[chosen]} (channel {chosen + 1} of {list.Count})";
        return new DeliveryDecision(DecisionKind.Route, routed, list[chosen], r.Addresses[list[chosen]], chosen, list, Notes: notes);
    }

    /// <summary>The key of an address in <see cref="RecipientState.SuppressedAddresses"/>.</summary>
    public static string AddressKey(string channel, string address) => SuppressionKind(channel) + ":" + address;

    /// <summary>The suppression kind of a channel's addresses (SMS uses the phone number).</summary>
    public static string SuppressionKind(string channel) => channel switch
    {
        ChannelNames.Sms or ChannelNames.Voice => "phone",
        ChannelNames.Email => "email",
        _ => channel,
    };

    /// <summary>True when marketing of <paramref name="category"/> may go to the person on <paramref name="channel"/>.
    /// An unsubscribe at any level (this topic on this channel, this topic everywhere, all marketing on this channel,
    /// all marketing) wins; with required opt-in, a subscription at some level is needed.</summary>
    public static bool Consented(string category, string channel, IReadOnlyList<Subscription> subscriptions, bool requireOptIn, out string why)
    {
        var subscribed = false;
        foreach (var sub in subscriptions)
        {
            var categoryMatches = sub.Category == category || sub.Category == Categories.Marketing;
            var channelMatches = sub.Channel == channel || sub.Channel == "*";
            if (!categoryMatches || !channelMatches) continue;
            if (sub.State == SubscriptionState.Unsubscribed)
            {
                why = sub.Category == category
                    ? $"unsubscribed from {category}{(sub.Channel == "*" ? "" : " on " + channel)}"
                    : $"unsubscribed from marketing{(sub.Channel == "*" ? "" : " on " + channel)}";
                return false;
            }
            subscribed = true;
        }
        if (requireOptIn && !subscribed)
        {
            why = $"no opt-in to {category} (the workspace requires explicit opt-in)";
            return false;
        }
        why = "";
        return true;
    }

    /// <summary>When the current run of ignored marketing messages ends its cool-down, or null when there is no such run.</summary>
    public static DateTimeOffset? IgnoredStreak(IReadOnlyList<LedgerEntry> ledger, CoolDownSettings settings)
    {
        if (settings.IgnoredInARow <= 0) return null;
        var run = 0;
        DateTimeOffset? last = null;
        for (var j = ledger.Count - 1; j >= 0 && run < settings.IgnoredInARow; j--)
        {
            var e = ledger[j];
            if (e.Lane != Lane.Marketing) continue;
            if (e.Engaged) return null;
            last ??= e.DispatchedAt;
            run++;
        }
        return run >= settings.IgnoredInARow ? last!.Value + settings.IgnoredPeriod : null;
    }

    private static int Count(List<LedgerEntry> ledger, FrequencyCap cap, DateTimeOffset now, TimeZoneInfo zone)
    {
        DateTimeOffset from;
        switch (cap.Period)
        {
            case CapPeriod.RollingDay:
                from = now.AddDays(-1);
                break;
            case CapPeriod.RollingWeek:
                from = now.AddDays(-7);
                break;
            default:
                // The start of the recipient's local calendar day (midnight may not exist on a DST night: the first instant of the day).
                var today = LocalTimes.ToLocal(now, zone).Date;
                from = LocalTimes.ToInstant(today, zone);
                break;
        }
        var n = 0;
        for (var j = ledger.Count - 1; j >= 0; j--)
        {
            var e = ledger[j];
            if (cap.Period == CapPeriod.CalendarDay ? e.DispatchedAt < from : e.DispatchedAt <= from) continue;
            if (e.Lane != Lane.Marketing) continue;
            if (cap.Channel is not null && e.Channel != cap.Channel) continue;
            if (cap.Category is not null && e.Category != cap.Category) continue;
            n++;
        }
        return n;
    }

    private static bool AllowListed(RecipientState r, DeliverySettings s)
    {
        if (r.UserId is not null && s.CapAllowUserIds.Contains(r.UserId, StringComparer.Ordinal)) return true;
        foreach (var t in r.Tags)
        {
            if (s.CapAllowTags.Contains(t, StringComparer.Ordinal)) return true;
        }
        return false;
    }

    private static DeliveryDecision Drop(string reason, List<DecisionNote> notes, IReadOnlyList<string> list) =>
        new(DecisionKind.Drop, reason, Notes: notes, Candidates: list);

    private static string Unreachable(string channel) => channel switch
    {
        ChannelNames.Email => "no e-mail address",
        ChannelNames.Sms or ChannelNames.Voice => "no phone number",
        ChannelNames.Push => "no push token",
        ChannelNames.InApp => "no user id (the inbox is per known user)",
        ChannelNames.WeChat => "no WeChat openid or WeCom user id",
        _ => "cannot be reached there",
    };

    private static string Hm(TimeOnly t) => t.ToString("HH:mm", CultureInfo.InvariantCulture);

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Local(DateTimeOffset t, TimeZoneInfo zone) =>
        LocalTimes.ToLocal(t, zone).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " " + zone.Id;
}
