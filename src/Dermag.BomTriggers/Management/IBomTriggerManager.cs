
namespace Dermag.BomTriggers;

/// <summary>
/// Trigger definitions and their logs: the operations of the original REST API. Saves validate the whole definition
/// first; an invalid trigger is never stored. Every change is visible to the engine before the call returns.
/// </summary>
/// <remarks>
/// Every change (create, update, toggle, delete, restore) adds a version to the trigger's history, in the same
/// transaction, with the author passed as <c>changedBy</c> (the id of the user making the change; <see langword="null"/>
/// records no author), the time from the <see cref="TimeProvider"/>, and the definition after and before the change
/// (<see cref="GetHistoryAsync"/>). Deletes are soft: logs and history stay and <see cref="RestoreAsync"/> brings a deleted
/// trigger back. Changes to one trigger are serialized, so its versions are gapless even across app instances.
/// The overloads without <c>changedBy</c> record no author (a create records <see cref="BomTriggerDefinition.CreatedBy"/>).
/// </remarks>
public interface IBomTriggerManager
{
    /// <summary>Validates and stores a new trigger, recorded as version 1 (<see cref="BomTriggerChange.Created"/>).</summary>
    /// <param name="definition">The trigger to store.</param>
    /// <param name="changedBy">
    /// The id of the user creating it, recorded in the history; when <see langword="null"/>, <see cref="BomTriggerDefinition.CreatedBy"/>
    /// is recorded. It also fills <see cref="BomTrigger.CreatedBy"/> when the definition leaves that out.
    /// </param>
    /// <param name="cancellationToken">Cancels the save.</param>
    Task<TriggerSaveResult> CreateAsync(BomTriggerDefinition definition, int? changedBy = null, CancellationToken cancellationToken = default);

    /// <summary>Validates and stores a new trigger without naming an author (see <see cref="CreateAsync(BomTriggerDefinition, int?, CancellationToken)"/>).</summary>
    Task<TriggerSaveResult> CreateAsync(BomTriggerDefinition definition, CancellationToken cancellationToken) =>
        CreateAsync(definition, null, cancellationToken);

    /// <summary>
    /// Validates and replaces trigger <paramref name="id"/>, recording a <see cref="BomTriggerChange.Updated"/> version;
    /// <see cref="TriggerSaveResult.NotFound"/> when it does not exist or is deleted.
    /// </summary>
    /// <param name="id">The trigger.</param>
    /// <param name="definition">The new definition; <see cref="BomTriggerDefinition.CreatedBy"/> is ignored (the creator stays).</param>
    /// <param name="changedBy">The id of the user making the change, recorded in the history.</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    Task<TriggerSaveResult> UpdateAsync(int id, BomTriggerDefinition definition, int? changedBy = null, CancellationToken cancellationToken = default);

    /// <summary>Validates and replaces a trigger without naming an author (see <see cref="UpdateAsync(int, BomTriggerDefinition, int?, CancellationToken)"/>).</summary>
    Task<TriggerSaveResult> UpdateAsync(int id, BomTriggerDefinition definition, CancellationToken cancellationToken) =>
        UpdateAsync(id, definition, null, cancellationToken);

    /// <summary>
    /// Deletes a trigger, softly: it stops running and is left out of <see cref="GetAsync"/> and <see cref="ListAsync"/>, while
    /// its logs and history stay and <see cref="RestoreAsync"/> can bring it back. Records a <see cref="BomTriggerChange.Deleted"/>
    /// version; false when the trigger does not exist or is already deleted.
    /// </summary>
    /// <param name="id">The trigger.</param>
    /// <param name="changedBy">The id of the user deleting it, recorded in the history and as <see cref="BomTrigger.DeletedBy"/>.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    Task<bool> DeleteAsync(int id, int? changedBy = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes a trigger (softly) without naming an author (see <see cref="DeleteAsync(int, int?, CancellationToken)"/>).</summary>
    Task<bool> DeleteAsync(int id, CancellationToken cancellationToken) => DeleteAsync(id, null, cancellationToken);

