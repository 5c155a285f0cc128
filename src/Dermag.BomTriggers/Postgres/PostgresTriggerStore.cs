using System.Data.Common;
using System.Text.Json;
using Dermag.Migrations;
using Npgsql;
using NpgsqlTypes;

namespace Dermag.BomTriggers;

/// <summary>
/// The PostgreSQL store. Table names come only from the validated schema option; every value is a parameter.
/// Each change is one statement: a CTE locks the live row (<c>FOR UPDATE</c>, so concurrent changes of one trigger from any
/// instance queue up and see each other's result), updates it with <c>version = version + 1</c> and inserts the history
/// row with the definitions before and after, both built by the schema's <c>bom_trigger_definition</c> function.
/// </summary>
internal sealed partial class PostgresTriggerStore : IBomTriggerStore, IBomTriggerJobStore
{
    private const string Columns =
        "id, uuid, name, description, trigger_event, trigger_condition::text, action_type, action_config::text, source_task_type_id, target_task_type_id, priority, is_active, created_by, created_at, updated_at, version, deleted_at, deleted_by, execution::text";

    private const string HistoryColumns =
        "trigger_id, version, change, changed_by, changed_at, definition::text, previous::text, restored_from_version";

    private const string LogColumns =
        "id, trigger_id, task_id, executed_at, success, input_data::text, result_data::text, error_message, outcome, duration_ms, correlation_id, depth, job_id, attempt, caused_by_trigger_id";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _triggers;
    private readonly string _logs;
    private readonly string _history;
    private readonly string _definition;
    private readonly string _revision;
    private readonly string _eventCounts;
    private readonly string _update;
    private readonly string _delete;
    private readonly string _toggle;
    private readonly string _restore;

    public PostgresTriggerStore(NpgsqlDataSource dataSource, string schema)
    {
        _dataSource = dataSource;
        var quoted = SqlIdentifier.Quote(schema, "PostgresTriggerStoreOptions.Schema");
        _triggers = quoted + ".bom_triggers";
        _logs = quoted + ".bom_trigger_logs";
        _history = quoted + ".bom_trigger_history";
        _definition = quoted + ".bom_trigger_definition";
        _revision = quoted + ".bom_trigger_revision";
        _eventCounts = quoted + ".bom_trigger_event_counts";
        _jobs = quoted + ".bom_trigger_jobs";
        _schedules = quoted + ".bom_trigger_schedules";
        _channel = quoted + ".bom_trigger_channel";
        // $1-$13 the definition (AddDefinition; $1 uuid and $12 created_by are typed but unused: the trigger keeps both),
        // $14 the id, $15 the author.
        _update = Change(
            "name = $2, description = $3, trigger_event = $4, trigger_condition = $5, action_type = $6, action_config = $7, "
            + "source_task_type_id = $8, target_task_type_id = $9, priority = $10, is_active = $11, updated_at = $13, execution = $16",
            idParameter: "$14", liveOnly: true, "'updated'", changedBy: "$15", changedAt: "$13", restoredFrom: "NULL");

        // $1 the id, $2 the time, $3 the author.
        _delete = Change(
            "deleted_at = $2, deleted_by = $3, updated_at = $2",
            idParameter: "$1", liveOnly: true, "'deleted'", changedBy: "$3", changedAt: "$2", restoredFrom: "NULL");

        // $1 the id, $2 the time, $3 the author.
        _toggle = Change(
            "is_active = NOT t.is_active, updated_at = $2",
            idParameter: "$1", liveOnly: true, "'toggled'", changedBy: "$3", changedAt: "$2", restoredFrom: "NULL");

        // As an update, live or deleted, undeleting; $16 the restored version, $17 the execution.
        _restore = Change(
            "name = $2, description = $3, trigger_event = $4, trigger_condition = $5, action_type = $6, action_config = $7, "
            + "source_task_type_id = $8, target_task_type_id = $9, priority = $10, is_active = $11, updated_at = $13, deleted_at = NULL, deleted_by = NULL, execution = $17",
            idParameter: "$14", liveOnly: false, "'restored'", changedBy: "$15", changedAt: "$13", restoredFrom: "$16");
    }

