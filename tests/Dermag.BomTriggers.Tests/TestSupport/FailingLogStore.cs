using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers.Tests.TestSupport;

/// <summary>
/// Wraps the configured store and fails the next log write while <see cref="FailLogWrites"/> is set, so engine tests can
/// see what a dispatch does when its log rows cannot be written (deletes are soft, so no trigger change can cause that).
/// </summary>
internal sealed class FailingLogStore(IBomTriggerStore inner) : IBomTriggerStore
{
    public volatile bool FailLogWrites;

    /// <summary>Replaces the store the builder registered with a wrapper around it; call after <c>UseInMemoryStore</c>/<c>UsePostgres</c>.</summary>
    public static void Install(BomTriggersBuilder builder)
    {
        var registered = builder.Services.Single(d => d.ServiceType == typeof(IBomTriggerStore));
        builder.Services.Remove(registered);
        builder.Services.AddSingleton(sp => new FailingLogStore((IBomTriggerStore)(registered.ImplementationFactory?.Invoke(sp)
            ?? ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!))));
        builder.Services.AddSingleton<IBomTriggerStore>(sp => sp.GetRequiredService<FailingLogStore>());
    }

    public Task WriteLogsAsync(IReadOnlyList<NewTriggerLog> logs, DbTransaction? transaction, CancellationToken cancellationToken) =>
        FailLogWrites
            ? throw new InvalidOperationException("The log table cannot be written (simulated).")
            : inner.WriteLogsAsync(logs, transaction, cancellationToken);

    public Task<IReadOnlyList<BomTriggerRunSummary>> GetRunSummariesAsync(int[] triggerIds, DateTimeOffset since, CancellationToken cancellationToken) =>
        inner.GetRunSummariesAsync(triggerIds, since, cancellationToken);

    public Task<BomTrigger> InsertAsync(BomTriggerDefinition definition, Guid uuid, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.InsertAsync(definition, uuid, changedBy, now, cancellationToken);

    public Task<bool> InsertIfAbsentAsync(BomTriggerDefinition definition, Guid uuid, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.InsertIfAbsentAsync(definition, uuid, now, cancellationToken);

    public Task<BomTrigger?> UpdateAsync(int id, BomTriggerDefinition definition, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.UpdateAsync(id, definition, changedBy, now, cancellationToken);

    public Task<bool> DeleteAsync(int id, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.DeleteAsync(id, changedBy, now, cancellationToken);

    public Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

    public Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery query, CancellationToken cancellationToken) => inner.ListAsync(query, cancellationToken);

    public Task<BomTrigger?> ToggleAsync(int id, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.ToggleAsync(id, changedBy, now, cancellationToken);

    public Task<BomTrigger?> RestoreAsync(int id, int restoredFrom, BomTriggerDefinition definition, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.RestoreAsync(id, restoredFrom, definition, changedBy, now, cancellationToken);

    public Task<BomTriggerVersion?> GetVersionAsync(int triggerId, int version, CancellationToken cancellationToken) =>
        inner.GetVersionAsync(triggerId, version, cancellationToken);

    public Task<BomTriggerHistoryPage> GetHistoryAsync(int triggerId, int limit, int offset, CancellationToken cancellationToken) =>
        inner.GetHistoryAsync(triggerId, limit, offset, cancellationToken);

    public Task<BomTriggerLogPage> QueryLogsAsync(BomTriggerLogQuery query, CancellationToken cancellationToken) =>
        inner.QueryLogsAsync(query, cancellationToken);

    public Task<IReadOnlyList<BomTriggerLog>> GetRecentFailuresAsync(int limit, CancellationToken cancellationToken) =>
        inner.GetRecentFailuresAsync(limit, cancellationToken);

    public Task AddEventCountsAsync(IReadOnlyList<EventCount> counts, CancellationToken cancellationToken) => inner.AddEventCountsAsync(counts, cancellationToken);

    public Task<int> DeleteEventCountsAsync(DateTimeOffset before, CancellationToken cancellationToken) => inner.DeleteEventCountsAsync(before, cancellationToken);

    public Task<int> DeleteLogsAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken) => inner.DeleteLogsAsync(before, batchSize, cancellationToken);

    public Task<long> GetRevisionAsync(CancellationToken cancellationToken) => inner.GetRevisionAsync(cancellationToken);
}
