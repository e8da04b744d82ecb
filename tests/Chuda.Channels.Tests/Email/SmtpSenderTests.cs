using System.Diagnostics;
using Chuda.Channels.Email;
using Chuda.Testing;

namespace Chuda.Channels.Tests.Email;

/// <summary>The sender against a real SMTP server (npm smtp-server, peers/smtp-test-server.mjs) with scripted behaviour and faults.</summary>
public sealed class SmtpSenderTests : IDisposable
{
    private const string Password = "s3cret-密码";
    private readonly TestCertificate _certificate = new();

    public void Dispose() => _certificate.Dispose();

    private static SmtpSenderOptions Options(ScriptSmtpServer server) => new()
    {
        Host = "127.0.0.1",
        Port = server.Port,
        StartTls = StartTlsPolicy.None,
        LocalDomain = "mail.chuda.test",
        CommandTimeout = TimeSpan.FromSeconds(5),
    };

    private SmtpSenderOptions Secure(ScriptSmtpServer server) => Options(server) with
    {
        StartTls = StartTlsPolicy.Required,
        ServerCertificateValidation = _certificate.Pinned,
        Username = "alice",
        Password = Password,
    };

    private object TlsServer(object? extra = null) => new
    {
        startTls = true,
        key = _certificate.KeyPath,
        cert = _certificate.CertPath,
        users = new Dictionary<string, string> { ["alice"] = Password },
        authMethods = extra is string[] methods ? methods : ["PLAIN", "LOGIN"],
    };

    private static int _sequence;

    private static EmailMessage Message(string to = "li.lei@example.com") => new()
    {
        From = new EmailAddress("news@chuda.test", "Chuda"),
        To = new EmailAddress(to),
        Subject = "Your cart",
        Text = "Hello",
        Html = "<p>Hello</p>",
        MessageId = $"m{Interlocked.Increment(ref _sequence)}.{Guid.NewGuid():N}",
    };

    private static Task<SmtpSendResult> Send(SmtpSender sender, string to = "li.lei@example.com") => sender.SendAsync(Message(to), CancellationToken.None);

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task STARTTLS_Required_then_AUTH_succeeds_and_the_server_sees_the_user_over_TLS(string mechanism)
    {
        await using var server = await ScriptSmtpServer.StartAsync(TlsServer(new[] { mechanism }));
        await using var sender = new SmtpSender(Secure(server), TimeProvider.System);

        var result = await Send(sender);

        Assert.True(result.Accepted, result.Text);
        Assert.Equal("2.6.0", result.EnhancedCode);
        await server.SettledAsync();
        var auth = Assert.Single(server.Of("auth"));
        Assert.Equal(mechanism, (string?)auth["method"]);
        Assert.True((bool)auth["ok"]! && (bool)auth["secure"]!);
        var message = Assert.Single(server.Messages);
        Assert.Equal("alice", (string?)message["user"]);
        Assert.True((bool)message["secure"]!);
        Assert.Equal(mechanism == "PLAIN"
            ? ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA"]
            : ["EHLO", "STARTTLS", "EHLO", "AUTH", "(sasl)", "(sasl)", "MAIL", "RCPT", "DATA"], server.Verbs());
        Assert.Equal((string?)message["queueId"], result.QueueId);
    }

    [Fact]
    public async Task A_wrong_password_is_a_permanent_failure_with_the_servers_code_and_nothing_is_sent()
    {
        await using var server = await ScriptSmtpServer.StartAsync(TlsServer());
        await using var sender = new SmtpSender(Secure(server) with { Password = "wrong" }, TimeProvider.System);

        var result = await Send(sender);

        Assert.Equal(SmtpOutcome.PermanentFailure, result.Outcome);
        Assert.Equal(535, result.ReplyCode);
        Assert.Equal("5.7.8", result.EnhancedCode);
        Assert.Equal(SmtpStage.Auth, result.Stage);
        await server.SettledAsync();
        Assert.DoesNotContain("MAIL", server.Verbs());
        Assert.False((bool)Assert.Single(server.Of("auth"))["ok"]!);
    }

