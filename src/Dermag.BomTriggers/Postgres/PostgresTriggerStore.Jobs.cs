using System.Data.Common;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Dermag.BomTriggers;

/// <summary>
/// The job queue on PostgreSQL. Workers of every instance claim with <c>FOR UPDATE SKIP LOCKED</c> and hold a job under a
/// lease; every later write of an attempt is fenced by (id, attempt, worker), so a worker whose lease was taken over
/// cannot overwrite its successor's result. Times come from the caller's clock (<see cref="TimeProvider"/>).
/// </summary>
internal sealed partial class PostgresTriggerStore
{
    private const string JobColumns =
        "j.id, j.idempotency_key, j.trigger_id, j.kind, j.state, j.event_type, j.event_id, j.task_id, j.task_type_id, j.event_data::text, j.previous_values::text, "
        + "j.correlation_id, j.depth, j.chain, j.attempt, j.max_attempts, j.due_at, j.created_at, j.updated_at, j.lease_until, j.locked_by, j.last_error, j.finished_at, j.caused_by_trigger_id";

    private readonly string _jobs;
    private readonly string _schedules;
    private readonly string _channel;
    private int _notificationRequested;
    private int _notifierRunning;

    /// <summary>The function that names this schema's notification channels (<c>bom_trigger_channel(kind)</c>).</summary>
    internal string ChannelFunction => _channel;

    internal NpgsqlDataSource DataSource => _dataSource;

