using Chuda.Domain.Templates;

namespace Chuda.Domain.Delivery;

/// <summary>The channels a message can go out on (the template channels); providers for SMS, push and WeChat plug in behind
/// the same names.</summary>
public static class ChannelNames
{
    public const string Email = TemplateChannels.Email;
    public const string Sms = TemplateChannels.Sms;
    public const string Push = TemplateChannels.Push;
    public const string InApp = TemplateChannels.InApp;
    public const string WeChat = TemplateChannels.WeChat;
    public const string Webhook = TemplateChannels.Webhook;
    public const string Voice = TemplateChannels.Voice;

    /// <summary>Every channel.</summary>
    public static readonly IReadOnlyList<string> All = [Push, InApp, Email, Sms, WeChat, Webhook, Voice];

    /// <summary>The default routing order. A voice call is the most intrusive and costly channel: it is not in it, so a call is
    /// only made when the send (or the workspace's channel order, or the profile's preference) names <c>voice</c>.</summary>
    public static readonly IReadOnlyList<string> DefaultOrder = [Push, InApp, Email, Sms, WeChat, Webhook];

    public static bool IsKnown(string name) => TemplateChannels.IsKnown(name);
}

/// <summary>Message categories: transactional (never gated by marketing rules) and marketing, plus custom topics
/// (<c>newsletter</c>, <c>price_alerts</c>), which are marketing with their own subscription.</summary>
public static class Categories
{
    public const string Transactional = "transactional";
    public const string Marketing = "marketing";

    public static bool IsTransactional(string category) => category == Transactional;

    /// <summary>A topic name: lower-case letters, digits, <c>_</c> and <c>-</c>, 1–64 characters.</summary>
    public static bool IsValid(string category) =>
        category.Length is > 0 and <= 64 && category.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-');
}

/// <summary>The two lanes: transactional traffic is decided and sent by its own workers and never waits behind marketing.</summary>
public enum Lane
{
    Transactional = 0,
    Marketing = 1,
}

/// <summary>Where a message is in its life. Active statuses have a due time at which the dispatcher acts on them.</summary>
public static class MessageStatuses
{
    /// <summary>Waiting for its first decision (at its scheduled time).</summary>
    public const string Queued = "queued";
    /// <summary>Held by quiet hours until its due time.</summary>
    public const string Deferred = "deferred";
    /// <summary>A digest collecting items until its window ends.</summary>
    public const string Collecting = "collecting";
    /// <summary>Routed to a channel and handed to its provider (or about to be). After a crash it is sent again.</summary>
    public const string Sending = "sending";
    /// <summary>The chosen channel failed or did not deliver in time: the next channel is chosen at its due time.</summary>
    public const string FallingBack = "fallback";
    /// <summary>A transient provider failure: tried again at its due time.</summary>
    public const string Retrying = "retrying";
    /// <summary>Accepted by the provider. With a fallback timeout, the due time is when the next channel is tried.</summary>
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
    public const string Bounced = "bounced";
    public const string Dropped = "dropped";
    public const string Merged = "merged";
    public const string Expired = "expired";
}

/// <summary>Timeline entry kinds (<see cref="MessageEvent.Kind"/>).</summary>
public static class MessageEventKinds
{
    public const string Queued = "queued";
    public const string Deferred = "deferred";
    public const string Dropped = "dropped";
    public const string Merged = "merged";
    public const string Routed = "routed";
    public const string Skipped = "skipped";
    public const string Sent = "sent";
    public const string Retry = "retry";
    public const string Failed = "failed";
    public const string FellBack = "fell_back";
    /// <summary>A provider was down and the next provider of the same channel took the message.</summary>
    public const string FailedOver = "failed_over";
    public const string Delivered = "delivered";
    public const string Bounced = "bounced";
    public const string Opened = "opened";
    public const string Clicked = "clicked";
    public const string Read = "read";
    public const string Unsubscribed = "unsubscribed";
    public const string Complained = "complained";
    public const string Converted = "converted";
    public const string Expired = "expired";
    public const string Digested = "digested";
}

