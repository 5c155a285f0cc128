using Dermag.BomTriggers.Tests.Queue;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Migrations;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Dermag.BomTriggers.Tests.Health;

/// <summary>The health check on every store: the store answers, the queue has no dead letters or backlog beyond the thresholds.</summary>
public abstract class HealthCheckContract : IAsyncLifetime
{
    protected TriggerTestContext Context { get; private set; } = null!;

    protected abstract void UseStore(BomTriggersBuilder builder);

    /// <summary>What a healthy instance of this store still needs (the PostgreSQL listener running).</summary>
    protected virtual Task StartAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        Context = await TriggerTestContext.CreateAsync(UseStore, o => o.MaxAttempts = 1, b =>
        {
            b.AddAction<FlakyAction>("FLAKY");
            b.Services.AddHealthChecks().AddBomTriggers(tags: ["ready"], configure: o => o.MaxBacklog = 2);
        });
        await StartAsync();
    }

    public async Task DisposeAsync() => await Context.DisposeAsync();

    private Task<HealthReport> CheckAsync() => Context.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    [Fact]
    public async Task FreshStore_IsHealthy_WithTheQueueCounts()
    {
        var report = await CheckAsync();

        var entry = report.Entries["dermag-bom-triggers"];
        entry.Status.Should().Be(HealthStatus.Healthy, entry.Description);
        entry.Tags.Should().Contain("ready");
        entry.Data["dead"].Should().Be(0L);
    }

    [Fact]
    public async Task DeadLetteredJob_AndBacklog_MakeItDegraded_SayingWhat()
    {
        await Context.Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "fails", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = "FLAKY",
            ActionConfig = Json.Parse($$"""{"key":"{{Guid.NewGuid():N}}","failures":5}"""), Execution = new() { Mode = TriggerExecutionMode.Queued },
        });
        for (var task = 1; task <= 4; task++)
        {
            await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, task, 1, "{}"));
        }

        var jobs = Context.Services.GetRequiredService<IBomTriggerJobStore>();
        var first = (await jobs.ClaimAsync("w", 1, Context.Time.GetUtcNow(), TimeSpan.FromMinutes(1), default)).Single();
        await Context.Services.GetRequiredService<BomTriggerEngine>().RunJobAsync(first, "w", default);

        var entry = (await CheckAsync()).Entries["dermag-bom-triggers"];
        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Description.Should().Contain("1 dead-lettered job(s)").And.Contain("3 jobs waiting (more than 2)");
        entry.Data["dead"].Should().Be(1L);
    }
}

public sealed class InMemoryHealthCheckTests : HealthCheckContract
{
    protected override void UseStore(BomTriggersBuilder builder) => builder.UseInMemoryStore();
}

public sealed class PostgresHealthCheckTests(PostgresDatabase database) : HealthCheckContract, IClassFixture<PostgresDatabase>
{
    private readonly string _schema = TriggerTestContext.NewSchema();

    protected override void UseStore(BomTriggersBuilder builder) => builder.UsePostgres(database.ConnectionString, o => o.Schema = _schema);

    protected override async Task StartAsync()
    {
        await Context.Services.GetServices<IHostedService>().OfType<TriggerNotificationListenerHost>().Single().StartAsync(default);
        await Context.Services.GetRequiredService<TriggerNotificationListener>().Listening.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task MigrationMissing_MakesItUnhealthy_NamingTheScript()
    {
        await using (var forget = database.DataSource.CreateCommand($"DELETE FROM \"{_schema}\".{MigrationRunner.HistoryTableName} WHERE script = '0004_durable_execution.sql'"))
        {
            (await forget.ExecuteNonQueryAsync()).Should().Be(1);
        }

        var entry = (await Context.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["dermag-bom-triggers"];

        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Description.Should().Contain("not up to date").And.Contain("0004_durable_execution.sql");
    }

    [Fact]
    public async Task ListenerDown_MakesItDegraded()
    {
        await Context.Services.GetServices<IHostedService>().OfType<TriggerNotificationListenerHost>().Single().StopAsync(default);

        var entry = (await Context.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["dermag-bom-triggers"];

        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Description.Should().Contain("LISTEN connection is down");
    }
}