    [Fact]
    public async Task STARTTLS_Required_against_a_server_without_it_is_a_transient_failure_before_any_credentials_or_mail()
    {
        await using var server = await ScriptSmtpServer.StartAsync(new { users = new Dictionary<string, string> { ["alice"] = Password } });
        await using var sender = new SmtpSender(Secure(server), TimeProvider.System);

        var result = await Send(sender);

        Assert.Equal(SmtpOutcome.TransientFailure, result.Outcome);
        Assert.Equal(SmtpStage.StartTls, result.Stage);
        Assert.Null(result.ReplyCode);
        Assert.Contains("does not offer STARTTLS", result.Text, StringComparison.Ordinal);
        await Peers.EventuallyAsync(() => server.Verbs().Contains("QUIT"), "QUIT");
        await server.SettledAsync();
        Assert.Equal(["EHLO", "QUIT"], server.Verbs());
    }

    [Fact]
    public async Task An_untrusted_certificate_fails_the_TLS_handshake_as_a_transient_failure_and_no_credentials_are_sent()
    {
        await using var server = await ScriptSmtpServer.StartAsync(TlsServer());
        await using var sender = new SmtpSender(Secure(server) with { ServerCertificateValidation = null }, TimeProvider.System);

        var result = await Send(sender);

        Assert.Equal(SmtpOutcome.TransientFailure, result.Outcome);
        Assert.Equal(SmtpStage.StartTls, result.Stage);
        Assert.Null(result.ReplyCode);
        await server.SettledAsync();
        Assert.Empty(server.Of("auth"));
        Assert.DoesNotContain("AUTH", server.Verbs());
    }

    [Fact]
    public async Task Credentials_are_never_sent_in_plain_text_and_a_server_without_AUTH_is_reported_clearly()
    {
        await using var plain = await ScriptSmtpServer.StartAsync(new { users = new Dictionary<string, string> { ["alice"] = Password } });
        await using (var sender = new SmtpSender(Secure(plain) with { StartTls = StartTlsPolicy.None }, TimeProvider.System))
        {
            var result = await Send(sender);
            Assert.Equal(SmtpOutcome.TransientFailure, result.Outcome);
            Assert.Equal(SmtpStage.Auth, result.Stage);
            Assert.Contains("not encrypted", result.Text, StringComparison.Ordinal);
        }
        await plain.SettledAsync();
        Assert.DoesNotContain("AUTH", plain.Verbs());

        await using var noAuth = await ScriptSmtpServer.StartAsync(new { startTls = true, key = _certificate.KeyPath, cert = _certificate.CertPath });
        await using (var sender = new SmtpSender(Secure(noAuth), TimeProvider.System))
        {
            var result = await Send(sender);
            Assert.Equal(SmtpOutcome.TransientFailure, result.Outcome);
            Assert.Equal(SmtpStage.Auth, result.Stage);
            Assert.Contains("offers no AUTH", result.Text, StringComparison.Ordinal);
        }
        await noAuth.SettledAsync();
        Assert.DoesNotContain("MAIL", noAuth.Verbs());
    }

    [Fact]
    public async Task Implicit_TLS_from_the_first_byte_works()
    {
        await using var server = await ScriptSmtpServer.StartAsync(new
        {
            implicitTls = true, key = _certificate.KeyPath, cert = _certificate.CertPath, users = new Dictionary<string, string> { ["alice"] = Password },
        });
        await using var sender = new SmtpSender(Secure(server) with { ImplicitTls = true }, TimeProvider.System);

        var result = await Send(sender);

        Assert.True(result.Accepted, result.Text);
        await server.SettledAsync();
        Assert.True((bool)Assert.Single(server.Messages)["secure"]!);
        Assert.DoesNotContain("STARTTLS", server.Verbs());
    }

