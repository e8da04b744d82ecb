using System.Text.Json;

namespace Chuda.Channels.Providers;

/// <summary>The in-app inbox: the message is stored with its rendered content on the person's timeline (the dispatcher
/// keeps the content and notifies live clients), so it is delivered as soon as it is written.</summary>
public sealed class InAppProvider(string id) : IChannelProvider
{
    public const string KindName = "in_app";

    public string Id { get; } = id;

    public string Channel => "in_app";

    public Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(new ProviderResult(ProviderOutcome.Delivered, "stored in the in-app inbox", "inbox-" + message.MessageId));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>The built-in inbox (configured implicitly for every workspace).</summary>
public sealed class InAppProviderFactory : IProviderFactory
{
    public string Kind => InAppProvider.KindName;

    public IReadOnlyList<string> Channels { get; } = ["in_app"];

    public IReadOnlyList<string> SecretFields { get; } = [];

    public IReadOnlyList<(string Path, string Message)> Validate(JsonElement config) => [];

    public IChannelProvider Create(string id, string channel, JsonElement config, IProviderReportSink reports) => new InAppProvider(id);
}
