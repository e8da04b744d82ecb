namespace Chuda.Channels.Sms.Smpp;

/// <summary>A mobile-originated message, whole: <paramref name="First"/> is its first part (addresses), <paramref name="Parts"/> of
/// <paramref name="Total"/> arrived (fewer only when the rest never came within the assembler's wait).</summary>
public sealed record SmppInboundMessage(SmppShortMessage First, string Text, int Parts, int Total)
{
    public bool Complete => Parts == Total;
}

/// <summary>
/// Joins the parts of concatenated mobile-originated messages (UDH IEI 0x00 or 0x08), keyed by source, destination,
/// reference and part count. The user data of all parts is joined before decoding, so a character split across parts (a
/// surrogate pair or an escape sequence from a careless sender) survives. Parts held longer than <c>maxWait</c> are given
/// up as an incomplete message (what arrived, in order). Held parts are in memory only: the SMSC has been answered for
/// them, so a crash loses them.
/// </summary>
public sealed class SmppInboundAssembler(TimeProvider time, TimeSpan maxWait)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string, string, int, int), Pending> _pending = [];

    private sealed class Pending(long started)
    {
        public long Started { get; } = started;
        public SortedDictionary<int, SmppShortMessage> Parts { get; } = [];
    }

    /// <summary>Takes a received message (not a receipt): the whole message when it is complete (at once for a single
    /// part), otherwise null while parts are missing.</summary>
    public SmppInboundMessage? Add(SmppShortMessage message)
    {
        if (SmppText.Concatenation(message) is not { } concat || concat.Total == 1)
            return new SmppInboundMessage(message, SmppText.Decode(message), 1, 1);
        var key = (message.SourceAddress, message.DestinationAddress, concat.Reference, concat.Total);
        lock (_gate)
        {
            if (!_pending.TryGetValue(key, out var pending)) _pending[key] = pending = new Pending(time.GetTimestamp());
            pending.Parts[concat.Sequence] = message;
            if (pending.Parts.Count < concat.Total) return null;
            _pending.Remove(key);
            return Join(pending, concat.Total);
        }
    }

    /// <summary>The messages whose missing parts did not come within the wait, as far as they arrived.</summary>
    public IReadOnlyList<SmppInboundMessage> TakeExpired()
    {
        List<SmppInboundMessage>? expired = null;
        lock (_gate)
        {
            foreach (var (key, pending) in _pending.ToList())
            {
                if (time.GetElapsedTime(pending.Started) < maxWait) continue;
                _pending.Remove(key);
                (expired ??= []).Add(Join(pending, key.Item4));
            }
        }
        return expired ?? (IReadOnlyList<SmppInboundMessage>)[];
    }

    private static SmppInboundMessage Join(Pending pending, int total)
    {
        var parts = pending.Parts.Values.ToList();
        var octets = parts.SelectMany(p => SmppText.UserData(p).ToArray()).ToArray();
        return new SmppInboundMessage(parts[0], SmppText.DecodeOctets(parts[0].DataCoding, octets), parts.Count, total);
    }
}
