using System.Buffers.Binary;
using System.Text;

namespace Chuda.Channels.Sms.Smpp;

/// <summary>SMPP 3.4 command ids (section 5.1.2.1). A response has the request's id with the top bit set.</summary>
public static class SmppCommand
{
    public const uint GenericNack = 0x80000000;
    public const uint BindTransceiver = 0x00000009;
    public const uint BindTransceiverResp = 0x80000009;
    public const uint SubmitSm = 0x00000004;
    public const uint SubmitSmResp = 0x80000004;
    public const uint DeliverSm = 0x00000005;
    public const uint DeliverSmResp = 0x80000005;
    public const uint Unbind = 0x00000006;
    public const uint UnbindResp = 0x80000006;
    public const uint EnquireLink = 0x00000015;
    public const uint EnquireLinkResp = 0x80000015;

    public static bool IsResponse(uint commandId) => (commandId & 0x80000000) != 0;

    public static string Name(uint commandId) => commandId switch
    {
        GenericNack => "generic_nack",
        BindTransceiver => "bind_transceiver",
        BindTransceiverResp => "bind_transceiver_resp",
        SubmitSm => "submit_sm",
        SubmitSmResp => "submit_sm_resp",
        DeliverSm => "deliver_sm",
        DeliverSmResp => "deliver_sm_resp",
        Unbind => "unbind",
        UnbindResp => "unbind_resp",
        EnquireLink => "enquire_link",
        EnquireLinkResp => "enquire_link_resp",
        _ => $"0x{commandId:X8}",
    };
}

/// <summary>SMPP 3.4 command_status values this client acts on (section 5.1.3).</summary>
public static class SmppStatus
{
    public const uint Ok = 0x00;
    public const uint InvalidMessageLength = 0x01;
    public const uint InvalidCommandLength = 0x02;
    public const uint InvalidCommandId = 0x03;
    public const uint IncorrectBindStatus = 0x04;
    public const uint AlreadyBound = 0x05;
    public const uint SystemError = 0x08;
    public const uint InvalidDestinationAddress = 0x0B;
    public const uint BindFailed = 0x0D;
    public const uint InvalidPassword = 0x0E;
    public const uint InvalidSystemId = 0x0F;
    public const uint MessageQueueFull = 0x14;
    public const uint Throttled = 0x58;
    public const uint TemporaryAppError = 0x64;

    public static string Name(uint status) => status switch
    {
        Ok => "ESME_ROK",
        InvalidMessageLength => "ESME_RINVMSGLEN",
        InvalidCommandLength => "ESME_RINVCMDLEN",
        InvalidCommandId => "ESME_RINVCMDID",
        IncorrectBindStatus => "ESME_RINVBNDSTS",
        AlreadyBound => "ESME_RALYBND",
        SystemError => "ESME_RSYSERR",
        InvalidDestinationAddress => "ESME_RINVDSTADR",
        BindFailed => "ESME_RBINDFAIL",
        InvalidPassword => "ESME_RINVPASWD",
        InvalidSystemId => "ESME_RINVSYSID",
        MessageQueueFull => "ESME_RMSGQFUL",
        Throttled => "ESME_RTHROTTLED",
        TemporaryAppError => "ESME_RX_T_APPN",
        _ => $"0x{status:X8}",
    };

    /// <summary>The SMSC asks the sender to slow down (the whole session backs off).</summary>
    public static bool IsThrottling(uint status) => status is Throttled or MessageQueueFull;
}

/// <summary>Optional parameter tags used here (section 5.3.2).</summary>
public static class SmppTag
{
    public const ushort ReceiptedMessageId = 0x001E;
    public const ushort MessagePayload = 0x0424;
    public const ushort MessageState = 0x0427;
    public const ushort ScInterfaceVersion = 0x0210;
}

/// <summary>An optional parameter (tag, length, value).</summary>
public sealed record SmppTlv(ushort Tag, ReadOnlyMemory<byte> Value)
{
    /// <summary>The value read as a C-octet string (a trailing NUL is dropped).</summary>
    public string AsCString()
    {
        var span = Value.Span;
        var end = span.IndexOf((byte)0);
        return Encoding.Latin1.GetString(end >= 0 ? span[..end] : span);
    }
}

/// <summary>A PDU as it travels: the 16-octet header and an undecoded body.</summary>
public sealed record SmppPdu(uint CommandId, uint Status, uint Sequence, ReadOnlyMemory<byte> Body)
{
    public const int HeaderLength = 16;

    /// <summary>The largest PDU accepted from a peer (a submit_sm with a full message_payload stays well below).</summary>
    public const int MaxLength = 64 * 1024;

    public byte[] Encode() => SmppPduWriter.Frame(CommandId, Status, Sequence, Body.Span);

