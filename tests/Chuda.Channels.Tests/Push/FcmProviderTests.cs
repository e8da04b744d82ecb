using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chuda.Channels.Providers;
using Chuda.Channels.Push;
using Chuda.Domain.Templates;
using Chuda.Testing;
using Microsoft.AspNetCore.Http;

namespace Chuda.Channels.Tests.Push;

/// <summary>
/// A fake of Google's OAuth token endpoint and the FCM v1 API that checks what it receives: the JWT assertion's RS256 signature
/// (with the test service account's public key) and claims, the bearer token on every send, the path and the body's shape.
/// The registration token chooses the answer (FCM's documented error bodies).
/// </summary>
internal sealed class FakeFcm : IAsyncDisposable
{
    private readonly RSA _publicKey;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, bool> _validTokens = new();
    private int _issued;
    private int _messages;
    private int _unauthorized;

    private FakeFcm(RSA publicKey, TimeProvider time)
    {
        _publicKey = publicKey;
        _time = time;
    }

    public FakeServer Server { get; private set; } = null!;

    public const string Email = "chuda@shop-test.iam.gserviceaccount.com";

    public int TokenRequests => Volatile.Read(ref _issued);

    /// <summary>Sends refused with 401 for their access token.</summary>
    public int Unauthorized => Volatile.Read(ref _unauthorized);

    public ConcurrentQueue<string> Problems { get; } = new();

    public ConcurrentQueue<JsonObject> Sent { get; } = new();

    /// <summary>Makes the API refuse every token issued so far (as if they had expired on Google's side).</summary>
    public void RevokeAll()
    {
        foreach (var key in _validTokens.Keys) _validTokens[key] = false;
    }

    public Uri TokenUri => new(Server.Address, "token");

    public static async Task<FakeFcm> StartAsync(RSA key, TimeProvider time)
    {
        var publicKey = RSA.Create();
        publicKey.ImportParameters(key.ExportParameters(false));
        var fake = new FakeFcm(publicKey, time);
        fake.Server = await FakeServer.StartAsync(fake.HandleAsync);
        return fake;
    }

