namespace Chuda.Domain.Workspaces;

/// <summary>A tenant. Every row of customer data belongs to exactly one workspace.</summary>
/// <param name="Id">Internal numeric id (never shown in URLs).</param>
/// <param name="Name">Public, unique slug such as <c>default</c>.</param>
/// <param name="Salt">Random per-workspace salt for hashing erased identities onto the suppression list.</param>
public sealed record Workspace(long Id, string Name, string Salt, DateTimeOffset CreatedAt);

public enum ApiKeyKind
{
    /// <summary>Ingestion only (Segment write key).</summary>
    Write = 1,
    /// <summary>Management API of one workspace.</summary>
    Admin = 2,
}

/// <summary>A stored API key: only the SHA-256 hash of the secret is kept.</summary>
/// <param name="InstanceAdmin">May manage workspaces (create, rotate keys) across the instance.</param>
public sealed record ApiKeyRecord(
    string Hash,
    long WorkspaceId,
    ApiKeyKind Kind,
    bool InstanceAdmin,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt);
