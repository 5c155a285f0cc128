namespace Dermag.SampleHost.Tasks.Postgres;

// EF Core rows of the sample's tables (Migrations/0001_create_sample_tasks.sql); the API returns TaskView.
internal sealed class TaskEntity
{
    public int Id { get; set; }

    public required string Title { get; set; }

    public int TaskTypeId { get; set; }

    public required string Status { get; set; }

    public string[] Tags { get; set; } = [];

    public decimal? Cost { get; set; }

    public DateTimeOffset? CostCalculatedAt { get; set; }

    public required string CreatedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public List<BomLineEntity> Bom { get; } = [];

    public List<TaskNotificationEntity> Notifications { get; } = [];

    public List<TriggerRunEntity> TriggerRuns { get; } = [];

    public TaskView ToView()
    {
        var type = TaskCatalog.TypeById(TaskTypeId);
        var bom = Bom.OrderBy(l => l.Id).Select(l => l.ToLine()).ToList();
        return new TaskView
        {
            Id = Id,
            TaskNumber = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"TASK-{Id:D4}"),
            Title = Title,
            TaskTypeId = type.Id,
            TaskTypeCode = type.Code,
            Status = Status,
            Tags = [.. Tags],
            Bom = bom,
            Cost = Cost,
            CurrentBomValue = bom.Sum(l => l.LineCost),
            CostCalculatedAt = CostCalculatedAt,
            Notifications = [.. Notifications.OrderBy(n => n.Id).Select(n => new TaskNotification(n.Message, n.Recipients, n.TriggerName, n.SentAt))],
            TriggerRuns = [.. TriggerRuns.OrderBy(r => r.Id).Select(r => new TriggerRun(r.EventType, r.TriggerId, r.TriggerName, r.ActionType, r.Outcome, r.Detail, r.Depth))],
            CreatedBy = CreatedBy,
            CreatedAt = CreatedAt,
        };
    }
}

internal sealed class BomLineEntity
{
    public int Id { get; set; }

    public int TaskId { get; set; }

    public required string MaterialName { get; set; }

    public decimal Quantity { get; set; }

    public required string Unit { get; set; }

    public decimal UnitPrice { get; set; }

    public string? Category { get; set; }

    public required string AddedBy { get; set; }

    public BomLine ToLine() => new(Id, MaterialName, Quantity, Unit, UnitPrice, Category, AddedBy);
}

internal sealed class TaskNotificationEntity
{
    public int Id { get; set; }

    public int TaskId { get; set; }

    public required string Message { get; set; }

    public string[] Recipients { get; set; } = [];

    public required string TriggerName { get; set; }

    public DateTimeOffset SentAt { get; set; }
}

internal sealed class TriggerRunEntity
{
    public int Id { get; set; }

    public int TaskId { get; set; }

    public required string EventType { get; set; }

    public int TriggerId { get; set; }

    public required string TriggerName { get; set; }

    public required string ActionType { get; set; }

    public required string Outcome { get; set; }

    public string? Detail { get; set; }

    public int Depth { get; set; }
}
