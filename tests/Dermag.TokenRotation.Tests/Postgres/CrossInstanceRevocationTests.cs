using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Dermag.TokenRotation.Tests.Postgres;

/// <summary>
/// Two app instances (two hosts, each with its own cache and listener) on one database. A revocation on one reaches the
/// other's paranoid-mode cache through LISTEN/NOTIFY; fake time never advances the cache, so only the notification can
/// turn a cached "active" into "revoked".
/// </summary>
public sealed class CrossInstanceRevocationTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task RevokeAllSessions_OnOneInstance_DropsTheCachedAnswerOnTheOther()
    {
        var connectionString = await database.CreateDatabaseAsync("crossinstance");
        using var a = await StartAsync(connectionString, new FakeTimeProvider(TestSetup.Start));
        using var b = await StartAsync(connectionString, new FakeTimeProvider(TestSetup.Start));
        var serviceA = a.Services.GetRequiredService<IRefreshTokenManager>();
        var serviceB = b.Services.GetRequiredService<IRefreshTokenManager>();
        var pair = await serviceA.IssueAsync("everywhere");
        var kept = await serviceA.IssueAsync("everywhere");
        (await serviceB.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue();
        (await serviceB.IsSessionActiveAsync(kept.SessionId)).Should().BeTrue();

        (await serviceA.RevokeAllSessionsAsync("everywhere", exceptSessionId: kept.SessionId)).Should().Be(1);

        (await EventuallyAsync(async () => !await serviceB.IsSessionActiveAsync(pair.SessionId))).Should().BeTrue("instance A's revocation must reach instance B's cache");
        (await serviceB.IsSessionActiveAsync(kept.SessionId)).Should().BeTrue("only the revoked session is dropped");
    }

    [Fact]
    public async Task ReuseResponse_OnOneInstance_DropsTheCachedAnswersOnTheOther()
    {
        var connectionString = await database.CreateDatabaseAsync("crossinstancereuse");
        using var a = await StartAsync(connectionString, new FakeTimeProvider(TestSetup.Start));
        using var b = await StartAsync(connectionString, new FakeTimeProvider(TestSetup.Start));
        var serviceA = a.Services.GetRequiredService<IRefreshTokenManager>();
        var serviceB = b.Services.GetRequiredService<IRefreshTokenManager>();
        var pair = await serviceA.IssueAsync("victim");
        await serviceA.RefreshAsync(pair.RefreshToken);
        (await serviceB.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue();

        (await serviceA.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.ReuseDetected);

        (await EventuallyAsync(async () => !await serviceB.IsSessionActiveAsync(pair.SessionId))).Should().BeTrue();
    }

    [Fact]
    public async Task QuietListener_ProvesItStillHears_WithoutReconnecting()
    {
        // A listener that hears nothing for its keep-alive interval notifies itself. PostgreSQL delivers a session's own
        // notification before the reply to the command that sent it, so the listener must recognise its ping, not wait
        // for a second message (which never comes on a quiet cluster: it used to reconnect every keep-alive + 5 s).
        var connectionString = await database.CreateDatabaseAsync("crossinstancequiet");
        using var host = Build((await PostgresServer.GetAsync()).Limit(connectionString, 10), new FakeTimeProvider(TestSetup.Start), notifications: true, "quiet", configure: null);
        var listener = host.Services.GetRequiredService<RevocationListener>();
        listener.KeepAliveInterval = TimeSpan.FromMilliseconds(100);
        await host.StartAsync();
        await listener.Listening.WaitAsync(Patience);

        (await EventuallyAsync(() => Task.FromResult(listener.PingsSent >= 5))).Should().BeTrue();

        listener.Connections.Should().Be(1, "every ping was heard, so the connection was never given up");
        listener.IsListening.Should().BeTrue();
        await host.StopAsync();
    }

    [Fact]
    public async Task ListenerWhoseServerStopsAnswering_IsDownBeforeItWaitsToCloseItsConnection()
    {
        // A listener whose connection hangs (a network partition, a frozen server) finds out when its ping goes unheard.
        // It used to report itself down, and drop the cached answers, only after UNLISTEN on that connection had timed out
        // (up to 2 s more): now it is down first, then closes the connection.
        var connectionString = await database.CreateDatabaseAsync("crossinstancefrozen");
        var time = new FakeTimeProvider(TestSetup.Start);
        using var host = Build((await PostgresServer.GetAsync()).Limit(connectionString, 10), time, notifications: true, "frozen", configure: null);
        var listener = host.Services.GetRequiredService<RevocationListener>();
        listener.KeepAliveInterval = TimeSpan.FromMilliseconds(100);
        await host.StartAsync();
        await listener.Listening.WaitAsync(Patience);
        var dataSource = host.Services.GetRequiredService<Dermag.Migrations.PostgresStoreDataSource<PostgresTokenStoreOptions>>().DataSource;
        var backend = await PooledListenerCheck.ListeningBackendAsync(dataSource, "frozen");

        using (var frozen = await FrozenBackend.FreezeAsync(dataSource, backend, new NpgsqlConnectionStringBuilder(connectionString).Database!))
        {
            if (frozen is null)
            {
                return; // not a backend of a server on this machine that this user may signal (see FrozenBackend)
            }

            (await EventuallyAsync(() => Task.FromResult(!listener.IsListening))).Should().BeTrue("the unheard ping ends the listener");
            listener.ConnectionsClosed.Should().Be(0, "the listener is down while UNLISTEN still waits on the frozen backend");
        }

        // Thawed, the connection is closed and the listener comes back (its retry delay runs on the fake clock).
        var thawed = System.Diagnostics.Stopwatch.StartNew();
        while (!listener.IsListening || listener.Connections < 2)
        {
            thawed.Elapsed.Should().BeLessThan(Patience, "the listener reconnects once the server answers again");
            time.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(10);
        }

        listener.Connections.Should().Be(2, "one reconnection");
        listener.ConnectionsClosed.Should().Be(1);
        await host.StopAsync();
    }

    [Fact]
    public async Task HostStart_RoleThatMayNotExecuteTheRotationFunction_FailsNamingTheGrant_AndStartsOnceGranted()
    {
        // A DBA who revoked PUBLIC's default EXECUTE would otherwise see every refresh fail with 42501, while the host and
        // its health check look fine.
        var connectionString = await database.CreateDatabaseAsync("crossinstancegrant");
        var role = "dermag_limited_" + Guid.NewGuid().ToString("N")[..8];
        await using var admin = NpgsqlDataSource.Create(connectionString);
        await TokenRotationMigrations.CreateRunner(admin).MigrateAsync();
        await ExecuteAsync(admin, $"""
            CREATE ROLE {role} LOGIN PASSWORD 'limited-password';
            GRANT USAGE ON SCHEMA public TO {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role};
            REVOKE EXECUTE ON FUNCTION public.{PostgresSql.RotationFunction} FROM PUBLIC;
            """);
        try
        {
            var limited = new NpgsqlConnectionStringBuilder(connectionString) { Username = role, Password = "limited-password" }.ConnectionString;
            using (var refused = Build(limited, TimeProvider.System, notifications: false, "grant", pg => pg.MigrationMode = Dermag.Migrations.MigrationStartupMode.ValidateOnly))
            {
                (await FluentActions.Awaiting(() => refused.StartAsync()).Should().ThrowAsync<TokenRotationException>()).Which.Message.Should()
                    .Contain("may not execute public.rotate_refresh_token")
                    .And.Contain("GRANT EXECUTE ON FUNCTION public.rotate_refresh_token(uuid, uuid, timestamptz, timestamptz, timestamptz, text, text, text, uuid)");
            }

            await ExecuteAsync(admin, $"GRANT EXECUTE ON FUNCTION public.{PostgresSql.RotationFunction} TO {role}");
            using var granted = Build(limited, TimeProvider.System, notifications: false, "grant", pg => pg.MigrationMode = Dermag.Migrations.MigrationStartupMode.ValidateOnly);
            await granted.StartAsync();
            var service = granted.Services.GetRequiredService<IRefreshTokenManager>();
            (await service.RefreshAsync((await service.IssueAsync("granted")).RefreshToken)).Status.Should().Be(RefreshStatus.Rotated);

            // Revoked while the host runs: the start cannot see it, the health check does.
            var health = granted.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
            (await health.CheckHealthAsync()).Entries["dermag-token-rotation"].Status.Should().Be(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy);
            await ExecuteAsync(admin, $"REVOKE EXECUTE ON FUNCTION public.{PostgresSql.RotationFunction} FROM {role}");
            var revoked = (await health.CheckHealthAsync()).Entries["dermag-token-rotation"];
            revoked.Status.Should().Be(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy);
            revoked.Description.Should().Contain("may not execute public.rotate_refresh_token").And.Contain("GRANT EXECUTE ON FUNCTION");
            await granted.StopAsync();
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(admin, $"DROP OWNED BY {role}; DROP ROLE {role};");
        }
    }

    [Fact]
    public async Task HostStart_MigrationsManagedElsewhereAndTheRotationFunctionMissing_FailsNamingTheMigration()
    {
        var connectionString = await database.CreateDatabaseAsync("crossinstancenofunction");
        await using (var admin = NpgsqlDataSource.Create(connectionString))
        {
            await TokenRotationMigrations.CreateRunner(admin).MigrateAsync();
            await ExecuteAsync(admin, $"DROP FUNCTION public.{PostgresSql.RotationFunction}");
        }

        using var host = Build(connectionString, TimeProvider.System, notifications: false, "nofunction", pg => pg.MigrationMode = Dermag.Migrations.MigrationStartupMode.None);

        (await FluentActions.Awaiting(() => host.StartAsync()).Should().ThrowAsync<TokenRotationException>()).Which.Message.Should()
            .Contain("public.rotate_refresh_token does not").And.Contain("0003_rotate_function.sql");
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task StoppedListener_HandsNoListeningConnectionBackToThePool()
    {
        // The store's own data source does not reset connections it takes back (No Reset On Close), so the listener must
        // end LISTEN itself: otherwise the next user of its pooled connection would sit in LISTEN, and its notifications
        // would pile up unread on a connection nobody waits on.
        var connectionString = await database.CreateDatabaseAsync("crossinstancepooled");
        using var host = Build((await PostgresServer.GetAsync()).Limit(connectionString, 2), new FakeTimeProvider(TestSetup.Start), notifications: true, "pooled", configure: null);
        var listener = host.Services.GetRequiredService<RevocationListener>();
        await host.StartAsync();
        await listener.Listening.WaitAsync(Patience);
        await host.Services.GetRequiredService<IRefreshTokenManager>().IssueAsync("pooled");
        var dataSource = host.Services.GetRequiredService<Dermag.Migrations.PostgresStoreDataSource<PostgresTokenStoreOptions>>().DataSource;
        var listenerBackend = await PooledListenerCheck.ListeningBackendAsync(dataSource, "pooled");

        await host.StopAsync();

        new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).NoResetOnClose.Should().BeTrue();
        await PooledListenerCheck.AssertNoPooledConnectionListensAsync(dataSource, listenerBackend);
    }

    [Fact]
    public async Task HealthCheck_IsHealthyWhileListening_DegradedWhenTheListenerIsDown_UnhealthyWithoutMigrations()
    {
        var connectionString = await database.CreateDatabaseAsync("crossinstancehealth");
        using var host = await StartAsync(connectionString, new FakeTimeProvider(TestSetup.Start), applicationName: "health");
        var health = host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();

        var healthy = (await health.CheckHealthAsync()).Entries["dermag-token-rotation"];
        healthy.Status.Should().Be(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, healthy.Description);
        healthy.Tags.Should().Contain("ready");

        await host.Services.GetRequiredService<RevocationListener>().StopAsync(default);
        var degraded = (await health.CheckHealthAsync()).Entries["dermag-token-rotation"];
        degraded.Status.Should().Be(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded);
        degraded.Description.Should().Contain("LISTEN connection is down");

        await using (var dataSource = NpgsqlDataSource.Create((await PostgresServer.GetAsync()).Limit(connectionString, 2)))
        await using (var forget = dataSource.CreateCommand(
            $"DELETE FROM public.{Dermag.Migrations.MigrationRunner.HistoryTableName} WHERE library = 'Dermag.TokenRotation' AND script LIKE '0002%'"))
        {
            (await forget.ExecuteNonQueryAsync()).Should().Be(1);
        }

        var unhealthy = (await health.CheckHealthAsync()).Entries["dermag-token-rotation"];
        unhealthy.Status.Should().Be(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy);
        unhealthy.Description.Should().Contain("0002_create_refresh_sessions.sql");
    }

    [Fact]
    public async Task ListenerConnectionLost_ClearsTheCacheAndListensAgain()
    {
        var connectionString = await database.CreateDatabaseAsync("crossinstancelost");
        var timeB = new FakeTimeProvider(TestSetup.Start);
        using var silent = await StartAsync(connectionString, new FakeTimeProvider(TestSetup.Start), notifications: false);
        using var b = await StartAsync(connectionString, timeB, applicationName: "instance-b");
        var revoker = silent.Services.GetRequiredService<IRefreshTokenManager>();
        var serviceB = b.Services.GetRequiredService<IRefreshTokenManager>();
        var listener = b.Services.GetRequiredService<RevocationListener>();
        var first = await revoker.IssueAsync("lost");
        var second = await revoker.IssueAsync("lost");
        (await serviceB.IsSessionActiveAsync(first.SessionId)).Should().BeTrue();

        // A revocation that publishes nothing stays invisible to B's cache: the cache is real.
        await revoker.RevokeSessionAsync("lost", first.SessionId);
        (await serviceB.IsSessionActiveAsync(first.SessionId)).Should().BeTrue("B cached the answer and heard nothing");

        // B's listener loses its connection: B must forget everything it cached, then listen again.
        await using (var kill = database.DataSource.CreateCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'instance-b' AND query LIKE 'LISTEN%'"))
        {
            (await kill.ExecuteScalarAsync()).Should().Be(1L);
        }

        (await EventuallyAsync(() => Task.FromResult(!listener.IsListening))).Should().BeTrue();
        (await serviceB.IsSessionActiveAsync(first.SessionId)).Should().BeFalse("the cache was cleared when the listener was lost");
        (await EventuallyAsync(() =>
        {
            timeB.Advance(TimeSpan.FromSeconds(1)); // the reconnect backoff waits on B's clock
            return Task.FromResult(listener.IsListening);
        })).Should().BeTrue("the listener reconnects");

        (await serviceB.IsSessionActiveAsync(second.SessionId)).Should().BeTrue();
        var a = await StartAsync(connectionString, new FakeTimeProvider(TestSetup.Start));
        using (a)
        {
            await a.Services.GetRequiredService<IRefreshTokenManager>().RevokeSessionAsync("lost", second.SessionId);
        }

        (await EventuallyAsync(async () => !await serviceB.IsSessionActiveAsync(second.SessionId))).Should().BeTrue("revocations are heard again after the reconnect");
    }

    [Fact]
    public async Task StartAsync_UserIdTypeDiffersFromTheTables_FailsNamingBothTypes()
    {
        var connectionString = await database.CreateDatabaseAsync("useridtypechange");
        using (var integers = await StartAsync(connectionString, TimeProvider.System, configure: pg => pg.UserIdType = UserIdColumnType.Integer))
        {
            await integers.StopAsync();
        }

        using var texts = Build((await PostgresServer.GetAsync()).Limit(connectionString, 10), TimeProvider.System, notifications: true, "dermag-tests", pg => pg.UserIdType = UserIdColumnType.Text);
        var act = () => texts.StartAsync();

        (await act.Should().ThrowAsync<TokenRotationException>()).Which.Message.Should()
            .Contain("PostgresTokenStoreOptions.UserIdType is Text (text)")
            .And.Contain("public.refresh_tokens.user_id is integer");
    }

    private static async Task<IHost> StartAsync(
        string connectionString,
        TimeProvider time,
        bool notifications = true,
        string applicationName = "dermag-tests",
        Action<PostgresTokenStoreOptions>? configure = null)
    {
        var host = Build((await PostgresServer.GetAsync()).Limit(connectionString, 10), time, notifications, applicationName, configure);
        await host.StartAsync();
        if (notifications)
        {
            await host.Services.GetRequiredService<RevocationListener>().Listening.WaitAsync(Patience);
        }

        return host;
    }

    private static IHost Build(string connectionString, TimeProvider time, bool notifications, string applicationName, Action<PostgresTokenStoreOptions>? configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(time);
        builder.Services.AddRefreshTokenRotation(o =>
        {
            var valid = TestSetup.Options(x => x.SessionCheckCacheDuration = TimeSpan.FromMinutes(5));
            o.Issuer = valid.Issuer;
            o.Audience = valid.Audience;
            o.AccessSigningKeys.Add(valid.AccessSigningKeys[0]);
            o.RefreshSigningKeys.Add(valid.RefreshSigningKeys[0]);
            o.SessionCheckCacheDuration = valid.SessionCheckCacheDuration;
        }).UsePostgres(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = applicationName }.ConnectionString, pg =>
        {
            pg.RevocationNotifications = notifications;
            configure?.Invoke(pg);
        });
        builder.Services.AddHealthChecks().AddRefreshTokenRotation(tags: ["ready"]);
        return builder.Build();
    }

    /// <summary>Polls a condition (each poll is a real query or cache read), up to a generous bound; true when it held.</summary>
    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            // A real notification is awaited here, not time: poll without spinning a core of the two.
            await Task.Delay(2);
        }

        return false;
    }
}
