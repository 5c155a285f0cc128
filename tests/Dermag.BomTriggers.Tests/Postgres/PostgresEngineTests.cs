using Dermag.BomTriggers.EntityFrameworkCore;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Migrations;
using Dermag.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dermag.BomTriggers.Tests.Postgres;

public sealed class ReportingContext(DbContextOptions<ReportingContext> options, string schema) : DbContext(options)
{
    public DbSet<BomTriggerEntity> Triggers => Set<BomTriggerEntity>();

    public DbSet<BomTriggerLogEntity> Logs => Set<BomTriggerLogEntity>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.MapBomTriggerTables(schema);
}

public sealed class PostgresEngineTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private readonly string _schema = TriggerTestContext.NewSchema();
    private TriggerTestContext _context = null!;

    public async Task InitializeAsync() =>
        _context = await TriggerTestContext.CreateAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = _schema));

    public async Task DisposeAsync() => await _context.DisposeAsync();

    private async Task<long> CountLogsAsync()
    {
        await using var command = database.DataSource.CreateCommand($"SELECT count(*) FROM \"{_schema}\".bom_trigger_logs");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 2)]
    public async Task Dispatch_EnlistedInCallerTransaction_LogsFollowCommitOrRollback(bool commit, long expectedLogs)
    {
        await _context.CreateAsync("add", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.AddMaterial, """{"materialName":"M","defaultQuantity":1}""");
        await _context.CreateAsync("cost", BomTriggerEvents.MaterialAdd, "{}", BomTriggerActions.CalculateCost, "{}");
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        var report = await _context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"), DispatchOptions.InTransaction(transaction));
        (await CountLogsAsync()).Should().Be(0, "uncommitted rows are invisible to other connections");
        if (commit)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }

        report.OfKind(TriggerOutcomeKind.Executed).Should().HaveCount(2);
        (await CountLogsAsync()).Should().Be(expectedLogs);
    }

    [Fact]
    public async Task Dispatch_InDbContextTransactionThatRollsBack_LeavesNoLogRows()
    {
        await _context.CreateAsync("cost", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");
        await using var db = new ReportingContext(new DbContextOptionsBuilder<ReportingContext>().UseNpgsql(database.ConnectionString).Options, _schema);
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            var report = await _context.Engine.DispatchAsync(db, Json.Event(BomTriggerEvents.TaskCreate, 5, null, "{}"));
            report.Outcomes.Single().Kind.Should().Be(TriggerOutcomeKind.Executed);
            (await db.Logs.CountAsync()).Should().Be(1, "the context sees its own transaction's rows");
            await transaction.RollbackAsync();
        }

        (await CountLogsAsync()).Should().Be(0);
    }

    [Fact]
    public async Task TriggerOfAnActionNoLongerRegistered_IsReportedAsFailedNamingTheCallToMake()
    {
        // Saved by an instance that registered the action; dispatched by one that no longer does (a deploy removed it).
        await using var other = await TriggerTestContext.CreateAsync(
            b => b.UsePostgres(database.ConnectionString, o => o.Schema = _schema),
            more: b => b.AddAction<AddLineLater>(AddLineLater.Type));
        await other.CreateAsync("gone", BomTriggerEvents.TaskCreate, "{}", AddLineLater.Type, "{}");
        await _context.RefreshSnapshotAsync();

        var report = await _context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 21, null, "{}"));

        report.Outcomes.Single(o => o.TriggerName == "gone").Error.Should()
            .Be($"The action type '{AddLineLater.Type}' is not registered; call AddAction<THandler>(\"{AddLineLater.Type}\").");
    }

    private sealed class AddLineLater : IBomTriggerAction
    {
        public const string Type = "REMOVED_IN_A_LATER_DEPLOY";

        public string Description => "Registered on one instance only.";

        public IReadOnlyList<ActionConfigField> ConfigFields => [];

        public IReadOnlyList<string> CausedEvents => [];

        public void ValidateConfig(System.Text.Json.JsonElement config, ActionConfigValidationContext context)
        {
        }

        public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken) => Task.FromResult(ActionResult.Empty);
    }

    [Fact]
    public async Task EfMapping_ReportsLogsJoinedWithTriggers()
    {
        var trigger = await _context.CreateAsync("cost", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");
        var report = await _context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 5, null, """{"title":"t"}"""));
        await using var db = new ReportingContext(new DbContextOptionsBuilder<ReportingContext>().UseNpgsql(database.ConnectionString).Options, _schema);

        var rows = await db.Logs.Where(l => l.Success).Select(l => new { l.Trigger!.Name, l.TaskId, l.CorrelationId, l.Outcome, l.InputData, l.Trigger.TriggerEvent }).ToListAsync();
        var perTrigger = await db.Triggers.Select(t => new { t.Id, Executions = t.Logs.Count }).ToListAsync();

        rows.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Name = "cost", TaskId = (int?)5, CorrelationId = (Guid?)report.CorrelationId, Outcome = "Executed", TriggerEvent = BomTriggerEvents.TaskCreate }, o => o.ExcludingMissingMembers());
        rows[0].InputData.Should().Contain("\"title\"");
        perTrigger.Should().ContainSingle().Which.Should().BeEquivalentTo(new { trigger.Id, Executions = 1 });
    }

    [Fact]
    public async Task ChangeByAnotherInstance_IsPickedUpWhenTheRevisionMoves()
    {
        await using var other = await TriggerTestContext.CreateAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = _schema));
        (await other.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"))).Outcomes.Should().BeEmpty();

        await _context.CreateAsync("from instance A", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");
        (await other.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"))).Outcomes.Should().BeEmpty("instance B still uses its snapshot");
        await other.Services.GetRequiredService<TriggerSnapshotProvider>().RefreshIfStaleAsync(default);

        (await other.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"))).Outcomes.Should().ContainSingle().Which.Kind.Should().Be(TriggerOutcomeKind.Executed);
    }

    [Fact]
    public async Task Migrations_AreUpToDate_AndCheckConstraintsGuardTheColumns()
    {
        var status = await _context.Services.GetRequiredService<DermagMigrations>().GetStatusAsync();
        status.Single().Pending.Should().BeEmpty();
        status.Single().Applied.Select(a => a.Name).Should().Equal("0001_create_bom_triggers.sql");

        await using var badEvent = database.DataSource.CreateCommand($"INSERT INTO \"{_schema}\".bom_triggers (name, trigger_event, action_type) VALUES ('x', 'ON_NOPE', 'NOTIFY')");
        var act = () => badEvent.ExecuteNonQueryAsync();
        (await act.Should().ThrowAsync<PostgresException>()).Which.ConstraintName.Should().Be("bom_triggers_trigger_event_check");
        await using var badAction = database.DataSource.CreateCommand($"INSERT INTO \"{_schema}\".bom_triggers (name, trigger_event, action_type) VALUES ('x', 'ON_TASK_CREATE', 'lower case')");
        var act2 = () => badAction.ExecuteNonQueryAsync();
        (await act2.Should().ThrowAsync<PostgresException>()).Which.ConstraintName.Should().Be("bom_triggers_action_type_check");
        await using var cleanup = database.DataSource.CreateCommand($"SELECT \"{_schema}\".cleanup_old_trigger_logs()");
        (await cleanup.ExecuteScalarAsync()).Should().Be(0);
    }
}

public sealed class PostgresMigrationTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Migrations_WithHostTables_CreateForeignKeys_AndRerunIsANoOp()
    {
        await using (var setup = database.DataSource.CreateCommand("""
            CREATE TABLE public.tasks (id SERIAL PRIMARY KEY);
            CREATE TABLE public.task_types (id SERIAL PRIMARY KEY);
            CREATE TABLE public.users (id SERIAL PRIMARY KEY);
            INSERT INTO public.tasks DEFAULT VALUES;
            """))
        {
            await setup.ExecuteNonQueryAsync();
        }

        var options = new PostgresTriggerStoreOptions { Schema = "bom", TasksTable = "public.tasks", TaskTypesTable = "task_types", UsersTable = "public.users" };
        var runner = new MigrationRunner(database.DataSource, BomTriggersBuilder.CreateMigrationSet(), BomTriggersBuilder.CreateRunnerOptions(options));

        (await runner.MigrateAsync()).Applied.Should().Equal("0001_create_bom_triggers.sql");
        (await runner.MigrateAsync()).Applied.Should().BeEmpty();

        await using var fks = database.DataSource.CreateCommand("""
            SELECT string_agg(conrelid::regclass::text || '->' || confrelid::regclass::text, ',' ORDER BY 1)
            FROM pg_constraint WHERE contype = 'f' AND connamespace = 'bom'::regnamespace
            """);
        var text = (string)(await fks.ExecuteScalarAsync())!;
        text.Split(',').Should().BeEquivalentTo("bom.bom_trigger_logs->bom.bom_triggers", "bom.bom_trigger_logs->tasks", "bom.bom_triggers->task_types", "bom.bom_triggers->task_types", "bom.bom_triggers->users");

        runner.ExportScript().Should().Contain("REFERENCES \"public\".\"tasks\" (\"id\") ON DELETE CASCADE");
    }
}
