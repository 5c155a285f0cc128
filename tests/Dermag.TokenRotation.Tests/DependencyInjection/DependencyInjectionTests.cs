using Dermag.Migrations;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Dermag.TokenRotation.Tests.DependencyInjection;

public sealed class DependencyInjectionTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task StartAsync_InvalidOptions_FailsNamingEveryBadOptionAtOnce()
    {
        using var host = Host(services => services
            .AddRefreshTokenRotation(o =>
            {
                o.Issuer = " ";
                o.RefreshSigningKeys.Add(new TokenSigningKey("r1", new byte[16]));
                o.RefreshSigningKeys.Add(new TokenSigningKey("r1", new byte[40]));
                o.AccessTokenLifetime = TimeSpan.Zero;
                o.ReuseGracePeriod = TimeSpan.FromHours(1);
                o.CleanupBatchSize = 0;
            })
            .UseInMemoryStore());

        var act = () => host.StartAsync();

        var exception = (await act.Should().ThrowAsync<OptionsValidationException>()).Subject.Single();
        exception.Failures.Should().HaveCount(8);
        exception.Message.Should()
            .Contain("RefreshTokenRotationOptions.Issuer is required")
            .And.Contain("RefreshTokenRotationOptions.Audience is required")
            .And.Contain("RefreshTokenRotationOptions.AccessSigningKeys needs at least one key")
            .And.Contain("RefreshTokenRotationOptions.RefreshSigningKeys[0].Key must be at least 256 bits")
            .And.Contain("RefreshTokenRotationOptions.RefreshSigningKeys[1].KeyId 'r1' is used by another key")
            .And.Contain("RefreshTokenRotationOptions.AccessTokenLifetime must be positive")
            .And.Contain("RefreshTokenRotationOptions.ReuseGracePeriod must be between 0 and 00:01:00")
            .And.Contain("RefreshTokenRotationOptions.CleanupBatchSize must be between");
    }

    [Fact]
    public async Task StartAsync_SameKeyForAccessAndRefresh_FailsNamingRefreshSigningKeys()
    {
        using var host = Host(services => services
            .AddRefreshTokenRotation(o =>
            {
                Valid(o);
                o.RefreshSigningKeys[0] = new TokenSigningKey("other-id", [.. o.AccessSigningKeys[0].Key]);
            })
            .UseInMemoryStore());

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should()
            .Contain("RefreshTokenRotationOptions.RefreshSigningKeys must not reuse a key of AccessSigningKeys");
    }

    [Fact]
    public async Task StartAsync_InvalidPostgresOptions_FailsNamingThemBeforeAnySql()
    {
        using var host = Host(services => services
            .AddRefreshTokenRotation(Valid)
            .UsePostgres("Host=203.0.113.1;Timeout=1", o =>
            {
                o.Schema = "tokens; DROP TABLE users";
                o.UsersTable = "app-users";
            }));

        var act = () => host.StartAsync();

        var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
        message.Should().Contain("PostgresTokenStoreOptions.Schema must be a plain SQL identifier")
            .And.Contain("PostgresTokenStoreOptions.UsersTable must be a plain SQL identifier");
    }

    [Fact]
    public void AddRefreshTokenRotation_CalledTwice_RegistersEachServiceOnce()
    {
        var services = new ServiceCollection();
        services.AddRefreshTokenRotation(Valid).UsePostgres("Host=localhost").AddPeriodicCleanup();
        services.AddRefreshTokenRotation(Valid).UsePostgres("Host=localhost").AddPeriodicCleanup();

        services.Count(d => d.ServiceType == typeof(IRefreshTokenManager)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IRefreshTokenStore)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IValidateOptions<RefreshTokenRotationOptions>)).Should().Be(1);
        services.Count(d => d.ServiceType.Name == "MigrationRegistration").Should().Be(1);
        services.Count(d => d.ImplementationType == typeof(RefreshTokenCleanupService)).Should().Be(1);
    }

    [Fact]
    public void GetService_NoStoreChosen_ExplainsWhatToCall()
    {
        using var provider = new ServiceCollection().AddLogging().AddRefreshTokenRotation(Valid).Services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IRefreshTokenManager>();

        act.Should().Throw<TokenRotationException>().WithMessage("*UsePostgres(...) or UseInMemoryStore()*");
    }

    [Fact]
    public async Task UsePostgres_WithConnectionString_MigratesAtStartupAndServes()
    {
        var connectionString = await database.CreateDatabaseAsync("tokenrotationdependencyinjection");
        var time = new FakeTimeProvider(TestSetup.Start);
        using var host = Host(services =>
        {
            services.AddSingleton<TimeProvider>(time);
            services.AddRefreshTokenRotation(Valid).UsePostgres(connectionString, o => o.Schema = "auth");
        });

        await host.StartAsync();

        var migrations = host.Services.GetRequiredService<DermagMigrations>();
        (await migrations.GetStatusAsync()).Should().ContainSingle().Which.IsUpToDate.Should().BeTrue();
        var service = host.Services.GetRequiredService<IRefreshTokenManager>();
        var pair = await service.IssueAsync("7");
        (await service.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.Rotated);
        await host.StopAsync();
    }

    [Fact]
    public async Task UsePostgres_MigrationModeSetLaterThroughConfigure_IsHonouredAndTheDelegateRunsOnce()
    {
        var connectionString = await database.CreateDatabaseAsync("tokenrotationlatemode");
        var calls = 0;
        using var host = Host(services =>
        {
            services.AddRefreshTokenRotation(Valid).UsePostgres(connectionString, o =>
            {
                calls++;
                o.Schema = "late";
            });
            services.Configure<PostgresTokenStoreOptions>(o => o.MigrationMode = MigrationStartupMode.None);
        });

        await host.StartAsync();
        await host.StopAsync();

        calls.Should().Be(1, "the configure delegate runs once, when the options are read");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("SELECT to_regnamespace('late') IS NULL");
        ((bool)(await command.ExecuteScalarAsync())!).Should().BeTrue("MigrationMode None, set after UsePostgres, means nothing is applied");
    }

    [Fact]
    public async Task UsePostgres_NoConnectionStringAndNoDataSourceInDi_FailsNamingBothWays()
    {
        using var host = Host(services => services.AddRefreshTokenRotation(Valid).UsePostgres(o => o.DataSourceKey = "auth"));

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should()
            .Contain("PostgresTokenStoreOptions names no connection string and DI has no NpgsqlDataSource with the key 'auth'")
            .And.Contain("PostgresTokenStoreOptions.ConnectionString");
    }

    [Fact]
    public async Task UsePostgres_KeyedDataSource_UsesThatDataSource()
    {
        await using var dataSource = NpgsqlDataSource.Create(await database.CreateDatabaseAsync("tokenrotationkeyeddatasource"));
        using var host = Host(services =>
        {
            services.AddKeyedSingleton("auth-db", dataSource);
            services.AddRefreshTokenRotation(Valid).UsePostgres(o => o.DataSourceKey = "auth-db");
        });

        await host.StartAsync();

        var pair = await host.Services.GetRequiredService<IRefreshTokenManager>().IssueAsync("keyed-user");
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM refresh_tokens WHERE session_id = $1");
        command.Parameters.AddWithValue(pair.SessionId);
        (await command.ExecuteScalarAsync()).Should().Be(1L);
        await host.StopAsync();
    }

    [Theory]
    [InlineData("", true)]
    [InlineData(";No Reset On Close=true", false)]
    [InlineData(";Max Auto Prepare=20", false)]
    public async Task UsePostgres_DataSourceFromDiThatResetsConnections_IsNamedAtStart(string settings, bool named)
    {
        // Npgsql's reset (DISCARD ALL) throws away rotate_refresh_token's plans; a host's own data source is used as
        // configured, so the start says what that costs instead of changing it.
        var connectionString = await database.CreateDatabaseAsync("tokenrotationresettingdatasource");
        await using var dataSource = NpgsqlDataSource.Create(connectionString + settings);
        var logs = new CapturedLogs();
        using var host = Host(services =>
        {
            services.AddLogging();
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs);
            services.AddSingleton(dataSource);
            services.AddRefreshTokenRotation(Valid).UsePostgres(_ => { });
        });

        await host.StartAsync();

        var hint = logs.Entries.Where(e => e.EventId.Id == 3012).ToList();
        hint.Should().HaveCount(named ? 1 : 0);
        if (named)
        {
            hint[0].Message.Should().Contain("No Reset On Close=true").And.NotContain("Password");
        }

        await host.StopAsync();
    }

    [Fact]
    public async Task UsePostgres_DatabaseMissing_FailsStartupNamingTheLibraryTheDatabaseAndTheFix()
    {
        var missing = "dermag_missing_" + Guid.NewGuid().ToString("N")[..8];
        var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Database = missing, Password = "not-shown-anywhere" }.ConnectionString;
        using var host = Host(services => services.AddRefreshTokenRotation(Valid).UsePostgres(connectionString));

        var act = () => host.StartAsync();

        var exception = (await act.Should().ThrowAsync<MigrationException>()).Which;
        exception.Message.Should().Contain("Dermag.TokenRotation could not reach PostgreSQL to apply its migrations")
            .And.Contain($"database {missing}").And.Contain("create it first").And.NotContain("not-shown-anywhere");
        exception.InnerException.Should().BeOfType<PostgresException>().Which.SqlState.Should().Be("3D000");
    }

    [Fact]
    public async Task UsePostgres_NothingListensOnThePort_FailsStartupNamingHostAndPort()
    {
        var unused = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        unused.Start();
        var port = ((System.Net.IPEndPoint)unused.LocalEndpoint).Port;
        unused.Stop();
        using var host = Host(services => services.AddRefreshTokenRotation(Valid).UsePostgres($"Host=127.0.0.1;Port={port};Username=app;Database=shop;Timeout=3"));

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<MigrationException>()).Which.Message.Should()
            .Contain($"host 127.0.0.1, port {port}, database shop, user app").And.Contain("Check the host and port");
    }

    [Fact]
    public async Task UsePostgres_ValidateOnlyOnEmptyDatabase_FailsStartupNamingThePendingScript()
    {
        var connectionString = await database.CreateDatabaseAsync("tokenrotationvalidateonlymode");
        using var host = Host(services => services
            .AddRefreshTokenRotation(Valid)
            .UsePostgres(connectionString, o => o.MigrationMode = MigrationStartupMode.ValidateOnly));

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<MigrationException>()).Which.Message.Should().Contain("0001_create_refresh_tokens.sql");
    }

    [Fact]
    public async Task AddPeriodicCleanup_EveryInterval_DeletesExpiredTokens()
    {
        var time = new FakeTimeProvider(TestSetup.Start);
        using var host = PeriodicCleanupHost(time, TimeSpan.FromHours(1));
        await host.StartAsync();
        var service = host.Services.GetRequiredService<IRefreshTokenManager>();
        var store = (InMemoryRefreshTokenStore)host.Services.GetRequiredService<IRefreshTokenStore>();
        await service.IssueAsync("periodic");

        time.Advance(TimeSpan.FromDays(7));

        // The service's loop runs on its own thread and may arm its timer after this point, so keep ticking the fake clock.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (store.TokenSnapshot().Count > 0 && DateTime.UtcNow < deadline)
        {
            time.Advance(TimeSpan.FromHours(1));
            await Task.Yield();
        }

        store.TokenSnapshot().Should().BeEmpty();
        await host.StopAsync();
    }

    [Fact]
    public async Task AddPeriodicCleanup_FirstRunsWithinFiveMinutesOfTheStart_NotAnIntervalLater()
    {
        // Instances redeployed more often than the interval (1 day here) would otherwise never clean up.
        var time = new FakeTimeProvider(TestSetup.Start);
        using var host = PeriodicCleanupHost(time, TimeSpan.FromDays(1));
        var store = (InMemoryRefreshTokenStore)host.Services.GetRequiredService<IRefreshTokenStore>();
        await host.Services.GetRequiredService<IRefreshTokenManager>().IssueAsync("expired-before-start");
        time.Advance(TimeSpan.FromDays(8));
        await host.StartAsync();

        // Within the first 5 minutes, in 10 s steps of the fake clock (the loop arms its delay on its own thread).
        for (var elapsed = TimeSpan.Zero; store.TokenSnapshot().Count > 0 && elapsed <= TimeSpan.FromMinutes(5); elapsed += TimeSpan.FromSeconds(10))
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(5);
        }

        store.TokenSnapshot().Should().BeEmpty("the first cleanup ran within 5 minutes, not a day after the start");
        await host.StopAsync();
    }

    /// <summary>A host on the in-memory store with the periodic cleanup every <paramref name="interval"/> and no retention.</summary>
    private static IHost PeriodicCleanupHost(FakeTimeProvider time, TimeSpan interval) => Host(services =>
    {
        services.AddSingleton<TimeProvider>(time);
        services.AddRefreshTokenRotation(o =>
        {
            Valid(o);
            o.CleanupInterval = interval;
            o.CleanupRetention = TimeSpan.Zero;
        }).UseInMemoryStore().AddPeriodicCleanup();
    });

    [Fact]
    public async Task StartAsync_GracePeriodOverSixtySeconds_FailsNamingTheOption()
    {
        using var host = Host(services => services
            .AddRefreshTokenRotation(o =>
            {
                Valid(o);
                o.ReuseGracePeriod = TimeSpan.FromSeconds(61);
            })
            .UseInMemoryStore());

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should()
            .Contain("RefreshTokenRotationOptions.ReuseGracePeriod must be between 0 and 00:01:00; got 00:01:01");
    }

    [Fact]
    public async Task AddClaimsProvider_RoleChanged_TakesEffectAtTheNextRefresh()
    {
        var roles = new RoleDirectory();
        using var provider = new ServiceCollection()
            .AddLogging()
            .AddSingleton(roles)
            .AddRefreshTokenRotation(Valid)
            .UseInMemoryStore()
            .AddClaimsProvider<RoleClaimsProvider>()
            .Services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
        var service = provider.GetRequiredService<IRefreshTokenManager>();
        roles.Roles["42"] = "editor";

        var pair = await service.IssueAsync("42", extraClaims: [new System.Security.Claims.Claim("tenant", "north")]);
        roles.Roles["42"] = "viewer";
        var refreshed = await service.RefreshAsync(pair.RefreshToken);

        Payload(pair.AccessToken).Should().Contain("\"role\":\"editor\"").And.Contain("\"tenant\":\"north\"");
        Payload(refreshed.Tokens!.AccessToken).Should().Contain("\"role\":\"viewer\"").And.NotContain("editor");
        roles.Calls.Should().Equal((AccessTokenIssueReason.Login, pair.SessionId), (AccessTokenIssueReason.Refresh, pair.SessionId));
    }

    [Fact]
    public async Task AddClaimsProvider_ProviderThrowsOnRefresh_LeavesTheSessionUnrotated()
    {
        var roles = new RoleDirectory();
        using var provider = new ServiceCollection()
            .AddLogging()
            .AddSingleton(roles)
            .AddRefreshTokenRotation(Valid)
            .UseInMemoryStore()
            .AddClaimsProvider<RoleClaimsProvider>()
            .Services.BuildServiceProvider();
        var service = provider.GetRequiredService<IRefreshTokenManager>();
        roles.Roles["7"] = "editor";
        var pair = await service.IssueAsync("7");
        roles.Roles.Remove("7");

        var act = () => service.RefreshAsync(pair.RefreshToken);

        await act.Should().ThrowAsync<KeyNotFoundException>();
        roles.Roles["7"] = "editor";
        (await service.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.Rotated, "the failed refresh did not use the token up");
    }

    private static string Payload(string jwt) =>
        System.Text.Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(jwt.Split('.')[1]));

    public sealed class RoleDirectory
    {
        public Dictionary<string, string> Roles { get; } = [];

        public List<(AccessTokenIssueReason, Guid)> Calls { get; } = [];
    }

    private sealed class RoleClaimsProvider(RoleDirectory directory) : IAccessTokenClaimsProvider
    {
        public ValueTask<IEnumerable<System.Security.Claims.Claim>> GetClaimsAsync(AccessTokenClaimsContext context, CancellationToken cancellationToken)
        {
            directory.Calls.Add((context.Reason, context.SessionId));
            return ValueTask.FromResult<IEnumerable<System.Security.Claims.Claim>>([new("role", directory.Roles[context.UserId])]);
        }
    }

    [Fact]
    public void CreateAccessTokenValidationParameters_PinsAlgorithmTypeAndKeys()
    {
        using var provider = new ServiceCollection().AddLogging().AddRefreshTokenRotation(Valid).UseInMemoryStore().Services.BuildServiceProvider();

        var parameters = provider.GetRequiredService<IRefreshTokenManager>().CreateAccessTokenValidationParameters();

        parameters.ValidAlgorithms.Should().Equal("HS256");
        parameters.ValidTypes.Should().Equal("at+jwt");
        parameters.ValidIssuer.Should().Be("der-mag-platform");
        parameters.ValidAudience.Should().Be("der-mag-api");
        parameters.IssuerSigningKeys.Select(k => k.KeyId).Should().Equal("access-1");
        parameters.RequireSignedTokens.Should().BeTrue();
    }

    private static void Valid(RefreshTokenRotationOptions o)
    {
        var valid = TestSetup.Options();
        o.Issuer = valid.Issuer;
        o.Audience = valid.Audience;
        o.AccessSigningKeys.Clear();
        o.RefreshSigningKeys.Clear();
        o.AccessSigningKeys.Add(valid.AccessSigningKeys[0]);
        o.RefreshSigningKeys.Add(valid.RefreshSigningKeys[0]);
    }

    private static IHost Host(Action<IServiceCollection> configure)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        configure(builder.Services);
        return builder.Build();
    }
}
