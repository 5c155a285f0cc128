using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.Migrations.Tests;

public sealed class PostgresStoreDataSourceTests
{
    private const string ConnectionString = "Host=db;Username=app;Password=s3cret;Maximum Pool Size=7";

    [Fact]
    public async Task StoreThatLeavesNoSessionState_BuildsADataSourceThatDoesNotResetConnections()
    {
        await using var store = Create<StatelessStoreOptions>(o => o.ConnectionString = ConnectionString);

        var built = new NpgsqlConnectionStringBuilder(store.DataSource.ConnectionString);
        built.NoResetOnClose.Should().BeTrue();
        built.Host.Should().Be("db");
        built.MaxPoolSize.Should().Be(7);
    }

    [Fact]
    public async Task StoreThatDoesNotSaySo_KeepsNpgsqlsReset()
    {
        // AddDermagPostgresStore is public: an app's own store (its EF Core context, its scripts) may leave session state.
        await using var store = Create<OrdinaryStoreOptions>(o => o.ConnectionString = ConnectionString);

        new NpgsqlConnectionStringBuilder(store.DataSource.ConnectionString).NoResetOnClose.Should().BeFalse();
    }

    [Fact]
    public async Task DataSourceFromDependencyInjection_IsUsedAsTheHostConfiguredIt()
    {
        await using var hosts = NpgsqlDataSource.Create("Host=db;Username=app");
        await using var store = Create<StatelessStoreOptions>(_ => { }, services => services.AddSingleton(hosts));

        store.DataSource.Should().BeSameAs(hosts);
        new NpgsqlConnectionStringBuilder(store.DataSource.ConnectionString).NoResetOnClose.Should().BeFalse();
    }

    [Fact]
    public void WithoutResetOnClose_StringThatDoesNotSayIt_TurnsTheResetOffAndKeepsTheRest()
    {
        var built = new NpgsqlConnectionStringBuilder(PostgresStoreDataSource<StatelessStoreOptions>.WithoutResetOnClose(ConnectionString));

        built.NoResetOnClose.Should().BeTrue();
        built.Password.Should().Be("s3cret");
        built.MaxPoolSize.Should().Be(7);
    }

    [Theory]
    [InlineData("Host=db;No Reset On Close=false")]
    [InlineData("Host=db;NoResetOnClose=false")]
    [InlineData("Host=db;no reset on close=False")]
    public void WithoutResetOnClose_StringThatSetsIt_KeepsItsChoice(string connectionString)
    {
        var result = PostgresStoreDataSource<StatelessStoreOptions>.WithoutResetOnClose(connectionString);

        result.Should().Be(connectionString);
        new NpgsqlConnectionStringBuilder(result).NoResetOnClose.Should().BeFalse();
    }

    private static PostgresStoreDataSource<TOptions> Create<TOptions>(Action<TOptions> configure, Action<IServiceCollection>? services = null)
        where TOptions : PostgresStoreOptions
    {
        var collection = new ServiceCollection();
        collection.AddOptions<TOptions>().Configure(configure);
        services?.Invoke(collection);
        var provider = collection.BuildServiceProvider();
        return new PostgresStoreDataSource<TOptions>(provider, provider.GetRequiredService<IOptionsMonitor<TOptions>>());
    }

    private sealed class StatelessStoreOptions : PostgresStoreOptions
    {
        protected internal override bool StoreLeavesNoSessionState => true;
    }

    private sealed class OrdinaryStoreOptions : PostgresStoreOptions;
}
