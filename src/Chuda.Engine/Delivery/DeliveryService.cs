using System.Globalization;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Domain.Delivery;
using Chuda.Domain.Profiles;
using Chuda.Domain.Templates;
using Chuda.Storage;

namespace Chuda.Engine.Delivery;

/// <summary>Bad input: every problem with its JSON path; nothing was changed.</summary>
public sealed class DeliveryValidationException(IReadOnlyList<(string Path, string Message)> errors)
    : Exception(string.Join("; ", errors.Select(e => $"{e.Path}: {e.Message}")))
{
    public IReadOnlyList<(string Path, string Message)> Errors { get; } = errors;
}

/// <summary>The request conflicts with the current state (409), is forbidden (403) or repeats a key with other content (422).</summary>
public sealed class DeliveryStateException(string message, int status = 409) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>A transactional (or ad-hoc) send request, as the API receives it.</summary>
/// <param name="To">Who: <c>userId</c>, or a raw <c>email</c> / <c>phone</c> (resolved to a profile when one has it).</param>
public sealed record SendCommand(
    string? UserId,
    string? Email,
    string? Phone,
    string? TemplateId,
    string? InlineTemplateJson,
    string DataJson,
    IReadOnlyList<string> Channels,
    string Category,
    string? DedupKey,
    TimeSpan? DedupWindow,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? SendAt,
    string? Locale,
    FallbackRule? Fallback);

/// <summary>A rendered preview for one channel.</summary>
public sealed record ChannelPreview(string Channel, string? Locale, ChannelContent? Content, IReadOnlyList<RenderProblem> Problems, SmsMeasure? Sms);

