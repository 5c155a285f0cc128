using System.Collections.Concurrent;
using Dermag.Reliability.Tests.Support;
using Dermag.Testing;
using Dermag.TokenRotation;
using Npgsql;

namespace Dermag.Reliability.Tests.TokenRotation;

/// <summary>
/// 16 clients rotate their sessions while a second connection terminates the library's backends
/// (<c>pg_terminate_backend</c>) every 200 ms. Every call ends in a pair, a typed result, or a typed Npgsql exception
/// (never anything else); a client that lost a response retries its last token and the grace window hands it the same
/// successor; afterwards the invariants hold, each session has exactly one active token, and the same service instance
/// rotates every session again (recovery without restart).
/// </summary>
public sealed class BackendTerminationTests(PostgresDatabase database, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private const int Clients = 16;

    [Fact]
    public async Task Rotation_survives_backends_being_terminated_every_200_ms()
    {
        var minimumCallsPerClient = Scale.Pick(25, 400);
        var minimumKillRounds = Scale.Pick(10, 150);
        var applicationName = "rel-faults-" + Guid.NewGuid().ToString("N")[..8];
        await using var host = await TokenHost.StartAsync(database.ConnectionString, o => o.ReuseGracePeriod = TimeSpan.FromMinutes(1), applicationName);
        var service = host.Service;
        var current = new string[Clients];
        var sessions = new Guid[Clients];
        for (var c = 0; c < Clients; c++)
        {
            var pair = await service.IssueAsync($"fault-user-{applicationName}-{c}");
            current[c] = pair.RefreshToken;
            sessions[c] = pair.SessionId;
        }

        var outcomes = new ConcurrentDictionary<string, int>();
        var untyped = new ConcurrentQueue<string>();
        int killRounds = 0, killed = 0;
        using var stop = new CancellationTokenSource();

        // The fault injector runs on a real timer; nothing below waits on it to assert.
        var killer = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    await using var command = host.DataSource.CreateCommand(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1");
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = applicationName });
                    Interlocked.Add(ref killed, (int)(long)(await command.ExecuteScalarAsync(stop.Token))!);
                    Interlocked.Increment(ref killRounds);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });

        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            for (var call = 0; call < minimumCallsPerClient || Volatile.Read(ref killRounds) < minimumKillRounds; call++)
            {
                try
                {
                    var result = await service.RefreshAsync(current[c]);
                    outcomes.AddOrUpdate(result.Status.ToString(), 1, (_, n) => n + 1);
                    if (result.Succeeded)
                    {
                        result.Tokens.SessionId.Should().Be(sessions[c]);
                        current[c] = result.Tokens.RefreshToken;
                    }
                }
                catch (NpgsqlException ex)
                {
                    // A typed failure: the caller keeps its token and retries; the grace window covers a lost response.
                    outcomes.AddOrUpdate("NpgsqlException " + (ex is PostgresException pg ? pg.SqlState : ex.InnerException?.GetType().Name ?? "-"), 1, (_, n) => n + 1);
                }
                catch (Exception ex)
                {
                    untyped.Enqueue($"client {c}: {ex}");
                }
            }
        })).ToList();

        await Task.WhenAll(clients);
        await stop.CancelAsync();
        await killer;

        untyped.Should().BeEmpty(string.Join(Environment.NewLine, untyped.Take(3)));
        outcomes.Keys.Should().NotContain(k => k == nameof(RefreshStatus.ReuseDetected) || k == nameof(RefreshStatus.Invalid) || k == nameof(RefreshStatus.Revoked),
            "a client that retries its last token within the grace window is never treated as a thief");
        killed.Should().BeGreaterThan(0, "the fault injector must actually have terminated backends");

        // Recovery without restart: the same service rotates every session once more. A pooled connection whose backend
        // was killed while it sat idle fails its next use with a typed 57P01 (the statement never ran); the caller retries.
        // (The library does not retry it itself: a 57P01 after a commit whose reply was lost would make a retry reuse.)
        for (var c = 0; c < Clients; c++)
        {
            RefreshResult? result = null;
            for (var attempt = 0; result is null; attempt++)
            {
                try
                {
                    result = await service.RefreshAsync(current[c]);
                }
                catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.AdminShutdown && attempt < 100)
                {
                    // Each such failure drops that dead connection from the pool; the next attempt gets another.
                }
            }

            result.Status.Should().Be(RefreshStatus.Rotated);
            result.Tokens!.SessionId.Should().Be(sessions[c]);
        }

        await host.AssertInvariantsAsync();
        (await host.CountAsync("SELECT count(*) FROM refresh_tokens WHERE NOT revoked AND user_id LIKE $1", $"fault-user-{applicationName}-%")).Should().Be(Clients, "each session ends with exactly one active token");
        Figures.Report(output, $"backend termination: {Clients} clients, {killRounds} kill rounds terminated {killed} backends; outcomes {string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}"))}; 0 untyped failures; all sessions rotate afterwards; invariants hold");
    }
}
