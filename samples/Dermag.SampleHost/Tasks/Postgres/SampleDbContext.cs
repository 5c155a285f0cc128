using Microsoft.EntityFrameworkCore;

namespace Dermag.SampleHost.Tasks.Postgres;

/// <summary>
/// The app's own EF Core context for its task/BOM tables on PostgreSQL. The tables are created by the sample's migration
/// script (<c>Migrations/0001_create_sample_tasks.sql</c>) through the same runner as the libraries', not by EF migrations.
/// </summary>
public sealed class SampleDbContext(DbContextOptions<SampleDbContext> options) : DbContext(options)
{
    internal DbSet<TaskEntity> Tasks => Set<TaskEntity>();

    internal DbSet<BomLineEntity> BomLines => Set<BomLineEntity>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.Entity<TaskEntity>(task =>
        {
            task.ToTable("sample_tasks");
            task.Property(t => t.Id).HasColumnName("id");
            task.Property(t => t.Title).HasColumnName("title");
            task.Property(t => t.TaskTypeId).HasColumnName("task_type_id");
            task.Property(t => t.Status).HasColumnName("status");
            task.Property(t => t.Tags).HasColumnName("tags");
            task.Property(t => t.Cost).HasColumnName("cost");
            task.Property(t => t.CostCalculatedAt).HasColumnName("cost_calculated_at");
            task.Property(t => t.CreatedBy).HasColumnName("created_by");
            task.Property(t => t.CreatedAt).HasColumnName("created_at");
            task.HasMany(t => t.Bom).WithOne().HasForeignKey(l => l.TaskId);
            task.HasMany(t => t.Notifications).WithOne().HasForeignKey(n => n.TaskId);
            task.HasMany(t => t.TriggerRuns).WithOne().HasForeignKey(r => r.TaskId);
        });
        modelBuilder.Entity<BomLineEntity>(line =>
        {
            line.ToTable("sample_bom_lines");
            line.Property(l => l.Id).HasColumnName("id");
            line.Property(l => l.TaskId).HasColumnName("task_id");
            line.Property(l => l.MaterialName).HasColumnName("material_name");
            line.Property(l => l.Quantity).HasColumnName("quantity");
            line.Property(l => l.Unit).HasColumnName("unit");
            line.Property(l => l.UnitPrice).HasColumnName("unit_price");
            line.Property(l => l.Category).HasColumnName("category");
            line.Property(l => l.AddedBy).HasColumnName("added_by");
        });
        modelBuilder.Entity<TaskNotificationEntity>(notification =>
        {
            notification.ToTable("sample_task_notifications");
            notification.Property(n => n.Id).HasColumnName("id");
            notification.Property(n => n.TaskId).HasColumnName("task_id");
            notification.Property(n => n.Message).HasColumnName("message");
            notification.Property(n => n.Recipients).HasColumnName("recipients");
            notification.Property(n => n.TriggerName).HasColumnName("trigger_name");
            notification.Property(n => n.SentAt).HasColumnName("sent_at");
        });
        modelBuilder.Entity<TriggerRunEntity>(run =>
        {
            run.ToTable("sample_task_trigger_runs");
            run.Property(r => r.Id).HasColumnName("id");
            run.Property(r => r.TaskId).HasColumnName("task_id");
            run.Property(r => r.EventType).HasColumnName("event_type");
            run.Property(r => r.TriggerId).HasColumnName("trigger_id");
            run.Property(r => r.TriggerName).HasColumnName("trigger_name");
            run.Property(r => r.ActionType).HasColumnName("action_type");
            run.Property(r => r.Outcome).HasColumnName("outcome");
            run.Property(r => r.Detail).HasColumnName("detail");
            run.Property(r => r.Depth).HasColumnName("depth");
        });
    }
}
