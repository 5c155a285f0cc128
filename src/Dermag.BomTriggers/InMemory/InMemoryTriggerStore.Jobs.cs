using System.Data.Common;

namespace Dermag.BomTriggers;

/// <summary>
/// The job queue in memory, with the PostgreSQL store's semantics (contract tests run on both): the same claim order,
/// leases and take-over, per-task ordering, fencing, idempotent enqueue and exactly-once schedule ticks. One lock
/// serializes every change, as row locks do in PostgreSQL; jobs run in-process.
/// </summary>
internal sealed partial class InMemoryTriggerStore
{
    private readonly Dictionary<long, BomTriggerJob> _jobs = [];
    private readonly Dictionary<string, long> _jobKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<long, int?> _orderingKeys = [];
    private readonly Dictionary<int, (int Version, DateTimeOffset? NextTick, DateTimeOffset? LastTick)> _schedules = [];
    private long _nextJobId;

    public Task<int> EnqueueAsync(IReadOnlyList<NewJob> jobs, DbTransaction? transaction, DateTimeOffset now, CancellationToken cancellationToken)
    {
        RefuseTransaction(transaction);
        lock (_lock)
        {
            return Task.FromResult(Enqueue(jobs, now));
        }
    }

    private int Enqueue(IReadOnlyList<NewJob> jobs, DateTimeOffset now)
    {
        if (jobs.FirstOrDefault(j => !_triggers.ContainsKey(j.TriggerId)) is { } orphan)
        {
            throw new InvalidOperationException($"Trigger {orphan.TriggerId} does not exist.");
        }

        var inserted = 0;
        foreach (var job in jobs)
        {
            if (_jobKeys.ContainsKey(job.IdempotencyKey))
            {
                continue;
            }

            var id = ++_nextJobId;
            _jobKeys[job.IdempotencyKey] = id;
            _orderingKeys[id] = job.OrderingKey;
            _jobs[id] = new BomTriggerJob
            {
                Id = id,
                IdempotencyKey = job.IdempotencyKey,
                TriggerId = job.TriggerId,
                Kind = job.Kind,
                State = BomTriggerJobState.Pending,
                Event = job.Event with
                {
                    EventId = job.EventId,
                    Data = JsonSanitizer.ForLog(job.Event.Data) ?? TriggerValidator.EmptyObject,
                    PreviousValues = JsonSanitizer.ForLog(job.Event.PreviousValues),
                },
                CorrelationId = job.CorrelationId,
                Depth = job.Depth,
                CausedByTriggerId = job.CausedByTriggerId,
                Chain = job.Chain,
                MaxAttempts = job.MaxAttempts,
                DueAt = Truncate(job.DueAt),
                CreatedAt = Truncate(now),
                UpdatedAt = Truncate(now),
            };
            inserted++;
        }

        return inserted;
    }

