using System.Text.Json;
using Chuda.Domain.Delivery;
using Chuda.Domain.Profiles;
using Chuda.Storage;

namespace Chuda.Engine.Delivery;

/// <summary>A recipient as the dispatcher sees it: the pipeline's state plus the profile (for rendering).</summary>
public sealed record Recipient(RecipientState State, ProfileRecord? Profile, string? Email, string? Phone);

/// <summary>Loads, for a batch of messages, everything the pipeline reads about their recipients, in a few queries.</summary>
public sealed class RecipientLoader(IChudaStore store)
{
    /// <summary>Recipients keyed by profile id, plus one per raw-address message keyed by the negated message id.</summary>
    public async Task<Dictionary<long, Recipient>> LoadAsync(long workspaceId, IReadOnlyCollection<OutboundMessage> messages, DateTimeOffset now,
        CancellationToken ct)
    {
        var result = new Dictionary<long, Recipient>();
        var profileIds = messages.Where(m => m.ProfileId is not null).Select(m => m.ProfileId!.Value).Distinct().ToList();
        var profiles = await store.GetProfilesByIdAsync(workspaceId, profileIds, ct);
        var identities = await store.LoadIdentitiesAsync(workspaceId, profileIds, ct);
        var subscriptions = (await store.LoadSubscriptionsAsync(workspaceId, profileIds, ct)).ToLookup(s => s.ProfileId);
        var coolDowns = (await store.LoadCoolDownsAsync(workspaceId, profileIds, ct)).ToDictionary(c => c.ProfileId);
        var ledgers = await store.LoadLedgersAsync(workspaceId, profileIds, now - DeliveryPolicy.LedgerLookback, ct);

        var addresses = new Dictionary<long, Dictionary<string, string>>();
        var emails = new Dictionary<long, (string? Email, string? Phone)>();
        foreach (var id in profileIds)
        {
            profiles.TryGetValue(id, out var p);
            var a = Addresses(p, identities.GetValueOrDefault(id) ?? [], out var email, out var phone);
            addresses[id] = a;
            emails[id] = (email, phone);
        }
        var raw = messages.Where(m => m.ProfileId is null && m.Address is not null).ToList();
        var wanted = addresses.SelectMany(kv => kv.Value.Select(a => (DeliveryPolicy.SuppressionKind(a.Key), a.Value)))
            .Concat(raw.Select(m => SplitAddress(m.Address!)).Where(a => a.Kind is not null).Select(a => (a.Kind!, a.Value)))
            .Distinct().ToList();
        var suppressed = (await store.FindDeliverySuppressionsAsync(workspaceId, wanted, ct)).ToDictionary(s => s.Kind + ":" + s.Address, s => s.Reason);

        foreach (var id in profileIds)
        {
            profiles.TryGetValue(id, out var p);
            var a = addresses[id];
            result[id] = new Recipient(new RecipientState
            {
                ProfileId = id,
                UserId = p?.UserId,
                TimeZone = p?.Timezone,
                Locale = p?.Locale,
                Tags = p?.Tags ?? [],
                Erased = p is null || p.Suppressed,
                Addresses = a,
                PreferredChannels = Preferred(p),
                Subscriptions = [.. subscriptions[id]],
                SuppressedAddresses = a.Select(x => DeliveryPolicy.AddressKey(x.Key, x.Value)).Where(suppressed.ContainsKey)
                    .ToDictionary(k => k, k => suppressed[k]),
                CoolDown = coolDowns.GetValueOrDefault(id),
                Ledger = ledgers.TryGetValue(id, out var l) ? l : [],
            }, p, emails[id].Email, emails[id].Phone);
        }

        foreach (var m in raw)
        {
            var (kind, value) = SplitAddress(m.Address!);
            var channel = kind switch { "email" => ChannelNames.Email, "phone" => ChannelNames.Sms, _ => kind };
            var a = channel is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [channel] = value };
            var key = channel is null ? "" : DeliveryPolicy.AddressKey(channel, value);
            result[-m.Id] = new Recipient(new RecipientState
            {
                Addresses = a,
                SuppressedAddresses = suppressed.TryGetValue(key, out var reason) ? new Dictionary<string, string> { [key] = reason } : new Dictionary<string, string>(),
                Locale = m.Locale,
            }, null, kind == "email" ? value : null, kind == "phone" ? value : null);
        }
        return result;
    }

    /// <summary>The recipient of a message within a loaded batch.</summary>
    public static Recipient? Of(Dictionary<long, Recipient> batch, OutboundMessage m) =>
        batch.GetValueOrDefault(m.ProfileId ?? -m.Id);

    /// <summary>Splits <c>email:a@b.example</c> into its kind and value; a kind of null when it has none.</summary>
    public static (string? Kind, string Value) SplitAddress(string address)
    {
        var colon = address.IndexOf(':', StringComparison.Ordinal);
        return colon <= 0 ? (null, address) : (address[..colon], address[(colon + 1)..]);
    }

    /// <summary>Where a profile can be reached: e-mail and phone from identities (else traits), the newest push token,
    /// the WeChat openid (else the WeCom user id), the inbox (with a user id), and the webhook channel (always).</summary>
    public static Dictionary<string, string> Addresses(ProfileRecord? p, IReadOnlyList<IdentityKey> identities, out string? email, out string? phone)
    {
        var a = new Dictionary<string, string>(StringComparer.Ordinal);
        email = identities.LastOrDefault(i => i.Kind == IdentityKinds.Email).Value;
        phone = identities.LastOrDefault(i => i.Kind == IdentityKinds.Phone).Value;
        if (p is not null && (email is null || phone is null))
        {
            using var traits = JsonDocument.Parse(p.TraitsJson);
            if (email is null && traits.RootElement.TryGetProperty("email", out var e) && e.ValueKind == JsonValueKind.String
                && Normalization.TryNormalizeEmail(e.GetString()!, out var ne)) email = ne;
            if (phone is null && traits.RootElement.TryGetProperty("phone", out var ph) && ph.ValueKind == JsonValueKind.String
                && Normalization.TryNormalizePhone(ph.GetString()!, null, out var np)) phone = np;
        }
        if (email is not null) a[ChannelNames.Email] = email;
        if (phone is not null)
        {
            a[ChannelNames.Sms] = phone;
            a[ChannelNames.Voice] = phone;
        }
        var push = identities.LastOrDefault(i => i.Kind.StartsWith(IdentityKinds.PushPrefix, StringComparison.Ordinal));
        if (push.Kind is not null) a[ChannelNames.Push] = push.Kind[IdentityKinds.PushPrefix.Length..] + ":" + push.Value;
        // WeChat: the official-account openid, else the WeCom user id (as "wecom:<userid>", which only WeCom providers accept).
        var openId = identities.LastOrDefault(i => i.Kind == IdentityKinds.WeChatOpenId);
        if (openId.Kind is not null) a[ChannelNames.WeChat] = openId.Value;
        else if (identities.LastOrDefault(i => i.Kind == IdentityKinds.WeComUserId) is { Kind: not null } wecom) a[ChannelNames.WeChat] = "wecom:" + wecom.Value;
        if (p?.UserId is { } user) a[ChannelNames.InApp] = user;
        if (p is not null) a[ChannelNames.Webhook] = p.UserId ?? "profile:" + p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return a;
    }

    private static IReadOnlyList<string> Preferred(ProfileRecord? p)
    {
        if (p is null || !p.TraitsJson.Contains("preferred_channel", StringComparison.Ordinal)) return [];
        using var traits = JsonDocument.Parse(p.TraitsJson);
        var root = traits.RootElement;
        if (root.TryGetProperty("preferred_channels", out var list) && list.ValueKind == JsonValueKind.Array)
            return [.. list.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).Where(ChannelNames.IsKnown).Distinct()];
        if (root.TryGetProperty("preferred_channel", out var one) && one.ValueKind == JsonValueKind.String && ChannelNames.IsKnown(one.GetString()!))
            return [one.GetString()!];
        return [];
    }
}
