using System.Text.RegularExpressions;

namespace Chuda.Channels.Sms.Smpp;

/// <summary>The final states a delivery receipt can carry.</summary>
public enum SmppReceiptState
{
    /// <summary>Still on its way (ENROUTE, ACCEPTED): not final.</summary>
    Pending,
    Delivered,
    Expired,
    Deleted,
    Undeliverable,
    Rejected,
    Unknown,
}

/// <summary>
/// A delivery receipt (<c>deliver_sm</c> with esm_class 0x04). The <c>receipted_message_id</c> (0x001E) and
/// <c>message_state</c> (0x0427) TLVs are preferred; without them the SMSC's text, in the de-facto format of SMPP 3.4
/// appendix B (<c>id:… sub:… dlvrd:… submit date:… done date:… stat:DELIVRD err:… text:…</c>), is read.
/// </summary>
public sealed partial record SmppReceipt(string MessageId, SmppReceiptState State, string Stat, string? Error)
{
    /// <summary>Parses a receipt; null when it names no message id.</summary>
    public static SmppReceipt? Parse(SmppShortMessage deliver)
    {
        var text = SmppText.Decode(deliver);
        var fields = Fields(text);
        var id = deliver.Tlv(SmppTag.ReceiptedMessageId)?.AsCString();
        if (string.IsNullOrEmpty(id)) id = fields.GetValueOrDefault("id");
        if (string.IsNullOrEmpty(id)) return null;
        fields.TryGetValue("stat", out var stat);
        SmppReceiptState state;
        if (deliver.Tlv(SmppTag.MessageState) is { Value.Length: 1 } tlv)
        {
            state = FromMessageState(tlv.Value.Span[0]);
            stat ??= state.ToString().ToUpperInvariant();
        }
        else
        {
            state = FromStat(stat);
        }
        return new SmppReceipt(id, state, stat ?? "", fields.GetValueOrDefault("err"));
    }

    /// <summary>message_state values (section 5.2.28).</summary>
    public static SmppReceiptState FromMessageState(byte value) => value switch
    {
        1 or 6 => SmppReceiptState.Pending, // ENROUTE, ACCEPTED
        2 => SmppReceiptState.Delivered,
        3 => SmppReceiptState.Expired,
        4 => SmppReceiptState.Deleted,
        5 => SmppReceiptState.Undeliverable,
        8 => SmppReceiptState.Rejected,
        _ => SmppReceiptState.Unknown,
    };

    /// <summary>The <c>stat:</c> words of appendix B.</summary>
    public static SmppReceiptState FromStat(string? stat) => stat?.ToUpperInvariant() switch
    {
        "DELIVRD" => SmppReceiptState.Delivered,
        "EXPIRED" => SmppReceiptState.Expired,
        "DELETED" => SmppReceiptState.Deleted,
        "UNDELIV" => SmppReceiptState.Undeliverable,
        "REJECTD" => SmppReceiptState.Rejected,
        "ACCEPTD" or "ENROUTE" => SmppReceiptState.Pending,
        _ => SmppReceiptState.Unknown,
    };

    /// <summary>The <c>key:value</c> fields of the receipt text, keys lower-case (<c>submit date</c>, <c>done date</c> keep
    /// their space); <c>text:</c> runs to the end.</summary>
    public static Dictionary<string, string> Fields(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var textAt = text.IndexOf("text:", StringComparison.OrdinalIgnoreCase);
        var head = textAt >= 0 ? text[..textAt] : text;
        foreach (Match m in FieldPattern().Matches(head))
        {
            fields.TryAdd(m.Groups["key"].Value.ToLowerInvariant(), m.Groups["value"].Value);
        }
        if (textAt >= 0) fields["text"] = text[(textAt + 5)..];
        return fields;
    }

    [GeneratedRegex(@"(?<key>submit date|done date|[a-z]+):(?<value>\S*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex FieldPattern();
}
