using System.Text;
using Chuda.Domain.Templates;

namespace Chuda.Channels.WeChat;

/// <summary>
/// Turns a rendered WeChat template (<see cref="WeChatContent"/>) into a WeCom application message, by this rule:
/// <list type="bullet">
/// <item>the title is the value of the data key <c>title</c>, else <c>first</c>, else the first data entry's value;</item>
/// <item>the other entries become <c>key: value</c> lines in the template's order, except <c>remark</c>, whose value is the
/// last line, without its key; empty values are skipped;</item>
/// <item><see cref="WeChatContent.Url"/> is the link: the textcard's <c>url</c> (required), a last line of a text message,
/// a <c>[查看详情](url)</c> link in markdown.</item>
/// </list>
/// Lengths follow WeCom's limits (textcard title 128 bytes, description 512 bytes; text and markdown content 2048 bytes),
/// cut at a character boundary.
/// </summary>
public static class WeComMessageBuilder
{
    public const int TitleBytes = 128;
    public const int DescriptionBytes = 512;
    public const int ContentBytes = 2048;

    public static (string Title, IReadOnlyList<string> Lines) Parts(WeChatContent content)
    {
        var entries = content.Data.Where(kv => !string.IsNullOrWhiteSpace(kv.Value)).ToList();
        var titleKey = entries.Any(kv => kv.Key == "title") ? "title" : entries.Any(kv => kv.Key == "first") ? "first" : entries.FirstOrDefault().Key;
        var title = titleKey is null ? "" : entries.First(kv => kv.Key == titleKey).Value.Trim();
        var lines = new List<string>();
        string? remark = null;
        foreach (var (key, value) in entries)
        {
            if (key == titleKey) continue;
            if (key == "remark") remark = value.Trim();
            else lines.Add($"{key}: {value.Trim()}");
        }
        if (remark is not null) lines.Add(remark);
        return (title, lines);
    }

    /// <summary>Writes the message-type part (<c>"msgtype"</c> and its object) into <paramref name="json"/>; null when the
    /// content cannot make that type (a textcard without a URL or title).</summary>
    public static string? Write(WeChatJson json, string messageType, WeChatContent content)
    {
        var (title, lines) = Parts(content);
        switch (messageType)
        {
            case "textcard":
                if (string.IsNullOrWhiteSpace(content.Url)) return "a WeCom textcard needs a link: the template's wechat.url is empty";
                if (title.Length == 0) return "a WeCom textcard needs a title: every data value is empty";
                json.String("msgtype", "textcard").StartObject("textcard")
                    .String("title", Truncate(title, TitleBytes))
                    .String("description", Truncate(lines.Count > 0 ? string.Join('\n', lines) : title, DescriptionBytes))
                    .String("url", content.Url)
                    .EndObject();
                return null;
            case "markdown":
            {
                var text = new StringBuilder();
                if (title.Length > 0) text.Append("**").Append(title).Append("**\n");
                foreach (var line in lines) text.Append(line).Append('\n');
                if (!string.IsNullOrWhiteSpace(content.Url)) text.Append("[查看详情](").Append(content.Url).Append(')');
                json.String("msgtype", "markdown").StartObject("markdown").String("content", Truncate(text.ToString().TrimEnd('\n'), ContentBytes)).EndObject();
                return null;
            }
            default:
            {
                var text = new StringBuilder(title);
                foreach (var line in lines) text.Append('\n').Append(line);
                if (!string.IsNullOrWhiteSpace(content.Url)) text.Append('\n').Append(content.Url);
                var body = text.ToString().Trim('\n');
                if (body.Length == 0) return "the message is empty: every data value is empty";
                json.String("msgtype", "text").StartObject("text").String("content", Truncate(body, ContentBytes)).EndObject();
                return null;
            }
        }
    }

    /// <summary>At most <paramref name="maxBytes"/> UTF-8 bytes of <paramref name="text"/>, not splitting a surrogate pair.</summary>
    public static string Truncate(string text, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= maxBytes) return text;
        var bytes = 0;
        var i = 0;
        while (i < text.Length)
        {
            var width = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(text.AsSpan(i, width));
            if (bytes + size > maxBytes) break;
            bytes += size;
            i += width;
        }
        return text[..i];
    }
}
