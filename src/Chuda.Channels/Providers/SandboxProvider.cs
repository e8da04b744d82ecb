using System.Text.Json;

namespace Chuda.Channels.Providers;

/// <summary>
/// The provider for a channel with nothing configured: the message is "sent" into the sandbox outbox (kept with its
/// rendered content and listed by <c>GET /api/v1/sandbox</c>), clearly marked, never silently dropped.
/// </summary>
public sealed class SandboxProvider(string id, string channel) : IChannelProvider
{
    public const string KindName = "sandbox";

    public string Id { get; } = id;

    public string Channel { get; } = channel;

    public Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(new ProviderResult(ProviderOutcome.Delivered, $"held in the sandbox outbox (no {Channel} provider is configured)",
            "sandbox-" + message.MessageId));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Sandbox providers can be configured explicitly too (for a staging workspace), on any channel.</summary>
public sealed class SandboxProviderFactory : IProviderFactory
{
    public string Kind => SandboxProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["email", "sms", "push", "in_app", "wechat", "webhook"];

    public IReadOnlyList<string> SecretFields { get; } = [];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config) =>
        config.ValueKind is JsonValueKind.Object or JsonValueKind.Undefined or JsonValueKind.Null && (config.ValueKind != JsonValueKind.Object || !config.EnumerateObject().Any())
            ? []
            : [("$.config", "the sandbox takes no configuration")];

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports) => new SandboxProvider(id, channel);
}
