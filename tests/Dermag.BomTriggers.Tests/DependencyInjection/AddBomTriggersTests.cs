using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Migrations;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers.Tests.DependencyInjection;

public sealed class AddBomTriggersTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static IHost Build(Action<IServiceCollection> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        configure(builder.Services);
        return builder.Build();
    }

    [Fact]
    public async Task BadEngineOptions_FailAtStartup_NamingEveryOption()
    {
        using var host = Build(s => s.AddBomTriggers(o =>
        {
            o.ActionTimeout = TimeSpan.Zero;
            o.MaxChainDepth = -1;
            o.SnapshotRefreshInterval = TimeSpan.Zero;
        }).UseInMemoryStore());

        var act = () => host.StartAsync();

        var thrown = await act.Should().ThrowAsync<OptionsValidationException>();
        thrown.Which.Failures.Should().HaveCount(3);
        thrown.Which.Message.Should().Contain("BomTriggerOptions.ActionTimeout").And.Contain("BomTriggerOptions.MaxChainDepth").And.Contain("BomTriggerOptions.SnapshotRefreshInterval");
    }

    [Fact]
    public async Task NoStore_FailsAtStartup_SayingWhatToCall()
    {
        using var host = Build(s => s.AddBomTriggers());

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<Exception>()).Which.Message.Should().Contain("UsePostgres(...) or .UseInMemoryStore()");
    }

    [Fact]
    public async Task BadPostgresOptions_FailAtStartup_NamingTheOption()
    {
        using var host = Build(s => s.AddBomTriggers().UsePostgres(database.ConnectionString, o =>
        {
            o.Schema = "bad schema";
            o.TasksTable = "tasks; DROP TABLE x";
            o.MigrationMode = MigrationStartupMode.None;
        }));

        var act = () => host.StartAsync();

        var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
        message.Should().Contain("PostgresTriggerStoreOptions.Schema").And.Contain("PostgresTriggerStoreOptions.TasksTable");
    }

    [Fact]
    public void AddAction_InvalidTypeName_ThrowsAtRegistration()
    {
        var act = () => new ServiceCollection().AddBomTriggers().AddAction<ThrowingAction>("lower");

        act.Should().Throw<ArgumentException>().WithMessage("*upper-case identifier*");
    }

    [Fact]
    public async Task AddBomTriggersTwice_IsHarmless()
    {
        var services = new ServiceCollection();
        services.AddBomTriggers().UseInMemoryStore();
        services.AddBomTriggers().UseInMemoryStore();
        await using var provider = services.BuildServiceProvider();

        provider.GetServices<IBomTriggerEngine>().Should().ContainSingle();
        provider.GetServices<IHostedService>().Should().ContainSingle();
        provider.GetRequiredService<IBomTriggerManager>().ListActions().Should().HaveCount(5);
    }

    [Fact]
    public async Task HostStart_WithPostgres_MigratesSeedsAndPrecompiles_FromAKeyedDataSource()
    {
        var schema = TriggerTestContext.NewSchema();
        using var host = Build(s =>
        {
            s.AddKeyedSingleton("bom", database.DataSource);
            s.AddSingleton<IBomCostCalculator, FakeHost>();
            s.AddBomTriggers().UsePostgres(o =>
            {
                o.DataSourceKey = "bom";
                o.Schema = schema;
            }).AddExampleTriggers();
        });

        await host.StartAsync();
        try
        {
            host.Services.GetRequiredService<TriggerSnapshotProvider>().Current!.Count.Should().Be(3, "the rule set is compiled before the first dispatch");
            var store = host.Services.GetRequiredService<IBomTriggerManager>();
            (await store.ListAsync()).Should().HaveCount(3);
            var report = await host.Services.GetRequiredService<IBomTriggerEngine>().DispatchAsync(Json.Event(BomTriggerEvents.MaterialAdd, 1, null, "{}"));
            report.Outcomes.Single().Kind.Should().Be(TriggerOutcomeKind.Executed);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task ValidateOnlyMode_OnEmptySchema_FailsStartupWithMigrationRequired()
    {
        using var host = Build(s => s.AddBomTriggers().UsePostgres(database.ConnectionString, o =>
        {
            o.Schema = TriggerTestContext.NewSchema();
            o.MigrationMode = MigrationStartupMode.ValidateOnly;
        }));

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<MigrationException>()).Which.Message.Should().StartWith("MIGRATION_REQUIRED");
    }
}
