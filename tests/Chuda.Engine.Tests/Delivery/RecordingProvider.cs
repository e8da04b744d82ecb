using System.Collections.Concurrent;
using System.Text.Json;
using Chuda.Channels.Providers;

namespace Chuda.Engine.Tests.Delivery;

/// <summary>
/// A provider kind <c>test</c> for pipeline tests: it records what it was asked to send and answers what the test scripted
/// per recipient (default: accepted). The channel protocols themselves are tested against real peers in Chuda.Channels.Tests.
/// </summary>
internal sealed class RecordingProviderFactory : IProviderFactory
{
    public ConcurrentQueue<(string Provider, ProviderMessage Message)> Sent { get; } = new();

    /// <summary>Scripted answers: recipient → queue of results (the last one repeats).</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<ProviderResult>> Script { get; } = new();

    public string Kind => "test";

    public IReadOnlyList<string> Channels { get; } = ["email", "sms", "push", "in_app", "wechat", "webhook", "voice"];

    /// <summary>Providers (by id) that are down: they answer every send with a provider-level failure.</summary>
    public ConcurrentDictionary<string, string> Down { get; } = new();

    /// <summary>How many provider instances have been created and disposed.</summary>
    public int Created;

    public int Disposed;

    /// <summary>The report sink each provider (by id) was created with.</summary>
    public ConcurrentDictionary<string, IProviderReportSink> Sinks { get; } = new();

    public IReadOnlyList<string> SecretFields { get; } = ["token"];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config) => [];

    /// <summary>Configuration <c>{"accepts": "ios:"}</c> limits the provider to recipients with that prefix.</summary>
    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports)
    {
        Sinks[id] = reports;
        Interlocked.Increment(ref Created);
        var accepts = config.ValueKind == JsonValueKind.Object && config.TryGetProperty("accepts", out var a) ? a.GetString() : null;
        return new Provider(this, id, channel, accepts);
    }

    public void Answer(string recipient, params ProviderResult[] results) => Script[recipient] = new ConcurrentQueue<ProviderResult>(results);

    public IReadOnlyList<ProviderMessage> To(string recipient) => [.. Sent.Where(s => s.Message.Recipient == recipient).Select(s => s.Message)];

    private sealed class Provider(RecordingProviderFactory factory, string id, string channel, string? accepts) : IChannelProvider
    {
        public string Id { get; } = id;

        public string Channel { get; } = channel;

        public bool Accepts(string recipient) => accepts is null || recipient.StartsWith(accepts, StringComparison.Ordinal);

        public Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
        {
            factory.Sent.Enqueue((Id, message));
            if (factory.Down.TryGetValue(Id, out var why)) return Task.FromResult(new ProviderResult(ProviderOutcome.TransientFailure, why, ProviderDown: true));
            if (factory.Script.TryGetValue(message.Recipient, out var queue))
            {
                if (queue.Count > 1 && queue.TryDequeue(out var next)) return Task.FromResult(next);
                if (queue.TryPeek(out var last)) return Task.FromResult(last);
            }
            return Task.FromResult(new ProviderResult(ProviderOutcome.Accepted, "accepted", "p-" + message.MessageId));
        }

        public ValueTask DisposeAsync()
        {
            Interlocked.Increment(ref factory.Disposed);
            return ValueTask.CompletedTask;
        }
    }
}
