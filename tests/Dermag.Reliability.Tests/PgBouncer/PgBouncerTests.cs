using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Dermag.BomTriggers;
using Dermag.Migrations;
using Dermag.Reliability.Tests.Support;
using Dermag.Testing;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dermag.Reliability.Tests.PgBouncer;

/// <summary>
/// Both libraries through PgBouncer in transaction pooling mode (<see cref="PgBouncerFixture"/>): rotation, revocation,
/// migrations from several processes, dispatch with its log writes and the durable job queue are correct; LISTEN, which
/// transaction pooling cannot carry, is detected by both listeners, and a direct <c>NotificationConnectionString</c> works.
/// </summary>
public sealed class PgBouncerTests(PgBouncerFixture bouncer, ITestOutputHelper output) : IClassFixture<PgBouncerFixture>
{
    private const int Clients = 8;

    private bool PassThrough()
    {
        if (bouncer.Missing is null)
        {
            return false;
        }

        output.WriteLine(bouncer.Missing);
        Console.WriteLine("[reliability] " + bouncer.Missing);
        return true;
    }

    [Fact]
    public async Task Rotation_storm_and_revocation_are_correct_through_pgbouncer()
    {
        if (PassThrough())
        {
            return;
        }

        var rotations = Scale.Pick(25, 500);
        await using var host = await TokenHost.StartAsync(bouncer.BouncerConnectionString, o => o.ReuseGracePeriod = TimeSpan.Zero, "rel-pgb-rotation");
        var service = host.Service;
        var user = "pgb-" + Guid.NewGuid().ToString("N")[..8];

        // 8 clients rotate their own sessions (several users, so revocation has something to spare).
        var pairs = await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => service.IssueAsync($"{user}-{c % 2}")));
        var latest = pairs.Select(p => p.RefreshToken).ToArray();
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < rotations; i++)
            {
                var result = await service.RefreshAsync(latest[c]);
                result.Status.Should().Be(RefreshStatus.Rotated);
                result.Tokens!.SessionId.Should().Be(pairs[c].SessionId);
                latest[c] = result.Tokens.RefreshToken;
            }
        })));
        var rotateTime = watch.Elapsed;

        // A storm on one token: exactly one winner, the rest are reuse (or revoked once the reuse response revoked the family).
        var storm = await service.IssueAsync($"{user}-storm");
        using var gate = new Barrier(Clients * 2);
        var stormResults = await Task.WhenAll(Enumerable.Range(0, Clients * 2).Select(_ => Task.Run(() =>
        {
            gate.SignalAndWait();
            return service.RefreshAsync(storm.RefreshToken).GetAwaiter().GetResult().Status;
        })));
        stormResults.Count(s => s == RefreshStatus.Rotated).Should().Be(1);
        stormResults.Should().OnlyContain(s => s == RefreshStatus.Rotated || s == RefreshStatus.ReuseDetected || s == RefreshStatus.Revoked);

        // Revocation: logout with the latest token, revoke one session, log out everywhere for the other user.
        (await service.LogoutAsync(latest[0])).Should().Be(LogoutResult.SessionRevoked);
        (await service.RevokeSessionAsync($"{user}-1", pairs[1].SessionId)).Should().BeTrue();
        (await service.RevokeAllSessionsAsync($"{user}-0")).Should().Be((Clients / 2) - 1, "client 0's session was logged out already");
        for (var c = 0; c < Clients; c++)
        {
            var afterRevocation = await service.RefreshAsync(latest[c]);
            var revoked = c % 2 == 0 || c == 1;
            afterRevocation.Status.Should().Be(revoked ? RefreshStatus.Revoked : RefreshStatus.Rotated, $"client {c}");
            (await service.IsSessionActiveAsync(pairs[c].SessionId)).Should().Be(!revoked);
        }

        await host.AssertInvariantsAsync();
        Figures.Report(output, string.Create(CultureInfo.InvariantCulture,
            $"pgbouncer rotation: {Clients} clients x {rotations} rotations in {rotateTime.TotalSeconds:0.0} s ({Clients * rotations / rotateTime.TotalSeconds:0} /s) through transaction pooling ({PgBouncerFixture.ServerPoolSize} server connections), all Rotated; storm of {Clients * 2}: 1 Rotated, {stormResults.Count(s => s == RefreshStatus.ReuseDetected)} ReuseDetected, {stormResults.Count(s => s == RefreshStatus.Revoked)} Revoked; logout, revoke-session and revoke-all took effect; invariants hold"));
    }

    [Fact]
    public async Task Four_processes_migrate_both_libraries_through_pgbouncer_applying_each_script_once()
    {
        if (PassThrough())
        {
            return;
        }

        var schema = "pgb_" + Guid.NewGuid().ToString("N")[..10];
        var assembly = typeof(PgBouncerTests).Assembly.Location;
        var watch = Stopwatch.StartNew();
        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => MigrateProcess.RunAsync(assembly, bouncer.BouncerConnectionString, schema)));
        runs.Should().AllSatisfy(r => r.ExitCode.Should().Be(0, r.Output));

        await using var dataSource = NpgsqlDataSource.Create(bouncer.DirectConnectionString);
        await using var command = dataSource.CreateCommand($"SELECT count(*), count(DISTINCT (library, script)) FROM \"{schema}\".{MigrationRunner.HistoryTableName}");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        var rows = reader.GetInt64(0);
        rows.Should().Be(reader.GetInt64(1), "no script is recorded twice");
        runs.Sum(r => int.Parse(r.Output.Trim(), CultureInfo.InvariantCulture)).Should().Be((int)rows, "the processes' applied counts add up to the scripts");
        Figures.Report(output, string.Create(CultureInfo.InvariantCulture,
            $"pgbouncer migrations: 4 processes, {rows} scripts of both libraries applied once (per process: {string.Join(", ", runs.Select(r => r.Output.Trim()))}), all exited 0, {watch.Elapsed.TotalSeconds:0.0} s"));
    }

    [Fact]
    public async Task Dispatch_log_writes_and_the_job_queue_are_correct_through_pgbouncer()
    {
        if (PassThrough())
        {
            return;
        }

        var dispatchesPerClient = Scale.Pick(40, 1000);
        var schema = BomHost.NewSchema();
        await using var provider = await BomHost.StartAsync(
            b => b.UsePostgres(bouncer.BouncerConnectionString, o => { o.Schema = schema; o.NotificationConnectionString = bouncer.DirectConnectionString; }),
            TimeProvider.System,
            o => o.JobPollInterval = TimeSpan.FromSeconds(1),
            s => s.AddLogging());
        var store = provider.GetRequiredService<IBomTriggerManager>();
        var engine = provider.GetRequiredService<IBomTriggerEngine>();
        var jobs = provider.GetRequiredService<IBomTriggerJobManager>();
        var inline = (await store.CreateAsync(Definition("pgb inline", TriggerExecutionMode.Inline))).Trigger!;
        var queued = (await store.CreateAsync(Definition("pgb queued", TriggerExecutionMode.Queued))).Trigger!;
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(default);
        }

        try
        {
            var problems = new ConcurrentQueue<string>();
            var executed = new ConcurrentBag<(Guid, int)>();
            var mine = new ConcurrentDictionary<Guid, byte>();
            var queuedCount = 0;
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                for (var i = 0; i < dispatchesPerClient; i++)
                {
                    var report = await engine.DispatchAsync(new BomTriggerEvent(BomTriggerEvents.StatusChange, (c * 100_000) + i, 1, Json.Parse("""{"taskTypeCode":"PGB","status":"completed"}""")));
                    mine[report.CorrelationId] = 0;
                    if (report.LogWriteError is not null)
                    {
                        problems.Enqueue("log write failed: " + report.LogWriteError);
                    }

                    foreach (var outcome in report.Outcomes)
                    {
                        if (outcome.TriggerId == inline.Id && outcome.Kind == TriggerOutcomeKind.Executed)
                        {
                            executed.Add((report.CorrelationId, outcome.TriggerId));
                        }
                        else if (outcome.TriggerId == queued.Id && outcome.Kind == TriggerOutcomeKind.Queued)
                        {
                            Interlocked.Increment(ref queuedCount);
                        }
                        else
                        {
                            problems.Enqueue($"unexpected outcome {outcome.Kind} of trigger {outcome.TriggerId}");
                        }
                    }
                }
            })));
            var dispatchTime = watch.Elapsed;
            problems.Should().BeEmpty(string.Join(Environment.NewLine, problems.Take(5)));
            var total = Clients * dispatchesPerClient;
            executed.Should().HaveCount(total);
            queuedCount.Should().Be(total);

            // Every inline execution logged exactly once.
            var logged = (await BomHost.AllLogsAsync(store, inline.Id)).Where(l => l.Outcome == "Executed").Select(l => (l.CorrelationId!.Value, l.TriggerId)).ToList();
            logged.Order().Should().Equal(executed.Order());

            // The workers (through PgBouncer) run every queued job exactly once.
            while ((await jobs.QueryAsync(new BomTriggerJobQuery { TriggerId = queued.Id, State = BomTriggerJobState.Succeeded, Limit = 1 })).Total < total)
            {
                watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), "the workers must drain the queue");
                await Task.Delay(50);
            }

            var drained = watch.Elapsed;
            (await jobs.QueryAsync(new BomTriggerJobQuery { TriggerId = queued.Id, Limit = 1 })).Total.Should().Be(total, "one job per dispatch, none extra");
            // Only this test's dispatches: other test classes record with the same trigger ids in their own schemas, at the same time.
            var ranQueued = RecordingAction.Executions.Keys.Count(k => k.TriggerId == queued.Id && mine.ContainsKey(k.CorrelationId));
            ranQueued.Should().Be(total, "each queued job ran once");
            RecordingAction.Executions.Where(e => e.Key.TriggerId == queued.Id && mine.ContainsKey(e.Key.CorrelationId)).Should().OnlyContain(e => e.Value == 1);
            Figures.Report(output, string.Create(CultureInfo.InvariantCulture,
                $"pgbouncer dispatch: {total} dispatches by {Clients} clients in {dispatchTime.TotalSeconds:0.0} s; {executed.Count} inline executions, {logged.Count} log rows; {total} jobs queued, all succeeded and ran once {drained.TotalSeconds:0.0} s after the first dispatch; 0 problems"));
        }
        finally
        {
            foreach (var service in hosted)
            {
                await service.StopAsync(default);
            }
        }
    }

    [Fact]
    public async Task Listen_through_pgbouncer_is_detected_by_both_listeners_and_a_direct_notification_connection_works()
    {
        if (PassThrough())
        {
            return;
        }

        const string Advice = "does not support LISTEN (PgBouncer in transaction mode; then set";
        var watch = Stopwatch.StartNew();

        // Both listeners through PgBouncer: each reports within its 5 s ping timeout that the LISTEN hears nothing.
        var tokenLogs = new CapturedLogs(LogLevel.Information);
        var bomLogs = new CapturedLogs(LogLevel.Information);
        await using var tokens = await TokenHost.StartAsync(bouncer.BouncerConnectionString, applicationName: "rel-pgb-listen",
            addServices: s => s.AddLogging(b => b.AddProvider(tokenLogs)), timeProvider: TimeProvider.System);
        await using var bom = await BomHost.StartAsync(b => b.UsePostgres(bouncer.BouncerConnectionString, o => o.Schema = BomHost.NewSchema()), TimeProvider.System, addServices: s => s.AddLogging(b => b.AddProvider(bomLogs)));
        var hosted = tokens.Provider.GetServices<IHostedService>().Concat(bom.GetServices<IHostedService>()).ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(default);
        }

        bool tokenDetected, bomDetected;
        try
        {
            var detections = await Task.WhenAll(tokenLogs.WaitForAsync(Advice, TimeSpan.FromSeconds(15)), bomLogs.WaitForAsync(Advice, TimeSpan.FromSeconds(15)));
            (tokenDetected, bomDetected) = (detections[0], detections[1]);
        }
        finally
        {
            foreach (var service in hosted)
            {
                await service.StopAsync(default);
            }
        }

        var detectedAfter = watch.Elapsed;
        tokenDetected.Should().BeTrue("the revocation listener must detect a LISTEN through transaction pooling: " + string.Join(" | ", tokenLogs.Lines));
        bomDetected.Should().BeTrue("the trigger listener must detect a LISTEN through transaction pooling: " + string.Join(" | ", bomLogs.Lines));

        // With NotificationConnectionString pointing at PostgreSQL directly, a revocation by instance A (through PgBouncer)
        // reaches instance B's paranoid-mode cache at once, long before the cache (5 minutes) would expire.
        var directLogs = new CapturedLogs(LogLevel.Information);
        await using var a = await TokenHost.StartAsync(bouncer.BouncerConnectionString, applicationName: "rel-pgb-a", timeProvider: TimeProvider.System);
        await using var b = await TokenHost.StartAsync(bouncer.BouncerConnectionString, o => o.SessionCheckCacheDuration = TimeSpan.FromMinutes(5), "rel-pgb-b",
            p => p.NotificationConnectionString = bouncer.DirectConnectionString, s => s.AddLogging(l => l.AddProvider(directLogs)), TimeProvider.System);
        var listeners = b.Provider.GetServices<IHostedService>().ToList();
        foreach (var service in listeners)
        {
            await service.StartAsync(default);
        }

        TimeSpan propagation;
        try
        {
            (await directLogs.WaitForAsync("Listening for revocations", TimeSpan.FromSeconds(10))).Should().BeTrue(string.Join(" | ", directLogs.Lines));
            var pair = await a.Service.IssueAsync("pgb-direct-" + Guid.NewGuid().ToString("N")[..8]);
            (await b.Service.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue("cached as active in B");
            var revokedAt = Stopwatch.StartNew();
            (await a.Service.LogoutAsync(pair.RefreshToken)).Should().Be(LogoutResult.SessionRevoked);
            while (await b.Service.IsSessionActiveAsync(pair.SessionId))
            {
                revokedAt.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "the revocation must reach B by NOTIFY, not by the 5-minute cache expiry");
                await Task.Delay(5);
            }

            propagation = revokedAt.Elapsed;
            directLogs.Lines.Should().NotContain(l => l.Contains(Advice, StringComparison.Ordinal), "a direct LISTEN hears the pings");
        }
        finally
        {
            foreach (var service in listeners)
            {
                await service.StopAsync(default);
            }
        }

        Figures.Report(output, string.Create(CultureInfo.InvariantCulture,
            $"pgbouncer LISTEN: both listeners reported '{Advice} ...' within {detectedAfter.TotalSeconds:0.0} s of starting; with a direct NotificationConnectionString a revocation through PgBouncer reached the other instance's cache in {propagation.TotalMilliseconds:0} ms"));
    }

    private static BomTriggerDefinition Definition(string name, TriggerExecutionMode mode) => new()
    {
        Name = name,
        TriggerEvent = BomTriggerEvents.StatusChange,
        TriggerCondition = Json.Parse("""{"taskTypeCode":"PGB"}"""),
        ActionType = RecordingAction.Type,
        ActionConfig = Json.Parse("""{"version":1}"""),
        Execution = new() { Mode = mode },
    };
}
