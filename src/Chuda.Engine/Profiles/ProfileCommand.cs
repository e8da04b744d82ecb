using System.Text.Json;
using Chuda.Domain.Ingestion;
using Chuda.Domain.Profiles;

namespace Chuda.Engine.Profiles;

/// <summary>
/// Everything that changes a profile is a command applied by the profile's partition, in arrival order:
/// ingested messages and management-API edits alike. That is what makes a profile single-writer.
/// </summary>
public abstract record ProfileCommand(long WorkspaceId)
{
    /// <summary>The key the command is first routed by (user id, else anonymous id).</summary>
    public abstract string RoutingKey { get; }

    /// <summary>The routing hash when the command addresses a known profile directly (else it is derived from <see cref="RoutingKey"/>).</summary>
    public virtual int? KnownRoutingHash => null;
}

/// <summary>Apply one Segment message.</summary>
public sealed record IngestMessage(long WorkspaceId, SegmentMessage Message) : ProfileCommand(WorkspaceId)
{
    public override string RoutingKey => Message.UserId is { } userId ? "u:" + userId : "a:" + Message.AnonymousId;
}

/// <summary>A management-API edit of a known profile, addressed by an identity (usually the user id).</summary>
public abstract record ProfileEdit(long WorkspaceId, IdentityKey Target) : ProfileCommand(WorkspaceId)
{
    public override string RoutingKey => Target.Kind switch
    {
        IdentityKinds.UserId => "u:" + Target.Value,
        IdentityKinds.AnonymousId => "a:" + Target.Value,
        _ => Target.ToString(),
    };
}

public sealed record ChangeTags(long WorkspaceId, IdentityKey Target, IReadOnlyList<string> Add, IReadOnlyList<string> Remove)
    : ProfileEdit(WorkspaceId, Target);

/// <summary>Deep-merge traits (JSON null unsets).</summary>
public sealed record PatchTraits(long WorkspaceId, IdentityKey Target, JsonElement Traits) : ProfileEdit(WorkspaceId, Target);

/// <summary>Erasure (PIPL / GDPR): remove the person, keep salted hashes of contact points suppressed.</summary>
public sealed record EraseProfile(long WorkspaceId, IdentityKey Target, string WorkspaceSalt, DateTimeOffset At) : ProfileEdit(WorkspaceId, Target);

/// <summary>
/// Re-evaluate a known profile's segments: the time-dependent ones when its durable re-check is due
/// (<paramref name="DueAt"/>), or the segments a backfill is computing (<paramref name="SegmentKeys"/>).
/// </summary>
public sealed record RecheckSegments(long WorkspaceId, long ProfileId, int RoutingHash, DateTimeOffset? DueAt, IReadOnlyList<long>? SegmentKeys)
    : ProfileCommand(WorkspaceId)
{
    public override string RoutingKey => "#" + ProfileId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public override int? KnownRoutingHash => RoutingHash;
}

/// <summary>
/// Does nothing, on one partition: when it completes, every command queued on that partition before it has committed.
/// See <see cref="ProfilePartitions.BarrierAsync"/>.
/// </summary>
public sealed record PartitionBarrier(long WorkspaceId, int Partition) : ProfileCommand(WorkspaceId)
{
    public override string RoutingKey => "#barrier";

    public override int? KnownRoutingHash => Partition;
}

/// <summary>The outcome of one command.</summary>
public abstract record CommandOutcome
{
    public static readonly CommandOutcome Applied = new AppliedOutcome();
    public static readonly CommandOutcome Duplicate = new DuplicateOutcome();
    public static readonly CommandOutcome NotFound = new NotFoundOutcome();
}

public sealed record AppliedOutcome : CommandOutcome;

/// <summary>The message id was seen before: acknowledged, not applied again.</summary>
public sealed record DuplicateOutcome : CommandOutcome;

public sealed record NotFoundOutcome : CommandOutcome;

public sealed record Erased(ErasureCounts Counts) : CommandOutcome;
