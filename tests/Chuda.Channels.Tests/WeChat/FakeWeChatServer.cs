using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chuda.Channels.Tests.WeChat;

/// <summary>A send request as the fake received it.</summary>
public sealed record ReceivedSend(string Path, string AccessToken, string ContentType, byte[] Raw, JsonElement Body)
{
    public string Text => Encoding.UTF8.GetString(Raw);
}

/// <summary>
/// A local stand-in for <c>api.weixin.qq.com</c> and <c>qyapi.weixin.qq.com</c> (Kestrel on 127.0.0.1, ephemeral port) that
/// checks what it receives the way the real APIs are documented to: the token endpoints check the app id / corp id and the
/// secret (a wrong secret answers 40125 for an official account — "invalid appsecret" — and 40001 for WeCom — "invalid
/// credential"); the send endpoints check the access token (unknown → 40001, expired on demand → 42001), the JSON shape and
/// that the body has no <c>\uXXXX</c> escapes (40033), and answer the error chosen for a recipient. Shape problems are
/// collected in <see cref="Problems"/> (and answered 47001) so a test can assert there were none.
/// </summary>
public sealed class FakeWeChatServer : IAsyncDisposable
{
    public const string AppId = "wx5f2c7a19e0d3b4a1";
    public const string AppSecret = "mp-secret-0123456789abcdef";
    public const string CorpId = "ww9a8b7c6d5e4f3a2b";
    public const string CorpSecret = "corp-secret-abcdefghijklmnop";
    public const long AgentId = 1000002;

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, bool> _tokens = new(StringComparer.Ordinal); // token → still valid
    private readonly ConcurrentQueue<ReceivedSend> _sends = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly ConcurrentQueue<string> _sendTokens = new();
    private readonly ConcurrentQueue<JsonElement> _stableTokenRequests = new();
    private int _tokenFetches;
    private int _tokenRejections;
    private int _tokenCounter;
    private long _msgId = 200163836;

