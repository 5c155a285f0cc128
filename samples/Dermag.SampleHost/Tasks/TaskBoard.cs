using Dermag.BomTriggers;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Dermag.SampleHost.Tasks;

/// <summary>
/// The sample's task/BOM domain, in memory. It implements the three host interfaces the BomTriggers built-in actions
/// call (<see cref="IBomEditor"/>, <see cref="IBomCostCalculator"/>, <see cref="IBomNotificationSender"/>), which is
/// all an app has to write to let triggers change its data.
/// </summary>
public sealed class TaskBoard(TimeProvider timeProvider) : IBomEditor, IBomCostCalculator, IBomNotificationSender
{
    public static IReadOnlyList<TaskType> TaskTypes { get; } =
    [
        new(1, "LAN", "LAN installation"),
        new(2, "FIBER", "Fiber optic installation"),
        new(3, "CCTV", "CCTV installation"),
        new(4, "SERVICE", "Service visit"),
    ];

    public static IReadOnlyList<CatalogMaterial> Catalog { get; } =
    [
        new("Kabel UTP Cat6", "m", 2.80m, "network"),
        new("Złącze RJ45", "pcs", 0.90m, "network"),
        new("Patch panel 24p", "pcs", 120.00m, "network"),
        new("Kabel światłowodowy SM 12J", "m", 4.50m, "fiber"),
        new("Przełącznica światłowodowa", "pcs", 310.00m, "fiber"),
        new("Kamera IP", "pcs", 450.00m, "cctv"),
    ];

    /// <summary>The BOM templates <c>COPY_BOM</c> copies from, per task type id.</summary>
    public static IReadOnlyDictionary<int, IReadOnlyList<(string Material, decimal Quantity)>> Templates { get; } =
        new Dictionary<int, IReadOnlyList<(string, decimal)>>
        {
            [1] = [("Kabel UTP Cat6", 100m), ("Złącze RJ45", 24m), ("Patch panel 24p", 1m)],
            [2] = [("Kabel światłowodowy SM 12J", 200m), ("Przełącznica światłowodowa", 1m)],
            [3] = [("Kamera IP", 4m), ("Kabel UTP Cat6", 50m)],
        };

    private readonly Lock _gate = new();
    private readonly Dictionary<int, TaskState> _tasks = [];
    private int _nextId;

    public static TaskType? FindType(string? code) => TaskTypes.FirstOrDefault(t => string.Equals(t.Code, code, StringComparison.OrdinalIgnoreCase));

    public TaskView Create(string title, TaskType type, IReadOnlyList<string> tags, string createdBy)
    {
        lock (_gate)
        {
            var id = ++_nextId;
            var task = new TaskState
            {
                Id = id,
                TaskNumber = string.Create(CultureInfo.InvariantCulture, $"TASK-{id:D4}"),
                Title = title,
                Type = type,
                Status = TaskStatuses.New,
                Tags = [.. tags],
                CreatedBy = createdBy,
                CreatedAt = timeProvider.GetUtcNow(),
            };
            _tasks.Add(id, task);
            return task.ToView();
        }
    }

    public TaskView? Get(int id)
    {
        lock (_gate)
        {
            return _tasks.TryGetValue(id, out var task) ? task.ToView() : null;
        }
    }

    public IReadOnlyList<TaskView> List()
    {
        lock (_gate)
        {
            return [.. _tasks.Values.OrderByDescending(t => t.Id).Select(t => t.ToView())];
        }
    }

    /// <summary>Sets the status; returns the previous status, or null when the task does not exist.</summary>
    public string? ChangeStatus(int id, string status)
    {
        lock (_gate)
        {
            if (!_tasks.TryGetValue(id, out var task))
            {
                return null;
            }

            var previous = task.Status;
            task.Status = status;
            return previous;
        }
    }

