using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Dermag.BomTriggers;
using Dermag.Reliability.Tests.Support;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dermag.Reliability.Tests.Faults;

/// <summary>
/// <c>pg_ctl restart -m fast</c> on a cluster this class owns while 8 clients rotate refresh tokens and dispatch events
/// through one app instance. Callers see only typed failures; no token forks; the same instance serves every client again
/// within 10 s of the server accepting connections.
/// </summary>
/// <remarks>
/// Accepted failures and why: <see cref="NpgsqlException"/> (57P01 <c>admin_shutdown</c> for a statement running when the
/// server stopped, 57P03 <c>cannot_connect_now</c> while it starts, or a socket error from a pooled connection that died
/// while idle: the data layer's own typed exception; Npgsql drops the broken connection, so a retry gets a new one);
/// <see cref="TokenRotationException"/> and <see cref="BomTriggerException"/> (the libraries' own typed failures). A dispatch
/// reports a failed log write in <see cref="DispatchReport.LogWriteError"/> rather than throwing; that is counted, not
/// accepted silently. Anything else (<c>InvalidOperationException</c>, <c>NullReferenceException</c>, ...) fails the test.
/// </remarks>
public sealed class ServerRestartTests(OwnCluster cluster, ITestOutputHelper output) : IClassFixture<OwnCluster>
{
    private const int Clients = 8;

