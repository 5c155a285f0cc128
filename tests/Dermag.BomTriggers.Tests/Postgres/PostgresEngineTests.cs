using System.Globalization;
using Dermag.BomTriggers.EntityFrameworkCore;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Migrations;
using Dermag.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dermag.BomTriggers.Tests.Postgres;

public sealed class ReportingContext(DbContextOptions<ReportingContext> options, string schema) : DbContext(options), ISchemaContext
{
    public string Schema => schema;

    public DbSet<BomTriggerEntity> Triggers => Set<BomTriggerEntity>();

    public DbSet<BomTriggerLogEntity> Logs => Set<BomTriggerLogEntity>();

    public DbSet<BomTriggerHistoryEntity> History => Set<BomTriggerHistoryEntity>();

    protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) =>
        optionsBuilder.ReplaceService<Microsoft.EntityFrameworkCore.Infrastructure.IModelCacheKeyFactory, PerSchemaModelCacheKeyFactory>();

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

    [Theory]
    [InlineData(TriggerExecutionMode.Inline, "{}")]
    [InlineData(TriggerExecutionMode.Queued, "{}")]
    [InlineData(TriggerExecutionMode.Inline, """{"status":"never"}""")]
    public async Task InMemoryStore_RefusesAnEnlistedDispatch_BeforeAnyActionRuns(TriggerExecutionMode mode, string condition)
    {
        // It cannot take part in the transaction; writing at once would keep what the rollback below removes on PostgreSQL.
        // Refused whatever the triggers and the data, so a test does not pass or fail by what happened to match.
        await using var memory = await TriggerTestContext.CreateAsync(b => b.UseInMemoryStore());
        (await memory.Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "cost",
            TriggerEvent = BomTriggerEvents.TaskCreate,
            TriggerCondition = Json.Parse(condition),
            ActionType = BomTriggerActions.CalculateCost,
            Execution = new() { Mode = mode },
        })).Errors.Should().BeEmpty();
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        var dispatch = () => memory.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"), DispatchOptions.InTransaction(transaction));

        (await dispatch.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should()
            .Contain("cannot take part in the caller's database transaction").And.Contain("UsePostgres");
        memory.Host.Calls.Should().BeEmpty("no action ran");
        await transaction.RollbackAsync();
        (await memory.Store.QueryLogsAsync(new BomTriggerLogQuery())).Items.Should().BeEmpty("nothing was written outside the transaction");
        (await memory.Services.GetRequiredService<IBomTriggerJobManager>().QueryAsync(new BomTriggerJobQuery())).Items.Should().BeEmpty();
        await FluentActions.Awaiting(() => memory.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}")))
            .Should().NotThrowAsync("without the transaction it dispatches");
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

    private sealed class AddLineLater : IBomTriggerAction, IBomActionDescription
    {
        public const string Type = "REMOVED_IN_A_LATER_DEPLOY";

        public static string Description => "Registered on one instance only.";

        public static IReadOnlyList<ActionConfigField> ConfigFields => [];

        public static IReadOnlyList<string> CausedEvents => [];

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
    public async Task EfMapping_ReportsHistoryAndDeletedTriggersWithTheirLogs()
    {
        var trigger = await _context.CreateAsync("cost", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");
        await _context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 5, null, "{}"));
        await _context.Store.UpdateAsync(trigger.Id, BomTriggerDefinition.From(trigger) with { Priority = 1 }, changedBy: 5);
        await _context.Store.DeleteAsync(trigger.Id, changedBy: 6);
        await using var db = new ReportingContext(new DbContextOptionsBuilder<ReportingContext>().UseNpgsql(database.ConnectionString).Options, _schema);

        var history = await db.History.Where(h => h.TriggerId == trigger.Id).OrderBy(h => h.Version)
            .Select(h => new { h.Version, h.Change, h.ChangedBy, h.RestoredFromVersion, HasPrevious = h.Previous != null }).ToListAsync();
        var deleted = await db.Triggers.Where(t => t.DeletedAt != null)
            .Select(t => new { t.Id, t.Version, t.DeletedBy, Versions = t.History.Count, Executions = t.Logs.Count }).SingleAsync();

        history.Should().BeEquivalentTo(
            [
                new { Version = 1, Change = "created", ChangedBy = (int?)null, RestoredFromVersion = (int?)null, HasPrevious = false },
                new { Version = 2, Change = "updated", ChangedBy = (int?)5, RestoredFromVersion = (int?)null, HasPrevious = true },
                new { Version = 3, Change = "deleted", ChangedBy = (int?)6, RestoredFromVersion = (int?)null, HasPrevious = true },
            ],
            o => o.WithStrictOrdering());
        deleted.Should().BeEquivalentTo(new { trigger.Id, Version = 3, DeletedBy = (int?)6, Versions = 3, Executions = 1 });
        (await db.History.Where(h => h.TriggerId == trigger.Id && h.Version == 2).Select(h => h.Definition).SingleAsync()).Should().Contain("\"priority\": 1");
    }

    [Fact]
    public async Task ConcurrentChangesFromTwoInstances_SerializeOnTheRow_WithGaplessVersionsAndAnUnbrokenChain()
    {
        await using var other = await TriggerTestContext.CreateAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = _schema));
        var trigger = await _context.CreateAsync("shared", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var changes = Enumerable.Range(1, 40).Select(author => Task.Run(async () =>
        {
            await go.Task;
            var manager = author % 2 == 0 ? _context.Store : other.Store;
            return author switch
            {
                25 => await manager.DeleteAsync(trigger.Id, author),
                _ when author % 5 == 0 => await manager.ToggleAsync(trigger.Id, author) is not null,
                _ => (await manager.UpdateAsync(trigger.Id, BomTriggerDefinition.From(trigger) with { Priority = author }, author)).Succeeded,
            };
        })).ToList();
        go.SetResult();
        var succeeded = (await Task.WhenAll(changes)).Count(done => done);

        // Straight from the table: versions 1..n, each row's previous is the definition of the row before it, the delete last.
        await using var check = database.DataSource.CreateCommand($"""
            SELECT count(*), min(version), max(version), count(DISTINCT version),
                   (SELECT max(version) FROM "{_schema}".bom_trigger_history WHERE trigger_id = $1 AND change = 'deleted'),
                   (SELECT count(*) FROM "{_schema}".bom_trigger_history h
                    JOIN "{_schema}".bom_trigger_history p ON p.trigger_id = h.trigger_id AND p.version = h.version - 1
                    WHERE h.trigger_id = $1 AND h.previous IS DISTINCT FROM p.definition),
                   (SELECT version FROM "{_schema}".bom_triggers WHERE id = $1)
            FROM "{_schema}".bom_trigger_history WHERE trigger_id = $1
            """);
        check.Parameters.AddWithValue(trigger.Id);
        await using var reader = await check.ExecuteReaderAsync();
        await reader.ReadAsync();
        var (rows, min, max, distinct, deletedVersion, brokenLinks, current) =
            (reader.GetInt64(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt32(4), reader.GetInt64(5), reader.GetInt32(6));

        (rows, min, max, distinct).Should().Be((succeeded + 1L, 1, succeeded + 1, succeeded + 1L), "one version per change that reported success, gapless and unique");
        deletedVersion.Should().Be(max, "nothing changes a deleted trigger");
        brokenLinks.Should().Be(0, "every change started from the version before it");
        current.Should().Be(max);
    }

    [Fact]
    public async Task Restore_VersionWhoseActionThisInstanceDoesNotRegister_IsInvalidHereAndValidThere()
    {
        await using var legacy = await TriggerTestContext.CreateAsync(
            b => b.UsePostgres(database.ConnectionString, o => o.Schema = _schema), more: b => b.AddAction<ThrowingAction>("LEGACY_EXPORT"));
        var created = (await legacy.Store.CreateAsync(new BomTriggerDefinition { Name = "export", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = "LEGACY_EXPORT" }, changedBy: 1)).Trigger!;
        (await legacy.Store.UpdateAsync(created.Id, new BomTriggerDefinition { Name = "export", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.CalculateCost }, changedBy: 1))
            .Succeeded.Should().BeTrue();

        var here = await _context.Store.RestoreAsync(created.Id, version: 1, changedBy: 2);

        here.Succeeded.Should().BeFalse();
        here.Errors.Should().ContainSingle().Which.Path.Should().Be("/actionType");
        here.Errors[0].Message.Should().Contain("unknown action type 'LEGACY_EXPORT'");
        (await _context.Store.GetAsync(created.Id))!.ActionType.Should().Be(BomTriggerActions.CalculateCost);
        (await _context.Store.GetHistoryAsync(created.Id)).Total.Should().Be(2);
        (await legacy.Store.RestoreAsync(created.Id, version: 1, changedBy: 2)).Trigger!.ActionType.Should().Be("LEGACY_EXPORT");
    }

    [Fact]
    public async Task DeleteByAnotherInstance_IsPickedUpWhenTheRevisionMoves()
    {
        await using var other = await TriggerTestContext.CreateAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = _schema));
        var trigger = await _context.CreateAsync("doomed", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");
        (await other.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"))).Outcomes.Should().ContainSingle();

        (await _context.Store.DeleteAsync(trigger.Id)).Should().BeTrue();
        await other.Services.GetRequiredService<TriggerSnapshotProvider>().RefreshIfStaleAsync(default);

        (await other.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 2, null, "{}"))).Outcomes.Should().BeEmpty("the soft delete is an UPDATE, which moves the revision");
        (await other.Store.GetLogsAsync(trigger.Id)).Total.Should().Be(1);
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
        status.Single().Applied.Select(a => a.Name).Should().Equal("0001_create_bom_triggers.sql", "0002_trigger_history.sql", "0003_host_event_types.sql", "0004_durable_execution.sql", "0005_dashboard_indexes.sql");

        await using var badEvent = database.DataSource.CreateCommand($"INSERT INTO \"{_schema}\".bom_triggers (name, trigger_event, action_type) VALUES ('x', 'on nope', 'NOTIFY')");
        var act = () => badEvent.ExecuteNonQueryAsync();
        (await act.Should().ThrowAsync<PostgresException>()).Which.ConstraintName.Should().Be("bom_triggers_trigger_event_check");
        await using var badAction = database.DataSource.CreateCommand($"INSERT INTO \"{_schema}\".bom_triggers (name, trigger_event, action_type) VALUES ('x', 'ON_TASK_CREATE', 'lower case')");
        var act2 = () => badAction.ExecuteNonQueryAsync();
        (await act2.Should().ThrowAsync<PostgresException>()).Which.ConstraintName.Should().Be("bom_triggers_action_type_check");
        await using var cleanup = database.DataSource.CreateCommand($"SELECT \"{_schema}\".cleanup_old_trigger_logs()");
        (await cleanup.ExecuteScalarAsync()).Should().Be(0);

        var trigger = await _context.CreateAsync("kept", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");
        await using var duplicate = database.DataSource.CreateCommand(
            $"INSERT INTO \"{_schema}\".bom_trigger_history (trigger_id, version, change, definition) VALUES ({trigger.Id}, 1, 'updated', '{{}}')");
        var act3 = () => duplicate.ExecuteNonQueryAsync();
        (await act3.Should().ThrowAsync<PostgresException>()).Which.ConstraintName.Should().Be("bom_trigger_history_trigger_version_key");
        await using var badChange = database.DataSource.CreateCommand(
            $"INSERT INTO \"{_schema}\".bom_trigger_history (trigger_id, version, change, definition) VALUES ({trigger.Id}, 2, 'renamed', '{{}}')");
        var act4 = () => badChange.ExecuteNonQueryAsync();
        (await act4.Should().ThrowAsync<PostgresException>()).Which.ConstraintName.Should().Be("bom_trigger_history_change_check");
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

        (await runner.MigrateAsync()).Applied.Should().Equal("0001_create_bom_triggers.sql", "0002_trigger_history.sql", "0003_host_event_types.sql", "0004_durable_execution.sql", "0005_dashboard_indexes.sql");
        (await runner.MigrateAsync()).Applied.Should().BeEmpty();

        await using var fks = database.DataSource.CreateCommand("""
            SELECT string_agg(conrelid::regclass::text || '->' || confrelid::regclass::text, ',' ORDER BY 1)
            FROM pg_constraint WHERE contype = 'f' AND connamespace = 'bom'::regnamespace
            """);
        var text = (string)(await fks.ExecuteScalarAsync())!;
        text.Split(',').Should().BeEquivalentTo(
            "bom.bom_trigger_logs->bom.bom_triggers", "bom.bom_trigger_logs->tasks", "bom.bom_triggers->task_types", "bom.bom_triggers->task_types",
            "bom.bom_triggers->users", "bom.bom_triggers->users", "bom.bom_trigger_history->bom.bom_triggers", "bom.bom_trigger_history->users", "bom.bom_trigger_jobs->bom.bom_triggers", "bom.bom_trigger_schedules->bom.bom_triggers");

        runner.ExportScript().Should().Contain("REFERENCES \"public\".\"tasks\" (\"id\") ON DELETE CASCADE");
    }
    [Fact]
    public async Task Migration0002_OnASchemaAt0001_KeepsTriggersAndLogs_WritesBaselineVersions_AndIsIdempotent()
    {
        var options = new PostgresTriggerStoreOptions { Schema = "bom_upgrade" };
        var all = BomTriggersBuilder.CreateMigrationSet();
        var only0001 = new MigrationSet(all.Library, all.Version, all.Scripts.Where(s => s.Name.StartsWith("0001_", StringComparison.Ordinal)));
        (await new MigrationRunner(database.DataSource, only0001, BomTriggersBuilder.CreateRunnerOptions(options)).MigrateAsync())
            .Applied.Should().Equal("0001_create_bom_triggers.sql");
        // What 0001 holds in production: a trigger never changed and one changed after it was created, each with a log row.
        await ExecuteAsync("""
            INSERT INTO bom_upgrade.bom_triggers (name, trigger_event, trigger_condition, action_type, created_by, created_at, updated_at) VALUES
                ('untouched', 'ON_TASK_CREATE', '{"taskTypeCode":"LAN"}', 'CALCULATE_COST', 7, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'),
                ('edited', 'ON_STATUS_CHANGE', '{}', 'CALCULATE_COST', 8, '2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z');
            INSERT INTO bom_upgrade.bom_trigger_logs (trigger_id, task_id, success) SELECT id, 1, true FROM bom_upgrade.bom_triggers;
            """);

        (await new MigrationRunner(database.DataSource, all, BomTriggersBuilder.CreateRunnerOptions(options)).MigrateAsync())
            .Applied.Should().Equal("0002_trigger_history.sql", "0003_host_event_types.sql", "0004_durable_execution.sql", "0005_dashboard_indexes.sql");
        // Run the script again by hand, as a DBA might after a partial failure: nothing changes.
        await ExecuteAsync(all.Scripts.Single(s => s.Name == "0002_trigger_history.sql").Sql.Replace("{{schema}}", "\"bom_upgrade\"", StringComparison.Ordinal).Replace("{{users_fk}}", "", StringComparison.Ordinal));

        await using var context = await TriggerTestContext.CreateAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = "bom_upgrade"));
        var triggers = await context.Store.ListAsync();
        var untouched = triggers.Single(t => t.Name == "untouched");
        var edited = triggers.Single(t => t.Name == "edited");
        (untouched.Version, edited.Version).Should().Be((1, 1));
        var baseline = (await context.Store.GetHistoryAsync(untouched.Id)).Items.Should().ContainSingle().Subject;
        (baseline.Change, baseline.ChangedBy, baseline.ChangedAt, baseline.Previous).Should().Be((BomTriggerChange.Created, (int?)7, DateTimeOffset.Parse("2025-01-01T00:00:00Z", CultureInfo.InvariantCulture), (BomTriggerDefinition?)null));
        (baseline.Definition.Name, baseline.Definition.CreatedBy, baseline.Definition.TriggerCondition!.Value.GetProperty("taskTypeCode").GetString()).Should().Be(("untouched", (int?)7, "LAN"));
        var editedBaseline = (await context.Store.GetHistoryAsync(edited.Id)).Items.Should().ContainSingle().Subject;
        (editedBaseline.Change, editedBaseline.ChangedBy, editedBaseline.ChangedAt, editedBaseline.Previous)
            .Should().Be((BomTriggerChange.Updated, (int?)null, DateTimeOffset.Parse("2025-02-01T00:00:00Z", CultureInfo.InvariantCulture), (BomTriggerDefinition?)null), "its earlier versions and their author were never kept");

        (await context.Store.DeleteAsync(untouched.Id, changedBy: 3)).Should().BeTrue();
        var deleted = (await context.Store.GetHistoryAsync(untouched.Id)).Items[0];
        (deleted.Version, deleted.Change, deleted.Previous!.Name).Should().Be((2, BomTriggerChange.Deleted, "untouched"));
        (await context.Store.GetLogsAsync(untouched.Id)).Total.Should().Be(1, "the log written under 0001 survives the delete");

        // A DELETE by hand can no longer take logs with it.
        var hardDelete = () => ExecuteAsync($"DELETE FROM bom_upgrade.bom_triggers WHERE id = {untouched.Id}");
        var thrown = (await hardDelete.Should().ThrowAsync<PostgresException>()).Which;
        (thrown.SqlState, thrown.ConstraintName).Should().Be((PostgresErrorCodes.ForeignKeyViolation, "bom_trigger_logs_trigger_id_fkey"));
        await using var fks = database.DataSource.CreateCommand("""
            SELECT string_agg(confdeltype::text, ',') FROM pg_constraint
            WHERE conrelid = 'bom_upgrade.bom_trigger_logs'::regclass AND confrelid = 'bom_upgrade.bom_triggers'::regclass
            """);
        (await fks.ExecuteScalarAsync()).Should().Be("r", "one foreign key, ON DELETE RESTRICT");
        await using var rows = database.DataSource.CreateCommand("SELECT count(*) FROM bom_upgrade.bom_trigger_history");
        (await rows.ExecuteScalarAsync()).Should().Be(3L);
    }

    [Fact]
    public async Task ReadmeRollbackOfEverything_RemovesEveryObject_InOneTransaction_AndMigratingAgainRecreatesThem()
    {
        var schema = TriggerTestContext.NewSchema();
        var options = new PostgresTriggerStoreOptions { Schema = schema };
        var runner = new MigrationRunner(database.DataSource, BomTriggersBuilder.CreateMigrationSet(), BomTriggersBuilder.CreateRunnerOptions(options));
        await using (var context = await TriggerTestContext.CreateAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = schema)))
        {
            // Rows in every table the migrations create: triggers, history, logs, a queued job, a schedule, event counts.
            await context.CreateAsync("inline", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");
            (await context.Store.CreateAsync(new BomTriggerDefinition
            {
                Name = "queued", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.CalculateCost,
                Execution = new() { Mode = TriggerExecutionMode.Queued },
            })).Errors.Should().BeEmpty();
            (await context.Store.CreateAsync(new BomTriggerDefinition
            {
                Name = "hourly", TriggerEvent = BomTriggerEvents.Schedule, ActionType = BomTriggerActions.CalculateCost,
                Execution = new() { Schedule = new BomTriggerSchedule { Cron = "0 * * * *" } },
            })).Errors.Should().BeEmpty();
            await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"));
            await ActivatorUtilities.CreateInstance<BomTriggerScheduler>(context.Services).RunOnceAsync(default);
            await context.Services.GetRequiredService<DispatchedEventCounter>().FlushAsync(default);
        }

        var readme = await File.ReadAllTextAsync(FindRepositoryFile("src/Dermag.BomTriggers/README.md"));
        var rollback = readme[readme.IndexOf("## Rollback", StringComparison.Ordinal)..];
        var block = rollback[(rollback.IndexOf("```sql", StringComparison.Ordinal) + "```sql".Length)..];
        block = block[..block.IndexOf("```", StringComparison.Ordinal)];
        block.Should().StartWith("\nBEGIN;").And.Contain("COMMIT;");
        await ExecuteAsync($"SET search_path TO {schema};\n{block}\nRESET search_path;");

        (await TextAsync($"""
            SELECT string_agg(c.relname, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = '{schema}' AND c.relname <> 'dermag_schema_history' AND c.relname NOT LIKE 'dermag_schema_history%'
            """)).Should().BeNull("no table, index or sequence of the library is left");
        (await TextAsync($"""
            SELECT string_agg(p.proname, ',') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '{schema}'
            """)).Should().BeNull("no function of the library is left");
        (await runner.GetStatusAsync()).Applied.Should().BeEmpty();

        (await runner.MigrateAsync()).Applied.Should().HaveCount(BomTriggersBuilder.CreateMigrationSet().Scripts.Count);
        (await TextAsync($"SELECT to_regclass('{schema}.bom_trigger_jobs')::text")).Should().NotBeNull();
    }

    [Fact]
    public async Task ReadmeRollbackOf0002_ReturnsTheSchemaTo0001_AndMigratingAgainWorks()
    {
        var options = new PostgresTriggerStoreOptions { Schema = "bom_rollback" };
        var runner = new MigrationRunner(database.DataSource, BomTriggersBuilder.CreateMigrationSet(), BomTriggersBuilder.CreateRunnerOptions(options));
        int kept, deleted;
        await using (var context = await TriggerTestContext.CreateAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = "bom_rollback")))
        {
            kept = (await context.CreateAsync("kept", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}")).Id;
            deleted = (await context.CreateAsync("deleted", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}")).Id;
            await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"));
            await context.Store.DeleteAsync(deleted);
        }

        var readme = await File.ReadAllTextAsync(FindRepositoryFile("src/Dermag.BomTriggers/README.md"));
        var rollback = readme[readme.IndexOf("## Rollback", StringComparison.Ordinal)..];
        var block = rollback[(rollback.LastIndexOf("```sql", StringComparison.Ordinal) + "```sql".Length)..];
        block = block[..block.IndexOf("```", StringComparison.Ordinal)];
        block.Should().Contain("DROP TABLE IF EXISTS bom_trigger_history;");
        await ExecuteAsync("SET search_path TO bom_rollback;\n" + block + "\nRESET search_path;");

        (await TextAsync("""
            SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns
            WHERE table_schema = 'bom_rollback' AND table_name = 'bom_triggers' AND column_name IN ('version', 'deleted_at', 'deleted_by')
            """)).Should().BeNull();
        (await TextAsync("SELECT to_regclass('bom_rollback.bom_trigger_history')::text")).Should().BeNull();
        (await TextAsync("SELECT string_agg(name, ',') FROM bom_rollback.bom_triggers")).Should().Be("kept");
        (await TextAsync("SELECT string_agg(DISTINCT trigger_id::text, ',') FROM bom_rollback.bom_trigger_logs")).Should().Be(kept.ToString(CultureInfo.InvariantCulture));
        (await TextAsync("""
            SELECT string_agg(confdeltype::text, ',') FROM pg_constraint
            WHERE conrelid = 'bom_rollback.bom_trigger_logs'::regclass AND confrelid = 'bom_rollback.bom_triggers'::regclass
            """)).Should().Be("c", "0001's cascade is back");
        (await runner.GetStatusAsync()).Pending.Should().Equal("0002_trigger_history.sql");

        (await runner.MigrateAsync()).Applied.Should().Equal("0002_trigger_history.sql");
        (await TextAsync("SELECT string_agg(version || ':' || change, ',') FROM bom_rollback.bom_trigger_history")).Should().Be("1:created");
    }

    private static string FindRepositoryFile(string relativePath)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, relativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relativePath} was not found above {AppContext.BaseDirectory}.");
    }

    private async Task<string?> TextAsync(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        return await command.ExecuteScalarAsync() as string;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
