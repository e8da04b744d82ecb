using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Chuda.Channels.Webhooks;
using Chuda.Testing;
using Microsoft.AspNetCore.Http;

namespace Chuda.Channels.Tests.Webhooks;

/// <summary>The client against a real HTTP listener on loopback (allow-listed, as loopback is refused by default).</summary>
public sealed class WebhookClientTests : IAsyncLifetime
{
    private static readonly WebhookClientOptions LoopbackAllowed = new()
    {
        Security = new WebhookSecurityOptions { AllowedNetworks = ["127.0.0.1"] },
        Timeout = TimeSpan.FromSeconds(5),
    };

    private WebhookListener _listener = null!;

    public async Task InitializeAsync() => _listener = await WebhookListener.StartAsync();

    public async Task DisposeAsync() => await _listener.DisposeAsync();

    private static WebhookRequest Request(Uri url, string messageId = "msg_1") => new()
    {
        Url = url,
        MessageId = messageId,
        Body = "{\"type\":\"journey.step\"}"u8.ToArray(),
    };

    [Fact]
    public async Task A_2xx_is_delivered_with_body_content_type_headers_and_the_webhook_id()
    {
        _listener.Respond = async context =>
        {
            context.Response.StatusCode = 202;
            await context.Response.WriteAsync("accepted");
        };
        using var client = new WebhookClient(LoopbackAllowed, TimeProvider.System);
        var result = await client.SendAsync(Request(_listener.Url("in?src=chuda")) with
        {
            Method = HttpMethod.Put,
            ContentType = "application/json; charset=utf-8",
            Headers = new Dictionary<string, string> { ["X-Tenant"] = "acme", ["Authorization"] = "Bearer t0k" },
        }, CancellationToken.None);

        Assert.True(result.Delivered, result.Error);
        Assert.Equal(202, result.StatusCode);
        Assert.Equal(WebhookFailure.None, result.Failure);
        Assert.False(result.Retryable);
        Assert.Null(result.Error);
        Assert.Equal("accepted", result.ResponseBody);
        var received = Assert.Single(_listener.Requests);
        Assert.Equal("PUT", received.Method);
        Assert.Equal("/in?src=chuda", received.Path);
        Assert.Equal("{\"type\":\"journey.step\"}", Encoding.UTF8.GetString(received.Body));
        Assert.Equal("application/json; charset=utf-8", received.Headers["content-type"]);
        Assert.Equal("acme", received.Headers["x-tenant"]);
        Assert.Equal("Bearer t0k", received.Headers["authorization"]);
        Assert.Equal("msg_1", received.Headers["webhook-id"]);
        Assert.True(long.TryParse(received.Headers["webhook-timestamp"], out _));
        Assert.False(received.Headers.ContainsKey("webhook-signature"));
        Assert.StartsWith("Chuda-Webhooks/", received.Headers["user-agent"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retries_of_a_message_carry_the_same_webhook_id_and_a_fresh_signature_timestamp()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));
        var secret = StandardWebhookSigner.NewSecret();
        using var client = new WebhookClient(LoopbackAllowed, time);
        var request = Request(_listener.Url("in")) with { MessageId = "idem-42", Secret = secret };
        await client.SendAsync(request, CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(3));
        await client.SendAsync(request, CancellationToken.None);

        var (first, second) = (_listener.Requests[0], _listener.Requests[1]);
        Assert.Equal("idem-42", first.Headers["webhook-id"]);
        Assert.Equal("idem-42", second.Headers["webhook-id"]);
        Assert.Equal(180, long.Parse(second.Headers["webhook-timestamp"]) - long.Parse(first.Headers["webhook-timestamp"]));
        foreach (var r in _listener.Requests)
        {
            Assert.Equal(WebhookVerification.Valid, StandardWebhookSigner.Verify(secret, r.Headers["webhook-id"], r.Headers["webhook-timestamp"],
                r.Headers["webhook-signature"], r.Body, time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        }
    }

    [Theory]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(404, false)]
    [InlineData(410, false)]
    [InlineData(422, false)]
    public async Task Status_codes_are_classified_as_retryable_or_permanent(int status, bool retryable)
    {
        _listener.Respond = async context =>
        {
            context.Response.StatusCode = status;
            await context.Response.WriteAsync("{\"error\":\"nope\"}");
        };
        using var client = new WebhookClient(LoopbackAllowed, TimeProvider.System);
        var result = await client.SendAsync(Request(_listener.Url("in")), CancellationToken.None);

        Assert.False(result.Delivered);
        Assert.Equal(status, result.StatusCode);
        Assert.Equal(retryable, result.Retryable);
        Assert.Equal(WebhookFailure.Status, result.Failure);
        Assert.StartsWith(status.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Error, StringComparison.Ordinal);
        Assert.Equal("{\"error\":\"nope\"}", result.ResponseBody);
        Assert.Null(result.RetryAfter);
    }

    [Fact]
    public async Task A_429_with_Retry_After_seconds_sets_RetryAfter()
    {
        _listener.Respond = context =>
        {
            context.Response.StatusCode = 429;
            context.Response.Headers.RetryAfter = "7";
            return Task.CompletedTask;
        };
        using var client = new WebhookClient(LoopbackAllowed, TimeProvider.System);
        var result = await client.SendAsync(Request(_listener.Url("in")), CancellationToken.None);

        Assert.True(result.Retryable);
        Assert.Equal(TimeSpan.FromSeconds(7), result.RetryAfter);
    }

    [Fact]
    public async Task A_503_with_a_Retry_After_date_sets_RetryAfter_from_the_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));
        _listener.Respond = context =>
        {
            context.Response.StatusCode = 503;
            context.Response.Headers.RetryAfter = "Fri, 01 May 2026 08:01:30 GMT";
            return Task.CompletedTask;
        };
        using var client = new WebhookClient(LoopbackAllowed, time);
        var result = await client.SendAsync(Request(_listener.Url("in")), CancellationToken.None);

        Assert.True(result.Retryable);
        Assert.Equal(TimeSpan.FromSeconds(90), result.RetryAfter);
    }

    [Fact]
    public async Task No_answer_within_the_timeout_is_a_retryable_timeout()
    {
        _listener.Respond = async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), TimeProvider.System, context.RequestAborted);
            context.Response.StatusCode = 200;
        };
        using var client = new WebhookClient(LoopbackAllowed with { Timeout = TimeSpan.FromMilliseconds(300) }, TimeProvider.System);
        var watch = Stopwatch.StartNew();
        var result = await client.SendAsync(Request(_listener.Url("slow")), CancellationToken.None);

        Assert.False(result.Delivered);
        Assert.Equal(WebhookFailure.Timeout, result.Failure);
        Assert.True(result.Retryable);
        Assert.Null(result.StatusCode);
        Assert.Contains("300 ms", result.Error, StringComparison.Ordinal);
        Assert.InRange(result.Duration, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_thrown_not_reported_as_a_timeout()
    {
        _listener.Respond = async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), TimeProvider.System, context.RequestAborted);
        };
        using var client = new WebhookClient(LoopbackAllowed, TimeProvider.System);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SendAsync(Request(_listener.Url("slow")), cancel.Token));
    }

    [Fact]
    public async Task A_redirect_is_a_permanent_failure_and_is_not_followed()
    {
        _listener.Respond = context =>
        {
            if (context.Request.Path == "/old")
            {
                context.Response.StatusCode = 307;
                context.Response.Headers.Location = "/new";
            }
            return Task.CompletedTask;
        };
        using var client = new WebhookClient(LoopbackAllowed, TimeProvider.System);
        var result = await client.SendAsync(Request(_listener.Url("old")), CancellationToken.None);

        Assert.False(result.Delivered);
        Assert.Equal(307, result.StatusCode);
        Assert.Equal(WebhookFailure.Redirect, result.Failure);
        Assert.False(result.Retryable);
        Assert.Contains("/new", result.Error, StringComparison.Ordinal);
        Assert.Equal("/old", Assert.Single(_listener.Requests).Path);
    }

    [Fact]
    public async Task A_loopback_listener_that_is_not_allow_listed_receives_nothing()
    {
        using var client = new WebhookClient(new WebhookClientOptions(), TimeProvider.System);
        var result = await client.SendAsync(Request(_listener.Url("in")), CancellationToken.None);

        Assert.False(result.Delivered);
        Assert.Equal(WebhookFailure.Refused, result.Failure);
        Assert.False(result.Retryable);
        Assert.Contains("loopback", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, _listener.Connections);
        Assert.Empty(_listener.Requests);
    }

    [Fact]
    public async Task A_host_name_that_resolves_to_loopback_is_refused_at_connect_time_and_receives_nothing()
    {
        // "localhost" passes the URL check (it is a name); the refusal comes from vetting its resolved addresses.
        using var client = new WebhookClient(
            new WebhookClientOptions { Security = new WebhookSecurityOptions { AllowedNetworks = ["10.9.0.0/16"] } }, TimeProvider.System);
        var url = new Uri($"http://localhost:{_listener.Port}/in");
        Assert.True(client.Guard.CheckUrl(url).Allowed);

        var result = await client.SendAsync(Request(url), CancellationToken.None);

        Assert.Equal(WebhookFailure.Refused, result.Failure);
        Assert.False(result.Retryable);
        Assert.Matches(@"^refused: localhost: (127\.0\.0\.1|::1) is in a refused range: loopback", result.Error);
        Assert.Equal(0, _listener.Connections);
        Assert.Empty(_listener.Requests);
    }

    [Fact]
    public async Task An_allow_listed_host_name_is_contacted_whatever_it_resolves_to()
    {
        using var client = new WebhookClient(
            new WebhookClientOptions { Security = new WebhookSecurityOptions { AllowedHosts = ["localhost"] } }, TimeProvider.System);
        var result = await client.SendAsync(Request(new Uri($"http://localhost:{_listener.Port}/in")), CancellationToken.None);

        Assert.True(result.Delivered, result.Error);
        Assert.Single(_listener.Requests);
    }

    [Fact]
    public async Task An_allow_listed_IPv6_literal_is_contacted()
    {
        await using var listener6 = await WebhookListener.StartAsync(IPAddress.IPv6Loopback);
        using var client = new WebhookClient(
            new WebhookClientOptions { Security = new WebhookSecurityOptions { AllowedNetworks = ["::1/128"] } }, TimeProvider.System);
        var result = await client.SendAsync(Request(listener6.Url("in")), CancellationToken.None);

        Assert.True(result.Delivered, result.Error);
        Assert.Single(listener6.Requests);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/in", "scheme 'ftp'")]
    [InlineData("http://user:secret@127.0.0.1/in", "user info")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "link-local")]
    public async Task Refused_urls_are_not_retryable(string url, string reason)
    {
        using var client = new WebhookClient(LoopbackAllowed, TimeProvider.System);
        var result = await client.SendAsync(Request(new Uri(url)), CancellationToken.None);

        Assert.Equal(WebhookFailure.Refused, result.Failure);
        Assert.False(result.Retryable);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_closed_port_is_a_retryable_connection_failure()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        using var client = new WebhookClient(LoopbackAllowed, TimeProvider.System);
        var result = await client.SendAsync(Request(new Uri($"http://127.0.0.1:{port}/in")), CancellationToken.None);

        Assert.Equal(WebhookFailure.Connection, result.Failure);
        Assert.True(result.Retryable);
        Assert.NotNull(result.Error);
    }

    [Fact]
    public async Task Only_the_start_of_a_large_response_body_is_read()
    {
        _listener.Respond = async context =>
        {
            context.Response.StatusCode = 500;
            var chunk = Encoding.ASCII.GetBytes(new string('x', 16 * 1024));
            for (var i = 0; i < 64 && !context.RequestAborted.IsCancellationRequested; i++)
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
        };
        using var client = new WebhookClient(LoopbackAllowed with { MaxResponseBodyBytes = 1024 }, TimeProvider.System);
        var result = await client.SendAsync(Request(_listener.Url("big")), CancellationToken.None);

        Assert.Equal(500, result.StatusCode);
        Assert.Equal(1024, result.ResponseBody!.Length);
    }

    [Fact]
    public void The_secret_stays_out_of_ToString()
    {
        var request = Request(_listener.Url("in")) with { Secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=" };
        Assert.DoesNotContain("c2VjcmV0", request.ToString(), StringComparison.Ordinal);
        Assert.Contains("Secret = ***", request.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Caller_set_webhook_headers_are_rejected()
    {
        using var client = new WebhookClient(LoopbackAllowed, TimeProvider.System);
        var request = Request(_listener.Url("in")) with { Headers = new Dictionary<string, string> { ["Webhook-Signature"] = "v1,forged" } };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync(request, CancellationToken.None));
        Assert.Contains("Webhook-Signature", error.Message, StringComparison.Ordinal);
        Assert.Empty(_listener.Requests);
    }

    [Theory]
    [InlineData("msg 1")]
    [InlineData("msg\r\nx-injected: 1")]
    [InlineData("消息")]
    public async Task Message_ids_that_cannot_be_a_header_value_are_rejected(string messageId)
    {
        using var client = new WebhookClient(LoopbackAllowed, TimeProvider.System);
        await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync(Request(_listener.Url("in"), messageId), CancellationToken.None));
        Assert.Empty(_listener.Requests);
    }

    [Theory]
    [InlineData(0, "Timeout")]
    [InlineData(-1, "Timeout")]
    [InlineData(600, "Timeout")]
    public void Options_out_of_range_are_refused(int seconds, string field)
    {
        var error = Assert.Throws<ArgumentException>(() => new WebhookClient(
            new WebhookClientOptions { Timeout = TimeSpan.FromSeconds(seconds) }, TimeProvider.System));
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }
}
