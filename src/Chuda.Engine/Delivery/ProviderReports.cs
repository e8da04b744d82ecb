using System.Threading.Channels;
using Chuda.Channels.Providers;
using Chuda.Domain.Delivery;
using Chuda.Domain.Profiles;
using Chuda.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chuda.Engine.Delivery;

/// <summary>A provider's report with where it came from.</summary>
public sealed record ProviderReportItem(long WorkspaceId, string ProviderId, string Channel, ProviderReport Report, DateTimeOffset ReceivedAt);

/// <summary>
/// Where providers put what they learn after a send (SMPP receipts and inbound messages, HTTP delivery callbacks): an
/// in-process queue that <see cref="ProviderReportWorker"/> drains. Each configured provider gets a sink bound to its
/// workspace and id.
/// </summary>
public sealed class ProviderReportQueue(TimeProvider time)
{
    private readonly Channel<ProviderReportItem> _channel = Channel.CreateUnbounded<ProviderReportItem>(new UnboundedChannelOptions { SingleReader = true });

    public ChannelReader<ProviderReportItem> Reader => _channel.Reader;

    public void Enqueue(long workspaceId, string providerId, string channel, ProviderReport report) =>
        _channel.Writer.TryWrite(new ProviderReportItem(workspaceId, providerId, channel, report, time.GetUtcNow()));

    /// <summary>A sink bound to one configured provider; <paramref name="callbackUrl"/> says where its vendor callbacks are
    /// received (read at send time).</summary>
    public IProviderReportSink For(long workspaceId, string providerId, string channel, Func<Uri>? callbackUrl = null) =>
        new Sink(this, workspaceId, providerId, channel, callbackUrl);

    private sealed class Sink(ProviderReportQueue queue, long workspaceId, string providerId, string channel, Func<Uri>? callbackUrl) : IProviderReportSink
    {
        public Uri? CallbackUrl => callbackUrl?.Invoke();

