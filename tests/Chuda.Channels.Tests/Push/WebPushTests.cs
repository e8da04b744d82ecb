using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chuda.Channels.Providers;
using Chuda.Channels.Push;
using Chuda.Channels.Webhooks;
using Chuda.Domain.Templates;
using Chuda.Testing;
using Microsoft.AspNetCore.Http;

namespace Chuda.Channels.Tests.Push;

public sealed class WebPushEncryptionTests
{
    // RFC 8291 Appendix A.
    private const string Plaintext = "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24";
    private const string AsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    private const string AsPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    private const string UaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    private const string UaPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    private const string Salt = "DGv6ra1nlYgDCS1FRnbzlw";
    private const string AuthSecret = "BTBZMqHH6r4Tts7J_aSIgg";
    private const string Expected =
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    private static byte[] B(string s) => Base64Url.DecodeFromChars(s);

    private static ECDiffieHellman Key(string privateKey, string publicKey)
    {
        var q = B(publicKey);
        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            D = B(privateKey),
            Q = new ECPoint { X = q[1..33], Y = q[33..] },
        });
    }

    [Fact]
    public void Rfc8291_appendix_a_test_vector()
    {
        using var ephemeral = Key(AsPrivate, AsPublic);
        var body = WebPushEncryptor.Encrypt(B(Plaintext), B(UaPublic), B(AuthSecret), ephemeral, B(Salt));
        Assert.Equal(Expected, Base64Url.EncodeToString(body));
    }

    [Fact]
    public void Random_encryption_decrypts_with_the_user_agent_key()
    {
        using var ua = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var uaPublic = WebPushEncryptor.ExportPublicKey(ua);
        var auth = RandomNumberGenerator.GetBytes(16);
        var plaintext = Encoding.UTF8.GetBytes("订单已发货 — your order shipped");
        var a = WebPushEncryptor.Encrypt(plaintext, uaPublic, auth);
        var b = WebPushEncryptor.Encrypt(plaintext, uaPublic, auth);
        Assert.NotEqual(a, b); // fresh salt and key per message
        Assert.Equal(plaintext, Decrypt(a, ua, uaPublic, auth));
        Assert.Equal(plaintext, Decrypt(b, ua, uaPublic, auth));
    }

    [Fact]
    public void The_largest_payload_fills_one_4096_byte_record_and_a_larger_one_is_refused()
    {
        using var ua = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var uaPublic = WebPushEncryptor.ExportPublicKey(ua);
        var auth = RandomNumberGenerator.GetBytes(16);
        Assert.Equal(3993, WebPushEncryptor.MaxPayloadLength);
        var body = WebPushEncryptor.Encrypt(new byte[3993], uaPublic, auth);
        Assert.Equal(4096, body.Length);
        Assert.Throws<ArgumentException>(() => WebPushEncryptor.Encrypt(new byte[3994], uaPublic, auth));
        Assert.Throws<ArgumentException>(() => WebPushEncryptor.Encrypt([1], new byte[65], auth));
    }

    /// <summary>The receiving side of RFC 8291, written from the RFC for this test (one record).</summary>
    private static byte[] Decrypt(byte[] body, ECDiffieHellman ua, byte[] uaPublic, byte[] auth)
    {
        var salt = body[..16];
        Assert.Equal(4096, (body[16] << 24) | (body[17] << 16) | (body[18] << 8) | body[19]);
        Assert.Equal(65, body[20]);
        var asPublic = body[21..86];
        using var sender = WebPushEncryptor.ImportPublicKey(asPublic);
        var secret = ua.DeriveRawSecretAgreement(sender.PublicKey);
        var ikm = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, auth, [.. "WebPush: info\0"u8.ToArray(), .. uaPublic, .. asPublic]);
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt);
        var cek = HKDF.Expand(HashAlgorithmName.SHA256, prk, 16, "Content-Encoding: aes128gcm\0"u8.ToArray());
        var nonce = HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, "Content-Encoding: nonce\0"u8.ToArray());
        var cipher = body[86..^16];
        var plain = new byte[cipher.Length];
        using var aes = new AesGcm(cek, 16);
        aes.Decrypt(nonce, cipher, body[^16..], plain);
        Assert.Equal(2, plain[^1]);
        return plain[..^1];
    }
}

