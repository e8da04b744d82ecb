using System.Diagnostics;
using Chuda.Channels.Providers;
using Chuda.Domain.Delivery;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Chuda.Engine.Delivery;

/// <summary>
/// A configured provider as the dispatcher uses it: the instance, a circuit breaker that takes it out of rotation after
/// provider-level failures (<see cref="ProviderResult.ProviderDown"/>, timeouts, exceptions) and lets one trial call through
/// after <see cref="DeliveryOptions.ProviderBreakDuration"/>, its rate limit and concurrency limit, and its counters. Bursts
/// beyond the limits wait for their turn; nothing is dropped.
/// </summary>
public sealed class ProviderRuntime
{
    private readonly ResiliencePipeline<ProviderResult> _pipeline;
    private readonly ResiliencePipeline _timeout;
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly RateGate? _rate;
    private readonly SemaphoreSlim? _concurrency;
    private readonly TimeProvider _time;
    private readonly TimeSpan _providerTimeout;

    public ProviderRuntime(ProviderRecord record, IChannelProvider provider, ProviderCounters counters, TimeProvider time, DeliveryOptions options)
    {
        Record = record;
        Provider = provider;
        Counters = counters;
        _time = time;
        _providerTimeout = options.ProviderTimeout;
        if (record.RatePerSecond is { } rate) _rate = new RateGate(rate, time);
        if (record.MaxConcurrency is { } max) _concurrency = new SemaphoreSlim(max, max);

        var builder = new ResiliencePipelineBuilder<ProviderResult> { TimeProvider = time };
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<ProviderResult>
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result?.ProviderDown == true
                || args.Outcome.Exception is not null and not OperationCanceledException and not BrokenCircuitException),
            FailureRatio = 0.5,
            MinimumThroughput = options.ProviderBreakerMinimumThroughput,
            SamplingDuration = options.ProviderBreakerSamplingDuration,
            BreakDuration = options.ProviderBreakDuration,
            StateProvider = _state,
            OnOpened = args =>
            {
                Counters.Opened(_time.GetUtcNow(), args.BreakDuration);
                return ValueTask.CompletedTask;
            },
            OnClosed = _ =>
            {
                Counters.Closed();
                return ValueTask.CompletedTask;
            },
        });
        if (options.QuickRetries > 0)
        {
            // Quick retries are for a message's own transient trouble; a provider that is down is failed over, not retried.
            builder.AddRetry(new RetryStrategyOptions<ProviderResult>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { Outcome: ProviderOutcome.TransientFailure, ProviderDown: false }),
                MaxRetryAttempts = options.QuickRetries,
                Delay = options.QuickRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }
        _pipeline = builder.Build();
        _timeout = new ResiliencePipelineBuilder { TimeProvider = time }.AddTimeout(options.ProviderTimeout).Build();
    }

    public ProviderRecord Record { get; }

    public IChannelProvider Provider { get; }

    public string Id => Provider.Id;

    public ProviderCounters Counters { get; }

    /// <summary>closed, open, half_open or isolated.</summary>
    public string CircuitState => _state.CircuitState switch
    {
        Polly.CircuitBreaker.CircuitState.Open => "open",
        Polly.CircuitBreaker.CircuitState.HalfOpen => "half_open",
        Polly.CircuitBreaker.CircuitState.Isolated => "isolated",
        _ => "closed",
    };

    /// <summary>True while the breaker is open: the provider is skipped without a call.</summary>
    public bool IsOpen => _state.CircuitState is Polly.CircuitBreaker.CircuitState.Open or Polly.CircuitBreaker.CircuitState.Isolated;

    /// <summary>
    /// Sends through this provider: waits for a rate slot and a concurrency slot (the wait is not part of the provider
    /// timeout), then calls it. Provider-level failures come back as <see cref="ProviderResult.ProviderDown"/> results; an open
    /// breaker as one too, without a call.
    /// </summary>
    public async Task<ProviderResult> SendAsync(ProviderMessage message, CancellationToken ct)
    {
        try
        {
            return await _pipeline.ExecuteAsync(async token =>
            {
                if (_rate is not null) await _rate.WaitAsync(token);
                if (_concurrency is not null) await _concurrency.WaitAsync(token);
                Counters.Started();
                var started = Stopwatch.GetTimestamp();
                ProviderResult result;
                try
                {
                    result = await _timeout.ExecuteAsync(async t => await Provider.SendAsync(message, t), token);
                }
                catch (TimeoutRejectedException)
                {
                    result = new ProviderResult(ProviderOutcome.TransientFailure, $"no answer within {_providerTimeout.TotalSeconds:0.#} s", ProviderDown: true);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    result = new ProviderResult(ProviderOutcome.TransientFailure, "provider error: " + ex.Message, ProviderDown: true);
                }
                finally
                {
                    _concurrency?.Release();
                    Counters.Ended();
                }
                Counters.Finished(result, Stopwatch.GetElapsedTime(started), _time.GetUtcNow());
                return result;
            }, ct);
        }
        catch (BrokenCircuitException ex)
        {
            Counters.Skipped();
            return new ProviderResult(ProviderOutcome.TransientFailure, $"{Id} is out of rotation after repeated failures (circuit open)",
                RetryAfter: ex.RetryAfter, ProviderDown: true);
        }
    }

    public ProviderHealth Health() => Counters.Snapshot(Record, CircuitState, _concurrency is null ? null : Record.MaxConcurrency - _concurrency.CurrentCount);
}

