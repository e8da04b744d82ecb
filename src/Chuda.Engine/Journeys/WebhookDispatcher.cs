using System.Text;
using System.Text.Json;
using Chuda.Channels.Webhooks;
using Chuda.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StoredWebhook = Chuda.Domain.Journeys.WebhookRequest;

namespace Chuda.Engine.Journeys;

/// <summary>
/// Delivers the webhook calls journey steps queued (rows written in the step's transaction). Each call is signed
/// (Standard Webhooks, the workspace's <c>webhooks.secret</c>; <c>webhook-id</c> is the step's idempotency key, the same on
/// every retry), checked against the SSRF rules on the resolved address, and retried with exponential backoff and full
/// jitter until delivered, refused permanently (4xx, SSRF) or out of attempts. Every attempt's outcome is stored.
/// </summary>
public sealed class WebhookDispatcher : BackgroundService
{
    /// <summary>Workspace setting holding the signing secret (<c>whsec_…</c>), created on first use.</summary>
    public const string SecretSetting = "webhooks.secret";

    private readonly IChudaStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly JourneyOptions _options;
    private readonly WebhookClient _client;
    private readonly RetrySchedule _retry;
    private readonly Dictionary<long, string> _secrets = [];
    private readonly SemaphoreSlim _secretGate = new(1, 1);
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WebhookDispatcher(IChudaStore store, JourneyCatalog catalog, TimeProvider time, ILogger<WebhookDispatcher> logger, ILogger<WebhookClient> clientLogger,
        JourneyOptions options)
    {
        _store = store;
        _time = time;
        _logger = logger;
        _options = options;
        _client = new WebhookClient(new WebhookClientOptions
        {
            Security = new WebhookSecurityOptions { AllowedHosts = options.WebhookAllowedHosts, AllowedNetworks = options.WebhookAllowedNetworks },
            Timeout = options.WebhookTimeout,
        }, time, clientLogger);
        _retry = new RetrySchedule(new RetryScheduleOptions
        {
            BaseDelay = options.WebhookBaseDelay,
            MaxDelay = options.WebhookMaxDelay,
            MaxAttempts = options.WebhookMaxAttempts,
        });
        catalog.WebhooksQueued += () => _wake.TrySetResult();
    }

    /// <summary>The workspace's signing secret, created on first use.</summary>
    public async Task<string> SecretAsync(long workspaceId, CancellationToken ct)
    {
        await _secretGate.WaitAsync(ct);
        try
        {
            if (_secrets.TryGetValue(workspaceId, out var known)) return known;
            var settings = await _store.GetWorkspaceSettingsAsync(workspaceId, ct);
            if (!settings.TryGetValue(SecretSetting, out var secret))
            {
                secret = StandardWebhookSigner.NewSecret();
                await _store.SetWorkspaceSettingAsync(workspaceId, SecretSetting, secret, ct);
            }
            _secrets[workspaceId] = secret;
            return secret;
        }
        finally
        {
            _secretGate.Release();
        }
    }

    /// <summary>Attempts every webhook due now once; returns how many were attempted (tests drive this).</summary>
    public async Task<int> DispatchDueAsync(CancellationToken ct)
    {
        var due = await _store.GetDueWebhooksAsync(_time.GetUtcNow(), _options.WebhookBatchSize, ct);
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (w, token) => await AttemptAsync(w, token));
        return due.Count;
    }

    private async Task AttemptAsync(StoredWebhook w, CancellationToken ct)
    {
        WebhookResult result;
        try
        {
            var headers = JsonSerializer.Deserialize(w.HeadersJson, JourneyJson.Default.DictionaryStringString) ?? [];
            result = await _client.SendAsync(new WebhookRequest
            {
                Url = new Uri(w.Url),
                MessageId = w.IdempotencyKey,
                Method = new HttpMethod(w.Method),
                Body = Encoding.UTF8.GetBytes(w.Body),
                Headers = headers,
                Secret = await SecretAsync(w.WorkspaceId, ct),
            }, ct);
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException or JsonException)
        {
            result = new WebhookResult(false, null, false, null, ex.Message, TimeSpan.Zero, WebhookFailure.Refused, null);
        }
        var now = _time.GetUtcNow();
        var attempts = w.Attempts + 1;
        DateTimeOffset? next = null;
        string status;
        if (result.Delivered) status = "delivered";
        else if (result.Retryable && (next = _retry.NextAttemptAt(attempts, now, Random.Shared, result.RetryAfter)) is not null) status = "pending";
        else
        {
            status = "failed";
            JourneyLog.WebhookGaveUp(_logger, w.Id, w.Url, attempts, result.Error ?? "");
        }
        await _store.UpdateWebhookAsync(w with
        {
            Status = status,
            Attempts = attempts,
            NextAttemptAt = next,
            LastStatusCode = result.StatusCode,
            LastError = result.Delivered ? null : result.Error,
            UpdatedAt = now,
        }, CancellationToken.None);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = (_wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            try
            {
                if (await DispatchDueAsync(stoppingToken) > 0) continue;
                var next = await _store.GetNextWebhookDueAsync(stoppingToken);
                var delay = next is { } n ? n - _time.GetUtcNow() : _options.PollInterval;
                if (delay > _options.PollInterval) delay = _options.PollInterval;
                if (delay > TimeSpan.Zero) await Task.WhenAny(wake, Task.Delay(delay, _time, stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                JourneyLog.WebhooksFailed(_logger, ex);
                try
                {
                    await Task.Delay(_options.RetryDelay, _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public override void Dispose()
    {
        _client.Dispose();
        _secretGate.Dispose();
        base.Dispose();
    }
}
