using System.ComponentModel.DataAnnotations.Schema;
using System.Text.Json;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Testing;
using Microsoft.EntityFrameworkCore;

namespace Dermag.BomTriggers.Tests.EntityFrameworkCore;

/// <summary>The app's own domain, as an EF Core app has it: tasks and their BOM lines, with a foreign key between them.</summary>
public sealed class AppDb(DbContextOptions<AppDb> options, string schema) : DbContext(options), ISchemaContext
{
    public string Schema => schema;

    public DbSet<AppTask> Tasks => Set<AppTask>();

    public DbSet<AppBomLine> BomLines => Set<AppBomLine>();

    protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) =>
        optionsBuilder.ReplaceService<Microsoft.EntityFrameworkCore.Infrastructure.IModelCacheKeyFactory, PerSchemaModelCacheKeyFactory>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<AppTask>().ToTable("app_tasks", schema);
        modelBuilder.Entity<AppBomLine>().ToTable("app_bom_lines", schema);
        modelBuilder.MapBomTriggerTables(schema);
    }
}

public sealed class AppTask
{
    [Column("id")]
    public int Id { get; set; }

    [Column("name")]
    public string Name { get; set; } = string.Empty;
}

public sealed class AppBomLine
{
    [Column("id")]
    public int Id { get; set; }

    [Column("task_id")]
    public int TaskId { get; set; }

    [Column("material")]
    public string Material { get; set; } = string.Empty;
}

/// <summary>A host action that writes through the caller's DbContext, as the README tells EF Core apps to.</summary>
public sealed class AddLineThroughCallersContext : IBomTriggerAction, IBomActionDescription
{
    public const string Type = "EF_ADD_LINE";

    public static string Description => "Adds a BOM line through the caller's DbContext.";

    public static IReadOnlyList<ActionConfigField> ConfigFields => [];

    public static IReadOnlyList<string> CausedEvents => [];

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
    }

    public async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var db = context.GetDbContext<AppDb>();
        db.BomLines.Add(new AppBomLine { TaskId = context.Event.TaskId, Material = "Kabel UTP Cat6" });
        await db.SaveChangesAsync(cancellationToken);
        return ActionResult.Empty;
    }
}

/// <summary>
/// Dispatch enlisted in an EF Core DbContext: the task the caller has not committed yet, the BOM line the action adds
/// through the same context (its foreign key to that task only holds inside the transaction) and the log row commit or
/// roll back together.
/// </summary>
public sealed class DbContextEnlistmentTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private readonly string _schema = TriggerTestContext.NewSchema();
    private TriggerTestContext _context = null!;

    public async Task InitializeAsync()
    {
        _context = await TriggerTestContext.CreateAsync(
            b => b.UsePostgres(database.ConnectionString, o => o.Schema = _schema),
            more: b => b.AddAction<AddLineThroughCallersContext>(AddLineThroughCallersContext.Type));
        await using var command = database.DataSource.CreateCommand($"""
            CREATE TABLE "{_schema}".app_tasks (id serial PRIMARY KEY, name text NOT NULL);
            CREATE TABLE "{_schema}".app_bom_lines (id serial PRIMARY KEY, task_id integer NOT NULL REFERENCES "{_schema}".app_tasks (id), material text NOT NULL);
            """);
        await command.ExecuteNonQueryAsync();
        await _context.CreateAsync("line", BomTriggerEvents.TaskCreate, "{}", AddLineThroughCallersContext.Type, "{}");
    }

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    public async Task DispatchAsync_InDbContext_ActionWritesInTheCallersTransaction(bool commit, int expected)
    {
        await using var db = NewDb();
        var task = new AppTask { Name = "LAN rollout" };
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            db.Tasks.Add(task);
            await db.SaveChangesAsync();

            var report = await _context.Engine.DispatchAsync(db, Json.Event(BomTriggerEvents.TaskCreate, task.Id, null, "{}"), new DispatchOptions { Strict = true });

            report.Outcomes.Should().ContainSingle().Which.Kind.Should().Be(TriggerOutcomeKind.Executed, "the line's foreign key to the uncommitted task holds inside the caller's transaction");
            if (commit)
            {
                await transaction.CommitAsync();
            }
            else
            {
                await transaction.RollbackAsync();
            }
        }

        await using var check = NewDb();
        (await check.Tasks.CountAsync(t => t.Id == task.Id)).Should().Be(expected);
        (await check.BomLines.CountAsync(l => l.TaskId == task.Id)).Should().Be(expected);
        (await check.Set<Dermag.BomTriggers.EntityFrameworkCore.BomTriggerLogEntity>().CountAsync(l => l.TaskId == task.Id)).Should().Be(expected);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    public async Task QueuedTrigger_InDbContext_ItsJobCommitsOrRollsBackWithTheTask(bool commit, int expected)
    {
        var queued = await _context.Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "queued notify", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.Notify,
            ActionConfig = Json.Parse("""{"message":"new task","recipients":["manager"]}"""), Execution = new() { Mode = TriggerExecutionMode.Queued },
        });
        await using var db = NewDb();
        var task = new AppTask { Name = "Outbox" };
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            db.Tasks.Add(task);
            await db.SaveChangesAsync();
            var report = await _context.Engine.DispatchAsync(db, Json.Event(BomTriggerEvents.TaskCreate, task.Id, null, "{}"), new DispatchOptions { Strict = true });
            report.Outcomes.Should().Contain(o => o.TriggerId == queued.Trigger!.Id && o.Kind == TriggerOutcomeKind.Queued);
            if (commit)
            {
                await transaction.CommitAsync();
            }
            else
            {
                await transaction.RollbackAsync();
            }
        }

        await using var check = NewDb();
        var jobs = await check.Set<Dermag.BomTriggers.EntityFrameworkCore.BomTriggerJobEntity>().Where(j => j.TaskId == task.Id).ToListAsync();
        jobs.Should().HaveCount(expected, "the job exists exactly when the task change commits");
        foreach (var job in jobs)
        {
            (job.State, job.Kind, job.TriggerId).Should().Be(("pending", "queued", queued.Trigger!.Id));
        }
    }

    [Fact]
    public async Task DispatchAsync_NotEnlisted_ActionAskingForTheDbContextFailsClearly()
    {
        var report = await _context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"));

        var outcome = report.Outcomes.Should().ContainSingle().Subject;
        outcome.Kind.Should().Be(TriggerOutcomeKind.Failed);
        outcome.Error.Should().Contain("needs a AppDb, but the dispatch was not enlisted in one");
    }

    private AppDb NewDb() => new(new DbContextOptionsBuilder<AppDb>().UseNpgsql(database.ConnectionString).Options, _schema);
}
