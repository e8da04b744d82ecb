using System.Text;
using System.Text.Json.Nodes;
using Chuda.Channels.Email;

namespace Chuda.Channels.Tests.Email;

/// <summary>One maildev 2.2.1 for the class; each test finds its own e-mails by Message-ID.</summary>
public sealed class MailDevFixture : IAsyncLifetime
{
    public MailDev MailDev { get; private set; } = null!;

    public async Task InitializeAsync() => MailDev = await MailDev.StartAsync();

    public async Task DisposeAsync() => await MailDev.DisposeAsync();
}

/// <summary>What the SMTP sender delivers, as a real SMTP server (maildev, with its MIME parser) receives and decodes it.</summary>
public sealed class MailDevTests(MailDevFixture fixture) : IClassFixture<MailDevFixture>
{
    private MailDev MailDev => fixture.MailDev;

    private SmtpSender Sender(int maxConnections = 1) => new(new SmtpSenderOptions
    {
        Host = "127.0.0.1",
        Port = MailDev.SmtpPort,
        StartTls = StartTlsPolicy.None,
        LocalDomain = "mail.chuda.test",
        MaxConnections = maxConnections,
        CommandTimeout = TimeSpan.FromSeconds(10),
    }, TimeProvider.System);

    private static EmailMessage Message(string id, string? text = "hello", string? html = null) => new()
    {
        From = new EmailAddress("news@chuda.test", "Chuda"),
        To = new EmailAddress("li.lei@example.com"),
        Subject = "test " + id,
        Text = text,
        Html = html,
        MessageId = id,
    };