/// <summary>
/// Delivery operations behind the API: templates, the transactional send, the policy, providers, consent, suppressions,
/// message timelines, tracking and provider callbacks, and the in-app inbox.
/// </summary>
public sealed class DeliveryService(IChudaStore store, DeliveryCatalog catalog, MessageComposer composer, DeliveryDispatcher dispatcher, InboxHub inbox,
    TimeProvider time)
{
    // ---- templates ---------------------------------------------------------------------------

    public static bool IsValidId(string id) =>
        id.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(id[0]) && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '-');

    public async Task<TemplateRecord> SaveTemplateAsync(long ws, string id, string json, int? ifVersion, string? actor, CancellationToken ct)
    {
        if (!IsValidId(id)) throw new DeliveryValidationException([("$.id", "a template id is 1-64 of a-z, 0-9, _ and -, starting with a letter or digit")]);
        var parsed = TemplateParser.Parse(json);
        if (parsed.Definition is null) throw new DeliveryValidationException([.. parsed.Errors.Select(e => (e.Path, e.Message))]);
        var saved = await store.AddTemplateVersionAsync(ws, id, json, time.GetUtcNow(), actor, ifVersion, ct)
            ?? throw new DeliveryStateException($"Template '{id}' is not at version {ifVersion}; read it again.", 412);
        composer.Invalidate(ws, id);
        await AuditAsync(ws, actor, "template.saved", "template", id, saved.LatestVersion.ToString(CultureInfo.InvariantCulture), ct);
        return saved;
    }

    public async Task<TemplateVersionRecord> ApproveTemplateAsync(long ws, string id, int version, string? actor, CancellationToken ct)
    {
        var v = await store.GetTemplateVersionAsync(ws, id, version, ct) ?? throw new KeyNotFoundException($"Template '{id}' has no version {version}.");
        if (v.CreatedBy is not null && v.CreatedBy == actor)
            throw new DeliveryStateException("The key that wrote a template version cannot approve it; approve with another admin key.", 403);
        await store.ApproveTemplateVersionAsync(ws, id, version, actor, time.GetUtcNow(), ct);
        composer.Invalidate(ws, id);
        await AuditAsync(ws, actor, "template.approved", "template", id, version.ToString(CultureInfo.InvariantCulture), ct);
        return (await store.GetTemplateVersionAsync(ws, id, version, ct))!;
    }

    /// <summary>Renders a template version for a real profile (or sample data) on each of its channels, reporting unknown variables.</summary>
    public async Task<IReadOnlyList<ChannelPreview>> PreviewAsync(long ws, string id, int? version, string? userId, string? channel, string? locale,
        string? eventJson, CancellationToken ct)
    {
        var stored = await store.GetTemplateVersionAsync(ws, id, version, ct)
            ?? throw new KeyNotFoundException(version is null ? $"No template has id '{id}'." : $"Template '{id}' has no version {version}.");
        var parsed = TemplateParser.Parse(stored.DefinitionJson);
        if (parsed.Definition is null) throw new DeliveryValidationException([.. parsed.Errors.Select(e => (e.Path, e.Message))]);
        ProfileRecord? profile = null;
        Recipient? recipient = null;
        if (userId is not null)
        {
            var profileId = await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.UserId, userId), ct)
                ?? throw new KeyNotFoundException($"No profile has userId '{userId}'.");
            profile = await store.GetProfileAsync(ws, profileId, ct);
            var ids = await store.LoadIdentitiesAsync(ws, [profileId], ct);
            RecipientLoader.Addresses(profile, ids.GetValueOrDefault(profileId) ?? [], out var email, out var phone);
            recipient = new Recipient(new RecipientState { ProfileId = profileId, TimeZone = profile?.Timezone, Locale = profile?.Locale }, profile, email, phone);
        }
        var compiled = CompiledTemplate.Compile(parsed.Definition);
        var w = await catalog.GetAsync(ws, ct);
        var sample = new OutboundMessage(ws, 0, "preview", recipient?.State.ProfileId, null, "preview", null, null, id, null, Categories.Marketing,
            Lane.Marketing, [], 0, null, null, null, null, null, null, null, null, null, "{}", locale, MessageStatuses.Queued, null, 0, null, time.GetUtcNow(),
            null, null, null, null, null, null, null, null, null, null);
        var system = composer.SystemValues(sample, w);
        using var messageDoc = JsonDocument.Parse(JsonSerializer.Serialize(system, DeliveryEngineJson.Default.DictionaryStringString));
        JsonElement? evt = null;
        if (eventJson is not null)
        {
            using var e = JsonDocument.Parse(eventJson);
            evt = e.RootElement.Clone();
        }
        var data = new TemplateData
        {
            Profile = TemplateData.ProfileObject(profile?.TraitsJson, profile?.UserId, recipient?.Email, recipient?.Phone),
            Event = evt,
            Message = messageDoc.RootElement.Clone(),
            TimeZone = profile?.Timezone,
            Locale = locale ?? profile?.Locale,
        };
        var channels = channel is null ? [.. parsed.Definition.Channels.OrderBy(c => c, StringComparer.Ordinal)] : new List<string> { channel };
        var previews = new List<ChannelPreview>();
        foreach (var c in channels)
        {
            var r = compiled.Render(c, locale ?? profile?.Locale, data, RenderOptions.StrictMode);
            previews.Add(new ChannelPreview(c, r.LocaleUsed, r.Content, r.Problems, r.Content is SmsContent s ? SmsSegments.Measure(s.Text) : null));
        }
        return previews;
    }

    // ---- the transactional API ----------------------------------------------------------------

    /// <summary>Queues a message; the same idempotency key with the same request returns the first message, with another → 422.</summary>
    public async Task<(OutboundMessage Message, bool Created)> SendAsync(long ws, SendCommand command, string? idempotencyKey, CancellationToken ct)
    {
        var errors = new List<(string, string)>();
        if ((command.UserId is null ? 0 : 1) + (command.Email is null ? 0 : 1) + (command.Phone is null ? 0 : 1) != 1)
            errors.Add(("$.to", "name exactly one of userId, email and phone"));
        if ((command.TemplateId is null) == (command.InlineTemplateJson is null)) errors.Add(("$.template", "give either 'template' (an id) or 'content' (inline)"));
        if (command.InlineTemplateJson is { } inline && TemplateParser.Parse(inline) is { Definition: null } bad)
            errors.AddRange(bad.Errors.Select(e => ("$.content" + e.Path[1..], e.Message)));
        if (!Categories.IsValid(command.Category)) errors.Add(("$.category", "expected transactional, marketing or a topic (a-z, 0-9, _ and -)"));
        for (var i = 0; i < command.Channels.Count; i++)
        {
            if (!ChannelNames.IsKnown(command.Channels[i])) errors.Add(($"$.channels[{i}]", $"unknown channel; expected one of {string.Join(", ", ChannelNames.All)}"));
        }
        string? address = null;
        long? profileId = null;
        if (command.UserId is { } user)
        {
            profileId = await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.UserId, user), ct);
            if (profileId is null) errors.Add(("$.to.userId", $"no profile has userId '{user}'"));
        }
        else if (command.Email is { } email)
        {
            if (!Normalization.TryNormalizeEmail(email, out var normalized)) errors.Add(("$.to.email", "not an e-mail address"));
            else
            {
                profileId = await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.Email, normalized), ct);
                address = "email:" + normalized;
            }
        }
        else if (command.Phone is { } phone)
        {
            if (!Normalization.TryNormalizePhone(phone, null, out var e164)) errors.Add(("$.to.phone", "not a phone number in E.164 form (+8613800138000)"));
            else
            {
                profileId = await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.Phone, e164), ct);
                address = "phone:" + e164;
            }
        }
        if (command.TemplateId is { } tid && await store.GetTemplateAsync(ws, tid, ct) is null) errors.Add(("$.template", $"no template has id '{tid}'"));
        if (errors.Count > 0) throw new DeliveryValidationException(errors);

        var now = time.GetUtcNow();
        var channels = command.Channels.Count > 0 ? command.Channels
            : address is { } a ? [a.StartsWith("email:", StringComparison.Ordinal) ? ChannelNames.Email : ChannelNames.Sms] : [];
        var key = idempotencyKey is null ? "api:" + Guid.NewGuid().ToString("N") : "api:" + idempotencyKey;
        var category = command.Category;
        // A raw address that belongs to a profile is sent to that profile (its consent and history apply) at that address.
        var message = new OutboundMessage(ws, 0, key, profileId, profileId is null ? address : null, "api", null, null, command.TemplateId,
            command.InlineTemplateJson, category, Categories.IsTransactional(category) ? Lane.Transactional : Lane.Marketing, channels, 0, null, null, null,
            command.DedupKey, command.DedupWindow, null, null, null, command.Fallback, command.DataJson, command.Locale, MessageStatuses.Queued,
            command.SendAt is { } at && at > now ? at : now, 0, command.ExpiresAt, now, null, null, null, null, null, null, null, null, null, null);
        var stored = (await store.InsertMessagesAsync([message], ct))[0];
        if (!stored.Created && !SameRequest(stored.Message, message))
            throw new DeliveryStateException($"Idempotency-Key '{idempotencyKey}' was used for a different request.", 422);
        if (stored.Created) dispatcher.Wake(message.Lane);
        return stored;
    }

    private static bool SameRequest(OutboundMessage a, OutboundMessage b) =>
        a.ProfileId == b.ProfileId && a.Address == b.Address && a.TemplateId == b.TemplateId && a.InlineTemplateJson == b.InlineTemplateJson
        && a.Category == b.Category && a.DataJson == b.DataJson && a.Channels.SequenceEqual(b.Channels) && a.DedupKey == b.DedupKey;

    // ---- policy and providers ------------------------------------------------------------------

    public async Task<DeliverySettings> GetPolicyAsync(long ws, CancellationToken ct) => (await catalog.GetAsync(ws, ct)).Settings;

    public async Task<DeliverySettings> SetPolicyAsync(long ws, JsonElement body, string? actor, CancellationToken ct)
    {
        var errors = new List<(string Path, string Message)>();
        var settings = DeliverySettings.Parse(body, errors);
        if (errors.Count > 0) throw new DeliveryValidationException(errors);
        await store.SetWorkspaceSettingAsync(ws, DeliverySettings.SettingName, settings.ToJson(), ct);
        await store.AppendAuditAsync(new Domain.Journeys.AuditEntry(ws, 0, time.GetUtcNow(), actor ?? "", "delivery.policy", "settings", "delivery",
            settings.ToJson()), ct);
        catalog.Invalidate(ws);
        return settings;
    }

    /// <summary>Creates or replaces a provider. Secret fields left out of <paramref name="config"/> keep their stored values.</summary>
    public async Task<ProviderRecord> SaveProviderAsync(long ws, string id, string channel, string kind, int priority, bool enabled, JsonElement config,
        string? actor, CancellationToken ct, double? ratePerSecond = null, int? maxConcurrency = null)
    {
        var errors = new List<(string, string)>();
        if (ratePerSecond is { } rate && (double.IsNaN(rate) || rate is <= 0 or > 100_000)) errors.Add(("$.ratePerSecond", "expected a number of messages per second, above 0 and at most 100000"));
        if (maxConcurrency is { } conc && conc is < 1 or > 1000) errors.Add(("$.maxConcurrency", "expected 1-1000 sends at once"));
        if (!IsValidId(id)) errors.Add(("$.id", "a provider id is 1-64 of a-z, 0-9, _ and -"));
        if (!catalog.Factories.TryGetValue(kind, out var factory))
        {
            errors.Add(("$.kind", $"unknown provider kind '{kind}'; expected one of {string.Join(", ", catalog.Factories.Keys.Order(StringComparer.Ordinal))}"));
            throw new DeliveryValidationException(errors);
        }
        if (!factory.Channels.Contains(channel)) errors.Add(("$.channel", $"a {kind} provider sends on {string.Join(", ", factory.Channels)}"));
        var existing = (await store.ListProvidersAsync(ws, ct)).FirstOrDefault(p => p.Id == id);
        var merged = MergeSecrets(config, existing?.ConfigJson, factory.SecretFields);
        using var doc = JsonDocument.Parse(merged);
        errors.AddRange(factory.Validate(doc.RootElement));
        if (errors.Count > 0) throw new DeliveryValidationException(errors);
        var record = new ProviderRecord(ws, id, channel, kind, priority, enabled, merged, time.GetUtcNow(), ratePerSecond, maxConcurrency);
        await store.SaveProviderAsync(record, ct);
        await AuditAsync(ws, actor, "provider.saved", "provider", id, $"{kind} on {channel}", ct);
        catalog.Invalidate(ws);
        return record;
    }

    private static string MergeSecrets(JsonElement config, string? existing, IReadOnlyList<string> secrets)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(config.ValueKind == JsonValueKind.Object ? config.GetRawText() : "{}")!.AsObject();
        if (existing is not null && secrets.Count > 0)
        {
            var old = System.Text.Json.Nodes.JsonNode.Parse(existing)!.AsObject();
            foreach (var s in secrets)
            {
                if (!node.ContainsKey(s) && old[s] is { } v) node[s] = v.DeepClone();
            }
        }
        return node.ToJsonString();
    }

    /// <summary>A provider's configuration with its secret fields replaced by <c>"***"</c>.</summary>
    public string RedactedConfig(ProviderRecord p)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(p.ConfigJson)!.AsObject();
        if (catalog.Factories.TryGetValue(p.Kind, out var f))
        {
            foreach (var s in f.SecretFields)
            {
                if (node.ContainsKey(s)) node[s] = "***";
            }
        }
        return node.ToJsonString();
    }

    public async Task<bool> DeleteProviderAsync(long ws, string id, string? actor, CancellationToken ct)
    {
        var deleted = await store.DeleteProviderAsync(ws, id, ct);
        if (deleted) await AuditAsync(ws, actor, "provider.deleted", "provider", id, null, ct);
        catalog.Invalidate(ws);
        return deleted;
    }

    private Task AuditAsync(long ws, string? actor, string action, string type, string id, string? detail, CancellationToken ct) =>
        store.AppendAuditAsync(new Domain.Journeys.AuditEntry(ws, 0, time.GetUtcNow(), actor ?? "", action, type, id,
            detail is null ? null : JsonSerializer.Serialize(new Dictionary<string, string> { ["detail"] = detail }, DeliveryEngineJson.Default.DictionaryStringString)), ct);

    // ---- consent ---------------------------------------------------------------------------------

    public async Task<long> ProfileIdAsync(long ws, string userId, CancellationToken ct) =>
        await store.FindProfileIdAsync(ws, new IdentityKey(IdentityKinds.UserId, userId), ct) ?? throw new KeyNotFoundException($"No profile has userId '{userId}'.");

    /// <summary>Sets subscriptions of a profile; a topic unsubscribe pauses its marketing for the policy's cool-down.</summary>
    public async Task SetSubscriptionsAsync(long ws, long profileId, IReadOnlyList<(string Category, string Channel, SubscriptionState State)> changes,
        string source, CancellationToken ct)
    {
        var errors = new List<(string, string)>();
        for (var i = 0; i < changes.Count; i++)
        {
            if (!Categories.IsValid(changes[i].Category) || Categories.IsTransactional(changes[i].Category))
                errors.Add(($"$.subscriptions[{i}].category", "expected marketing or a topic (transactional messages need no subscription)"));
            if (changes[i].Channel != "*" && !ChannelNames.IsKnown(changes[i].Channel))
                errors.Add(($"$.subscriptions[{i}].channel", $"expected * or one of {string.Join(", ", ChannelNames.All)}"));
        }
        if (errors.Count > 0) throw new DeliveryValidationException(errors);
        var now = time.GetUtcNow();
        var w = await catalog.GetAsync(ws, ct);
        var subs = changes.Select(c => new Subscription(ws, profileId, c.Category, c.Channel, c.State, source, now)).ToList();
        var coolDowns = changes.Any(c => c.State == SubscriptionState.Unsubscribed && c.Category != Categories.Marketing)
            ? new List<CoolDown> { new(ws, profileId, now + w.Settings.CoolDown.UnsubscribePeriod, "unsubscribed from a topic", now) }
            : [];
        await store.ApplyDeliveryAsync(new DeliveryWrite([], [], null, coolDowns, subs), ct);
    }

    // ---- tracking ------------------------------------------------------------------------------

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Records an open when the pixel's signature is valid.</summary>
    public async Task<bool> OpenAsync(long ws, long id, string? signature, CancellationToken ct)
    {
        var w = await catalog.GetAsync(ws, ct);
        if (!w.Links.Verify(signature, "o", S(ws), S(id))) return false;
        await RecordAsync(ws, id, MessageEventKinds.Opened, "opened (pixel)", null, ct);
        return true;
    }

    /// <summary>The target of a signed click link (recording the click), or null when the link was not signed by us.</summary>
    public async Task<string?> ClickAsync(long ws, long id, string? url, string? signature, CancellationToken ct)
    {
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https")) return null;
        var w = await catalog.GetAsync(ws, ct);
        if (!w.Links.Verify(signature, "c", S(ws), S(id), url)) return null;
        await RecordAsync(ws, id, MessageEventKinds.Clicked, "clicked " + url, null, ct);
        return url;
    }

    /// <summary>Checks a signed unsubscribe / preferences link and returns its message.</summary>
    public async Task<OutboundMessage?> LinkMessageAsync(long ws, long id, string purpose, string? signature, CancellationToken ct)
    {
        var w = await catalog.GetAsync(ws, ct);
        if (!w.Links.Verify(signature, purpose, S(ws), S(id))) return null;
        return await store.GetMessageAsync(ws, id, ct);
    }

    /// <summary>One-click unsubscribe (RFC 8058): the message's category on its channel.</summary>
    public async Task<bool> UnsubscribeAsync(long ws, long id, string? signature, CancellationToken ct)
    {
        var m = await LinkMessageAsync(ws, id, "u", signature, ct);
        if (m is null) return false;
        if (m.ProfileId is { } p && !Categories.IsTransactional(m.Category))
        {
            await SetSubscriptionsAsync(ws, p, [(m.Category, m.Channel ?? "*", SubscriptionState.Unsubscribed)], "unsubscribe link " + m.PublicId, ct);
        }
        else if (m.Recipient is { } address && m.Channel is { } channel)
        {
            await store.ApplyDeliveryAsync(new DeliveryWrite([], [], [new DeliverySuppression(ws, DeliveryPolicy.SuppressionKind(channel), address,
                SuppressionReasons.Manual, "unsubscribed by " + m.PublicId, time.GetUtcNow())]), ct);
        }
        await RecordAsync(ws, id, MessageEventKinds.Unsubscribed, $"unsubscribed from {m.Category} on {m.Channel}", null, ct);
        return true;
    }

    /// <summary>
    /// A provider or client reports what happened to a message: <c>delivered</c>, <c>opened</c>, <c>clicked</c>, <c>read</c>,
    /// <c>bounced</c> (hard: the address is suppressed), <c>soft_bounced</c>, <c>complained</c> (suppressed + cool-down +
    /// unsubscribed from marketing on the channel), <c>failed</c>.
    /// </summary>
    public async Task<OutboundMessage> RecordAsync(long ws, long id, string kind, string detail, string? by, CancellationToken ct) =>
        await RecordAsync(ws, await store.GetMessageAsync(ws, id, ct) ?? throw new KeyNotFoundException($"No message has id {MessageIds.Format(id)}."),
            kind, detail, by, ct);

    /// <summary>As <see cref="RecordAsync(long, long, string, string, string?, CancellationToken)"/> for a message already read.</summary>
    public async Task<OutboundMessage> RecordAsync(long ws, OutboundMessage m, string kind, string detail, string? by, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(m);
        var id = m.Id;
        var now = time.GetUtcNow();
        var w = await catalog.GetAsync(ws, ct);
        var updated = m;
        var suppressions = new List<DeliverySuppression>();
        var coolDowns = new List<CoolDown>();
        var subs = new List<Subscription>();
        var removed = new List<RemovedIdentity>();
        var cancelFallback = false;
        switch (kind)
        {
            case MessageEventKinds.Delivered:
                updated = m with { DeliveredAt = m.DeliveredAt ?? now, Status = m.Status == MessageStatuses.Sent ? MessageStatuses.Delivered : m.Status };
                cancelFallback = m.Fallback is not { Until: FallbackRule.Read };
                break;
            case MessageEventKinds.Opened:
                updated = m with { OpenedAt = m.OpenedAt ?? now };
                cancelFallback = true;
                break;
            case MessageEventKinds.Clicked:
                updated = m with { ClickedAt = m.ClickedAt ?? now, OpenedAt = m.OpenedAt ?? now };
                cancelFallback = true;
                break;
            case MessageEventKinds.Read:
                updated = m with { ReadAt = m.ReadAt ?? now };
                cancelFallback = true;
                break;
            case MessageEventKinds.Bounced:
                updated = FailedAfterSend(m, MessageStatuses.Bounced, detail, now);
                if (m.Recipient is { } a && m.Channel is { } c)
                {
                    suppressions.Add(new DeliverySuppression(ws, DeliveryPolicy.SuppressionKind(c), a, SuppressionReasons.HardBounce, $"{m.PublicId}: {detail}", now));
                    if (DeliveryDispatcher.DeadPushToken(m) is { } dead) removed.Add(dead);
                }
                break;
            case "soft_bounced":
            case MessageEventKinds.Failed:
                updated = FailedAfterSend(m, MessageStatuses.Failed, detail, now);
                break;
            case MessageEventKinds.Complained:
                if (m.Recipient is { } ca && m.Channel is { } cc)
                    suppressions.Add(new DeliverySuppression(ws, DeliveryPolicy.SuppressionKind(cc), ca, SuppressionReasons.Complaint, $"{m.PublicId}: {detail}", now));
                if (m.ProfileId is { } p)
                {
                    coolDowns.Add(new CoolDown(ws, p, now + w.Settings.CoolDown.ComplaintPeriod, "complained about " + m.PublicId, now));
                    subs.Add(new Subscription(ws, p, Categories.Marketing, m.Channel ?? "*", SubscriptionState.Unsubscribed, "complaint " + m.PublicId, now));
                }
                break;
            case MessageEventKinds.Unsubscribed:
            case MessageEventKinds.Converted:
                break;
            default:
                throw new DeliveryValidationException([("$.type", "expected delivered, opened, clicked, read, bounced, soft_bounced, complained or failed")]);
        }
        if (cancelFallback && updated.DueAt is not null && updated.Status is MessageStatuses.Sent or MessageStatuses.Delivered) updated = updated with { DueAt = null };
        var text = by is null ? detail : $"{detail} (reported by {by})";
        await store.ApplyDeliveryAsync(new DeliveryWrite(updated == m ? [] : [updated],
            [new MessageEvent(ws, id, m.ProfileId, now, kind == "soft_bounced" ? MessageEventKinds.Failed : kind, m.Channel, text)], suppressions, coolDowns, subs,
            removed), ct);
        if (updated.Status == MessageStatuses.FallingBack) dispatcher.Wake(updated.Lane);
        if (kind == MessageEventKinds.Read && m.Channel == ChannelNames.InApp && m.Recipient is { } user) inbox.Publish(ws, user, new InboxNotice("read", m.PublicId));
        return updated;
    }

    /// <summary>A message that failed after its provider accepted it (a failed receipt, a bounce): the next channel is tried at
    /// once when there is one; a message already delivered or read keeps its status.</summary>
    private static OutboundMessage FailedAfterSend(OutboundMessage m, string status, string detail, DateTimeOffset now)
    {
        if (m.Status is not (MessageStatuses.Sent or MessageStatuses.Sending)) return m.Status == MessageStatuses.Delivered ? m : m with { Status = status };
        return m.ChannelIndex + 1 < m.Channels.Count
            ? m with { Status = MessageStatuses.FallingBack, DueAt = now, Attempts = 0, Reason = $"{m.Channel} failed: {detail}" }
            : m with { Status = status, DueAt = null, Reason = $"{m.Channel} failed: {detail}" };
    }

    // ---- the in-app inbox ------------------------------------------------------------------------

    public async Task<string> InboxSecretAsync(long ws, CancellationToken ct) => (await catalog.GetAsync(ws, ct)).InboxSecret;

    public async Task<bool> VerifyUserAsync(long ws, string userId, string? token, CancellationToken ct) =>
        LinkSigner.VerifyUserToken(await InboxSecretAsync(ws, ct), userId, token);

    /// <summary>The user's inbox message, or null when it is not theirs.</summary>
    public async Task<OutboundMessage?> InboxMessageAsync(long ws, string userId, long id, CancellationToken ct)
    {
        var m = await store.GetMessageAsync(ws, id, ct);
        return m is { Channel: ChannelNames.InApp } && m.Recipient == userId && m.Status is MessageStatuses.Delivered ? m : null;
    }

    public async Task ArchiveAsync(long ws, string userId, OutboundMessage m, CancellationToken ct)
    {
        if (m.ArchivedAt is not null) return;
        var now = time.GetUtcNow();
        await store.ApplyDeliveryAsync(new DeliveryWrite([m with { ArchivedAt = now, ReadAt = m.ReadAt ?? now }],
            [new MessageEvent(ws, m.Id, m.ProfileId, now, "archived", m.Channel, "archived by the user")]), ct);
        inbox.Publish(ws, userId, new InboxNotice("archived", m.PublicId));
    }
}
