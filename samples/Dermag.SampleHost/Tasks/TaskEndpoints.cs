using System.Security.Claims;
using System.Text.Json.Nodes;
using Dermag.BomTriggers;
using Dermag.SampleHost.Api;

namespace Dermag.SampleHost.Tasks;

/// <summary>Body of <c>POST /api/tasks</c>.</summary>
public sealed record CreateTaskRequest(string? Title, string? TaskTypeCode, IReadOnlyList<string>? Tags);

/// <summary>Body of <c>PUT /api/tasks/{id}/status</c>.</summary>
public sealed record ChangeStatusRequest(string? Status);

/// <summary>Body of <c>POST /api/tasks/{id}/materials</c>.</summary>
public sealed record AddMaterialBody(string? MaterialName, decimal? Quantity, string? Unit, decimal? UnitPrice, string? Category);

/// <summary>Body of <c>PUT /api/tasks/{id}/materials/{lineId}</c>.</summary>
public sealed record ChangeQuantityRequest(decimal? Quantity);

/// <summary>
/// <c>/api/tasks</c>: every change raises the matching BomTriggers event through <see cref="IBomTriggerEngine"/>, after
/// the change is made, so the seed triggers add the cable, record the notification and recalculate the cost.
/// </summary>
public static class TaskEndpoints
{
    public static RouteGroupBuilder MapTaskEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks").WithTags("Tasks").RequireAuthorization();

        group.MapGet("/types", () => Envelope.Ok(new { taskTypes = TaskBoard.TaskTypes, materials = TaskBoard.Catalog, statuses = TaskStatuses.All }))
            .WithSummary("Task types, the material catalog and the statuses");

        group.MapGet("/", (TaskBoard board) => Envelope.Ok(board.List())).WithSummary("List tasks");

        group.MapGet("/{id:int}", (int id, TaskBoard board) =>
            board.Get(id) is { } task ? Envelope.Ok(task) : Envelope.NotFound($"Task {id} not found."))
            .WithSummary("A task with its BOM, cost, notifications and trigger runs");

        group.MapPost("/", async (CreateTaskRequest body, TaskBoard board, IBomTriggerEngine engine, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var errors = new List<object>();
            if (string.IsNullOrWhiteSpace(body.Title))
            {
                errors.Add(new { path = "/title", message = "is required" });
            }

            var type = TaskBoard.FindType(body.TaskTypeCode);
            if (type is null)
            {
                errors.Add(new { path = "/taskTypeCode", message = $"must be one of {string.Join(", ", TaskBoard.TaskTypes.Select(t => t.Code))}" });
            }

            if (errors.Count > 0 || type is null)
            {
                return Envelope.Invalid("The task is invalid.", errors);
            }

            var task = board.Create(body.Title!.Trim(), type, body.Tags ?? [], user.FindFirstValue("name") ?? "unknown");
            await DispatchAsync(board, engine, BomTriggerEvent.Create(BomTriggerEvents.TaskCreate, task.Id, task.TaskTypeId, TaskBoard.EventData(task)), ct);
            return Envelope.Created($"/api/tasks/{task.Id}", board.Get(task.Id), "Task created.");
        }).WithSummary("Create a task (fires ON_TASK_CREATE)");

        group.MapPut("/{id:int}/status", async (int id, ChangeStatusRequest body, TaskBoard board, IBomTriggerEngine engine, CancellationToken ct) =>
        {
            if (body.Status is null || !TaskStatuses.All.Contains(body.Status))
            {
                return Envelope.Invalid("The status is invalid.", new[] { new { path = "/status", message = $"must be one of {string.Join(", ", TaskStatuses.All)}" } });
            }

            var previous = board.ChangeStatus(id, body.Status);
            if (previous is null)
            {
                return Envelope.NotFound($"Task {id} not found.");
            }

            var task = board.Get(id)!;
            await DispatchAsync(
                board,
                engine,
                BomTriggerEvent.Create(BomTriggerEvents.StatusChange, id, task.TaskTypeId, TaskBoard.EventData(task), new JsonObject { ["status"] = previous }),
                ct);
            return Envelope.Ok(board.Get(id), $"Status changed from {previous} to {body.Status}.");
        }).WithSummary("Change a task's status (fires ON_STATUS_CHANGE with the previous status)");

        group.MapPost("/{id:int}/materials", async (int id, AddMaterialBody body, TaskBoard board, IBomTriggerEngine engine, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var errors = new List<object>();
            if (string.IsNullOrWhiteSpace(body.MaterialName))
            {
                errors.Add(new { path = "/materialName", message = "is required" });
            }

            if (body.Quantity is not > 0)
            {
                errors.Add(new { path = "/quantity", message = "must be a positive number" });
            }

            if (body.UnitPrice is < 0)
            {
                errors.Add(new { path = "/unitPrice", message = "must be zero or more" });
            }

            if (errors.Count > 0)
            {
                return Envelope.Invalid("The material is invalid.", errors);
            }

            var line = board.AddMaterial(id, body.MaterialName!.Trim(), body.Quantity!.Value, body.Unit, body.UnitPrice, body.Category, user.FindFirstValue("name") ?? "unknown");
            if (line is null)
            {
                return Envelope.NotFound($"Task {id} not found.");
            }

            var task = board.Get(id)!;
            await DispatchAsync(board, engine, BomTriggerEvent.Create(BomTriggerEvents.MaterialAdd, id, task.TaskTypeId, TaskBoard.MaterialEventData(task, line)), ct);
            return Envelope.Ok(board.Get(id), $"Added {body.Quantity} {line.Unit} of {line.MaterialName}.");
        }).WithSummary("Add a material to a task's BOM (fires ON_MATERIAL_ADD)");

        group.MapPut("/{id:int}/materials/{lineId:int}", async (int id, int lineId, ChangeQuantityRequest body, TaskBoard board, IBomTriggerEngine engine, CancellationToken ct) =>
        {
            if (body.Quantity is not >= 0)
            {
                return Envelope.Invalid("The quantity is invalid.", new[] { new { path = "/quantity", message = "must be zero or more" } });
            }

            var change = board.SetQuantity(id, lineId, body.Quantity.Value);
            if (change is null)
            {
                return Envelope.NotFound($"Task {id} or BOM line {lineId} not found.");
            }

            var task = board.Get(id)!;
            await DispatchAsync(
                board,
                engine,
                BomTriggerEvent.Create(
                    BomTriggerEvents.QuantityChange,
                    id,
                    task.TaskTypeId,
                    TaskBoard.MaterialEventData(task, change.Value.After),
                    new JsonObject { ["quantity"] = change.Value.Before.Quantity }),
                ct);
            return Envelope.Ok(board.Get(id), $"Quantity of {change.Value.After.MaterialName} changed from {change.Value.Before.Quantity} to {change.Value.After.Quantity}.");
        }).WithSummary("Change the quantity of a BOM line (fires ON_QUANTITY_CHANGE with the previous quantity)");

        return group;
    }

    // Trigger failures are reported and logged by the engine, never thrown: the task change already happened.
    private static async Task DispatchAsync(TaskBoard board, IBomTriggerEngine engine, BomTriggerEvent triggerEvent, CancellationToken ct)
    {
        var report = await engine.DispatchAsync(triggerEvent, cancellationToken: ct);
        board.RecordRuns(triggerEvent.TaskId, report);
    }
}
