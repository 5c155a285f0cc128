using Dermag.BomTriggers;
using Dermag.BomTriggers.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Dermag.SampleHost.Tasks.Postgres;

/// <summary>
/// The task/BOM domain on PostgreSQL through the app's own <see cref="SampleDbContext"/> (scoped, one per request).
/// Trigger dispatch is enlisted in the context (<c>engine.DispatchAsync(db, event)</c> from
/// Dermag.BomTriggers.EntityFrameworkCore): the task change, what the actions change, the trigger log rows and the queued
/// jobs commit or roll back together with the request's transaction.
/// </summary>
internal sealed class EfTaskBoard(SampleDbContext db, IBomTriggerEngine engine, TimeProvider timeProvider)
    : ITaskBoard, IBomEditor, IBomCostCalculator, IBomNotificationSender
{
    public async Task<ITaskChange> BeginChangeAsync(CancellationToken cancellationToken) =>
        new Change(await db.Database.BeginTransactionAsync(cancellationToken));

    public async Task<TaskView> CreateAsync(string title, TaskType type, IReadOnlyList<string> tags, string createdBy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(type);
        var task = new TaskEntity
        {
            Title = title,
            TaskTypeId = type.Id,
            Status = TaskStatuses.New,
            Tags = [.. tags],
            CreatedBy = createdBy,
            CreatedAt = timeProvider.GetUtcNow(),
        };
        db.Tasks.Add(task);
        await db.SaveChangesAsync(cancellationToken);
        return task.ToView();
    }

    public async Task<TaskView?> GetAsync(int id, CancellationToken cancellationToken) =>
        (await WithChildren(db).AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, cancellationToken))?.ToView();

    public async Task<IReadOnlyList<TaskView>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await WithChildren(db).AsNoTracking().OrderByDescending(t => t.Id).ToListAsync(cancellationToken)).Select(t => t.ToView())];

    public async Task<string?> ChangeStatusAsync(int id, string status, CancellationToken cancellationToken)
    {
        var task = await db.Tasks.FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (task is null)
        {
            return null;
        }

        var previous = task.Status;
        task.Status = status;
        await db.SaveChangesAsync(cancellationToken);
        return previous;
    }

    public Task<BomLine?> AddMaterialAsync(int taskId, string materialName, decimal quantity, string? unit, decimal? unitPrice, string? category, string addedBy, CancellationToken cancellationToken) =>
        AddMaterialAsync(db, taskId, materialName, quantity, unit, unitPrice, category, addedBy, cancellationToken);

    public async Task<(BomLine Before, BomLine After)?> SetQuantityAsync(int taskId, int lineId, decimal quantity, CancellationToken cancellationToken)
    {
        var line = await db.BomLines.FirstOrDefaultAsync(l => l.TaskId == taskId && l.Id == lineId, cancellationToken);
        if (line is null)
        {
            return null;
        }

        var before = line.ToLine();
        line.Quantity = quantity;
        await db.SaveChangesAsync(cancellationToken);
        return (before, line.ToLine());
    }

    public async Task<DispatchReport> DispatchAsync(BomTriggerEvent triggerEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(triggerEvent);

        // Enlisted in this context: the log rows and queued jobs are written in its current transaction, and the
        // actions below (IBomEditor, ...) get this same context through context.GetDbContext<SampleDbContext>().
        var report = await engine.DispatchAsync(db, triggerEvent, cancellationToken: cancellationToken);
        db.Set<TriggerRunEntity>().AddRange(TriggerRun.From(report).Select(r => new TriggerRunEntity
        {
            TaskId = triggerEvent.TaskId,
            EventType = r.EventType,
            TriggerId = r.TriggerId,
            TriggerName = r.TriggerName,
            ActionType = r.ActionType,
            Outcome = r.Outcome,
            Detail = r.Detail,
            Depth = r.Depth,
        }));
        await db.SaveChangesAsync(cancellationToken);
        return report;
    }

    // ----- The BomTriggers host interfaces: in a dispatch enlisted in a SampleDbContext, work in that context (the
    // caller's transaction); otherwise (a queued job run by a worker) in this scope's own context. -----

    async Task IBomEditor.AddMaterialAsync(AddMaterialRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        _ = await AddMaterialAsync(ContextOf(request.Context), request.TaskId, request.MaterialName, request.Quantity, request.Unit, null, request.Category, "trigger: " + request.Context.Trigger.Name, cancellationToken)
            ?? throw new InvalidOperationException($"Task {request.TaskId} does not exist.");
    }

    async Task<QuantityChange> IBomEditor.UpdateQuantityAsync(UpdateQuantityRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var context = ContextOf(request.Context);
        var task = await RequireTaskAsync(context, request.TaskId, cancellationToken);
        var line = task.Bom.FirstOrDefault(l => string.Equals(l.MaterialName, request.MaterialName, StringComparison.OrdinalIgnoreCase));
        decimal? previous = line?.Quantity;
        var current = Math.Max(0m, request.Quantity ?? ((previous ?? 0m) + (request.Delta ?? 0m)));
        if (line is not null)
        {
            line.Quantity = current;
        }
        else
        {
            var catalog = TaskCatalog.FindMaterial(request.MaterialName);
            task.Bom.Add(new BomLineEntity
            {
                MaterialName = request.MaterialName,
                Quantity = current,
                Unit = catalog?.Unit ?? "pcs",
                UnitPrice = catalog?.UnitPrice ?? 0m,
                Category = catalog?.Category,
                AddedBy = "trigger: " + request.Context.Trigger.Name,
            });
        }

        await context.SaveChangesAsync(cancellationToken);
        return new QuantityChange(previous, current);
    }

    async Task<int> IBomEditor.CopyBomAsync(CopyBomRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!TaskCatalog.Templates.TryGetValue(request.FromTaskTypeId, out var template))
        {
            throw new InvalidOperationException($"Task type {request.FromTaskTypeId} has no BOM template.");
        }

        var context = ContextOf(request.Context);
        var task = await RequireTaskAsync(context, request.TaskId, cancellationToken);
        if (request.ReplaceExisting)
        {
            context.Set<BomLineEntity>().RemoveRange(task.Bom);
            task.Bom.Clear();
            await context.SaveChangesAsync(cancellationToken);
        }

        foreach (var (material, quantity) in template)
        {
            await AddMaterialAsync(context, request.TaskId, material, quantity, null, null, null, "trigger: " + request.Context.Trigger.Name, cancellationToken);
        }

        return template.Count;
    }

    async Task<decimal> IBomCostCalculator.RecalculateAsync(CostRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var context = ContextOf(request.Context);
        var task = await RequireTaskAsync(context, request.TaskId, cancellationToken);
        task.Cost = task.Bom.Sum(l => l.Quantity * l.UnitPrice);
        task.CostCalculatedAt = timeProvider.GetUtcNow();
        await context.SaveChangesAsync(cancellationToken);
        return task.Cost.Value;
    }

    async Task IBomNotificationSender.SendAsync(BomNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var context = ContextOf(notification.Context);
        var task = await RequireTaskAsync(context, notification.TaskId, cancellationToken);
        task.Notifications.Add(new TaskNotificationEntity
        {
            Message = notification.Message,
            Recipients = [.. notification.Recipients],
            TriggerName = notification.Context.Trigger.Name,
            SentAt = timeProvider.GetUtcNow(),
        });
        await context.SaveChangesAsync(cancellationToken);
    }

    private SampleDbContext ContextOf(ActionContext context) =>
        context.Enlistment is DbContextEnlistment { DbContext: SampleDbContext enlisted } ? enlisted : db;

    private static IQueryable<TaskEntity> WithChildren(SampleDbContext context) =>
        context.Tasks.Include(t => t.Bom).Include(t => t.Notifications).Include(t => t.TriggerRuns).AsSplitQuery();

    private static async Task<TaskEntity> RequireTaskAsync(SampleDbContext context, int taskId, CancellationToken cancellationToken) =>
        await context.Tasks.Include(t => t.Bom).Include(t => t.Notifications).AsSplitQuery().FirstOrDefaultAsync(t => t.Id == taskId, cancellationToken)
            ?? throw new InvalidOperationException($"Task {taskId} does not exist.");

    /// <summary>
    /// Adds a material to a task's BOM, or raises the quantity of its line. Concurrent adds to one task are serialised by a
    /// row lock on the task (<c>SELECT ... FOR UPDATE</c>, held to the end of the transaction: the request's, or one of its
    /// own), and the line is read after the lock, so no add is lost and no material gets two lines (the unique index on
    /// <c>(task_id, lower(material_name))</c> guarantees the latter in the schema too).
    /// </summary>
    private static async Task<BomLine?> AddMaterialAsync(
        SampleDbContext context, int taskId, string materialName, decimal quantity, string? unit, decimal? unitPrice, string? category, string addedBy, CancellationToken cancellationToken)
    {
        var own = context.Database.CurrentTransaction is null ? await context.Database.BeginTransactionAsync(cancellationToken) : null;
        await using (own)
        {
            var locked = await context.Tasks
                .FromSql($"SELECT * FROM sample_tasks WHERE id = {taskId} FOR UPDATE")
                .AsNoTracking()
                .ToListAsync(cancellationToken);
            if (locked.Count == 0)
            {
                return null;
            }

            var catalog = TaskCatalog.FindMaterial(materialName);
            var name = materialName.ToLowerInvariant();
            var catalogName = (catalog?.Name ?? materialName).ToLowerInvariant();
#pragma warning disable CA1304, CA1311, CA1862 // Not run in .NET: translated to SQL lower(), the expression of the unique index.
            var line = await context.BomLines.FirstOrDefaultAsync(l => l.TaskId == taskId && (l.MaterialName.ToLower() == name || l.MaterialName.ToLower() == catalogName), cancellationToken);
#pragma warning restore CA1304, CA1311, CA1862
            if (line is not null)
            {
                // The line may have been tracked (read) before the lock, with another request's add not yet in it.
                await context.Entry(line).ReloadAsync(cancellationToken);
                line.Quantity += quantity;
            }
            else
            {
                line = new BomLineEntity
                {
                    TaskId = taskId,
                    MaterialName = catalog?.Name ?? materialName,
                    Quantity = quantity,
                    Unit = unit ?? catalog?.Unit ?? "pcs",
                    UnitPrice = unitPrice ?? catalog?.UnitPrice ?? 0m,
                    Category = category ?? catalog?.Category,
                    AddedBy = addedBy,
                };
                context.BomLines.Add(line);
            }

            await context.SaveChangesAsync(cancellationToken);
            if (own is not null)
            {
                await own.CommitAsync(cancellationToken);
            }

            return line.ToLine();
        }
    }

    private sealed class Change(IDbContextTransaction transaction) : ITaskChange
    {
        public Task CommitAsync(CancellationToken cancellationToken) => transaction.CommitAsync(cancellationToken);

        // Without a commit, disposing rolls back the task change, the actions' changes, the log rows and the jobs.
        public ValueTask DisposeAsync() => transaction.DisposeAsync();
    }
}
