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
    public async Task UsePostgres_MigrationModeSetLaterThroughConfigure_IsHonouredAndTheDelegateRunsOnce()
    {
        var connectionString = await database.CreateDatabaseAsync("bomtriggerslatemode");
        var calls = 0;
        using var host = Build(s =>
        {
            s.AddBomTriggers().UsePostgres(connectionString, o =>
            {
                calls++;
                o.Schema = "late";
                o.TasksTable = "tasks";
                o.TasksKeyColumn = "Id";
            });
            s.Configure<PostgresTriggerStoreOptions>(o => o.MigrationMode = MigrationStartupMode.ValidateOnly);
        });

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<MigrationException>()).Which.Message.Should()
            .Contain("0001_create_bom_triggers.sql", "ValidateOnly, set after UsePostgres, validates instead of applying");
        calls.Should().Be(1, "the configure delegate runs once, when the options are read");
    }

    [Fact]
    public async Task UsePostgres_TasksKeyColumn_ReferencesThatColumn()
    {
        // EF Core names keys "Id": the foreign key must follow the option, not assume "id".
        var connectionString = await database.CreateDatabaseAsync("bomtriggerskeycolumn");
        await using (var dataSource = Npgsql.NpgsqlDataSource.Create(connectionString))
        await using (var create = dataSource.CreateCommand("""CREATE TABLE "Tasks" ("Id" integer PRIMARY KEY)"""))
        {
            await create.ExecuteNonQueryAsync();
        }

        using var host = Build(s => s.AddBomTriggers().UsePostgres(connectionString, o =>
        {
            o.TasksTable = "Tasks";
            o.TasksKeyColumn = "Id";
        }));
        await host.StartAsync();
        await host.StopAsync();

        await using var check = Npgsql.NpgsqlDataSource.Create(connectionString);
        await using var command = check.CreateCommand("""
            SELECT pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = 'public.bom_trigger_logs'::regclass AND contype = 'f' AND pg_get_constraintdef(oid) LIKE '%(task_id)%'
            """);
        ((string)(await command.ExecuteScalarAsync())!).Should().Contain("REFERENCES \"Tasks\"(\"Id\")");
    }

    [Fact]
    public async Task AddPeriodicCleanup_EveryInterval_DeletesLogsPastTheRetention()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        using var host = Build(s =>
        {
            s.AddSingleton<TimeProvider>(time);
            s.AddSingleton<IBomCostCalculator, CountingCost>();
            s.AddBomTriggers(o =>
            {
                o.LogRetention = TimeSpan.FromDays(1);
                o.CleanupInterval = TimeSpan.FromHours(1);
            }).UseInMemoryStore().AddPeriodicCleanup();
        });
        await host.StartAsync();
        var manager = host.Services.GetRequiredService<IBomTriggerManager>();
        var trigger = (await manager.CreateAsync(new BomTriggerDefinition { Name = "cost", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.CalculateCost })).Trigger!;
        await host.Services.GetRequiredService<IBomTriggerEngine>().DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.TaskCreate, 1, null, new System.Text.Json.Nodes.JsonObject()));
        (await manager.GetLogsAsync(trigger.Id)).Total.Should().Be(1);

        time.Advance(TimeSpan.FromDays(1));

        // The service's loop runs on its own thread and may arm its timer after this point, so keep ticking the fake clock.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await manager.GetLogsAsync(trigger.Id)).Total > 0 && DateTime.UtcNow < deadline)
        {
            time.Advance(TimeSpan.FromHours(1));
            await Task.Yield();
        }

        (await manager.GetLogsAsync(trigger.Id)).Total.Should().Be(0);
        await host.StopAsync();
    }

    private sealed class CountingCost : IBomCostCalculator
    {
        public Task<decimal> RecalculateAsync(CostRequest request, CancellationToken cancellationToken) => Task.FromResult(1m);
    }

    [Fact]
    public async Task AddEventField_ForAnEventTypeNobodyAdded_FailsStartupNamingTheCallToMake()
    {
        using var host = Build(s => s.AddBomTriggers().UseInMemoryStore().AddEventField("ON_PO_RECEIVED", "supplier", BomFieldType.String));

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<BomTriggerException>()).Which.Message.Should()
            .Contain("AddEventField(\"ON_PO_RECEIVED\", ...) names an event type that is neither built in nor added with AddEventType(\"ON_PO_RECEIVED\", ...)");
    }

    [Theory]
    [InlineData("ON_TASK_CREATE", "is a built-in event type")]
    [InlineData("on_po", "must be an upper-case identifier")]
    public void AddEventType_BuiltInOrBadName_ThrowsAtRegistration(string name, string message)
    {
        var act = () => new ServiceCollection().AddBomTriggers().AddEventType(name, "described");

        act.Should().Throw<ArgumentException>().WithMessage($"*{message}*");
    }

    [Fact]
    public void ListActions_DescribesEveryActionFromItsStaticDescription_WithoutCreatingAHandler()
    {
        using var provider = new ServiceCollection().AddBomTriggers().UseInMemoryStore().AddAction<ConstructionCounter>("COUNTED").Services.BuildServiceProvider();

        var actions = provider.GetRequiredService<IBomTriggerManager>().ListActions();

        actions.Should().ContainSingle(a => a.ActionType == "COUNTED").Which.Should().BeEquivalentTo(new BomActionDescriptor(
            "COUNTED", "Counts its instances.", [new ActionConfigField("level", "number", true, "How loud.")], [BomTriggerEvents.BomUpdate], IsBuiltIn: false));
        actions.Where(a => a.IsBuiltIn).Select(a => a.ActionType).Should().BeEquivalentTo(BomTriggerActions.All);
        ConstructionCounter.Created.Should().Be(0, "descriptions are static: listing never creates a handler");
    }

    private sealed class ConstructionCounter : IBomTriggerAction, IBomActionDescription
    {
        public ConstructionCounter() => Interlocked.Increment(ref s_created);

        private static int s_created;

        public static int Created => Volatile.Read(ref s_created);

        public static string Description => "Counts its instances.";

        public static IReadOnlyList<ActionConfigField> ConfigFields { get; } = [new("level", "number", true, "How loud.")];

        public static IReadOnlyList<string> CausedEvents { get; } = [BomTriggerEvents.BomUpdate];

        public void ValidateConfig(System.Text.Json.JsonElement config, ActionConfigValidationContext context)
        {
        }

        public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken) => Task.FromResult(ActionResult.Empty);
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
        provider.GetServices<IHostedService>().Select(s => s.GetType().Name).Should().BeEquivalentTo("EventCountFlushService", "BomTriggerStartupService", "BomTriggerScheduler", "BomTriggerWorkerHost");
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