public sealed class VapidTests
{
    [Fact]
    public void The_jwt_verifies_with_the_public_key_and_carries_the_rfc_8292_claims()
    {
        var keys = Vapid.GenerateKeys();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));
        using var signer = new VapidSigner(keys.PublicKey, keys.PrivateKey, "mailto:ops@shop.example", time);
        var header = signer.AuthorizationFor(new Uri("https://fcm.googleapis.com/fcm/send/abc:def"));
        var match = System.Text.RegularExpressions.Regex.Match(header, "^vapid t=([^,]+), k=(.+)$");
        Assert.True(match.Success, header);
        Assert.Equal(keys.PublicKey, match.Groups[2].Value);
        var jwt = Jwt.Decode(match.Groups[1].Value)!.Value;
        Assert.Equal("ES256", jwt.Header.GetProperty("alg").GetString());
        Assert.Equal("https://fcm.googleapis.com", jwt.Claims.GetProperty("aud").GetString());
        Assert.Equal("mailto:ops@shop.example", jwt.Claims.GetProperty("sub").GetString());
        var exp = DateTimeOffset.FromUnixTimeSeconds(jwt.Claims.GetProperty("exp").GetInt64());
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromHours(12), exp);

        var q = Base64Url.DecodeFromChars(keys.PublicKey);
        using var verifier = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = q[1..33], Y = q[33..] } });
        Assert.Equal(64, jwt.Signature.Length);
        Assert.True(verifier.VerifyData(jwt.SigningInput, jwt.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        var tampered = (byte[])jwt.SigningInput.Clone();
        tampered[^1] ^= 1;
        Assert.False(verifier.VerifyData(tampered, jwt.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void Tokens_are_cached_per_push_service_until_close_to_expiry()
    {
        var keys = Vapid.GenerateKeys();
        var time = new FakeTimeProvider();
        using var signer = new VapidSigner(keys.PublicKey, keys.PrivateKey, "https://shop.example/contact", time);
        var google = new Uri("https://fcm.googleapis.com/fcm/send/1");
        var first = signer.AuthorizationFor(google);
        Assert.Equal(first, signer.AuthorizationFor(new Uri("https://fcm.googleapis.com/fcm/send/2")));
        var mozilla = signer.AuthorizationFor(new Uri("https://updates.push.services.mozilla.com/wpush/v2/x"));
        Assert.NotEqual(first, mozilla);
        Assert.Equal(2, signer.Signed);
        time.Advance(TimeSpan.FromHours(8));
        Assert.Equal(first, signer.AuthorizationFor(google));
        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1)); // less than 3 h of its 12 h left
        Assert.NotEqual(first, signer.AuthorizationFor(google));
        Assert.Equal(3, signer.Signed);
        Assert.Equal("http://127.0.0.1:8080", Vapid.AudienceOf(new Uri("http://127.0.0.1:8080/notify/x")));
        Assert.Equal("https://push.example", Vapid.AudienceOf(new Uri("https://push.example:443/a")));
    }

    [Fact]
    public void Mismatched_or_malformed_keys_and_subjects_are_refused()
    {
        var a = Vapid.GenerateKeys();
        var b = Vapid.GenerateKeys();
        Assert.Throws<ArgumentException>(() => Vapid.ImportKeys(a.PublicKey, b.PrivateKey));
        Assert.Throws<ArgumentException>(() => Vapid.ImportKeys(a.PublicKey, "short"));
        Assert.Throws<ArgumentException>(() => Vapid.ImportKeys("BAAA", a.PrivateKey));
        Assert.Throws<ArgumentException>(() => new VapidSigner(a.PublicKey, a.PrivateKey, "ops@shop.example", TimeProvider.System));
        using var ok = Vapid.ImportKeys(a.PublicKey, a.PrivateKey);
        Assert.Equal(43, a.PrivateKey.Length);
        Assert.Equal(87, a.PublicKey.Length);
    }

    [Fact]
    public void Configuration_validation_names_the_paths()
    {
        var factory = new WebPushProviderFactory(TimeProvider.System);
        var keys = Vapid.GenerateKeys();
        var good = JsonSerializer.SerializeToElement(new { vapidPublicKey = keys.PublicKey, vapidPrivateKey = keys.PrivateKey, subject = "mailto:a@b.example", urgency = "high", ttlSeconds = 60 });
        Assert.Empty(factory.Validate(good));
        var other = Vapid.GenerateKeys();
        var bad = JsonSerializer.SerializeToElement(new { vapidPublicKey = keys.PublicKey, vapidPrivateKey = other.PrivateKey, subject = "ops", urgency = "urgent", ttlSeconds = -1, colour = "red" });
        var paths = factory.Validate(bad).Select(e => e.Path).ToHashSet();
        Assert.Equal(new HashSet<string> { "$.config.vapidPrivateKey", "$.config.subject", "$.config.urgency", "$.config.ttlSeconds", "$.config.colour" }, paths);
        Assert.Contains(factory.Validate(JsonSerializer.SerializeToElement(new { subject = "mailto:a@b.example" })), e => e.Path == "$.config.vapidPublicKey");
        Assert.Equal(["vapidPrivateKey"], factory.SecretFields);
    }
}

/// <summary>End to end against the web-push-testing push service, which verifies VAPID and decrypts what it receives.</summary>
public sealed class WebPushServiceTests
{
    private static readonly WebhookSecurityOptions Loopback = new() { AllowedNetworks = ["127.0.0.1"] };

    private static (WebPushProviderFactory Factory, JsonElement Config, VapidKeyPair Keys) Setup(WebhookSecurityOptions? security = null)
    {
        var keys = Vapid.GenerateKeys();
        var config = JsonSerializer.SerializeToElement(new { vapidPublicKey = keys.PublicKey, vapidPrivateKey = keys.PrivateKey, subject = "mailto:ops@shop.example" });
        return (new WebPushProviderFactory(TimeProvider.System, security ?? Loopback), config, keys);
    }

    internal static ProviderMessage Message(string recipient, PushContent content, string id = "m_1") =>
        new(id, "idem-" + id, "push", recipient, content, "transactional", new Dictionary<string, string>());

    [Fact]
    public async Task Pushes_arrive_decrypted_with_title_body_chinese_text_and_data()
    {
        await using var service = await WebPushService.StartAsync();
        var (factory, config, keys) = Setup();
        Assert.Empty(factory.Validate(config));
        await using var provider = factory.Create("wp", "push", config, NullReportSink.Instance);
        var (recipient, hash, _) = await service.SubscribeAsync(keys.PublicKey);
        Assert.True(provider.Accepts(recipient));
        Assert.False(provider.Accepts("android:abc"));

        var data = new Dictionary<string, string> { ["order"] = "A-1001", ["金额"] = "¥99.00" };
        var content = new PushContent("订单已发货", "您的订单 A-1001 已发货, arriving Tuesday 🚚", data, "https://shop.example/orders/A-1001", "https://cdn.shop.example/a.png");
        var result = await provider.SendAsync(Message(recipient, content), CancellationToken.None);
        Assert.Equal(ProviderOutcome.Accepted, result.Outcome);
        Assert.False(result.ProviderDown);

        var second = await provider.SendAsync(Message(recipient, new PushContent(null, "body only", new Dictionary<string, string>(), null, null), "m_2"), CancellationToken.None);
        Assert.Equal(ProviderOutcome.Accepted, second.Outcome);

        var received = await service.NotificationsAsync(hash);
        Assert.Equal(2, received.Count);
        var first = JsonNode.Parse(received[0])!;
        Assert.Equal("订单已发货", (string)first["title"]!);
        Assert.Equal("您的订单 A-1001 已发货, arriving Tuesday 🚚", (string)first["body"]!);
        Assert.Equal("A-1001", (string)first["data"]!["order"]!);
        Assert.Equal("¥99.00", (string)first["data"]!["金额"]!);
        Assert.Equal("https://shop.example/orders/A-1001", (string)first["url"]!);
        Assert.Equal("https://cdn.shop.example/a.png", (string)first["image"]!);
        Assert.Equal("m_1", (string)first["messageId"]!);
        var body = JsonNode.Parse(received[1])!.AsObject();
        Assert.Equal("body only", (string)body["body"]!);
        Assert.False(body.ContainsKey("title"));
    }

    [Fact]
    public async Task An_expired_subscription_is_a_hard_bounce()
    {
        await using var service = await WebPushService.StartAsync();
        var (factory, config, keys) = Setup();
        await using var provider = factory.Create("wp", "push", config, NullReportSink.Instance);
        var (recipient, hash, _) = await service.SubscribeAsync(keys.PublicKey);
        var content = new PushContent("t", "b", new Dictionary<string, string>(), null, null);
        Assert.Equal(ProviderOutcome.Accepted, (await provider.SendAsync(Message(recipient, content), CancellationToken.None)).Outcome);
        await service.ExpireAsync(hash);
        var result = await provider.SendAsync(Message(recipient, content, "m_2"), CancellationToken.None);
        Assert.Equal(ProviderOutcome.PermanentFailure, result.Outcome);
        Assert.True(result.HardBounce);
        Assert.False(result.ProviderDown);
        Assert.Contains("410", result.Detail, StringComparison.Ordinal);
        Assert.Single(await service.NotificationsAsync(hash));
    }

    [Fact]
    public async Task A_subscription_made_for_another_vapid_key_is_refused_by_the_service()
    {
        await using var service = await WebPushService.StartAsync();
        var (factory, config, _) = Setup();
        await using var provider = factory.Create("wp", "push", config, NullReportSink.Instance);
        var (recipient, hash, _) = await service.SubscribeAsync(Vapid.GenerateKeys().PublicKey);
        var result = await provider.SendAsync(Message(recipient, new PushContent("t", "b", new Dictionary<string, string>(), null, null)), CancellationToken.None);
        Assert.Equal(ProviderOutcome.PermanentFailure, result.Outcome);
        Assert.False(result.HardBounce);
        Assert.Contains("400", result.Detail, StringComparison.Ordinal);
        Assert.Empty(await service.NotificationsAsync(hash));
    }

    [Fact]
    public async Task Concurrent_sends_through_one_provider_all_arrive()
    {
        await using var service = await WebPushService.StartAsync();
        var (factory, config, keys) = Setup();
        await using var provider = factory.Create("wp", "push", config, NullReportSink.Instance);
        var subscriptions = new List<(string Recipient, string Hash)>();
        for (var i = 0; i < 4; i++)
        {
            var (recipient, hash, _) = await service.SubscribeAsync(keys.PublicKey);
            subscriptions.Add((recipient, hash));
        }
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i =>
            provider.SendAsync(Message(subscriptions[i % 4].Recipient, new PushContent($"n{i}", "b", new Dictionary<string, string>(), null, null), $"m_{i}"),
                CancellationToken.None)));
        Assert.All(results, r => Assert.Equal(ProviderOutcome.Accepted, r.Outcome));
        var titles = new List<string>();
        foreach (var (_, hash) in subscriptions) titles.AddRange((await service.NotificationsAsync(hash)).Select(m => (string)JsonNode.Parse(m)!["title"]!));
        Assert.Equal(Enumerable.Range(0, 64).Select(i => $"n{i}").Order(), titles.Order());
        Assert.Equal(1, ((WebPushProvider)provider).Vapid.Signed);
    }
}

