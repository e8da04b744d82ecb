using System.Security.Cryptography;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Chuda.Channels.Providers;

namespace Chuda.Channels.WeChat;

/// <summary>
/// The official account's server URL ("服务器配置"), in plain-text mode: WeChat signs every request with
/// <c>signature = sha1(sorted(token, timestamp, nonce) joined)</c> in the query string; a GET with <c>echostr</c> is the
/// configuration handshake, answered with the echostr itself; a POST carries an XML event or message. Handled:
/// <c>TEMPLATESENDJOBFINISH</c> (<c>MsgID</c>, <c>Status</c> = <c>success</c> / <c>failed:user block</c> /
/// <c>failed: system failed</c>) → Delivered / Failed reports, and a text message from a user → an Inbound report.
/// Other events are acknowledged and ignored. The AES "safe mode" is NOT supported: a body that carries only an
/// <c>Encrypt</c> element is answered 400 (the compatible mode, which also carries the plain fields, works).
/// </summary>
public sealed class WeChatCallbackHandler(string? token)
{
    private const int MaxBodyBytes = 64 * 1024;

    /// <summary><c>sha1</c> hex of the three values sorted ordinally and concatenated.</summary>
    public static string Signature(string token, string timestamp, string nonce)
    {
        string[] parts = [token, timestamp, nonce];
        Array.Sort(parts, StringComparer.Ordinal);
        // WeChat's server signature is defined as SHA-1; there is no other choice.
#pragma warning disable CA5350
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(parts))));
#pragma warning restore CA5350
    }

    public ProviderCallbackResult Handle(ProviderCallback callback)
    {
        if (string.IsNullOrEmpty(token)) return ProviderCallbackResult.Rejected("callbacks are not configured: set callbackToken");
        var query = callback.Query;
        if (!query.TryGetValue("signature", out var signature) || !query.TryGetValue("timestamp", out var timestamp) || !query.TryGetValue("nonce", out var nonce))
            return ProviderCallbackResult.Rejected("signature, timestamp and nonce are required");
        var expected = Signature(token, timestamp, nonce);
        if (signature.Length != expected.Length ||
            !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature.ToLowerInvariant())))
            return ProviderCallbackResult.Rejected("signature does not verify");

        if (string.Equals(callback.Method, "GET", StringComparison.OrdinalIgnoreCase))
        {
            return query.TryGetValue("echostr", out var echo)
                ? new ProviderCallbackResult(true, [], 200, echo)
                : new ProviderCallbackResult(true, [], 400, "echostr is required");
        }
        if (!string.Equals(callback.Method, "POST", StringComparison.OrdinalIgnoreCase)) return new ProviderCallbackResult(true, [], 405, "GET or POST");
        if (callback.Body.Length > MaxBodyBytes) return new ProviderCallbackResult(true, [], 413, "body too large");

        XElement root;
        try
        {
            root = Parse(callback.Body);
        }
        catch (XmlException ex)
        {
            return new ProviderCallbackResult(true, [], 400, "not XML: " + ex.Message);
        }
        string? Field(string name) => root.Elements().FirstOrDefault(e => string.Equals(e.Name.LocalName, name, StringComparison.OrdinalIgnoreCase))?.Value;

        var msgType = Field("MsgType");
        if (msgType is null && Field("Encrypt") is not null)
            return new ProviderCallbackResult(true, [], 400, "AES safe mode is not supported: set the account's message encryption to plain text (明文模式) or compatible mode");

        var reports = new List<ProviderReport>();
        if (string.Equals(msgType, "event", StringComparison.OrdinalIgnoreCase) &&
            string.Equals(Field("Event"), "TEMPLATESENDJOBFINISH", StringComparison.OrdinalIgnoreCase))
        {
            var msgId = Field("MsgID")?.Trim();
            var status = Field("Status")?.Trim() ?? "";
            if (!string.IsNullOrEmpty(msgId))
            {
                reports.Add(string.Equals(status, "success", StringComparison.OrdinalIgnoreCase)
                    ? new ProviderReport(ProviderReportKind.Delivered, msgId, "success")
                    : new ProviderReport(ProviderReportKind.Failed, msgId, status.Length > 0 ? status : "failed"));
            }
        }
        else if (string.Equals(msgType, "text", StringComparison.OrdinalIgnoreCase) && Field("FromUserName") is { Length: > 0 } from)
        {
            reports.Add(new ProviderReport(ProviderReportKind.Inbound, null, "text message", from, Field("Content") ?? ""));
        }
        // WeChat treats "success" (or an empty body) as "received, no reply".
        return new ProviderCallbackResult(true, reports, 200, "success");
    }

    private static XElement Parse(ReadOnlyMemory<byte> body)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = MaxBodyBytes * 4L,
            IgnoreComments = true,
        };
        using var stream = new MemoryStream(body.ToArray(), writable: false);
        using var reader = XmlReader.Create(stream, settings);
        return XElement.Load(reader);
    }
}
