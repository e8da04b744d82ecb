using Chuda.Domain.Delivery;

namespace Chuda.Storage;

// Delivery members of the delegating decorators (see DelegatingStore).
public abstract partial class DelegatingStore
{
    public virtual Task<TemplateRecord?> GetTemplateAsync(long workspaceId, string id, CancellationToken cancellationToken) => Inner.GetTemplateAsync(workspaceId, id, cancellationToken);
    public virtual Task<IReadOnlyList<TemplateRecord>> ListTemplatesAsync(long workspaceId, CancellationToken cancellationToken) => Inner.ListTemplatesAsync(workspaceId, cancellationToken);
    public virtual Task<TemplateVersionRecord?> GetTemplateVersionAsync(long workspaceId, string id, int? version, CancellationToken cancellationToken) => Inner.GetTemplateVersionAsync(workspaceId, id, version, cancellationToken);
    public virtual Task<IReadOnlyList<TemplateVersionRecord>> ListTemplateVersionsAsync(long workspaceId, string id, CancellationToken cancellationToken) => Inner.ListTemplateVersionsAsync(workspaceId, id, cancellationToken);
    public virtual Task<TemplateRecord?> AddTemplateVersionAsync(long workspaceId, string id, string definitionJson, DateTimeOffset at, string? by, int? expectedLatest, CancellationToken cancellationToken) => Inner.AddTemplateVersionAsync(workspaceId, id, definitionJson, at, by, expectedLatest, cancellationToken);
    public virtual Task<bool> ApproveTemplateVersionAsync(long workspaceId, string id, int version, string? by, DateTimeOffset at, CancellationToken cancellationToken) => Inner.ApproveTemplateVersionAsync(workspaceId, id, version, by, at, cancellationToken);
    public virtual Task<bool> DeleteTemplateAsync(long workspaceId, string id, CancellationToken cancellationToken) => Inner.DeleteTemplateAsync(workspaceId, id, cancellationToken);
    public virtual Task<IReadOnlyList<(OutboundMessage Message, bool Created)>> InsertMessagesAsync(IReadOnlyList<OutboundMessage> messages, CancellationToken cancellationToken) => Inner.InsertMessagesAsync(messages, cancellationToken);
    public virtual Task<IReadOnlyList<OutboundMessage>> GetDueMessagesAsync(Lane lane, DateTimeOffset now, int limit, IReadOnlyCollection<long> exclude, CancellationToken cancellationToken) => Inner.GetDueMessagesAsync(lane, now, limit, exclude, cancellationToken);
    public virtual Task<DateTimeOffset?> GetNextMessageDueAsync(CancellationToken cancellationToken) => Inner.GetNextMessageDueAsync(cancellationToken);
    public virtual Task<OutboundMessage?> GetMessageAsync(long workspaceId, long id, CancellationToken cancellationToken) => Inner.GetMessageAsync(workspaceId, id, cancellationToken);
    public virtual Task<IReadOnlyList<OutboundMessage>> GetMessagesAsync(long workspaceId, IReadOnlyCollection<long> ids, CancellationToken cancellationToken) => Inner.GetMessagesAsync(workspaceId, ids, cancellationToken);
    public virtual Task<OutboundMessage?> FindMessageByKeyAsync(long workspaceId, string idempotencyKey, CancellationToken cancellationToken) => Inner.FindMessageByKeyAsync(workspaceId, idempotencyKey, cancellationToken);
    public virtual Task<OutboundMessage?> FindMessageByProviderIdAsync(long workspaceId, string providerMessageId, CancellationToken cancellationToken) => Inner.FindMessageByProviderIdAsync(workspaceId, providerMessageId, cancellationToken);
    public virtual Task<IReadOnlyList<OutboundMessage>> ListMessagesAsync(long workspaceId, MessageQuery query, CancellationToken cancellationToken) => Inner.ListMessagesAsync(workspaceId, query, cancellationToken);
    public virtual Task<long> CountMessagesAsync(long workspaceId, MessageQuery query, CancellationToken cancellationToken) => Inner.CountMessagesAsync(workspaceId, query, cancellationToken);
    public virtual Task<IReadOnlyList<OutboundMessage>> GetDigestItemsAsync(long workspaceId, long digestId, CancellationToken cancellationToken) => Inner.GetDigestItemsAsync(workspaceId, digestId, cancellationToken);
    public virtual Task<IReadOnlyList<MessageEvent>> GetMessageEventsAsync(long workspaceId, long messageId, CancellationToken cancellationToken) => Inner.GetMessageEventsAsync(workspaceId, messageId, cancellationToken);
    public virtual Task<IReadOnlyList<MessageEvent>> GetProfileMessageEventsAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken) => Inner.GetProfileMessageEventsAsync(workspaceId, profileId, limit, cancellationToken);
    public virtual Task ApplyDeliveryAsync(DeliveryWrite write, CancellationToken cancellationToken) => Inner.ApplyDeliveryAsync(write, cancellationToken);
    public virtual Task<OutboundMessage> JoinDigestAsync(OutboundMessage item, OutboundMessage newDigest, IReadOnlyList<MessageEvent> events, CancellationToken cancellationToken) => Inner.JoinDigestAsync(item, newDigest, events, cancellationToken);
    public virtual Task<int> RecoverSendingMessagesAsync(DateTimeOffset now, CancellationToken cancellationToken) => Inner.RecoverSendingMessagesAsync(now, cancellationToken);
    public virtual Task<IReadOnlyDictionary<long, List<LedgerEntry>>> LoadLedgersAsync(long workspaceId, IReadOnlyCollection<long> profileIds, DateTimeOffset since, CancellationToken cancellationToken) => Inner.LoadLedgersAsync(workspaceId, profileIds, since, cancellationToken);
    public virtual Task<IReadOnlyDictionary<long, Domain.Profiles.ProfileRecord>> GetProfilesByIdAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.GetProfilesByIdAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<IReadOnlyList<Subscription>> LoadSubscriptionsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.LoadSubscriptionsAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<IReadOnlyList<CoolDown>> LoadCoolDownsAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.LoadCoolDownsAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<IReadOnlyDictionary<long, IReadOnlyList<Domain.Profiles.IdentityKey>>> LoadIdentitiesAsync(long workspaceId, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken) => Inner.LoadIdentitiesAsync(workspaceId, profileIds, cancellationToken);
    public virtual Task<IReadOnlyList<DeliverySuppression>> FindDeliverySuppressionsAsync(long workspaceId, IReadOnlyCollection<(string Kind, string Address)> addresses, CancellationToken cancellationToken) => Inner.FindDeliverySuppressionsAsync(workspaceId, addresses, cancellationToken);
    public virtual Task SetSubscriptionsAsync(IReadOnlyList<Subscription> subscriptions, CancellationToken cancellationToken) => Inner.SetSubscriptionsAsync(subscriptions, cancellationToken);
    public virtual Task<IReadOnlyList<ConsentRecord>> GetConsentLogAsync(long workspaceId, long profileId, int limit, CancellationToken cancellationToken) => Inner.GetConsentLogAsync(workspaceId, profileId, limit, cancellationToken);
    public virtual Task<IReadOnlyList<DeliverySuppression>> ListDeliverySuppressionsAsync(long workspaceId, string? kind, int limit, CancellationToken cancellationToken) => Inner.ListDeliverySuppressionsAsync(workspaceId, kind, limit, cancellationToken);
    public virtual Task<bool> RemoveDeliverySuppressionAsync(long workspaceId, string kind, string address, CancellationToken cancellationToken) => Inner.RemoveDeliverySuppressionAsync(workspaceId, kind, address, cancellationToken);
    public virtual Task<IReadOnlyList<ProviderRecord>> ListProvidersAsync(long? workspaceId, CancellationToken cancellationToken) => Inner.ListProvidersAsync(workspaceId, cancellationToken);
    public virtual Task SaveProviderAsync(ProviderRecord provider, CancellationToken cancellationToken) => Inner.SaveProviderAsync(provider, cancellationToken);
    public virtual Task<bool> DeleteProviderAsync(long workspaceId, string id, CancellationToken cancellationToken) => Inner.DeleteProviderAsync(workspaceId, id, cancellationToken);
}

public abstract partial class DelegatingProfileTransaction
{
    public virtual Task InsertMessagesAsync(IReadOnlyList<OutboundMessage> messages, CancellationToken cancellationToken) => Inner.InsertMessagesAsync(messages, cancellationToken);
    public virtual Task RecordMessageConversionsAsync(IReadOnlyCollection<Domain.Journeys.JourneyConversion> conversions, CancellationToken cancellationToken) => Inner.RecordMessageConversionsAsync(conversions, cancellationToken);
}
