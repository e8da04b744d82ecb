using System.Text;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Sms.Smpp;

/// <summary>
/// The GSM 03.38 default alphabet, one septet per octet (unpacked, as SMPP carries <c>data_coding</c> 0), with the
/// extension table reached through the escape 0x1B: <c>\f ^ { } \ [ ~ ] | €</c>.
/// </summary>
public static class GsmAlphabet
{
    public const byte Escape = 0x1B;

    // Index = septet value; 0x1B (the escape) is a placeholder that never matches a character.
    private const string Basic =
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001BÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

    private static readonly (char Char, byte Code)[] ExtensionTable =
        [('\f', 0x0A), ('^', 0x14), ('{', 0x28), ('}', 0x29), ('\\', 0x2F), ('[', 0x3C), ('~', 0x3D), (']', 0x3E), ('|', 0x40), ('€', 0x65)];

    private static readonly Dictionary<char, byte> BasicCodes = BuildBasic();
    private static readonly Dictionary<char, byte> ExtensionCodes = ExtensionTable.ToDictionary(e => e.Char, e => e.Code);
    private static readonly Dictionary<byte, char> ExtensionChars = ExtensionTable.ToDictionary(e => e.Code, e => e.Char);

    /// <summary>Encodes <paramref name="text"/>; false when a character is not in the alphabet or its extension.</summary>
    public static bool TryEncode(string text, out byte[] septets)
    {
        var output = new List<byte>(text.Length);
        foreach (var c in text)
        {
            if (c != '\u001B' && BasicCodes.TryGetValue(c, out var code))
            {
                output.Add(code);
            }
            else if (ExtensionCodes.TryGetValue(c, out var ext))
            {
                output.Add(Escape);
                output.Add(ext);
            }
            else
            {
                septets = [];
                return false;
            }
        }
        septets = [.. output];
        return true;
    }

    /// <summary>Decodes unpacked septets. An escape before a code the extension table lacks reads as the basic character
    /// (3GPP TS 23.038 6.2.1.1); an octet above 0x7F or a trailing escape reads as a space.</summary>
    public static string Decode(ReadOnlySpan<byte> septets)
    {
        var text = new StringBuilder(septets.Length);
        for (var i = 0; i < septets.Length; i++)
        {
            var b = septets[i];
            if (b == Escape)
            {
                if (i + 1 >= septets.Length)
                {
                    text.Append(' ');
                    break;
                }
                var next = septets[++i];
                text.Append(ExtensionChars.TryGetValue(next, out var ext) ? ext : next < 0x80 && next != Escape ? Basic[next] : ' ');
            }
            else
            {
                text.Append(b < 0x80 ? Basic[b] : ' ');
            }
        }
        return text.ToString();
    }

    private static Dictionary<char, byte> BuildBasic()
    {
        var map = new Dictionary<char, byte>();
        for (var i = 0; i < Basic.Length; i++)
        {
            if (i != Escape) map[Basic[i]] = (byte)i;
        }
        return map;
    }
}

/// <summary>One <c>submit_sm</c>'s worth of a text: the coding, esm_class and short_message octets (UDH included).</summary>
public sealed record SmppTextPart(byte DataCoding, byte EsmClass, ReadOnlyMemory<byte> ShortMessage);

/// <summary>
/// Turns a text into <c>submit_sm</c> parts and <c>deliver_sm</c> octets back into text. A text of the GSM 03.38 alphabet
/// goes as <c>data_coding</c> 0 (unpacked septets), anything else as 8 (UCS-2, big-endian UTF-16). A text longer than one
/// message (160 septets / 70 units) is split by <see cref="SmsSegments.Split"/> into parts of at most 153 septets / 67 units
/// — never inside an escape sequence or a surrogate pair — each with a concatenation header (IEI 0x00, 8-bit reference,
/// esm_class 0x40).
/// </summary>
public static class SmppText
{
    public const byte CodingDefault = 0x00;
    public const byte CodingIa5 = 0x01;
    public const byte CodingLatin1 = 0x03;
    public const byte CodingUcs2 = 0x08;

