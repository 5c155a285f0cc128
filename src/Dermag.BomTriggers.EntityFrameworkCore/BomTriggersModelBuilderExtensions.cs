using Dermag.BomTriggers.EntityFrameworkCore;
using Dermag.Migrations;

namespace Microsoft.EntityFrameworkCore;

/// <summary>Maps the Dermag.BomTriggers tables into an app's own DbContext.</summary>
public static class BomTriggersModelBuilderExtensions
{
    /// <summary>Maps <c>bom_triggers</c> and <c>bom_trigger_logs</c> in <paramref name="schema"/> to <see cref="BomTriggerEntity"/> and <see cref="BomTriggerLogEntity"/>, for reporting. The library's migrations own the tables: exclude them from EF migrations.</summary>
    public static ModelBuilder MapBomTriggerTables(this ModelBuilder modelBuilder, string schema = "public")
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        if (!SqlIdentifier.IsValid(schema))
        {
            throw new ArgumentException(SqlIdentifier.Describe(schema, nameof(schema)), nameof(schema));
        }

        modelBuilder.Entity<BomTriggerEntity>(e =>
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
        modelBuilder.Entity<BomTriggerLogEntity>(e =>
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
}
