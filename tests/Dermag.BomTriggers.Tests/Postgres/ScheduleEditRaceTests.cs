using System.Globalization;
using Dermag.BomTriggers.Tests.Queue;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dermag.BomTriggers.Tests.Postgres;

/// <summary>
/// A scheduled trigger edited on one instance at the moment another instance's scheduler runs the tick that is due: the
/// tick must run exactly once, and the schedule must go on from the edited cron. The scheduler of instance A still has
/// the old version in its snapshot; instance B saves the edit and syncs it. A test-only trigger makes every job insert
/// wait on an advisory lock the test holds (and then sleep briefly), so A's claim holds the schedule row until B's sync
/// is seen waiting for it.
/// </summary>
public sealed class ScheduleEditRaceTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private const int Rounds = 24;

    /// <summary>How the two instances meet in a round.</summary>
    public enum Interleaving
    {
        /// <summary>B's edit and sync arrive while A's scheduler holds the due schedule row (it is inserting the tick's job).</summary>
        SyncWhileClaimHoldsTheRow,

        /// <summary>B saves, syncs and runs first; A's scheduler runs afterwards with its old snapshot.</summary>
        EditBeforeClaim,

        /// <summary>B saves the edit but has not synced it when A's scheduler looks for due ticks; then B syncs and runs.</summary>
        EditSavedButNotSynced,

        /// <summary>Both start at once, with no ordering imposed.</summary>
        Unordered,
    }

    [Fact]
    public async Task EditRacingTheDueTick_RunsTheTickOnce_AndFollowsTheNewSchedule_InEveryInterleaving()
    {
        var schema = TriggerTestContext.NewSchema();
        await using var a = await NewInstanceAsync(schema);
        await using var b = await NewInstanceAsync(schema);
        await using (var sleeper = database.DataSource.CreateCommand($"""
            CREATE FUNCTION {schema}.slow_job_insert() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_advisory_lock_shared(hashtext('{schema}'));
                PERFORM pg_advisory_unlock_shared(hashtext('{schema}'));
                PERFORM pg_sleep(0.05);
                RETURN NEW;
            END $$;
            CREATE TRIGGER slow_job_insert BEFORE INSERT ON {schema}.bom_trigger_jobs FOR EACH ROW EXECUTE FUNCTION {schema}.slow_job_insert();
            """))
        {
            await sleeper.ExecuteNonQueryAsync();
        }

        for (var round = 0; round < Rounds; round++)
        {
            var interleaving = (Interleaving)(round % 4);

            // Each round its own trigger and its own hour, so rounds cannot see each other's ticks.
            var hour = new DateTimeOffset(2030, 1, 1, 0, 30, 0, TimeSpan.Zero).AddHours(round * 3);
            SetClocks(a, b, hour);
            var created = await a.Store.CreateAsync(new BomTriggerDefinition
            {
                Name = "hourly " + round.ToString(CultureInfo.InvariantCulture),
                TriggerEvent = BomTriggerEvents.Schedule,
                ActionType = "FLAKY",
                ActionConfig = Json.Parse("""{"key":"schedule-race"}"""),
                Execution = new() { Schedule = new BomTriggerSchedule { Cron = "0 * * * *" } },
            });
            created.Errors.Should().BeEmpty();
            var trigger = created.Trigger!;
            await b.RefreshSnapshotAsync();
            await Scheduler(a).RunOnceAsync(default);
            var dueTick = hour.AddMinutes(30);
            SetClocks(a, b, dueTick.AddSeconds(5));

            var schedulerA = Scheduler(a);
            var schedulerB = Scheduler(b);
            Task EditOnB() => b.Store.UpdateAsync(trigger.Id, EveryQuarterHour(round));
            switch (interleaving)
            {
                case Interleaving.SyncWhileClaimHoldsTheRow:
                    // The gate holds A inside its job insert (its claim holding the schedule row) until B's sync waits on it.
                    await using (var gate = await database.DataSource.OpenConnectionAsync())
                    {
                        await GateAsync(gate, schema, "pg_advisory_lock");
                        var claim = Task.Run(() => schedulerA.RunOnceAsync(default));
                        await WaitForBackendAsync(schema, "wait_event = 'advisory' AND query LIKE '%bom_trigger_jobs%'");
                        await EditOnB();
                        var sync = Task.Run(() => schedulerB.RunOnceAsync(default));
                        await WaitForBackendAsync(schema, "wait_event_type = 'Lock' AND wait_event <> 'advisory' AND query LIKE '%bom_trigger_schedules%'");
                        await GateAsync(gate, schema, "pg_advisory_unlock");
                        await Task.WhenAll(claim, sync);
                    }

                    break;
                case Interleaving.EditBeforeClaim:
                    await EditOnB();
                    await schedulerB.RunOnceAsync(default);
                    await schedulerA.RunOnceAsync(default);
                    break;
                case Interleaving.EditSavedButNotSynced:
                    await EditOnB();
                    await schedulerA.RunOnceAsync(default);
                    await schedulerB.RunOnceAsync(default);
                    break;
                default:
                    await Task.WhenAll(
                        Task.Run(() => schedulerA.RunOnceAsync(default)),
                        Task.Run(async () =>
                        {
                            await EditOnB();
                            await schedulerB.RunOnceAsync(default);
                        }));
                    break;
            }

            // A catches up with the edit (as its revision poll would); then the next quarter hour comes.
            await a.RefreshSnapshotAsync();
            await Scheduler(a).RunOnceAsync(default);
            await Scheduler(b).RunOnceAsync(default);
            SetClocks(a, b, dueTick.AddMinutes(15).AddSeconds(5));
            await Scheduler(a).RunOnceAsync(default);
            await Scheduler(b).RunOnceAsync(default);

            var ticks = (await a.Services.GetRequiredService<IBomTriggerJobManager>().QueryAsync(new BomTriggerJobQuery { TriggerId = trigger.Id })).Items
                .Select(j => DateTimeOffset.Parse(j.Event.Data.GetProperty("scheduledAt").GetString()!, CultureInfo.InvariantCulture))
                .Order().ToList();
            ticks.Should().Equal(
                [dueTick, dueTick.AddMinutes(15)],
                $"round {round} ({interleaving}): the tick due at the edit runs exactly once, and the edited schedule goes on from it");
            var (version, nextTick) = await ScheduleRowAsync(schema, trigger.Id);
            version.Should().Be(trigger.Version + 1, $"round {round} ({interleaving}): the schedule row follows the edited version");
            nextTick.Should().Be(dueTick.AddMinutes(30), $"round {round} ({interleaving}): the next tick comes from the edited cron");

            // Out of the next rounds' way: deleted, its schedule row goes at the next sync.
            (await a.Store.DeleteAsync(trigger.Id)).Should().BeTrue();
            await b.RefreshSnapshotAsync();
        }
    }

    private static BomTriggerDefinition EveryQuarterHour(int round) => new()
    {
        Name = "quarter-hourly " + round.ToString(CultureInfo.InvariantCulture),
        TriggerEvent = BomTriggerEvents.Schedule,
        ActionType = "FLAKY",
        ActionConfig = Json.Parse("""{"key":"schedule-race"}"""),
        Execution = new() { Schedule = new BomTriggerSchedule { Cron = "*/15 * * * *" } },
    };

    private Task<TriggerTestContext> NewInstanceAsync(string schema) =>
        TriggerTestContext.CreateAsync(bt => bt.UsePostgres(database.ConnectionString, o => o.Schema = schema), null, bt => bt.AddAction<FlakyAction>("FLAKY"));

    private static BomTriggerScheduler Scheduler(TriggerTestContext instance) => ActivatorUtilities.CreateInstance<BomTriggerScheduler>(instance.Services);

    private static void SetClocks(TriggerTestContext a, TriggerTestContext b, DateTimeOffset now)
    {
        a.Time.SetUtcNow(now);
        b.Time.SetUtcNow(now);
    }

    private static async Task GateAsync(NpgsqlConnection gate, string schema, string function)
    {
        await using var command = new NpgsqlCommand($"SELECT {function}(hashtext($1))", gate);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = schema });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Waits until a backend running a statement on this schema matches <paramref name="condition"/> (on pg_stat_activity).</summary>
    private async Task WaitForBackendAsync(string schema, string condition)
    {
        await using var probe = database.DataSource.CreateCommand(
            $"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND {condition}");
        probe.Parameters.Add(new NpgsqlParameter<string> { TypedValue = schema });
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while ((long)(await probe.ExecuteScalarAsync())! == 0)
        {
            waited.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30), $"a backend should reach: {condition}");
            await Task.Delay(2);
        }
    }

    private async Task<(int Version, DateTimeOffset? NextTick)> ScheduleRowAsync(string schema, int triggerId)
    {
        await using var command = database.DataSource.CreateCommand($"SELECT trigger_version, next_tick FROM {schema}.bom_trigger_schedules WHERE trigger_id = $1");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = triggerId });
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue("the scheduled trigger has a schedule row");
        return (reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
    }
}
