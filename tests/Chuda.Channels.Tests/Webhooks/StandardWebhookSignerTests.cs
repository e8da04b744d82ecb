using System.Text;
using Chuda.Channels.Webhooks;

namespace Chuda.Channels.Tests.Webhooks;

public sealed class StandardWebhookSignerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeSeconds(1_614_265_330);
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);
    private WebhookListener _listener = null!;

    public async Task InitializeAsync() => _listener = await WebhookListener.StartAsync();

    public async Task DisposeAsync() => await _listener.DisposeAsync();

    [Fact]
    public void Signature_matches_the_specifications_published_example()
    {
        // The example in the Standard Webhooks / Svix documentation.
        var signature = StandardWebhookSigner.Sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", At, "{\"test\": 2432232314}");
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signature);
    }

    [Fact]
    public void The_example_in_docs_webhooks_md_verifies()
    {
        var body = "{\"type\":\"segment.entered\",\"segment\":\"abandoned-cart\",\"userId\":\"u-1001\"}"u8.ToArray();
        Assert.Equal(WebhookVerification.Valid, StandardWebhookSigner.Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_2b7c0e2a",
            "1767225600", "v1,NEG8Oneah3jQPC4aChQmx2WQ/KLPsR7YNZbdc7vNmQ0=", body, DateTimeOffset.FromUnixTimeSeconds(1_767_225_600), Tolerance));
    }

    [Fact]
    public void New_secret_is_whsec_and_32_random_bytes()
    {
        var a = StandardWebhookSigner.NewSecret();
        var b = StandardWebhookSigner.NewSecret();
        Assert.StartsWith("whsec_", a, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(a["whsec_".Length..]).Length);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Verify_accepts_its_own_signature_and_refuses_changes()
    {
        var secret = StandardWebhookSigner.NewSecret();
        var body = "{\"event\":\"order.paid\",\"amount\":199}"u8.ToArray();
        var signature = StandardWebhookSigner.Sign(secret, "msg_1", At, body);
        var ts = At.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(WebhookVerification.Valid, StandardWebhookSigner.Verify(secret, "msg_1", ts, signature, body, At, Tolerance));
        Assert.Equal(WebhookVerification.Valid, StandardWebhookSigner.Verify(secret, "msg_1", ts, "v1,AAAA " + signature, body, At, Tolerance));
        Assert.Equal(WebhookVerification.Valid, StandardWebhookSigner.Verify(
            secret, "msg_1", ts, signature, body, At + TimeSpan.FromMinutes(4), Tolerance));

        var tampered = "{\"event\":\"order.paid\",\"amount\":999}"u8.ToArray();
        Assert.Equal(WebhookVerification.NoMatchingSignature, StandardWebhookSigner.Verify(secret, "msg_1", ts, signature, tampered, At, Tolerance));
        Assert.Equal(WebhookVerification.NoMatchingSignature, StandardWebhookSigner.Verify(secret, "msg_2", ts, signature, body, At, Tolerance));
        Assert.Equal(WebhookVerification.NoMatchingSignature, StandardWebhookSigner.Verify(
            StandardWebhookSigner.NewSecret(), "msg_1", ts, signature, body, At, Tolerance));
        Assert.Equal(WebhookVerification.NoMatchingSignature, StandardWebhookSigner.Verify(
            secret, "msg_1", ts, "v2," + signature[3..], body, At, Tolerance));
        Assert.Equal(WebhookVerification.TimestampOutOfTolerance, StandardWebhookSigner.Verify(
            secret, "msg_1", ts, signature, body, At + TimeSpan.FromMinutes(6), Tolerance));
        Assert.Equal(WebhookVerification.TimestampOutOfTolerance, StandardWebhookSigner.Verify(
            secret, "msg_1", ts, signature, body, At - TimeSpan.FromMinutes(6), Tolerance));
        Assert.Equal(WebhookVerification.InvalidTimestamp, StandardWebhookSigner.Verify(secret, "msg_1", "soon", signature, body, At, Tolerance));
        Assert.Equal(WebhookVerification.MissingHeaders, StandardWebhookSigner.Verify(secret, null, ts, signature, body, At, Tolerance));
    }

    [Fact]
    public void A_secret_that_is_not_base64_is_refused_with_a_clear_error()
    {
        var error = Assert.Throws<ArgumentException>(() => StandardWebhookSigner.Sign("whsec_not base64!", "m", At, "{}"));
        Assert.Contains("whsec_", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_reference_npm_library_verifies_what_the_listener_received_and_refuses_a_tampered_body()
    {
        var secret = StandardWebhookSigner.NewSecret();
        var options = new WebhookClientOptions { Security = new WebhookSecurityOptions { AllowedNetworks = ["127.0.0.1"] } };
        using var client = new WebhookClient(options, TimeProvider.System);
        var body = Encoding.UTF8.GetBytes("{\"type\":\"segment.entered\",\"segment\":\"购物车\",\"userId\":\"u-1001\"}");

        var result = await client.SendAsync(new WebhookRequest
        {
            Url = _listener.Url("hooks/chuda"),
            MessageId = "msg_2b7c0e2a-idempotency",
            Body = body,
            Secret = secret,
        }, CancellationToken.None);

        Assert.True(result.Delivered, result.Error);
        var received = Assert.Single(_listener.Requests);
        Assert.Equal(body, received.Body);
        Assert.Equal("msg_2b7c0e2a-idempotency", received.Headers["webhook-id"]);

        var (exit, output) = await NodePeer.VerifyAsync(secret, received.Headers, received.Body);
        Assert.True(exit == 0, $"standardwebhooks refused the signature: {output}");

        var tampered = Encoding.UTF8.GetBytes("{\"type\":\"segment.entered\",\"segment\":\"购物车\",\"userId\":\"u-1002\"}");
        (exit, output) = await NodePeer.VerifyAsync(secret, received.Headers, tampered);
        Assert.True(exit == 1, $"standardwebhooks accepted a tampered body: {exit} {output}");
        Assert.Contains("No matching signature", output, StringComparison.Ordinal);

        Assert.Equal(WebhookVerification.Valid, StandardWebhookSigner.Verify(secret, received.Headers["webhook-id"],
            received.Headers["webhook-timestamp"], received.Headers["webhook-signature"], received.Body, TimeProvider.System.GetUtcNow(), Tolerance));
    }
}