/// <summary>
/// Spaces calls to at most <c>rate</c> per second with a burst of one second's worth: each caller reserves the next free slot
/// and waits for it (on the injected clock). Callers are served in arrival order; none is refused.
/// </summary>
public sealed class RateGate(double perSecond, TimeProvider time)
{
    private readonly TimeSpan _interval = TimeSpan.FromTicks(Math.Max(1, (long)(TimeSpan.TicksPerSecond / perSecond)));
    private readonly TimeSpan _burst = TimeSpan.FromTicks(Math.Max(1, (long)(TimeSpan.TicksPerSecond / perSecond)) * Math.Max(1, (long)Math.Floor(perSecond)));
    private readonly Lock _lock = new();
    private DateTimeOffset _next = DateTimeOffset.MinValue;

    public async ValueTask WaitAsync(CancellationToken ct)
    {
        TimeSpan wait;
        lock (_lock)
        {
            var now = time.GetUtcNow();
            // Unused capacity accumulates for at most one second's worth of sends (the burst).
            var earliest = now - _burst + _interval;
            if (_next < earliest) _next = earliest;
            var slot = _next;
            _next = slot + _interval;
            wait = slot > now ? slot - now : TimeSpan.Zero;
        }
        if (wait > TimeSpan.Zero) await Task.Delay(wait, time, ct);
    }
}

/// <summary>Counters of one provider (kept across configuration changes while the process runs).</summary>
public sealed class ProviderCounters
{
    private long _attempts, _accepted, _delivered, _transient, _permanent, _down, _skipped, _inFlight, _latencyTicks, _opened;
    private readonly Lock _lock = new();
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt, _lastSuccessAt, _openedAt, _openUntil;

    internal void Started() => Interlocked.Increment(ref _inFlight);

    internal void Ended() => Interlocked.Decrement(ref _inFlight);

    internal void Skipped() => Interlocked.Increment(ref _skipped);

    internal void Finished(ProviderResult result, TimeSpan elapsed, DateTimeOffset now)
    {
        Interlocked.Increment(ref _attempts);
        Interlocked.Add(ref _latencyTicks, elapsed.Ticks);
        switch (result.Outcome)
        {
            case ProviderOutcome.Accepted:
                Interlocked.Increment(ref _accepted);
                break;
            case ProviderOutcome.Delivered:
                Interlocked.Increment(ref _delivered);
                break;
            case ProviderOutcome.TransientFailure:
                Interlocked.Increment(ref _transient);
                break;
            default:
                Interlocked.Increment(ref _permanent);
                break;
        }
        if (result.ProviderDown) Interlocked.Increment(ref _down);
        lock (_lock)
        {
            if (result.Succeeded) _lastSuccessAt = now;
            else
            {
                _lastError = result.Detail;
                _lastErrorAt = now;
            }
        }
    }

    internal void Opened(DateTimeOffset now, TimeSpan duration)
    {
        Interlocked.Increment(ref _opened);
        lock (_lock)
        {
            _openedAt = now;
            _openUntil = now + duration;
        }
    }

    internal void Closed()
    {
        lock (_lock) _openUntil = null;
    }

    public ProviderHealth Snapshot(ProviderRecord record, string circuit, int? busy)
    {
        var attempts = Interlocked.Read(ref _attempts);
        lock (_lock)
        {
            return new ProviderHealth(record.Id, record.Channel, record.Kind, record.Enabled, circuit, attempts, Interlocked.Read(ref _accepted),
                Interlocked.Read(ref _delivered), Interlocked.Read(ref _transient), Interlocked.Read(ref _permanent), Interlocked.Read(ref _down),
                Interlocked.Read(ref _skipped), Interlocked.Read(ref _opened), Math.Max(0, Interlocked.Read(ref _inFlight)),
                attempts == 0 ? null : Math.Round(TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks) / attempts).TotalMilliseconds, 2),
                _lastSuccessAt, _lastError, _lastErrorAt, _openedAt, circuit == "closed" ? null : _openUntil, record.RatePerSecond, record.MaxConcurrency, busy);
        }
    }
}

/// <summary>A provider's health as the API shows it. Counts are since this process started.</summary>
/// <param name="Circuit"><c>closed</c> (in rotation), <c>open</c> (skipped until <paramref name="OpenUntil"/>), <c>half_open</c> (one
/// trial call decides).</param>
/// <param name="Attempts">Calls made to the provider.</param>
/// <param name="ProviderDown">Calls that failed at the provider level (connection, 5xx, authentication, timeout).</param>
/// <param name="Skipped">Sends that skipped the provider because its circuit was open.</param>
public sealed record ProviderHealth(
    string Id,
    string Channel,
    string Kind,
    bool Enabled,
    string Circuit,
    long Attempts,
    long Accepted,
    long Delivered,
    long TransientFailures,
    long PermanentFailures,
    long ProviderDown,
    long Skipped,
    long TimesOpened,
    long InFlight,
    double? AverageLatencyMs,
    DateTimeOffset? LastSuccessAt,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    DateTimeOffset? LastOpenedAt,
    DateTimeOffset? OpenUntil,
    double? RatePerSecond,
    int? MaxConcurrency,
    int? Busy);
