using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

internal sealed class BomTriggerEngine(
    TriggerSnapshotProvider snapshots,
    IBomTriggerStore repository,
    IBomTriggerJobStore jobStore,
    JobSignal jobSignal,
    TriggerValidator validator,
    ActionRegistry actions,
    IServiceScopeFactory scopes,
    IOptions<BomTriggerOptions> options,
    TimeProvider timeProvider,
    BomTriggerMetrics metrics,
    DispatchedEventCounter eventCounts,
    ILogger<BomTriggerEngine>? logger = null) : IBomTriggerEngine
{
    private ILogger Logger => (ILogger?)logger ?? NullLogger.Instance;

    private static readonly DispatchOptions DefaultDispatchOptions = new();

    private readonly BomTriggerOptions _options = options.Value;

    // One timeout source kept between dispatches (a source and its timer cost two allocations and a timer-queue insert).
    private ActionTimeoutSource? _spareTimeouts;

    /// <summary>
    /// Called at start: creates the timeout source (and its timer) the first dispatch will use, so that dispatch pays
    /// no more than the next one.
    /// </summary>
    internal void PrepareFirstDispatch()
    {
        var timeouts = new ActionTimeoutSource(timeProvider);
        timeouts.Start(_options.ActionTimeout);
        if (!timeouts.TryReset() || Interlocked.CompareExchange(ref _spareTimeouts, timeouts, null) is not null)
        {
            timeouts.Dispose();
        }
    }

    public async Task<DispatchReport> DispatchAsync(BomTriggerEvent triggerEvent, DispatchOptions? dispatchOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(triggerEvent);
        ArgumentException.ThrowIfNullOrEmpty(triggerEvent.EventType, nameof(triggerEvent));
        if (string.Equals(triggerEvent.EventType, BomTriggerEvents.Schedule, StringComparison.Ordinal))
        {
            throw new ArgumentException($"{BomTriggerEvents.Schedule} is raised by the scheduler from each trigger's cron schedule; a host cannot dispatch it.", nameof(triggerEvent));
        }

        if (!validator.Catalog.IsKnown(triggerEvent.EventType))
        {
            // No trigger can listen to it (a save names only known events): a typo would otherwise do nothing, silently.
            throw new ArgumentException(
                $"The event type '{(triggerEvent.EventType.Length > 100 ? triggerEvent.EventType[..100] + "..." : triggerEvent.EventType)}' is not known, so no trigger can listen to it. Known: "
                + $"{string.Join(", ", validator.Catalog.Events.Select(e => e.Name).Where(n => n != BomTriggerEvents.Schedule))}. "
                + "Register a host event type with AddEventType(...) on the builder.",
                nameof(triggerEvent));
        }

        dispatchOptions ??= DefaultDispatchOptions;
        if (dispatchOptions.Enlistment?.Transaction is not null && repository is InMemoryTriggerStore)
        {
            // Before any action runs: the store would keep what the caller's rollback removes.
            throw new InvalidOperationException(InMemoryTriggerStore.EnlistmentRefused);
        }

        var now = timeProvider.GetUtcNow();
        var correlationId = VersionSevenGuid.Create(now);
        using var activity = BomTriggerDiagnostics.ActivitySource.StartActivity("dermag.bom_triggers.dispatch");
        activity?.SetTag("dermag.bom_triggers.event", triggerEvent.EventType);
        activity?.SetTag("dermag.bom_triggers.task_id", triggerEvent.TaskId);
        activity?.SetTag("dermag.correlation_id", correlationId);

        var chain = new ChainRun(correlationId, new LoopGuard());
        chain.Pending.Enqueue(new ChainItem(Readable(triggerEvent), 0, triggerEvent.EventId ?? VersionSevenGuid.Create(now)));
        await RunChainAsync(chain, dispatchOptions.Enlistment, dispatchOptions.Explain, now, cancellationToken).ConfigureAwait(false);
        var logWriteError = await PersistAsync(chain, dispatchOptions.Enlistment?.Transaction, dispatchOptions.Strict ?? _options.StrictMode, cancellationToken).ConfigureAwait(false);
        var report = new DispatchReport(correlationId, chain.Outcomes) { NotConsidered = chain.NotConsidered, LogWriteError = logWriteError };
        metrics.Dispatches.Add(1, new KeyValuePair<string, object?>("event", triggerEvent.EventType));
        if (report.HasFailures && (dispatchOptions.Strict ?? _options.StrictMode))
        {
            var first = report.OfKind(TriggerOutcomeKind.Failed).First();
            throw new BomTriggerException($"Trigger {first.TriggerId} ('{first.TriggerName}') failed in strict mode: {first.Error}") { Report = report };
        }

        return report;
    }

    /// <summary>
    /// Runs the chain's pending events: evaluates candidates, runs inline actions (queueing the events they cause) and
    /// collects the jobs of queued ones and the log rows; writes nothing (see <see cref="PersistAsync"/>).
    /// </summary>
    private async Task RunChainAsync(ChainRun chain, IBomTriggerEnlistment? enlistment, bool explain, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var snapshot = await snapshots.GetAsync(cancellationToken).ConfigureAwait(false);

        // Actions get one DI scope per chain, created when the first action runs. An action abandoned after its timeout
        // and grace keeps the scope (and its timeout source) alive until it finishes.
        AsyncServiceScope? scope = null;
        ActionTimeoutSource? timeouts = null;
        List<Task>? abandoned = null;
        try
        {
            while (chain.Pending.TryDequeue(out var item))
            {
                var current = item.Event;
                var depth = item.Depth;
                var input = new EvaluationInput(current.Data, current.PreviousValues, current.TaskId, current.TaskTypeId);
                var candidates = snapshot.Candidates(current.EventType, input, explain, out var skipped);
                if (candidates.Length + skipped > 0)
                {
                    // Only event types some active trigger listens to are counted (see BomTriggerRunSummary.ConditionFalse).
                    eventCounts.Add(current.EventType, now);
                }

                JsonElement? loggedInput = null;
                var loggedInputReady = false;
                chain.Outcomes.EnsureCapacity(chain.Outcomes.Count + candidates.Length);
                foreach (var candidate in candidates)
                {
                    // Skips, false conditions and loops are decided synchronously; only executions pay for async.
                    var outcome = Precheck(candidate, current, input, depth, chain.CorrelationId, chain.Ran);
                    JsonElement? loggedResult = null;
                    if (outcome is null && candidate.Trigger.Execution.IsQueued)
                    {
                        outcome = NewOutcome(candidate.Trigger, current, depth, TriggerOutcomeKind.Queued);
                        chain.Jobs.Add((chain.Outcomes.Count, NewJobFor(candidate.Trigger, current, item.EventId, depth, chain, item.CausedBy)));
                    }
                    else if (outcome is null)
                    {
                        scope ??= scopes.CreateAsyncScope();
                        timeouts ??= Interlocked.Exchange(ref _spareTimeouts, null) ?? new ActionTimeoutSource(timeProvider);
                        (outcome, loggedResult) = await ExecuteAsync(new ActionRun(candidate, current, depth, chain.CorrelationId, scope.Value.ServiceProvider, enlistment, new ExecutionKey(item.EventId, null), 1, chain.Pending, timeouts, abandoned ??= []), cancellationToken).ConfigureAwait(false);
                    }

                    chain.Outcomes.Add(outcome);
                    if (metrics.Outcomes.Enabled)
                    {
                        metrics.Outcomes.Add(1, new KeyValuePair<string, object?>("outcome", KindName(outcome.Kind)), new KeyValuePair<string, object?>("action", outcome.ActionType));
                    }

                    if (outcome.Kind is TriggerOutcomeKind.Executed or TriggerOutcomeKind.Failed or TriggerOutcomeKind.SuppressedLoop)
                    {
                        if (!loggedInputReady)
                        {
                            loggedInput = LoggedInput(current);
                            loggedInputReady = true;
                        }

                        chain.Logs.Add(NewLog(outcome, current, loggedInput, loggedResult, chain.CorrelationId, depth, jobId: null, attempt: null, item.CausedBy));
                    }
                }

                chain.NotConsidered += skipped;
            }
        }
        finally
        {
            if (abandoned is { Count: > 0 })
            {
                _ = ReleaseAfterAsync(abandoned, scope, timeouts);
            }
            else
            {
                if (timeouts is not null && (!timeouts.TryReset() || Interlocked.CompareExchange(ref _spareTimeouts, timeouts, null) is not null))
                {
                    timeouts.Dispose();
                }

                if (scope is { } created)
                {
                    await created.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>A log row; what the stores log is sanitized here, so every store logs the same and none refuses a row.</summary>
    private NewTriggerLog NewLog(TriggerOutcome outcome, BomTriggerEvent current, JsonElement? loggedResult, Guid correlationId, int depth, long? jobId, int? attempt, int? causedBy) =>
        NewLog(outcome, current, LoggedInput(current), loggedResult, correlationId, depth, jobId, attempt, causedBy);

    /// <summary>The event's data as every log row of it stores it (see <see cref="JsonSanitizer.ForLog(JsonElement?)"/>).</summary>
    private static JsonElement? LoggedInput(BomTriggerEvent current) => JsonSanitizer.ForLog(current.Data.ValueKind == JsonValueKind.Undefined ? null : current.Data);

    /// <summary>As above, with the event's data already sanitized once for all the event's rows.</summary>
    private NewTriggerLog NewLog(TriggerOutcome outcome, BomTriggerEvent current, JsonElement? loggedInput, JsonElement? loggedResult, Guid correlationId, int depth, long? jobId, int? attempt, int? causedBy) => new(
        outcome.TriggerId,

        // A schedule tick is about no task (its event carries task id 0, which a tasks foreign key would refuse).
        string.Equals(current.EventType, BomTriggerEvents.Schedule, StringComparison.Ordinal) ? null : current.TaskId,
        timeProvider.GetUtcNow(),
        outcome.Kind == TriggerOutcomeKind.Executed,
        loggedInput,
        loggedResult,
        JsonSanitizer.ForLog(outcome.Error),
        KindName(outcome.Kind),
        outcome.Duration.TotalMilliseconds,
        correlationId,
        depth,
        jobId,
        attempt,
        causedBy);

    private NewJob NewJobFor(BomTrigger trigger, BomTriggerEvent current, Guid eventId, int depth, ChainRun chain, int? causedBy)
    {
        var execution = trigger.Execution;
        var now = timeProvider.GetUtcNow();
        return new NewJob(
            IdempotencyKey(eventId, trigger.Id),
            trigger.Id,
            execution.Delay is null ? BomTriggerJobKind.Queued : BomTriggerJobKind.Delayed,
            current,
            eventId,
            chain.CorrelationId,
            depth,
            JobChain.Format(chain.Ran),
            // Only immediate jobs keep a task's order: a delayed job due in days must not hold the task's other jobs.
            _options.OrderJobsByTask && execution.Delay is null ? current.TaskId : null,
            execution.MaxAttempts ?? _options.MaxAttempts,
            now + (execution.Delay ?? TimeSpan.Zero),
            causedBy);
    }

    /// <summary>
    /// Writes the chain's jobs, then its log rows: in the caller's transaction when given (a failure then propagates, the
    /// transaction is lost anyway); otherwise a job that cannot be written turns its outcome into a failure that is logged,
    /// and a failed log write is reported. Returns why log rows could not be written, or null.
    /// </summary>
    private async Task<string?> PersistAsync(ChainRun chain, System.Data.Common.DbTransaction? transaction, bool strict, CancellationToken cancellationToken)
    {
        if (chain.HasJobs)
        {
            try
            {
                await jobStore.EnqueueAsync([.. chain.Jobs.Select(j => j.Job)], transaction, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);

                // This instance's workers look at once (in a caller's transaction, the job is visible at its commit, which
                // notifies every instance; a look before that finds nothing and costs one claim).
                jobSignal.Wake();
            }
            catch (Exception ex) when (transaction is null && !strict && !cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                Log.EnqueueFailed(Logger, ex, chain.Jobs.Count, chain.CorrelationId);
                foreach (var (index, job) in chain.Jobs)
                {
                    var failed = chain.Outcomes[index] with { Kind = TriggerOutcomeKind.Failed, Error = $"The job could not be queued: {ex.GetType().Name}: {ex.Message}" };
                    chain.Outcomes[index] = failed;
                    chain.Logs.Add(NewLog(failed, job.Event, null, chain.CorrelationId, job.Depth, jobId: null, attempt: null, job.CausedByTriggerId));
                }
            }
        }

        return await WriteLogsAsync(chain.Logs, chain.CorrelationId, transaction, strict, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one claimed job's attempt and records how it ended (fenced by the claim: a worker whose lease was taken over
    /// changes nothing but still logs its attempt). Events the action causes continue the chain from here: inline
    /// triggers run now, queued ones become jobs keyed by the causing job, so a retry re-enqueues none twice.
    /// </summary>
    internal async Task<BomTriggerJobState> RunJobAsync(BomTriggerJob job, string worker, CancellationToken cancellationToken) =>
        (await RunJobAsync(job, worker, null, cancellationToken).ConfigureAwait(false)).State;

    /// <summary>As above; with <paramref name="claimNext"/>, the round trip that records the attempt also claims the worker's next job.</summary>
    internal async Task<JobRunResult> RunJobAsync(BomTriggerJob job, string worker, JobClaim? claimNext, CancellationToken cancellationToken)
    {
        using var activity = BomTriggerDiagnostics.ActivitySource.StartActivity("dermag.bom_triggers.job");
        activity?.SetTag("dermag.bom_triggers.job_id", job.Id);
        activity?.SetTag("dermag.bom_triggers.attempt", job.Attempt);
        activity?.SetTag("dermag.correlation_id", job.CorrelationId);
        var snapshot = await snapshots.GetAsync(cancellationToken).ConfigureAwait(false);
        if (!snapshot.ById.TryGetValue(job.TriggerId, out var candidate))
        {
            // Another instance may have created the trigger a moment ago: make sure this snapshot is current.
            snapshot = await snapshots.RefreshAsync(cancellationToken).ConfigureAwait(false);
            if (!snapshot.ById.TryGetValue(job.TriggerId, out candidate))
            {
                return await EndAsync(job, worker, claimNext, BomTriggerJobState.Skipped, $"Trigger {job.TriggerId} is deleted or inactive.", null, null, cancellationToken).ConfigureAwait(false);
            }
        }

        var trigger = candidate.Trigger;
        var current = Readable(job.Event);
        if (job.Attempt > job.MaxAttempts)
        {
            // Only a take-over gets here: the worker running the last allowed attempt was lost.
            var error = $"Attempt {job.Attempt - 1} of {job.MaxAttempts} was lost with its worker (the lease expired); the job is dead-lettered.";
            var lost = NewOutcome(trigger, current, job.Depth, TriggerOutcomeKind.Failed, error: error);
            return await EndAsync(job, worker, claimNext, BomTriggerJobState.Dead, error, null, NewLog(lost, current, null, job.CorrelationId, job.Depth, job.Id, job.Attempt - 1, job.CausedByTriggerId), cancellationToken).ConfigureAwait(false);
        }

        var scope = scopes.CreateAsyncScope();
        var timeouts = new ActionTimeoutSource(timeProvider);
        var abandoned = new List<Task>();
        try
        {
            return await RunJobActionAsync(job, worker, claimNext, candidate, current, scope.ServiceProvider, timeouts, abandoned, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Aborted by a stopping host: say whether the action really stopped (within its grace), so the job can be handed
            // back without another instance running it while this one still does.
            if (abandoned.Count > 0 && _options.ActionCancellationGrace > TimeSpan.Zero)
            {
                await Task.WhenAll(abandoned).WaitAsync(_options.ActionCancellationGrace, timeProvider, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            throw new JobInterruptedException(abandoned.All(t => t.IsCompleted));
        }
        finally
        {
            // An action abandoned after its timeout keeps its scope until it ends, as in a dispatch.
            if (abandoned.Count > 0)
            {
                _ = ReleaseAfterAsync(abandoned, scope, timeouts);
            }
            else
            {
                timeouts.Dispose();
                await scope.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<JobRunResult> RunJobActionAsync(
        BomTriggerJob job, string worker, JobClaim? claimNext, CompiledTrigger candidate, BomTriggerEvent current, IServiceProvider services, ActionTimeoutSource timeouts, List<Task> abandoned, CancellationToken cancellationToken)
    {
        var trigger = candidate.Trigger;
        if (job.Kind != BomTriggerJobKind.Queued)
        {
            // Delayed: the condition is evaluated again against the task's data now. Scheduled: against the tick.
            if (job.Kind == BomTriggerJobKind.Delayed)
            {
                JsonElement? fresh;
                try
                {
                    var provider = services.GetService<IBomEventDataProvider>() ?? throw new BomTriggerException(
                        $"Trigger {trigger.Id} is delayed, and no {nameof(IBomEventDataProvider)} is registered to give the task's current data.");
                    fresh = await provider.GetCurrentDataAsync(current, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
                {
                    var failed = NewOutcome(trigger, current, job.Depth, TriggerOutcomeKind.Failed, error: $"Reading the task's current data failed: {ex.GetType().Name}: {ex.Message}");
                    return await FailAsync(job, worker, claimNext, failed, current, cancellationToken).ConfigureAwait(false);
                }

                if (fresh is not { } data)
                {
                    return await EndAsync(job, worker, claimNext, BomTriggerJobState.Skipped, $"Task {current.TaskId} no longer exists.", null, null, cancellationToken).ConfigureAwait(false);
                }

                // The event's previous values stay: "$changed" still compares with the values before the change that queued it.
                current = Readable(current with { Data = data });
            }

            var input = new EvaluationInput(current.Data, current.PreviousValues, current.TaskId, current.TaskTypeId);
            if (candidate.Condition is { } condition && !condition.Matches(input))
            {
                var clause = condition.FirstFailure(input);
                return await EndAsync(job, worker, claimNext, BomTriggerJobState.Skipped, $"The condition no longer matches: {clause}", null, null, cancellationToken).ConfigureAwait(false);
            }
        }

        if (candidate.Condition is null)
        {
            var invalid = NewOutcome(trigger, current, job.Depth, TriggerOutcomeKind.Failed, error: "The stored trigger is invalid: " + string.Join("; ", candidate.Errors));
            return await FailAsync(job, worker, claimNext, invalid, current, cancellationToken).ConfigureAwait(false);
        }

        var caused = new Queue<ChainItem>();
        var run = await ExecuteAsync(new ActionRun(candidate, current, job.Depth, job.CorrelationId, services, null, new ExecutionKey(default, job.IdempotencyKey), job.Attempt, caused, timeouts, abandoned), cancellationToken).ConfigureAwait(false);

        if (run.Outcome.Kind != TriggerOutcomeKind.Executed)
        {
            return await FailAsync(job, worker, claimNext, run.Outcome, current, cancellationToken).ConfigureAwait(false);
        }

        if (caused.Count > 0)
        {
            // The chain goes on with the loop guard it had when the job was written, plus this trigger.
            var chain = new ChainRun(job.CorrelationId, JobChain.Parse(job.Chain));
            chain.Ran.Add(trigger.Id, current.TaskId);
            foreach (var next in caused)
            {
                chain.Pending.Enqueue(next);
            }

            try
            {
                await RunChainAsync(chain, null, explain: false, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);

                // Strict: caused jobs that could not be written fail this attempt, which is retried (their keys are stable),
                // instead of the job succeeding with its chain lost.
                await PersistAsync(chain, null, strict: true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
            {
                var lost = run.Outcome with { Kind = TriggerOutcomeKind.Failed, Error = $"The action ran, but the events it caused could not be carried on: {ex.GetType().Name}: {ex.Message}" };
                return await FailAsync(job, worker, claimNext, lost, current, cancellationToken).ConfigureAwait(false);
            }
        }

        var log = NewLog(run.Outcome, current, run.LoggedResult, job.CorrelationId, job.Depth, job.Id, job.Attempt, job.CausedByTriggerId);
        return await EndAsync(job, worker, claimNext, BomTriggerJobState.Succeeded, null, null, log, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A failed attempt: retried after a backoff with jitter, or dead-lettered after the last attempt.</summary>
    private Task<JobRunResult> FailAsync(BomTriggerJob job, string worker, JobClaim? claimNext, TriggerOutcome failed, BomTriggerEvent current, CancellationToken cancellationToken)
    {
        var log = NewLog(failed, current, null, job.CorrelationId, job.Depth, job.Id, job.Attempt, job.CausedByTriggerId);
        if (job.Attempt >= job.MaxAttempts)
        {
            Log.JobDeadLettered(Logger, job.Id, job.TriggerId, job.Attempt, failed.Error);
            return EndAsync(job, worker, claimNext, BomTriggerJobState.Dead, failed.Error, null, log, cancellationToken);
        }

        return EndAsync(job, worker, claimNext, BomTriggerJobState.Pending, failed.Error, timeProvider.GetUtcNow() + RetryDelay(job.Attempt), log, cancellationToken);
    }

    private async Task<JobRunResult> EndAsync(BomTriggerJob job, string worker, JobClaim? claimNext, BomTriggerJobState state, string? error, DateTimeOffset? retryAt, NewTriggerLog? log, CancellationToken cancellationToken)
    {
        var completion = new JobCompletion(job.Id, job.Attempt, worker, state, timeProvider.GetUtcNow(), retryAt, error);
        // Recorded whatever the caller's token says: an attempt that ran must not be run again because a stop was requested.
        var (applied, next, logError) = await jobStore.CompleteAsync(completion, log, claimNext, CancellationToken.None).ConfigureAwait(false);
        if (!applied)
        {
            Log.JobLeaseLost(Logger, job.Id, job.Attempt);
        }

        if (logError is not null)
        {
            // The state change stands (the job does not run again for it); the lost row is reported, never silent.
            Log.JobLogWriteFailed(Logger, logError, job.Id, job.Attempt);
            metrics.LogWriteFailures.Add(1);
        }

        metrics.Jobs.Add(1, new KeyValuePair<string, object?>("state", state.ToString()));
        return new JobRunResult(state, next);
    }

    /// <summary>The wait before attempt <paramref name="failedAttempt"/> + 1: doubling from the base, capped, ±20% jitter.</summary>
    internal TimeSpan RetryDelay(int failedAttempt)
    {
        var exponential = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failedAttempt - 1, 30));
        var capped = Math.Min(exponential, _options.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    /// <summary>The key of one execution: the event id and the trigger.</summary>
    internal static string IdempotencyKey(Guid eventId, int triggerId) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{eventId:N}:{triggerId}");

    /// <summary>The id of the <paramref name="index"/>th event caused by the execution <paramref name="key"/>: the same on every attempt.</summary>
    internal static Guid CausedEventId(string key, int index)
    {
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{key}/{index}")), hash);
        return new Guid(hash[..16]);
    }

    public async Task<TriggerTestResult> TestAsync(int triggerId, TriggerTestRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var trigger = await repository.GetAsync(triggerId, cancellationToken).ConfigureAwait(false);
        if (trigger is null)
        {
            return new TriggerTestResult { Found = false, Explanation = [$"Trigger {triggerId} does not exist."] };
        }

        var compiled = CompiledTrigger.Compile(trigger, validator.Catalog);
        var result = Explain(trigger.TriggerEvent, compiled.Condition, compiled.Errors, trigger.IsActive, trigger.SourceTaskTypeId, trigger.ActionType, trigger.ActionConfig, request);
        return await WithChainAsync(result, trigger.Id, cancellationToken).ConfigureAwait(false);
    }

    public Task<TriggerTestResult> TestAsync(BomTriggerDefinition definition, TriggerTestRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(request);
        var errors = validator.Validate(definition, out var condition);
        var result = Explain(
            definition.TriggerEvent, condition, errors, definition.IsActive, definition.SourceTaskTypeId, definition.ActionType,
            definition.ActionConfig ?? TriggerValidator.EmptyObject, request);
        return WithChainAsync(result, null, cancellationToken);
    }

    /// <summary>
    /// Adds the triggers the action could set off, breadth first through the event types each action declares it causes,
    /// from the engine's snapshot of active triggers; nothing runs, so conditions of later links are not evaluated.
    /// </summary>
    private async Task<TriggerTestResult> WithChainAsync(TriggerTestResult result, int? testedId, CancellationToken cancellationToken)
    {
        if (!result.WouldExecute)
        {
            return result;
        }

        var snapshot = await snapshots.GetAsync(cancellationToken).ConfigureAwait(false);
        var byEvent = snapshot.ById.Values.Select(c => c.Trigger).ToLookup(t => t.TriggerEvent, StringComparer.Ordinal);
        var seen = new HashSet<int>();
        if (testedId is { } id)
        {
            seen.Add(id);
        }

        var chain = new List<ChainedTriggerCandidate>();
        var frontier = new List<(int? TriggerId, string ActionType)> { (testedId, result.ActionType) };
        for (var depth = 1; depth <= _options.MaxChainDepth && frontier.Count > 0; depth++)
        {
            var next = new List<(int? TriggerId, string ActionType)>();
            foreach (var (causedBy, actionType) in frontier)
            {
                foreach (var eventType in actions.Get(actionType)?.CausedEvents ?? [])
                {
                    foreach (var trigger in byEvent[eventType].OrderByDescending(t => t.Priority).ThenBy(t => t.Id))
                    {
                        if (seen.Add(trigger.Id))
                        {
                            chain.Add(new ChainedTriggerCandidate
                            {
                                Depth = depth, EventType = eventType, CausedByTriggerId = causedBy, TriggerId = trigger.Id,
                                TriggerName = trigger.Name, ActionType = trigger.ActionType, Priority = trigger.Priority,
                            });
                            next.Add((trigger.Id, trigger.ActionType));
                        }
                    }
                }
            }

            frontier = next;
        }

        if (chain.Count == 0)
        {
            return result;
        }

        var lines = result.Explanation.ToList();
        lines.Add($"Its action may raise events that {chain.Count} active trigger(s) listen to: "
            + string.Join(", ", chain.Select(c => $"{c.TriggerName} (#{c.TriggerId}, {c.EventType}, depth {c.Depth})")) + "; each fires if its own condition matches the data then.");
        return result with { ChainedTriggers = chain, Explanation = lines };
    }

    private static TriggerTestResult Explain(
        string eventType,
        CompiledCondition? condition,
        IReadOnlyList<TriggerValidationError> errors,
        bool isActive,
        int? sourceTaskTypeId,
        string actionType,
        JsonElement actionConfig,
        TriggerTestRequest request)
    {
        var lines = new List<string>();
        if (errors.Count > 0 || condition is null)
        {
            lines.Add("The trigger is invalid and would never run: " + string.Join("; ", errors));
            return new TriggerTestResult { Errors = errors, IsActive = isActive, ActionType = actionType, ActionConfig = actionConfig, Explanation = lines };
        }

        var typeMatches = sourceTaskTypeId is null || sourceTaskTypeId == request.TaskTypeId;
        var previous = request.PreviousValues is { } values ? JsonSanitizer.ForReading(values, out _) : (JsonElement?)null;
        var explanation = condition.Explain(new EvaluationInput(JsonSanitizer.ForReading(request.TestData, out _), previous, request.TaskId, request.TaskTypeId));
        lines.Add(isActive ? "The trigger is active." : "The trigger is inactive, so a real dispatch would not consider it.");
        lines.Add(typeMatches
            ? sourceTaskTypeId is null ? "It applies to every task type." : $"It applies to task type {sourceTaskTypeId}, which matches."
            : $"It applies only to task type {sourceTaskTypeId}; the test task type is {(request.TaskTypeId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "not set")}.");
        foreach (var clause in explanation.Trace)
        {
            lines.Add($"{(clause.Passed ? "PASS" : "FAIL")} {clause.Path}: {clause.Clause} (actual {clause.Actual})");
        }

        var wouldExecute = isActive && typeMatches && explanation.Matched;
        lines.Add(wouldExecute ? $"A dispatch of {eventType} with this data would run {actionType}." : $"A dispatch of {eventType} with this data would not run {actionType}.");
        return new TriggerTestResult
        {
            IsActive = isActive,
            TaskTypeMatches = typeMatches,
            Condition = explanation,
            WouldExecute = wouldExecute,
            ActionType = actionType,
            ActionConfig = actionConfig,
            Explanation = lines,
        };
    }

    /// <summary>The event with data every string of which can be read (unpaired surrogates read as U+FFFD), so conditions never throw.</summary>
    private static BomTriggerEvent Readable(BomTriggerEvent triggerEvent)
    {
        var data = JsonSanitizer.ForReading(triggerEvent.Data, out var dataRewritten);
        var previous = triggerEvent.PreviousValues;
        var previousRewritten = false;
        if (previous is { } values)
        {
            previous = JsonSanitizer.ForReading(values, out previousRewritten);
        }

        return dataRewritten || previousRewritten ? triggerEvent with { Data = data, PreviousValues = previous } : triggerEvent;
    }

    // Every field set in one initializer: a `with` on a fresh outcome would allocate it twice.
    private static TriggerOutcome NewOutcome(
        BomTrigger trigger, BomTriggerEvent current, int depth, TriggerOutcomeKind kind, string? error = null, ConditionFailure? failedClause = null, JsonElement? result = null, TimeSpan duration = default) => new()
    {
        TriggerId = trigger.Id,
        TriggerName = trigger.Name,
        ActionType = trigger.ActionType,
        EventType = current.EventType,
        TaskId = current.TaskId,
        Depth = depth,
        Kind = kind,
        Error = error,
        FailedClause = failedClause,
        Result = result,
        Duration = duration,
    };

    /// <summary>The kind's name as logged (what <see cref="Enum.ToString()"/> returns, without its lookup per row).</summary>
    internal static string KindName(TriggerOutcomeKind kind) => kind switch
    {
        TriggerOutcomeKind.Executed => nameof(TriggerOutcomeKind.Executed),
        TriggerOutcomeKind.Failed => nameof(TriggerOutcomeKind.Failed),
        TriggerOutcomeKind.ConditionFalse => nameof(TriggerOutcomeKind.ConditionFalse),
        TriggerOutcomeKind.SkippedTaskType => nameof(TriggerOutcomeKind.SkippedTaskType),
        TriggerOutcomeKind.SuppressedLoop => nameof(TriggerOutcomeKind.SuppressedLoop),
        TriggerOutcomeKind.Queued => nameof(TriggerOutcomeKind.Queued),
        _ => kind.ToString(),
    };

    /// <summary>The outcome of a candidate that will not execute, or null when its action should run.</summary>
    private TriggerOutcome? Precheck(
        CompiledTrigger candidate,
        BomTriggerEvent current,
        EvaluationInput input,
        int depth,
        Guid correlationId,
        LoopGuard ranForTask)
    {
        var trigger = candidate.Trigger;
        if (trigger.SourceTaskTypeId is { } sourceType && sourceType != current.TaskTypeId)
        {
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.SkippedTaskType);
        }

        if (candidate.Condition is null)
        {
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.Failed, error: "The stored trigger is invalid: " + string.Join("; ", candidate.Errors));
        }

        if (!candidate.Condition.Matches(input, out var failure))
        {
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.ConditionFalse, failedClause: failure);
        }

        if (depth > _options.MaxChainDepth)
        {
            Log.LoopSuppressed(Logger, trigger.Id, current.TaskId, depth, correlationId);
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.SuppressedLoop, error: $"The chain is {depth} events deep, beyond MaxChainDepth ({_options.MaxChainDepth}).");
        }

        if (!ranForTask.Add(trigger.Id, current.TaskId))
        {
            Log.LoopSuppressed(Logger, trigger.Id, current.TaskId, depth, correlationId);
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.SuppressedLoop, error: $"Trigger {trigger.Id} already ran for task {current.TaskId} in this chain.");
        }

        return null;
    }

    /// <summary>
    /// One action to run: the candidate and the event it runs for, where it sits in its chain, the scope and enlistment it
    /// runs in, its idempotency key and attempt, the chain's queue its caused events join, the timeout source, and the
    /// list that collects actions left running past their timeout.
    /// </summary>
    private readonly record struct ActionRun(
        CompiledTrigger Candidate,
        BomTriggerEvent Current,
        int Depth,
        Guid CorrelationId,
        IServiceProvider Services,
        IBomTriggerEnlistment? Enlistment,
        ExecutionKey ExecutionKey,
        int Attempt,
        Queue<ChainItem> Queue,
        ActionTimeoutSource Timeouts,
        List<Task> Abandoned);

    /// <summary>Runs the candidate's action in its own span (<c>dermag.bom_triggers.action</c>, a child of the dispatch or job span).</summary>
    private ValueTask<(TriggerOutcome Outcome, JsonElement? LoggedResult)> ExecuteAsync(
        ActionRun run,
        CancellationToken cancellationToken)
    {
        // Without a listener there is no span to finish afterwards: the action runs without a second async frame. The
        // span starts inside the async method, so Activity.Current returns to the dispatch's span when it ends.
        return BomTriggerDiagnostics.ActivitySource.HasListeners()
            ? ExecuteTracedAsync(run, cancellationToken)
            : ExecuteCoreAsync(run, cancellationToken);
    }

    private async ValueTask<(TriggerOutcome Outcome, JsonElement? LoggedResult)> ExecuteTracedAsync(
        ActionRun run,
        CancellationToken cancellationToken)
    {
        using var activity = BomTriggerDiagnostics.ActivitySource.StartActivity("dermag.bom_triggers.action");
        if (activity is not null)
        {
            activity.SetTag("dermag.bom_triggers.trigger_id", run.Candidate.Trigger.Id);
            activity.SetTag("dermag.bom_triggers.action", run.Candidate.Trigger.ActionType);
            activity.SetTag("dermag.bom_triggers.task_id", run.Current.TaskId);
            activity.SetTag("dermag.bom_triggers.depth", run.Depth);
            activity.SetTag("dermag.bom_triggers.attempt", run.Attempt);
        }

        var result = await ExecuteCoreAsync(run, cancellationToken).ConfigureAwait(false);
        if (activity is not null)
        {
            activity.SetTag("dermag.bom_triggers.outcome", KindName(result.Outcome.Kind));
            if (result.Outcome.Kind == TriggerOutcomeKind.Failed)
            {
                activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error, result.Outcome.Error);
            }
        }

        return result;
    }

    /// <summary>Runs the candidate's action; returns its outcome and its result as the log stores it.</summary>
    private async ValueTask<(TriggerOutcome Outcome, JsonElement? LoggedResult)> ExecuteCoreAsync(
        ActionRun run,
        CancellationToken cancellationToken)
    {
        var (candidate, current, depth, correlationId, services, enlistment, executionKey, attempt, queue, timeouts, abandoned) = run;
        var trigger = candidate.Trigger;
        var started = timeProvider.GetTimestamp();
        var timeout = timeouts.Start(_options.ActionTimeout);
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout) : null;
        var token = linked?.Token ?? timeout;
        Task<ActionResult>? running = null;
        try
        {
            if (actions.Resolve(services, trigger.ActionType) is not { } handler)
            {
                return (Failed(trigger, current, depth, started, null, $"The action type '{trigger.ActionType}' is not registered; call AddAction<THandler>(\"{trigger.ActionType}\")."), null);
            }

            var context = new ActionContext(trigger, current, correlationId, depth, enlistment, services, executionKey, attempt);

            // The action starts on the thread pool, so one that blocks before returning its task cannot hold the dispatch
            // past its timeout. When the timeout fires, the action's token is cancelled and it gets a bounded grace to stop.
            running = actions.RunsInline(trigger.ActionType) ? RunInlineAsync(handler, context, token) : RunOnThreadPoolAsync(handler, context, token);
            ActionResult result;
            try
            {
                result = await running.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return (await TimedOutAsync(running, trigger, current, depth, started, abandoned).ConfigureAwait(false), null);
            }

            var elapsed = timeProvider.GetElapsedTime(started);
            metrics.ActionDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("action", trigger.ActionType));

            // Read what the action returned while a failure is still the action's: a result or caused event whose
            // document the action disposed fails the action, not the dispatch.
            var loggedResult = JsonSanitizer.ForLog(result.Data);
            var caused = result.CausedEvents.Count == 0 ? [] : result.CausedEvents.Select(Readable).ToArray();
            for (var i = 0; i < caused.Length; i++)
            {
                queue.Enqueue(new ChainItem(caused[i], depth + 1, caused[i].EventId ?? CausedEventId(context.IdempotencyKey, i), trigger.Id));
            }

            Log.TriggerExecuted(Logger, trigger.Id, trigger.ActionType, current.TaskId, elapsed.TotalMilliseconds);
            return (NewOutcome(trigger, current, depth, TriggerOutcomeKind.Executed, result: result.Data, duration: elapsed), loggedResult);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            return (Failed(trigger, current, depth, started, ex, $"{ex.GetType().Name}: {ex.Message}"), null);
        }
        finally
        {
            if (running is { IsCompleted: false } && !abandoned.Contains(running))
            {
                // The caller cancelled the dispatch: the action is cancelled too, but nobody waits for it any more.
                abandoned.Add(running);
                ObserveAbandoned(running, trigger, current.TaskId);
            }
        }
    }

    /// <summary>
    /// The action's token was cancelled at its timeout: give it <see cref="BomTriggerOptions.ActionCancellationGrace"/> to
    /// stop; one that does not is abandoned (recorded, its failure logged when it ends, its scope kept until then).
    /// </summary>
    private async Task<TriggerOutcome> TimedOutAsync(Task<ActionResult> running, BomTrigger trigger, BomTriggerEvent current, int depth, long started, List<Task> abandoned)
    {
        if (!running.IsCompleted && _options.ActionCancellationGrace > TimeSpan.Zero)
        {
            using var stopTimer = new CancellationTokenSource();
            await Task.WhenAny(running, Task.Delay(_options.ActionCancellationGrace, timeProvider, stopTimer.Token)).ConfigureAwait(false);
            await stopTimer.CancelAsync().ConfigureAwait(false);
        }

        if (running.IsCompleted)
        {
            _ = running.Exception; // observed: its cancellation is the expected end
            return Failed(trigger, current, depth, started, null, $"The action timed out after {_options.ActionTimeout}.");
        }

        abandoned.Add(running);
        ObserveAbandoned(running, trigger, current.TaskId);
        return Failed(
            trigger,
            current,
            depth,
            started,
            null,
            $"The action timed out after {_options.ActionTimeout} and did not stop within {_options.ActionCancellationGrace} of being cancelled; it was abandoned and may still be running.");
    }

    private TriggerOutcome Failed(BomTrigger trigger, BomTriggerEvent current, int depth, long started, Exception? exception, string error)
    {
        var elapsed = timeProvider.GetElapsedTime(started);
        Log.TriggerFailed(Logger, exception, trigger.Id, trigger.ActionType, current.TaskId, error);
        return NewOutcome(trigger, current, depth, TriggerOutcomeKind.Failed, error: error, duration: elapsed);
    }

    /// <summary>Disposes the dispatch's scope and timeout source once every abandoned action has ended.</summary>
    private static async Task ReleaseAfterAsync(List<Task> abandoned, AsyncServiceScope? scope, ActionTimeoutSource? timeouts)
    {
        await Task.WhenAll(abandoned).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        timeouts?.Dispose();
        if (scope is { } created)
        {
            await created.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>An action that declared it never blocks: its task, with a synchronous throw turned into a faulted task.</summary>
    private static Task<ActionResult> RunInlineAsync(IBomTriggerAction handler, ActionContext context, CancellationToken cancellationToken)
    {
        try
        {
            return handler.ExecuteAsync(context, cancellationToken);
        }
        catch (Exception ex)
        {
            return Task.FromException<ActionResult>(ex);
        }
    }

    private static async Task<ActionResult> RunOnThreadPoolAsync(IBomTriggerAction handler, ActionContext context, CancellationToken cancellationToken)
    {
        // Queues the rest of this method to the thread pool (ignoring any synchronization context) without allocating.
        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        return await handler.ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Logs the failure of an action the dispatch stopped waiting for, so it is neither lost nor unobserved.</summary>
    private void ObserveAbandoned(Task<ActionResult> running, BomTrigger trigger, int taskId) =>
        _ = running.ContinueWith(
            static (task, state) =>
            {
                var (logger, trigger, taskId) = ((ILogger, BomTrigger, int))state!;
                Log.AbandonedActionFailed(logger, task.Exception!.GetBaseException(), trigger.Id, trigger.ActionType, taskId);
            },
            (Logger, trigger, taskId),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    /// <summary>Writes the dispatch's log rows; returns why they could not be written, or null.</summary>
    private async Task<string?> WriteLogsAsync(List<NewTriggerLog> logs, Guid correlationId, System.Data.Common.DbTransaction? transaction, bool strict, CancellationToken cancellationToken)
    {
        if (logs.Count == 0)
        {
            return null;
        }

        try
        {
            await repository.WriteLogsAsync(logs, transaction, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            Log.LogWriteFailed(Logger, ex, logs.Count, correlationId);
            metrics.LogWriteFailures.Add(logs.Count);

            // In the caller's transaction the failure aborted it, so it propagates; otherwise logging must never break the
            // caller's task operation, and the report says what was lost.
            if (transaction is not null || strict)
            {
                throw;
            }

            return $"{logs.Count} log row(s) could not be written: {ex.GetType().Name}: {ex.Message}";
        }
    }
}

/// <summary>
/// An event waiting in a chain: its depth, its id (the host's, or derived from the execution that caused it) and the
/// trigger whose action caused it (null for the host's event).
/// </summary>
internal readonly record struct ChainItem(BomTriggerEvent Event, int Depth, Guid EventId, int? CausedBy = null);

/// <summary>What one run of a chain collects: outcomes, log rows and jobs, written together at the end.</summary>
internal sealed class ChainRun(Guid correlationId, LoopGuard ran)
{
    public Guid CorrelationId { get; } = correlationId;

    /// <summary>The loop guard: (trigger, task) pairs that already ran (or were queued) in this chain.</summary>
    public LoopGuard Ran { get; } = ran;

    // Most chains are the host's one event.
    public Queue<ChainItem> Pending { get; } = new(1);

    public List<TriggerOutcome> Outcomes { get; } = [];

    public List<NewTriggerLog> Logs { get; } = [];

    /// <summary>The jobs to write, each with the index of its <see cref="TriggerOutcomeKind.Queued"/> outcome (created on the first).</summary>
    public List<(int OutcomeIndex, NewJob Job)> Jobs => _jobs ??= [];

    public bool HasJobs => _jobs is { Count: > 0 };

    private List<(int OutcomeIndex, NewJob Job)>? _jobs;

    public int NotConsidered { get; set; }
}

/// <summary>The loop guard as a job carries it: <c>triggerId:taskId</c> pairs separated by commas.</summary>
internal static class JobChain
{
    public static string Format(LoopGuard ran) =>
        string.Join(',', ran.Pairs.Select(r => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{r.TriggerId}:{r.TaskId}")));

    public static LoopGuard Parse(string chain)
    {
        var ran = new LoopGuard();
        foreach (var pair in chain.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0
                && int.TryParse(pair.AsSpan(0, colon), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var trigger)
                && int.TryParse(pair.AsSpan(colon + 1), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var task))
            {
                ran.Add(trigger, task);
            }
        }

        return ran;
    }
}

/// <summary>How a job's attempt ended, and the worker's next job when the recording round trip claimed one.</summary>
internal readonly record struct JobRunResult(BomTriggerJobState State, BomTriggerJob? Next);

/// <summary>A job's attempt was aborted by a stopping host; <see cref="ActionStopped"/> says whether its action ended.</summary>
internal sealed class JobInterruptedException(bool actionStopped) : Exception(actionStopped ? "The attempt was aborted and its action stopped." : "The attempt was aborted and its action is still running.")
{
    public bool ActionStopped { get; } = actionStopped;
}

/// <summary>An execution's idempotency key: a job's stored key, or (inline) the event id, turned into the key only when read.</summary>
internal readonly record struct ExecutionKey(Guid EventId, string? Stored);