/// <summary>How to fall back when the chosen channel did not reach the person.</summary>
/// <param name="After">How long to wait for a delivery (or read) receipt before trying the next channel.</param>
/// <param name="Until">What must arrive in time: <c>delivered</c> or <c>read</c>.</param>
public sealed record FallbackRule(TimeSpan After, string Until)
{
    public const string Delivered = "delivered";
    public const string Read = "read";
}

/// <summary>
/// One message in the durable outbox. Every way of sending (journey step, transactional API, digest) creates one of
/// these; the dispatcher moves it through the pipeline. <paramref name="IdempotencyKey"/> is unique per workspace, so a
/// request repeated after a crash cannot create a second message, and it is passed to providers that accept one.
/// </summary>
/// <param name="Address">For sends to a raw address with no profile: <c>email:a@b.example</c>, <c>phone:+86…</c>.</param>
/// <param name="Channels">Ordered channel preference; empty means "the profile's preference, else the workspace order".</param>
/// <param name="ChannelIndex">How many channels of <paramref name="Channels"/> have been tried (fallback moves it on).</param>
/// <param name="DataJson">Render data: <c>{"event":{…},"journey":{…},"data":{…}}</c>.</param>
/// <param name="ContentJson">Rendered content, kept for in-app messages and the sandbox outbox.</param>
/// <param name="DispatchedAt">When the pipeline chose to send it (what frequency caps and de-duplication count).</param>
public sealed record OutboundMessage(
    long WorkspaceId,
    long Id,
    string IdempotencyKey,
    long? ProfileId,
    string? Address,
    string Source,
    long? JourneyKey,
    string? StepId,
    string? TemplateId,
    string? InlineTemplateJson,
    string Category,
    Lane Lane,
    IReadOnlyList<string> Channels,
    int ChannelIndex,
    string? Channel,
    string? Recipient,
    string? Provider,
    string? DedupKey,
    TimeSpan? DedupWindow,
    string? DigestKey,
    TimeSpan? DigestWindow,
    long? DigestId,
    FallbackRule? Fallback,
    string DataJson,
    string? Locale,
    string Status,
    DateTimeOffset? DueAt,
    int Attempts,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DispatchedAt,
    DateTimeOffset? SentAt,
    DateTimeOffset? DeliveredAt,
    DateTimeOffset? OpenedAt,
    DateTimeOffset? ClickedAt,
    DateTimeOffset? ReadAt,
    DateTimeOffset? ArchivedAt,
    string? ProviderMessageId,
    string? ContentJson,
    string? Reason)
{
    /// <summary>The public id, <c>m_</c> + the row id.</summary>
    public string PublicId => MessageIds.Format(Id);

    /// <summary>True when the person engaged with it (opened, clicked or read).</summary>
    public bool Engaged => OpenedAt is not null || ClickedAt is not null || ReadAt is not null;
}

