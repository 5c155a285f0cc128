
namespace Dermag.BomTriggers;

/// <summary>
/// Trigger definitions and their logs: the operations of the original REST API. Saves validate the whole definition
/// first; an invalid trigger is never stored. Every change is visible to the engine before the call returns.
/// </summary>
public interface IBomTriggerManager
{
    /// <summary>Validates and stores a new trigger.</summary>
    Task<TriggerSaveResult> CreateAsync(BomTriggerDefinition definition, CancellationToken cancellationToken = default);

    /// <summary>Validates and replaces trigger <paramref name="id"/>; <see cref="TriggerSaveResult.NotFound"/> when it does not exist.</summary>
    Task<TriggerSaveResult> UpdateAsync(int id, BomTriggerDefinition definition, CancellationToken cancellationToken = default);

    /// <summary>Deletes a trigger and its logs; false when it did not exist.</summary>
    Task<bool> DeleteAsync(int id, CancellationToken cancellationToken = default);

    /// <summary>One trigger, or null.</summary>
    Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken = default);

    /// <summary>Triggers ordered by priority (higher first), then id, optionally filtered.</summary>
    Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery? query = null, CancellationToken cancellationToken = default);

    /// <summary>Flips <see cref="BomTrigger.IsActive"/>; null when the trigger does not exist.</summary>
    Task<BomTrigger?> ToggleAsync(int id, CancellationToken cancellationToken = default);

    /// <summary>Checks a definition without storing it.</summary>
    IReadOnlyList<TriggerValidationError> Validate(BomTriggerDefinition definition);

    /// <summary>One page of a trigger's logs, newest first. <paramref name="limit"/> is clamped to 1..1000.</summary>
    Task<BomTriggerLogPage> GetLogsAsync(int triggerId, int limit = 50, int offset = 0, CancellationToken cancellationToken = default);

    /// <summary>The most recent failed or suppressed runs across all triggers, newest first.</summary>
    Task<IReadOnlyList<BomTriggerLog>> GetRecentFailuresAsync(int limit = 20, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes execution logs older than <see cref="BomTriggerOptions.LogRetention"/> (on the injected clock) in batches of
    /// <see cref="BomTriggerOptions.CleanupBatchSize"/>; safe with several instances. <c>AddPeriodicCleanup()</c> runs it
    /// every <see cref="BomTriggerOptions.CleanupInterval"/>.
    /// </summary>
    /// <returns>How many log rows were deleted.</returns>
    Task<int> CleanupAsync(CancellationToken cancellationToken = default);

    /// <summary>The event types with the typed fields conditions may test.</summary>
    IReadOnlyList<BomEventDescriptor> ListEvents();

    /// <summary>The registered action types with their configuration fields.</summary>
    IReadOnlyList<BomActionDescriptor> ListActions();
}