    /// <summary>One trigger; null when it does not exist or is deleted.</summary>
    Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken = default);

    /// <summary>Triggers ordered by priority (higher first), then id, optionally filtered; deleted ones only with <see cref="BomTriggerQuery.Deleted"/>.</summary>
    Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery? query = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Flips <see cref="BomTrigger.IsActive"/>, recording a <see cref="BomTriggerChange.Toggled"/> version; null when the
    /// trigger does not exist or is deleted.
    /// </summary>
    /// <param name="id">The trigger.</param>
    /// <param name="changedBy">The id of the user making the change, recorded in the history.</param>
    /// <param name="cancellationToken">Cancels the change.</param>
    Task<BomTrigger?> ToggleAsync(int id, int? changedBy = null, CancellationToken cancellationToken = default);

    /// <summary>Flips <see cref="BomTrigger.IsActive"/> without naming an author (see <see cref="ToggleAsync(int, int?, CancellationToken)"/>).</summary>
    Task<BomTrigger?> ToggleAsync(int id, CancellationToken cancellationToken) => ToggleAsync(id, null, cancellationToken);

    /// <summary>
    /// One page of a trigger's history, newest version first; deleted triggers have theirs too. <paramref name="limit"/> is
    /// clamped to 1..1000. The page is empty with <see cref="BomTriggerHistoryPage.Total"/> 0 when the library never stored
    /// a trigger with that id.
    /// </summary>
    Task<BomTriggerHistoryPage> GetHistoryAsync(int triggerId, int limit = 50, int offset = 0, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the definition of <paramref name="version"/> back as a new <see cref="BomTriggerChange.Restored"/> version,
    /// undeleting the trigger if it was deleted. The old definition is validated against today's events and actions first,
    /// as <see cref="CreateAsync(BomTriggerDefinition, int?, CancellationToken)"/> does: when it is no longer valid, the result lists
    /// every problem and nothing changes. <see cref="TriggerSaveResult.NotFound"/> when the trigger or the version does not exist.
    /// </summary>
    /// <param name="triggerId">The trigger, live or deleted.</param>
    /// <param name="version">The version to restore, from <see cref="GetHistoryAsync"/>.</param>
    /// <param name="changedBy">The id of the user restoring it, recorded in the history.</param>
    /// <param name="cancellationToken">Cancels the restore.</param>
    Task<TriggerSaveResult> RestoreAsync(int triggerId, int version, int? changedBy = null, CancellationToken cancellationToken = default);

    /// <summary>Checks a definition without storing it.</summary>
    IReadOnlyList<TriggerValidationError> Validate(BomTriggerDefinition definition);

    /// <summary>One page of a trigger's logs, newest first; a deleted trigger's logs stay. <paramref name="limit"/> is clamped to 1..1000.</summary>
    Task<BomTriggerLogPage> GetLogsAsync(int triggerId, int limit = 50, int offset = 0, CancellationToken cancellationToken = default);

    /// <summary>One page of the execution logs matching <paramref name="query"/> (by trigger, task, chain, outcome, time), newest first.</summary>
    Task<BomTriggerLogPage> QueryLogsAsync(BomTriggerLogQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// The last run and the run counts since <paramref name="since"/> of each trigger in <paramref name="triggerIds"/>, in
    /// that order, one summary per distinct id (zeros and no last run for a trigger without logs). One query per call, served
    /// from an index on (trigger id, time), so a page of a thousand triggers is cheap at millions of log rows.
    /// </summary>
    /// <param name="triggerIds">At most 1000 trigger ids, live or deleted.</param>
    /// <param name="since">The start of the window the counts cover (inclusive), for example 24 hours ago.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <exception cref="ArgumentException">More than 1000 ids.</exception>
    Task<IReadOnlyList<BomTriggerRunSummary>> GetRunSummariesAsync(IReadOnlyCollection<int> triggerIds, DateTimeOffset since, CancellationToken cancellationToken = default);

    /// <summary>The most recent failed or suppressed runs across all triggers, newest first.</summary>
    Task<IReadOnlyList<BomTriggerLog>> GetRecentFailuresAsync(int limit = 20, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes execution logs older than <see cref="BomTriggerOptions.LogRetention"/> (on the injected clock) and finished
    /// jobs older than <see cref="BomTriggerOptions.FinishedJobRetention"/>, in batches of
    /// <see cref="BomTriggerOptions.CleanupBatchSize"/>; safe with several instances. <c>AddPeriodicCleanup()</c> runs it
    /// every <see cref="BomTriggerOptions.CleanupInterval"/>.
    /// </summary>
    /// <returns>How many log rows were deleted.</returns>
    Task<int> CleanupAsync(CancellationToken cancellationToken = default);

    /// <summary>The event types with the typed fields conditions may test.</summary>
    IReadOnlyList<BomEventDescriptor> ListEvents();

    /// <summary>
    /// The field operators of the condition language with the field types each is valid for, in a fixed order; the parser
    /// checks conditions against the same table, so an editor offering only these never produces a type error.
    /// </summary>
    IReadOnlyList<BomConditionOperator> ListOperators();

    /// <summary>The registered action types with their configuration fields.</summary>
    IReadOnlyList<BomActionDescriptor> ListActions();
}
