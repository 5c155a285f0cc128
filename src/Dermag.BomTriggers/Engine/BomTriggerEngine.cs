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
    TriggerValidator validator,
    ActionRegistry actions,
    IServiceScopeFactory scopes,
    IOptions<BomTriggerOptions> options,
    TimeProvider timeProvider,
    BomTriggerMetrics metrics,
    ILogger<BomTriggerEngine>? logger = null) : IBomTriggerEngine
{
    private ILogger Logger => (ILogger?)logger ?? NullLogger.Instance;

    private readonly BomTriggerOptions _options = options.Value;

    public async Task<DispatchReport> DispatchAsync(BomTriggerEvent triggerEvent, DispatchOptions? dispatchOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(triggerEvent);
        dispatchOptions ??= new DispatchOptions();
        var correlationId = Guid.CreateVersion7(timeProvider.GetUtcNow());
        using var activity = BomTriggerDiagnostics.ActivitySource.StartActivity("dermag.bom_triggers.dispatch");
        activity?.SetTag("dermag.bom_triggers.event", triggerEvent.EventType);
        activity?.SetTag("dermag.bom_triggers.task_id", triggerEvent.TaskId);
        activity?.SetTag("dermag.correlation_id", correlationId);

        var snapshot = await snapshots.GetAsync(cancellationToken).ConfigureAwait(false);
        var outcomes = new List<TriggerOutcome>();
        var logs = new List<NewTriggerLog>();
        var ranForTask = new HashSet<(int TriggerId, int TaskId)>();
        var queue = new Queue<(BomTriggerEvent Event, int Depth)>();
        queue.Enqueue((Readable(triggerEvent), 0));
        var notConsidered = 0;

        // Actions get one DI scope per dispatch, created when the first action runs. An action abandoned after its
        // timeout and grace keeps the scope (and its timeout source) alive until it finishes.
        AsyncServiceScope? scope = null;
        ActionTimeoutSource? timeouts = null;
        List<Task>? abandoned = null;
        try
        {
            while (queue.TryDequeue(out var item))
            {
                var (current, depth) = item;
                var input = new EvaluationInput(current.Data, current.PreviousValues, current.TaskId, current.TaskTypeId);
                JsonElement? loggedInput = null;
                var loggedInputReady = false;
                var candidates = snapshot.Candidates(current.EventType, input, dispatchOptions.Explain, out var skipped);
                foreach (var candidate in candidates)
                {
                    // Skips, false conditions and loops are decided synchronously; only executions pay for async.
                    var outcome = Precheck(candidate, current, input, depth, correlationId, ranForTask);
                    JsonElement? loggedResult = null;
                    if (outcome is null)
                    {
                        scope ??= scopes.CreateAsyncScope();
                        timeouts ??= new ActionTimeoutSource(timeProvider);
                        (outcome, loggedResult) = await ExecuteAsync(candidate, current, depth, correlationId, scope.Value.ServiceProvider, dispatchOptions, queue, timeouts, abandoned ??= [], cancellationToken).ConfigureAwait(false);
                    }

                    outcomes.Add(outcome);
                    if (metrics.Outcomes.Enabled)
                    {
                        metrics.Outcomes.Add(1, new KeyValuePair<string, object?>("outcome", outcome.Kind.ToString()), new KeyValuePair<string, object?>("action", outcome.ActionType));
                    }

                    if (outcome.Kind is TriggerOutcomeKind.Executed or TriggerOutcomeKind.Failed or TriggerOutcomeKind.SuppressedLoop)
                    {
                        // What the stores log is sanitized here, once per event, so every store logs the same and none refuses a row.
                        if (!loggedInputReady)
                        {
                            loggedInput = JsonSanitizer.ForLog(current.Data.ValueKind == JsonValueKind.Undefined ? null : current.Data);
                            loggedInputReady = true;
                        }

                        logs.Add(new NewTriggerLog(
                            outcome.TriggerId,
                            current.TaskId,
                            timeProvider.GetUtcNow(),
                            outcome.Kind == TriggerOutcomeKind.Executed,
                            loggedInput,
                            loggedResult,
                            JsonSanitizer.ForLog(outcome.Error),
                            outcome.Kind.ToString(),
                            outcome.Duration.TotalMilliseconds,
                            correlationId,
                            depth));
                    }
                }

                notConsidered += skipped;
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
                timeouts?.Dispose();
                if (scope is { } created)
                {
                    await created.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        var logWriteError = await WriteLogsAsync(logs, correlationId, dispatchOptions, cancellationToken).ConfigureAwait(false);
        var report = new DispatchReport(correlationId, outcomes) { NotConsidered = notConsidered, LogWriteError = logWriteError };
        metrics.Dispatches.Add(1, new KeyValuePair<string, object?>("event", triggerEvent.EventType));
        if (report.HasFailures && (dispatchOptions.Strict ?? _options.StrictMode))
        {
            var first = report.OfKind(TriggerOutcomeKind.Failed).First();
            throw new BomTriggerException($"Trigger {first.TriggerId} ('{first.TriggerName}') failed in strict mode: {first.Error}") { Report = report };
        }

        return report;
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
        return Explain(trigger.TriggerEvent, compiled.Condition, compiled.Errors, trigger.IsActive, trigger.SourceTaskTypeId, trigger.ActionType, trigger.ActionConfig, request);
    }

    public Task<TriggerTestResult> TestAsync(BomTriggerDefinition definition, TriggerTestRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(request);
        var errors = validator.Validate(definition, out var condition);
        return Task.FromResult(Explain(
            definition.TriggerEvent, condition, errors, definition.IsActive, definition.SourceTaskTypeId, definition.ActionType,
            definition.ActionConfig ?? TriggerValidator.EmptyObject, request));
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

    private static TriggerOutcome NewOutcome(BomTrigger trigger, BomTriggerEvent current, int depth, TriggerOutcomeKind kind) => new()
    {
        TriggerId = trigger.Id,
        TriggerName = trigger.Name,
        ActionType = trigger.ActionType,
        EventType = current.EventType,
        TaskId = current.TaskId,
        Depth = depth,
        Kind = kind,
    };

    /// <summary>The outcome of a candidate that will not execute, or null when its action should run.</summary>
    private TriggerOutcome? Precheck(
        CompiledTrigger candidate,
        BomTriggerEvent current,
        EvaluationInput input,
        int depth,
        Guid correlationId,
        HashSet<(int, int)> ranForTask)
    {
        var trigger = candidate.Trigger;
        if (trigger.SourceTaskTypeId is { } sourceType && sourceType != current.TaskTypeId)
        {
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.SkippedTaskType);
        }

        if (candidate.Condition is null)
        {
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.Failed) with { Error = "The stored trigger is invalid: " + string.Join("; ", candidate.Errors) };
        }

        if (!candidate.Condition.Matches(input))
        {
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.ConditionFalse) with { FailedClause = candidate.Condition.FirstFailure(input) };
        }

        if (depth > _options.MaxChainDepth)
        {
            Log.LoopSuppressed(Logger, trigger.Id, current.TaskId, depth, correlationId);
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.SuppressedLoop) with { Error = $"The chain is {depth} events deep, beyond MaxChainDepth ({_options.MaxChainDepth})." };
        }

        if (!ranForTask.Add((trigger.Id, current.TaskId)))
        {
            Log.LoopSuppressed(Logger, trigger.Id, current.TaskId, depth, correlationId);
            return NewOutcome(trigger, current, depth, TriggerOutcomeKind.SuppressedLoop) with { Error = $"Trigger {trigger.Id} already ran for task {current.TaskId} in this chain." };
        }

        return null;
    }

    /// <summary>Runs the candidate's action; returns its outcome and its result as the log stores it.</summary>
    private async Task<(TriggerOutcome Outcome, JsonElement? LoggedResult)> ExecuteAsync(
        CompiledTrigger candidate,
        BomTriggerEvent current,
        int depth,
        Guid correlationId,
        IServiceProvider services,
        DispatchOptions dispatchOptions,
        Queue<(BomTriggerEvent, int)> queue,
        ActionTimeoutSource timeouts,
        List<Task> abandoned,
        CancellationToken cancellationToken)
    {
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

            var context = new ActionContext(trigger, current, correlationId, depth, dispatchOptions.Enlistment, services);

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
            metrics.ActionDuration.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("action", trigger.ActionType));

            // Read what the action returned while a failure is still the action's: a result or caused event whose
            // document the action disposed fails the action, not the dispatch.
            var loggedResult = JsonSanitizer.ForLog(result.Data);
            var caused = result.CausedEvents.Count == 0 ? [] : result.CausedEvents.Select(Readable).ToArray();
            foreach (var next in caused)
            {
                queue.Enqueue((next, depth + 1));
            }

            Log.TriggerExecuted(Logger, trigger.Id, trigger.ActionType, current.TaskId, elapsed.TotalMilliseconds);
            return (NewOutcome(trigger, current, depth, TriggerOutcomeKind.Executed) with { Result = result.Data, Duration = elapsed }, loggedResult);
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
        return NewOutcome(trigger, current, depth, TriggerOutcomeKind.Failed) with { Error = error, Duration = elapsed };
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
    private async Task<string?> WriteLogsAsync(List<NewTriggerLog> logs, Guid correlationId, DispatchOptions dispatchOptions, CancellationToken cancellationToken)
    {
        if (logs.Count == 0)
        {
            return null;
        }

        try
        {
            await repository.WriteLogsAsync(logs, dispatchOptions.Enlistment?.Transaction, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            Log.LogWriteFailed(Logger, ex, logs.Count, correlationId);
            metrics.LogWriteFailures.Add(logs.Count);

            // In the caller's transaction the failure aborted it, so it propagates; otherwise logging must never break the
            // caller's task operation, and the report says what was lost.
            if (dispatchOptions.Enlistment?.Transaction is not null || (dispatchOptions.Strict ?? _options.StrictMode))
            {
                throw;
            }

            return $"{logs.Count} log row(s) could not be written: {ex.GetType().Name}: {ex.Message}";
        }
    }
}
