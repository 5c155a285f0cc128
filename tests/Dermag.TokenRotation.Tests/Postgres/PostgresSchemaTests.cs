using Dermag.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Dermag.TokenRotation.Tests.Postgres;

/// <summary>Migration, the SQL cleanup function and the seed's monitoring queries, in the fixture's fresh database (schema public).</summary>
public sealed class PostgresSchemaTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task MigrateAsync_FreshDatabase_AppliesOnceAndCleanupFunctionReturnsZero()
    {
        // Its own database: the other tests of this class migrate the shared one in any order.
        await using var fresh = Npgsql.NpgsqlDataSource.Create(await database.CreateDatabaseAsync("tokenrotationfreshdatabase"));
        var runner = TokenRotationMigrations.CreateRunner(fresh);

        var first = await runner.MigrateAsync();
        var second = await runner.MigrateAsync();

        first.Applied.Should().Equal("0001_create_refresh_tokens.sql", "0002_create_refresh_sessions.sql", "0003_rotate_function.sql");
        second.Applied.Should().BeEmpty();
        (await runner.GetStatusAsync()).IsUpToDate.Should().BeTrue();
        await using var cleanup = fresh.CreateCommand("SELECT cleanup_expired_refresh_tokens(30)");
        (await cleanup.ExecuteScalarAsync()).Should().Be(0);
        runner.ExportScript().Should().Contain("CREATE TABLE IF NOT EXISTS \"public\".refresh_tokens").And.Contain("user_id             text NOT NULL,");
    }

    [Fact]
    public async Task CleanupFunction_TokensExpiredWithTheFakeClock_ReturnsTheirCount()
    {
        await TokenRotationMigrations.CreateRunner(database.DataSource).MigrateAsync();
        var store = new PostgresRefreshTokenStore(database.DataSource, new PostgresTokenStoreOptions());
        var databaseNow = await DatabaseNowAsync();
        var past = new FakeTimeProvider(databaseNow.AddDays(-60));
        var oldService = TestSetup.Service(store, past);
        var user = "cleanup-" + Guid.NewGuid().ToString("N");
        var old = await oldService.IssueAsync(user);
        await oldService.RefreshAsync(old.RefreshToken);
        await oldService.IssueAsync(user);
        await oldService.IssueAsync(user);
        var recent = TestSetup.Service(store, new FakeTimeProvider(databaseNow));
        await recent.IssueAsync(user);
        await recent.IssueAsync(user);

        (await Scalar<int>("SELECT cleanup_expired_refresh_tokens(60)")).Should().Be(0, "they expired 53 days ago");
        (await Scalar<int>("SELECT cleanup_expired_refresh_tokens(30)")).Should().Be(4);
        (await Scalar<long>($"SELECT count(*) FROM refresh_tokens WHERE user_id = '{user}'")).Should().Be(2);
    }

    [Fact]
    public async Task MonitoringQueries_OfTheOriginalSystem_KeepWorking()
    {
        await TokenRotationMigrations.CreateRunner(database.DataSource).MigrateAsync();
        var store = new PostgresRefreshTokenStore(database.DataSource, new PostgresTokenStoreOptions());
        var service = TestSetup.Service(store, new FakeTimeProvider(await DatabaseNowAsync()));
        var user = "monitor-" + Guid.NewGuid().ToString("N");
        var pair = await service.IssueAsync(user);
        await service.IssueAsync(user);
        await service.RefreshAsync(pair.RefreshToken);
        await service.RefreshAsync(pair.RefreshToken);
        var fresh = await service.IssueAsync(user);

        var active = await Scalar<long>($"SELECT count(*) FROM refresh_tokens WHERE user_id = '{user}' AND revoked = false AND expires_at > NOW()");
        var attacks = await Scalar<long>(
            $"SELECT count(*) FROM audit_logs WHERE event_type = 'TOKEN_REUSE_ATTACK' AND user_id = '{user}' AND created_at > NOW() - INTERVAL '24 hours'");

        active.Should().Be(1, "only the session started after the reuse response is active");
        attacks.Should().Be(1);
        (await service.ListSessionsAsync(user)).Select(s => s.SessionId).Should().Equal(fresh.SessionId);
    }

    [Fact]
    public async Task ActiveSessionIndex_SecondActiveTokenForASession_IsRejectedByTheDatabase()
    {
        await TokenRotationMigrations.CreateRunner(database.DataSource).MigrateAsync();
        var session = Guid.NewGuid();
        const string Insert = """
            INSERT INTO refresh_tokens (token_id, user_id, session_id, expires_at, session_expires_at)
            VALUES (gen_random_uuid(), 'index-user', $1, now() + interval '1 day', now() + interval '1 day')
            """;
        await Execute(Insert, session);

        var act = () => Execute(Insert, session);

        (await act.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be("23505");
    }

    private async Task<DateTimeOffset> DatabaseNowAsync() => new(DateTime.SpecifyKind(await Scalar<DateTime>("SELECT now()"), DateTimeKind.Utc));

    private async Task<T> Scalar<T>(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private async Task Execute(string sql, Guid parameter)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        command.Parameters.AddWithValue(parameter);
        await command.ExecuteNonQueryAsync();
    }
}