    private FakeWeChatServer(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    /// <summary>How long the token endpoints take to answer (so concurrent sends overlap a fetch).</summary>
    public TimeSpan TokenDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public int ExpiresIn { get; set; } = 7200;

    /// <summary>The access token of every send request, refused ones included, in arrival order.</summary>
    public IReadOnlyList<string> SendTokens => [.. _sendTokens];

    public int TokenFetches => Volatile.Read(ref _tokenFetches);

    /// <summary>Send requests refused for their access token (unknown or expired).</summary>
    public int TokenRejections => Volatile.Read(ref _tokenRejections);

    public IReadOnlyList<ReceivedSend> Sends => [.. _sends];

    public IReadOnlyList<string> Problems => [.. _problems];

    public IReadOnlyList<JsonElement> StableTokenRequests => [.. _stableTokenRequests];

    /// <summary>Error answers by recipient (openid or WeCom userid): errcode and errmsg.</summary>
    public ConcurrentDictionary<string, (int Code, string Message)> Errors { get; } = new(StringComparer.Ordinal);

    /// <summary>WeCom users answered with errcode 0 and themselves in <c>invaliduser</c>.</summary>
    public ConcurrentDictionary<string, bool> InvalidWeComUsers { get; } = new(StringComparer.Ordinal);

    /// <summary>Every token issued so far now answers 42001 (access_token expired).</summary>
    public void ExpireTokens()
    {
        foreach (var token in _tokens.Keys) _tokens[token] = false;
    }

    public static async Task<FakeWeChatServer> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeWeChatServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Address = new Uri(address);
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted);
        var raw = buffer.ToArray();
        var query = request.Query;
        JsonObject answer = (request.Method, request.Path.Value) switch
        {
            ("GET", "/cgi-bin/token") => await TokenAsync(query["grant_type"] == "client_credential", query["appid"], AppId, 40013, "invalid appid",
                query["secret"], AppSecret, 40125, "invalid appsecret"),
            ("POST", "/cgi-bin/stable_token") => await StableTokenAsync(raw),
            ("GET", "/cgi-bin/gettoken") => await TokenAsync(true, query["corpid"], CorpId, 40013, "invalid corpid",
                query["corpsecret"], CorpSecret, 40001, "invalid credential"),
            ("POST", "/cgi-bin/message/template/send") => Send(context, raw, OfficialAccountShape, wecom: false),
            ("POST", "/cgi-bin/message/subscribe/bizsend") => Send(context, raw, SubscribeShape, wecom: false),
            ("POST", "/cgi-bin/message/send") => Send(context, raw, WeComShape, wecom: true),
            _ => Error(404, "no such API: " + request.Method + " " + request.Path),
        };
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(answer.ToJsonString(), context.RequestAborted);
    }

    private async Task<JsonObject> TokenAsync(bool grant, string? id, string expectedId, int idCode, string idMessage, string? secret, string expectedSecret,
        int secretCode, string secretMessage)
    {
        Interlocked.Increment(ref _tokenFetches);
        await Task.Delay(TokenDelay, TimeProvider.System, CancellationToken.None);
        if (!grant) return Error(40002, "invalid grant_type");
        if (id != expectedId) return Error(idCode, idMessage);
        if (secret != expectedSecret) return Error(secretCode, secretMessage);
        return Issue();
    }

    private async Task<JsonObject> StableTokenAsync(byte[] raw)
    {
        JsonElement body;
        try
        {
            body = JsonDocument.Parse(raw).RootElement.Clone();
        }
        catch (JsonException)
        {
            Interlocked.Increment(ref _tokenFetches);
            _problems.Enqueue("stable_token: body is not JSON");
            return Error(47001, "data format error");
        }
        _stableTokenRequests.Enqueue(body);
        string? Str(string name) => body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return await TokenAsync(Str("grant_type") == "client_credential", Str("appid"), AppId, 40013, "invalid appid", Str("secret"), AppSecret, 40125, "invalid appsecret");
    }

    private JsonObject Issue()
    {
        var token = "ACCESS_TOKEN_" + Interlocked.Increment(ref _tokenCounter).ToString(CultureInfo.InvariantCulture);
        _tokens[token] = true;
        return new JsonObject { ["access_token"] = token, ["expires_in"] = ExpiresIn };
    }

    private JsonObject Send(HttpContext context, byte[] raw, Func<JsonElement, IEnumerable<string>> shape, bool wecom)
    {
        var token = context.Request.Query["access_token"].ToString();
        _sendTokens.Enqueue(token);
        if (!_tokens.TryGetValue(token, out var valid) || !valid) Interlocked.Increment(ref _tokenRejections);
        if (!_tokens.TryGetValue(token, out valid)) return Error(wecom ? 40014 : 40001, wecom ? "invalid access_token" : "invalid credential, access_token is invalid or not latest");
        if (!valid) return Error(42001, "access_token expired");

        var text = Encoding.UTF8.GetString(raw);
        if (text.Contains("\\u", StringComparison.OrdinalIgnoreCase))
        {
            _problems.Enqueue("\\uXXXX escape in " + text);
            return Error(40033, "invalid charset. please check your request, if include \\uxxxx will create fail!");
        }
        JsonElement body;
        try
        {
            body = JsonDocument.Parse(raw).RootElement.Clone();
        }
        catch (JsonException ex)
        {
            _problems.Enqueue("not JSON: " + ex.Message);
            return Error(47001, "data format error");
        }
        var contentType = context.Request.ContentType ?? "";
        _sends.Enqueue(new ReceivedSend(context.Request.Path.Value!, token, contentType, raw, body));
        var problems = shape(body).ToList();
        if (!contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)) problems.Add("content type " + contentType);
        if (problems.Count > 0)
        {
            foreach (var p in problems) _problems.Enqueue(p);
            return Error(47001, "data format error: " + string.Join("; ", problems));
        }
        if (wecom && body.GetProperty("agentid").GetInt64() != AgentId) return Error(301002, "not allow operate another agent with this accesstoken");

        var touser = body.GetProperty("touser").GetString()!;
        if (Errors.TryGetValue(touser, out var error)) return Error(error.Code, error.Message);
        var msgId = Interlocked.Increment(ref _msgId);
        if (!wecom) return new JsonObject { ["errcode"] = 0, ["errmsg"] = "ok", ["msgid"] = msgId };
        var answer = new JsonObject { ["errcode"] = 0, ["errmsg"] = "ok", ["msgid"] = "wecom-" + msgId.ToString(CultureInfo.InvariantCulture) };
        if (InvalidWeComUsers.ContainsKey(touser)) answer["invaliduser"] = touser.ToLowerInvariant();
        return answer;
    }

    private static JsonObject Error(int code, string message) => new() { ["errcode"] = code, ["errmsg"] = message + " rid: 6759a1b2-0c3d4e5f-6a7b8c9d" };

    private static IEnumerable<string> Data(JsonElement body)
    {
        if (!body.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object) yield return "data must be an object";
        else
        {
            foreach (var p in data.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Object || !p.Value.TryGetProperty("value", out var v) || v.ValueKind != JsonValueKind.String)
                    yield return $"data.{p.Name} must be {{\"value\": \"…\"}}";
            }
        }
    }

    private static bool IsString(JsonElement body, string name) =>
        body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0;

    private static IEnumerable<string> OfficialAccountShape(JsonElement body)
    {
        if (!IsString(body, "touser")) yield return "touser must be a string";
        if (!IsString(body, "template_id")) yield return "template_id must be a string";
        if (!body.TryGetProperty("client_msg_id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString()!.Length is 0 or > 64)
            yield return "client_msg_id must be a string of 1-64 characters";
        if (body.TryGetProperty("miniprogram", out var mp) && (mp.ValueKind != JsonValueKind.Object || !IsString(mp, "appid")))
            yield return "miniprogram.appid must be a string";
        foreach (var p in Data(body)) yield return p;
    }

    private static IEnumerable<string> SubscribeShape(JsonElement body)
    {
        if (!IsString(body, "touser")) yield return "touser must be a string";
        if (!IsString(body, "template_id")) yield return "template_id must be a string";
        foreach (var p in Data(body)) yield return p;
    }

    private static IEnumerable<string> WeComShape(JsonElement body)
    {
        if (!IsString(body, "touser")) yield return "touser must be a string";
        if (!body.TryGetProperty("agentid", out var agent) || agent.ValueKind != JsonValueKind.Number) yield return "agentid must be a number";
        var type = body.TryGetProperty("msgtype", out var t) ? t.GetString() : null;
        if (type is not ("text" or "textcard" or "markdown")) yield return "msgtype must be text, textcard or markdown";
        else if (!body.TryGetProperty(type, out var part) || part.ValueKind != JsonValueKind.Object) yield return type + " must be an object";
        else if (type == "textcard")
        {
            foreach (var field in new[] { "title", "description", "url" })
            {
                if (!IsString(part, field)) yield return "textcard." + field + " is required";
            }
            if (IsString(part, "title") && Encoding.UTF8.GetByteCount(part.GetProperty("title").GetString()!) > 128) yield return "textcard.title over 128 bytes";
            if (IsString(part, "description") && Encoding.UTF8.GetByteCount(part.GetProperty("description").GetString()!) > 512) yield return "textcard.description over 512 bytes";
        }
        else if (!IsString(part, "content")) yield return type + ".content is required";
        if (body.TryGetProperty("enable_duplicate_check", out var check) && (check.ValueKind != JsonValueKind.Number || check.GetInt32() is not (0 or 1)))
            yield return "enable_duplicate_check must be 0 or 1";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
