using System.Collections.Concurrent;
using System.Threading.Channels;
using Chuda.Domain.Delivery;

namespace Chuda.Engine.Delivery;

/// <summary>
/// Live in-app updates: each connected client (a Server-Sent Events stream) subscribes for its workspace and user and
/// is told the ids of messages that reached its inbox and of read / archive changes. Slow clients lose the oldest
/// notices rather than holding anything up; on reconnect they list the inbox again.
/// </summary>
public sealed class InboxHub
{
    private readonly ConcurrentDictionary<(long Workspace, string User), ConcurrentDictionary<Guid, Channel<InboxNotice>>> _subscribers = new();

    public InboxHub(DeliveryDispatcher dispatcher)
    {
        dispatcher.InboxDelivered += m =>
        {
            if (m.Recipient is { } user) Publish(m.WorkspaceId, user, new InboxNotice("message", m.PublicId));
        };
    }

    /// <summary>Subscribes a client; dispose the subscription when it disconnects.</summary>
    public InboxSubscription Subscribe(long workspaceId, string userId)
    {
        var channel = Channel.CreateBounded<InboxNotice>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        var id = Guid.NewGuid();
        var set = _subscribers.GetOrAdd((workspaceId, userId), _ => new());
        set[id] = channel;
        return new InboxSubscription(channel.Reader, () =>
        {
            set.TryRemove(id, out _);
            channel.Writer.TryComplete();
        });
    }

    public void Publish(long workspaceId, string userId, InboxNotice notice)
    {
        if (!_subscribers.TryGetValue((workspaceId, userId), out var set)) return;
        foreach (var channel in set.Values) channel.Writer.TryWrite(notice);
    }
}

/// <summary>A notice to a live client: <c>message</c> (a new message), <c>read</c>, <c>archived</c>.</summary>
public sealed record InboxNotice(string Type, string MessageId);

public sealed class InboxSubscription(ChannelReader<InboxNotice> reader, Action dispose) : IDisposable
{
    public ChannelReader<InboxNotice> Reader { get; } = reader;

    public void Dispose() => dispose();
}
