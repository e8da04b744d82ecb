namespace Chuda.Domain.Profiles;

/// <summary>
/// The stored state of one unified customer profile. Identities (user id, anonymous ids, e-mail, phone, tokens)
/// live in their own rows keyed by <see cref="IdentityKey"/>; this record holds the rest.
/// </summary>
/// <param name="RoutingHash">Hash of the routing key that created the profile; its home partition is
/// <c>RoutingHash mod partitionCount</c>. Never changes, so the home is stable across merges.</param>
/// <param name="TraitsJson">A JSON object of traits, deep-merged from identify calls.</param>
/// <param name="Tags">Tags, sorted ordinally, no duplicates.</param>
/// <param name="Suppressed">Set when one of its contact points is on the erasure suppression list.</param>
/// <param name="Version">Incremented on every write; the store rejects a write whose version is not stored+1.</param>
public sealed record ProfileRecord(
    long WorkspaceId,
    long Id,
    string? UserId,
    int RoutingHash,
    string TraitsJson,
    IReadOnlyList<string> Tags,
    string? Timezone,
    string? Locale,
    bool Suppressed,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    long Version);

/// <summary>An identity row: <paramref name="Key"/> points at profile <paramref name="ProfileId"/>.</summary>
/// <param name="Claim">The writer believes the identity is new: storing it must not take it from another profile.
/// If it already points elsewhere (another partition claimed it first), the write is a concurrency conflict.
/// False: the identity moves to <paramref name="ProfileId"/> wherever it pointed (push tokens change hands).</param>
public sealed record IdentityRow(long WorkspaceId, IdentityKey Key, long ProfileId, DateTimeOffset CreatedAt, bool Claim = false);

/// <summary>One stored event of a profile's history (the event log is the source of truth for later work).</summary>
/// <param name="Seq">Store-assigned, strictly increasing per store; 0 before it is stored.</param>
/// <param name="Type">Segment type: identify, track, page, screen, group, alias.</param>
/// <param name="Name">The track event name, or the page/screen name; null otherwise.</param>
/// <param name="PayloadJson">The normalised Segment message as stored.</param>
public sealed record EventRow(
    long WorkspaceId,
    long ProfileId,
    long Seq,
    string MessageId,
    string Type,
    string? Name,
    DateTimeOffset Timestamp,
    DateTimeOffset ReceivedAt,
    string PayloadJson);

/// <summary>A salted hash of an erased contact point (e-mail or phone) that must stay unmarketable.</summary>
public sealed record SuppressionRow(long WorkspaceId, string Kind, string Hash, string Reason, DateTimeOffset CreatedAt);

/// <summary>What an erasure removed.</summary>
public sealed record ErasureCounts(int Profiles, int Identities, int Events, int Suppressions);

/// <summary>Cursor for newest-first paging of a profile's events.</summary>
public readonly record struct EventCursor(DateTimeOffset Timestamp, long Seq);
