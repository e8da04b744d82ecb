namespace Chuda.Channels.Sms.Smpp;

/// <summary>
/// The body of a <c>submit_sm</c> or <c>deliver_sm</c> (they share one layout, SMPP 3.4 sections 4.4.1 and 4.6.1).
/// <see cref="ShortMessage"/> holds the octets as sent, including a user data header when <see cref="EsmClass"/> has 0x40.
/// </summary>
public sealed record SmppShortMessage
{
    public const byte EsmUdhIndicator = 0x40;
    public const byte EsmReceiptMask = 0x3C;
    public const byte EsmDeliveryReceipt = 0x04;

    public string ServiceType { get; init; } = "";
    public byte SourceTon { get; init; }
    public byte SourceNpi { get; init; }
    public string SourceAddress { get; init; } = "";
    public byte DestinationTon { get; init; }
    public byte DestinationNpi { get; init; }
    public string DestinationAddress { get; init; } = "";
    public byte EsmClass { get; init; }
    public byte ProtocolId { get; init; }
    public byte PriorityFlag { get; init; }
    public string ScheduleDeliveryTime { get; init; } = "";
    public string ValidityPeriod { get; init; } = "";
    public byte RegisteredDelivery { get; init; }
    public byte ReplaceIfPresent { get; init; }
    public byte DataCoding { get; init; }
    public byte DefaultMessageId { get; init; }
    public ReadOnlyMemory<byte> ShortMessage { get; init; }
    public IReadOnlyList<SmppTlv> Tlvs { get; init; } = [];

    /// <summary>Whether this <c>deliver_sm</c> is a delivery receipt (esm_class message type bits 0x04).</summary>
    public bool IsDeliveryReceipt => (EsmClass & EsmReceiptMask) == EsmDeliveryReceipt;

    public SmppTlv? Tlv(ushort tag) => Tlvs.FirstOrDefault(t => t.Tag == tag);

    /// <exception cref="ArgumentException">A field does not fit its SMPP size or character set.</exception>
    public byte[] EncodeBody()
    {
        if (ShortMessage.Length > 254) throw new ArgumentException("short_message is longer than 254 octets", nameof(ShortMessage));
        var w = new SmppPduWriter()
            .CString(ServiceType, 6, "service_type")
            .Byte(SourceTon).Byte(SourceNpi).CString(SourceAddress, 21, "source_addr")
            .Byte(DestinationTon).Byte(DestinationNpi).CString(DestinationAddress, 21, "destination_addr")
            .Byte(EsmClass).Byte(ProtocolId).Byte(PriorityFlag)
            .CString(ScheduleDeliveryTime, 17, "schedule_delivery_time")
            .CString(ValidityPeriod, 17, "validity_period")
            .Byte(RegisteredDelivery).Byte(ReplaceIfPresent).Byte(DataCoding).Byte(DefaultMessageId)
            .Byte((byte)ShortMessage.Length).Bytes(ShortMessage.Span);
        foreach (var tlv in Tlvs) w.Tlv(tlv);
        return w.ToArray();
    }

    /// <exception cref="SmppProtocolException">The body is malformed.</exception>
    public static SmppShortMessage Decode(ReadOnlySpan<byte> body)
    {
        var r = new SmppPduReader(body);
        var serviceType = r.CString(6, "service_type");
        var sourceTon = r.Byte();
        var sourceNpi = r.Byte();
        // 21 octets in 3.4; some SMSCs send longer alphanumeric or MO addresses: accept up to 65 as in SMPP 5.0.
        var source = r.CString(65, "source_addr");
        var destTon = r.Byte();
        var destNpi = r.Byte();
        var dest = r.CString(65, "destination_addr");
        var esm = r.Byte();
        var pid = r.Byte();
        var priority = r.Byte();
        var schedule = r.CString(17, "schedule_delivery_time");
        var validity = r.CString(17, "validity_period");
        var registered = r.Byte();
        var replace = r.Byte();
        var coding = r.Byte();
        var defaultId = r.Byte();
        var length = r.Byte();
        var message = r.Bytes(length).ToArray();
        return new SmppShortMessage
        {
            ServiceType = serviceType,
            SourceTon = sourceTon,
            SourceNpi = sourceNpi,
            SourceAddress = source,
            DestinationTon = destTon,
            DestinationNpi = destNpi,
            DestinationAddress = dest,
            EsmClass = esm,
            ProtocolId = pid,
            PriorityFlag = priority,
            ScheduleDeliveryTime = schedule,
            ValidityPeriod = validity,
            RegisteredDelivery = registered,
            ReplaceIfPresent = replace,
            DataCoding = coding,
            DefaultMessageId = defaultId,
            ShortMessage = message,
            Tlvs = r.Tlvs(),
        };
    }
}

/// <summary>The fields of <c>bind_transceiver</c> (section 4.1.5).</summary>
public sealed record SmppBind(string SystemId, string Password, string SystemType = "", byte AddressTon = 0, byte AddressNpi = 0, string AddressRange = "")
{
    public const byte InterfaceVersion = 0x34;

    public byte[] EncodeBody() => new SmppPduWriter()
        .CString(SystemId, 16, "system_id")
        .CString(Password, 9, "password")
        .CString(SystemType, 13, "system_type")
        .Byte(InterfaceVersion)
        .Byte(AddressTon).Byte(AddressNpi)
        .CString(AddressRange, 41, "address_range")
        .ToArray();

    public override string ToString() => $"SmppBind {{ SystemId = {SystemId}, SystemType = {SystemType} }}";
}

/// <summary>Response bodies that carry a single C-octet string (submit_sm_resp's message_id, bind_*_resp's system_id).</summary>
public static class SmppResponseBody
{
    /// <summary>The leading C-octet string, or "" when the body is empty (an error response may have none).</summary>
    public static string FirstCString(ReadOnlySpan<byte> body, int max = 65)
    {
        if (body.IsEmpty) return "";
        var r = new SmppPduReader(body);
        return r.CString(max, "message_id");
    }

    /// <summary>An empty message_id (the body of deliver_sm_resp).</summary>
    public static readonly byte[] EmptyMessageId = [0];
}
