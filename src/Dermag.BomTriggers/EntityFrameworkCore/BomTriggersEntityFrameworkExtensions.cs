using Dermag.BomTriggers.Engine;
using Dermag.Migrations;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Dermag.BomTriggers.EntityFrameworkCore;

/// <summary>A read model of a <c>bom_triggers</c> row for reporting queries with EF Core. JSON columns are raw text.</summary>
public sealed class BomTriggerRow
{
    /// <summary>The id.</summary>
    public int Id { get; set; }

    /// <summary>The stable uuid.</summary>
    public Guid Uuid { get; set; }

    /// <summary>The name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The description.</summary>
    public string? Description { get; set; }

    /// <summary>The event type.</summary>
    public string TriggerEvent { get; set; } = string.Empty;

    /// <summary>The condition (JSON text).</summary>
    public string TriggerCondition { get; set; } = "{}";

    /// <summary>The action type.</summary>
    public string ActionType { get; set; } = string.Empty;

    /// <summary>The action configuration (JSON text).</summary>
    public string ActionConfig { get; set; } = "{}";

    /// <summary>The source task type filter.</summary>
    public int? SourceTaskTypeId { get; set; }

    /// <summary>The target task type.</summary>
    public int? TargetTaskTypeId { get; set; }

    /// <summary>The priority (higher runs first).</summary>
    public int Priority { get; set; }

    /// <summary>Whether it runs.</summary>
    public bool IsActive { get; set; }

    /// <summary>The creating user.</summary>
    public int? CreatedBy { get; set; }

    /// <summary>When created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The trigger's logs.</summary>
    public ICollection<BomTriggerLogRow> Logs { get; } = [];
}

/// <summary>A read model of a <c>bom_trigger_logs</c> row.</summary>
public sealed class BomTriggerLogRow
{
    /// <summary>The id.</summary>
    public long Id { get; set; }

    /// <summary>The trigger.</summary>
    public int TriggerId { get; set; }

    /// <summary>The trigger row.</summary>
    public BomTriggerRow? Trigger { get; set; }

    /// <summary>The task.</summary>
    public int? TaskId { get; set; }

    /// <summary>When it ran.</summary>
    public DateTimeOffset ExecutedAt { get; set; }

    /// <summary>Whether it succeeded.</summary>
    public bool Success { get; set; }

    /// <summary>The input (JSON text).</summary>
    public string? InputData { get; set; }

    /// <summary>The result (JSON text).</summary>
    public string? ResultData { get; set; }

    /// <summary>The error.</summary>
    public string? ErrorMessage { get; set; }

    /// <summary>The outcome name.</summary>
    public string Outcome { get; set; } = string.Empty;

    /// <summary>The action's duration in milliseconds.</summary>
    public double? DurationMs { get; set; }

    /// <summary>The chain's correlation id.</summary>
    public Guid? CorrelationId { get; set; }

    /// <summary>The chain depth.</summary>
    public int Depth { get; set; }
}

/// <summary>EF Core integration: a reporting model of both tables, and dispatching inside a DbContext's transaction.</summary>
public static class BomTriggersEntityFrameworkExtensions
{
    /// <summary>Maps <c>bom_triggers</c> and <c>bom_trigger_logs</c> in <paramref name="schema"/> to <see cref="BomTriggerRow"/> and <see cref="BomTriggerLogRow"/>, for reporting. The library's migrations own the tables: exclude them from EF migrations.</summary>
    public static ModelBuilder MapBomTriggers(this ModelBuilder modelBuilder, string schema = "public")
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        if (!SqlIdentifier.IsValid(schema))
        {
            throw new ArgumentException(SqlIdentifier.Describe(schema, nameof(schema)), nameof(schema));
        }

        modelBuilder.Entity<BomTriggerRow>(e =>
        {
            e.ToTable("bom_triggers", schema, t => t.ExcludeFromMigrations());
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.Uuid).HasColumnName("uuid");
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(200);
            e.Property(x => x.Description).HasColumnName("description");
            e.Property(x => x.TriggerEvent).HasColumnName("trigger_event").HasMaxLength(50);
            e.Property(x => x.TriggerCondition).HasColumnName("trigger_condition").HasColumnType("jsonb");
            e.Property(x => x.ActionType).HasColumnName("action_type").HasMaxLength(50);
            e.Property(x => x.ActionConfig).HasColumnName("action_config").HasColumnType("jsonb");
            e.Property(x => x.SourceTaskTypeId).HasColumnName("source_task_type_id");
            e.Property(x => x.TargetTaskTypeId).HasColumnName("target_task_type_id");
            e.Property(x => x.Priority).HasColumnName("priority");
            e.Property(x => x.IsActive).HasColumnName("is_active");
            e.Property(x => x.CreatedBy).HasColumnName("created_by");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            e.HasMany(x => x.Logs).WithOne(l => l.Trigger).HasForeignKey(l => l.TriggerId);
        });
        modelBuilder.Entity<BomTriggerLogRow>(e =>
        {
            e.ToTable("bom_trigger_logs", schema, t => t.ExcludeFromMigrations());
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.TriggerId).HasColumnName("trigger_id");
            e.Property(x => x.TaskId).HasColumnName("task_id");
            e.Property(x => x.ExecutedAt).HasColumnName("executed_at");
            e.Property(x => x.Success).HasColumnName("success");
            e.Property(x => x.InputData).HasColumnName("input_data").HasColumnType("jsonb");
            e.Property(x => x.ResultData).HasColumnName("result_data").HasColumnType("jsonb");
            e.Property(x => x.ErrorMessage).HasColumnName("error_message");
            e.Property(x => x.Outcome).HasColumnName("outcome").HasMaxLength(20);
            e.Property(x => x.DurationMs).HasColumnName("duration_ms");
            e.Property(x => x.CorrelationId).HasColumnName("correlation_id");
            e.Property(x => x.Depth).HasColumnName("depth");
        });
        return modelBuilder;
    }

    /// <summary>
    /// Dispatches in <paramref name="context"/>'s current transaction (if any), so trigger logs commit or roll back with
    /// the task change made through the context.
    /// </summary>
    /// <exception cref="BomTriggerException">The context's transaction is not a PostgreSQL (Npgsql) transaction.</exception>
    public static Task<DispatchReport> DispatchAsync(this IBomTriggerEngine engine, DbContext context, BomTriggerEvent triggerEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(context);
        NpgsqlTransaction? transaction = null;
        if (context.Database.CurrentTransaction is { } current)
        {
            transaction = current.GetDbTransaction() as NpgsqlTransaction
                ?? throw new BomTriggerException("The DbContext's current transaction is not an NpgsqlTransaction; BomTriggers can only enlist in PostgreSQL transactions.");
        }

        return engine.DispatchAsync(triggerEvent, new DispatchOptions { Transaction = transaction }, cancellationToken);
    }
}