    [Fact]
    public async Task Restart_under_rotation_and_dispatch_load_gives_typed_failures_no_fork_and_resumes_within_10_s()
    {
        if (cluster.Missing is not null)
        {
            Figures.Report(output, cluster.Missing);
            return;
        }

        var restarts = Scale.Pick(1, 5);
        await using var tokens = await TokenHost.StartAsync(cluster.ConnectionString, o => o.ReuseGracePeriod = TimeSpan.FromMinutes(1), "rel-restart");
        await using var bom = await BomHost.StartAsync(b => b.UsePostgres(cluster.ConnectionString, o => o.Schema = BomHost.NewSchema()), TimeProvider.System);
        var store = bom.GetRequiredService<IBomTriggerManager>();
        var engine = bom.GetRequiredService<IBomTriggerEngine>();
        var trigger = (await store.CreateAsync(new BomTriggerDefinition
        {
            Name = "restart",
            TriggerEvent = BomTriggerEvents.StatusChange,
            TriggerCondition = Json.Parse("""{"taskTypeCode":"RST"}"""),
            ActionType = RecordingAction.Type,
            ActionConfig = Json.Parse("""{"version":1}"""),
        })).Trigger!;

        var service = tokens.Service;
        var current = new string[Clients];
        var sessions = new Guid[Clients];
        for (var c = 0; c < Clients; c++)
        {
            var pair = await service.IssueAsync($"restart-{c}");
            (current[c], sessions[c]) = (pair.RefreshToken, pair.SessionId);
        }

        var outcomes = new ConcurrentDictionary<string, int>();
        var untyped = new ConcurrentQueue<string>();
        var executed = new ConcurrentBag<Guid>();
        var clock = Stopwatch.StartNew();
        var upAt = new long[restarts]; // clock ticks when pg_ctl returned (server accepting again), per restart
        var recoveredAt = new long[Clients, restarts];
        var restartsDone = 0;
        void Count(string key) => outcomes.AddOrUpdate(key, 1, (_, n) => n + 1);

        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var ops = 0;
            // Run until every restart is done and this client has succeeded at both operations after the last one.
            while (ops < 20 || Volatile.Read(ref restartsDone) < restarts || recoveredAt[c, restarts - 1] == 0)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                {
                    untyped.Enqueue($"client {c}: did not recover");
                    return;
                }

                ops++;
                bool rotated = false, dispatched = false;
                try
                {
                    var result = await service.RefreshAsync(current[c]);
                    Count("refresh " + result.Status);
                    if (result.Succeeded)
                    {
                        result.Tokens.SessionId.Should().Be(sessions[c]);
                        current[c] = result.Tokens.RefreshToken;
                        rotated = true;
                    }
                }
                catch (Exception ex) when (Typed(ex) is { } kind)
                {
                    Count("refresh " + kind);
                }
                catch (Exception ex)
                {
                    untyped.Enqueue($"client {c} refresh: {ex}");
                }

                try
                {
                    var report = await engine.DispatchAsync(new BomTriggerEvent(BomTriggerEvents.StatusChange, (c * 1_000_000) + ops, 1, Json.Parse("""{"taskTypeCode":"RST"}""")));
                    var ok = report.LogWriteError is null && report.Outcomes.All(o => o.Kind == TriggerOutcomeKind.Executed);
                    Count(ok ? "dispatch Executed" : report.LogWriteError is not null ? "dispatch LogWriteError" : "dispatch " + string.Join('+', report.Outcomes.Select(o => o.Kind)));
                    if (report.LogWriteError is null && report.Outcomes.Any(o => o.Kind == TriggerOutcomeKind.Executed))
                    {
                        executed.Add(report.CorrelationId);
                    }

                    dispatched = ok;
                }
                catch (Exception ex) when (Typed(ex) is { } kind)
                {
                    Count("dispatch " + kind);
                }
                catch (Exception ex)
                {
                    untyped.Enqueue($"client {c} dispatch: {ex}");
                }

                var done = Volatile.Read(ref restartsDone);
                if (rotated && dispatched && done > 0 && recoveredAt[c, done - 1] == 0)
                {
                    recoveredAt[c, done - 1] = clock.ElapsedTicks;
                }
            }
        })).ToList();

        var restartTimes = new List<double>();
        for (var r = 0; r < restarts; r++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(700)); // let the load run first; no assertion waits on this
            var restartWatch = Stopwatch.StartNew();
            await cluster.RestartAsync();
            restartTimes.Add(restartWatch.Elapsed.TotalSeconds);
            upAt[r] = clock.ElapsedTicks;
            Volatile.Write(ref restartsDone, r + 1);
            while (Enumerable.Range(0, Clients).Any(c => recoveredAt[c, r] == 0) && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(20);
            }
        }

        await Task.WhenAll(clients);

        untyped.Should().BeEmpty(string.Join(Environment.NewLine, untyped.Take(3)));
        outcomes.Keys.Should().NotContain(k => k.EndsWith(nameof(RefreshStatus.ReuseDetected), StringComparison.Ordinal) || k.EndsWith(nameof(RefreshStatus.Revoked), StringComparison.Ordinal) || k.EndsWith(nameof(RefreshStatus.Invalid), StringComparison.Ordinal),
            "a client that retries its last token within the grace window is never treated as a thief");
        var worstResume = TimeSpan.FromSeconds(Enumerable.Range(0, restarts).Max(r => Enumerable.Range(0, Clients)
            .Max(c => recoveredAt[c, r] == 0 ? 999 : (recoveredAt[c, r] - upAt[r]) / (double)Stopwatch.Frequency)));
        worstResume.Should().BeLessThan(TimeSpan.FromSeconds(10), "every client rotates and dispatches again within 10 s of the server accepting connections, without restarting the app");

        // No fork: at most one active token per session, and it is the session's current token (migration 0002's row).
        await tokens.AssertInvariantsAsync();
        (await tokens.CountAsync("""
            SELECT count(*) FROM refresh_sessions s
            WHERE s.user_id LIKE 'restart-%' AND NOT s.revoked
              AND (SELECT array_agg(t.token_id) FROM refresh_tokens t WHERE t.session_id = s.session_id AND NOT t.revoked) IS DISTINCT FROM ARRAY[s.current_token_id]
            """)).Should().Be(0, "each live session's only active token is its current_token_id");
        (await tokens.CountAsync("SELECT count(*) FROM refresh_sessions WHERE user_id LIKE 'restart-%' AND NOT revoked")).Should().Be(Clients);

        // Every dispatch that reported an execution (and no log failure) has its log row.
        var logged = (await BomHost.AllLogsAsync(store, trigger.Id)).Select(l => l.CorrelationId!.Value).ToHashSet();
        var missing = executed.Count(id => !logged.Contains(id));
        Figures.Report(output, string.Create(CultureInfo.InvariantCulture,
            $"server restart: {Clients} clients, {restarts} x pg_ctl restart -m fast ({string.Join(", ", restartTimes.Select(t => t.ToString("0.0", CultureInfo.InvariantCulture)))} s); outcomes {string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}"))}; 0 untyped failures; every client rotated and dispatched again {worstResume.TotalSeconds:0.00} s (worst) after the server was up; invariants hold; {executed.Count} executions, {missing} without a log row"));
        missing.Should().Be(0, "an execution reported without LogWriteError has its log row");
    }

    private static string? Typed(Exception ex) => ex switch
    {
        PostgresException pg => "NpgsqlException " + pg.SqlState,
        NpgsqlException npgsql => "NpgsqlException " + (npgsql.InnerException?.GetType().Name ?? "-"),
        TokenRotationException => nameof(TokenRotationException),
        BomTriggerException => nameof(BomTriggerException),
        _ => null,
    };
}
