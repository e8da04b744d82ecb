using System.Text.Json;
using System.Text.RegularExpressions;
using Chuda.Domain.Workspaces;
using Chuda.Engine.Workspaces;
using Chuda.Storage;

namespace Chuda.Server.Api;

public sealed record CreateWorkspaceRequest(string Name);

/// <summary>Keys are shown once, here, and never again.</summary>
public sealed record WorkspaceCreated(string Name, string WriteKey, string AdminKey);

public sealed record WorkspaceView(string Name, DateTimeOffset CreatedAt);

public sealed record RotateKeyRequest(string Kind);

public sealed record KeyRotated(string Workspace, string Kind, string Key);

public sealed record IssueKeyRequest(string Kind);

/// <param name="Key">The new secret, shown once.</param>
/// <param name="KeyId">Its non-secret name (key_…), as the audit log and approvals name the key.</param>
public sealed record KeyIssued(string Workspace, string Kind, string Key, string KeyId);

/// <summary>A key as the key list shows it: never the secret, nor its full hash.</summary>
/// <param name="KeyId">key_ + the first 12 hex digits of the key's SHA-256 hash, as the audit log and sessions name it.</param>
/// <param name="Kind"><c>write</c> or <c>admin</c>.</param>
/// <param name="InstanceAdmin">The key may manage every workspace (the admin key of workspace <c>default</c>).</param>
/// <param name="RevokedAt">When it stopped working; null while active.</param>
public sealed record KeyView(string KeyId, string Kind, bool InstanceAdmin, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public sealed record KeyList(IReadOnlyList<KeyView> Keys);

/// <summary>Workspaces (tenants) and their keys.</summary>
public static partial class WorkspacesApi
{
    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}$")]
    private static partial Regex NamePattern();

    public static IEndpointRouteBuilder MapWorkspacesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/workspaces").WithTags("Workspaces");
        group.MapPost("/", CreateAsync).WithName("create-workspace")
            .WithSummary("Create a workspace with its own write and admin keys (instance admin key required)")
            .Accepts<CreateWorkspaceRequest>("application/json")
            .Produces<WorkspaceCreated>(StatusCodes.Status201Created).ProducesProblem(400).ProducesProblem(403).ProducesProblem(409);
        group.MapGet("/", ListAsync).WithName("list-workspaces").WithSummary("All workspaces (instance admin key required)")
            .Produces<IReadOnlyList<WorkspaceView>>().ProducesProblem(403);
        group.MapPost("/{name}/keys/rotate", RotateAsync).WithName("rotate-key")
            .WithSummary("Revoke the workspace's write or admin keys and issue a new one (its own admin key or the instance admin key)")
            .Accepts<RotateKeyRequest>("application/json")
            .Produces<KeyRotated>().ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);
        group.MapPost("/{name}/keys", IssueAsync).WithName("issue-key")
            .WithSummary("Issue one more write or admin key, keeping the others valid (its own admin key or the instance admin key); e.g. a second admin key to approve journeys")
            .Accepts<IssueKeyRequest>("application/json")
            .Produces<KeyIssued>(StatusCodes.Status201Created).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);
        group.MapGet("/{name}/keys", ListKeysAsync).WithName("list-keys")
            .WithSummary("The workspace's keys, newest first, revoked ones included unless ?revoked=false (its own admin key or the instance admin key); never the secrets")
            .Produces<KeyList>().ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);
        group.MapDelete("/{name}/keys/{keyId}", RevokeKeyAsync).WithName("revoke-key")
            .WithSummary("Revoke one key by its id (its own admin key or the instance admin key); refused for the caller's own key and the last active admin key")
            .Produces<KeyView>().ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, WorkspaceDirectory directory)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!caller.InstanceAdmin) return Problems.Forbidden("Creating workspaces needs the instance admin key (the admin key of workspace 'default').");
        var (name, error) = await ReadStringAsync(context, "name");
        if (error is not null) return error;
        if (!NamePattern().IsMatch(name!)) return Problems.Field("name", "Use 1..63 lower-case letters, digits, '-' or '_', starting with a letter or digit.");
        try
        {
            var issued = await directory.CreateAsync(name!, instanceAdmin: false, null, null, context.RequestAborted);
            return TypedResults.Created($"/api/v1/workspaces/{name}", new WorkspaceCreated(issued.Workspace.Name, issued.WriteKey, issued.AdminKey));
        }
        catch (DuplicateNameException)
        {
            return Problems.Conflict("name", $"A workspace named '{name}' exists.");
        }
    }

    private static async Task<IResult> ListAsync(HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return problem!;
        if (!caller.InstanceAdmin) return Problems.Forbidden("Listing workspaces needs the instance admin key.");
        var all = await store.ListWorkspacesAsync(context.RequestAborted);
        return TypedResults.Ok(all.Select(w => new WorkspaceView(w.Name, w.CreatedAt)).ToList());
    }

    private static async Task<IResult> RotateAsync(string name, HttpContext context, WorkspaceDirectory directory)
    {
        var request = await KeyRequestAsync(name, context, directory, "rotated");
        if (request.Problem is not null) return request.Problem;
        var key = await directory.RotateAsync(request.Workspace!, request.Kind, context.RequestAborted);
        return TypedResults.Ok(new KeyRotated(request.Workspace!.Name, request.KindText!, key));
    }

    private static async Task<IResult> IssueAsync(string name, HttpContext context, WorkspaceDirectory directory, IChudaStore store, TimeProvider time)
    {
        var request = await KeyRequestAsync(name, context, directory, "issued");
        if (request.Problem is not null) return request.Problem;
        var workspace = request.Workspace!;
        var key = await directory.IssueKeyAsync(workspace, request.Kind, context.RequestAborted);
        var keyId = WorkspaceDirectory.KeyIdOf(WorkspaceDirectory.Hash(key));
        await store.AppendAuditAsync(new Chuda.Domain.Journeys.AuditEntry(workspace.Id, 0, time.GetUtcNow(), request.Caller!.KeyId, "key.issued", "api_key", keyId,
            JsonSerializer.Serialize(new Dictionary<string, string> { ["kind"] = request.KindText! })), context.RequestAborted);
        return TypedResults.Created((string?)null, new KeyIssued(workspace.Name, request.KindText!, key, keyId));
    }

    private static async Task<IResult> ListKeysAsync(string name, string? revoked, HttpContext context, WorkspaceDirectory directory, IChudaStore store)
    {
        var (_, workspace, problem) = await KeyAdminAsync(name, context, directory, "listed");
        if (problem is not null) return problem;
        if (!Query.TryBool(revoked, "revoked", out var includeRevoked, out var badQuery)) return badQuery!;
        var keys = await store.ListApiKeysAsync(workspace!.Id, includeRevoked: includeRevoked ?? true, context.RequestAborted);
        return TypedResults.Ok(new KeyList(keys.Select(ViewOf).ToList()));
    }

    private static async Task<IResult> RevokeKeyAsync(string name, string keyId, HttpContext context, WorkspaceDirectory directory, IChudaStore store, TimeProvider time)
    {
        var (caller, workspace, problem) = await KeyAdminAsync(name, context, directory, "revoked");
        if (problem is not null) return problem;
        var keys = await store.ListApiKeysAsync(workspace!.Id, includeRevoked: true, context.RequestAborted);
        var key = keys.FirstOrDefault(k => string.Equals(WorkspaceDirectory.KeyIdOf(k.Hash), keyId, StringComparison.Ordinal));
        if (key is null) return Problems.NotFound($"Workspace '{workspace.Name}' has no key '{keyId}'.");
        if (key.RevokedAt is not null) return TypedResults.Ok(ViewOf(key)); // already revoked: nothing changes, nothing is audited
        if (keyId == caller!.KeyId)
            return Problems.Conflict("keyId", "This is the key you are signed in with; revoke it with another admin key (or rotate it).");
        if (key.Kind == ApiKeyKind.Admin && !keys.Any(k => k.RevokedAt is null && k.Kind == ApiKeyKind.Admin && k.Hash != key.Hash))
            return Problems.Conflict("keyId", $"This is the last active admin key of workspace '{workspace.Name}'; issue another admin key first, or rotate this one.");
        if (key.InstanceAdmin && !keys.Any(k => k.RevokedAt is null && k.InstanceAdmin && k.Hash != key.Hash))
            return Problems.Conflict("keyId", "This is the last active instance admin key; rotate it instead so the instance keeps one.");
        if (!await directory.RevokeKeyAsync(workspace, key.Hash, context.RequestAborted))
            return Problems.NotFound($"Workspace '{workspace.Name}' has no active key '{keyId}'."); // revoked meanwhile
        var now = time.GetUtcNow();
        await store.AppendAuditAsync(new Chuda.Domain.Journeys.AuditEntry(workspace.Id, 0, now, caller.KeyId, "key.revoked", "api_key", keyId,
            JsonSerializer.Serialize(new Dictionary<string, string> { ["kind"] = KindText(key.Kind) })), context.RequestAborted);
        var revoked = await store.FindApiKeyAsync(key.Hash, context.RequestAborted);
        return TypedResults.Ok(ViewOf(revoked ?? key with { RevokedAt = now }));
    }

    private static KeyView ViewOf(ApiKeyRecord key) =>
        new(WorkspaceDirectory.KeyIdOf(key.Hash), KindText(key.Kind), key.InstanceAdmin, key.CreatedAt, key.RevokedAt);

    private static string KindText(ApiKeyKind kind) => kind == ApiKeyKind.Admin ? "admin" : "write";

    /// <summary>An admin caller of that workspace, or the instance admin.</summary>
    private static async Task<(Caller? Caller, Workspace? Workspace, IResult? Problem)> KeyAdminAsync(
        string name, HttpContext context, WorkspaceDirectory directory, string verb)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return (null, null, problem!);
        var workspace = await directory.FindAsync(name, context.RequestAborted);
        if (workspace is null) return (caller, null, Problems.NotFound($"No workspace is named '{name}'."));
        if (!caller.InstanceAdmin && caller.Workspace.Id != workspace.Id)
            return (caller, workspace, Problems.Forbidden($"A workspace's keys are {verb} with its own admin key or the instance admin key."));
        return (caller, workspace, null);
    }

    /// <summary>The common part of the key endpoints: an admin caller of that workspace (or the instance admin) and a valid <c>kind</c>.</summary>
    private static async Task<(Caller? Caller, Workspace? Workspace, ApiKeyKind Kind, string? KindText, IResult? Problem)> KeyRequestAsync(
        string name, HttpContext context, WorkspaceDirectory directory, string verb)
    {
        var (caller, problem) = await Auth.AdminAsync(context, directory);
        if (caller is null) return (null, null, default, null, problem!);
        var workspace = await directory.FindAsync(name, context.RequestAborted);
        if (workspace is null) return (caller, null, default, null, Problems.NotFound($"No workspace is named '{name}'."));
        if (!caller.InstanceAdmin && caller.Workspace.Id != workspace.Id)
            return (caller, workspace, default, null, Problems.Forbidden($"A workspace's keys are {verb} with its own admin key or the instance admin key."));
        var (kindText, error) = await ReadStringAsync(context, "kind");
        if (error is not null) return (caller, workspace, default, null, error);
        return kindText switch
        {
            "write" => (caller, workspace, ApiKeyKind.Write, kindText, null),
            "admin" => (caller, workspace, ApiKeyKind.Admin, kindText, null),
            _ => (caller, workspace, default, null, Problems.Field("kind", "Must be 'write' or 'admin'.")),
        };
    }

    private static async Task<(string? Value, IResult? Problem)> ReadStringAsync(HttpContext context, string field)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return (null, Problems.Field("body", "Expected a JSON object."));
            if (!doc.RootElement.TryGetProperty(field, out var value)) return (null, Problems.Field(field, "Required."));
            if (value.ValueKind != JsonValueKind.String) return (null, Problems.Field(field, "Must be a string."));
            return (value.GetString(), null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.Field("body", "Malformed JSON: " + ex.Message));
        }
    }
}
