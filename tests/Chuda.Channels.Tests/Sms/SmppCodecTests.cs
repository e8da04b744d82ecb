using System.Text;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Channels.Sms.Smpp;
using Chuda.Domain.Templates;

namespace Chuda.Channels.Tests.Sms;

public sealed class SmppCodecTests
{
    [Fact]
    public void Gsm_basic_characters_are_their_table_positions_and_extension_characters_are_escaped()
    {
        Assert.True(GsmAlphabet.TryEncode("@£$_ÉAa\n", out var basic));
        Assert.Equal(new byte[] { 0x00, 0x01, 0x02, 0x11, 0x1F, 0x41, 0x61, 0x0A }, basic);
        Assert.True(GsmAlphabet.TryEncode("^{}\\[~]|€\f", out var extension));
        Assert.Equal(new byte[]
        {
            0x1B, 0x14, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x2F, 0x1B, 0x3C, 0x1B, 0x3D, 0x1B, 0x3E, 0x1B, 0x40, 0x1B, 0x65, 0x1B, 0x0A,
        }, extension);
        Assert.False(GsmAlphabet.TryEncode("退订", out _));
        Assert.False(GsmAlphabet.TryEncode("\u001B", out _));
    }

    [Fact]
    public void Every_character_of_the_alphabet_round_trips()
    {
        var all = new StringBuilder();
        for (var b = 0; b < 128; b++)
        {
            if (b != 0x1B) all.Append(GsmAlphabet.Decode([(byte)b]));
        }
        all.Append("^{}\\[~]|€\f");
        var text = all.ToString();
        Assert.Equal(127 + 10, text.Length);
        Assert.True(SmsSegments.IsGsm7(text));
        Assert.True(GsmAlphabet.TryEncode(text, out var septets));
        Assert.Equal(127 + 20, septets.Length);
        Assert.Equal(text, GsmAlphabet.Decode(septets));
    }

    [Fact]
    public void An_unknown_escape_reads_as_the_basic_character_and_a_trailing_escape_as_a_space()
    {
        Assert.Equal("A", GsmAlphabet.Decode([0x1B, 0x41]));
        Assert.Equal("a ", GsmAlphabet.Decode([0x61, 0x1B]));
    }

    [Fact]
    public void A_short_text_is_one_part_without_a_header()
    {
        var gsm = Assert.Single(SmppText.Encode("Your code is 123456 {ok}", 7));
        Assert.Equal(0, gsm.DataCoding);
        Assert.Equal(0, gsm.EsmClass);
        Assert.Equal(24 + 2, gsm.ShortMessage.Length);
        var ucs2 = Assert.Single(SmppText.Encode("您的验证码是123456", 7));
        Assert.Equal(8, ucs2.DataCoding);
        Assert.Equal("您的验证码是123456", Encoding.BigEndianUnicode.GetString(ucs2.ShortMessage.Span));
    }

    [Fact]
    public void A_long_gsm_text_is_split_into_153_septet_parts_and_never_inside_an_escape()
    {
        var text = new string('a', 152) + "€" + new string('b', 100);
        var parts = SmppText.Encode(text, 0xAB);
        Assert.Equal(2, parts.Count);
        Assert.All(parts, p => Assert.Equal(SmppShortMessage.EsmUdhIndicator, p.EsmClass));
        Assert.Equal(new byte[] { 5, 0, 3, 0xAB, 2, 1 }, parts[0].ShortMessage[..6].ToArray());
        Assert.Equal(new byte[] { 5, 0, 3, 0xAB, 2, 2 }, parts[1].ShortMessage[..6].ToArray());
        Assert.Equal(6 + 152, parts[0].ShortMessage.Length);
        Assert.Equal(new byte[] { 0x1B, 0x65 }, parts[1].ShortMessage.Slice(6, 2).ToArray());
        var decoded = string.Concat(parts.Select(p => SmppText.Decode(Deliver(p))));
        Assert.Equal(text, decoded);
    }

