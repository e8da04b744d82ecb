using System.Net;
using System.Text;

namespace Chuda.Domain.Templates;

/// <summary>
/// Derives the text part of an e-mail from its HTML: the contents of <c>head</c>, <c>style</c>, <c>script</c> and
/// comments are dropped, tags are removed, entities decoded, white space collapsed; <c>&lt;br&gt;</c>, <c>&lt;/div&gt;</c>,
/// <c>&lt;/tr&gt;</c> end a line, <c>&lt;/p&gt;</c> and headings end a paragraph (blank line), <c>&lt;li&gt;</c> starts a
/// "- " line, and links become <c>label (url)</c> (just the URL when the label is the URL).
/// </summary>
public static class HtmlText
{
    /// <summary>The plain-text rendering of <paramref name="html"/>.</summary>
    public static string ToText(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var output = new StringBuilder(html.Length);
        var links = new Stack<(string? Href, int Start)>();
        var i = 0;
        while (i < html.Length)
        {
            var lt = html.IndexOf('<', i);
            if (lt < 0)
            {
                AppendText(output, html.AsSpan(i));
                break;
            }

            if (lt > i)
            {
                AppendText(output, html.AsSpan(i, lt - i));
            }

            if (html.AsSpan(lt).StartsWith("<!--"))
            {
                var end = html.IndexOf("-->", lt + 4, StringComparison.Ordinal);
                i = end < 0 ? html.Length : end + 3;
                continue;
            }

            if (lt + 1 >= html.Length || !(char.IsAsciiLetter(html[lt + 1]) || html[lt + 1] is '/' or '!' or '?'))
            {
                AppendText(output, "<");
                i = lt + 1;
                continue;
            }

            var close = TagEnd(html, lt + 1);
            var tag = html.AsSpan(lt + 1, close - lt - 1);
            i = Math.Min(close + 1, html.Length);
            if (tag.Length > 0 && tag[0] is '!' or '?')
            {
                continue;
            }

            var closing = tag.Length > 0 && tag[0] == '/';
            var nameSpan = closing ? tag[1..] : tag;
            var nameLength = 0;
            while (nameLength < nameSpan.Length && (char.IsAsciiLetterOrDigit(nameSpan[nameLength]) || nameSpan[nameLength] == '-'))
            {
                nameLength++;
            }

            var name = nameSpan[..nameLength].ToString().ToLowerInvariant();
            if (!closing && name is "head" or "style" or "script" or "title" or "template")
            {
                if (tag.Length > 0 && tag[^1] == '/')
                {
                    continue;
                }

                var end = html.IndexOf("</" + name, i, StringComparison.OrdinalIgnoreCase);
                i = end < 0 ? html.Length : Math.Min(TagEnd(html, end + 1) + 1, html.Length);
                continue;
            }

            switch (name)
            {
                case "br":
                    NewLine(output, 1);
                    break;
                case "p" or "h1" or "h2" or "h3" or "h4" or "h5" or "h6" or "blockquote" or "table" or "ul" or "ol" or "hr":
                    NewLine(output, closing || name == "hr" ? 2 : 1);
                    break;
                case "div" or "tr" or "section" or "article" or "header" or "footer":
                    NewLine(output, 1);
                    break;
                case "li" when !closing:
                    NewLine(output, 1);
                    output.Append("- ");
                    break;
                case "td" or "th" when closing:
                    AppendText(output, " ");
                    break;
                case "a" when !closing:
                    links.Push((Attribute(tag, "href"), output.Length));
                    break;
                case "a" when links.Count > 0:
                    EndLink(output, links.Pop());
                    break;
                default:
                    break;
            }
        }

        return Tidy(output);
    }

    private static void EndLink(StringBuilder output, (string? Href, int Start) link)
    {
        var href = link.Href?.Trim();
        if (string.IsNullOrEmpty(href) || href.StartsWith('#') || href.StartsWith("javascript:", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var label = output.ToString(link.Start, output.Length - link.Start).Trim();
        var bare = href.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) ? href[7..] : href;
        if (label.Length == 0)
        {
            AppendText(output, href);
        }
        else if (label != href && label != bare)
        {
            AppendText(output, " (" + href + ")");
        }
    }

    // Index of the '>' closing the tag that starts at 'from' (quotes in attributes respected), or the end.
    private static int TagEnd(string html, int from)
    {
        char quote = '\0';
        for (var j = from; j < html.Length; j++)
        {
            var c = html[j];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '>')
            {
                return j;
            }
        }

        return html.Length;
    }

    private static string? Attribute(ReadOnlySpan<char> tag, string name)
    {
        var text = tag.ToString();
        var at = 0;
        while (true)
        {
            var found = text.IndexOf(name, at, StringComparison.OrdinalIgnoreCase);
            if (found < 0)
            {
                return null;
            }

            at = found + name.Length;
            if (found == 0 || !char.IsWhiteSpace(text[found - 1]))
            {
                continue;
            }

            var j = at;
            while (j < text.Length && char.IsWhiteSpace(text[j]))
            {
                j++;
            }

            if (j >= text.Length || text[j] != '=')
            {
                continue;
            }

            j++;
            while (j < text.Length && char.IsWhiteSpace(text[j]))
            {
                j++;
            }

            if (j >= text.Length)
            {
                return null;
            }

            string raw;
            if (text[j] is '"' or '\'')
            {
                var end = text.IndexOf(text[j], j + 1);
                raw = end < 0 ? text[(j + 1)..] : text[(j + 1)..end];
            }
            else
            {
                var end = j;
                while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] != '/')
                {
                    end++;
                }

                raw = text[j..end];
            }

            return WebUtility.HtmlDecode(raw);
        }
    }

    private static void AppendText(StringBuilder output, ReadOnlySpan<char> text)
    {
        var decoded = text.Contains('&') ? WebUtility.HtmlDecode(text.ToString()).AsSpan() : text;
        foreach (var c in decoded)
        {
            if (char.IsWhiteSpace(c))
            {
                if (output.Length > 0 && output[^1] is not (' ' or '\n'))
                {
                    output.Append(' ');
                }
            }
            else
            {
                output.Append(c);
            }
        }
    }

    private static void NewLine(StringBuilder output, int lines)
    {
        while (output.Length > 0 && output[^1] == ' ')
        {
            output.Length--;
        }

        if (output.Length == 0)
        {
            return;
        }

        var have = 0;
        for (var j = output.Length - 1; j >= 0 && output[j] == '\n'; j--)
        {
            have++;
        }

        for (; have < lines; have++)
        {
            output.Append('\n');
        }
    }

    private static string Tidy(StringBuilder output)
    {
        var lines = output.ToString().Split('\n');
        var result = new StringBuilder(output.Length);
        var blank = 0;
        foreach (var raw in lines)
        {
            var line = raw.Trim(' ');
            if (line.Length == 0)
            {
                blank++;
                continue;
            }

            if (result.Length > 0)
            {
                result.Append(blank > 0 ? "\n\n" : "\n");
            }

            result.Append(line);
            blank = 0;
        }

        return result.ToString();
    }
}