    [Fact]
    public async Task A_recipient_refused_with_550_fails_only_that_message_and_the_others_go_on_the_same_connection()
    {
        await using var server = await ScriptSmtpServer.StartAsync();
        await using var sender = new SmtpSender(Options(server), TimeProvider.System);

        var first = await Send(sender, "ann@example.com");
        var refused = await Send(sender, "reject.bob@example.com");
        var third = await Send(sender, "cid@example.com");

        Assert.True(first.Accepted, first.Text);
        Assert.Equal(SmtpOutcome.PermanentFailure, refused.Outcome);
        Assert.Equal(550, refused.ReplyCode);
        Assert.Equal("5.1.1", refused.EnhancedCode);
        Assert.Equal(SmtpStage.RcptTo, refused.Stage);
        Assert.Contains("No such user", refused.Text, StringComparison.Ordinal);
        Assert.True(third.Accepted, third.Text);
        await server.SettledAsync();
        Assert.Equal(1, server.Connections);
        Assert.Equal(["ann@example.com", "cid@example.com"], server.Messages.Select(m => (string)m["to"]![0]!));
        // The failed transaction is reset before the next one; the accepted one needs no RSET.
        Assert.Equal(["EHLO", "MAIL", "RCPT", "DATA", "MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA"], server.Verbs());
        Assert.Equal(("Q1", "Q2"), (first.QueueId, third.QueueId));
    }

