using System.Text;

namespace Chuda.Domain.Delivery;

/// <summary>What an inbound SMS asks for.</summary>
public enum InboundIntent
{
    /// <summary>Not a keyword: an ordinary reply.</summary>
    None,
    /// <summary>Stop marketing on this number: <c>STOP</c>, <c>UNSUBSCRIBE</c>, <c>TD</c>, <c>退订</c>, …</summary>
    Stop,
    /// <summary>Start again: <c>START</c>, <c>UNSTOP</c>, <c>SUBSCRIBE</c>, <c>订阅</c>.</summary>
    Start,
}

/// <summary>
/// Recognises opt-out and opt-in keywords in inbound SMS, as carriers and regulators expect them: the English set (CTIA:
/// STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, plus OPTOUT and REVOKE) and the Chinese set (the "回TD退订" convention: TD, T,
/// 退订, 取消订阅, 取消, 退出). A keyword counts when it is the whole message once case, width, surrounding punctuation and spaces are
/// ignored; <c>退订</c> also counts anywhere in the message ("请帮我退订"), since a Chinese reply rarely stands alone.
/// </summary>
public static class InboundKeywords
{
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT OUT", "REVOKE",
        "TD", "T", "退订", "取消订阅", "取消", "退出", "退订短信",
    };

    private static readonly HashSet<string> StartWords = new(StringComparer.Ordinal) { "START", "UNSTOP", "SUBSCRIBE", "订阅", "恢复订阅" };

    public static InboundIntent Classify(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return InboundIntent.None;
        var normalized = Normalize(text);
        if (StopWords.Contains(normalized)) return InboundIntent.Stop;
        if (StartWords.Contains(normalized)) return InboundIntent.Start;
        // "退订" inside a longer Chinese reply still asks to stop (and wins over anything else in it).
        return normalized.Contains("退订", StringComparison.Ordinal) ? InboundIntent.Stop : InboundIntent.None;
    }

    /// <summary>Full-width to half-width, upper case, punctuation and spaces at both ends removed, inner runs of spaces as one.</summary>
    public static string Normalize(string text)
    {
        var folded = text.Normalize(NormalizationForm.FormKC).ToUpperInvariant();
        var start = 0;
        var end = folded.Length;
        while (start < end && Trim(folded[start])) start++;
        while (end > start && Trim(folded[end - 1])) end--;
        var sb = new StringBuilder(end - start);
        var space = false;
        for (var i = start; i < end; i++)
        {
            var c = folded[i];
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }
            if (space) sb.Append(' ');
            space = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static bool Trim(char c) => char.IsWhiteSpace(c) || char.IsPunctuation(c) || char.IsSymbol(c);
}
