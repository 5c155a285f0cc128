using System.Diagnostics;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers.Tests.Queue;

/// <summary>
/// Three app instances as separate OS processes on one database; one is killed with SIGKILL while they work through
/// thousands of queued jobs, a per-second schedule ticks and triggers are edited.
/// </summary>
public sealed class MultiProcessQueueTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const int Events = 2000;

    [Fact]
    public async Task ThreeProcesses_OneKilled_EveryJobRuns_DuplicatesOnlyInFlight_TicksOnce_EditsReachEveryProcess()
    {
        var schema = TriggerTestContext.NewSchema();
        await using var context = await TriggerTestContext.CreateAsync(
            b => b.UsePostgres(database.ConnectionString, o => o.Schema = schema),
            o => o.WorkerCount = 0,
            b =>
            {
                b.AddAction<RecordingAction>("RECORD");
                b.Services.AddSingleton(new RecordTarget(database.DataSource, schema));
            });
        await using (var tables = database.DataSource.CreateCommand($"""
            CREATE TABLE "{schema}".runs (key TEXT NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL, trigger_id INTEGER NOT NULL);
            CREATE TABLE "{schema}".probe (pid INTEGER PRIMARY KEY, revision BIGINT NOT NULL);
            """))
        {
            await tables.ExecuteNonQueryAsync();
        }

        var queued = (await context.Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "queued", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = "RECORD", Execution = new() { Mode = TriggerExecutionMode.Queued },
        })).Trigger!;
        var ticking = (await context.Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "every second", TriggerEvent = BomTriggerEvents.Schedule, ActionType = "RECORD",
            Execution = new() { Schedule = new() { Cron = "* * * * * *" } },
        })).Trigger!;
        var edited = (await context.Store.CreateAsync(new BomTriggerDefinition { Name = "edited", TriggerEvent = BomTriggerEvents.BomUpdate, ActionType = "RECORD", IsActive = false })).Trigger!;

        var processes = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => StartAsync(schema)));
        try
        {
            // Jobs in flight at the kill: four events whose first attempt holds its job; the process running one is the victim.
            await Task.WhenAll(Enumerable.Range(1, 4).Select(n => context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, -n, 1, """{"hold":true}"""))));
            await WaitUntilAsync(async () => await ScalarAsync($"SELECT count(*) FROM \"{schema}\".runs WHERE trigger_id = {queued.Id}") >= 1, "a held job started");
            var victimPid = await ScalarAsync($"SELECT min(pid) FROM \"{schema}\".runs WHERE trigger_id = {queued.Id}");
            var victim = processes.Single(p => p.Id == victimPid);
            victim.Kill(entireProcessTree: true); // SIGKILL: no shutdown, its leases simply expire
            processes = [victim, .. processes.Where(p => p != victim)];

            for (var i = 0; i < Events; i += 50)
            {
                await Task.WhenAll(Enumerable.Range(i, 50).Select(task =>
                    context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, task, 1, "{}") with { EventId = Guid.NewGuid() })));

                if (i >= Events / 2 && i % 200 == 0)
                {
                    await context.Store.ToggleAsync(edited.Id);
                }
            }

            await WaitUntilAsync(async () => await ScalarAsync($"SELECT count(*) FROM \"{schema}\".bom_trigger_jobs WHERE trigger_id = {queued.Id} AND state = 'succeeded'") == Events + 4, "every queued job succeeded");

            // Every edit reached both survivors through NOTIFY (their revision poll is 10 minutes).
            var revision = await ScalarAsync($"SELECT revision FROM \"{schema}\".bom_trigger_revision");
            await WaitUntilAsync(async () => await ScalarAsync($"SELECT count(*) FROM \"{schema}\".probe WHERE revision = {revision} AND pid <> {processes[0].Id}") == 2, "both survivors hold the latest revision");

            // At least once: every job ran; a job ran twice only if the killed process held it, and then as attempt 2 with the same key.
            (await ScalarAsync($"""
                SELECT count(*) FROM "{schema}".bom_trigger_jobs j WHERE j.trigger_id = {queued.Id} AND NOT EXISTS (SELECT 1 FROM "{schema}".runs r WHERE r.key = j.idempotency_key)
                """)).Should().Be(0);
            var duplicates = await RowsAsync($"""
                SELECT key, array_agg(attempt ORDER BY attempt)::text, array_agg(pid ORDER BY attempt)::text FROM "{schema}".runs WHERE trigger_id = {queued.Id} GROUP BY key HAVING count(*) > 1
                """);
            var victimRuns = await RowsAsync($"SELECT key, attempt::text, pid::text FROM \"{schema}\".runs WHERE pid = {victimPid}");
            duplicates.Count.Should().BeInRange(1, 4, "the victim held at least one job and had four workers; its runs: " + string.Join("; ", victimRuns.Select(r => string.Join(" ", r))));
            duplicates.Should().AllSatisfy(d =>
            {
                d[1].Should().Be("{1,2}", "the job held by the killed process ran again as attempt 2, with the same key");
                d[2].Should().StartWith("{" + victimPid.ToString(System.Globalization.CultureInfo.InvariantCulture) + ",");
            });

            // Each tick became one job (keys are unique) and ran once, unless the killed process held it.
            var ticks = await ScalarAsync($"SELECT count(*) FROM \"{schema}\".bom_trigger_jobs WHERE trigger_id = {ticking.Id}");
            ticks.Should().BeGreaterThan(1);
            (await ScalarAsync($"""
                SELECT count(*) FROM (SELECT key FROM "{schema}".runs WHERE trigger_id = {ticking.Id} GROUP BY key HAVING count(*) > 1 AND max(attempt) < 2) wrong
                """)).Should().Be(0);
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.HasExited)
                {
                    process.StandardInput.Close();
                    if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
                    {
                        process.Kill(entireProcessTree: true);
                    }
                }

                process.Dispose();
            }
        }
    }

    private async Task<Process> StartAsync(string schema)
    {
        var start = new ProcessStartInfo("dotnet", ["exec", typeof(WorkerProcess).Assembly.Location, "worker", database.ConnectionString, schema])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        _ = process.StandardError.ReadToEndAsync();
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        line.Should().Be("started");
        return process;
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<List<string[]>> RowsAsync(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string[]>();
        while (await reader.ReadAsync())
        {
            rows.Add([reader.GetString(0), reader.GetString(1), reader.GetString(2)]);
        }

        return rows;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(90), what);
            await Task.Delay(100);
        }
    }
}