    /// <summary>Adds a material (merging into an existing line of the same material); null when the task does not exist.</summary>
    public BomLine? AddMaterial(int taskId, string materialName, decimal quantity, string? unit, decimal? unitPrice, string? category, string addedBy)
    {
        lock (_gate)
        {
            if (!_tasks.TryGetValue(taskId, out var task))
            {
                return null;
            }

            var catalog = Catalog.FirstOrDefault(m => string.Equals(m.Name, materialName, StringComparison.OrdinalIgnoreCase));
            var index = task.Bom.FindIndex(l => string.Equals(l.MaterialName, materialName, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                var existing = task.Bom[index];
                task.Bom[index] = existing with { Quantity = existing.Quantity + quantity };
                return task.Bom[index];
            }

            var line = new BomLine(
                ++task.NextLineId,
                catalog?.Name ?? materialName,
                quantity,
                unit ?? catalog?.Unit ?? "pcs",
                unitPrice ?? catalog?.UnitPrice ?? 0m,
                category ?? catalog?.Category,
                addedBy);
            task.Bom.Add(line);
            return line;
        }
    }

    /// <summary>Sets a line's quantity; returns the line before and after, or null when the task or line does not exist.</summary>
    public (BomLine Before, BomLine After)? SetQuantity(int taskId, int lineId, decimal quantity)
    {
        lock (_gate)
        {
            if (!_tasks.TryGetValue(taskId, out var task))
            {
                return null;
            }

            var index = task.Bom.FindIndex(l => l.Id == lineId);
            if (index < 0)
            {
                return null;
            }

            var before = task.Bom[index];
            task.Bom[index] = before with { Quantity = quantity };
            return (before, task.Bom[index]);
        }
    }

    /// <summary>Remembers what the engine did for this task, so the page can show why a trigger did or did not fire.</summary>
    public void RecordRuns(int taskId, DispatchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        lock (_gate)
        {
            if (_tasks.TryGetValue(taskId, out var task))
            {
                task.TriggerRuns.AddRange(report.Outcomes.Select(o => new TriggerRun(
                    o.EventType,
                    o.TriggerId,
                    o.TriggerName,
                    o.ActionType,
                    o.Kind.ToString(),
                    o.Error ?? o.FailedClause?.ToString(),
                    o.Depth)));
            }
        }
    }

    /// <summary>The data conditions see for a task event: the task fields of the library's event catalog.</summary>
    public static JsonObject EventData(TaskView task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return new JsonObject
        {
            ["taskId"] = task.Id,
            ["taskTypeId"] = task.TaskTypeId,
            ["taskTypeCode"] = task.TaskTypeCode,
            ["taskNumber"] = task.TaskNumber,
            ["title"] = task.Title,
            ["status"] = task.Status,
            ["tags"] = new JsonArray([.. task.Tags.Select(t => (JsonNode?)JsonValue.Create(t))]),
        };
    }

    /// <summary>The data of a material event: the task fields plus the material fields.</summary>
    public static JsonObject MaterialEventData(TaskView task, BomLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var data = EventData(task);
        data["materialName"] = line.MaterialName;
        data["quantity"] = line.Quantity;
        data["unit"] = line.Unit;
        data["material"] = new JsonObject
        {
            ["name"] = line.MaterialName,
            ["category"] = line.Category,
            ["unit"] = line.Unit,
            ["unitPrice"] = line.UnitPrice,
        };
        return data;
    }

    // ----- The BomTriggers host interfaces -----

    Task IBomEditor.AddMaterialAsync(AddMaterialRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        _ = AddMaterial(request.TaskId, request.MaterialName, request.Quantity, request.Unit, null, request.Category, "trigger: " + request.Context.Trigger.Name)
            ?? throw new InvalidOperationException($"Task {request.TaskId} does not exist.");
        return Task.CompletedTask;
    }

    Task<QuantityChange> IBomEditor.UpdateQuantityAsync(UpdateQuantityRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var task = _tasks.GetValueOrDefault(request.TaskId) ?? throw new InvalidOperationException($"Task {request.TaskId} does not exist.");
            var index = task.Bom.FindIndex(l => string.Equals(l.MaterialName, request.MaterialName, StringComparison.OrdinalIgnoreCase));
            decimal? previous = index >= 0 ? task.Bom[index].Quantity : null;
            var current = Math.Max(0m, request.Quantity ?? ((previous ?? 0m) + (request.Delta ?? 0m)));
            if (index >= 0)
            {
                task.Bom[index] = task.Bom[index] with { Quantity = current };
            }
            else
            {
                var catalog = Catalog.FirstOrDefault(m => string.Equals(m.Name, request.MaterialName, StringComparison.OrdinalIgnoreCase));
                task.Bom.Add(new BomLine(++task.NextLineId, request.MaterialName, current, catalog?.Unit ?? "pcs", catalog?.UnitPrice ?? 0m, catalog?.Category, "trigger: " + request.Context.Trigger.Name));
            }

            return Task.FromResult(new QuantityChange(previous, current));
        }
    }

