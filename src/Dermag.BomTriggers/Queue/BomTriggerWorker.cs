using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>
/// This instance's job workers: <see cref="BomTriggerOptions.WorkerCount"/> loops, each claiming and running one job at a
/// time, woken by <see cref="JobSignal"/> (an enqueue here or a notification) and otherwise polling. Leases are renewed every
/// third of <see cref="BomTriggerOptions.JobLeaseDuration"/>. A stopping host stops claiming, waits up to
/// <see cref="BomTriggerOptions.ShutdownTimeout"/> for running jobs, then cancels them and hands them back to the queue.
/// </summary>
internal sealed class BomTriggerWorker : IHostedService, IDisposable
{
    private static readonly TimeSpan MaxErrorDelay = TimeSpan.FromSeconds(30);

    private readonly BomTriggerEngine _engine;
    private readonly IBomTriggerJobStore _store;
    private readonly JobSignal _signal;
    private readonly BomTriggerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, byte> _held = new();
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _abortJobs = new();
    private Task[]? _loops;
    private bool _disposed;
    private Task? _heartbeat;

    public BomTriggerWorker(BomTriggerEngine engine, IBomTriggerJobStore store, JobSignal signal, IOptions<BomTriggerOptions> options, TimeProvider timeProvider, ILogger<BomTriggerWorker>? logger = null)
    {
        _engine = engine;
        _store = store;
        _signal = signal;
        _options = options.Value;
        _time = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        WorkerId = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}");
    }

    /// <summary>The id this instance's claims carry (<see cref="BomTriggerJob.LockedBy"/>).</summary>
    public string WorkerId { get; }

    /// <summary>How many jobs this instance is running now.</summary>
    public int RunningCount => _held.Count;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.WorkerCount == 0)
        {
            return Task.CompletedTask;
        }

        _loops = [.. Enumerable.Range(0, _options.WorkerCount).Select(_ => Task.Run(() => WorkLoopAsync(_stopClaiming.Token), CancellationToken.None))];
        _heartbeat = Task.Run(() => HeartbeatAsync(_stopClaiming.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_loops is null || Volatile.Read(ref _disposed))
        {
            return;
        }

        // Stop claiming; let running jobs finish, within the shutdown timeout and the host's own.
        await _stopClaiming.CancelAsync().ConfigureAwait(false);
        var loops = Task.WhenAll(_loops);
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            await Task.WhenAny(loops, Task.Delay(_options.ShutdownTimeout, _time, wait.Token)).ConfigureAwait(false);
            await wait.CancelAsync().ConfigureAwait(false);
        }

        if (!loops.IsCompleted)
        {
            // Cancel what is left and give it back: another instance runs it (the interrupted attempt does not count).
            await _abortJobs.CancelAsync().ConfigureAwait(false);
            var held = _held.Keys.ToArray();
            try
            {
                await _store.ReleaseAsync(WorkerId, held, _time.GetUtcNow(), "The host stopped while the attempt ran; released to another worker.", CancellationToken.None).ConfigureAwait(false);
                Log.JobsReleased(_logger, held.Length);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The leases expire and another worker takes the jobs over.
                Log.WorkerLoopFailed(_logger, ex, _options.JobLeaseDuration);
            }

            await loops.WaitAsync(TimeSpan.FromSeconds(2), _time, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await (_heartbeat ?? Task.CompletedTask).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// One worker: claims one due job, runs it, and looks again; when nothing is due it sleeps until woken, the next due
    /// time or the poll interval. A worker that found a job wakes the next idle one, so a burst fans out to all of them.
    /// </summary>
    private async Task WorkLoopAsync(CancellationToken stopping)
    {
        var errorDelay = TimeSpan.FromMilliseconds(200);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var jobs = await _store.ClaimAsync(WorkerId, 1, _time.GetUtcNow(), _options.JobLeaseDuration, stopping).ConfigureAwait(false);
                errorDelay = TimeSpan.FromMilliseconds(200);
                if (jobs.Count == 0)
                {
                    await _signal.WaitAsync(await IdleDelayAsync(stopping).ConfigureAwait(false), _time, stopping).ConfigureAwait(false);
                    continue;
                }

                _signal.Wake();

                // A busy worker's next job comes with the round trip that records the last one.
                for (var next = jobs[0]; next is not null;)
                {
                    next = await RunAsync(next, stopping.IsCancellationRequested).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested || _abortJobs.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.WorkerLoopFailed(_logger, ex, errorDelay);
                try
                {
                    await Task.Delay(errorDelay, _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                errorDelay = errorDelay * 2 < MaxErrorDelay ? errorDelay * 2 : MaxErrorDelay;
            }
        }
    }

    private async Task<TimeSpan> IdleDelayAsync(CancellationToken stopping)
    {
        var next = await _store.GetNextDueAsync(stopping).ConfigureAwait(false);
        if (next is not { } due)
        {
            return _options.JobPollInterval;
        }

        var wait = due - _time.GetUtcNow();
        return wait <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : wait < _options.JobPollInterval ? wait : _options.JobPollInterval;
    }

    /// <summary>Runs one job; returns the next one the worker claimed with it (none once the host is stopping).</summary>
    private async Task<BomTriggerJob?> RunAsync(BomTriggerJob job, bool stopping)
    {
        _held[job.Id] = 0;
        try
        {
            var claimNext = stopping || _stopClaiming.IsCancellationRequested ? null : new JobClaim(WorkerId, _time.GetUtcNow(), _options.JobLeaseDuration);
            var result = await _engine.RunJobAsync(job, WorkerId, claimNext, _abortJobs.Token).ConfigureAwait(false);
            _held.TryRemove(job.Id, out _);
            if (result.Next is { } next)
            {
                _held[next.Id] = 0;
            }

            return result.Next;
        }
        catch (OperationCanceledException) when (_abortJobs.IsCancellationRequested)
        {
            // Released by StopAsync (the entry stays until then, so the release includes it).
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Recording the attempt failed (the database is unreachable): the lease expires and the job runs again.
            Log.WorkerLoopFailed(_logger, ex, _options.JobLeaseDuration);
            _held.TryRemove(job.Id, out _);
            return null;
        }
    }

    private async Task HeartbeatAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.JobLeaseDuration / 3, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                var held = _held.Keys.ToArray();
                if (held.Length == 0)
                {
                    continue;
                }

                try
                {
                    await _store.RenewAsync(WorkerId, held, _time.GetUtcNow(), _options.JobLeaseDuration, stopping).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    Log.WorkerLoopFailed(_logger, ex, _options.JobLeaseDuration / 3);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>A container disposed without stopping the host (or before StopAsync) still stops every loop.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, true))
        {
            return;
        }

        _stopClaiming.Cancel();
        _abortJobs.Cancel();
        _stopClaiming.Dispose();
        _abortJobs.Dispose();
    }
}
