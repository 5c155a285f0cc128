using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dermag.Migrations.Tests;

public sealed class MigrationHostedServiceTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly MigrationSet Set = new("Dermag.Test", "1.0.0", [new MigrationScript("0001_t.sql", "CREATE TABLE IF NOT EXISTS {{schema}}.t (id int);")]);

    private IHost BuildHost(MigrationStartupMode mode, string schema)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddDermagMigrations("Dermag.Test", _ => mode, _ => new MigrationRunner(database.DataSource, Set, new MigrationRunnerOptions { Schema = schema }));
        return builder.Build();
    }

    [Fact]
    public async Task StartAsync_ModeApply_AppliesBeforeTheHostRuns()
    {
        var schema = "h_" + Guid.NewGuid().ToString("N")[..10];
        using var host = BuildHost(MigrationStartupMode.Apply, schema);

        await host.StartAsync();
        var status = await host.Services.GetRequiredService<DermagMigrations>().GetStatusAsync();
        await host.StopAsync();

        status.Should().ContainSingle().Which.IsUpToDate.Should().BeTrue();
    }

    [Fact]
    public async Task StartAsync_ModeValidateOnly_FailsStartupNamingPendingScript()
    {
        var schema = "h_" + Guid.NewGuid().ToString("N")[..10];
        using var host = BuildHost(MigrationStartupMode.ValidateOnly, schema);

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<MigrationException>()).Which.Message.Should().Contain("0001_t.sql");
    }

    [Fact]
    public async Task StartAsync_ModeNone_TouchesNothing()
    {
        var schema = "h_" + Guid.NewGuid().ToString("N")[..10];
        using var host = BuildHost(MigrationStartupMode.None, schema);

        await host.StartAsync();
        await host.StopAsync();

        await using var command = database.DataSource.CreateCommand($"SELECT to_regnamespace('{schema}') IS NULL");
        ((bool)(await command.ExecuteScalarAsync())!).Should().BeTrue();
    }

    [Fact]
    public void AddDermagMigrations_CalledTwiceForOneLibrary_KeepsOneRegistrationAndOneHostedService()
    {
        var services = new ServiceCollection();
        services.AddDermagMigrations("Dermag.Test", _ => MigrationStartupMode.Apply, _ => throw new InvalidOperationException());
        services.AddDermagMigrations("Dermag.Test", _ => MigrationStartupMode.None, _ => throw new InvalidOperationException());

        services.Count(d => d.ServiceType == typeof(MigrationRegistration)).Should().Be(1);
        services.Count(d => d.ImplementationType == typeof(MigrationHostedService)).Should().Be(1);
        services.Select(d => d.ImplementationInstance).OfType<MigrationRegistration>().Single().Mode(new ServiceCollection().BuildServiceProvider()).Should().Be(MigrationStartupMode.None);
    }
}
