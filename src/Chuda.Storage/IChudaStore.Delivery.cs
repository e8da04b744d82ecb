using Chuda.Domain.Delivery;

namespace Chuda.Storage;

/// <summary>Delivery: templates, the message outbox and timelines, subscriptions and consent, suppressions, cool-downs and
/// channel providers. A merged profile's delivery rows move to the survivor; an erased profile's are deleted.</summary>
public partial interface IChudaStore
{
    // ---- templates ---------------------------------------------------------------------------

    Task<TemplateRecord?> GetTemplateAsync(long workspaceId, string id, CancellationToken cancellationToken);

    /// <summary>Templates of the workspace ordered by id (ordinal).</summary>
    Task<IReadOnlyList<TemplateRecord>> ListTemplatesAsync(long workspaceId, CancellationToken cancellationToken);

    /// <summary>A version of a template; the latest when <paramref name="version"/> is null.</summary>
    Task<TemplateVersionRecord?> GetTemplateVersionAsync(long workspaceId, string id, int? version, CancellationToken cancellationToken);

    /// <summary>Versions of a template, newest first.</summary>
    Task<IReadOnlyList<TemplateVersionRecord>> ListTemplateVersionsAsync(long workspaceId, string id, CancellationToken cancellationToken);

    /// <summary>Adds a new version (creating the template when it is new) and returns the template. When
    /// <paramref name="expectedLatest"/> is given and the stored latest version differs, nothing is written and null is returned.</summary>
    Task<TemplateRecord?> AddTemplateVersionAsync(long workspaceId, string id, string definitionJson, DateTimeOffset at, string? by, int? expectedLatest,
        CancellationToken cancellationToken);

    /// <summary>Marks a version approved (and the template's approved version, when newer). False when there is no such version.</summary>
    Task<bool> ApproveTemplateVersionAsync(long workspaceId, string id, int version, string? by, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Deletes a template and its versions. False when there was none.</summary>
    Task<bool> DeleteTemplateAsync(long workspaceId, string id, CancellationToken cancellationToken);

    // ---- the outbox --------------------------------------------------------------------------

    /// <summary>Stores new messages (ids assigned by the store), each with a <c>queued</c> timeline entry naming its source. A
    /// message whose idempotency key the workspace already has is not stored again. Returns, in order, the stored message for each key (the existing one for a repeat) and whether it was new.</summary>
    Task<IReadOnlyList<(OutboundMessage Message, bool Created)>> InsertMessagesAsync(IReadOnlyList<OutboundMessage> messages, CancellationToken cancellationToken);

    /// <summary>Messages of a lane that are due (<c>due_at ≤ now</c>), earliest first, at most <paramref name="limit"/>, skipping
    /// <paramref name="exclude"/> (in flight in this process).</summary>
    Task<IReadOnlyList<OutboundMessage>> GetDueMessagesAsync(Lane lane, DateTimeOffset now, int limit, IReadOnlyCollection<long> exclude, CancellationToken cancellationToken);

    /// <summary>The earliest due time of any message, or null when none is due ever.</summary>
    Task<DateTimeOffset?> GetNextMessageDueAsync(CancellationToken cancellationToken);

    Task<OutboundMessage?> GetMessageAsync(long workspaceId, long id, CancellationToken cancellationToken);

    Task<IReadOnlyList<OutboundMessage>> GetMessagesAsync(long workspaceId, IReadOnlyCollection<long> ids, CancellationToken cancellationToken);

    Task<OutboundMessage?> FindMessageByKeyAsync(long workspaceId, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>The message a provider knows by <paramref name="providerMessageId"/> (for delivery callbacks).</summary>
    Task<OutboundMessage?> FindMessageByProviderIdAsync(long workspaceId, string providerMessageId, CancellationToken cancellationToken);

    /// <summary>Messages of the workspace matching the query, newest (highest id) first.</summary>
    Task<IReadOnlyList<OutboundMessage>> ListMessagesAsync(long workspaceId, MessageQuery query, CancellationToken cancellationToken);

    /// <summary>How many messages match (for unread counts).</summary>
    Task<long> CountMessagesAsync(long workspaceId, MessageQuery query, CancellationToken cancellationToken);

    /// <summary>The items merged into a digest, oldest first.</summary>
    Task<IReadOnlyList<OutboundMessage>> GetDigestItemsAsync(long workspaceId, long digestId, CancellationToken cancellationToken);

    /// <summary>A message's timeline, oldest first.</summary>
    Task<IReadOnlyList<MessageEvent>> GetMessageEventsAsync(long workspaceId, long messageId, CancellationToken cancellationToken);

    /// <summary>The newest timeline entries of a person's messages, newest first.</summary>
    Task<IReadOnlyList<MessageEvent>> GetProfileMessageEventsAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken);

    /// <summary>Applies one dispatcher step atomically: message rows replaced, timeline entries, suppressions (an existing one is
    /// kept), cool-downs (the later end wins) and subscriptions (see <see cref="SetSubscriptionsAsync"/>).</summary>
    Task ApplyDeliveryAsync(DeliveryWrite write, CancellationToken cancellationToken);

    /// <summary>Joins <paramref name="item"/> to the person's open digest for its digest key, opening <paramref name="newDigest"/>
    /// (status collecting, ids assigned by the store) when there is none; in one transaction the item is stored as merged with the
    /// digest's id and the events are written (an event whose message id is 0 is the digest's). Returns the digest. Exactly one
    /// open digest per (profile, key) exists whatever the concurrency.</summary>
    Task<OutboundMessage> JoinDigestAsync(OutboundMessage item, OutboundMessage newDigest, IReadOnlyList<MessageEvent> events, CancellationToken cancellationToken);

    /// <summary>Messages whose provider accepted them but whose state is unsure after a crash (status sending) become due now.
    /// Returns how many.</summary>
    Task<int> RecoverSendingMessagesAsync(DateTimeOffset now, CancellationToken cancellationToken);

    // ---- what the pipeline reads about people ------------------------------------------------

    /// <summary>The stored profiles among <paramref name="profileIds"/> (missing ones are absent), in one round trip.</summary>
    Task<IReadOnlyDictionary<long, Domain.Profiles.ProfileRecord>> GetProfilesByIdAsync(long workspaceId, IReadOnlyCollection<long> profileIds,
        CancellationToken cancellationToken);

    /// <summary>Per profile, messages dispatched at or after <paramref name="since"/>, oldest first.</summary>
    Task<IReadOnlyDictionary<long, List<LedgerEntry>>> LoadLedgersAsync(long workspaceId, IReadOnlyCollection<long> profileIds, DateTimeOffset since,
        CancellationToken cancellationToken);

    Task<IReadOnlyList<Subscription>> LoadSubscriptionsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken);

