using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chuda.Channels.Providers;
using Chuda.Channels.Push;
using Chuda.Domain.Templates;
using Chuda.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Chuda.Channels.Tests.Push;

/// <summary>
/// A fake APNs on cleartext HTTP/2 (h2c, HTTP/2 only: an HTTP/1.1 request fails) that verifies the provider token's ES256
/// signature with the key's public part, its header and claims, and the apns-* headers and payload; the device token chooses
/// Apple's documented error answers.
/// </summary>
internal sealed class FakeApns : IAsyncDisposable
{
    public const string TeamId = "TEAM123456";
    public const string KeyId = "KEY9876543";
    public const string Topic = "com.shop.app";

    private readonly ECDsa _publicKey;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, bool> _expired = new(StringComparer.Ordinal);

    private FakeApns(ECDsa publicKey, TimeProvider time)
    {
        _publicKey = publicKey;
        _time = time;
    }

    public FakeServer Server { get; private set; } = null!;

    public ConcurrentQueue<string> Problems { get; } = new();

    /// <summary>Accepted requests: headers (lower-case names) and payload.</summary>
    public ConcurrentQueue<(Dictionary<string, string> Headers, JsonObject Payload, string DeviceToken)> Received { get; } = new();

    /// <summary>Distinct provider tokens seen.</summary>
    public ConcurrentDictionary<string, long> ProviderTokens { get; } = new(StringComparer.Ordinal);

    /// <summary>The device token that selects a canned answer (hex, as real tokens are).</summary>
    public static string Device(string name) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));

    private static readonly Dictionary<string, (int Status, string Reason)> Answers = new(StringComparer.Ordinal)
    {
        [Device("unregistered")] = (410, "Unregistered"),
        [Device("bad-token")] = (400, "BadDeviceToken"),
        [Device("wrong-topic")] = (400, "DeviceTokenNotForTopic"),
        [Device("too-many")] = (429, "TooManyRequests"),
        [Device("internal")] = (500, "InternalServerError"),
        [Device("unavailable")] = (503, "ServiceUnavailable"),
    };

    /// <summary>Every provider token seen so far is answered with 403 ExpiredProviderToken from now on.</summary>
    public void ExpireProviderTokens()
    {
        foreach (var token in ProviderTokens.Keys) _expired[token] = true;
    }

    public static async Task<FakeApns> StartAsync(ECDsa key, TimeProvider time)
    {
        var publicKey = ECDsa.Create(key.ExportParameters(false));
        var fake = new FakeApns(publicKey, time);
        fake.Server = await FakeServer.StartAsync(fake.HandleAsync, HttpProtocols.Http2);
        return fake;
    }

    private static Task Reason(HttpContext context, int status, string reason, string? apnsId)
    {
        if (apnsId is not null) context.Response.Headers["apns-id"] = apnsId;
        var body = status == 410
            ? new JsonObject { ["reason"] = reason, ["timestamp"] = 1_700_000_000_000 }
            : new JsonObject { ["reason"] = reason };
        return FakeServer.RespondAsync(context, status, body.ToJsonString());
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (context.Request.Protocol != "HTTP/2") Problems.Enqueue("protocol " + context.Request.Protocol);
        var path = context.Request.Path.Value!;
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        headers.TryGetValue("apns-id", out var apnsId);
        if (context.Request.Method != "POST" || !path.StartsWith("/3/device/", StringComparison.Ordinal))
        {
            await Reason(context, 404, "BadPath", apnsId);
            return;
        }
        var auth = headers.GetValueOrDefault("authorization", "");
        if (!auth.StartsWith("bearer ", StringComparison.Ordinal))
        {
            await Reason(context, 403, "MissingProviderToken", apnsId);
            return;
        }
        var token = auth["bearer ".Length..];
        var jwt = Jwt.Decode(token);
        var valid = jwt is { } j
            && _publicKey.VerifyData(j.SigningInput, j.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            && j.Header.GetProperty("alg").GetString() == "ES256"
            && j.Header.GetProperty("kid").GetString() == KeyId
            && j.Claims.GetProperty("iss").GetString() == TeamId
            && j.Claims.EnumerateObject().Count() == 2;
        if (!valid)
        {
            await Reason(context, 403, "InvalidProviderToken", apnsId);
            return;
        }
        var iat = jwt!.Value.Claims.GetProperty("iat").GetInt64();
        ProviderTokens.TryAdd(token, iat);
        if (_time.GetUtcNow().ToUnixTimeSeconds() - iat > 3600 || _expired.ContainsKey(token))
        {
            await Reason(context, 403, "ExpiredProviderToken", apnsId);
            return;
        }
        if (headers.GetValueOrDefault("apns-topic") != Topic)
        {
            await Reason(context, 400, "BadTopic", apnsId);
            return;
        }
        if (apnsId is null || !Guid.TryParseExact(apnsId, "D", out _)) Problems.Enqueue("apns-id " + apnsId);
        if (headers.GetValueOrDefault("apns-push-type") is not ("alert" or "background")) Problems.Enqueue("apns-push-type");
        if (!long.TryParse(headers.GetValueOrDefault("apns-expiration"), out _)) Problems.Enqueue("apns-expiration");
        var payload = JsonNode.Parse(await FakeServer.ReadBodyAsync(context)) as JsonObject;
        if (payload?["aps"] is not JsonObject aps)
        {
            await Reason(context, 400, "PayloadEmpty", apnsId);
            return;
        }
        var push = headers["apns-push-type"];
        if ((push == "alert") != aps.ContainsKey("alert")) Problems.Enqueue("push type does not match the payload");
        if (headers.GetValueOrDefault("apns-priority") != (push == "alert" ? "10" : "5")) Problems.Enqueue("apns-priority");
        var device = path["/3/device/".Length..];
        if (Answers.TryGetValue(device, out var answer))
        {
            if (answer.Status == 429) context.Response.Headers.RetryAfter = "12";
            await Reason(context, answer.Status, answer.Reason, apnsId);
            return;
        }
        Received.Enqueue((headers, payload, device));
        context.Response.Headers["apns-id"] = apnsId;
        context.Response.StatusCode = 200;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _publicKey.Dispose();
    }
}