    public async Task<BomTrigger> InsertAsync(BomTriggerDefinition definition, Guid uuid, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // $1-$13 the definition (AddDefinition), $14 the author, $15 the execution.
        await using var command = _dataSource.CreateCommand($"""
            WITH saved AS (
                INSERT INTO {_triggers} AS t (uuid, name, description, trigger_event, trigger_condition, action_type, action_config,
                    source_task_type_id, target_task_type_id, priority, is_active, created_by, created_at, updated_at, version, execution)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, 1, $15)
                RETURNING t.*, {_definition}(t) AS definition
            ), history AS (
                INSERT INTO {_history} (trigger_id, version, change, changed_by, changed_at, definition)
                SELECT id, version, 'created', $14, $13, definition FROM saved
            )
            SELECT {Columns} FROM saved
            """);
        AddDefinition(command, definition, uuid, now);
        AddNullableInt(command, changedBy);
        AddExecution(command, definition);
        return (await ReadTriggersAsync(command, cancellationToken).ConfigureAwait(false))[0];
    }

    public async Task<bool> InsertIfAbsentAsync(BomTriggerDefinition definition, Guid uuid, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // $1-$13 the definition; the creator ($12) is the author; $14 the execution.
        await using var command = _dataSource.CreateCommand($"""
            WITH saved AS (
                INSERT INTO {_triggers} AS t (uuid, name, description, trigger_event, trigger_condition, action_type, action_config,
                    source_task_type_id, target_task_type_id, priority, is_active, created_by, created_at, updated_at, version, execution)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, 1, $14)
                ON CONFLICT (uuid) DO NOTHING
                RETURNING t.id, t.version, {_definition}(t) AS definition
            ), history AS (
                INSERT INTO {_history} (trigger_id, version, change, changed_by, changed_at, definition)
                SELECT id, version, 'created', $12, $13, definition FROM saved
            )
            SELECT count(*) FROM saved
            """);
        AddDefinition(command, definition, uuid, now);
        AddExecution(command, definition);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 1;
    }

