using System.Collections.Concurrent;
using System.Diagnostics;
using Dermag.BomTriggers.Tests.Queue;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Dermag.BomTriggers.Tests.Postgres;

/// <summary>What only PostgreSQL can show: the outbox, concurrent claimers, and notifications between instances.</summary>
public sealed class PostgresQueueTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static BomTriggerDefinition Queued(string key) => new()
    {
        Name = "queued",
        TriggerEvent = BomTriggerEvents.TaskCreate,
        ActionType = "FLAKY",
        ActionConfig = Json.Parse($$"""{"key":"{{key}}"}"""),
        Execution = new() { Mode = TriggerExecutionMode.Queued },
    };

    private Task<TriggerTestContext> NewContextAsync(string schema, Action<BomTriggerOptions>? configure = null) =>
        TriggerTestContext.CreateAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = schema), configure, b => b.AddAction<FlakyAction>("FLAKY"));

    [Fact]
    public async Task DispatchInTheCallersTransaction_WritesTheJobOnlyWhenItCommits()
    {
        await using var context = await NewContextAsync(TriggerTestContext.NewSchema());
        var trigger = (await context.Store.CreateAsync(Queued(Guid.NewGuid().ToString("N")))).Trigger!;
        var queue = context.Services.GetRequiredService<IBomTriggerJobManager>();

        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await using var rolledBack = await connection.BeginTransactionAsync();
            (await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, 1, "{}"), DispatchOptions.InTransaction(rolledBack)))
                .Outcomes.Single().Kind.Should().Be(TriggerOutcomeKind.Queued);
            await rolledBack.RollbackAsync();

            await using var committed = await connection.BeginTransactionAsync();
            await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 2, 1, "{}"), DispatchOptions.InTransaction(committed));
            (await queue.QueryAsync(new BomTriggerJobQuery { TriggerId = trigger.Id })).Total.Should().Be(0, "the job is not visible before the commit");
            await committed.CommitAsync();
        }

        (await queue.QueryAsync(new BomTriggerJobQuery { TriggerId = trigger.Id })).Items.Select(j => j.Event.TaskId).Should().Equal(2);
    }

    [Fact]
    public async Task EightConcurrentClaimers_ClaimEveryJobExactlyOnce()
    {
        await using var context = await NewContextAsync(TriggerTestContext.NewSchema());
        await context.Store.CreateAsync(Queued(Guid.NewGuid().ToString("N")));
        for (var i = 0; i < 20; i++)
        {
            await Task.WhenAll(Enumerable.Range(0, 10).Select(t => context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, (i * 10) + t, 1, "{}"))));
        }

        var jobs = context.Services.GetRequiredService<IBomTriggerJobStore>();
        var claimed = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            while (true)
            {
                var batch = await jobs.ClaimAsync($"w{w}", 3, context.Time.GetUtcNow(), TimeSpan.FromMinutes(1), default);
                if (batch.Count == 0)
                {
                    return;
                }

                foreach (var job in batch)
                {
                    claimed.Add(job.Id);
                }
            }
        })));

        claimed.Should().HaveCount(200).And.OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task TriggerEditedOnOneInstance_ReachesAnotherThroughNotify_WithoutWaitingForThePoll()
    {
        var schema = TriggerTestContext.NewSchema();
        await using var a = await NewContextAsync(schema, o => o.SnapshotRefreshInterval = TimeSpan.FromHours(1));
        await using var b = await NewContextAsync(schema, o => o.SnapshotRefreshInterval = TimeSpan.FromHours(1));
        var listener = b.Services.GetServices<IHostedService>().OfType<TriggerNotificationListenerHost>().Single();
        await listener.StartAsync(default);
        try
        {
            await b.Services.GetRequiredService<TriggerNotificationListener>().Listening.WaitAsync(TimeSpan.FromSeconds(30));
            var snapshots = b.Services.GetRequiredService<TriggerSnapshotProvider>();
            await snapshots.RefreshAsync(default);
            var before = snapshots.Current!.Revision;

            var watch = Stopwatch.StartNew();
            var created = (await a.Store.CreateAsync(Queued("notify"))).Trigger!;
            while (snapshots.Current!.Revision == before || !snapshots.Current.ById.ContainsKey(created.Id))
            {
                watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "the edit must arrive by notification, not by the hourly poll");
                await Task.Delay(5);
            }
        }
        finally
        {
            await listener.StopAsync(default);
        }
    }

    [Fact]
    public async Task QuietListener_ProvesItStillHears_WithoutReconnecting()
    {
        // The listener's keep-alive ping is the session's own notification, delivered before the reply to the command that
        // sent it: the listener must recognise it rather than wait for a second message that never comes.
        await using var context = await NewContextAsync(TriggerTestContext.NewSchema());
        var (listener, host) = await StartListenerPingingEvery100MsAsync(context);
        try
        {
            var watch = Stopwatch.StartNew();
            while (listener.PingsSent < 5)
            {
                watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "a ping every 100 ms of silence");
                await Task.Delay(10);
            }

            listener.Connections.Should().Be(1, "every ping was heard, so the connection was never given up");
            listener.IsListening.Should().BeTrue();
        }
        finally
        {
            await host.StopAsync(default);
        }
    }

    [Fact]
    public async Task ListenerWhoseServerStopsAnswering_IsDownBeforeItWaitsToCloseItsConnection()
    {
        // A listener whose connection hangs (a network partition, a frozen server) finds out when its ping goes unheard.
        // It used to report itself down only after UNLISTEN on that connection had timed out (up to 2 s more).
        var applicationName = "frozen-" + Guid.NewGuid().ToString("N")[..8];
        var connectionString = new NpgsqlConnectionStringBuilder((await PostgresServer.GetAsync()).Limit(database.ConnectionString, 10)) { ApplicationName = applicationName }.ConnectionString;
        await using var context = await TriggerTestContext.CreateAsync(b => b.UsePostgres(connectionString, o => o.Schema = TriggerTestContext.NewSchema()));
        var (listener, host) = await StartListenerPingingEvery100MsAsync(context);
        try
        {
            var dataSource = context.Services.GetRequiredService<Dermag.Migrations.PostgresStoreDataSource<PostgresTriggerStoreOptions>>().DataSource;
            var backend = await PooledListenerCheck.ListeningBackendAsync(dataSource, applicationName);
            var watch = Stopwatch.StartNew();
            using (var frozen = await FrozenBackend.FreezeAsync(dataSource, backend, new NpgsqlConnectionStringBuilder(connectionString).Database!))
            {
                if (frozen is null)
                {
                    return; // not a backend this test may stop (see FrozenBackend)
                }

                while (listener.IsListening)
                {
                    watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the unheard ping ends the listener");
                    await Task.Delay(5);
                }

                listener.ConnectionsClosed.Should().Be(0, "the listener is down while UNLISTEN still waits on the frozen backend");
            }

            // Thawed, the connection is closed and the listener comes back (its retry delay runs on the fake clock).
            while (!listener.IsListening || listener.Connections < 2)
            {
                watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(40), "the listener reconnects once the server answers again");
                context.Time.Advance(TimeSpan.FromMinutes(1));
                await Task.Delay(10);
            }

            listener.ConnectionsClosed.Should().Be(1);
        }
        finally
        {
            await host.StopAsync(default);
        }
    }

    [Fact]
    public async Task WorkerFailingDuringAnOutage_RunsAJobAnnouncedAfterIt_WithoutWaitingOutItsBackoff()
    {
        // The worker's clock is fake and never advanced here: only the announcement of the new job can end its error wait.
        var created = await database.CreateDatabaseAsync("workeroutage");
        var connectionString = new NpgsqlConnectionStringBuilder(created) { Timeout = 3 }.ConnectionString;
        var databaseName = new NpgsqlConnectionStringBuilder(created).Database!;
        await using var context = await TriggerTestContext.CreateAsync(
            b => b.UsePostgres(connectionString, o => o.Schema = TriggerTestContext.NewSchema()), o => o.WorkerCount = 1, b => b.AddAction<FlakyAction>("FLAKY"));
        var key = Guid.NewGuid().ToString("N");
        await context.Store.CreateAsync(Queued(key));
        var worker = context.Services.GetRequiredService<BomTriggerWorker>();
        await worker.StartAsync(default);
        try
        {
            await AdminAsync($"ALTER DATABASE \"{databaseName}\" ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{databaseName}'");
            context.Services.GetRequiredService<JobSignal>().Wake();
            var watch = Stopwatch.StartNew();
            while (!context.Logs.Entries.Any(e => e.EventId.Id == 4016))
            {
                watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the worker's claim fails while the database refuses connections");
                await Task.Delay(10);
            }

            await AdminAsync($"ALTER DATABASE \"{databaseName}\" ALLOW_CONNECTIONS true");
            context.Services.GetRequiredService<Dermag.Migrations.PostgresStoreDataSource<PostgresTriggerStoreOptions>>().DataSource.Clear();
            await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, 1, "{}"));

            while (FlakyAction.Runs(key).Count == 0)
            {
                watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(40), "the enqueue's wake-up ends the worker's error wait");
                await Task.Delay(10);
            }

            FlakyAction.Runs(key).Should().ContainSingle();
        }
        finally
        {
            await AdminAsync($"ALTER DATABASE \"{databaseName}\" ALLOW_CONNECTIONS true");
            await worker.StopAsync(default);
        }
    }

    /// <summary>Starts the context's listener with a 100 ms keep-alive and waits until it listens; stop the returned host.</summary>
    private static async Task<(TriggerNotificationListener Listener, IHostedService Host)> StartListenerPingingEvery100MsAsync(TriggerTestContext context)
    {
        var listener = context.Services.GetRequiredService<TriggerNotificationListener>();
        listener.KeepAliveInterval = TimeSpan.FromMilliseconds(100);
        var host = context.Services.GetServices<IHostedService>().OfType<TriggerNotificationListenerHost>().Single();
        await host.StartAsync(default);
        try
        {
            await listener.Listening.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            await host.StopAsync(default);
            throw;
        }

        return (listener, host);
    }

    private async Task AdminAsync(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task StoppedListener_HandsNoListeningConnectionBackToThePool()
    {
        // The store's own data source does not reset connections it takes back (No Reset On Close): the listener ends
        // LISTEN itself, or the next user of its pooled connection would sit in LISTEN with notifications piling up unread.
        var applicationName = "pooled-" + Guid.NewGuid().ToString("N")[..8];
        var limited = new NpgsqlConnectionStringBuilder((await PostgresServer.GetAsync()).Limit(database.ConnectionString, 2)) { ApplicationName = applicationName }.ConnectionString;
        await using var context = await TriggerTestContext.CreateAsync(b => b.UsePostgres(limited, o => o.Schema = TriggerTestContext.NewSchema()));
        var host = context.Services.GetServices<IHostedService>().OfType<TriggerNotificationListenerHost>().Single();
        await host.StartAsync(default);
        await context.Services.GetRequiredService<TriggerNotificationListener>().Listening.WaitAsync(TimeSpan.FromSeconds(30));
        await context.Store.CreateAsync(Queued(Guid.NewGuid().ToString("N")));
        var dataSource = context.Services.GetRequiredService<Dermag.Migrations.PostgresStoreDataSource<PostgresTriggerStoreOptions>>().DataSource;
        var listenerBackend = await PooledListenerCheck.ListeningBackendAsync(dataSource, applicationName);

        await host.StopAsync(default);

        new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).NoResetOnClose.Should().BeTrue();
        await PooledListenerCheck.AssertNoPooledConnectionListensAsync(dataSource, listenerBackend);
    }

    [Fact]
    public async Task OrderJobsByTask_AJobCommittedLate_WaitsForTheLaterJobAlreadyRunning()
    {
        await using var context = await NewContextAsync(TriggerTestContext.NewSchema(), o => o.OrderJobsByTask = true);
        await context.Store.CreateAsync(Queued(Guid.NewGuid().ToString("N")));
        var jobs = context.Services.GetRequiredService<IBomTriggerJobStore>();
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 5, 1, "{}"), DispatchOptions.InTransaction(transaction));

        // A later job of the same task commits first and starts; then the earlier one commits.
        await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 5, 1, "{}"));
        var running = (await jobs.ClaimAsync("w1", 10, context.Time.GetUtcNow(), TimeSpan.FromMinutes(1), default)).Should().ContainSingle().Subject;
        await transaction.CommitAsync();

        (await jobs.ClaimAsync("w2", 10, context.Time.GetUtcNow(), TimeSpan.FromMinutes(1), default)).Should().BeEmpty("one job of a task at a time, even out of id order");
        await context.Services.GetRequiredService<BomTriggerEngine>().RunJobAsync(running, "w1", default);
        (await jobs.ClaimAsync("w2", 10, context.Time.GetUtcNow(), TimeSpan.FromMinutes(1), default)).Should().ContainSingle().Which.Id.Should().BeLessThan(running.Id);
    }

    [Fact]
    public async Task JobWhoseTaskWasDeleted_IsRecorded_AndItsRefusedLogRowIsReportedNotRetried()
    {
        // With TasksTable set, a log row for a task that no longer exists is refused by the foreign key; the job's state
        // must still be recorded (before: the whole completion rolled back and the job ran again every lease, forever).
        var schema = TriggerTestContext.NewSchema();
        await using (var create = database.DataSource.CreateCommand($"CREATE SCHEMA \"{schema}\"; CREATE TABLE \"{schema}\".tasks (id integer PRIMARY KEY); INSERT INTO \"{schema}\".tasks VALUES (1);"))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var context = await TriggerTestContext.CreateAsync(
            b => b.UsePostgres(database.ConnectionString, o => { o.Schema = schema; o.TasksTable = schema + ".tasks"; }), null, b => b.AddAction<FlakyAction>("FLAKY"));
        var key = Guid.NewGuid().ToString("N");
        var trigger = (await context.Store.CreateAsync(Queued(key))).Trigger!;
        await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, 1, "{}"));
        await using (var delete = database.DataSource.CreateCommand($"DELETE FROM \"{schema}\".tasks"))
        {
            await delete.ExecuteNonQueryAsync();
        }

        var jobs = context.Services.GetRequiredService<IBomTriggerJobStore>();
        var job = (await jobs.ClaimAsync("w1", 10, context.Time.GetUtcNow(), TimeSpan.FromMinutes(1), default)).Should().ContainSingle().Subject;
        await context.Services.GetRequiredService<BomTriggerEngine>().RunJobAsync(job, "w1", default);

        (await jobs.GetJobAsync(job.Id, default))!.State.Should().Be(BomTriggerJobState.Succeeded);
        FlakyAction.Runs(key).Should().ContainSingle();
        (await context.Store.GetLogsAsync(trigger.Id)).Total.Should().Be(0);
        context.Logs.Entries.Should().Contain(e => e.EventId.Id == 4022, "the refused row is reported");
    }

    [Fact]
    public async Task SeedingTriggersThatExist_DoesNotMoveTheRevision()
    {
        var schema = TriggerTestContext.NewSchema();
        await using var context = await NewContextAsync(schema);
        await context.InternalStore.SeedExampleTriggersAsync(default);
        var revision = await context.Repository.GetRevisionAsync(default);

        await context.InternalStore.SeedExampleTriggersAsync(default);

        (await context.Repository.GetRevisionAsync(default)).Should().Be(revision, "an instance starting must not make every other instance reload");
    }

    [Fact]
    public async Task EnqueueInAnAbortedTransaction_PropagatesTheFailure()
    {
        await using var context = await NewContextAsync(TriggerTestContext.NewSchema());
        await context.Store.CreateAsync(Queued(Guid.NewGuid().ToString("N")));
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var fail = new NpgsqlCommand("SELECT 1/0", connection, transaction))
        {
            await FluentActions.Awaiting(() => fail.ExecuteNonQueryAsync()).Should().ThrowAsync<PostgresException>();
        }

        await FluentActions.Awaiting(() => context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, 1, "{}"), DispatchOptions.InTransaction(transaction)))
            .Should().ThrowAsync<PostgresException>().Where(e => e.SqlState == PostgresErrorCodes.InFailedSqlTransaction);
    }
}
