using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Chuda.Domain.Workspaces;
using Chuda.Storage;

namespace Chuda.Engine.Workspaces;

/// <summary>A key as its holder sees it once, at creation.</summary>
public sealed record IssuedKeys(Workspace Workspace, string WriteKey, string AdminKey);

/// <summary>Who a presented key belongs to.</summary>
/// <param name="KeyId">A stable, non-secret name for the key (<c>key_</c> + the first 12 hex digits of its hash), for audit logs and approvals.</param>
public sealed record Caller(Workspace Workspace, ApiKeyKind Kind, bool InstanceAdmin, string KeyId = "");

/// <summary>
/// Workspaces and their API keys: creation, rotation and authentication. Secrets are random 160-bit strings and are
/// stored only as SHA-256 hashes (a fast hash is right for high-entropy secrets; a slow one would only slow ingestion).
/// </summary>
public sealed class WorkspaceDirectory(IChudaStore store, TimeProvider time, EngineOptions options)
{
    public const string DefaultWorkspace = "default";

    private readonly ConcurrentDictionary<long, Workspace> _byId = new();
    private readonly ConcurrentDictionary<string, (Caller? Caller, DateTimeOffset Until)> _keys = new(StringComparer.Ordinal);

    public async ValueTask<Workspace> GetAsync(long id, CancellationToken cancellationToken)
    {
        if (_byId.TryGetValue(id, out var ws)) return ws;
        ws = await store.GetWorkspaceAsync(id, cancellationToken) ?? throw new InvalidOperationException($"Workspace {id} does not exist.");
        return _byId.GetOrAdd(id, ws);
    }

    public Task<Workspace?> FindAsync(string name, CancellationToken cancellationToken) => store.FindWorkspaceAsync(name, cancellationToken);

    /// <summary>
    /// On an empty store, creates workspace <c>default</c>; its admin key is also the instance admin key.
    /// Returns the keys when it created them (to print once), null when the store was not empty.
    /// Given keys (from <c>CHUDA_WRITE_KEY</c> / <c>CHUDA_ADMIN_KEY</c>) are used instead of random ones, and are
    /// (re-)registered on every start so scripts can rely on them.
    /// </summary>
    public async Task<IssuedKeys?> BootstrapAsync(string? writeKey, string? adminKey, CancellationToken cancellationToken)
    {
        var existing = await store.FindWorkspaceAsync(DefaultWorkspace, cancellationToken);
        if (existing is null && (await store.ListWorkspacesAsync(cancellationToken)).Count == 0)
            return await CreateAsync(DefaultWorkspace, instanceAdmin: true, writeKey, adminKey, cancellationToken);
        if (existing is not null)
        {
            if (writeKey is not null) await EnsureKeyAsync(existing, ApiKeyKind.Write, false, writeKey, cancellationToken);
            if (adminKey is not null) await EnsureKeyAsync(existing, ApiKeyKind.Admin, true, adminKey, cancellationToken);
        }
        return null;
    }

    public async Task<IssuedKeys> CreateAsync(string name, bool instanceAdmin, string? writeKey, string? adminKey, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var ws = await store.CreateWorkspaceAsync(name, NewSecret("salt_"), now, cancellationToken);
        writeKey ??= NewSecret("wk_");
        adminKey ??= NewSecret("ak_");
        await store.AddApiKeyAsync(new ApiKeyRecord(Hash(writeKey), ws.Id, ApiKeyKind.Write, false, now, null), cancellationToken);
        await store.AddApiKeyAsync(new ApiKeyRecord(Hash(adminKey), ws.Id, ApiKeyKind.Admin, instanceAdmin, now, null), cancellationToken);
        return new IssuedKeys(ws, writeKey, adminKey);
    }

    /// <summary>Revokes every key of that kind of the workspace and issues a new one, returned once.</summary>
    public async Task<string> RotateAsync(Workspace workspace, ApiKeyKind kind, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // The admin key of workspace "default" is the instance admin key, across rotations.
        var instanceAdmin = kind == ApiKeyKind.Admin && workspace.Name == DefaultWorkspace;
        await store.RevokeApiKeysAsync(workspace.Id, kind, now, cancellationToken);
        var secret = NewSecret(kind == ApiKeyKind.Write ? "wk_" : "ak_");
        await store.AddApiKeyAsync(new ApiKeyRecord(Hash(secret), workspace.Id, kind, instanceAdmin, now, null), cancellationToken);
        _keys.Clear();
        return secret;
    }

    /// <summary>Issues one more key of that kind for the workspace (others stay valid), returned once. A second admin key
    /// is what approvals need: the approver must not be the key that asked.</summary>
    public async Task<string> IssueKeyAsync(Workspace workspace, ApiKeyKind kind, CancellationToken cancellationToken)
    {
        var secret = NewSecret(kind == ApiKeyKind.Write ? "wk_" : "ak_");
        await store.AddApiKeyAsync(new ApiKeyRecord(Hash(secret), workspace.Id, kind, false, time.GetUtcNow(), null), cancellationToken);
        return secret;
    }

    /// <summary>Revokes one key of the workspace by its hash; false when it is not an active key of that workspace. The
    /// authentication cache is dropped so the key stops working on this node at once.</summary>
    public async Task<bool> RevokeKeyAsync(Workspace workspace, string hash, CancellationToken cancellationToken)
    {
        var revoked = await store.RevokeApiKeyAsync(workspace.Id, hash, time.GetUtcNow(), cancellationToken);
        _keys.Clear();
        return revoked;
    }

    /// <summary>The non-secret name of a key: <c>key_</c> + 12 hex digits of its hash.</summary>
    public static string KeyIdOf(string hash) => "key_" + hash[..12];

    /// <summary>The caller a key belongs to, or null for unknown or revoked keys.</summary>
    public async ValueTask<Caller?> AuthenticateAsync(string? secret, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > 256) return null;
        var now = time.GetUtcNow();
        if (_keys.TryGetValue(secret, out var cached) && cached.Until > now) return cached.Caller;
        var record = await store.FindApiKeyAsync(Hash(secret), cancellationToken);
        Caller? caller = null;
        if (record is { RevokedAt: null })
            caller = new Caller(await GetAsync(record.WorkspaceId, cancellationToken), record.Kind, record.InstanceAdmin, KeyIdOf(record.Hash));
        if (_keys.Count > 10_000) _keys.Clear(); // bounded: unknown keys must not grow memory without limit
        _keys[secret] = (caller, now + options.KeyCacheTtl);
        return caller;
    }

    private async Task EnsureKeyAsync(Workspace ws, ApiKeyKind kind, bool instanceAdmin, string secret, CancellationToken cancellationToken)
    {
        var hash = Hash(secret);
        if (await store.FindApiKeyAsync(hash, cancellationToken) is not null) return;
        await store.AddApiKeyAsync(new ApiKeyRecord(hash, ws.Id, kind, instanceAdmin, time.GetUtcNow(), null), cancellationToken);
    }

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string NewSecret(string prefix)
    {
        const string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        Span<char> chars = stackalloc char[28];
        for (var i = 0; i < chars.Length; i++) chars[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        return prefix + new string(chars);
    }
}
