using System.Data.Common;
using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>A log row the engine writes.</summary>
internal sealed record NewTriggerLog(
    int TriggerId,
    int TaskId,
    DateTimeOffset ExecutedAt,
    bool Success,
    JsonElement? Input,
    JsonElement? Result,
    string? Error,
    string Outcome,
    double DurationMs,
    Guid CorrelationId,
    int Depth);

/// <summary>Raw persistence behind <see cref="IBomTriggerManager"/>; definitions arrive already validated.</summary>
internal interface IBomTriggerStore
{
    Task<BomTrigger> InsertAsync(BomTriggerDefinition definition, Guid uuid, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Inserts unless a trigger with the uuid exists; returns whether it inserted.</summary>
    Task<bool> InsertIfAbsentAsync(BomTriggerDefinition definition, Guid uuid, DateTimeOffset now, CancellationToken cancellationToken);

    Task<BomTrigger?> UpdateAsync(int id, BomTriggerDefinition definition, DateTimeOffset now, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(int id, CancellationToken cancellationToken);

    Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken);

    Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery query, CancellationToken cancellationToken);

    Task<BomTrigger?> ToggleAsync(int id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Writes every row in one round trip, in the caller's transaction when given.</summary>
    Task WriteLogsAsync(IReadOnlyList<NewTriggerLog> logs, DbTransaction? transaction, CancellationToken cancellationToken);

    Task<BomTriggerLogPage> GetLogsAsync(int triggerId, int limit, int offset, CancellationToken cancellationToken);

    Task<IReadOnlyList<BomTriggerLog>> GetRecentFailuresAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Deletes at most <paramref name="batchSize"/> logs executed before <paramref name="before"/>; returns how many.</summary>
    Task<int> DeleteLogsAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken);

    /// <summary>A number that changes whenever any trigger changes, in any app instance.</summary>
    Task<long> GetRevisionAsync(CancellationToken cancellationToken);
}