    [Fact]
    public void A_long_ucs2_text_is_split_into_67_unit_parts_and_never_inside_a_surrogate_pair()
    {
        var text = new string('中', 66) + "😀" + new string('文', 70);
        var parts = SmppText.Encode(text, 1);
        Assert.Equal(3, parts.Count);
        Assert.Equal(6 + 66 * 2, parts[0].ShortMessage.Length);
        Assert.All(parts, p => Assert.True(p.ShortMessage.Length <= 140));
        Assert.Equal(text, string.Concat(parts.Select(p => SmppText.Decode(Deliver(p)))));
    }

    [Fact]
    public void A_submit_sm_body_round_trips_with_its_tlvs()
    {
        var message = new SmppShortMessage
        {
            ServiceType = "CMT",
            SourceTon = 5,
            SourceAddress = "Chuda",
            DestinationTon = 1,
            DestinationNpi = 1,
            DestinationAddress = "8613800138000",
            EsmClass = 0x40,
            RegisteredDelivery = 1,
            DataCoding = 8,
            ShortMessage = new byte[] { 5, 0, 3, 1, 2, 1, 0x4E, 0x2D },
            Tlvs = [new SmppTlv(SmppTag.ReceiptedMessageId, "abc\0"u8.ToArray()), new SmppTlv(SmppTag.MessageState, new byte[] { 2 })],
        };
        var decoded = SmppShortMessage.Decode(message.EncodeBody());
        Assert.Equal(message.DestinationAddress, decoded.DestinationAddress);
        Assert.Equal(message.ShortMessage.ToArray(), decoded.ShortMessage.ToArray());
        Assert.Equal((byte)0x40, decoded.EsmClass);
        Assert.Equal("abc", decoded.Tlv(SmppTag.ReceiptedMessageId)!.AsCString());
        Assert.Equal(2, decoded.Tlv(SmppTag.MessageState)!.Value.Span[0]);
        Assert.Equal("中", SmppText.Decode(decoded));
    }

    [Fact]
    public void Malformed_bodies_and_fields_are_refused()
    {
        var body = new SmppShortMessage { DestinationAddress = "1", ShortMessage = new byte[] { 1, 2, 3 } }.EncodeBody();
        Assert.Throws<SmppProtocolException>(() => SmppShortMessage.Decode(body.AsSpan(0, body.Length - 1)));
        Assert.Throws<SmppProtocolException>(() => SmppShortMessage.Decode(new byte[] { 0x41, 0x42 }));
        Assert.Throws<ArgumentException>(() => new SmppShortMessage { DestinationAddress = new string('1', 21) }.EncodeBody());
        Assert.Throws<ArgumentException>(() => new SmppBind("chuda", "pässwd").EncodeBody());
        Assert.Throws<ArgumentException>(() => new SmppShortMessage { ShortMessage = new byte[255] }.EncodeBody());
    }

    [Fact]
    public void A_frame_has_the_length_id_status_and_sequence_big_endian()
    {
        var frame = SmppPduWriter.Frame(SmppCommand.EnquireLink, 0, 0x01020304, []);
        Assert.Equal(new byte[] { 0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 1, 2, 3, 4 }, frame);
    }