    public Task<IReadOnlyList<BomTriggerJob>> ClaimAsync(string worker, int max, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var claimable = _jobs.Values
                .Where(j => (j.State == BomTriggerJobState.Pending && j.DueAt <= now) || (j.State == BomTriggerJobState.Running && j.LeaseUntil < now))
                .Where(j => j.State == BomTriggerJobState.Running || !HeldBack(j))
                .OrderBy(j => j.State == BomTriggerJobState.Running ? 0 : 1).ThenBy(j => j.State == BomTriggerJobState.Running ? j.LeaseUntil : j.DueAt).ThenBy(j => j.Id)
                .Take(max)
                .ToList();
            var claimed = new List<BomTriggerJob>(claimable.Count);
            foreach (var job in claimable)
            {
                var running = job with
                {
                    State = BomTriggerJobState.Running,
                    Attempt = job.Attempt + 1,
                    LeaseUntil = Truncate(now + lease),
                    LockedBy = worker,
                    UpdatedAt = Truncate(now),
                };
                _jobs[job.Id] = running;
                claimed.Add(running with { TakenOver = job.State == BomTriggerJobState.Running });
            }

            IReadOnlyList<BomTriggerJob> result = [.. claimed.OrderBy(j => j.Id)];
            return Task.FromResult(result);
        }
    }

    public async Task<(bool Applied, BomTriggerJob? Next, Exception? LogError)> CompleteAsync(JobCompletion completion, NewTriggerLog? log, JobClaim? claimNext, CancellationToken cancellationToken)
    {
        bool applied;
        lock (_lock)
        {
            applied = _jobs.TryGetValue(completion.JobId, out var job)
                && job.State == BomTriggerJobState.Running && job.Attempt == completion.Attempt && job.LockedBy == completion.Worker;
            if (applied)
            {
                _jobs[job!.Id] = job with
                {
                    State = completion.State,
                    LeaseUntil = null,
                    LockedBy = null,
                    UpdatedAt = Truncate(completion.Now),
                    LastError = JsonSanitizer.ForLog(completion.Error),
                    DueAt = completion.RetryAt is { } retry ? Truncate(retry) : job.DueAt,
                    FinishedAt = completion.State == BomTriggerJobState.Pending ? null : Truncate(completion.Now),
                };
            }
        }

        var next = claimNext is null ? [] : await ClaimAsync(claimNext.Worker, 1, claimNext.Now, claimNext.Lease, cancellationToken).ConfigureAwait(false);
        Exception? logError = null;
        if (log is not null)
        {
            try
            {
                await WriteLogsAsync([log], null, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                logError = ex;
            }
        }

        return (applied, next.Count == 0 ? null : next[0], logError);
    }

    public Task RenewAsync(string worker, IReadOnlyList<long> jobIds, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var id in jobIds)
            {
                if (_jobs.TryGetValue(id, out var job) && job.State == BomTriggerJobState.Running && job.LockedBy == worker)
                {
                    _jobs[id] = job with { LeaseUntil = Truncate(now + lease) };
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string worker, IReadOnlyList<long> jobIds, DateTimeOffset now, string reason, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var id in jobIds)
            {
                if (_jobs.TryGetValue(id, out var job) && job.State == BomTriggerJobState.Running && job.LockedBy == worker)
                {
                    _jobs[id] = job with
                    {
                        State = BomTriggerJobState.Pending,
                        LeaseUntil = null,
                        LockedBy = null,
                        DueAt = Truncate(now),
                        UpdatedAt = Truncate(now),
                        LastError = reason,
                    };
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Per-task ordering, as PostgreSQL decides it: a job of the same task running, or an earlier one pending.</summary>
    private bool HeldBack(BomTriggerJob job) =>
        _orderingKeys[job.Id] is { } key && _jobs.Values.Any(e =>
            e.Id != job.Id && _orderingKeys[e.Id] == key
            && (e.State == BomTriggerJobState.Running || (e.State == BomTriggerJobState.Pending && e.Id < job.Id)));

    public Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var due = _jobs.Values
                .Select(j => j.State == BomTriggerJobState.Pending && !HeldBack(j) ? j.DueAt : j.State == BomTriggerJobState.Running ? j.LeaseUntil : null)
                .Where(t => t is not null)
                .Min();
            return Task.FromResult(due);
        }
    }

    public Task<BomTriggerJobPage> QueryJobsAsync(BomTriggerJobQuery query, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var all = _jobs.Values.Where(query.Matches).OrderByDescending(j => j.UpdatedAt).ThenByDescending(j => j.Id).ToList();
            return Task.FromResult(new BomTriggerJobPage([.. all.Skip(query.Offset).Take(query.Limit)], all.Count, query.Limit, query.Offset));
        }
    }

    public Task<BomTriggerJob?> GetJobAsync(long jobId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_jobs.GetValueOrDefault(jobId));
        }
    }

    public Task<BomTriggerQueueCounts> GetQueueCountsAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var jobs = _jobs.Values;
            return Task.FromResult(new BomTriggerQueueCounts(
                jobs.LongCount(j => j.State == BomTriggerJobState.Pending && j.Attempt == 0),
                jobs.LongCount(j => j.State == BomTriggerJobState.Pending && j.Attempt > 0),
                jobs.LongCount(j => j.State == BomTriggerJobState.Running),
                jobs.LongCount(j => j.State == BomTriggerJobState.Dead)));
        }
    }

    public Task<bool> RetryJobAsync(long jobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_jobs.TryGetValue(jobId, out var job) || job.State is not (BomTriggerJobState.Dead or BomTriggerJobState.Discarded))
            {
                return Task.FromResult(false);
            }

            _jobs[jobId] = job with
            {
                State = BomTriggerJobState.Pending,
                DueAt = Truncate(now),
                UpdatedAt = Truncate(now),
                FinishedAt = null,
                MaxAttempts = job.Attempt + job.MaxAttempts,
            };
            return Task.FromResult(true);
        }
    }

    public Task<bool> DiscardJobAsync(long jobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_jobs.TryGetValue(jobId, out var job) || job.State is not (BomTriggerJobState.Pending or BomTriggerJobState.Dead))
            {
                return Task.FromResult(false);
            }

            _jobs[jobId] = job with { State = BomTriggerJobState.Discarded, UpdatedAt = Truncate(now), FinishedAt = Truncate(now) };
            return Task.FromResult(true);
        }
    }

    public Task<int> DeleteFinishedJobsAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var doomed = _jobs.Values
                .Where(j => j.FinishedAt < before && j.State is BomTriggerJobState.Succeeded or BomTriggerJobState.Skipped or BomTriggerJobState.Discarded)
                .OrderBy(j => j.FinishedAt).Take(batchSize).ToList();
            foreach (var job in doomed)
            {
                _jobs.Remove(job.Id);
                _jobKeys.Remove(job.IdempotencyKey);
                _orderingKeys.Remove(job.Id);
            }

            return Task.FromResult(doomed.Count);
        }
    }

    public Task SyncSchedulesAsync(IReadOnlyList<(int TriggerId, int Version)> schedules, Func<int, DateTimeOffset?> firstTick, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var id in _schedules.Keys.ToList())
            {
                if (!_triggers.TryGetValue(id, out var trigger) || trigger.DeletedAt is not null || !trigger.IsActive || trigger.TriggerEvent != BomTriggerEvents.Schedule)
                {
                    _schedules.Remove(id);
                }
            }

            foreach (var (id, version) in schedules)
            {
                if (_triggers.TryGetValue(id, out var trigger) && trigger.Version == version && trigger.IsActive && trigger.DeletedAt is null
                    && trigger.TriggerEvent == BomTriggerEvents.Schedule
                    && (!_schedules.TryGetValue(id, out var existing) || existing.Version < version))
                {
                    // A tick already due is kept (an edit must not swallow it), as the PostgreSQL store does.
                    var next = existing.NextTick is { } due && due <= now ? due : firstTick(id) is { } tick ? Truncate(tick) : (DateTimeOffset?)null;
                    _schedules[id] = (version, next, existing.LastTick);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<int> RunDueSchedulesAsync(DateTimeOffset now, Func<DueSchedule, ScheduleStep> plan, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var due = _schedules
                .Where(s => s.Value.NextTick <= now && _triggers.TryGetValue(s.Key, out var t) && t.Version == s.Value.Version && t.IsActive && t.DeletedAt is null)
                .OrderBy(s => s.Value.NextTick)
                .Select(s => new DueSchedule(s.Key, s.Value.Version, s.Value.NextTick!.Value))
                .ToList();
            var enqueued = 0;
            foreach (var schedule in due)
            {
                var step = plan(schedule);
                if (step.Job is { } job)
                {
                    enqueued += Enqueue([job], now);
                }

                var current = _schedules[schedule.TriggerId];
                _schedules[schedule.TriggerId] = (current.Version, step.NextTick is { } next ? Truncate(next) : null, step.LastTick is { } last ? Truncate(last) : current.LastTick);
            }

            return Task.FromResult(enqueued);
        }
    }

    public Task<DateTimeOffset?> GetNextTickAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_schedules
                .Where(s => _triggers.TryGetValue(s.Key, out var t) && t.Version == s.Value.Version && t.IsActive && t.DeletedAt is null)
                .Select(s => s.Value.NextTick).Where(t => t is not null).Min());
        }
    }
}