    Task<int> IBomEditor.CopyBomAsync(CopyBomRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Templates.TryGetValue(request.FromTaskTypeId, out var template))
        {
            throw new InvalidOperationException($"Task type {request.FromTaskTypeId} has no BOM template.");
        }

        lock (_gate)
        {
            var task = _tasks.GetValueOrDefault(request.TaskId) ?? throw new InvalidOperationException($"Task {request.TaskId} does not exist.");
            if (request.ReplaceExisting)
            {
                task.Bom.Clear();
            }
        }

        foreach (var (material, quantity) in template)
        {
            AddMaterial(request.TaskId, material, quantity, null, null, null, "trigger: " + request.Context.Trigger.Name);
        }

        return Task.FromResult(template.Count);
    }

    Task<decimal> IBomCostCalculator.RecalculateAsync(CostRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            var task = _tasks.GetValueOrDefault(request.TaskId) ?? throw new InvalidOperationException($"Task {request.TaskId} does not exist.");
            task.Cost = task.Bom.Sum(l => l.LineCost);
            task.CostCalculatedAt = timeProvider.GetUtcNow();
            return Task.FromResult(task.Cost.Value);
        }
    }

    Task IBomNotificationSender.SendAsync(BomNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        lock (_gate)
        {
            var task = _tasks.GetValueOrDefault(notification.TaskId) ?? throw new InvalidOperationException($"Task {notification.TaskId} does not exist.");
            task.Notifications.Add(new TaskNotification(notification.Message, [.. notification.Recipients], notification.Context.Trigger.Name, timeProvider.GetUtcNow()));
        }

        return Task.CompletedTask;
    }

    private sealed class TaskState
    {
        public required int Id { get; init; }

        public required string TaskNumber { get; init; }

        public required string Title { get; init; }

        public required TaskType Type { get; init; }

        public required string Status { get; set; }

        public required List<string> Tags { get; init; }

        public List<BomLine> Bom { get; } = [];

        public int NextLineId { get; set; }

        public decimal? Cost { get; set; }

        public DateTimeOffset? CostCalculatedAt { get; set; }

        public List<TaskNotification> Notifications { get; } = [];

        public List<TriggerRun> TriggerRuns { get; } = [];

        public required string CreatedBy { get; init; }

        public required DateTimeOffset CreatedAt { get; init; }

        public TaskView ToView() => new()
        {
            Id = Id,
            TaskNumber = TaskNumber,
            Title = Title,
            TaskTypeId = Type.Id,
            TaskTypeCode = Type.Code,
            Status = Status,
            Tags = [.. Tags],
            Bom = [.. Bom],
            Cost = Cost,
            CurrentBomValue = Bom.Sum(l => l.LineCost),
            CostCalculatedAt = CostCalculatedAt,
            Notifications = [.. Notifications],
            TriggerRuns = [.. TriggerRuns],
            CreatedBy = CreatedBy,
            CreatedAt = CreatedAt,
        };
    }
}
