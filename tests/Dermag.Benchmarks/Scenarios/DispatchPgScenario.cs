using Dermag.BomTriggers;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>
/// Events per second with the PostgreSQL store and execution logging (every dispatch writes its rows in one batched
/// statement), 8 clients. The floor is raw Npgsql writing the same 5 rows per event with the same one statement,
/// so the difference is the engine's own cost.
/// </summary>
internal static class DispatchPgScenario
{
    private const int Clients = 8;
    private const int Triggers = 1_000;

    public static async Task RunAsync(BenchmarkRun run)
    {
        var connectionString = await BenchmarkRun.CreateDatabaseAsync("dispatchpg");
        await using var provider = await BomRuleSet.StartAsync(b => b.UsePostgres(connectionString));
        await using var dataSource = BenchmarkRun.CreateDataSource(connectionString);
        Console.WriteLine($"postgres: {await MachineInfo.PostgresVersionAsync(dataSource)}");
        await BomRuleSet.LoadAsync(provider, Triggers);
        await BomRuleSet.StartHostedAsync(provider);
        var engine = provider.GetRequiredService<IBomTriggerEngine>();
        var events = BomRuleSet.Events(Triggers, 4096);
        // Strict: a failed log write would throw here instead of being swallowed.
        var check = await engine.DispatchAsync(events[0], new DispatchOptions { Strict = true });
        var executedPerEvent = check.OfKind(TriggerOutcomeKind.Executed).Count();
        var triggerIds = check.OfKind(TriggerOutcomeKind.Executed).Select(o => o.TriggerId).ToArray();
        var stored = await provider.GetRequiredService<IBomTriggerManager>().GetAsync(triggerIds[0]);
        BenchmarkRun.Note(string.Create(CultureInfo.InvariantCulture,
            $"dispatch-pg: {check.Outcomes.Count} candidates evaluated, {check.NotConsidered} excluded by the rule index, {executedPerEvent} executed; stored condition reads back as {stored!.TriggerCondition.GetRawText()}"));

        var counters = new long[Clients * 2];
        var measured = await Harness.CompareAsync(Clients, run.RoundDuration, run.Rounds, TrimAsync,
            ($"Dermag engine + PostgreSQL log, {Triggers} triggers", async client =>
            {
                var report = await engine.DispatchAsync(events[(int)(counters[client]++ & 4095)]);
                _ = report;
            }),
            ("floor: raw Npgsql, same batched INSERT", async client =>
            {
                var evt = events[(int)(counters[Clients + client]++ & 4095)];
                await FloorInsertAsync(dataSource, triggerIds, evt);
            }));

        Harness.PrintTable(string.Create(CultureInfo.InvariantCulture, $"dispatch-pg: {Clients} clients, {executedPerEvent} log rows per event in one statement"), measured);
        BenchmarkRun.Note(string.Create(CultureInfo.InvariantCulture,
            $"dispatch-pg engine {measured[0].Throughput:N0} events/s = {measured[0].Throughput * executedPerEvent:N0} log rows/s; engine/floor {measured[0].Throughput / measured[1].Throughput:0.00}"));
        await BomRuleSet.StopHostedAsync(provider);

        async Task TrimAsync()
        {
            await using var command = dataSource.CreateCommand("TRUNCATE bom_trigger_logs");
            await command.ExecuteNonQueryAsync();
        }
    }

    private static async Task FloorInsertAsync(NpgsqlDataSource dataSource, int[] triggerIds, BomTriggerEvent evt)
    {
        var n = triggerIds.Length;
        var now = TimeProvider.System.GetUtcNow();
        var input = evt.Data.GetRawText();
        var correlation = Guid.CreateVersion7(now);
        await using var command = dataSource.CreateCommand("""
            INSERT INTO bom_trigger_logs (trigger_id, task_id, executed_at, success, input_data, result_data, error_message, outcome, duration_ms, correlation_id, depth)
            SELECT * FROM unnest($1::integer[], $2::integer[], $3::timestamptz[], $4::boolean[], $5::jsonb[], $6::jsonb[], $7::text[], $8::text[], $9::double precision[], $10::uuid[], $11::integer[])
            """);
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = triggerIds });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = Enumerable.Repeat(evt.TaskId, n).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = Enumerable.Repeat(now, n).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = Enumerable.Repeat(true, n).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = Enumerable.Repeat(input, n).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = new string?[n], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = new string?[n], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Enumerable.Repeat("Executed", n).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = new double[n] });
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = Enumerable.Repeat(correlation, n).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = new int[n] });
        await command.ExecuteNonQueryAsync();
    }
}