    private static string NewId() => "t" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task A_multipart_message_with_Chinese_subject_and_names_arrives_decoded_with_its_headers_and_Message_ID()
    {
        await using var sender = Sender();
        var id = NewId();
        const string subject = "【限时优惠】李雷，您的购物车里还有 3 件商品 —— 今晚 24:00 前下单立减 ¥50，别错过这次机会！";
        const string text = "李雷，您好：\n\n您的购物车里还有 3 件商品。\r\nTotal: ¥199 = 100% 满意\n";
        const string html = "<html><body><p style=\"color:#333\">李雷，您好</p><p>¥199 &amp; 更多</p></body></html>";
        var result = await sender.SendAsync(Message(id, text, html) with
        {
            From = new EmailAddress("news@chuda.test", "触达 Chuda 营销团队"),
            To = new EmailAddress("li.lei@example.com", "李雷"),
            ReplyTo = new EmailAddress("help@chuda.test", "Help, Desk \"24/7\""),
            Subject = subject,
            Headers = new Dictionary<string, string>
            {
                ["List-Unsubscribe"] = $"<https://chuda.test/u/{id}?sig=abc123>, <mailto:unsubscribe@chuda.test?subject={id}>",
                ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click",
                ["X-Chuda-Message-Id"] = id,
            },
        }, CancellationToken.None);

        Assert.True(result.Accepted, result.Text);
        Assert.Equal(250, result.ReplyCode);
        Assert.Equal($"<{id}@mail.chuda.test>", result.MessageId);

        var email = await MailDev.EmailAsync(result.MessageId);
        Assert.Equal(subject, (string?)email["subject"]);
        Assert.Equal("触达 Chuda 营销团队", (string?)email["from"]![0]!["name"]);
        Assert.Equal("news@chuda.test", (string?)email["from"]![0]!["address"]);
        Assert.Equal("李雷", (string?)email["to"]![0]!["name"]);
        Assert.Equal("li.lei@example.com", (string?)email["to"]![0]!["address"]);
        Assert.Equal("Help, Desk \"24/7\"", (string?)email["replyTo"]![0]!["name"]);
        Assert.Equal(text.ReplaceLineEndings("\n").TrimEnd(), ((string?)email["text"])!.ReplaceLineEndings("\n").TrimEnd());
        // maildev sanitises the HTML it returns into a whole document (<head></head> added): the body must be intact in it.
        Assert.Contains("<body><p style=\"color:#333\">李雷，您好</p><p>¥199 &amp; 更多</p></body>", (string?)email["html"], StringComparison.Ordinal);
        var headers = (JsonObject)email["headers"]!;
        Assert.Equal("List-Unsubscribe=One-Click", (string?)headers["list-unsubscribe-post"]);
        Assert.Equal(id, (string?)headers["x-chuda-message-id"]);
        Assert.Equal($"<https://chuda.test/u/{id}?sig=abc123>, <mailto:unsubscribe@chuda.test?subject={id}>", (string?)headers["list-unsubscribe"]);

        var source = await MailDev.SourceAsync((string)email["id"]!);
        var raw = Encoding.ASCII.GetString(source);
        Assert.All(source, b => Assert.True(b < 128, "the message is 7-bit"));
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\n') Assert.True(i > 0 && raw[i - 1] == '\r', $"bare LF at {i}");
            if (raw[i] == '\r') Assert.True(i + 1 < raw.Length && raw[i + 1] == '\n', $"bare CR at {i}");
        }
        var head = raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
        // At most 78 characters, unless the line holds one word that cannot be folded (the List-Unsubscribe URL).
        Assert.All(head.Split("\r\n"), line => Assert.True(line.Length <= 78 || line.TrimStart().Split(' ').Length <= (line.StartsWith(' ') ? 1 : 2),
            $"header line of {line.Length}: {line}"));
        Assert.All(head.Split("\r\n").Where(l => !l.StartsWith("List-Unsubscribe:", StringComparison.Ordinal)), line => Assert.True(line.Length <= 78, line));
        Assert.Contains($"\r\nMessage-ID: <{id}@mail.chuda.test>\r\n", raw, StringComparison.Ordinal);
        Assert.Contains("\r\nMIME-Version: 1.0\r\n", raw, StringComparison.Ordinal);
        Assert.Contains("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", raw, StringComparison.Ordinal);
        Assert.Contains("Content-Type: multipart/alternative;", raw, StringComparison.Ordinal);
        var plain = raw.IndexOf("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable", StringComparison.Ordinal);
        var rich = raw.IndexOf("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable", StringComparison.Ordinal);
        Assert.True(plain > 0 && rich > plain, "text/plain, then text/html, both quoted-printable");
        Assert.Contains("=?UTF-8?B?", head, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lines_that_start_with_a_dot_are_dot_stuffed_and_arrive_unchanged()
    {
        await using var sender = Sender();
        var id = NewId();
        const string text = ".hidden first line\n.\n..two dots\nmiddle\n.\n. \nlast.";
        var result = await sender.SendAsync(Message(id, text), CancellationToken.None);
        Assert.True(result.Accepted, result.Text);

        var email = await MailDev.EmailAsync(result.MessageId);
        Assert.Equal(text, ((string?)email["text"])!.ReplaceLineEndings("\n").TrimEnd('\n'));
    }

    [Fact]
    public async Task An_HTML_line_of_3000_characters_is_wrapped_by_quoted_printable_and_arrives_whole()
    {
        await using var sender = Sender();
        var id = NewId();
        var html = "<p>" + string.Concat(Enumerable.Range(0, 300).Select(i => $"word{i:0000}é ")) + "</p>"; // one line, ~3,000 characters
        Assert.True(html.Length > 3000);
        var result = await sender.SendAsync(Message(id, text: null, html: html), CancellationToken.None);
        Assert.True(result.Accepted, result.Text);

        var email = await MailDev.EmailAsync(result.MessageId);
        Assert.Contains("<body>" + html + "</body>", (string?)email["html"], StringComparison.Ordinal); // maildev makes it a whole document
        var raw = Encoding.ASCII.GetString(await MailDev.SourceAsync((string)email["id"]!));
        Assert.All(raw.Split("\r\n"), line => Assert.True(line.Length <= 76 || line.StartsWith("Received:", StringComparison.Ordinal), $"a line of {line.Length}"));
    }

    [Fact]
    public async Task Two_hundred_messages_through_the_pool_all_arrive()
    {
        await using var sender = Sender(maxConnections: 3);
        var batch = NewId();
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            sender.SendAsync(Message($"{batch}.{i}") with { Headers = new Dictionary<string, string> { ["X-Batch"] = batch } }, CancellationToken.None)));

        Assert.All(results, r => Assert.True(r.Accepted, r.Text));
        Assert.Equal(3, sender.ConnectionsOpened);
        await Peers.EventuallyAsync(() =>
            MailDev.EmailsAsync().GetAwaiter().GetResult().Count(e => (string?)e!["headers"]?["x-batch"] == batch) == 200, "200 e-mails in maildev");
    }
}
