using System.Diagnostics;
using System.Globalization;
using Dermag.Reliability.Tests.Support;
using Dermag.Testing;
using Dermag.TokenRotation;
using Npgsql;

namespace Dermag.Reliability.Tests.Faults;

/// <summary>
/// A server-side <c>statement_timeout</c> (set through the connection string's <c>Options=-c statement_timeout=...</c>) hits
/// a rotation in flight: the test holds a row lock the rotation needs, so its statement waits and is cancelled by the
/// server. The caller gets a typed failure (a <see cref="PostgresException"/> 57014 <c>query_canceled</c>), the session is
/// intact (its current token still the only active one), and the next rotation with the same token succeeds.
/// </summary>
public sealed class StatementTimeoutTests(PostgresDatabase database, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    [Theory]
    [InlineData("refresh_sessions", "session_id")]
    [InlineData("refresh_tokens", "session_id")]
    public async Task Statement_timeout_mid_rotation_is_a_typed_failure_and_leaves_the_session_intact(string lockedTable, string keyColumn)
    {
        const int TimeoutMs = 300;
        var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Options = $"-c statement_timeout={TimeoutMs}" }.ConnectionString;
        await using var host = await TokenHost.StartAsync(connectionString, applicationName: "rel-stmt-timeout");
        var service = host.Service;
        var pair = await service.IssueAsync("timeout-" + Guid.NewGuid().ToString("N")[..8]);
        var first = await service.RefreshAsync(pair.RefreshToken);
        first.Status.Should().Be(RefreshStatus.Rotated);
        var token = first.Tokens!.RefreshToken;

        // Another session holds the rows the rotation must lock (no statement_timeout on this one).
        await using var locker = new NpgsqlConnection(database.ConnectionString);
        await locker.OpenAsync();
        var rounds = Scale.Pick(3, 30);
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        for (var round = 0; round < rounds; round++)
        {
            await using (var transaction = await locker.BeginTransactionAsync())
            {
                await using (var hold = new NpgsqlCommand($"SELECT 1 FROM {lockedTable} WHERE {keyColumn} = $1 FOR UPDATE", locker, transaction))
                {
                    hold.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = pair.SessionId });
                    (await hold.ExecuteScalarAsync()).Should().NotBeNull();
                }

                var started = Stopwatch.StartNew();
                var thrown = await FluentActions.Awaiting(() => service.RefreshAsync(token)).Should().ThrowAsync<PostgresException>();
                thrown.Which.SqlState.Should().Be(PostgresErrorCodes.QueryCanceled, "the server's statement_timeout cancels the waiting statement");
                started.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(TimeoutMs - 50));
                failures.Add(thrown.Which.SqlState);
                await transaction.RollbackAsync();
            }

            // The session is intact: one active token, the one the client holds, and it is the session's current token.
            (await host.CountAsync("""
                SELECT count(*) FROM refresh_sessions s JOIN refresh_tokens t ON t.token_id = s.current_token_id
                WHERE s.session_id = $1 AND NOT s.revoked AND NOT t.revoked
                """, pair.SessionId)).Should().Be(1);
            (await host.CountAsync("SELECT count(*) FROM refresh_tokens WHERE session_id = $1 AND NOT revoked", pair.SessionId)).Should().Be(1);

            // The next rotation with the same token succeeds (no reuse: the timed-out one rolled back).
            var next = await service.RefreshAsync(token);
            next.Status.Should().Be(RefreshStatus.Rotated);
            next.Tokens!.SessionId.Should().Be(pair.SessionId);
            token = next.Tokens.RefreshToken;
        }

        await host.AssertInvariantsAsync();
        Figures.Report(output, string.Create(CultureInfo.InvariantCulture,
            $"statement timeout ({TimeoutMs} ms, lock on {lockedTable}): {rounds} rotations cancelled mid-flight, all PostgresException {string.Join(",", failures.Distinct())}; session intact each time; the next rotation with the same token Rotated; {watch.Elapsed.TotalSeconds:0.0} s"));
    }
}
