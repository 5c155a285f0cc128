using System.Security.Cryptography;
using Dermag.Migrations;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Dermag.Reliability.Tests.Support;

/// <summary>The token service on PostgreSQL with known keys, fake time, and the invariants the suite checks afterwards.</summary>
public sealed class TokenHost : IAsyncDisposable
{
    public const string Issuer = "der-mag-platform";
    public const string Audience = "der-mag-api";

    private TokenHost(ServiceProvider provider, FakeTimeProvider time, NpgsqlDataSource dataSource)
    {
        Provider = provider;
        Time = time;
        DataSource = dataSource;
    }

    public static byte[] AccessKey { get; } = RandomNumberGenerator.GetBytes(32);

    public static byte[] RefreshKey { get; } = RandomNumberGenerator.GetBytes(32);

    public ServiceProvider Provider { get; }

    public FakeTimeProvider Time { get; }

    /// <summary>A separate data source on the same database, for checks and fault injection.</summary>
    public NpgsqlDataSource DataSource { get; }

    public IRefreshTokenManager Service => Provider.GetRequiredService<IRefreshTokenManager>();

    public static async Task<TokenHost> StartAsync(
        string connectionString,
        Action<RefreshTokenRotationOptions>? configure = null,
        string applicationName = "dermag-reliability",
        Action<PostgresTokenStoreOptions>? postgres = null,
        Action<IServiceCollection>? addServices = null,
        TimeProvider? timeProvider = null)
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var services = new ServiceCollection();
        services.AddSingleton(timeProvider ?? time);
        addServices?.Invoke(services);
        services.AddRefreshTokenRotation(o =>
        {
            o.Issuer = Issuer;
            o.Audience = Audience;
            o.AccessSigningKeys.Add(new TokenSigningKey("access-1", AccessKey));
            o.RefreshSigningKeys.Add(new TokenSigningKey("refresh-1", RefreshKey));
            configure?.Invoke(o);
        }).UsePostgres((await Dermag.Testing.PostgresServer.GetAsync()).Limit(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = applicationName }.ConnectionString), postgres);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        await provider.GetRequiredService<DermagMigrations>().MigrateAsync();
        return new TokenHost(provider, time, NpgsqlDataSource.Create(connectionString));
    }

    /// <summary>Sessions with more than one active token (the unique index forbids them; this proves it held).</summary>
    public Task<List<string>> SessionsWithTwoActiveTokensAsync() => ListAsync(
        "SELECT session_id::text FROM refresh_tokens WHERE NOT revoked GROUP BY session_id HAVING count(*) > 1");

    /// <summary>Tokens marked rotated whose successor row does not exist.</summary>
    public Task<List<string>> RotatedWithoutSuccessorAsync() => ListAsync("""
        SELECT o.token_id::text FROM refresh_tokens o
        WHERE o.revoke_reason = 'rotated'
          AND (o.revoked_by_token_id IS NULL OR NOT EXISTS (SELECT 1 FROM refresh_tokens s WHERE s.token_id = o.revoked_by_token_id AND s.session_id = o.session_id))
        """);

    public async Task AssertInvariantsAsync()
    {
        (await SessionsWithTwoActiveTokensAsync()).Should().BeEmpty("no session may have two active tokens");
        (await RotatedWithoutSuccessorAsync()).Should().BeEmpty("no token may be rotated away without a stored successor");
    }

    public async Task<long> CountAsync(string sql, params object[] parameters)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var p in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await Provider.DisposeAsync();
        await DataSource.DisposeAsync();
    }

    private async Task<List<string>> ListAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var items = new List<string>();
        while (await reader.ReadAsync())
        {
            items.Add(reader.GetString(0));
        }

        return items;
    }
}