/// <summary>Status handling and request headers, against a local fake push service that checks what it receives.</summary>
public sealed class WebPushResponseTests
{
    private static readonly WebhookSecurityOptions Loopback = new() { AllowedNetworks = ["127.0.0.1"] };

    private static string Recipient(Uri endpoint)
    {
        using var ua = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var subscription = new JsonObject
        {
            ["endpoint"] = endpoint.ToString(),
            ["keys"] = new JsonObject
            {
                ["p256dh"] = Base64Url.EncodeToString(WebPushEncryptor.ExportPublicKey(ua)),
                ["auth"] = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            },
        };
        return "web:" + subscription.ToJsonString();
    }

    private static readonly PushContent Content = new("t", "b", new Dictionary<string, string>(), null, null);

    [Fact]
    public async Task Status_codes_map_to_outcomes_and_the_request_carries_the_web_push_headers()
    {
        var seen = new ConcurrentQueue<IHeaderDictionary>();
        await using var server = await FakeServer.StartAsync(async context =>
        {
            seen.Enqueue(new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value)));
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var status = int.Parse(context.Request.Path.Value!.Split('/')[^1], System.Globalization.CultureInfo.InvariantCulture);
            // The fake checks the shape a push service needs: aes128gcm header with rs 4096 and a 65-byte key id.
            var bytes = body.ToArray();
            if (bytes.Length < 86 + 17 || bytes[16..20] is not [0, 0, 16, 0] || bytes[20] != 65 || bytes[21] != 4) status = 499;
            if (status is 201) context.Response.Headers.Location = "https://push.example/m/42";
            if (status is 429 or 503) context.Response.Headers.RetryAfter = "7";
            await FakeServer.RespondAsync(context, status, status >= 400 ? "{\"reason\":\"x\"}" : null);
        });
        var keys = Vapid.GenerateKeys();
        var config = JsonSerializer.SerializeToElement(new { vapidPublicKey = keys.PublicKey, vapidPrivateKey = keys.PrivateKey, subject = "mailto:ops@shop.example", urgency = "high", ttlSeconds = 3600 });
        await using var provider = new WebPushProviderFactory(TimeProvider.System, Loopback).Create("wp", "push", config, NullReportSink.Instance);

        async Task<ProviderResult> Send(int status) =>
            await provider.SendAsync(WebPushServiceTests.Message(Recipient(new Uri(server.Address, $"push/{status}")), Content), CancellationToken.None);

        var accepted = await Send(201);
        Assert.Equal(ProviderOutcome.Accepted, accepted.Outcome);
        Assert.Equal("https://push.example/m/42", accepted.ProviderMessageId);
        Assert.Equal(ProviderOutcome.Accepted, (await Send(202)).Outcome);
        var gone = await Send(404);
        Assert.True(gone is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: true, ProviderDown: false });
        var tooBig = await Send(413);
        Assert.True(tooBig is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: false, ProviderDown: false });
        var throttled = await Send(429);
        Assert.True(throttled is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: false });
        Assert.Equal(TimeSpan.FromSeconds(7), throttled.RetryAfter);
        var vapidRefused = await Send(403);
        Assert.True(vapidRefused is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: true, HardBounce: false });
        var down = await Send(503);
        Assert.True(down is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: true });
        Assert.Equal(TimeSpan.FromSeconds(7), down.RetryAfter);
        var bad = await Send(400);
        Assert.True(bad is { Outcome: ProviderOutcome.PermanentFailure, ProviderDown: false, HardBounce: false });

        Assert.Equal(8, seen.Count);
        foreach (var headers in seen)
        {
            Assert.Equal("aes128gcm", headers.ContentEncoding.ToString());
            Assert.Equal("application/octet-stream", headers.ContentType.ToString());
            Assert.Equal("3600", headers["TTL"].ToString());
            Assert.Equal("high", headers["Urgency"].ToString());
            Assert.Equal(WebPushProvider.TopicFor("idem-m_1"), headers["Topic"].ToString());
            Assert.Matches("^[A-Za-z0-9_-]{32}$", headers["Topic"].ToString());
            Assert.StartsWith("vapid t=", headers.Authorization.ToString(), StringComparison.Ordinal);
            Assert.EndsWith(", k=" + keys.PublicKey, headers.Authorization.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Oversized_payloads_internal_endpoints_bad_subscriptions_and_dead_services()
    {
        var keys = Vapid.GenerateKeys();
        var config = JsonSerializer.SerializeToElement(new { vapidPublicKey = keys.PublicKey, vapidPrivateKey = keys.PrivateKey, subject = "mailto:ops@shop.example" });

        // Default SSRF rules: a subscription pointing at loopback is refused before any connection.
        await using var strict = new WebPushProviderFactory(TimeProvider.System).Create("wp", "push", config, NullReportSink.Instance);
        var refused = await strict.SendAsync(WebPushServiceTests.Message(Recipient(new Uri("http://127.0.0.1:9/x")), Content), CancellationToken.None);
        Assert.True(refused is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: true, ProviderDown: false }, refused.Detail);
        var named = await strict.SendAsync(WebPushServiceTests.Message(Recipient(new Uri("http://localhost:9/x")), Content), CancellationToken.None);
        Assert.True(named is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: true, ProviderDown: false }, named.Detail);

        await using var provider = new WebPushProviderFactory(TimeProvider.System, Loopback).Create("wp", "push", config, NullReportSink.Instance);
        var huge = new PushContent("t", new string('x', 4000), new Dictionary<string, string>(), null, null);
        var tooLarge = await provider.SendAsync(WebPushServiceTests.Message(Recipient(new Uri("http://127.0.0.1:9/x")), huge), CancellationToken.None);
        Assert.True(tooLarge is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: false, ProviderDown: false });
        Assert.Contains("3993", tooLarge.Detail, StringComparison.Ordinal);

        var junk = await provider.SendAsync(WebPushServiceTests.Message("web:{\"endpoint\":\"https://x.example/\",\"keys\":{\"p256dh\":\"AAAA\",\"auth\":\"BBBB\"}}", Content), CancellationToken.None);
        Assert.True(junk is { Outcome: ProviderOutcome.PermanentFailure, HardBounce: true });

        var closedPort = Chuda.Channels.Tests.Email.Peers.FreePort();
        var dead = await provider.SendAsync(WebPushServiceTests.Message(Recipient(new Uri($"http://127.0.0.1:{closedPort}/x")), Content), CancellationToken.None);
        Assert.True(dead is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: true }, dead.Detail);
    }
}
