using System.Globalization;
using Chuda.Domain.Journeys;
using Chuda.Domain.Profiles;
using Chuda.Engine.Profiles;

namespace Chuda.Engine.Journeys;

/// <summary>A journey timer came due: wake the instance (a wait, a wait-for-event timeout, or a scheduled entry).
/// Stale when the instance's due time is no longer <paramref name="DueAt"/> (another writer moved it): then it does nothing.</summary>
public sealed record FireJourneyTimer(long WorkspaceId, long InstanceId, long ProfileId, int RoutingHash, DateTimeOffset DueAt) : ProfileCommand(WorkspaceId)
{
    public override string RoutingKey => "#" + ProfileId.ToString(CultureInfo.InvariantCulture);

    public override int? KnownRoutingHash => RoutingHash;
}

/// <summary>
/// Enter a profile into a journey: by identity (the API trigger, <paramref name="Target"/>) or by profile id (broadcasts,
/// activation walks). <paramref name="EntryKey"/> makes it idempotent per profile; <paramref name="Idempotency"/> carries the API's
/// Idempotency-Key record; <paramref name="EnterAt"/> schedules the entry for later (per-user-zone broadcasts);
/// <paramref name="DateTriggerOnly"/> only (re)schedules a date-trait entry from the profile's current traits;
/// <paramref name="LocalEnterAt"/> schedules the entry at that local time in the profile's own zone (broadcasts in each user's zone).
/// </summary>
public sealed record EnterJourney(
    long WorkspaceId,
    IdentityKey? Target,
    long? ProfileId,
    int? RoutingHash,
    long JourneyKey,
    string EntryKey,
    string? PropertiesJson,
    JourneyTriggerRecord? Idempotency,
    DateTimeOffset? EnterAt,
    bool DateTriggerOnly = false,
    DateTime? LocalEnterAt = null) : ProfileCommand(WorkspaceId)
{
    public override string RoutingKey => Target is { } t
        ? t.Kind switch
        {
            IdentityKinds.UserId => "u:" + t.Value,
            IdentityKinds.AnonymousId => "a:" + t.Value,
            _ => t.ToString(),
        }
        : "#" + ProfileId!.Value.ToString(CultureInfo.InvariantCulture);

    public override int? KnownRoutingHash => Target is null ? RoutingHash : null;
}

/// <summary>What an <see cref="EnterJourney"/> did. Filled in by the journey stage before the batch commits.</summary>
public sealed record JourneyEntryOutcome : CommandOutcome
{
    /// <summary><c>entered</c>, <c>scheduled</c>, <c>filtered</c>, <c>not_reentrant</c>, <c>cap_reached</c>, <c>not_accepting</c>,
    /// <c>duplicate</c> (the entry key was used), <c>replayed</c> (same Idempotency-Key and body as before),
    /// <c>idempotency_mismatch</c> (same key, different body).</summary>
    public string Result { get; internal set; } = "not_accepting";

    public long? InstanceId { get; internal set; }
}
