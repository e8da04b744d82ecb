using System.Globalization;
using System.Text;
using System.Text.Json;
using Chuda.Channels.Providers;
using Chuda.Channels.Webhooks;
using Chuda.Domain.Delivery;
using Chuda.Domain.Templates;
using Chuda.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chuda.Engine.Delivery;

/// <summary>
/// Moves messages through the pipeline. Each lane (transactional, marketing) runs its own loop of rounds, so
/// transactional traffic never waits behind a broadcast: a round takes the lane's due messages, decides them (the
/// <see cref="DeliveryPolicy"/>, with recipients loaded in bulk; decisions of both lanes are serialised so caps and
/// de-duplication see each other), commits the decisions, calls the providers concurrently, and commits the outcomes.
/// A message is committed as <c>sending</c> before its provider is called; a crash between the call and the outcome's
/// commit sends it again after restart (the documented in-flight window), with the same idempotency key.
/// </summary>
public sealed class DeliveryDispatcher : BackgroundService
{
    /// <summary>How long a message handed to a provider stays claimed before another round may take it again.</summary>
    private static readonly TimeSpan SendLease = TimeSpan.FromMinutes(5);

    private readonly IChudaStore _store;
    private readonly DeliveryCatalog _catalog;
    private readonly MessageComposer _composer;
    private readonly RecipientLoader _loader;
    private readonly TimeProvider _time;
    private readonly DeliveryOptions _options;
    private readonly ILogger<DeliveryDispatcher> _logger;
    private readonly SemaphoreSlim _decideGate = new(1, 1);
    private readonly RetrySchedule _retry;
    private readonly TaskCompletionSource[] _wake =
        [new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)];

    public DeliveryDispatcher(IChudaStore store, DeliveryCatalog catalog, MessageComposer composer, TimeProvider time, DeliveryOptions options,
        ILogger<DeliveryDispatcher> logger)
    {
        _store = store;
        _catalog = catalog;
        _composer = composer;
        _loader = new RecipientLoader(store);
        _time = time;
        _options = options;
        _logger = logger;
        _retry = new RetrySchedule(new RetryScheduleOptions
        {
            BaseDelay = options.RetryBaseDelay,
            MaxDelay = options.RetryMaxDelay,
            MaxAttempts = options.MaxAttempts,
        });
    }

    /// <summary>Raised after a commit for every message that reached the in-app inbox (live clients are told).</summary>
    public event Action<OutboundMessage>? InboxDelivered;

    /// <summary>Something was queued in <paramref name="lane"/>: its loop looks at once.</summary>
    public void Wake(Lane lane) => _wake[(int)lane].TrySetResult();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var recovered = await _store.RecoverSendingMessagesAsync(_time.GetUtcNow(), stoppingToken);
            if (recovered > 0) DeliveryLog.Recovered(_logger, recovered);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        await Task.WhenAll(LaneLoopAsync(Lane.Transactional, stoppingToken), LaneLoopAsync(Lane.Marketing, stoppingToken));
    }

    private async Task LaneLoopAsync(Lane lane, CancellationToken ct)
    {
        await Task.Yield();
        while (!ct.IsCancellationRequested)
        {
            var wake = (_wake[(int)lane] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            try
            {
                if (await RunRoundAsync(lane, ct) > 0) continue;
                var next = await _store.GetNextMessageDueAsync(ct);
                var delay = next is { } n ? n - _time.GetUtcNow() : _options.PollInterval;
                if (delay > _options.PollInterval) delay = _options.PollInterval;
                if (delay > TimeSpan.Zero) await Task.WhenAny(wake, Task.Delay(delay, _time, ct));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                DeliveryLog.RoundFailed(_logger, lane, ex);
                try
                {
                    await Task.Delay(_options.ErrorDelay, _time, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Runs rounds of both lanes until nothing is due now; returns how many messages were handled (tests drive this).</summary>
    public async Task<int> RunDueAsync(CancellationToken ct)
    {
        var total = 0;
        while (true)
        {
            var n = await RunRoundAsync(Lane.Transactional, ct) + await RunRoundAsync(Lane.Marketing, ct);
            if (n == 0) return total;
            total += n;
        }
    }

    /// <summary>One round of a lane: decide what is due, send what was routed, record the outcomes.</summary>
    public async Task<int> RunRoundAsync(Lane lane, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var due = await _store.GetDueMessagesAsync(lane, now, _options.BatchSize, [], ct);
        if (due.Count == 0) return 0;

        List<(OutboundMessage Message, Recipient Recipient)> toSend;
        await _decideGate.WaitAsync(ct);
        try
        {
            toSend = await DecideAsync(due, now, ct);
        }
        finally
        {
            _decideGate.Release();
        }
        if (toSend.Count > 0) await SendAsync(toSend, lane, ct);
        return due.Count;
    }

    // ---- deciding --------------------------------------------------------------------------------

    private async Task<List<(OutboundMessage, Recipient)>> DecideAsync(IReadOnlyList<OutboundMessage> due, DateTimeOffset now, CancellationToken ct)
    {
        var toSend = new List<(OutboundMessage, Recipient)>();
        var updates = new List<OutboundMessage>(due.Count);
        var events = new List<MessageEvent>(due.Count * 2);
        foreach (var group in due.GroupBy(m => m.WorkspaceId))
        {
            var w = await _catalog.GetAsync(group.Key, ct);
            var recipients = await _loader.LoadAsync(group.Key, [.. group], now, ct);
            foreach (var m in group)
            {
                var recipient = RecipientLoader.Of(recipients, m) ?? new Recipient(new RecipientState { Erased = true }, null, null, null);
                switch (m.Status)
                {
                    case MessageStatuses.Retrying:
                    case MessageStatuses.Sending:
                        var claimed = m with { Status = MessageStatuses.Sending, DueAt = now + SendLease };
                        updates.Add(claimed);
                        toSend.Add((claimed, recipient));
                        continue;
                    case MessageStatuses.Sent:
                    case MessageStatuses.Delivered:
                        if (m.Fallback is not { } rule || (rule.Until == FallbackRule.Read ? m.ReadAt is not null : m.DeliveredAt is not null))
                        {
                            updates.Add(m with { DueAt = null });
                            continue;
                        }
                        var waited = $"not {(rule.Until == FallbackRule.Read ? "read" : "delivered")} on {m.Channel} within {Describe(rule.After)}";
                        Apply(m, DeliveryPolicy.Decide(m, recipient.State, w.Settings, w.TimeZone, now, DecideMode.Fallback), recipient, now, waited,
                            updates, events, toSend);
                        continue;
                    case MessageStatuses.FallingBack:
                        Apply(m, DeliveryPolicy.Decide(m, recipient.State, w.Settings, w.TimeZone, now, DecideMode.Fallback), recipient, now, m.Reason,
                            updates, events, toSend);
                        continue;
                    case MessageStatuses.Collecting:
                        Apply(m, DeliveryPolicy.Decide(m, recipient.State, w.Settings, w.TimeZone, now, DecideMode.DigestRelease), recipient, now, null,
                            updates, events, toSend);
                        continue;
                    case MessageStatuses.Queued:
                    case MessageStatuses.Deferred:
                        var decision = DeliveryPolicy.Decide(m, recipient.State, w.Settings, w.TimeZone, now);
                        if (decision.Kind == DecisionKind.Digest)
                        {
                            await JoinDigestAsync(m, decision, now, ct);
                            continue;
                        }
                        Apply(m, decision, recipient, now, null, updates, events, toSend);
                        continue;
                    default:
                        updates.Add(m with { DueAt = null });
                        continue;
                }
            }
        }
        await _store.ApplyDeliveryAsync(new DeliveryWrite(updates, events), ct);
        return toSend;
    }

    private static void Apply(OutboundMessage m, DeliveryDecision d, Recipient recipient, DateTimeOffset now, string? cause,
        List<OutboundMessage> updates, List<MessageEvent> events, List<(OutboundMessage, Recipient)> toSend)
    {
        void Event(string kind, string? channel, string detail) => events.Add(new MessageEvent(m.WorkspaceId, m.Id, m.ProfileId, now, kind, channel, detail));

        foreach (var note in d.Notes ?? []) Event(MessageEventKinds.Skipped, note.Channel, note.Text);
        var reason = cause is null ? d.Reason : $"{d.Reason} ({cause})";
        switch (d.Kind)
        {
            case DecisionKind.Route:
                var fallback = m.Status is MessageStatuses.FallingBack or MessageStatuses.Sent or MessageStatuses.Delivered;
                var routed = m with
                {
                    Status = MessageStatuses.Sending,
                    Channel = d.Channel,
                    Recipient = d.Recipient,
                    ChannelIndex = d.ChannelIndex,
                    Channels = d.Candidates ?? m.Channels,
                    DispatchedAt = m.DispatchedAt ?? now,
                    DueAt = now + SendLease,
                    SentAt = null,
                    DeliveredAt = null,
                    ProviderMessageId = null,
                    Reason = null,
                };
                if (fallback && cause is not null)
                    Event(MessageEventKinds.FellBack, d.Channel, $"fell back from {m.Channel} to {d.Channel}: {cause}");
                else
                    Event(MessageEventKinds.Routed, d.Channel, d.Reason);
                if (m.DispatchedAt is null)
                {
                    recipient.State.Ledger.Add(new LedgerEntry(m.Id, now, d.Channel, m.Category, m.Lane, m.DedupKey, false));
                }
                updates.Add(routed);
                toSend.Add((routed, recipient));
                break;
            case DecisionKind.Defer:
                updates.Add(m with { Status = MessageStatuses.Deferred, DueAt = d.Until, Reason = d.Reason, Channels = d.Candidates ?? m.Channels });
                Event(MessageEventKinds.Deferred, null, d.Reason);
                break;
            case DecisionKind.Expire:
                updates.Add(m with { Status = MessageStatuses.Expired, DueAt = null, Reason = d.Reason });
                Event(MessageEventKinds.Expired, null, d.Reason);
                break;
            case DecisionKind.Drop:
                // A first decision that sends nothing is a drop. Falling back with no channel left: a failed send fails; a sent
                // message whose receipt did not come stays sent.
                var fallingBack = m.Status is MessageStatuses.FallingBack or MessageStatuses.Sent or MessageStatuses.Delivered;
                var status = m.Status == MessageStatuses.FallingBack ? MessageStatuses.Failed : fallingBack ? m.Status : MessageStatuses.Dropped;
                updates.Add(m with { Status = status, DueAt = null, Reason = reason });
                Event(fallingBack ? MessageEventKinds.Failed : MessageEventKinds.Dropped, null, reason);
                break;
            default:
                throw new InvalidOperationException($"Unexpected decision {d.Kind}.");
        }
    }

    private async Task JoinDigestAsync(OutboundMessage m, DeliveryDecision d, DateTimeOffset now, CancellationToken ct)
    {
        var window = m.DigestWindow ?? _options.DefaultDigestWindow;
        var digest = new OutboundMessage(m.WorkspaceId, 0, $"digest:{m.ProfileId}:{m.DigestKey}:{m.Id}", m.ProfileId, m.Address, "digest", m.JourneyKey,
            m.StepId, m.TemplateId, m.InlineTemplateJson, m.Category, m.Lane, m.Channels, 0, null, null, null, null, null, m.DigestKey, m.DigestWindow, null,
            m.Fallback, m.DataJson, m.Locale, MessageStatuses.Collecting, now + window, 0, null, now, null, null, null, null, null, null, null, null, null,
            $"collecting items until {now + window:O}");
        // One transaction: the item (merged, pointing at the digest by DigestId), its timeline, and the digest's "item added".
        var item = m with { Status = MessageStatuses.Merged, DueAt = null, Reason = d.Reason };
        List<MessageEvent> events =
        [
            .. (d.Notes ?? []).Select(n => new MessageEvent(m.WorkspaceId, m.Id, m.ProfileId, now, MessageEventKinds.Skipped, n.Channel, n.Text)),
            new MessageEvent(m.WorkspaceId, m.Id, m.ProfileId, now, MessageEventKinds.Merged, null, d.Reason),
            new MessageEvent(m.WorkspaceId, 0, m.ProfileId, now, MessageEventKinds.Digested, null, $"item {m.PublicId} added"),
        ];
        await _store.JoinDigestAsync(item, digest, events, ct);
    }

    // ---- sending ---------------------------------------------------------------------------------

    private sealed record Outcome(OutboundMessage Message, List<MessageEvent> Events, DeliverySuppression? Suppression, RemovedIdentity? DeadIdentity);

    /// <summary>Outcomes are committed in groups of at most this many as they come in, which bounds the in-flight window (provider
    /// calls made whose outcome a crash would lose) to the calls under way plus one group.</summary>
    private const int OutcomeGroup = 32;

    private async Task SendAsync(List<(OutboundMessage Message, Recipient Recipient)> toSend, Lane lane, CancellationToken ct)
    {
        var outcomes = System.Threading.Channels.Channel.CreateUnbounded<Outcome>(new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true });
        var writer = Task.Run(async () =>
        {
            var group = new List<Outcome>(OutcomeGroup);
            while (await outcomes.Reader.WaitToReadAsync(CancellationToken.None))
            {
                while (group.Count < OutcomeGroup && outcomes.Reader.TryRead(out var o)) group.Add(o);
                await CommitAsync(group, lane);
                group.Clear();
            }
        }, CancellationToken.None);
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = lane == Lane.Transactional ? _options.TransactionalConcurrency : _options.MarketingConcurrency,
            CancellationToken = ct,
        };
        try
        {
            await Parallel.ForEachAsync(toSend, parallel, async (item, token) => outcomes.Writer.TryWrite(await SendOneAsync(item.Message, item.Recipient, token)));
        }
        finally
        {
            outcomes.Writer.Complete();
            await writer;
        }
    }

    private async Task CommitAsync(List<Outcome> list, Lane lane)
    {
        await _store.ApplyDeliveryAsync(new DeliveryWrite([.. list.Select(o => o.Message)], [.. list.SelectMany(o => o.Events)],
            [.. list.Select(o => o.Suppression).OfType<DeliverySuppression>()], RemovedIdentities: [.. list.Select(o => o.DeadIdentity).OfType<RemovedIdentity>()]),
            CancellationToken.None);
        foreach (var o in list)
        {
            if (o.Message.Channel == ChannelNames.InApp && o.Message.Status == MessageStatuses.Delivered) InboxDelivered?.Invoke(o.Message);
        }
        if (list.Any(o => o.Message.DueAt is { } d && d <= _time.GetUtcNow())) Wake(lane);
    }

    private async Task<Outcome> SendOneAsync(OutboundMessage m, Recipient recipient, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var w = await _catalog.GetAsync(m.WorkspaceId, ct);
        var channel = m.Channel!;
        var composition = await _composer.ComposeAsync(m, recipient, w, channel, now, ct);
        var notes = new List<string>();
        IChannelProvider provider;
        ProviderResult result;
        if (!w.Providers.TryGetValue(channel, out var configured) || configured.Count == 0)
        {
            provider = DeliveryCatalog.DefaultProviderFor(channel);
            result = composition.Content is null
                ? new ProviderResult(ProviderOutcome.PermanentFailure, composition.Error ?? "nothing to send")
                : await provider.SendAsync(Message(m, channel, composition), ct);
        }
        else
        {
            (provider, result) = composition.Content is null
                ? (configured[0].Provider, new ProviderResult(ProviderOutcome.PermanentFailure, composition.Error ?? "nothing to send"))
                : await SendThroughAsync(configured, Message(m, channel, composition), notes, ct);
        }
        return Record(m, result, provider, composition.Content, _time.GetUtcNow(), notes);
    }

    private static ProviderMessage Message(OutboundMessage m, string channel, Composition composition) =>
        new(m.PublicId, m.IdempotencyKey, channel, m.Recipient!, composition.Content!, m.Category, composition.Headers);

    /// <summary>
    /// Tries the channel's providers in priority order, skipping those that cannot reach this recipient (an FCM provider for an
    /// iOS token) and those whose circuit is open. A provider-level failure (<see cref="ProviderResult.ProviderDown"/>) moves on to
    /// the next provider at once, for this message; any other outcome — success, or a failure that concerns this message only —
    /// is the answer. When every provider is down the message is retried later.
    /// </summary>
    public static async Task<(IChannelProvider Provider, ProviderResult Result)> SendThroughAsync(IReadOnlyList<ProviderRuntime> providers,
        ProviderMessage message, List<string> notes, CancellationToken ct)
    {
        ProviderRuntime? first = null;
        var downs = new List<string>();
        TimeSpan? retryAfter = null;
        foreach (var rt in providers)
        {
            if (!rt.Provider.Accepts(message.Recipient)) continue;
            first ??= rt;
            var result = await rt.SendAsync(message, ct);
            if (!result.ProviderDown) return (rt.Provider, result);
            downs.Add($"{rt.Id}: {result.Detail}");
            notes.Add($"{rt.Id} is down ({result.Detail})");
            if (result.RetryAfter is { } ra && (retryAfter is null || ra < retryAfter)) retryAfter = ra;
        }
        if (first is null)
        {
            var kind = message.Recipient.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon ? $"'{message.Recipient[..colon]}' addresses" : "this address";
            return (providers[0].Provider, new ProviderResult(ProviderOutcome.PermanentFailure, $"no configured {message.Channel} provider accepts {kind}"));
        }
        notes.Clear();
        return (first.Provider, new ProviderResult(ProviderOutcome.TransientFailure,
            (downs.Count == 1 ? "the provider is down: " : $"all {downs.Count} {message.Channel} providers are down: ") + string.Join("; ", downs),
            RetryAfter: retryAfter, ProviderDown: true));
    }

    /// <summary>The push identity to remove when a push message hard-bounced (the token is dead).</summary>
    public static RemovedIdentity? DeadPushToken(OutboundMessage m)
    {
        if (m.Channel != ChannelNames.Push || m.ProfileId is not { } profile || m.Recipient is not { } address) return null;
        var colon = address.IndexOf(':', StringComparison.Ordinal);
        return colon <= 0 ? null : new RemovedIdentity(m.WorkspaceId, profile, Domain.Profiles.IdentityKinds.PushPrefix + address[..colon], address[(colon + 1)..]);
    }

    private Outcome Record(OutboundMessage m, ProviderResult result, IChannelProvider provider, ChannelContent? content, DateTimeOffset now, List<string> failovers)
    {
        var events = new List<MessageEvent>(2);
        void Event(string kind, string detail) => events.Add(new MessageEvent(m.WorkspaceId, m.Id, m.ProfileId, now, kind, m.Channel, detail));
        if (failovers.Count > 0) Event(MessageEventKinds.FailedOver, $"{string.Join("; ", failovers)}: sent via {provider.Id}");
        var attempts = m.Attempts + 1;
        var keep = provider is SandboxProvider || m.Channel == ChannelNames.InApp;
        var via = provider is SandboxProvider ? "the sandbox" : provider.Id;
        switch (result.Outcome)
        {
            case ProviderOutcome.Accepted:
                Event(MessageEventKinds.Sent, $"sent on {m.Channel} via {via}: {result.Detail}");
                return new Outcome(m with
                {
                    Status = MessageStatuses.Sent, Attempts = attempts, SentAt = now, Provider = provider.Id, ProviderMessageId = result.ProviderMessageId,
                    DueAt = m.Fallback is { } f ? now + f.After : null, ContentJson = keep ? ContentJson(content) : null, Reason = null,
                }, events, null, null);
            case ProviderOutcome.Delivered:
                Event(MessageEventKinds.Sent, $"sent on {m.Channel} via {via}");
                Event(MessageEventKinds.Delivered, result.Detail);
                return new Outcome(m with
                {
                    Status = MessageStatuses.Delivered, Attempts = attempts, SentAt = now, DeliveredAt = now, Provider = provider.Id,
                    ProviderMessageId = result.ProviderMessageId, DueAt = m.Fallback is { Until: FallbackRule.Read } rf ? now + rf.After : null,
                    ContentJson = keep ? ContentJson(content) : null, Reason = null,
                }, events, null, null);
            case ProviderOutcome.TransientFailure when _retry.NextAttemptAt(attempts, now, Random.Shared, result.RetryAfter) is { } next:
                Event(MessageEventKinds.Retry, $"attempt {attempts} on {m.Channel} via {via} failed: {result.Detail}; next attempt at {next.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z");
                return new Outcome(m with { Status = MessageStatuses.Retrying, Attempts = attempts, DueAt = next, Provider = provider.Id, Reason = result.Detail },
                    events, null, null);
            default:
                var detail = result.Outcome == ProviderOutcome.TransientFailure ? $"gave up after {attempts} attempts: {result.Detail}" : result.Detail;
                Event(MessageEventKinds.Failed, $"failed on {m.Channel} via {via}: {detail}");
                DeliverySuppression? suppression = null;
                RemovedIdentity? dead = null;
                if (result.HardBounce && m.Recipient is { } address)
                {
                    suppression = new DeliverySuppression(m.WorkspaceId, DeliveryPolicy.SuppressionKind(m.Channel!), address, SuppressionReasons.HardBounce,
                        $"{m.PublicId}: {result.Detail}", now);
                    dead = DeadPushToken(m);
                    Event(MessageEventKinds.Bounced, dead is null ? $"hard bounce: {address} is suppressed" : "the push token is dead: removed from the profile and suppressed");
                }
                var more = m.ChannelIndex + 1 < m.Channels.Count;
                return new Outcome(m with
                {
                    Status = more ? MessageStatuses.FallingBack : result.HardBounce ? MessageStatuses.Bounced : MessageStatuses.Failed,
                    Attempts = 0, DueAt = more ? now : null, Provider = provider.Id, Reason = $"{m.Channel} failed: {detail}",
                }, events, suppression, dead);
        }
    }

    /// <summary>Rendered content as JSON (kept for the inbox and the sandbox outbox).</summary>
    public static string? ContentJson(ChannelContent? content)
    {
        if (content is null) return null;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("channel", content.Channel);
            switch (content)
            {
                case EmailContent e:
                    w.WriteString("subject", e.Subject);
                    w.WriteString("html", e.Html);
                    w.WriteString("text", e.Text);
                    break;
                case SmsContent s:
                    w.WriteString("text", s.Text);
                    w.WriteString("encoding", s.Encoding);
                    w.WriteNumber("segments", s.Segments);
                    break;
                case PushContent p:
                    w.WriteString("title", p.Title);
                    w.WriteString("body", p.Body);
                    w.WriteString("deepLink", p.DeepLink);
                    w.WriteStartObject("data");
                    foreach (var (k, v) in p.Data) w.WriteString(k, v);
                    w.WriteEndObject();
                    break;
                case InAppContent i:
                    w.WriteString("title", i.Title);
                    w.WriteString("body", i.Body);
                    w.WriteString("actionLabel", i.ActionLabel);
                    w.WriteString("actionUrl", i.ActionUrl);
                    break;
                case WeChatContent c:
                    w.WriteString("templateId", c.TemplateId);
                    w.WriteString("url", c.Url);
                    w.WriteStartObject("data");
                    foreach (var (k, v) in c.Data) w.WriteString(k, v);
                    w.WriteEndObject();
                    break;
                case WebhookContent h:
                    w.WriteString("body", h.Body);
                    break;
                case VoiceContent v:
                    w.WriteString("text", v.Text);
                    w.WriteString("language", v.Language);
                    w.WriteNumber("repeat", v.Repeat);
                    break;
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string Describe(TimeSpan t) =>
        t.TotalDays >= 1 && t.TotalDays == Math.Floor(t.TotalDays) ? $"{t.TotalDays:0} d"
        : t.TotalHours >= 1 && t.TotalHours == Math.Floor(t.TotalHours) ? $"{t.TotalHours:0} h"
        : t.TotalMinutes >= 1 && t.TotalMinutes == Math.Floor(t.TotalMinutes) ? $"{t.TotalMinutes:0} min"
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.#} s");

    public override void Dispose()
    {
        _decideGate.Dispose();
        base.Dispose();
    }
}

internal static partial class DeliveryLog
{
    [LoggerMessage(5001, LogLevel.Error, "Delivery round of the {Lane} lane failed; retrying")]
    public static partial void RoundFailed(ILogger logger, Lane lane, Exception exception);

    [LoggerMessage(5002, LogLevel.Warning, "{Count} message(s) were being sent when the server stopped; they are sent again (same idempotency keys)")]
    public static partial void Recovered(ILogger logger, int count);
}