        public ValueTask ReportAsync(ProviderReport report, CancellationToken cancellationToken)
        {
            queue.Enqueue(workspaceId, providerId, channel, report);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// Applies provider reports: a receipt is matched to its message by the provider's message id and recorded on its timeline
/// (delivered, failed, bounced — which suppresses the address and removes a dead push token — or read); an inbound SMS
/// with an opt-out keyword (<see cref="InboundKeywords"/>) unsubscribes the number's profiles from marketing SMS, and an
/// opt-in keyword subscribes them again. A receipt can overtake its own send's commit (an SMSC answers within
/// milliseconds): one whose message is not found yet is looked up again for <see cref="DeliveryOptions.ReportMatchWindow"/>.
/// Reports are held in memory: a crash loses those not yet applied (the message then keeps its "sent" status, and a
/// fallback rule still fires).
/// </summary>
public sealed class ProviderReportWorker(ProviderReportQueue queue, IChudaStore store, DeliveryService delivery, TimeProvider time, DeliveryOptions options,
    ILogger<ProviderReportWorker> logger) : BackgroundService
{
    private readonly List<(ProviderReportItem Item, DateTimeOffset NextTry)> _unmatched = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var wait = _unmatched.Count == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(200);
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    if (wait != Timeout.InfiniteTimeSpan) timeout.CancelAfter(wait);
                    try
                    {
                        await queue.Reader.WaitToReadAsync(timeout.Token);
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                    }
                }
                while (queue.Reader.TryRead(out var item))
                {
                    if (!await ApplyAsync(item, stoppingToken)) _unmatched.Add((item, time.GetUtcNow() + TimeSpan.FromMilliseconds(200)));
                }
                await RetryUnmatchedAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                ReportLog.Failed(logger, ex);
            }
        }
    }

    private async Task RetryUnmatchedAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        for (var i = _unmatched.Count - 1; i >= 0; i--)
        {
            var (item, next) = _unmatched[i];
            if (next > now) continue;
            if (await ApplyAsync(item, ct))
            {
                _unmatched.RemoveAt(i);
            }
            else if (now - item.ReceivedAt > options.ReportMatchWindow)
            {
                _unmatched.RemoveAt(i);
                ReportLog.Unmatched(logger, item.ProviderId, item.Report.ProviderMessageId ?? "", item.Report.Kind);
            }
            else
            {
                _unmatched[i] = (item, now + TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Applies one report; false when it is a receipt whose message is not known (yet).</summary>
    public async Task<bool> ApplyAsync(ProviderReportItem item, CancellationToken ct)
    {
        var r = item.Report;
        if (r.Kind == ProviderReportKind.Inbound)
        {
            await InboundAsync(item, ct);
            return true;
        }
        if (r.ProviderMessageId is not { Length: > 0 } pmid) return true;
        var m = await store.FindMessageByProviderIdAsync(item.WorkspaceId, pmid, ct);
        if (m is null) return false;
        var kind = r.Kind switch
        {
            ProviderReportKind.Delivered => MessageEventKinds.Delivered,
            ProviderReportKind.Read => MessageEventKinds.Read,
            ProviderReportKind.Undeliverable => MessageEventKinds.Bounced,
            _ => MessageEventKinds.Failed,
        };
        await delivery.RecordAsync(item.WorkspaceId, m, kind, r.Detail, item.ProviderId, ct);
        return true;
    }

    private async Task InboundAsync(ProviderReportItem item, CancellationToken ct)
    {
        var r = item.Report;
        var intent = InboundKeywords.Classify(r.Text);
        if (intent == InboundIntent.None || r.From is not { Length: > 0 } from) return;
        // Who wrote: a phone number on SMS and voice, an openid (or "wecom:" user id) on WeChat.
        IdentityKey identity;
        string address;
        switch (item.Channel)
        {
            case ChannelNames.Sms or ChannelNames.Voice:
                address = Normalization.TryNormalizePhone(from, null, out var phone) ? phone : from;
                identity = new IdentityKey(IdentityKinds.Phone, address);
                break;
            case ChannelNames.WeChat:
                address = from;
                identity = from.StartsWith("wecom:", StringComparison.Ordinal)
                    ? new IdentityKey(IdentityKinds.WeComUserId, from["wecom:".Length..])
                    : new IdentityKey(IdentityKinds.WeChatOpenId, from);
                break;
            default:
                return;
        }
        var kind = DeliveryPolicy.SuppressionKind(item.Channel);
        var source = $"inbound {item.Channel} \"{Truncate(r.Text ?? "", 40)}\" via {item.ProviderId}";
        var profileId = await store.FindProfileIdAsync(item.WorkspaceId, identity, ct);
        var state = intent == InboundIntent.Stop ? SubscriptionState.Unsubscribed : SubscriptionState.Subscribed;
        if (profileId is { } p)
        {
            await delivery.SetSubscriptionsAsync(item.WorkspaceId, p, [(Categories.Marketing, item.Channel, state)], source, ct);
        }
        if (intent == InboundIntent.Stop && profileId is null)
        {
            // An address with no profile (a raw-address send): block marketing to it by suppressing the address.
            await store.ApplyDeliveryAsync(new DeliveryWrite([], [], [new DeliverySuppression(item.WorkspaceId, kind, address, SuppressionReasons.Manual, source,
                time.GetUtcNow())]), ct);
        }
        else if (intent == InboundIntent.Start)
        {
            var existing = await store.FindDeliverySuppressionsAsync(item.WorkspaceId, [(kind, address)], ct);
            if (existing.Any(s => s.Detail?.StartsWith("inbound ", StringComparison.Ordinal) == true))
                await store.RemoveDeliverySuppressionAsync(item.WorkspaceId, kind, address, ct);
        }
        ReportLog.Inbound(logger, item.ProviderId, intent, profileId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(no profile)");
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n] + "…";
}

internal static partial class ReportLog
{
    [LoggerMessage(5101, LogLevel.Error, "Applying a provider report failed")]
    public static partial void Failed(ILogger logger, Exception exception);

    [LoggerMessage(5102, LogLevel.Warning, "A {Kind} report from {Provider} for provider message {ProviderMessageId} matched no message and was dropped")]
    public static partial void Unmatched(ILogger logger, string provider, string providerMessageId, ProviderReportKind kind);

    [LoggerMessage(5103, LogLevel.Information, "Inbound SMS via {Provider}: {Intent} for profile {Profile}")]
    public static partial void Inbound(ILogger logger, string provider, InboundIntent intent, string profile);
}