    public async Task<BomTrigger?> UpdateAsync(int id, BomTriggerDefinition definition, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_update);
        AddDefinition(command, definition, null, now);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
        AddNullableInt(command, changedBy);
        AddExecution(command, definition);
        return await ReadSingleAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(int id, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_delete);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        AddNullableInt(command, changedBy);
        return await ReadSingleAsync(command, cancellationToken).ConfigureAwait(false) is not null;
    }

    public async Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {Columns} FROM {_triggers} WHERE id = $1 AND deleted_at IS NULL");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
        return await ReadSingleAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery query, CancellationToken cancellationToken)
    {
        // $1 the event or NULL, $2 active or NULL, $3 deleted (true) or live (false) triggers.
        await using var command = _dataSource.CreateCommand($"""
            SELECT {Columns} FROM {_triggers}
            WHERE ($1::text IS NULL OR trigger_event = $1) AND ($2::boolean IS NULL OR is_active = $2) AND (deleted_at IS NOT NULL) = $3
            ORDER BY priority DESC, id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.TriggerEvent ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.IsActive ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = query.Deleted });
        return await ReadTriggersAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BomTrigger?> ToggleAsync(int id, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_toggle);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        AddNullableInt(command, changedBy);
        return await ReadSingleAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BomTrigger?> RestoreAsync(int id, int restoredFrom, BomTriggerDefinition definition, int? changedBy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_restore);
        AddDefinition(command, definition, null, now);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
        AddNullableInt(command, changedBy);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = restoredFrom });
        AddExecution(command, definition);
        return await ReadSingleAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BomTriggerVersion?> GetVersionAsync(int triggerId, int version, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {HistoryColumns} FROM {_history} WHERE trigger_id = $1 AND version = $2");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = triggerId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadVersion(reader) : null;
    }

    public async Task<BomTriggerHistoryPage> GetHistoryAsync(int triggerId, int limit, int offset, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT {HistoryColumns}, count(*) OVER () FROM {_history} WHERE trigger_id = $1 ORDER BY version DESC LIMIT $2 OFFSET $3
            """);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = triggerId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = offset });
        var items = new List<BomTriggerVersion>();
        long total = -1;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(ReadVersion(reader));
                total = reader.GetInt64(8);
            }
        }

        if (total < 0)
        {
            // The page is past the end (or empty); count separately so the total is still right.
            await using var count = _dataSource.CreateCommand($"SELECT count(*) FROM {_history} WHERE trigger_id = $1");
            count.Parameters.Add(new NpgsqlParameter<int> { TypedValue = triggerId });
            total = (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        return new BomTriggerHistoryPage(items, total, limit, offset);
    }

    public async Task WriteLogsAsync(IReadOnlyList<NewTriggerLog> logs, DbTransaction? enlisted, CancellationToken cancellationToken)
    {
        // One statement, one round trip, however many triggers ran in the chain.
        NpgsqlCommand command;
        if (enlisted is not null)
        {
            var transaction = enlisted as NpgsqlTransaction ?? throw new BomTriggerException(
                $"The dispatch is enlisted in a {enlisted.GetType().Name}; the PostgreSQL trigger store can only write its log rows in an NpgsqlTransaction.");
            command = new NpgsqlCommand(logs.Count == 1 ? LogInsertOneSql : LogInsertSql, transaction.Connection, transaction);
        }
        else
        {
            command = _dataSource.CreateCommand(logs.Count == 1 ? LogInsertOneSql : LogInsertSql);
        }

        await using (command.ConfigureAwait(false))
        {
            AddLogParameters(command.Parameters, logs);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The statement that writes log rows, with <see cref="AddLogParameters"/> (which fills <see cref="LogInsertOneSql"/>'s
    /// parameters for a single row); the job store writes an attempt's row with them.
    /// </summary>
    internal string LogInsertSql => $"""
        INSERT INTO {_logs} (trigger_id, task_id, executed_at, success, input_data, result_data, error_message, outcome, duration_ms, correlation_id, depth, job_id, attempt, caused_by_trigger_id)
        SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::boolean[], $5::jsonb[], $6::jsonb[], $7::text[], $8::text[], $9::double precision[], $10::uuid[], $11::integer[], $12::bigint[], $13::integer[], $14::integer[])
        """;

    /// <summary>The statement for one row (the common case): plain values, no arrays to build and unnest.</summary>
    internal string LogInsertOneSql => $"""
        INSERT INTO {_logs} (trigger_id, task_id, executed_at, success, input_data, result_data, error_message, outcome, duration_ms, correlation_id, depth, job_id, attempt, caused_by_trigger_id)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14)
        """;

    internal static void AddLogParameters(NpgsqlParameterCollection parameters, IReadOnlyList<NewTriggerLog> logs)
    {
        if (logs.Count == 1)
        {
            var log = logs[0];
            parameters.Add(new NpgsqlParameter<int> { TypedValue = log.TriggerId });
            parameters.Add(new NpgsqlParameter { Value = (object?)log.TaskId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
            parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = log.ExecutedAt });
            parameters.Add(new NpgsqlParameter<bool> { TypedValue = log.Success });
            parameters.Add(new NpgsqlParameter { Value = (object?)log.Input?.GetRawText() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            parameters.Add(new NpgsqlParameter { Value = (object?)log.Result?.GetRawText() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            parameters.Add(new NpgsqlParameter { Value = (object?)log.Error ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            parameters.Add(new NpgsqlParameter<string> { TypedValue = log.Outcome });
            parameters.Add(new NpgsqlParameter<double> { TypedValue = log.DurationMs });
            parameters.Add(new NpgsqlParameter<Guid> { TypedValue = log.CorrelationId });
            parameters.Add(new NpgsqlParameter<int> { TypedValue = log.Depth });
            parameters.Add(new NpgsqlParameter { Value = (object?)log.JobId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            parameters.Add(new NpgsqlParameter { Value = (object?)log.Attempt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
            parameters.Add(new NpgsqlParameter { Value = (object?)log.CausedByTriggerId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
            return;
        }

        parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. logs.Select(l => l.TriggerId)] });
        parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.TaskId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. logs.Select(l => l.ExecutedAt)] });
        parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. logs.Select(l => l.Success)] });
        parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.Input?.GetRawText()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.Result?.GetRawText()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.Error).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. logs.Select(l => l.Outcome)] });
        parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. logs.Select(l => l.DurationMs)] });
        parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. logs.Select(l => l.CorrelationId)] });
        parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. logs.Select(l => l.Depth)] });
        parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.JobId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.Attempt).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.CausedByTriggerId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
    }

    public async Task<BomTriggerLogPage> QueryLogsAsync(BomTriggerLogQuery query, CancellationToken cancellationToken)
    {
        // $1 trigger_id, $2 task_id, $3 correlation_id, $4 outcome, $5 from (inclusive), $6 to (exclusive); null means any.
        // Sent unprepared, so each query is planned with its values and an unset criterion folds away.
        const string Filter = """
            ($1::integer IS NULL OR trigger_id = $1) AND ($2::integer IS NULL OR task_id = $2) AND ($3::uuid IS NULL OR correlation_id = $3)
            AND ($4::text IS NULL OR outcome = $4) AND ($5::timestamptz IS NULL OR executed_at >= $5) AND ($6::timestamptz IS NULL OR executed_at < $6)
            """;
        // Without a count, one row more than the page says whether another page follows, and the sort stops early on the index.
        var totalColumn = query.CountTotal ? "count(*) OVER ()" : "0::bigint";
        await using var command = _dataSource.CreateCommand($"""
            SELECT {LogColumns}, {totalColumn} FROM {_logs} WHERE {Filter} ORDER BY executed_at DESC, id DESC LIMIT $7 OFFSET $8
            """);
        AddLogFilter(command, query);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.CountTotal ? query.Limit : query.Limit + 1 });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Offset });
        var items = new List<BomTriggerLog>();
        long total = -1;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(ReadLog(reader));
                total = reader.GetInt64(15);
            }
        }

        if (!query.CountTotal)
        {
            var more = items.Count > query.Limit;
            var page = more ? items[..query.Limit] : items;
            return new BomTriggerLogPage(page, query.Offset + page.Count + (more ? 1 : 0), query.Limit, query.Offset) { IsTotalExact = false };
        }

        if (total < 0)
        {
            // The page is past the end (or empty); count separately so the total is still right.
            await using var count = _dataSource.CreateCommand($"SELECT count(*) FROM {_logs} WHERE {Filter}");
            AddLogFilter(count, query);
            total = (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        return new BomTriggerLogPage(items, total, query.Limit, query.Offset);
    }

    private static void AddLogFilter(NpgsqlCommand command, BomTriggerLogQuery query)
    {
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)query.TriggerId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)query.TaskId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Uuid, Value = (object?)query.CorrelationId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)query.Outcome?.ToString() ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)query.From?.ToUniversalTime() ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)query.To?.ToUniversalTime() ?? DBNull.Value });
    }

    public async Task<IReadOnlyList<BomTriggerLog>> GetRecentFailuresAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {LogColumns} FROM {_logs} WHERE success = false ORDER BY executed_at DESC, id DESC LIMIT $1");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var items = new List<BomTriggerLog>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add(ReadLog(reader));
        }

        return items;
    }

    public async Task<IReadOnlyList<BomTriggerRunSummary>> GetRunSummariesAsync(int[] triggerIds, DateTimeOffset since, CancellationToken cancellationToken)
    {
        // $1 trigger ids (in order), $2 window start. The first two laterals read idx_bom_trigger_logs_trigger_time only: the
        // newest row per trigger is its first index entry, and the window is one index range carrying the outcome. The
        // "seen" window starts at the minute of the later of $2 and the trigger's last change (live, active triggers only):
        // events counted from there, minus runs from there (a job's attempts count once), floored at 0.
        await using var command = _dataSource.CreateCommand($"""
            SELECT t.id, last.executed_at, last.outcome, c.executed, c.failed, c.suppressed,
                   CASE WHEN seen.start IS NULL THEN 0 ELSE greatest(0, ev.count - ran.count) END
            FROM unnest($1::integer[]) WITH ORDINALITY AS t(id, ord)
            LEFT JOIN LATERAL (
                SELECT tr.trigger_event, date_trunc('minute', greatest($2, tr.updated_at), 'UTC') AS start FROM {_triggers} tr
                WHERE tr.id = t.id AND tr.is_active AND tr.deleted_at IS NULL
            ) seen ON true
            LEFT JOIN LATERAL (
                SELECT coalesce(sum(e.count), 0)::bigint AS count FROM {_eventCounts} e WHERE e.event_type = seen.trigger_event AND e.bucket >= seen.start
            ) ev ON true
            LEFT JOIN LATERAL (
                SELECT (count(*) FILTER (WHERE l.job_id IS NULL) + count(DISTINCT l.job_id))::bigint AS count
                FROM {_logs} l WHERE l.trigger_id = t.id AND l.executed_at >= seen.start
            ) ran ON true
            LEFT JOIN LATERAL (
                SELECT l.executed_at, l.outcome FROM {_logs} l WHERE l.trigger_id = t.id ORDER BY l.executed_at DESC, l.id DESC LIMIT 1
            ) last ON true
            CROSS JOIN LATERAL (
                SELECT count(*) FILTER (WHERE l.outcome = 'Executed') AS executed,
                       count(*) FILTER (WHERE l.outcome = 'Failed') AS failed,
                       count(*) FILTER (WHERE l.outcome = 'SuppressedLoop') AS suppressed
                FROM {_logs} l WHERE l.trigger_id = t.id AND l.executed_at >= $2
            ) c
            ORDER BY t.ord
            """);
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = triggerIds });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = since });
        var items = new List<BomTriggerRunSummary>(triggerIds.Length);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add(new BomTriggerRunSummary
            {
                TriggerId = reader.GetInt32(0),
                LastRunAt = reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1),
                LastOutcome = reader.IsDBNull(2) ? null : reader.GetString(2),
                Executed = reader.GetInt64(3),
                Failed = reader.GetInt64(4),
                SuppressedLoop = reader.GetInt64(5),
                ConditionFalse = reader.GetInt64(6),
            });
        }

        return items;
    }

    public async Task AddEventCountsAsync(IReadOnlyList<EventCount> counts, CancellationToken cancellationToken)
    {
        // $1 event types, $2 buckets, $3 counts. Additive, so instances flushing into the same minute add up; sorted by key so
        // two instances' upserts lock rows in the same order and cannot deadlock.
        var sorted = counts.OrderBy(c => c.EventType, StringComparer.Ordinal).ThenBy(c => c.Bucket).ToArray();
        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_eventCounts} AS t (event_type, bucket, count)
            SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[])
            ON CONFLICT (event_type, bucket) DO UPDATE SET count = t.count + excluded.count
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. sorted.Select(c => c.EventType)] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. sorted.Select(c => c.Bucket)] });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. sorted.Select(c => c.Count)] });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> DeleteEventCountsAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"DELETE FROM {_eventCounts} WHERE bucket < $1");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = before });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> DeleteLogsAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken)
    {
        // SKIP LOCKED lets several instances clean up at once without waiting on each other.
        await using var command = _dataSource.CreateCommand($"""
            DELETE FROM {_logs}
            WHERE id IN (SELECT id FROM {_logs} WHERE executed_at < $1 ORDER BY executed_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            """);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = before });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> GetRevisionAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT revision FROM {_revision} WHERE id = 1");
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long revision ? revision : 0;
    }

    /// <summary>
    /// One statement that changes a trigger and writes its history row. <c>old</c> locks the row and keeps its definition: a
    /// concurrent change of the same trigger waits for the lock, then (READ COMMITTED) sees the committed row, so
    /// <c>version + 1</c> and the previous definition are always those of the change that went before, and a change that
    /// finds the trigger deleted meanwhile changes nothing. The revision trigger on <c>bom_triggers</c> fires as for any UPDATE.
    /// </summary>
    private string Change(string set, string idParameter, bool liveOnly, string change, string changedBy, string changedAt, string restoredFrom) => $"""
        WITH old AS (
            SELECT o.id AS old_id, {_definition}(o) AS previous FROM {_triggers} o
            WHERE o.id = {idParameter}{(liveOnly ? " AND o.deleted_at IS NULL" : "")}
            FOR UPDATE
        ), saved AS (
            UPDATE {_triggers} t SET {set}, version = t.version + 1
            FROM old WHERE t.id = old.old_id
            RETURNING t.*, {_definition}(t) AS definition, old.previous
        ), history AS (
            INSERT INTO {_history} (trigger_id, version, change, changed_by, changed_at, definition, previous, restored_from_version)
            SELECT id, version, {change}, {changedBy}, {changedAt}, definition, previous, {restoredFrom} FROM saved
        )
        SELECT {Columns} FROM saved
        """;

    private static void AddExecution(NpgsqlCommand command, BomTriggerDefinition definition) =>
        command.Parameters.Add(new NpgsqlParameter { Value = (definition.Execution ?? BomTriggerExecution.Default).ToJson(), NpgsqlDbType = NpgsqlDbType.Jsonb });

    private static void AddNullableInt(NpgsqlCommand command, int? value) =>
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });

    private static async Task<BomTrigger?> ReadSingleAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rows = await ReadTriggersAsync(command, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private static void AddDefinition(NpgsqlCommand command, BomTriggerDefinition d, Guid? uuid, DateTimeOffset now)
    {
        var p = command.Parameters;
        p.Add(new NpgsqlParameter { Value = (object?)uuid ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        p.Add(new NpgsqlParameter<string> { TypedValue = d.Name });
        p.Add(new NpgsqlParameter { Value = (object?)d.Description ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<string> { TypedValue = d.TriggerEvent });
        p.Add(new NpgsqlParameter { Value = (d.TriggerCondition ?? TriggerValidator.EmptyObject).GetRawText(), NpgsqlDbType = NpgsqlDbType.Jsonb });
        p.Add(new NpgsqlParameter<string> { TypedValue = d.ActionType });
        p.Add(new NpgsqlParameter { Value = (d.ActionConfig ?? TriggerValidator.EmptyObject).GetRawText(), NpgsqlDbType = NpgsqlDbType.Jsonb });
        p.Add(new NpgsqlParameter { Value = (object?)d.SourceTaskTypeId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter { Value = (object?)d.TargetTaskTypeId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter<int> { TypedValue = d.Priority });
        p.Add(new NpgsqlParameter<bool> { TypedValue = d.IsActive });
        p.Add(new NpgsqlParameter { Value = (object?)d.CreatedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
    }

    private static async Task<List<BomTrigger>> ReadTriggersAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var list = new List<BomTrigger>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new BomTrigger
            {
                Id = reader.GetInt32(0),
                Uuid = reader.GetGuid(1),
                Name = reader.GetString(2),
                Description = reader.IsDBNull(3) ? null : reader.GetString(3),
                TriggerEvent = reader.GetString(4),
                TriggerCondition = Parse(reader.GetString(5)),
                ActionType = reader.GetString(6),
                ActionConfig = Parse(reader.GetString(7)),
                SourceTaskTypeId = reader.IsDBNull(8) ? null : reader.GetInt32(8),
                TargetTaskTypeId = reader.IsDBNull(9) ? null : reader.GetInt32(9),
                Priority = reader.GetInt32(10),
                IsActive = reader.GetBoolean(11),
                CreatedBy = reader.IsDBNull(12) ? null : reader.GetInt32(12),
                CreatedAt = reader.GetFieldValue<DateTimeOffset>(13),
                UpdatedAt = reader.GetFieldValue<DateTimeOffset>(14),
                Version = reader.GetInt32(15),
                DeletedAt = reader.IsDBNull(16) ? null : reader.GetFieldValue<DateTimeOffset>(16),
                DeletedBy = reader.IsDBNull(17) ? null : reader.GetInt32(17),
                Execution = BomTriggerExecution.FromJson(reader.GetString(18)),
            });
        }

        return list;
    }

    private static BomTriggerLog ReadLog(DbDataReader reader) => new()
    {
        Id = reader.GetInt64(0),
        TriggerId = reader.GetInt32(1),
        TaskId = reader.IsDBNull(2) ? null : reader.GetInt32(2),
        ExecutedAt = reader.GetFieldValue<DateTimeOffset>(3),
        Success = reader.GetBoolean(4),
        InputData = reader.IsDBNull(5) ? null : Parse(reader.GetString(5)),
        ResultData = reader.IsDBNull(6) ? null : Parse(reader.GetString(6)),
        ErrorMessage = reader.IsDBNull(7) ? null : reader.GetString(7),
        Outcome = reader.GetString(8),
        Duration = reader.IsDBNull(9) ? null : TimeSpan.FromMilliseconds(reader.GetDouble(9)),
        CorrelationId = reader.IsDBNull(10) ? null : reader.GetGuid(10),
        Depth = reader.GetInt32(11),
        JobId = reader.IsDBNull(12) ? null : reader.GetInt64(12),
        Attempt = reader.IsDBNull(13) ? null : reader.GetInt32(13),
        CausedByTriggerId = reader.IsDBNull(14) ? null : reader.GetInt32(14),
    };

    private static BomTriggerVersion ReadVersion(DbDataReader reader) => new()
    {
        TriggerId = reader.GetInt32(0),
        Version = reader.GetInt32(1),
        Change = reader.GetString(2) switch
        {
            "created" => BomTriggerChange.Created,
            "updated" => BomTriggerChange.Updated,
            "toggled" => BomTriggerChange.Toggled,
            "deleted" => BomTriggerChange.Deleted,
            "restored" => BomTriggerChange.Restored,
            var other => throw new BomTriggerException($"bom_trigger_history has a change '{other}' this version of Dermag.BomTriggers does not know."),
        },
        ChangedBy = reader.IsDBNull(3) ? null : reader.GetInt32(3),
        ChangedAt = reader.GetFieldValue<DateTimeOffset>(4),
        Definition = ReadDefinition(reader.GetString(5)),
        Previous = reader.IsDBNull(6) ? null : ReadDefinition(reader.GetString(6)),
        RestoredFromVersion = reader.IsDBNull(7) ? null : reader.GetInt32(7),
    };

    /// <summary>Reads the document <c>bom_trigger_definition</c> builds.</summary>
    private static BomTriggerDefinition ReadDefinition(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new BomTriggerDefinition
        {
            Name = root.GetProperty("name").GetString()!,
            Description = root.GetProperty("description").GetString(),
            TriggerEvent = root.GetProperty("triggerEvent").GetString()!,
            TriggerCondition = root.GetProperty("triggerCondition").Clone(),
            ActionType = root.GetProperty("actionType").GetString()!,
            ActionConfig = root.GetProperty("actionConfig").Clone(),
            SourceTaskTypeId = NullableInt(root.GetProperty("sourceTaskTypeId")),
            TargetTaskTypeId = NullableInt(root.GetProperty("targetTaskTypeId")),
            Priority = root.GetProperty("priority").GetInt32(),
            IsActive = root.GetProperty("isActive").GetBoolean(),
            CreatedBy = NullableInt(root.GetProperty("createdBy")),
            Execution = root.TryGetProperty("execution", out var execution) ? BomTriggerExecution.FromElement(execution) : BomTriggerExecution.Default,
        };

        static int? NullableInt(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : value.GetInt32();
    }

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
