using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>
/// The in-memory store: same semantics as PostgreSQL (ids, ordering, soft deletes, gapless history, cleanup), for tests
/// and demos. One lock serializes every change, as the row lock does in PostgreSQL. It cannot take part in a database
/// transaction, so an enlisted dispatch is refused rather than keeping rows a rollback would have removed.
/// </summary>
internal sealed partial class InMemoryTriggerStore : IBomTriggerStore, IBomTriggerJobStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, BomTrigger> _triggers = [];
    private readonly Dictionary<int, List<BomTriggerVersion>> _history = [];
    private readonly List<BomTriggerLog> _logs = [];
    private readonly Dictionary<(string EventType, DateTimeOffset Bucket), long> _eventCounts = [];
    private int _nextTriggerId;
    private long _nextLogId;
    private long _revision;

    public Task<BomTrigger> InsertAsync(BomTriggerDefinition definition, Guid uuid, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(Insert(definition, uuid, changedBy, now));
        }
    }

    public Task<bool> InsertIfAbsentAsync(BomTriggerDefinition definition, Guid uuid, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_triggers.Values.Any(t => t.Uuid == uuid))
            {
                return Task.FromResult(false);
            }

            Insert(definition, uuid, definition.CreatedBy, now);
            return Task.FromResult(true);
        }
    }

    public Task<BomTrigger?> UpdateAsync(int id, BomTriggerDefinition definition, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!TryGetLive(id, out var existing))
            {
                return Task.FromResult<BomTrigger?>(null);
            }

            var updated = Create(id, existing.Uuid, definition with { CreatedBy = existing.CreatedBy }, existing.CreatedAt, now) with { Version = existing.Version + 1 };
            return Task.FromResult<BomTrigger?>(Change(existing, updated, BomTriggerChange.Updated, changedBy, now));
        }
    }

    public Task<bool> DeleteAsync(int id, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!TryGetLive(id, out var existing))
            {
                return Task.FromResult(false);
            }

            var deleted = existing with { DeletedAt = Truncate(now), DeletedBy = changedBy, UpdatedAt = Truncate(now), Version = existing.Version + 1 };
            Change(existing, deleted, BomTriggerChange.Deleted, changedBy, now);
            return Task.FromResult(true);
        }
    }

    public Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(TryGetLive(id, out var trigger) ? trigger : null);
        }
    }

    public Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery query, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<BomTrigger> list = [.. _triggers.Values
                .Where(t => (t.DeletedAt is not null) == query.Deleted)
                .Where(t => query.TriggerEvent is null || t.TriggerEvent == query.TriggerEvent)
                .Where(t => query.IsActive is null || t.IsActive == query.IsActive)
                .OrderByDescending(t => t.Priority).ThenBy(t => t.Id)];
            return Task.FromResult(list);
        }
    }

    public Task<BomTrigger?> ToggleAsync(int id, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!TryGetLive(id, out var existing))
            {
                return Task.FromResult<BomTrigger?>(null);
            }

            var toggled = existing with { IsActive = !existing.IsActive, UpdatedAt = Truncate(now), Version = existing.Version + 1 };
            return Task.FromResult<BomTrigger?>(Change(existing, toggled, BomTriggerChange.Toggled, changedBy, now));
        }
    }

    public Task<BomTrigger?> RestoreAsync(int id, int restoredFrom, BomTriggerDefinition definition, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_triggers.TryGetValue(id, out var existing))
            {
                return Task.FromResult<BomTrigger?>(null);
            }

            var restored = Create(id, existing.Uuid, definition with { CreatedBy = existing.CreatedBy }, existing.CreatedAt, now) with { Version = existing.Version + 1 };
            return Task.FromResult<BomTrigger?>(Change(existing, restored, BomTriggerChange.Restored, changedBy, now, restoredFrom));
        }
    }

    public Task<BomTriggerVersion?> GetVersionAsync(int triggerId, int version, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_history.TryGetValue(triggerId, out var versions) ? versions.Find(v => v.Version == version) : null);
        }
    }

    public Task<BomTriggerHistoryPage> GetHistoryAsync(int triggerId, int limit, int offset, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var versions = _history.GetValueOrDefault(triggerId) ?? [];
            IReadOnlyList<BomTriggerVersion> page = [.. versions.AsEnumerable().Reverse().Skip(offset).Take(limit)];
            return Task.FromResult(new BomTriggerHistoryPage(page, versions.Count, limit, offset));
        }
    }

    /// <summary>Why an enlisted dispatch is refused; the engine refuses it before any action runs.</summary>
    internal const string EnlistmentRefused =
        "The in-memory trigger store cannot take part in the caller's database transaction (DispatchOptions.InTransaction, or a "
        + "DbContext with an open transaction): its log rows and jobs would survive a rollback. Use UsePostgres(...) for enlisted "
        + "dispatches, or dispatch without the transaction.";

    /// <summary>
    /// The backstop for <see cref="EnlistmentRefused"/>: rows written here would survive the caller's rollback, which no
    /// PostgreSQL store allows, so a test on this store would pass where production keeps nothing.
    /// </summary>
    private static void RefuseTransaction(DbTransaction? transaction)
    {
        if (transaction is not null)
        {
            throw new InvalidOperationException(EnlistmentRefused);
        }
    }

    public Task WriteLogsAsync(IReadOnlyList<NewTriggerLog> logs, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        RefuseTransaction(transaction);
        lock (_lock)
        {
            // Like the foreign key: a row for an unknown trigger fails the whole batch. Deleted triggers are still known
            // (deletes are soft), so a run that races with a delete is logged.
            if (logs.FirstOrDefault(l => !_triggers.ContainsKey(l.TriggerId)) is { } orphan)
            {
                throw new InvalidOperationException($"Trigger {orphan.TriggerId} does not exist.");
            }

            foreach (var log in logs)
            {
                // Clone detaches the rows from the caller's documents; it costs nothing for elements that are already clones.
                _logs.Add(new BomTriggerLog
                {
                    Id = ++_nextLogId,
                    TriggerId = log.TriggerId,
                    TaskId = log.TaskId,
                    ExecutedAt = log.ExecutedAt,
                    Success = log.Success,
                    InputData = log.Input?.Clone(),
                    ResultData = log.Result?.Clone(),
                    ErrorMessage = log.Error,
                    Outcome = log.Outcome,
                    Duration = TimeSpan.FromMilliseconds(log.DurationMs),
                    CorrelationId = log.CorrelationId,
                    Depth = log.Depth,
                    JobId = log.JobId,
                    Attempt = log.Attempt,
                    CausedByTriggerId = log.CausedByTriggerId,
                });
            }

            return Task.CompletedTask;
        }
    }

    public Task<BomTriggerLogPage> QueryLogsAsync(BomTriggerLogQuery query, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var all = _logs.Where(query.Matches).OrderByDescending(l => l.ExecutedAt).ThenByDescending(l => l.Id).ToList();
            List<BomTriggerLog> page = [.. all.Skip(query.Offset).Take(query.Limit)];
            if (!query.CountTotal)
            {
                var more = all.Count > query.Offset + page.Count;
                return Task.FromResult(new BomTriggerLogPage(page, query.Offset + page.Count + (more ? 1 : 0), query.Limit, query.Offset) { IsTotalExact = false });
            }

            return Task.FromResult(new BomTriggerLogPage(page, all.Count, query.Limit, query.Offset));
        }
    }

    public Task<IReadOnlyList<BomTriggerLog>> GetRecentFailuresAsync(int limit, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<BomTriggerLog> list = [.. _logs.Where(l => !l.Success).OrderByDescending(l => l.ExecutedAt).ThenByDescending(l => l.Id).Take(limit)];
            return Task.FromResult(list);
        }
    }

    public Task<IReadOnlyList<BomTriggerRunSummary>> GetRunSummariesAsync(int[] triggerIds, DateTimeOffset since, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var byTrigger = _logs.Where(l => triggerIds.Contains(l.TriggerId)).ToLookup(l => l.TriggerId);
            IReadOnlyList<BomTriggerRunSummary> list = [.. triggerIds.Select(id =>
            {
                var logs = byTrigger[id];
                var last = logs.OrderByDescending(l => l.ExecutedAt).ThenByDescending(l => l.Id).FirstOrDefault();
                var recent = logs.Where(l => l.ExecutedAt >= since).ToList();
                long Count(string outcome) => recent.Count(l => string.Equals(l.Outcome, outcome, StringComparison.Ordinal));
                return new BomTriggerRunSummary
                {
                    TriggerId = id,
                    LastRunAt = last?.ExecutedAt,
                    LastOutcome = last?.Outcome,
                    Executed = Count("Executed"),
                    Failed = Count("Failed"),
                    SuppressedLoop = Count("SuppressedLoop"),
                    ConditionFalse = ConditionFalse(id, logs, since),
                };
            })];
            return Task.FromResult(list);
        }
    }

    /// <summary>See <see cref="BomTriggerRunSummary.ConditionFalse"/>; the PostgreSQL store computes the same in SQL.</summary>
    private long ConditionFalse(int triggerId, IEnumerable<BomTriggerLog> logs, DateTimeOffset since)
    {
        if (!_triggers.TryGetValue(triggerId, out var trigger) || !trigger.IsActive || trigger.DeletedAt is not null)
        {
            return 0;
        }

        var from = Max(since, trigger.UpdatedAt);
        var start = new DateTimeOffset(from.UtcTicks - (from.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var events = _eventCounts.Where(e => string.Equals(e.Key.EventType, trigger.TriggerEvent, StringComparison.Ordinal) && e.Key.Bucket >= start).Sum(e => e.Value);
        var window = logs.Where(l => l.ExecutedAt >= start).ToList();
        var runs = window.Count(l => l.JobId is null) + window.Where(l => l.JobId is not null).Select(l => l.JobId).Distinct().Count();
        return Math.Max(0, events - runs);

        static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
    }

    public Task AddEventCountsAsync(IReadOnlyList<EventCount> counts, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var count in counts)
            {
                var key = (count.EventType, count.Bucket);
                _eventCounts[key] = _eventCounts.GetValueOrDefault(key) + count.Count;
            }

            return Task.CompletedTask;
        }
    }

    public Task<int> DeleteEventCountsAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var doomed = _eventCounts.Keys.Where(k => k.Bucket < before).ToList();
            doomed.ForEach(k => _eventCounts.Remove(k));
            return Task.FromResult(doomed.Count);
        }
    }

    public Task<int> DeleteLogsAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var doomed = _logs.Where(l => l.ExecutedAt < before).OrderBy(l => l.ExecutedAt).Take(batchSize).ToHashSet();
            _logs.RemoveAll(doomed.Contains);
            return Task.FromResult(doomed.Count);
        }
    }

    public Task<long> GetRevisionAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_revision);
        }
    }

    private BomTrigger Insert(BomTriggerDefinition definition, Guid uuid, int? changedBy, DateTimeOffset now)
    {
        var trigger = Create(++_nextTriggerId, uuid, definition, now, now);
        _triggers[trigger.Id] = trigger;
        _history[trigger.Id] = [NewVersion(trigger, BomTriggerChange.Created, changedBy, now, previous: null, restoredFrom: null)];
        _revision++;
        return trigger;
    }

    /// <summary>Stores the changed trigger and its history row; called under the lock.</summary>
    private BomTrigger Change(BomTrigger existing, BomTrigger changed, BomTriggerChange change, int? changedBy, DateTimeOffset now, int? restoredFrom = null)
    {
        _triggers[changed.Id] = changed;
        _history[changed.Id].Add(NewVersion(changed, change, changedBy, now, BomTriggerDefinition.From(existing), restoredFrom));
        _revision++;
        return changed;
    }

    private bool TryGetLive(int id, [NotNullWhen(true)] out BomTrigger? trigger) =>
        _triggers.TryGetValue(id, out trigger) && trigger.DeletedAt is null;

    private static BomTriggerVersion NewVersion(BomTrigger trigger, BomTriggerChange change, int? changedBy, DateTimeOffset now, BomTriggerDefinition? previous, int? restoredFrom) => new()
    {
        TriggerId = trigger.Id,
        Version = trigger.Version,
        Change = change,
        ChangedBy = changedBy,
        ChangedAt = Truncate(now),
        Definition = BomTriggerDefinition.From(trigger),
        Previous = previous,
        RestoredFromVersion = restoredFrom,
    };

    private static BomTrigger Create(int id, Guid uuid, BomTriggerDefinition d, DateTimeOffset createdAt, DateTimeOffset updatedAt) => new()
    {
        Id = id,
        Uuid = uuid,
        Name = d.Name,
        Description = d.Description,
        TriggerEvent = d.TriggerEvent,
        TriggerCondition = (d.TriggerCondition ?? TriggerValidator.EmptyObject).Clone(),
        ActionType = d.ActionType,
        ActionConfig = (d.ActionConfig ?? TriggerValidator.EmptyObject).Clone(),
        SourceTaskTypeId = d.SourceTaskTypeId,
        TargetTaskTypeId = d.TargetTaskTypeId,
        Priority = d.Priority,
        Execution = BomTriggerExecution.FromJson((d.Execution ?? BomTriggerExecution.Default).ToJson()),
        IsActive = d.IsActive,
        CreatedBy = d.CreatedBy,
        CreatedAt = Truncate(createdAt),
        UpdatedAt = Truncate(updatedAt),
    };

    // PostgreSQL keeps microseconds; truncate the same way so both stores return equal values.
    private static DateTimeOffset Truncate(DateTimeOffset value) => new(value.Ticks - (value.Ticks % 10), value.Offset);
}
