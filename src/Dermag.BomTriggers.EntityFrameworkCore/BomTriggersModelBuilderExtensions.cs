using Dermag.BomTriggers.EntityFrameworkCore;
using Dermag.Migrations;

namespace Microsoft.EntityFrameworkCore;

/// <summary>Maps the Dermag.BomTriggers tables into an app's own DbContext.</summary>
public static class BomTriggersModelBuilderExtensions
{
    /// <summary>
    /// Maps <c>bom_triggers</c>, <c>bom_trigger_logs</c>, <c>bom_trigger_history</c> and <c>bom_trigger_jobs</c> in
    /// <paramref name="schema"/> to <see cref="BomTriggerEntity"/>, <see cref="BomTriggerLogEntity"/>,
    /// <see cref="BomTriggerHistoryEntity"/> and <see cref="BomTriggerJobEntity"/>, for reporting (change jobs through
    /// <c>IBomTriggerJobManager</c>). Deleted triggers are included (deletes are soft; filter on <see cref="BomTriggerEntity.DeletedAt"/>). The
    /// library's migrations own the tables, which are excluded from EF migrations; change triggers through
    /// <c>IBomTriggerManager</c>, which writes the history.
    /// </summary>
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
            e.Property(x => x.Version).HasColumnName("version");
            e.Property(x => x.DeletedAt).HasColumnName("deleted_at");
            e.Property(x => x.DeletedBy).HasColumnName("deleted_by");
            e.Property(x => x.Execution).HasColumnName("execution").HasColumnType("jsonb");
            e.HasMany(x => x.Logs).WithOne(l => l.Trigger).HasForeignKey(l => l.TriggerId).OnDelete(DeleteBehavior.Restrict);
            e.HasMany(x => x.History).WithOne(h => h.Trigger).HasForeignKey(h => h.TriggerId);
        });
        modelBuilder.Entity<BomTriggerHistoryEntity>(e =>
        {
            e.ToTable("bom_trigger_history", schema, t => t.ExcludeFromMigrations());
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.TriggerId, x.Version }).IsUnique().HasDatabaseName("bom_trigger_history_trigger_version_key");
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.TriggerId).HasColumnName("trigger_id");
            e.Property(x => x.Version).HasColumnName("version");
            e.Property(x => x.Change).HasColumnName("change").HasMaxLength(20);
            e.Property(x => x.ChangedBy).HasColumnName("changed_by");
            e.Property(x => x.ChangedAt).HasColumnName("changed_at");
            e.Property(x => x.Definition).HasColumnName("definition").HasColumnType("jsonb");
            e.Property(x => x.Previous).HasColumnName("previous").HasColumnType("jsonb");
            e.Property(x => x.RestoredFromVersion).HasColumnName("restored_from_version");
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
            e.Property(x => x.JobId).HasColumnName("job_id");
            e.Property(x => x.Attempt).HasColumnName("attempt");
            e.Property(x => x.CausedByTriggerId).HasColumnName("caused_by_trigger_id");
        });
        modelBuilder.Entity<BomTriggerJobEntity>(e =>
        {
            e.ToTable("bom_trigger_jobs", schema, t => t.ExcludeFromMigrations());
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.IdempotencyKey).HasColumnName("idempotency_key");
            e.Property(x => x.TriggerId).HasColumnName("trigger_id");
            e.Property(x => x.Kind).HasColumnName("kind").HasMaxLength(20);
            e.Property(x => x.State).HasColumnName("state").HasMaxLength(20);
            e.Property(x => x.EventType).HasColumnName("event_type").HasMaxLength(50);
            e.Property(x => x.TaskId).HasColumnName("task_id");
            e.Property(x => x.EventData).HasColumnName("event_data").HasColumnType("jsonb");
            e.Property(x => x.CorrelationId).HasColumnName("correlation_id");
            e.Property(x => x.Attempt).HasColumnName("attempt");
            e.Property(x => x.MaxAttempts).HasColumnName("max_attempts");
            e.Property(x => x.DueAt).HasColumnName("due_at");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            e.Property(x => x.LastError).HasColumnName("last_error");
            e.Property(x => x.FinishedAt).HasColumnName("finished_at");
        });
        return modelBuilder;
    }
}