    private void Problem(string what) => Problems.Enqueue(what);

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value!;
        if (path == "/token") await TokenAsync(context);
        else if (path == "/v1/projects/shop-test/messages:send") await SendAsync(context);
        else
        {
            Problem("unexpected path " + path);
            await FakeServer.RespondAsync(context, 404, "{\"error\":{\"code\":404,\"message\":\"not found\",\"status\":\"NOT_FOUND\"}}");
        }
    }

    private async Task TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer") Problem("grant_type " + form["grant_type"]);
        var jwt = Jwt.Decode(form["assertion"].ToString());
        if (jwt is not { } token)
        {
            Problem("assertion is not a JWT");
            await FakeServer.RespondAsync(context, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"bad assertion\"}");
            return;
        }
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var claims = token.Claims;
        var ok = _publicKey.VerifyData(token.SigningInput, token.Signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            && token.Header.GetProperty("alg").GetString() == "RS256"
            && token.Header.GetProperty("kid").GetString() == "key-1"
            && claims.GetProperty("iss").GetString() == Email
            && claims.GetProperty("scope").GetString() == "https://www.googleapis.com/auth/firebase.messaging"
            && claims.GetProperty("aud").GetString() == TokenUri.ToString()
            && claims.GetProperty("iat").GetInt64() == now
            && claims.GetProperty("exp").GetInt64() == now + 3600;
        if (!ok)
        {
            Problem("assertion did not verify: " + claims);
            await FakeServer.RespondAsync(context, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}");
            return;
        }
        var access = $"ya29.test-{Interlocked.Increment(ref _issued)}";
        _validTokens[access] = true;
        await FakeServer.RespondAsync(context, 200, JsonSerializer.Serialize(new { access_token = access, expires_in = 3599, token_type = "Bearer" }));
    }

    private static string ErrorBody(int code, string status, string message, string? errorCode = null, string? field = null)
    {
        var details = new JsonArray();
        if (errorCode is not null) details.Add(new JsonObject { ["@type"] = "type.googleapis.com/google.firebase.fcm.v1.FcmError", ["errorCode"] = errorCode });
        if (field is not null)
            details.Add(new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.BadRequest",
                ["fieldViolations"] = new JsonArray(new JsonObject { ["field"] = field, ["description"] = message }),
            });
        return new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message, ["status"] = status, ["details"] = details } }.ToJsonString();
    }

    private async Task SendAsync(HttpContext context)
    {
        var auth = context.Request.Headers.Authorization.ToString();
        if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || !_validTokens.TryGetValue(auth["Bearer ".Length..], out var valid) || !valid)
        {
            Interlocked.Increment(ref _unauthorized);
            await FakeServer.RespondAsync(context, 401, ErrorBody(401, "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."));
            return;
        }
        if (!context.Request.ContentType!.StartsWith("application/json", StringComparison.Ordinal)) Problem("content type " + context.Request.ContentType);
        var body = JsonNode.Parse(await FakeServer.ReadBodyAsync(context))!.AsObject();
        var message = body["message"]!.AsObject();
        if (body.Count != 1 || message["token"] is null) Problem("shape " + body.ToJsonString());
        if (message["data"] is JsonObject data && data.Any(p => p.Value!.GetValueKind() != JsonValueKind.String)) Problem("non-string data value");
        Sent.Enqueue(body);
        var token = (string)message["token"]!;
        var (status, json) = token switch
        {
            "unregistered" => (404, ErrorBody(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")),
            "invalid" => (400, ErrorBody(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT")),
            "bad-data" => (400, ErrorBody(400, "INVALID_ARGUMENT", "Invalid value at 'message.data[0].value' (TYPE_STRING), 12", field: "message.data[0].value")),
            "quota" => (429, ErrorBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric", "QUOTA_EXCEEDED")),
            "unavailable" => (503, ErrorBody(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE")),
            "internal" => (500, ErrorBody(500, "INTERNAL", "Internal error encountered.", "INTERNAL")),
            "mismatch" => (403, ErrorBody(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")),
            "third-party" => (401, ErrorBody(401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service", "THIRD_PARTY_AUTH_ERROR")),
            _ => (200, JsonSerializer.Serialize(new { name = $"projects/shop-test/messages/0:{Interlocked.Increment(ref _messages)}" })),
        };
        if (status == 429) context.Response.Headers.RetryAfter = "30";
        await FakeServer.RespondAsync(context, status, json);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _publicKey.Dispose();
    }
}

public sealed class FcmProviderTests
{
    private static JsonElement Config(RSA key, FakeFcm fcm, object? platforms = null) => JsonSerializer.SerializeToElement(new Dictionary<string, object?>
    {
        ["projectId"] = "shop-test",
        ["serviceAccount"] = new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = "shop-test",
            ["private_key_id"] = "key-1",
            ["private_key"] = key.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = FakeFcm.Email,
            ["token_uri"] = fcm.TokenUri.ToString(),
        },
        ["endpoint"] = fcm.Server.Address.ToString(),
        ["platforms"] = platforms ?? new[] { "android" },
    });

    private static ProviderMessage Message(string recipient, string id = "m_1", string category = "transactional", PushContent? content = null) =>
        new(id, "idem-" + id, "push", recipient,
            content ?? new PushContent("订单已发货", "Your order shipped", new Dictionary<string, string> { ["order"] = "A-1" }, "shop://orders/A-1", "https://cdn.example/a.png"),
            category, new Dictionary<string, string>());

    [Fact]
    public async Task Sends_with_one_cached_access_token_and_refreshes_it_before_expiry()
    {
        using var key = RSA.Create(2048);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var fcm = await FakeFcm.StartAsync(key, time);
        var factory = new FcmProviderFactory(time);
        var config = Config(key, fcm);
        Assert.Empty(factory.Validate(config));
        await using var provider = factory.Create("fcm", "push", config, NullReportSink.Instance);
        Assert.True(provider.Accepts("android:tok"));
        Assert.False(provider.Accepts("ios:tok"));
        Assert.False(provider.Accepts("web:{}"));

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => provider.SendAsync(Message($"android:device-{i}", $"m_{i}"), CancellationToken.None)));
        Assert.All(results, r => Assert.Equal(ProviderOutcome.Accepted, r.Outcome));
        Assert.All(results, r => Assert.StartsWith("projects/shop-test/messages/0:", r.ProviderMessageId, StringComparison.Ordinal));
        Assert.Equal(1, fcm.TokenRequests);

        time.Advance(TimeSpan.FromMinutes(57)); // 2 min 59 s left: still used
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message("android:a"), CancellationToken.None)).Outcome);
        Assert.Equal(1, fcm.TokenRequests);
        time.Advance(TimeSpan.FromMinutes(2)); // 59 s left: replaced
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message("android:b"), CancellationToken.None)).Outcome);
        Assert.Equal(2, fcm.TokenRequests);
        Assert.Empty(fcm.Problems);

        var sent = fcm.Sent.Last()["message"]!;
        Assert.Equal("android:b"[8..], (string)sent["token"]!);
        Assert.Equal("订单已发货", (string)sent["notification"]!["title"]!);
        Assert.Equal("Your order shipped", (string)sent["notification"]!["body"]!);
        Assert.Equal("https://cdn.example/a.png", (string)sent["notification"]!["image"]!);
        Assert.Equal("A-1", (string)sent["data"]!["order"]!);
        Assert.Equal("shop://orders/A-1", (string)sent["data"]!["deep_link"]!);
        Assert.Equal("high", (string)sent["android"]!["priority"]!);
        Assert.Equal("86400s", (string)sent["android"]!["ttl"]!);
    }

    [Fact]
    public async Task A_refused_access_token_is_refreshed_once_and_the_send_retried()
    {
        using var key = RSA.Create(2048);
        var time = new FakeTimeProvider();
        await using var fcm = await FakeFcm.StartAsync(key, time);
        await using var provider = new FcmProviderFactory(time).Create("fcm", "push", Config(key, fcm), NullReportSink.Instance);
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message("android:a"), CancellationToken.None)).Outcome);
        fcm.RevokeAll();
        var result = await provider.SendAsync(Message("android:b"), CancellationToken.None);
        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        Assert.Equal(2, fcm.TokenRequests);
        Assert.Equal(1, fcm.Unauthorized);
        Assert.Equal(2, fcm.Sent.Count);
        Assert.Empty(fcm.Problems);
    }

    [Fact]
    public async Task Documented_errors_map_to_outcomes()
    {
        using var key = RSA.Create(2048);
        var time = new FakeTimeProvider();
        await using var fcm = await FakeFcm.StartAsync(key, time);
        await using var provider = new FcmProviderFactory(time).Create("fcm", "push", Config(key, fcm, new[] { "android", "ios" }), NullReportSink.Instance);
        async Task<ProviderResult> Send(string token) => await provider.SendAsync(Message("android:" + token), CancellationToken.None);

        var unregistered = await Send("unregistered");
        Assert.True(unregistered is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: true, ProviderDown: false }, unregistered.Detail);
        Assert.Contains("UNREGISTERED", unregistered.Detail, StringComparison.Ordinal);
        var invalid = await Send("invalid");
        Assert.True(invalid is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: true, ProviderDown: false }, invalid.Detail);
        var badData = await Send("bad-data");
        Assert.True(badData is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: false, ProviderDown: false }, badData.Detail);
        var quota = await Send("quota");
        Assert.True(quota is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: false }, quota.Detail);
        Assert.Equal(TimeSpan.FromSeconds(30), quota.RetryAfter);
        foreach (var down in new[] { "unavailable", "internal", "mismatch", "third-party" })
        {
            var result = await Send(down);
            Assert.True(result is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: true, HardBounce: false }, down + ": " + result.Detail);
        }
        // THIRD_PARTY_AUTH_ERROR is a 401 that a new access token does not cure: no refresh.
        Assert.Equal(1, fcm.TokenRequests);
        Assert.Empty(fcm.Problems);
    }

    [Fact]
    public async Task Ios_tokens_get_an_apns_block_and_data_only_messages_have_no_notification()
    {
        using var key = RSA.Create(2048);
        var time = new FakeTimeProvider();
        await using var fcm = await FakeFcm.StartAsync(key, time);
        await using var provider = new FcmProviderFactory(time).Create("fcm", "push", Config(key, fcm, new[] { "android", "ios" }), NullReportSink.Instance);
        Assert.True(provider.Accepts("ios:x"));
        var silent = new PushContent(null, null, new Dictionary<string, string> { ["sync"] = "1" }, null, null);
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message("ios:apple-1", content: silent, category: "marketing"), CancellationToken.None)).Outcome);
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message("android:droid-1", "m_2", "marketing"), CancellationToken.None)).Outcome);
        var sent = fcm.Sent.ToArray();
        var ios = sent[0]["message"]!.AsObject();
        Assert.False(ios.ContainsKey("notification"));
        Assert.Equal("background", (string)ios["apns"]!["headers"]!["apns-push-type"]!);
        Assert.Equal("5", (string)ios["apns"]!["headers"]!["apns-priority"]!);
        Assert.Equal(1, (int)ios["apns"]!["payload"]!["aps"]!["content-available"]!);
        Assert.Equal("1", (string)ios["data"]!["sync"]!);
        Assert.False(ios.ContainsKey("android"));
        Assert.Equal("normal", (string)sent[1]["message"]!["android"]!["priority"]!);
        Assert.Empty(fcm.Problems);
    }

    [Fact]
    public async Task A_token_endpoint_that_refuses_or_a_dead_api_is_the_providers_failure()
    {
        using var key = RSA.Create(2048);
        using var wrongKey = RSA.Create(2048);
        var time = new FakeTimeProvider();
        await using var fcm = await FakeFcm.StartAsync(key, time);
        // Signed with a key the fake does not know: invalid_grant.
        await using var provider = new FcmProviderFactory(time).Create("fcm", "push", Config(wrongKey, fcm), NullReportSink.Instance);
        var refused = await provider.SendAsync(Message("android:a"), CancellationToken.None);
        Assert.True(refused is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: true }, refused.Detail);
        Assert.Contains("invalid_grant", refused.Detail, StringComparison.Ordinal);
        Assert.Empty(fcm.Sent);

        var config = JsonNode.Parse(Config(key, fcm).GetRawText())!.AsObject();
        config["endpoint"] = $"http://127.0.0.1:{Chuda.Channels.Tests.Email.Peers.FreePort()}/";
        await using var dead = new FcmProviderFactory(time).Create("fcm", "push", JsonSerializer.SerializeToElement(config), NullReportSink.Instance);
        var result = await dead.SendAsync(Message("android:a"), CancellationToken.None);
        Assert.True(result is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: true }, result.Detail);
    }

    [Fact]
    public void Configuration_validation_names_the_paths()
    {
        var factory = new FcmProviderFactory(TimeProvider.System);
        Assert.Equal(["serviceAccount"], factory.SecretFields);
        var bad = JsonSerializer.SerializeToElement(new
        {
            serviceAccount = new { client_email = "a@b", private_key = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", token_uri = "ftp://x" },
            platforms = new[] { "windows" },
            endpoint = "nope",
            extra = 1,
        });
        var paths = factory.Validate(bad).Select(e => e.Path).ToHashSet();
        Assert.Equal(new HashSet<string>
        {
            "$.config.projectId", "$.config.serviceAccount.private_key", "$.config.serviceAccount.token_uri", "$.config.platforms", "$.config.endpoint", "$.config.extra",
        }, paths);
        using var key = RSA.Create(2048);
        var asString = JsonSerializer.SerializeToElement(new
        {
            projectId = "p-1",
            serviceAccount = JsonSerializer.Serialize(new { client_email = "a@b.iam.gserviceaccount.com", private_key = key.ExportPkcs8PrivateKeyPem() }),
        });
        Assert.Empty(factory.Validate(asString));
        Assert.Equal(GoogleServiceAccount.DefaultTokenUri, FcmProviderFactory.Options(asString).ServiceAccount.TokenUri);
    }
}
