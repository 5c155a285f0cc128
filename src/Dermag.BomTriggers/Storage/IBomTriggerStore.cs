using System.Data.Common;
using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>A log row the engine writes.</summary>
internal sealed record NewTriggerLog(
    int TriggerId,
    int? TaskId,
    DateTimeOffset ExecutedAt,
    bool Success,
    JsonElement? Input,
    JsonElement? Result,
    string? Error,
    string Outcome,
    double DurationMs,
    Guid CorrelationId,
    int Depth,
    long? JobId = null,
    int? Attempt = null,
    int? CausedByTriggerId = null);

/// <summary>
/// Raw persistence behind <see cref="IBomTriggerManager"/>; definitions arrive already validated. Every change writes the
/// trigger row and its history row atomically, serialized per trigger so versions are gapless; deletes are soft, and
/// deleted triggers are invisible to <see cref="GetAsync"/> and <see cref="ListAsync"/> (unless the query asks for them)
/// and to the changes below, except <see cref="RestoreAsync"/>.
/// </summary>
internal interface IBomTriggerStore
{
    /// <summary>Inserts version 1 with a 'created' history row by <paramref name="changedBy"/>.</summary>
    Task<BomTrigger> InsertAsync(BomTriggerDefinition definition, Guid uuid, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts (with a 'created' history row by <see cref="BomTriggerDefinition.CreatedBy"/>) unless a trigger with the uuid
    /// exists, deleted or not; returns whether it inserted.
    /// </summary>
    Task<bool> InsertIfAbsentAsync(BomTriggerDefinition definition, Guid uuid, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Replaces a live trigger's definition (uuid and creator stay); null when there is none.</summary>
    Task<BomTrigger?> UpdateAsync(int id, BomTriggerDefinition definition, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Marks a live trigger deleted; false when there is none.</summary>
    Task<bool> DeleteAsync(int id, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>A live trigger, or null.</summary>
    Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken);

    Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery query, CancellationToken cancellationToken);

    /// <summary>Flips a live trigger's <see cref="BomTrigger.IsActive"/>; null when there is none.</summary>
    Task<BomTrigger?> ToggleAsync(int id, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="definition"/> (that of version <paramref name="restoredFrom"/>) to the trigger, live or deleted,
    /// undeleting it, with a 'restored' history row; null when no trigger has the id.
    /// </summary>
    Task<BomTrigger?> RestoreAsync(int id, int restoredFrom, BomTriggerDefinition definition, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>One version of a trigger, live or deleted, or null.</summary>
    Task<BomTriggerVersion?> GetVersionAsync(int triggerId, int version, CancellationToken cancellationToken);

    /// <summary>A page of a trigger's history, newest version first.</summary>
    Task<BomTriggerHistoryPage> GetHistoryAsync(int triggerId, int limit, int offset, CancellationToken cancellationToken);

    /// <summary>Writes every row in one round trip, in the caller's transaction when given.</summary>
    Task WriteLogsAsync(IReadOnlyList<NewTriggerLog> logs, DbTransaction? transaction, CancellationToken cancellationToken);

    /// <summary>One page of the logs matching a normalized query, newest first, with the total count.</summary>
    Task<BomTriggerLogPage> QueryLogsAsync(BomTriggerLogQuery query, CancellationToken cancellationToken);

    Task<IReadOnlyList<BomTriggerLog>> GetRecentFailuresAsync(int limit, CancellationToken cancellationToken);

    /// <summary>One summary per id (distinct, at most 1000), in the given order.</summary>
    Task<IReadOnlyList<BomTriggerRunSummary>> GetRunSummariesAsync(int[] triggerIds, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Adds each count to its (event type, minute) row, creating the row when missing; several instances add up.</summary>
    Task AddEventCountsAsync(IReadOnlyList<EventCount> counts, CancellationToken cancellationToken);

    /// <summary>Deletes the event counts of minutes that started before <paramref name="before"/>; returns how many.</summary>
    Task<int> DeleteEventCountsAsync(DateTimeOffset before, CancellationToken cancellationToken);

    /// <summary>Deletes at most <paramref name="batchSize"/> logs executed before <paramref name="before"/>; returns how many.</summary>
    Task<int> DeleteLogsAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken);

    /// <summary>A number that changes whenever any trigger changes, in any app instance.</summary>
    Task<long> GetRevisionAsync(CancellationToken cancellationToken);
}
