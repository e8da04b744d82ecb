using System.Xml.Linq;
using Chuda.Channels.Providers;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Voice;

/// <summary>The TwiML a text-to-speech notification call runs: one <c>&lt;Say&gt;</c>.</summary>
public static class TwimlSay
{
    /// <summary>
    /// <c>&lt;Response&gt;&lt;Say language="…" voice="…" loop="N"&gt;text&lt;/Say&gt;&lt;/Response&gt;</c>: the language is the content's,
    /// else <paramref name="defaultLanguage"/>; <c>loop</c> is the content's repeat count (1–3). The text is XML-escaped.
    /// </summary>
    public static string Build(VoiceContent content, string? voice, string? defaultLanguage)
    {
        ArgumentNullException.ThrowIfNull(content);
        var say = new XElement("Say", content.Text);
        if ((content.Language ?? defaultLanguage) is { Length: > 0 } language) say.SetAttributeValue("language", language);
        if (voice is { Length: > 0 }) say.SetAttributeValue("voice", voice);
        var repeat = Math.Clamp(content.Repeat, 1, 3);
        if (repeat > 1) say.SetAttributeValue("loop", repeat);
        return new XElement("Response", say).ToString(SaveOptions.DisableFormatting);
    }
}

/// <summary>
/// How a Twilio call's final status callback (<c>CallSid</c>, <c>CallStatus</c>, <c>AnsweredBy</c>, <c>ErrorCode</c>,
/// <c>SipResponseCode</c>) becomes reports:
/// <list type="bullet">
/// <item><c>completed</c> (Twilio: the call was answered and ended normally) → Delivered, then Read — the person heard it — unless
/// answering machine detection says a machine or fax answered (<c>AnsweredBy</c> = <c>machine_*</c> or <c>fax</c>): Delivered only.</item>
/// <item><c>busy</c>, <c>no-answer</c>, <c>canceled</c> → Failed.</item>
/// <item><c>failed</c> → Undeliverable when the number is invalid (error 13223, 13224, 21211, 21217, or SIP 404, 484, 604), else Failed.</item>
/// <item><c>queued</c>, <c>initiated</c>, <c>ringing</c>, <c>in-progress</c> → nothing yet.</item>
/// </list>
/// </summary>
public static class TwilioCallStatus
{
    private static readonly int[] InvalidNumberErrors = [13223, 13224, 21211, 21217];
    private static readonly int[] InvalidNumberSip = [404, 484, 604];

    public static IReadOnlyList<ProviderReport> Map(IReadOnlyDictionary<string, string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (!fields.TryGetValue("CallSid", out var sid) || !fields.TryGetValue("CallStatus", out var status)) return [];
        var error = Int(fields, "ErrorCode");
        var sip = Int(fields, "SipResponseCode");
        var answeredBy = fields.TryGetValue("AnsweredBy", out var a) ? a : null;
        var detail = status + (answeredBy is null ? "" : $" (answered by {answeredBy})") + (error is { } e ? $" (error {e})" : "") + (sip is { } s ? $" (SIP {s})" : "");
        switch (status)
        {
            case "completed":
                var machine = answeredBy is not null && (answeredBy.StartsWith("machine", StringComparison.Ordinal) || answeredBy == "fax");
                return machine
                    ? [new ProviderReport(ProviderReportKind.Delivered, sid, detail)]
                    : [new ProviderReport(ProviderReportKind.Delivered, sid, detail), new ProviderReport(ProviderReportKind.Read, sid, detail)];
            case "busy" or "no-answer" or "canceled":
                return [new ProviderReport(ProviderReportKind.Failed, sid, detail)];
            case "failed":
                var invalid = error is { } code && InvalidNumberErrors.Contains(code) || sip is { } sipCode && InvalidNumberSip.Contains(sipCode);
                return [new ProviderReport(invalid ? ProviderReportKind.Undeliverable : ProviderReportKind.Failed, sid, detail)];
            default:
                return [];
        }
    }

    private static int? Int(IReadOnlyDictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out var text) && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : null;
}