/// <summary>Public message ids: <c>m_123</c>; digests are messages too.</summary>
public static class MessageIds
{
    public static string Format(long id) => "m_" + id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool TryParse(string? text, out long id)
    {
        id = 0;
        return text is not null && text.StartsWith("m_", StringComparison.Ordinal)
            && long.TryParse(text.AsSpan(2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out id) && id > 0;
    }
}

/// <summary>One line of a message's timeline: a decision with its reason, or something that happened to it.</summary>
public sealed record MessageEvent(long WorkspaceId, long MessageId, long? ProfileId, DateTimeOffset At, string Kind, string? Channel, string Detail);

/// <summary>Subscription state of a profile for a category on one channel (<c>*</c> = every channel).</summary>
public enum SubscriptionState
{
    Subscribed = 1,
    Unsubscribed = 2,
}

/// <summary>A profile's current subscription for (category, channel), with where it came from.</summary>
public sealed record Subscription(long WorkspaceId, long ProfileId, string Category, string Channel, SubscriptionState State, string Source, DateTimeOffset At);

/// <summary>An address no message may go to, with the reason: <c>hard_bounce</c>, <c>complaint</c>, <c>manual</c>.</summary>
/// <param name="Kind">The address kind: <c>email</c>, <c>phone</c>, <c>push</c>, <c>wechat</c>, <c>webhook</c>.</param>
public sealed record DeliverySuppression(long WorkspaceId, string Kind, string Address, string Reason, string? Detail, DateTimeOffset CreatedAt);

/// <summary>Reasons for a suppression.</summary>
public static class SuppressionReasons
{
    public const string HardBounce = "hard_bounce";
    public const string Complaint = "complaint";
    public const string Manual = "manual";
}

/// <summary>A pause of marketing for one profile: after a complaint, a topic unsubscribe, or a run of ignored messages.</summary>
public sealed record CoolDown(long WorkspaceId, long ProfileId, DateTimeOffset Until, string Reason, DateTimeOffset CreatedAt);

/// <summary>What frequency caps, de-duplication and the ignored-streak rule need to know about an earlier message.</summary>
public sealed record LedgerEntry(long MessageId, DateTimeOffset DispatchedAt, string? Channel, string Category, Lane Lane, string? DedupKey, bool Engaged);

/// <summary>A message template (its content is in versions; see docs/templates.md).</summary>
/// <param name="ApprovedVersion">The newest approved version (used when the workspace requires approval), or null.</param>
public sealed record TemplateRecord(long WorkspaceId, string Id, int LatestVersion, int? ApprovedVersion, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>One immutable version of a template.</summary>
public sealed record TemplateVersionRecord(long WorkspaceId, string TemplateId, int Version, string DefinitionJson, DateTimeOffset CreatedAt, string? CreatedBy,
    DateTimeOffset? ApprovedAt, string? ApprovedBy);

/// <summary>One change of consent, as recorded (append-only).</summary>
public sealed record ConsentRecord(long WorkspaceId, long ProfileId, string Category, string Channel, SubscriptionState State, string Source, DateTimeOffset At);

/// <summary>A channel provider configured for a workspace. <paramref name="ConfigJson"/> may hold secrets and is never returned by the API.</summary>
/// <param name="Kind">The implementation: <c>smtp</c>, <c>webhook</c>, <c>in_app</c>, <c>sandbox</c>, later <c>smpp</c>, <c>fcm</c>, …</param>
/// <param name="Priority">Lower goes first among providers of the same channel (failover order).</param>
/// <param name="RatePerSecond">At most this many sends per second through this provider (bursts wait; null = no limit).</param>
/// <param name="MaxConcurrency">At most this many sends under way at once through this provider (null = no limit).</param>
public sealed record ProviderRecord(long WorkspaceId, string Id, string Channel, string Kind, int Priority, bool Enabled, string ConfigJson, DateTimeOffset UpdatedAt,
    double? RatePerSecond = null, int? MaxConcurrency = null);

/// <summary>Filters for listing messages, newest first.</summary>
public sealed record MessageQuery(long? ProfileId = null, string? Channel = null, string? Status = null, string? Provider = null, bool? Archived = null,
    bool? Unread = null, long? BeforeId = null, int Limit = 50);

/// <summary>What one dispatcher step writes, in one transaction.</summary>
/// <param name="Updates">Whole-row replacements of existing messages (by id).</param>
/// <param name="Inserts">New messages (digests); the store assigns ids. An open digest that already exists for the same
/// (profile, digest key) makes the store raise a conflict.</param>
public sealed record DeliveryWrite(
    IReadOnlyList<OutboundMessage> Updates,
    IReadOnlyList<MessageEvent> Events,
    IReadOnlyList<DeliverySuppression>? Suppressions = null,
    IReadOnlyList<CoolDown>? CoolDowns = null,
    IReadOnlyList<Subscription>? Subscriptions = null,
    IReadOnlyList<RemovedIdentity>? RemovedIdentities = null);

/// <summary>An identity to delete because the channel said it is dead (an unregistered push token, an expired Web Push
/// subscription). Deleted only while it still belongs to <paramref name="ProfileId"/>.</summary>
public sealed record RemovedIdentity(long WorkspaceId, long ProfileId, string Kind, string Value);