    public async Task<int> EnqueueAsync(IReadOnlyList<NewJob> jobs, DbTransaction? enlisted, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (jobs.Count == 0)
        {
            return 0;
        }

        // In the caller's transaction the notification goes with it (delivered at its commit, so a woken worker finds the
        // job). On its own, the job commits first and a coalescing notifier announces it right after: a NOTIFY inside the
        // insert would make every enqueueing transaction queue up behind PostgreSQL's notification lock at commit.
        NpgsqlCommand command;
        var notifyInside = enlisted is not null;
        var sql = jobs.Count == 1 ? EnqueueOneSql(notifyInside) : EnqueueSql(notifyInside);
        if (enlisted is not null)
        {
            var transaction = enlisted as NpgsqlTransaction ?? throw new BomTriggerException(
                $"The dispatch is enlisted in a {enlisted.GetType().Name}; the PostgreSQL trigger store can only write jobs in an NpgsqlTransaction.");
            command = new NpgsqlCommand(sql, transaction.Connection, transaction);
        }
        else
        {
            command = _dataSource.CreateCommand(sql);
        }

        await using (command.ConfigureAwait(false))
        {
            if (jobs.Count == 1)
            {
                AddJobParameters(command.Parameters, jobs[0], now);
            }
            else
            {
                AddJobParameters(command.Parameters, jobs, now);
            }

            var inserted = (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            if (!notifyInside && inserted > 0 && jobs.Any(j => j.DueAt <= now))
            {
                RequestJobsNotification();
            }

            return inserted;
        }
    }

    /// <summary>
    /// $1-$15 the jobs (as arrays, see the list overload of AddJobParameters), $16 now. The workers are woken by a notification sent at commit,
    /// only when a new job is due now; ids follow the input order, which per-task ordering relies on.
    /// </summary>
    private string EnqueueSql(bool notify) => $"""
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::uuid[], $6::integer[], $7::integer[], $8::jsonb[], $9::jsonb[],
                                 $10::uuid[], $11::integer[], $12::text[], $13::integer[], $14::integer[], $15::timestamptz[], $17::integer[])
                WITH ORDINALITY AS i(idempotency_key, trigger_id, kind, event_type, event_id, task_id, task_type_id, event_data, previous_values,
                                     correlation_id, depth, chain, ordering_key, max_attempts, due_at, caused_by_trigger_id, ord)
        ), inserted AS (
            INSERT INTO {_jobs} (idempotency_key, trigger_id, kind, event_type, event_id, task_id, task_type_id, event_data, previous_values,
                                 correlation_id, depth, chain, ordering_key, max_attempts, due_at, created_at, updated_at, caused_by_trigger_id)
            SELECT idempotency_key, trigger_id, kind, event_type, event_id, task_id, task_type_id, event_data, previous_values,
                   correlation_id, depth, chain, ordering_key, max_attempts, due_at, $16, $16, caused_by_trigger_id
            FROM input ORDER BY ord
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING due_at
        ), woken AS (
            -- Referenced below, so it runs: one notification when a new job is due now (delivered at commit).
            SELECT pg_notify({_channel}('jobs'), '') FROM (SELECT 1 FROM inserted WHERE due_at <= $16 AND {(notify ? "true" : "false")} LIMIT 1) due
        )
        SELECT (SELECT count(*) FROM inserted)::integer + 0 * (SELECT count(*) FROM woken)::integer
        """;

    /// <summary>The common case, one job: the same statement with plain values (no arrays to build and unnest).</summary>
    private string EnqueueOneSql(bool notify) => $"""
        WITH inserted AS (
            INSERT INTO {_jobs} (idempotency_key, trigger_id, kind, event_type, event_id, task_id, task_type_id, event_data, previous_values,
                                 correlation_id, depth, chain, ordering_key, max_attempts, due_at, created_at, updated_at, caused_by_trigger_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12, $13, $14, $15, $16, $16, $17)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING due_at
        ), woken AS (
            SELECT pg_notify({_channel}('jobs'), '') FROM inserted WHERE due_at <= $16 AND {(notify ? "true" : "false")}
        )
        SELECT (SELECT count(*) FROM inserted)::integer + 0 * (SELECT count(*) FROM woken)::integer
        """;

    private static void AddJobParameters(NpgsqlParameterCollection p, NewJob job, DateTimeOffset now)
    {
        p.Add(new NpgsqlParameter<string> { TypedValue = job.IdempotencyKey });
        p.Add(new NpgsqlParameter<int> { TypedValue = job.TriggerId });
        p.Add(new NpgsqlParameter<string> { TypedValue = KindName(job.Kind) });
        p.Add(new NpgsqlParameter<string> { TypedValue = job.Event.EventType });
        p.Add(new NpgsqlParameter<Guid> { TypedValue = job.EventId });
        p.Add(new NpgsqlParameter<int> { TypedValue = job.Event.TaskId });
        p.Add(new NpgsqlParameter { Value = (object?)job.Event.TaskTypeId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter { Value = JsonSanitizer.ForLog(job.Event.Data)?.GetRawText() ?? "{}", NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter { Value = (object?)JsonSanitizer.ForLog(job.Event.PreviousValues)?.GetRawText() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<Guid> { TypedValue = job.CorrelationId });
        p.Add(new NpgsqlParameter<int> { TypedValue = job.Depth });
        p.Add(new NpgsqlParameter<string> { TypedValue = job.Chain });
        p.Add(new NpgsqlParameter { Value = (object?)job.OrderingKey ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter<int> { TypedValue = job.MaxAttempts });
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = job.DueAt });
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        p.Add(new NpgsqlParameter { Value = (object?)job.CausedByTriggerId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
    }

    private static void AddJobParameters(NpgsqlParameterCollection p, IReadOnlyList<NewJob> jobs, DateTimeOffset now)
    {
        p.Add(new NpgsqlParameter<string[]> { TypedValue = [.. jobs.Select(j => j.IdempotencyKey)] });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = [.. jobs.Select(j => j.TriggerId)] });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = [.. jobs.Select(j => KindName(j.Kind))] });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = [.. jobs.Select(j => j.Event.EventType)] });
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. jobs.Select(j => j.EventId)] });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = [.. jobs.Select(j => j.Event.TaskId)] });
        p.Add(new NpgsqlParameter { Value = jobs.Select(j => j.Event.TaskTypeId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter { Value = jobs.Select(j => JsonSanitizer.ForLog(j.Event.Data)?.GetRawText() ?? "{}").ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter { Value = jobs.Select(j => JsonSanitizer.ForLog(j.Event.PreviousValues)?.GetRawText()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. jobs.Select(j => j.CorrelationId)] });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = [.. jobs.Select(j => j.Depth)] });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = [.. jobs.Select(j => j.Chain)] });
        p.Add(new NpgsqlParameter { Value = jobs.Select(j => j.OrderingKey).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = [.. jobs.Select(j => j.MaxAttempts)] });
        p.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. jobs.Select(j => j.DueAt)] });
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        p.Add(new NpgsqlParameter { Value = jobs.Select(j => j.CausedByTriggerId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
    }

    public async Task<IReadOnlyList<BomTriggerJob>> ClaimAsync(string worker, int max, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(ClaimSql);
        AddClaimParameters(command.Parameters, worker, max, now, lease);
        var jobs = await ReadJobsAsync(command, takenOverColumn: true, cancellationToken).ConfigureAwait(false);
        jobs.Sort((a, b) => a.Id.CompareTo(b.Id));
        return jobs;
    }

    /// <summary>
    /// $1 now, $2 how many, $3 the lease's end, $4 the worker. A running job whose lease expired is taken over (its worker
    /// died or lost its connection) and counts as a new attempt; a job behind an unfinished job of its ordering key waits.
    /// Two index scans, each in claim order with SKIP LOCKED: expired leases first (rare), then due pending jobs.
    /// </summary>
    private string ClaimSql => $"""
            WITH expired AS (
                SELECT j.id, true AS taken_over FROM {_jobs} j
                WHERE j.state = 'running' AND j.lease_until < $1
                ORDER BY j.lease_until
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            ), due AS (
                SELECT j.id, false AS taken_over FROM {_jobs} j
                WHERE j.state = 'pending' AND j.due_at <= $1
                  AND (j.ordering_key IS NULL OR NOT EXISTS ({OrderingBlock("j")}))
                ORDER BY j.due_at, j.id
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            ), next AS (
                SELECT * FROM expired UNION ALL SELECT * FROM due LIMIT $2
            )
            UPDATE {_jobs} j SET state = 'running', attempt = j.attempt + 1, lease_until = $3, locked_by = $4, updated_at = $1
            FROM next WHERE j.id = next.id
            RETURNING {JobColumns}, next.taken_over
            """;

    /// <summary>
    /// The jobs that hold <paramref name="alias"/> back under per-task ordering: one of its task's jobs running (whatever its
    /// id: a job enqueued in a long transaction may commit after a later one started), or an earlier one still pending.
    /// </summary>
    private string OrderingBlock(string alias) => $"""
        SELECT 1 FROM {_jobs} e
        WHERE e.ordering_key = {alias}.ordering_key AND e.id <> {alias}.id
          AND (e.state = 'running' OR (e.state = 'pending' AND e.id < {alias}.id))
        """;

    private static void AddClaimParameters(NpgsqlParameterCollection parameters, string worker, int max, DateTimeOffset now, TimeSpan lease)
    {
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        parameters.Add(new NpgsqlParameter<int> { TypedValue = max });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now + lease });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = worker });
    }

    public async Task<(bool Applied, BomTriggerJob? Next, Exception? LogError)> CompleteAsync(JobCompletion completion, NewTriggerLog? log, JobClaim? claimNext, CancellationToken cancellationToken)
    {
        // One round trip: the fenced state change, the claim of a busy worker's next job, and the attempt's log row (written
        // even when the fence fails: the attempt did run). Error barriers make each its own implicit transaction, so a log
        // row the database refuses cannot undo the state change (which would run the job again, forever).
        await using var batch = _dataSource.CreateBatch();
        batch.EnableErrorBarriers = true;
        var update = new NpgsqlBatchCommand($"""
            UPDATE {_jobs} SET state = $5, lease_until = NULL, locked_by = NULL, updated_at = $4, last_error = $6,
                due_at = COALESCE($7, due_at), finished_at = CASE WHEN $5 = 'pending' THEN NULL ELSE $4 END
            WHERE id = $1 AND attempt = $2 AND locked_by = $3 AND state = 'running'
            """);
        update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = completion.JobId });
        update.Parameters.Add(new NpgsqlParameter<int> { TypedValue = completion.Attempt });
        update.Parameters.Add(new NpgsqlParameter<string> { TypedValue = completion.Worker });
        update.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = completion.Now });
        update.Parameters.Add(new NpgsqlParameter<string> { TypedValue = StateName(completion.State) });
        update.Parameters.Add(new NpgsqlParameter { Value = (object?)JsonSanitizer.ForLog(completion.Error) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        update.Parameters.Add(new NpgsqlParameter { Value = (object?)completion.RetryAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        batch.BatchCommands.Add(update);
        if (claimNext is not null)
        {
            var claim = new NpgsqlBatchCommand(ClaimSql);
            AddClaimParameters(claim.Parameters, claimNext.Worker, 1, claimNext.Now, claimNext.Lease);
            batch.BatchCommands.Add(claim);
        }

        NpgsqlBatchCommand? insert = null;
        if (log is not null)
        {
            insert = new NpgsqlBatchCommand(LogInsertOneSql);
            AddLogParameters(insert.Parameters, [log]);
            batch.BatchCommands.Add(insert);
        }

        BomTriggerJob? next = null;
        Exception? logError = null;
        try
        {
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            do
            {
                if (reader.FieldCount > 0 && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    next = ReadJob(reader, reader.GetBoolean(24));
                }
            }
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (PostgresException ex) when (insert is not null && (ReferenceEquals(ex.BatchCommand, insert) || ex.TableName == "bom_trigger_logs"))
        {
            logError = ex;
        }

        return (update.RecordsAffected == 1, next, logError);
    }

    public async Task RenewAsync(string worker, IReadOnlyList<long> jobIds, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"UPDATE {_jobs} SET lease_until = $1 WHERE id = ANY($2) AND locked_by = $3 AND state = 'running'");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now + lease });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. jobIds] });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task ReleaseAsync(string worker, IReadOnlyList<long> jobIds, DateTimeOffset now, string reason, CancellationToken cancellationToken)
    {
        // Due again at once; the interrupted attempt counts, so a job that never gets through still reaches its limit.
        await using var command = _dataSource.CreateCommand($"""
            UPDATE {_jobs} SET state = 'pending', lease_until = NULL, locked_by = NULL, due_at = $1, updated_at = $1, last_error = $4
            WHERE id = ANY($2) AND locked_by = $3 AND state = 'running'
            """);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. jobIds] });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reason });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT least(
                (SELECT min(p.due_at) FROM {_jobs} p WHERE p.state = 'pending' AND (p.ordering_key IS NULL OR NOT EXISTS ({OrderingBlock("p")}))),
                (SELECT min(lease_until) FROM {_jobs} WHERE state = 'running'))
            """);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is DateTime due ? new DateTimeOffset(due, TimeSpan.Zero) : null;
    }

    public async Task<BomTriggerJobPage> QueryJobsAsync(BomTriggerJobQuery query, CancellationToken cancellationToken)
    {
        // $1 state, $2 retrying, $3 trigger, $4 task, $5 correlation; null means any. Unprepared: unset criteria fold away.
        const string Filter = """
            ($1::text IS NULL OR j.state = $1) AND ($2::boolean IS NULL OR (j.state = 'pending' AND (j.attempt > 0) = $2))
            AND ($3::integer IS NULL OR j.trigger_id = $3) AND ($4::integer IS NULL OR j.task_id = $4) AND ($5::uuid IS NULL OR j.correlation_id = $5)
            """;
        await using var command = _dataSource.CreateCommand($"""
            SELECT {JobColumns}, count(*) OVER () FROM {_jobs} j WHERE {Filter} ORDER BY j.updated_at DESC, j.id DESC LIMIT $6 OFFSET $7
            """);
        AddJobFilter(command, query);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Limit });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Offset });
        var items = new List<BomTriggerJob>();
        long total = -1;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(ReadJob(reader, takenOver: false));
                total = reader.GetInt64(24);
            }
        }

        if (total < 0)
        {
            await using var count = _dataSource.CreateCommand($"SELECT count(*) FROM {_jobs} j WHERE {Filter}");
            AddJobFilter(count, query);
            total = (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        return new BomTriggerJobPage(items, total, query.Limit, query.Offset);
    }

    private static void AddJobFilter(NpgsqlCommand command, BomTriggerJobQuery query)
    {
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = query.State is { } state ? StateName(state) : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Boolean, Value = (object?)query.Retrying ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)query.TriggerId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)query.TaskId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Uuid, Value = (object?)query.CorrelationId ?? DBNull.Value });
    }

    public async Task<BomTriggerJob?> GetJobAsync(long jobId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {JobColumns} FROM {_jobs} j WHERE j.id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = jobId });
        var jobs = await ReadJobsAsync(command, takenOverColumn: false, cancellationToken).ConfigureAwait(false);
        return jobs.Count == 0 ? null : jobs[0];
    }

    public async Task<BomTriggerQueueCounts> GetQueueCountsAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT count(*) FILTER (WHERE state = 'pending' AND attempt = 0), count(*) FILTER (WHERE state = 'pending' AND attempt > 0),
                   count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'dead')
            FROM {_jobs} WHERE state IN ('pending', 'running', 'dead')
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new BomTriggerQueueCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    public async Task<bool> RetryJobAsync(long jobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            UPDATE {_jobs} SET state = 'pending', due_at = $2, updated_at = $2, finished_at = NULL, max_attempts = attempt + max_attempts
            WHERE id = $1 AND state IN ('dead', 'discarded')
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = jobId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        var changed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        if (changed)
        {
            // The retry is applied: a notification that cannot be sent must not turn it into an error (workers poll).
            RequestJobsNotification();
        }

        return changed;
    }

    public async Task<bool> DiscardJobAsync(long jobId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            UPDATE {_jobs} SET state = 'discarded', updated_at = $2, finished_at = $2 WHERE id = $1 AND state IN ('pending', 'dead')
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = jobId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<int> DeleteFinishedJobsAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            DELETE FROM {_jobs}
            WHERE id IN (SELECT id FROM {_jobs} WHERE finished_at < $1 AND state IN ('succeeded', 'skipped', 'discarded')
                         ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            """);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = before });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SyncSchedulesAsync(IReadOnlyList<(int TriggerId, int Version)> schedules, Func<int, DateTimeOffset?> firstTick, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The database decides what is gone (an instance with an older snapshot must not remove a newer schedule), and a
        // version only moves forward, so instances syncing at once with different snapshots converge on the newest. A tick
        // already due when a new version arrives is kept (an edit must not swallow it); a tick still ahead is recomputed.
        await using var batch = _dataSource.CreateBatch();
        var remove = new NpgsqlBatchCommand($"""
            DELETE FROM {_schedules} s USING {_triggers} t
            WHERE t.id = s.trigger_id AND (t.deleted_at IS NOT NULL OR NOT t.is_active OR t.trigger_event <> '{BomTriggerEvents.Schedule}')
            """);
        batch.BatchCommands.Add(remove);
        if (schedules.Count > 0)
        {
            var upsert = new NpgsqlBatchCommand($"""
                INSERT INTO {_schedules} (trigger_id, trigger_version, next_tick, updated_at)
                SELECT w.trigger_id, w.version, w.next_tick, $4 FROM unnest($1::integer[], $2::integer[], $3::timestamptz[]) AS w(trigger_id, version, next_tick)
                JOIN {_triggers} t ON t.id = w.trigger_id AND t.version = w.version AND t.is_active AND t.deleted_at IS NULL
                    AND t.trigger_event = '{BomTriggerEvents.Schedule}'
                ON CONFLICT (trigger_id) DO UPDATE SET trigger_version = EXCLUDED.trigger_version, updated_at = EXCLUDED.updated_at,
                    next_tick = CASE WHEN {_schedules}.next_tick <= EXCLUDED.updated_at THEN {_schedules}.next_tick ELSE EXCLUDED.next_tick END
                WHERE {_schedules}.trigger_version < EXCLUDED.trigger_version
                """);
            upsert.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. schedules.Select(s => s.TriggerId)] });
            upsert.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. schedules.Select(s => s.Version)] });
            upsert.Parameters.Add(new NpgsqlParameter { Value = schedules.Select(s => firstTick(s.TriggerId)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            upsert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            batch.BatchCommands.Add(upsert);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> RunDueSchedulesAsync(DateTimeOffset now, Func<DueSchedule, ScheduleStep> plan, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var due = new List<DueSchedule>();
        await using (var select = new NpgsqlCommand($"""
            SELECT s.trigger_id, s.trigger_version, s.next_tick FROM {_schedules} s JOIN {_triggers} t ON t.id = s.trigger_id
            WHERE s.next_tick <= $1 AND t.version = s.trigger_version AND t.is_active AND t.deleted_at IS NULL
            ORDER BY s.next_tick
            FOR UPDATE OF s SKIP LOCKED
            """, connection, transaction))
        {
            select.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                due.Add(new DueSchedule(reader.GetInt32(0), reader.GetInt32(1), reader.GetFieldValue<DateTimeOffset>(2)));
            }
        }

        if (due.Count == 0)
        {
            return 0;
        }

        var steps = due.Select(d => (Due: d, Step: plan(d))).ToList();
        var jobs = steps.Where(s => s.Step.Job is not null).Select(s => s.Step.Job!).ToList();
        var enqueued = await EnqueueAsync(jobs, transaction, now, cancellationToken).ConfigureAwait(false);
        await using (var advance = new NpgsqlCommand($"""
            UPDATE {_schedules} s SET next_tick = a.next_tick, last_tick = COALESCE(a.last_tick, s.last_tick), updated_at = $4
            FROM unnest($1::integer[], $2::timestamptz[], $3::timestamptz[]) AS a(trigger_id, next_tick, last_tick)
            WHERE s.trigger_id = a.trigger_id
            """, connection, transaction))
        {
            advance.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. steps.Select(s => s.Due.TriggerId)] });
            advance.Parameters.Add(new NpgsqlParameter { Value = steps.Select(s => s.Step.NextTick).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            advance.Parameters.Add(new NpgsqlParameter { Value = steps.Select(s => s.Step.LastTick).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            advance.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            await advance.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return enqueued;
    }

    public async Task<DateTimeOffset?> GetNextTickAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT min(s.next_tick) FROM {_schedules} s JOIN {_triggers} t ON t.id = s.trigger_id
            WHERE t.version = s.trigger_version AND t.is_active AND t.deleted_at IS NULL
            """);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is DateTime tick ? new DateTimeOffset(tick, TimeSpan.Zero) : null;
    }

    /// <summary>
    /// Asks for one notification on the jobs channel, sent in its own statement off the caller's path. Requests that arrive
    /// while one is being sent collapse into one more, so a burst of enqueues costs a handful of notifications; a worker
    /// woken by one claims until the queue is empty. A failed send is left to the workers' poll.
    /// </summary>
    private void RequestJobsNotification()
    {
        Volatile.Write(ref _notificationRequested, 1);
        if (Interlocked.CompareExchange(ref _notifierRunning, 1, 0) == 0)
        {
            _ = Task.Run(SendNotificationsAsync);
        }
    }

    private async Task SendNotificationsAsync()
    {
        try
        {
            while (Interlocked.Exchange(ref _notificationRequested, 0) == 1)
            {
                await NotifyJobsAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or ObjectDisposedException or InvalidOperationException)
        {
            // The database is unreachable or the store is shutting down: workers elsewhere find the job by polling.
        }
        finally
        {
            Volatile.Write(ref _notifierRunning, 0);
        }

        if (Volatile.Read(ref _notificationRequested) == 1 && Interlocked.CompareExchange(ref _notifierRunning, 1, 0) == 0)
        {
            _ = Task.Run(SendNotificationsAsync);
        }
    }

    /// <summary>Wakes the workers of every instance (a retried job is due now).</summary>
    private async Task NotifyJobsAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT pg_notify({_channel}('jobs'), '')");
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<BomTriggerJob>> ReadJobsAsync(NpgsqlCommand command, bool takenOverColumn, CancellationToken cancellationToken)
    {
        var jobs = new List<BomTriggerJob>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(ReadJob(reader, takenOverColumn && reader.GetBoolean(24)));
        }

        return jobs;
    }

    private static BomTriggerJob ReadJob(NpgsqlDataReader reader, bool takenOver) => new()
    {
        Id = reader.GetInt64(0),
        IdempotencyKey = reader.GetString(1),
        TriggerId = reader.GetInt32(2),
        Kind = ParseKind(reader.GetString(3)),
        State = ParseState(reader.GetString(4)),
        Event = new BomTriggerEvent(reader.GetString(5), reader.GetInt32(7), reader.IsDBNull(8) ? null : reader.GetInt32(8), Parse(reader.GetString(9)))
        {
            EventId = reader.GetGuid(6),
            PreviousValues = reader.IsDBNull(10) ? null : Parse(reader.GetString(10)),
        },
        CorrelationId = reader.GetGuid(11),
        Depth = reader.GetInt32(12),
        Chain = reader.GetString(13),
        Attempt = reader.GetInt32(14),
        MaxAttempts = reader.GetInt32(15),
        DueAt = reader.GetFieldValue<DateTimeOffset>(16),
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(17),
        UpdatedAt = reader.GetFieldValue<DateTimeOffset>(18),
        LeaseUntil = reader.IsDBNull(19) ? null : reader.GetFieldValue<DateTimeOffset>(19),
        LockedBy = reader.IsDBNull(20) ? null : reader.GetString(20),
        LastError = reader.IsDBNull(21) ? null : reader.GetString(21),
        FinishedAt = reader.IsDBNull(22) ? null : reader.GetFieldValue<DateTimeOffset>(22),
        CausedByTriggerId = reader.IsDBNull(23) ? null : reader.GetInt32(23),
        TakenOver = takenOver,
    };

    internal static string KindName(BomTriggerJobKind kind) => kind switch
    {
        BomTriggerJobKind.Delayed => "delayed",
        BomTriggerJobKind.Scheduled => "scheduled",
        _ => "queued",
    };

    internal static string StateName(BomTriggerJobState state) => state switch
    {
        BomTriggerJobState.Pending => "pending",
        BomTriggerJobState.Running => "running",
        BomTriggerJobState.Succeeded => "succeeded",
        BomTriggerJobState.Skipped => "skipped",
        BomTriggerJobState.Dead => "dead",
        _ => "discarded",
    };

    private static BomTriggerJobKind ParseKind(string kind) => kind switch
    {
        "queued" => BomTriggerJobKind.Queued,
        "delayed" => BomTriggerJobKind.Delayed,
        "scheduled" => BomTriggerJobKind.Scheduled,
        _ => throw new BomTriggerException($"bom_trigger_jobs has a kind '{kind}' this version of Dermag.BomTriggers does not know."),
    };

    private static BomTriggerJobState ParseState(string state) => state switch
    {
        "pending" => BomTriggerJobState.Pending,
        "running" => BomTriggerJobState.Running,
        "succeeded" => BomTriggerJobState.Succeeded,
        "skipped" => BomTriggerJobState.Skipped,
        "dead" => BomTriggerJobState.Dead,
        "discarded" => BomTriggerJobState.Discarded,
        _ => throw new BomTriggerException($"bom_trigger_jobs has a state '{state}' this version of Dermag.BomTriggers does not know."),
    };
}
