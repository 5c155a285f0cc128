using Dermag.BomTriggers;
using System.Globalization;

namespace Dermag.SampleHost.Tasks;

/// <summary>
/// The sample's task/BOM domain in memory, for the run without a database (ids restart with the process). It implements
/// the three host interfaces the BomTriggers built-in actions call (<see cref="IBomEditor"/>, <see cref="IBomCostCalculator"/>,
/// <see cref="IBomNotificationSender"/>), which is all an app has to write to let triggers change its data.
/// </summary>
public sealed class InMemoryTaskBoard(TimeProvider timeProvider, IBomTriggerEngine engine) : ITaskBoard, IBomEditor, IBomCostCalculator, IBomNotificationSender
{
    private static readonly Task<ITaskChange> NoChange = Task.FromResult<ITaskChange>(new NothingToRollBack());

    private readonly Lock _gate = new();
    private readonly Dictionary<int, TaskState> _tasks = [];
    private int _nextId;

    // ----- ITaskBoard: the in-memory board changes at once, so a change has nothing to commit or roll back -----

    public Task<ITaskChange> BeginChangeAsync(CancellationToken cancellationToken) => NoChange;

    public Task<TaskView> CreateAsync(string title, TaskType type, IReadOnlyList<string> tags, string createdBy, CancellationToken cancellationToken) =>
        Task.FromResult(Create(title, type, tags, createdBy));

    public Task<TaskView?> GetAsync(int id, CancellationToken cancellationToken) => Task.FromResult(Get(id));

    public Task<IReadOnlyList<TaskView>> ListAsync(CancellationToken cancellationToken) => Task.FromResult(List());

    public Task<string?> ChangeStatusAsync(int id, string status, CancellationToken cancellationToken) => Task.FromResult(ChangeStatus(id, status));

    public Task<BomLine?> AddMaterialAsync(int taskId, string materialName, decimal quantity, string? unit, decimal? unitPrice, string? category, string addedBy, CancellationToken cancellationToken) =>
        Task.FromResult(AddMaterial(taskId, materialName, quantity, unit, unitPrice, category, addedBy));

    public Task<(BomLine Before, BomLine After)?> SetQuantityAsync(int taskId, int lineId, decimal quantity, CancellationToken cancellationToken) =>
        Task.FromResult(SetQuantity(taskId, lineId, quantity));

    // Trigger failures are reported and logged by the engine, never thrown: the task change already happened.
    public async Task<DispatchReport> DispatchAsync(BomTriggerEvent triggerEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(triggerEvent);
        var report = await engine.DispatchAsync(triggerEvent, cancellationToken: cancellationToken);
        RecordRuns(triggerEvent.TaskId, report);
        return report;
    }

    private TaskView Create(string title, TaskType type, IReadOnlyList<string> tags, string createdBy)
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

    private TaskView? Get(int id)
    {
        lock (_gate)
        {
            return _tasks.TryGetValue(id, out var task) ? task.ToView() : null;
        }
    }

    private IReadOnlyList<TaskView> List()
    {
        lock (_gate)
        {
            return [.. _tasks.Values.OrderByDescending(t => t.Id).Select(t => t.ToView())];
        }
    }

    /// <summary>Sets the status; returns the previous status, or null when the task does not exist.</summary>
    private string? ChangeStatus(int id, string status)
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
    private BomLine? AddMaterial(int taskId, string materialName, decimal quantity, string? unit, decimal? unitPrice, string? category, string addedBy)
    {
        lock (_gate)
        {
            if (!_tasks.TryGetValue(taskId, out var task))
            {
                return null;
            }

            var catalog = TaskCatalog.FindMaterial(materialName);
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
    private (BomLine Before, BomLine After)? SetQuantity(int taskId, int lineId, decimal quantity)
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
    private void RecordRuns(int taskId, DispatchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        lock (_gate)
        {
            if (_tasks.TryGetValue(taskId, out var task))
            {
                task.TriggerRuns.AddRange(TriggerRun.From(report));
            }
        }
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
                var catalog = TaskCatalog.FindMaterial(request.MaterialName);
                task.Bom.Add(new BomLine(++task.NextLineId, request.MaterialName, current, catalog?.Unit ?? "pcs", catalog?.UnitPrice ?? 0m, catalog?.Category, "trigger: " + request.Context.Trigger.Name));
            }

            return Task.FromResult(new QuantityChange(previous, current));
        }
    }

    Task<int> IBomEditor.CopyBomAsync(CopyBomRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!TaskCatalog.Templates.TryGetValue(request.FromTaskTypeId, out var template))
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

    private sealed class NothingToRollBack : ITaskChange
    {
        public Task CommitAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