    public override string ToString() => $"{SmppCommand.Name(CommandId)} seq {Sequence} status {SmppStatus.Name(Status)} ({Body.Length} octets)";
}

/// <summary>A malformed PDU from the peer.</summary>
public sealed class SmppProtocolException(string message) : Exception(message);

/// <summary>Writes PDU bodies: integers big-endian, C-octet strings NUL-terminated, TLVs.</summary>
public sealed class SmppPduWriter
{
    private byte[] _buffer = new byte[256];
    private int _length;

    public int Length => _length;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public SmppPduWriter Byte(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
        return this;
    }

    public SmppPduWriter UInt16(ushort value)
    {
        Ensure(2);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_length), value);
        _length += 2;
        return this;
    }

    public SmppPduWriter UInt32(uint value)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(_length), value);
        _length += 4;
        return this;
    }

    /// <summary>A C-octet string of printable ASCII; <paramref name="max"/> counts the terminating NUL, as the specification does.</summary>
    /// <exception cref="ArgumentException">Too long, or a character outside printable ASCII.</exception>
    public SmppPduWriter CString(string? value, int max, string field)
    {
        value ??= "";
        if (value.Length > max - 1) throw new ArgumentException($"{field} is longer than {max - 1} characters", field);
        Ensure(value.Length + 1);
        foreach (var c in value)
        {
            if (c is < ' ' or > '~') throw new ArgumentException($"{field} may hold printable ASCII only", field);
            _buffer[_length++] = (byte)c;
        }
        _buffer[_length++] = 0;
        return this;
    }

    public SmppPduWriter Bytes(ReadOnlySpan<byte> value)
    {
        Ensure(value.Length);
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
        return this;
    }

    public SmppPduWriter Tlv(SmppTlv tlv)
    {
        if (tlv.Value.Length > ushort.MaxValue) throw new ArgumentException("TLV value too long", nameof(tlv));
        UInt16(tlv.Tag);
        UInt16((ushort)tlv.Value.Length);
        return Bytes(tlv.Value.Span);
    }

    public byte[] ToArray() => Written.ToArray();

    /// <summary>A whole PDU: header (command_length, command_id, command_status, sequence_number) and body.</summary>
    public static byte[] Frame(uint commandId, uint status, uint sequence, ReadOnlySpan<byte> body)
    {
        var pdu = new byte[SmppPdu.HeaderLength + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(pdu, (uint)pdu.Length);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(4), commandId);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(8), status);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(12), sequence);
        body.CopyTo(pdu.AsSpan(SmppPdu.HeaderLength));
        return pdu;
    }

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length) return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more));
    }
}

/// <summary>Reads a PDU body field by field; a field that runs past the end is a <see cref="SmppProtocolException"/>.</summary>
public ref struct SmppPduReader(ReadOnlySpan<byte> body)
{
    private readonly ReadOnlySpan<byte> _body = body;
    private int _position;

    public readonly int Remaining => _body.Length - _position;

    public byte Byte()
    {
        if (Remaining < 1) throw new SmppProtocolException("PDU body ends inside an integer");
        return _body[_position++];
    }

    public ushort UInt16()
    {
        if (Remaining < 2) throw new SmppProtocolException("PDU body ends inside an integer");
        var value = BinaryPrimitives.ReadUInt16BigEndian(_body[_position..]);
        _position += 2;
        return value;
    }

    public uint UInt32()
    {
        if (Remaining < 4) throw new SmppProtocolException("PDU body ends inside an integer");
        var value = BinaryPrimitives.ReadUInt32BigEndian(_body[_position..]);
        _position += 4;
        return value;
    }

    /// <summary>A NUL-terminated string (read as Latin-1 so that no octet is lost); <paramref name="max"/> includes the NUL.</summary>
    public string CString(int max, string field)
    {
        var rest = _body[_position..];
        var end = rest.IndexOf((byte)0);
        if (end < 0) throw new SmppProtocolException($"{field} is not NUL-terminated");
        if (end + 1 > max) throw new SmppProtocolException($"{field} is longer than {max - 1} octets");
        _position += end + 1;
        return Encoding.Latin1.GetString(rest[..end]);
    }

    public ReadOnlySpan<byte> Bytes(int count)
    {
        if (count > Remaining) throw new SmppProtocolException("PDU body ends inside an octet string");
        var value = _body.Slice(_position, count);
        _position += count;
        return value;
    }

    /// <summary>The optional parameters that follow the mandatory ones.</summary>
    public List<SmppTlv> Tlvs()
    {
        var tlvs = new List<SmppTlv>();
        while (Remaining > 0)
        {
            if (Remaining < 4) throw new SmppProtocolException("truncated TLV header");
            var tag = UInt16();
            var length = UInt16();
            tlvs.Add(new SmppTlv(tag, Bytes(length).ToArray()));
        }
        return tlvs;
    }
}