    [Theory]
    [InlineData("DELIVRD", 2, ProviderReportKind.Delivered)]
    [InlineData("EXPIRED", 3, ProviderReportKind.Failed)]
    [InlineData("DELETED", 4, ProviderReportKind.Failed)]
    [InlineData("UNDELIV", 5, ProviderReportKind.Failed)]
    [InlineData("UNKNOWN", 7, ProviderReportKind.Failed)]
    [InlineData("REJECTD", 8, ProviderReportKind.Failed)]
    public void Receipts_map_from_the_text_and_from_the_tlvs(string stat, byte state, ProviderReportKind kind)
    {
        var text = $"id:7f3a sub:001 dlvrd:000 submit date:2611221200 done date:2611221201 stat:{stat} err:000 text:Hello id:x";
        var fromText = SmppProvider.ToReport(Receipt(text));
        Assert.Equal(new ProviderReport(kind, "7f3a", $"stat:{stat} err:000"), fromText);
        var withTlvs = SmppProvider.ToReport(Receipt(text.Replace("stat:" + stat, "stat:WHATEVER", StringComparison.Ordinal),
            new SmppTlv(SmppTag.ReceiptedMessageId, "FF01\0"u8.ToArray()), new SmppTlv(SmppTag.MessageState, new[] { state })));
        Assert.Equal(kind, withTlvs!.Kind);
        Assert.Equal("FF01", withTlvs.ProviderMessageId);
    }

    [Fact]
    public void Intermediate_receipts_and_receipts_without_an_id_report_nothing()
    {
        Assert.Null(SmppProvider.ToReport(Receipt("id:1 sub:001 dlvrd:000 submit date:2611221200 done date:2611221201 stat:ENROUTE err:000 text:")));
        Assert.Null(SmppProvider.ToReport(Receipt("stat:DELIVRD")));
        var fields = SmppReceipt.Fields("id:1 sub:001 dlvrd:001 submit date:2611221200 done date:2611221205 stat:DELIVRD err:000 text:a b:c");
        Assert.Equal("2611221205", fields["done date"]);
        Assert.Equal("a b:c", fields["text"]);
    }

    [Fact]
    public void Inbound_messages_carry_an_e164_sender_when_international_and_their_decoded_text()
    {
        var ucs2 = SmppProvider.ToReport(new SmppShortMessage
        {
            SourceTon = 1,
            SourceAddress = "8613700000077",
            DestinationAddress = "106900",
            DataCoding = 8,
            ShortMessage = Encoding.BigEndianUnicode.GetBytes("退订"),
        });
        Assert.Equal(new ProviderReport(ProviderReportKind.Inbound, null, "deliver_sm to 106900", "+8613700000077", "退订"), ucs2);
        var national = SmppProvider.ToReport(new SmppShortMessage { SourceTon = 2, SourceAddress = "13700000077", ShortMessage = "STOP"u8.ToArray() });
        Assert.Equal("13700000077", national!.From);
        Assert.Equal("STOP", national.Text);
    }

    [Fact]
    public void Inbound_parts_are_joined_in_order_before_decoding_and_incomplete_ones_given_up_after_the_wait()
    {
        var time = new Chuda.Testing.FakeTimeProvider();
        var assembler = new SmppInboundAssembler(time, TimeSpan.FromMinutes(2));
        var octets = Encoding.BigEndianUnicode.GetBytes("退订😀谢谢");
        // Split inside the surrogate pair of the emoji, 16-bit reference (IEI 0x08), part 2 first.
        SmppShortMessage Part(int seq, byte[] data, int reference = 0x1234, int total = 2) => new()
        {
            SourceTon = 1,
            SourceAddress = "8613700000077",
            DestinationAddress = "106900",
            EsmClass = 0x40,
            DataCoding = 8,
            ShortMessage = new byte[] { 6, 0x08, 4, (byte)(reference >> 8), (byte)reference, (byte)total, (byte)seq }.Concat(data).ToArray(),
        };
        Assert.Null(assembler.Add(Part(2, octets[6..])));
        Assert.Null(assembler.Add(Part(1, octets[..6], reference: 0x1235)));
        var whole = assembler.Add(Part(1, octets[..6]));
        Assert.NotNull(whole);
        Assert.Equal(("退订😀谢谢", true), (whole.Text, whole.Complete));
        Assert.Equal(new ProviderReport(ProviderReportKind.Inbound, null, "deliver_sm to 106900", "+8613700000077", "退订😀谢谢"), SmppProvider.Inbound(whole));

        Assert.Empty(assembler.TakeExpired());
        time.Advance(TimeSpan.FromMinutes(3));
        var incomplete = Assert.Single(assembler.TakeExpired());
        Assert.Equal((1, 2, false), (incomplete.Parts, incomplete.Total, incomplete.Complete));
        Assert.Contains("incomplete: 1 of 2 parts", SmppProvider.Inbound(incomplete).Detail, StringComparison.Ordinal);
        Assert.Empty(assembler.TakeExpired());

        var single = assembler.Add(new SmppShortMessage { SourceAddress = "1", ShortMessage = "TD"u8.ToArray() });
        Assert.Equal("TD", single!.Text);
    }