    Task<IReadOnlyList<CoolDown>> LoadCoolDownsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken);

    /// <summary>Identities of several profiles.</summary>
    Task<IReadOnlyDictionary<long, IReadOnlyList<Domain.Profiles.IdentityKey>>> LoadIdentitiesAsync(long workspaceId, IReadOnlyCollection<long> profileIds,
        CancellationToken cancellationToken);

    /// <summary>Of the given (kind, address) pairs, the suppressed ones.</summary>
    Task<IReadOnlyList<DeliverySuppression>> FindDeliverySuppressionsAsync(long workspaceId, IReadOnlyCollection<(string Kind, string Address)> addresses,
        CancellationToken cancellationToken);

    // ---- consent, suppressions, cool-downs -----------------------------------------------------

    /// <summary>Upserts subscriptions and appends each to the consent log, in one transaction.</summary>
    Task SetSubscriptionsAsync(IReadOnlyList<Subscription> subscriptions, CancellationToken cancellationToken);

    Task<IReadOnlyList<ConsentRecord>> GetConsentLogAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken);

    Task<IReadOnlyList<DeliverySuppression>> ListDeliverySuppressionsAsync(long workspaceId, string? kind, int limit, CancellationToken cancellationToken);

    /// <summary>Removes a suppression. False when there was none.</summary>
    Task<bool> RemoveDeliverySuppressionAsync(long workspaceId, string kind, string address, CancellationToken cancellationToken);

    // ---- providers ---------------------------------------------------------------------------

    /// <summary>Providers of one workspace, or all when null, by workspace, channel, priority, id.</summary>
    Task<IReadOnlyList<ProviderRecord>> ListProvidersAsync(long? workspaceId, CancellationToken cancellationToken);

    /// <summary>Creates or replaces a provider.</summary>
    Task SaveProviderAsync(ProviderRecord provider, CancellationToken cancellationToken);

    Task<bool> DeleteProviderAsync(long workspaceId, string id, CancellationToken cancellationToken);
}

public partial interface IProfileTransaction
{
    /// <summary>As <see cref="IChudaStore.InsertMessagesAsync"/>, inside the batch's transaction (journey send steps).</summary>
    Task InsertMessagesAsync(IReadOnlyList<OutboundMessage> messages, CancellationToken cancellationToken);

    /// <summary>Attributes journey goal conversions to the messages the converting instance sent (idempotency keys
    /// <c>j{instance}-…</c> with a send time): a <c>converted</c> timeline entry on each.</summary>
    Task RecordMessageConversionsAsync(IReadOnlyCollection<Domain.Journeys.JourneyConversion> conversions, CancellationToken cancellationToken);
}