    /// <summary>The parts <paramref name="text"/> is sent in; <paramref name="reference"/> ties the parts of one message together.</summary>
    public static IReadOnlyList<SmppTextPart> Encode(string text, byte reference)
    {
        ArgumentNullException.ThrowIfNull(text);
        var gsm = SmsSegments.IsGsm7(text);
        var segments = SmsSegments.Split(text);
        var coding = gsm ? CodingDefault : CodingUcs2;
        var parts = new List<SmppTextPart>(segments.Count);
        for (var i = 0; i < segments.Count; i++)
        {
            var payload = EncodeSegment(segments[i], gsm);
            if (segments.Count == 1)
            {
                parts.Add(new SmppTextPart(coding, 0, payload));
                continue;
            }
            if (segments.Count > 255) throw new ArgumentException("text needs more than 255 parts", nameof(text));
            var message = new byte[6 + payload.Length];
            message[0] = 5; // UDHL
            message[1] = 0x00; // IEI: concatenated short messages, 8-bit reference
            message[2] = 3; // IEDL
            message[3] = reference;
            message[4] = (byte)segments.Count;
            message[5] = (byte)(i + 1);
            payload.CopyTo(message, 6);
            parts.Add(new SmppTextPart(coding, SmppShortMessage.EsmUdhIndicator, message));
        }
        return parts;
    }

    private static byte[] EncodeSegment(string segment, bool gsm)
    {
        if (!gsm) return Encoding.BigEndianUnicode.GetBytes(segment);
        if (!GsmAlphabet.TryEncode(segment, out var septets)) throw new InvalidOperationException("GSM-7 text did not encode");
        return septets;
    }

    /// <summary>The text of a received message: the UDH (esm_class 0x40) skipped, <c>message_payload</c> used when
    /// short_message is empty, decoded per <c>data_coding</c> (0 GSM 03.38, 1 IA5/ASCII, 3 Latin-1, 8 UCS-2; other
    /// codings are read as Latin-1).</summary>
    public static string Decode(SmppShortMessage message) => DecodeOctets(message.DataCoding, UserData(message).Span);

    /// <summary>The message's octets after the user data header (message_payload when short_message is empty).</summary>
    public static ReadOnlyMemory<byte> UserData(SmppShortMessage message)
    {
        var octets = message.ShortMessage;
        if (octets.IsEmpty && message.Tlv(SmppTag.MessagePayload) is { } payload) octets = payload.Value;
        if ((message.EsmClass & SmppShortMessage.EsmUdhIndicator) != 0 && !octets.IsEmpty)
        {
            var udhLength = octets.Span[0] + 1;
            octets = udhLength <= octets.Length ? octets[udhLength..] : ReadOnlyMemory<byte>.Empty;
        }
        return octets;
    }

    /// <summary>Octets as text per <c>data_coding</c>.</summary>
    public static string DecodeOctets(byte dataCoding, ReadOnlySpan<byte> octets) => dataCoding switch
    {
        CodingDefault => GsmAlphabet.Decode(octets),
        CodingIa5 => Encoding.ASCII.GetString(octets),
        CodingUcs2 => Encoding.BigEndianUnicode.GetString(octets[..(octets.Length & ~1)]),
        _ => Encoding.Latin1.GetString(octets),
    };

    /// <summary>The concatenation information element (IEI 0x00, 8-bit reference, or 0x08, 16-bit) of a message with a UDH.</summary>
    public static (int Reference, int Total, int Sequence)? Concatenation(SmppShortMessage message)
    {
        if ((message.EsmClass & SmppShortMessage.EsmUdhIndicator) == 0) return null;
        var octets = message.ShortMessage.IsEmpty && message.Tlv(SmppTag.MessagePayload) is { } payload ? payload.Value.Span : message.ShortMessage.Span;
        if (octets.IsEmpty || octets[0] + 1 > octets.Length) return null;
        var udh = octets[1..(octets[0] + 1)];
        while (udh.Length >= 2)
        {
            int iei = udh[0], length = udh[1];
            if (length + 2 > udh.Length) return null;
            var data = udh.Slice(2, length);
            if (iei == 0x00 && length == 3 && data[1] > 0) return (data[0], data[1], data[2]);
            if (iei == 0x08 && length == 4 && data[2] > 0) return ((data[0] << 8) | data[1], data[2], data[3]);
            udh = udh[(length + 2)..];
        }
        return null;
    }
}
