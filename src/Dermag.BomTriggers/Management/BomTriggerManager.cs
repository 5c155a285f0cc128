using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dermag.BomTriggers;

internal sealed class BomTriggerManager(
    IBomTriggerStore repository,
    TriggerValidator validator,
    TriggerSnapshotProvider snapshots,
    TimeProvider timeProvider,
    Microsoft.Extensions.Options.IOptions<BomTriggerOptions> options,
    IBomTriggerJobStore jobStore,
    ILogger<BomTriggerManager>? logger = null) : IBomTriggerManager
{
    private ILogger Logger => (ILogger?)logger ?? NullLogger.Instance;

    public async Task<TriggerSaveResult> CreateAsync(BomTriggerDefinition definition, int? changedBy = null, CancellationToken cancellationToken = default)
    {
        var errors = validator.Validate(definition, out _);
        if (errors.Count > 0)
        {
            return TriggerSaveResult.Invalid(errors);
        }

        var now = timeProvider.GetUtcNow();
        var stored = Normalize(definition) with { CreatedBy = definition.CreatedBy ?? changedBy };
        var trigger = await repository.InsertAsync(stored, Guid.CreateVersion7(now), changedBy ?? definition.CreatedBy, now, cancellationToken).ConfigureAwait(false);
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return new TriggerSaveResult { Trigger = trigger };
    }

    public async Task<TriggerSaveResult> UpdateAsync(int id, BomTriggerDefinition definition, int? changedBy = null, CancellationToken cancellationToken = default)
    {
        var errors = validator.Validate(definition, out _);
        if (errors.Count > 0)
        {
            return TriggerSaveResult.Invalid(errors);
        }

        var trigger = await repository.UpdateAsync(id, Normalize(definition), changedBy, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (trigger is null)
        {
            return TriggerNotFound($"trigger {id} does not exist or is deleted");
        }

        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return new TriggerSaveResult { Trigger = trigger };
    }

    public async Task<bool> DeleteAsync(int id, int? changedBy = null, CancellationToken cancellationToken = default)
    {
        var deleted = await repository.DeleteAsync(id, changedBy, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (deleted)
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        return deleted;
    }

    public Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken = default) => repository.GetAsync(id, cancellationToken);

    public Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery? query = null, CancellationToken cancellationToken = default) =>
        repository.ListAsync(query ?? new BomTriggerQuery(), cancellationToken);

    public async Task<BomTrigger?> ToggleAsync(int id, int? changedBy = null, CancellationToken cancellationToken = default)
    {
        var trigger = await repository.ToggleAsync(id, changedBy, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (trigger is not null)
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        return trigger;
    }

    public Task<BomTriggerHistoryPage> GetHistoryAsync(int triggerId, int limit = 50, int offset = 0, CancellationToken cancellationToken = default) =>
        repository.GetHistoryAsync(triggerId, Math.Clamp(limit, 1, 1000), Math.Max(0, offset), cancellationToken);

    public async Task<TriggerSaveResult> RestoreAsync(int triggerId, int version, int? changedBy = null, CancellationToken cancellationToken = default)
    {
        // History rows never change, so the definition read here is still version's when it is written back; what the
        // trigger holds in between does not matter, and the store records it as the previous definition under the row lock.
        var restored = await repository.GetVersionAsync(triggerId, version, cancellationToken).ConfigureAwait(false);
        if (restored is null)
        {
            var latest = await repository.GetHistoryAsync(triggerId, 1, 0, cancellationToken).ConfigureAwait(false);
            return latest.Items.Count == 0
                ? TriggerNotFound($"trigger {triggerId} does not exist")
                : new TriggerSaveResult
                {
                    NotFound = true,
                    Errors = [new TriggerValidationError("/version", $"trigger {triggerId} has no version {version}; its versions are 1 to {latest.Items[0].Version}")],
                };
        }

        // Validated against today's events, fields and actions: a version saved under an older catalog may no longer be valid.
        var errors = validator.Validate(restored.Definition, out _);
        if (errors.Count > 0)
        {
            return TriggerSaveResult.Invalid(errors);
        }

        var trigger = await repository.RestoreAsync(triggerId, version, Normalize(restored.Definition), changedBy, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (trigger is null)
        {
            // Only a DELETE by hand removes a trigger row; the library's deletes are soft.
            return TriggerNotFound($"trigger {triggerId} does not exist");
        }

        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return new TriggerSaveResult { Trigger = trigger };
    }

    public IReadOnlyList<TriggerValidationError> Validate(BomTriggerDefinition definition) => validator.Validate(definition, out _);

    public Task<BomTriggerLogPage> GetLogsAsync(int triggerId, int limit = 50, int offset = 0, CancellationToken cancellationToken = default) =>
        QueryLogsAsync(new BomTriggerLogQuery { TriggerId = triggerId, Limit = limit, Offset = offset }, cancellationToken);

    public Task<BomTriggerLogPage> QueryLogsAsync(BomTriggerLogQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return repository.QueryLogsAsync(query.Normalized(), cancellationToken);
    }

    public Task<IReadOnlyList<BomTriggerRunSummary>> GetRunSummariesAsync(IReadOnlyCollection<int> triggerIds, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(triggerIds);
        int[] ids = [.. triggerIds.Distinct()];
        if (ids.Length > 1000)
        {
            throw new ArgumentException($"At most 1000 trigger ids per call; {ids.Length} were given.", nameof(triggerIds));
        }

        return ids.Length == 0 ? Task.FromResult<IReadOnlyList<BomTriggerRunSummary>>([]) : repository.GetRunSummariesAsync(ids, since, cancellationToken);
    }

    public Task<IReadOnlyList<BomTriggerLog>> GetRecentFailuresAsync(int limit = 20, CancellationToken cancellationToken = default) =>
        repository.GetRecentFailuresAsync(Math.Clamp(limit, 1, 1000), cancellationToken);

    public async Task<int> CleanupAsync(CancellationToken cancellationToken = default)
    {
        using var activity = BomTriggerDiagnostics.ActivitySource.StartActivity("dermag.bom_triggers.cleanup");
        var engineOptions = options.Value;
        var before = timeProvider.GetUtcNow() - engineOptions.LogRetention;
        var total = 0;
        int deleted;
        do
        {
            deleted = await repository.DeleteLogsAsync(before, engineOptions.CleanupBatchSize, cancellationToken).ConfigureAwait(false);
            total += deleted;
        }
        while (deleted >= engineOptions.CleanupBatchSize);

        Log.LogsCleanedUp(Logger, total, before);

        // The event counts behind BomTriggerRunSummary.ConditionFalse are kept as long as the logs they are compared with.
        await repository.DeleteEventCountsAsync(before, cancellationToken).ConfigureAwait(false);

        // Finished jobs (succeeded, skipped, discarded) go after FinishedJobRetention; dead ones wait for an operator.
        var jobsBefore = timeProvider.GetUtcNow() - engineOptions.FinishedJobRetention;
        var jobs = 0;
        do
        {
            deleted = await jobStore.DeleteFinishedJobsAsync(jobsBefore, engineOptions.CleanupBatchSize, cancellationToken).ConfigureAwait(false);
            jobs += deleted;
        }
        while (deleted >= engineOptions.CleanupBatchSize);

        Log.JobsCleanedUp(Logger, jobs, jobsBefore);
        return total;
    }

    public IReadOnlyList<BomEventDescriptor> ListEvents() => validator.Catalog.Events;

    public IReadOnlyList<BomConditionOperator> ListOperators() => Operators;

    private static readonly BomConditionOperator[] Operators =
        [.. ConditionOperators.All.Values.OrderBy(o => o.Name, StringComparer.Ordinal).Select(o => new BomConditionOperator { Name = o.Name, Meaning = o.Meaning, AppliesTo = o.AppliesTo, ComparesPrevious = o.ComparesPrevious })];

    public IReadOnlyList<BomActionDescriptor> ListActions() => [.. validator.Actions.All.Select(r => r.Descriptor)];

    /// <summary>Inserts the original's three example triggers unless they exist; returns how many were inserted.</summary>
    internal async Task<int> SeedExampleTriggersAsync(CancellationToken cancellationToken)
    {
        var inserted = 0;
        foreach (var (uuid, definition) in ExampleTriggers.All)
        {
            if (await repository.InsertIfAbsentAsync(definition, uuid, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false))
            {
                inserted++;
            }
        }

        Log.ExampleTriggersSeeded(Logger, inserted);
        if (inserted > 0)
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        return inserted;
    }

    private static TriggerSaveResult TriggerNotFound(string message) =>
        new() { NotFound = true, Errors = [new TriggerValidationError("/id", message)] };

    private static BomTriggerDefinition Normalize(BomTriggerDefinition definition) => definition with
    {
        TriggerCondition = definition.TriggerCondition is { ValueKind: System.Text.Json.JsonValueKind.Object } c ? c : TriggerValidator.EmptyObject,
        ActionConfig = definition.ActionConfig is { ValueKind: System.Text.Json.JsonValueKind.Object } a ? a : TriggerValidator.EmptyObject,
        Execution = definition.Execution ?? BomTriggerExecution.Default,
    };

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            await snapshots.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // The change is stored; the periodic refresh will pick it up.
            Log.SnapshotRefreshFailed(Logger, ex);
        }
    }
}