    [Fact]
    public async Task A_451_is_transient_at_RCPT_or_after_the_data_and_the_connection_is_kept()
    {
        await using var server = await ScriptSmtpServer.StartAsync();
        await using var sender = new SmtpSender(Options(server), TimeProvider.System);

        var atRcpt = await Send(sender, "busy@example.com");
        var afterData = await Send(sender, "tempfail@example.com");
        var next = await Send(sender);

        Assert.Equal(SmtpOutcome.TransientFailure, atRcpt.Outcome);
        Assert.Equal(451, atRcpt.ReplyCode);
        Assert.Equal(SmtpStage.RcptTo, atRcpt.Stage);
        Assert.Equal(SmtpOutcome.TransientFailure, afterData.Outcome);
        Assert.Equal(451, afterData.ReplyCode);
        Assert.Equal(SmtpStage.Content, afterData.Stage);
        Assert.True(next.Accepted, next.Text);
        await server.SettledAsync();
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task A_421_is_transient_and_the_connection_is_replaced()
    {
        await using var server = await ScriptSmtpServer.StartAsync();
        var log = new ListLogger<SmtpSender>();
        await using var sender = new SmtpSender(Options(server), TimeProvider.System, log);

        var closing = await Send(sender, "close@example.com");
        var next = await Send(sender);

        Assert.Equal(SmtpOutcome.TransientFailure, closing.Outcome);
        Assert.Equal(421, closing.ReplyCode);
        Assert.Equal(SmtpStage.RcptTo, closing.Stage);
        Assert.True(next.Accepted, next.Text);
        Assert.DoesNotContain(log.Entries, e => e.EventId == 3106); // dropped at once, not found stale on the next send
        await server.SettledAsync();
        Assert.Equal(2, server.Connections);
    }

    [Fact]
    public async Task A_connection_dropped_mid_DATA_is_transient_and_the_pool_recovers_for_the_next_message()
    {
        await using var server = await ScriptSmtpServer.StartAsync();
        await using var sender = new SmtpSender(Options(server), TimeProvider.System);

        var dropped = await Send(sender, "drop@example.com");
        var next = await Send(sender);

        Assert.Equal(SmtpOutcome.TransientFailure, dropped.Outcome);
        Assert.Null(dropped.ReplyCode);
        Assert.Equal(SmtpStage.Content, dropped.Stage);
        await server.SettledAsync();
        Assert.Single(server.Of("dropped"));
        Assert.True(next.Accepted, next.Text);
        Assert.Equal(2, server.Connections);
        Assert.Single(server.Messages);
    }

    [Fact]
    public async Task A_stalled_server_times_out_after_the_command_timeout_and_the_next_message_uses_a_new_connection()
    {
        await using var server = await ScriptSmtpServer.StartAsync(new { slowMs = 30_000 });
        await using var sender = new SmtpSender(Options(server) with { CommandTimeout = TimeSpan.FromSeconds(1) }, TimeProvider.System);
        Assert.True((await Send(sender)).Accepted); // connected and warm

        var watch = Stopwatch.StartNew();
        var stalled = await Send(sender, "slow@example.com");
        watch.Stop();
        var next = await Send(sender);

        Assert.Equal(SmtpOutcome.TransientFailure, stalled.Outcome);
        Assert.Null(stalled.ReplyCode);
        Assert.Equal(SmtpStage.RcptTo, stalled.Stage);
        Assert.Contains("no answer within 1000 ms", stalled.Text, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(4));
        Assert.True(next.Accepted, next.Text);
        await server.SettledAsync();
        Assert.Equal(2, server.Connections);
    }

    [Fact]
    public async Task The_timeout_is_per_command_so_a_slow_server_within_it_at_each_step_still_delivers()
    {
        // RCPT and the end of data are each answered after 0.9 s: 1.8 s in all, each step within the 1.5 s timeout.
        await using var server = await ScriptSmtpServer.StartAsync(new { slowMs = 900 });
        await using var sender = new SmtpSender(Options(server) with { CommandTimeout = TimeSpan.FromSeconds(1.5) }, TimeProvider.System);

        var watch = Stopwatch.StartNew();
        var result = await Send(sender, "slow@example.com");

        Assert.True(result.Accepted, result.Text);
        Assert.True(watch.Elapsed > TimeSpan.FromSeconds(1.7), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Cancellation_throws_and_the_connection_in_use_is_dropped()
    {
        await using var server = await ScriptSmtpServer.StartAsync(new { slowMs = 30_000 });
        await using var sender = new SmtpSender(Options(server), TimeProvider.System);
        using var cancel = new CancellationTokenSource();

        var sending = sender.SendAsync(Message("slow@example.com"), cancel.Token);
        await Peers.EventuallyAsync(() => server.Verbs().Contains("RCPT"), "RCPT");
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        await Peers.EventuallyAsync(() => server.Of("close").Count == 1, "the connection to close");
        Assert.True((await Send(sender)).Accepted);
    }

    [Fact]
    public async Task A_refused_connection_is_transient()
    {
        var port = Peers.FreePort(); // nothing listens there
        await using var sender = new SmtpSender(new SmtpSenderOptions
        {
            Host = "127.0.0.1", Port = port, StartTls = StartTlsPolicy.None, LocalDomain = "mail.chuda.test",
        }, TimeProvider.System);

        var result = await Send(sender);

        Assert.Equal(SmtpOutcome.TransientFailure, result.Outcome);
        Assert.Equal(SmtpStage.Connect, result.Stage);
        Assert.Null(result.ReplyCode);
        Assert.Contains("cannot connect", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_hundred_concurrent_sends_share_at_most_MaxConnections_connections()
    {
        await using var server = await ScriptSmtpServer.StartAsync();
        await using var sender = new SmtpSender(Options(server) with { MaxConnections = 3, MaxMessagesPerConnection = 1000 }, TimeProvider.System);

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Send(sender)));

        Assert.All(results, r => Assert.True(r.Accepted, r.Text));
        await server.SettledAsync();
        Assert.Equal(200, server.Messages.Count);
        Assert.Equal(3, server.Connections);
        Assert.Equal(3, sender.ConnectionsOpened);
        Assert.Equal(3, server.Messages.Select(m => (string)m["id"]!).Distinct().Count()); // concurrent sends used all three
    }

    [Fact]
    public async Task A_connection_is_closed_with_QUIT_after_MaxMessagesPerConnection_and_on_dispose()
    {
        await using var server = await ScriptSmtpServer.StartAsync();
        var sender = new SmtpSender(Options(server) with { MaxMessagesPerConnection = 5 }, TimeProvider.System);
        for (var i = 0; i < 12; i++) Assert.True((await Send(sender)).Accepted);
        await sender.DisposeAsync();

        await server.SettledAsync();
        Assert.Equal(3, server.Connections);
        var connections = server.Of("connect").Select(e => (string)e["id"]!).ToList();
        Assert.Equal([5, 5, 2], connections.Select(c => server.Verbs(c).Count(v => v == "MAIL")));
        await Peers.EventuallyAsync(() => connections.All(c => server.Verbs(c)[^1] == "QUIT"), "QUIT on every connection");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Send(sender));
    }

    [Fact]
    public async Task An_idle_connection_is_closed_after_IdleTimeout_and_the_next_send_opens_another()
    {
        await using var server = await ScriptSmtpServer.StartAsync();
        var time = new FakeTimeProvider();
        await using var sender = new SmtpSender(Options(server) with { IdleTimeout = TimeSpan.FromSeconds(30) }, time);
        Assert.True((await Send(sender)).Accepted);
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.True((await Send(sender)).Accepted);
        await server.SettledAsync();
        Assert.Equal(1, server.Connections);

        time.Advance(TimeSpan.FromSeconds(50)); // idle 30 s by t = 50; the sweep every 15 s closes it at t = 60
        await Peers.EventuallyAsync(() => server.Verbs().Contains("QUIT"), "QUIT of the idle connection");
        Assert.True((await Send(sender)).Accepted);
        await server.SettledAsync();
        Assert.Equal(2, server.Connections);
    }

    [Fact]
    public async Task A_connection_the_server_closed_while_idle_is_replaced_transparently()
    {
        await using var server = await ScriptSmtpServer.StartAsync(new { socketTimeout = 1500 }); // then "421 Timeout" and close
        var log = new ListLogger<SmtpSender>();
        await using var sender = new SmtpSender(Options(server), TimeProvider.System, log);
        var first = await Send(sender);
        Assert.True(first.Accepted, first.Text);
        await Peers.EventuallyAsync(() => server.Of("close").Count == 1, "the server to time the connection out");

        var result = await Send(sender);

        Assert.True(result.Accepted, result.Text);
        Assert.Contains(log.Entries, e => e.EventId == 3106);
        await Peers.EventuallyAsync(() => server.Messages.Count >= 2, "the server to report the second message");
        await server.SettledAsync();
        Assert.Equal(2, server.Connections);
        Assert.Equal(2, server.Messages.Count);
    }

    [Fact]
    public async Task MAIL_RCPT_and_DATA_go_as_one_pipelined_group_when_offered_and_one_by_one_otherwise()
    {
        await using (var server = await ScriptSmtpServer.StartAsync())
        {
            await using var sender = new SmtpSender(Options(server), TimeProvider.System);
            Assert.True((await Send(sender)).Accepted);
            Assert.True((await Send(sender, "reject@example.com")).Outcome == SmtpOutcome.PermanentFailure);
            Assert.True((await Send(sender)).Accepted);
            await server.SettledAsync();
            var chunks = server.Of("chunk").Select(c => (string)c["text"]!).ToList();
            Assert.Equal(3, chunks.Count);
            Assert.Matches("^MAIL FROM:<news@chuda.test>\r\nRCPT TO:<li.lei@example.com>\r\nDATA\r\n$", chunks[0]);
            Assert.Matches("^RSET\r\nMAIL FROM:<news@chuda.test>\r\nRCPT TO:<li.lei@example.com>\r\nDATA\r\n$", chunks[2]);
        }

        foreach (var (config, usePipelining) in new[] { ((object)new { hidePipelining = true }, true), (new { }, false) })
        {
            await using var server = await ScriptSmtpServer.StartAsync(config);
            await using var sender = new SmtpSender(Options(server) with { UsePipelining = usePipelining }, TimeProvider.System);
            Assert.True((await Send(sender)).Accepted);
            await server.SettledAsync();
            Assert.Equal("MAIL FROM:<news@chuda.test>\r\n", (string)Assert.Single(server.Of("chunk"))["text"]!);
        }
    }

    [Fact]
    public async Task A_server_that_does_not_know_EHLO_gets_HELO_and_plain_commands()
    {
        await using var server = await ScriptSmtpServer.StartAsync(new { disabledCommands = new[] { "EHLO" } });
        await using var sender = new SmtpSender(Options(server) with { StartTls = StartTlsPolicy.Opportunistic }, TimeProvider.System);

        var result = await Send(sender);

        Assert.True(result.Accepted, result.Text);
        await server.SettledAsync();
        Assert.Equal(["EHLO", "HELO", "MAIL", "RCPT", "DATA"], server.Verbs());
    }

    [Fact]
    public async Task Opportunistic_STARTTLS_upgrades_when_offered()
    {
        await using var server = await ScriptSmtpServer.StartAsync(new { startTls = true, key = _certificate.KeyPath, cert = _certificate.CertPath });
        await using var sender = new SmtpSender(Options(server) with
        {
            StartTls = StartTlsPolicy.Opportunistic, ServerCertificateValidation = _certificate.Pinned,
        }, TimeProvider.System);

        Assert.True((await Send(sender)).Accepted);
        await server.SettledAsync();
        Assert.True((bool)Assert.Single(server.Messages)["secure"]!);
    }

    [Fact]
    public async Task A_malformed_message_throws_before_any_connection_is_opened()
    {
        await using var server = await ScriptSmtpServer.StartAsync();
        await using var sender = new SmtpSender(Options(server), TimeProvider.System);

        await Assert.ThrowsAsync<ArgumentException>(() => sender.SendAsync(Message() with { Subject = "Hi\r\nBcc: victim@example.com" }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => sender.SendAsync(Message("victim@example.com>\r\nRCPT TO:<other@example.com"), CancellationToken.None));

        Assert.Equal(0, sender.ConnectionsOpened);
        await server.SettledAsync();
        Assert.Equal(0, server.Connections);
    }

    [Fact]
    public async Task Bytes_sent_after_the_STARTTLS_reply_in_plain_text_are_refused_as_an_injection()
    {
        await using var peer = new RawSmtpPeer("220 fake ESMTP\r\n", line => line switch
        {
            _ when line.StartsWith("EHLO", StringComparison.Ordinal) => "250-fake\r\n250 STARTTLS\r\n",
            "STARTTLS" => "220 Go ahead\r\n250-fake\r\n250 AUTH PLAIN\r\n", // the second reply is the attacker's
            _ => null,
        });
        await using var sender = new SmtpSender(new SmtpSenderOptions
        {
            Host = "127.0.0.1", Port = peer.Port, LocalDomain = "mail.chuda.test", StartTls = StartTlsPolicy.Required,
            ServerCertificateValidation = _certificate.Pinned,
        }, TimeProvider.System);

        var result = await Send(sender);

        Assert.Equal(SmtpOutcome.TransientFailure, result.Outcome);
        Assert.Equal(SmtpStage.StartTls, result.Stage);
        Assert.Contains("after its STARTTLS reply", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_554_greeting_is_permanent_and_a_malformed_reply_is_transient()
    {
        await using (var refusing = new RawSmtpPeer("554 5.7.1 no service for you\r\n", _ => "221 bye\r\n"))
        {
            await using var sender = new SmtpSender(new SmtpSenderOptions
            {
                Host = "127.0.0.1", Port = refusing.Port, LocalDomain = "mail.chuda.test", StartTls = StartTlsPolicy.None,
            }, TimeProvider.System);
            var result = await Send(sender);
            Assert.Equal((SmtpOutcome.PermanentFailure, 554, "5.7.1", SmtpStage.Greeting), (result.Outcome, result.ReplyCode, result.EnhancedCode, result.Stage));
            Assert.Equal("no service for you", result.Text);
        }

        await using var garbled = new RawSmtpPeer("220-fake ESMTP\r\n220 welcome\r\n", _ => "hello there\r\n");
        await using (var sender = new SmtpSender(new SmtpSenderOptions
        {
            Host = "127.0.0.1", Port = garbled.Port, LocalDomain = "mail.chuda.test", StartTls = StartTlsPolicy.None,
        }, TimeProvider.System))
        {
            var result = await Send(sender);
            Assert.Equal((SmtpOutcome.TransientFailure, (int?)null, SmtpStage.Hello), (result.Outcome, result.ReplyCode, result.Stage));
            Assert.Contains("not an SMTP reply line", result.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Options_are_validated_and_the_password_is_not_printed()
    {
        var options = new SmtpSenderOptions { Host = "smtp.example.com", LocalDomain = "chuda.test", Username = "u", Password = "hunter2" };
        Assert.DoesNotContain("hunter2", options.ToString(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new SmtpSender(options with { Password = null }, TimeProvider.System));
        Assert.Throws<ArgumentException>(() => new SmtpSender(options with { MaxConnections = 0 }, TimeProvider.System));
        Assert.Throws<ArgumentException>(() => new SmtpSender(options with { CommandTimeout = TimeSpan.Zero }, TimeProvider.System));
        Assert.Throws<ArgumentException>(() => new SmtpSender(options with { LocalDomain = "not a domain" }, TimeProvider.System));
        Assert.Throws<ArgumentException>(() => new SmtpSender(options with { Port = 0 }, TimeProvider.System));
    }
}
