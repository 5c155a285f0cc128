using System.Data.Common;
using System.Text.Json;
using Dermag.Migrations;
using Npgsql;
using NpgsqlTypes;

namespace Dermag.BomTriggers;

/// <summary>The PostgreSQL store. Table names come only from the validated schema option; every value is a parameter.</summary>
internal sealed class PostgresTriggerStore : IBomTriggerStore
{
    private const string Columns =
        "id, uuid, name, description, trigger_event, trigger_condition::text, action_type, action_config::text, source_task_type_id, target_task_type_id, priority, is_active, created_by, created_at, updated_at";

    private const string LogColumns =
        "id, trigger_id, task_id, executed_at, success, input_data::text, result_data::text, error_message, outcome, duration_ms, correlation_id, depth";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _triggers;
    private readonly string _logs;
    private readonly string _revision;

    public PostgresTriggerStore(NpgsqlDataSource dataSource, string schema)
    {
        _dataSource = dataSource;
        var quoted = SqlIdentifier.Quote(schema, "PostgresTriggerStoreOptions.Schema");
        _triggers = quoted + ".bom_triggers";
        _logs = quoted + ".bom_trigger_logs";
        _revision = quoted + ".bom_trigger_revision";
    }

    public async Task<BomTrigger> InsertAsync(BomTriggerDefinition definition, Guid uuid, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_triggers} (uuid, name, description, trigger_event, trigger_condition, action_type, action_config,
                source_task_type_id, target_task_type_id, priority, is_active, created_by, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
            RETURNING {Columns}
            """);
        AddDefinition(command, definition, uuid, now);
        return (await ReadTriggersAsync(command, cancellationToken).ConfigureAwait(false))[0];
    }

    public async Task<bool> InsertIfAbsentAsync(BomTriggerDefinition definition, Guid uuid, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_triggers} (uuid, name, description, trigger_event, trigger_condition, action_type, action_config,
                source_task_type_id, target_task_type_id, priority, is_active, created_by, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
            ON CONFLICT (uuid) DO NOTHING
            """);
        AddDefinition(command, definition, uuid, now);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<BomTrigger?> UpdateAsync(int id, BomTriggerDefinition definition, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            UPDATE {_triggers} SET name = $2, description = $3, trigger_event = $4, trigger_condition = $5, action_type = $6,
                action_config = $7, source_task_type_id = $8, target_task_type_id = $9, priority = $10, is_active = $11, updated_at = $13
            WHERE id = $14
            RETURNING {Columns}
            """);
        // $1 (uuid) and $12 (created_by) are typed but unused: an update keeps both.
        AddDefinition(command, definition, null, now);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
        var rows = await ReadTriggersAsync(command, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<bool> DeleteAsync(int id, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"DELETE FROM {_triggers} WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<BomTrigger?> GetAsync(int id, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {Columns} FROM {_triggers} WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
        var rows = await ReadTriggersAsync(command, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<BomTrigger>> ListAsync(BomTriggerQuery query, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT {Columns} FROM {_triggers}
            WHERE ($1::text IS NULL OR trigger_event = $1) AND ($2::boolean IS NULL OR is_active = $2)
            ORDER BY priority DESC, id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.TriggerEvent ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.IsActive ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Boolean });
        return await ReadTriggersAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BomTrigger?> ToggleAsync(int id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"UPDATE {_triggers} SET is_active = NOT is_active, updated_at = $2 WHERE id = $1 RETURNING {Columns}");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        var rows = await ReadTriggersAsync(command, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task WriteLogsAsync(IReadOnlyList<NewTriggerLog> logs, DbTransaction? enlisted, CancellationToken cancellationToken)
    {
        // One statement, one round trip, however many triggers ran in the chain.
        var sql = $"""
            INSERT INTO {_logs} (trigger_id, task_id, executed_at, success, input_data, result_data, error_message, outcome, duration_ms, correlation_id, depth)
            SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::boolean[], $5::jsonb[], $6::jsonb[], $7::text[], $8::text[], $9::double precision[], $10::uuid[], $11::integer[])
            """;
        NpgsqlCommand command;
        if (enlisted is not null)
        {
            var transaction = enlisted as NpgsqlTransaction ?? throw new BomTriggerException(
                $"The dispatch is enlisted in a {enlisted.GetType().Name}; the PostgreSQL trigger store can only write its log rows in an NpgsqlTransaction.");
            command = new NpgsqlCommand(sql, transaction.Connection, transaction);
        }
        else
        {
            command = _dataSource.CreateCommand(sql);
        }

        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. logs.Select(l => l.TriggerId)] });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. logs.Select(l => l.TaskId)] });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. logs.Select(l => l.ExecutedAt)] });
            command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. logs.Select(l => l.Success)] });
            command.Parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.Input?.GetRawText()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.Result?.GetRawText()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = logs.Select(l => l.Error).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. logs.Select(l => l.Outcome)] });
            command.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. logs.Select(l => l.DurationMs)] });
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. logs.Select(l => l.CorrelationId)] });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. logs.Select(l => l.Depth)] });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<BomTriggerLogPage> GetLogsAsync(int triggerId, int limit, int offset, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT {LogColumns}, count(*) OVER () FROM {_logs} WHERE trigger_id = $1 ORDER BY executed_at DESC, id DESC LIMIT $2 OFFSET $3
            """);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = triggerId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = offset });
        var items = new List<BomTriggerLog>();
        long total = -1;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(ReadLog(reader));
                total = reader.GetInt64(12);
            }
        }

        if (total < 0)
        {
            // The page is past the end (or empty); count separately so the total is still right.
            await using var count = _dataSource.CreateCommand($"SELECT count(*) FROM {_logs} WHERE trigger_id = $1");
            count.Parameters.Add(new NpgsqlParameter<int> { TypedValue = triggerId });
            total = (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        return new BomTriggerLogPage(items, total, limit, offset);
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
    };

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
