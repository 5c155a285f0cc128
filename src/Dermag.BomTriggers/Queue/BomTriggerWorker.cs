using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>
/// This instance's job workers: <see cref="BomTriggerOptions.WorkerCount"/> loops, each claiming and running one job at a
/// time, woken by <see cref="JobSignal"/> (an enqueue here or a notification) and otherwise polling. Leases are renewed every
/// third of <see cref="BomTriggerOptions.JobLeaseDuration"/> until the jobs end. A stopping host stops claiming, waits up
/// to <see cref="BomTriggerOptions.ShutdownTimeout"/> for running jobs, then cancels them: the ones that stop are handed back
/// to the queue, the ones that ignore the cancellation keep their lease until it expires.
/// </summary>
internal sealed class BomTriggerWorker : IHostedService, IDisposable
{
    private static readonly TimeSpan MaxErrorDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MinIdleWait = TimeSpan.FromMilliseconds(50);

    private readonly BomTriggerEngine _engine;
    private readonly IBomTriggerJobStore _store;
    private readonly JobSignal _signal;
    private readonly BomTriggerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    /// <summary>The jobs this instance holds, by (id, attempt); the value says the job's action stopped after an abort (safe to hand back).</summary>
    private readonly ConcurrentDictionary<(long JobId, int Attempt), bool> _held = new();
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
        // Leases are renewed until the running jobs end or are aborted, not merely until claiming stops.
        _heartbeat = Task.Run(() => HeartbeatAsync(_abortJobs.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_loops is null || Volatile.Read(ref _disposed))
        {
            return;
        }

        // Stop claiming; let running jobs finish, within the shutdown timeout and the host's own.
        await CancelAsync(_stopClaiming).ConfigureAwait(false);
        var loops = Task.WhenAll(_loops);
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            await Task.WhenAny(loops, Task.Delay(_options.ShutdownTimeout, _time, wait.Token)).ConfigureAwait(false);
            await wait.CancelAsync().ConfigureAwait(false);
        }

        if (!loops.IsCompleted)
        {
            // Cancel what is left. Jobs whose action stopped are handed back at once (another instance runs them, as a new
            // attempt); a job whose action ignores its cancellation is left to its lease, which is no longer renewed, so
            // no other instance runs it while this one might still be.
            await CancelAsync(_abortJobs).ConfigureAwait(false);
            await loops.WaitAsync(_options.ActionCancellationGrace + TimeSpan.FromSeconds(1), _time, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var stopped = _held.Where(h => h.Value).Select(h => h.Key.JobId).ToArray();
            if (stopped.Length > 0)
            {
                try
                {
                    await _store.ReleaseAsync(WorkerId, stopped, _time.GetUtcNow(), "The host stopped while the attempt ran; released to another worker.", CancellationToken.None).ConfigureAwait(false);
                    Log.JobsReleased(_logger, stopped.Length);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // The leases expire and another worker takes the jobs over.
                    Log.WorkerLoopFailed(_logger, ex, _options.JobLeaseDuration);
                }
            }
        }
        else
        {
            await CancelAsync(_abortJobs).ConfigureAwait(false); // nothing runs any more: ends the heartbeat
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
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                // Not cancelled by the stop: a claim that committed must be known here, or its job would wait for its lease.
                var jobs = await _store.ClaimAsync(WorkerId, 1, _time.GetUtcNow(), _options.JobLeaseDuration, CancellationToken.None).ConfigureAwait(false);
                errorDelay = TimeSpan.FromMilliseconds(200);
                failures = 0;
                if (jobs.Count > 0 && stopping.IsCancellationRequested)
                {
                    await _store.ReleaseAsync(WorkerId, [jobs[0].Id], _time.GetUtcNow(), "Claimed while the host was stopping; released.", CancellationToken.None).ConfigureAwait(false);
                    return;
                }

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
                // The first failure of an outage is a warning with its cause, and so are the 10th, 100th, ... (a failure
                // that never clears stays visible); the rest, one line each at Debug.
                if (++failures is 1 or 10 or 100 or 1_000 or 10_000 || failures % 100_000 == 0)
                {
                    Log.WorkerLoopFailed(_logger, ex, errorDelay);
                }
                else
                {
                    Log.WorkerLoopStillFailing(_logger, ex, failures, errorDelay);
                }

                try
                {
                    // Jittered, so the workers of every instance do not retry in step; a job announced meanwhile (the
                    // database answers again) ends the wait at once.
                    await _signal.WaitAsync(errorDelay * (0.8 + (Random.Shared.NextDouble() * 0.4)), _time, stopping).ConfigureAwait(false);
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

        // A job due now that the claim did not get is being claimed by another worker: look again shortly, never spin.
        var wait = due - _time.GetUtcNow();
        return wait < MinIdleWait ? MinIdleWait : wait < _options.JobPollInterval ? wait : _options.JobPollInterval;
    }

    /// <summary>Runs one job; returns the next one the worker claimed with it (none once the host is stopping).</summary>
    private async Task<BomTriggerJob?> RunAsync(BomTriggerJob job, bool stopping)
    {
        // Held (and renewed) from here until the attempt is recorded; keyed with the attempt, so a take-over of the same job
        // by another loop of this process is tracked on its own.
        var key = (job.Id, job.Attempt);
        _held[key] = false;
        try
        {
            var claimNext = stopping || _stopClaiming.IsCancellationRequested ? null : new JobClaim(WorkerId, _time.GetUtcNow(), _options.JobLeaseDuration);
            var result = await _engine.RunJobAsync(job, WorkerId, claimNext, _abortJobs.Token).ConfigureAwait(false);
            _held.TryRemove(key, out _);
            if (result.Next is { } next)
            {
                _held[(next.Id, next.Attempt)] = false;
            }

            return result.Next;
        }
        catch (JobInterruptedException interrupted)
        {
            // Aborted at shutdown: StopAsync hands back the jobs whose action stopped; the others keep their lease until it expires.
            if (interrupted.ActionStopped)
            {
                _held[key] = true;
            }
            else
            {
                _held.TryRemove(key, out _);
            }

            throw new OperationCanceledException(interrupted.Message, interrupted, _abortJobs.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
        {
            // Recording the attempt failed (the database is unreachable): the lease expires and the job runs again.
            Log.WorkerLoopFailed(_logger, ex, _options.JobLeaseDuration);
            _held.TryRemove(key, out _);
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
                var held = _held.Keys.Select(k => k.JobId).Distinct().ToArray();
                if (held.Length == 0)
                {
                    continue;
                }

                try
                {
                    await _store.RenewAsync(WorkerId, held, _time.GetUtcNow(), _options.JobLeaseDuration, CancellationToken.None).ConfigureAwait(false);
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

    /// <summary>Cancels <paramref name="source"/> unless the container disposed the worker meanwhile (which cancelled it already).</summary>
    private static async Task CancelAsync(CancellationTokenSource source)
    {
        try
        {
            await source.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // Disposed while the host was stopping (two stops at once, or a container disposed early): Dispose cancelled it.
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