public sealed class ApnsProviderTests
{
    private static JsonElement Config(ECDsa key, FakeApns apns, string topic = FakeApns.Topic) => JsonSerializer.SerializeToElement(new
    {
        teamId = FakeApns.TeamId,
        keyId = FakeApns.KeyId,
        privateKey = key.ExportPkcs8PrivateKeyPem(),
        topic,
        environment = "sandbox",
        endpoint = apns.Server.Address.ToString(),
    });

    private static ProviderMessage Message(string device, string id = "m_1", PushContent? content = null) =>
        new(id, "idem-" + id, "push", "ios:" + device,
            content ?? new PushContent("订单已发货", "Your order shipped", new Dictionary<string, string> { ["order"] = "A-1", ["collapse_id"] = "order-A-1" },
                "shop://orders/A-1", "https://cdn.example/a.png"),
            "transactional", new Dictionary<string, string>());

    [Fact]
    public async Task Sends_over_http2_with_one_provider_token_reused_for_50_minutes()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var apns = await FakeApns.StartAsync(key, time);
        var factory = new ApnsProviderFactory(time);
        var config = Config(key, apns);
        Assert.Empty(factory.Validate(config));
        await using var provider = factory.Create("apns", "push", config, NullReportSink.Instance);
        Assert.True(provider.Accepts("ios:abc"));
        Assert.False(provider.Accepts("android:abc"));

        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => provider.SendAsync(Message(FakeApns.Device($"d{i}"), $"m_{i}"), CancellationToken.None)));
        Assert.All(results, r => Assert.Equal(ProviderOutcome.Accepted, r.Outcome));
        Assert.Equal(ApnsProvider.ApnsIdFor("idem-m_0"), results[0].ProviderMessageId);
        Assert.Single(apns.ProviderTokens);

        time.Advance(TimeSpan.FromMinutes(49));
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message(FakeApns.Device("x")), CancellationToken.None)).Outcome);
        Assert.Single(apns.ProviderTokens);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message(FakeApns.Device("y")), CancellationToken.None)).Outcome);
        Assert.Equal(2, apns.ProviderTokens.Count);
        Assert.Equal(2, ((ApnsProvider)provider).Tokens.Signed);
        Assert.Empty(apns.Problems);

        var (headers, payload, device) = apns.Received.Single(r => r.DeviceToken == FakeApns.Device("d0"));
        Assert.Equal("alert", headers["apns-push-type"]);
        Assert.Equal("10", headers["apns-priority"]);
        Assert.Equal("order-A-1", headers["apns-collapse-id"]);
        Assert.Equal(ApnsProvider.ApnsIdFor("idem-m_0"), headers["apns-id"]);
        Assert.Equal("订单已发货", (string)payload["aps"]!["alert"]!["title"]!);
        Assert.Equal("Your order shipped", (string)payload["aps"]!["alert"]!["body"]!);
        Assert.Equal("default", (string)payload["aps"]!["sound"]!);
        Assert.Equal(1, (int)payload["aps"]!["mutable-content"]!);
        Assert.Equal("A-1", (string)payload["order"]!);
        Assert.Equal("shop://orders/A-1", (string)payload["deep_link"]!);
        Assert.Equal("m_0", (string)payload["message_id"]!);
    }

    [Fact]
    public async Task Background_pushes_and_a_stable_apns_id()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var apns = await FakeApns.StartAsync(key, time);
        await using var provider = new ApnsProviderFactory(time).Create("apns", "push", Config(key, apns), NullReportSink.Instance);
        var silent = new PushContent(null, null, new Dictionary<string, string> { ["sync"] = "inbox" }, null, null);
        var first = await provider.SendAsync(Message(FakeApns.Device("s"), "m_9", silent), CancellationToken.None);
        var again = await provider.SendAsync(Message(FakeApns.Device("s"), "m_9", silent), CancellationToken.None);
        Assert.Equal(ProviderOutcome.Accepted, first.Outcome);
        Assert.Equal(first.ProviderMessageId, again.ProviderMessageId);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", first.ProviderMessageId!);
        var (headers, payload, _) = apns.Received.First();
        Assert.Equal("background", headers["apns-push-type"]);
        Assert.Equal("5", headers["apns-priority"]);
        Assert.Equal(1, (int)payload["aps"]!["content-available"]!);
        Assert.False(headers.ContainsKey("apns-collapse-id"));
        Assert.Equal("inbox", (string)payload["sync"]!);
        Assert.Empty(apns.Problems);
    }

    [Fact]
    public async Task An_expired_provider_token_is_renewed_once_and_the_push_retried()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var apns = await FakeApns.StartAsync(key, time);
        await using var provider = new ApnsProviderFactory(time).Create("apns", "push", Config(key, apns), NullReportSink.Instance);
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message(FakeApns.Device("a")), CancellationToken.None)).Outcome);
        apns.ExpireProviderTokens();
        var result = await provider.SendAsync(Message(FakeApns.Device("b")), CancellationToken.None);
        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        Assert.Equal(2, apns.ProviderTokens.Count);
        Assert.Equal(2, apns.Received.Count);
    }

    [Fact]
    public async Task Documented_reasons_map_to_outcomes()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var apns = await FakeApns.StartAsync(key, time);
        await using var provider = new ApnsProviderFactory(time).Create("apns", "push", Config(key, apns), NullReportSink.Instance);
        async Task<ProviderResult> Send(string name) => await provider.SendAsync(Message(FakeApns.Device(name)), CancellationToken.None);

        var gone = await Send("unregistered");
        Assert.True(gone is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: true, ProviderDown: false }, gone.Detail);
        Assert.Contains("Unregistered", gone.Detail, StringComparison.Ordinal);
        var bad = await Send("bad-token");
        Assert.True(bad is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: true, ProviderDown: false }, bad.Detail);
        var wrongTopic = await Send("wrong-topic");
        Assert.True(wrongTopic is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: false, ProviderDown: false }, wrongTopic.Detail);
        var throttled = await Send("too-many");
        Assert.True(throttled is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: false }, throttled.Detail);
        Assert.Equal(TimeSpan.FromSeconds(12), throttled.RetryAfter);
        foreach (var name in new[] { "internal", "unavailable" })
        {
            var down = await Send(name);
            Assert.True(down is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: true }, down.Detail);
        }
        var notHex = await provider.SendAsync(Message("not-a-token"), CancellationToken.None);
        Assert.True(notHex is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: true });
        var huge = new PushContent("t", new string('x', 5000), new Dictionary<string, string>(), null, null);
        var tooLarge = await provider.SendAsync(Message(FakeApns.Device("z"), content: huge), CancellationToken.None);
        Assert.True(tooLarge is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: false, ProviderDown: false });
        Assert.Empty(apns.Problems);
        Assert.Empty(apns.Received);
    }

    [Fact]
    public async Task A_key_apple_does_not_know_is_the_providers_failure_and_so_is_a_dead_server()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var apns = await FakeApns.StartAsync(key, time);
        await using var provider = new ApnsProviderFactory(time).Create("apns", "push", Config(other, apns), NullReportSink.Instance);
        var refused = await provider.SendAsync(Message(FakeApns.Device("a")), CancellationToken.None);
        Assert.True(refused is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: true, HardBounce: false }, refused.Detail);
        Assert.Contains("InvalidProviderToken", refused.Detail, StringComparison.Ordinal);
        Assert.Empty(apns.ProviderTokens);

        var config = JsonNode.Parse(Config(key, apns).GetRawText())!.AsObject();
        config["endpoint"] = $"http://127.0.0.1:{Chuda.Channels.Tests.Email.Peers.FreePort()}/";
        await using var dead = new ApnsProviderFactory(time).Create("apns", "push", JsonSerializer.SerializeToElement(config), NullReportSink.Instance);
        var result = await dead.SendAsync(Message(FakeApns.Device("a")), CancellationToken.None);
        Assert.True(result is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: true }, result.Detail);
    }

    [Fact]
    public async Task The_fake_refuses_http_1_1_so_the_provider_really_speaks_http2()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var apns = await FakeApns.StartAsync(key, TimeProvider.System);
        using var http = new HttpClient();
        try
        {
            using var response = await http.PostAsync(new Uri(apns.Server.Address, "3/device/00"), new StringContent("{}"));
            Assert.False(response.IsSuccessStatusCode);
        }
        catch (HttpRequestException)
        {
            // Kestrel may also just close the connection.
        }
        Assert.Empty(apns.Problems); // the request never reached the handler (which would have logged its protocol)
    }

    [Fact]
    public void Configuration_validation_names_the_paths()
    {
        var factory = new ApnsProviderFactory(TimeProvider.System);
        Assert.Equal(["privateKey"], factory.SecretFields);
        using var rsa = RSA.Create(2048);
        var bad = JsonSerializer.SerializeToElement(new { teamId = "short", privateKey = rsa.ExportPkcs8PrivateKeyPem(), environment = "staging", sound = "ping" });
        var paths = factory.Validate(bad).Select(e => e.Path).ToHashSet();
        Assert.Equal(new HashSet<string> { "$.config.teamId", "$.config.keyId", "$.config.privateKey", "$.config.topic", "$.config.environment", "$.config.sound" }, paths);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var good = JsonSerializer.SerializeToElement(new { teamId = "ABCDE12345", keyId = "XYZ987WVU6", privateKey = key.ExportPkcs8PrivateKeyPem(), topic = "com.shop.app", environment = "sandbox" });
        Assert.Empty(factory.Validate(good));
        Assert.Equal(ApnsProvider.Sandbox, ApnsProviderFactory.Options(good).Endpoint);
    }
}
