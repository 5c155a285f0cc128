using Dermag.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Dermag.TokenRotation.Tests.Postgres;

/// <summary>What ends the session while a rotation of it is in flight.</summary>
public enum Revocation
{
    LogoutWithRotatingToken,
    RevokeSession,
    RevokeAllSessions,
    ReuseRevokeAllUserSessions,
    ReuseRevokeSession,
}

/// <summary>
/// Revocation against a rotation that is in flight at the same moment, with the window widened deterministically: a
/// test-only trigger sleeps inside the insert of the successor (while the rotation holds its locks), and the revocation
/// starts once PostgreSQL reports the rotation asleep. Whatever the order, the session must end with no active token
/// and the successor must not rotate (the race class of Keycloak CVE-2026-1035).
/// </summary>
public sealed class RevocationRaceTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private const string Slow = "slow-rotation";
    private readonly string _schema = "race_" + Guid.NewGuid().ToString("N")[..12];
    private readonly FakeTimeProvider _time = TestSetup.Clock();
    private PostgresRefreshTokenStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = await TestSetup.MigratedStoreAsync(database.DataSource, _schema);

        // Sleeps inside the successor insert of a rotation whose client says it is slow: the rotation holds every lock it
        // takes for that long, so a revocation started meanwhile must wait for it (or make it fail). 1.5 s, not less: on a
        // loaded CI machine a 0.6 s window once closed before the revocation was seen waiting.
        await ExecuteAsync($"""
            CREATE FUNCTION "{_schema}".test_slow_successor() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
                IF NEW.parent_token_id IS NOT NULL AND NEW.user_agent = '{Slow}' THEN
                    PERFORM pg_sleep(1.5);
                END IF;
                RETURN NEW;
            END
            $f$;
            CREATE TRIGGER test_slow_successor BEFORE INSERT ON "{_schema}".refresh_tokens
                FOR EACH ROW EXECUTE FUNCTION "{_schema}".test_slow_successor();
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData(Revocation.LogoutWithRotatingToken)]
    [InlineData(Revocation.RevokeSession)]
    [InlineData(Revocation.RevokeAllSessions)]
    [InlineData(Revocation.ReuseRevokeAllUserSessions)]
    [InlineData(Revocation.ReuseRevokeSession)]
    public async Task Revocation_DuringRotation_LeavesNoActiveToken(Revocation revocation)
    {
        var policy = revocation == Revocation.ReuseRevokeSession ? TokenReusePolicy.RevokeSession : TokenReusePolicy.RevokeAllUserSessions;
        var service = TestSetup.Service(_store, _time, o => o.ReusePolicy = policy);
        var user = "race-" + Guid.NewGuid().ToString("N")[..8];
        var first = await service.IssueAsync(user);

        // The victim's first token is rotated away by the attacker, who then keeps the chain alive.
        var current = first;
        if (revocation is Revocation.ReuseRevokeAllUserSessions or Revocation.ReuseRevokeSession)
        {
            var rotated = await service.RefreshAsync(first.RefreshToken);
            current = rotated.Tokens!;
        }

        var rotation = service.RefreshAsync(current.RefreshToken, new SessionContext(UserAgent: Slow));
        await WaitUntilAsync("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()", rotation);

        Task revoke = revocation switch
        {
            Revocation.LogoutWithRotatingToken => service.LogoutAsync(current.RefreshToken),
            Revocation.RevokeSession => service.RevokeSessionAsync(user, first.SessionId),
            Revocation.RevokeAllSessions => service.RevokeAllSessionsAsync(user),
            _ => service.RefreshAsync(first.RefreshToken),
        };
        var blocked = await WaitUntilAsync("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()", revoke);

        var rotationResult = await rotation;
        await revoke;

        blocked.Should().BeTrue("the revocation must have run while the rotation held its locks, or the test proves nothing");
        (await CountActiveAsync(first.SessionId)).Should().Be(0, "a revocation that returned must leave the session without an active token");
        if (rotationResult.Succeeded)
        {
            var successor = await service.RefreshAsync(rotationResult.Tokens.RefreshToken);
            successor.Succeeded.Should().BeFalse("the successor created by the racing rotation must be dead");
        }

        (await service.IsSessionActiveAsync(first.SessionId)).Should().BeFalse();
    }

    [Fact]
    public async Task TokenRevokedOnlyInRefreshTokens_DoesNotRotate()
    {
        // A revocation written at token level only (your own SQL, or the previous version of the library during an
        // upgrade) must be honoured by the compare-and-swap as well.
        var service = TestSetup.Service(_store, _time);
        var pair = await service.IssueAsync("token-level");
        await using (var command = database.DataSource.CreateCommand(
            $"UPDATE \"{_schema}\".refresh_tokens SET revoked = true, revoked_at = now(), revoke_reason = 'logout' WHERE session_id = $1"))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = pair.SessionId });
            (await command.ExecuteNonQueryAsync()).Should().Be(1);
        }

        (await service.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked);
        (await CountActiveAsync(pair.SessionId)).Should().Be(0);
    }

    [Fact]
    public async Task SessionWithoutSessionRow_IsAdoptedAndRotates()
    {
        // A login made by the previous version of the library has a token but no refresh_sessions row.
        var service = TestSetup.Service(_store, _time);
        var pair = await service.IssueAsync("adopted");
        await using (var command = database.DataSource.CreateCommand($"DELETE FROM \"{_schema}\".refresh_sessions WHERE session_id = $1"))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = pair.SessionId });
            (await command.ExecuteNonQueryAsync()).Should().Be(1);
        }

        var rotated = await service.RefreshAsync(pair.RefreshToken);

        rotated.Status.Should().Be(RefreshStatus.Rotated);
        (await service.RevokeAllSessionsAsync("adopted")).Should().Be(1, "the adopted session is revocable like any other");
        (await service.RefreshAsync(rotated.Tokens!.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked);
    }

    private Task<long> CountActiveAsync(Guid sessionId) => TestSetup.CountActiveTokensAsync(database.DataSource, _schema, sessionId);

    /// <summary>Polls a count query until it is positive; false when <paramref name="until"/> finished first.</summary>
    private async Task<bool> WaitUntilAsync(string countSql, Task until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            await using var command = database.DataSource.CreateCommand(countSql);
            if ((long)(await command.ExecuteScalarAsync())! > 0)
            {
                return true;
            }

            if (until.IsCompleted)
            {
                return false;
            }

            await Task.Yield();
        }

        return false;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