    [Fact]
    public void Submit_results_map_to_provider_outcomes()
    {
        var throttled = SmppProvider.Map(new SmppSubmitResult(SmppSubmitStatus.Throttled, "t", CommandStatus: 0x58, RetryAfter: TimeSpan.FromSeconds(2)));
        Assert.Equal((ProviderOutcome.TransientFailure, TimeSpan.FromSeconds(2), false), (throttled.Outcome, throttled.RetryAfter, throttled.ProviderDown));
        var invalid = SmppProvider.Map(new SmppSubmitResult(SmppSubmitStatus.Rejected, "r", CommandStatus: 0x0B));
        Assert.Equal((ProviderOutcome.PermanentFailure, true, false), (invalid.Outcome, invalid.HardBounce, invalid.ProviderDown));
        var other = SmppProvider.Map(new SmppSubmitResult(SmppSubmitStatus.Rejected, "r", CommandStatus: 0x45));
        Assert.Equal((ProviderOutcome.PermanentFailure, false, false), (other.Outcome, other.HardBounce, other.ProviderDown));
        foreach (var status in new[] { SmppSubmitStatus.NotConnected, SmppSubmitStatus.LinkLost, SmppSubmitStatus.TimedOut })
        {
            var down = SmppProvider.Map(new SmppSubmitResult(status, "d"));
            Assert.Equal((ProviderOutcome.TransientFailure, true), (down.Outcome, down.ProviderDown));
        }
    }

    [Fact]
    public void The_factory_validates_with_json_paths()
    {
        var factory = new SmppProviderFactory(TimeProvider.System);
        Assert.Equal("smpp", factory.Kind);
        Assert.Equal(["sms"], factory.Channels);
        Assert.Equal(["password"], factory.SecretFields);
        Assert.Empty(factory.Validate(Json("""{"host":"smsc.example.net","systemId":"chuda","password":"secret","sourceAddress":"106900","window":100,"enquireLinkSeconds":0.5,"registeredDelivery":false}""")));
        var errors = factory.Validate(Json("""{"host":"","systemId":"a-system-id-too-long","password":"toolongpassword","window":0,"port":70000,"enquireLinkSeconds":"x","registeredDelivery":"yes","colour":"blue"}"""));
        var paths = errors.Select(e => e.Path).ToHashSet();
        foreach (var path in new[] { "$.config.host", "$.config.systemId", "$.config.password", "$.config.sourceAddress", "$.config.window", "$.config.port",
                     "$.config.enquireLinkSeconds", "$.config.registeredDelivery", "$.config.colour" })
        {
            Assert.Contains(path, paths);
        }
        Assert.Equal("$.config", Assert.Single(factory.Validate(Json("[]"))).Path);
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    private static SmppShortMessage Deliver(SmppTextPart part) =>
        new() { EsmClass = part.EsmClass, DataCoding = part.DataCoding, ShortMessage = part.ShortMessage };

    private static SmppShortMessage Receipt(string text, params SmppTlv[] tlvs) =>
        new() { EsmClass = 0x04, SourceTon = 1, SourceAddress = "8613800138000", ShortMessage = Encoding.ASCII.GetBytes(text), Tlvs = tlvs };
}
