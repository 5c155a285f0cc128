using System.Data.Common;
using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>The in-memory store: same semantics as PostgreSQL (ids, ordering, cascade, cleanup), for tests and demos.</summary>
internal sealed class InMemoryTriggerStore : IBomTriggerStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, BomTrigger> _triggers = [];
    private readonly List<BomTriggerLog> _logs = [];
    private int _nextTriggerId;
    private long _nextLogId;
    private long _revision;

    public Task<BomTrigger> InsertAsync(BomTriggerDefinition definition, Guid uuid, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var trigger = Create(++_nextTriggerId, uuid, definition, now, now);
            _triggers[trigger.Id] = trigger;
            _revision++;
            return Task.FromResult(trigger);
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

            var trigger = Create(++_nextTriggerId, uuid, definition, now, now);
            _triggers[trigger.Id] = trigger;
            _revision++;
            return Task.FromResult(true);
        }
    }

    public Task<BomTrigger?> UpdateAsync(int id, BomTriggerDefinition definition, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_triggers.TryGetValue(id, out var existing))
            {
                return Task.FromResult<BomTrigger?>(null);
            }

            var updated = Create(id, existing.Uuid, definition with { CreatedBy = existing.CreatedBy }, existing.CreatedAt, now);
            _triggers[id] = updated;
            _revision++;
            return Task.FromResult<BomTrigger?>(updated);
        }
    }

    public Task<bool> DeleteAsync(int id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_triggers.Remove(id))
            {
                return Task.FromResult(false);
            }

            _logs.RemoveAll(l => l.TriggerId == id);
            _revision++;
            return Task.FromResult(true);
        }
    }

    public Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_triggers.GetValueOrDefault(id));
        }
    }

    public Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery query, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<BomTrigger> list = [.. _triggers.Values
                .Where(t => query.TriggerEvent is null || t.TriggerEvent == query.TriggerEvent)
                .Where(t => query.IsActive is null || t.IsActive == query.IsActive)
                .OrderByDescending(t => t.Priority).ThenBy(t => t.Id)];
            return Task.FromResult(list);
        }
    }

    public Task<BomTrigger?> ToggleAsync(int id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_triggers.TryGetValue(id, out var existing))
            {
                return Task.FromResult<BomTrigger?>(null);
            }

            var toggled = existing with { IsActive = !existing.IsActive, UpdatedAt = now };
            _triggers[id] = toggled;
            _revision++;
            return Task.FromResult<BomTrigger?>(toggled);
        }
    }

    public Task WriteLogsAsync(IReadOnlyList<NewTriggerLog> logs, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Like the foreign key: a row for a trigger deleted meanwhile fails the whole batch.
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
                });
            }

            return Task.CompletedTask;
        }
    }

    public Task<BomTriggerLogPage> GetLogsAsync(int triggerId, int limit, int offset, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var all = _logs.Where(l => l.TriggerId == triggerId).OrderByDescending(l => l.ExecutedAt).ThenByDescending(l => l.Id).ToList();
            return Task.FromResult(new BomTriggerLogPage([.. all.Skip(offset).Take(limit)], all.Count, limit, offset));
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
        IsActive = d.IsActive,
        CreatedBy = d.CreatedBy,
        CreatedAt = Truncate(createdAt),
        UpdatedAt = Truncate(updatedAt),
    };

    // PostgreSQL keeps microseconds; truncate the same way so both stores return equal values.
    private static DateTimeOffset Truncate(DateTimeOffset value) => new(value.Ticks - (value.Ticks % 10), value.Offset);
}
