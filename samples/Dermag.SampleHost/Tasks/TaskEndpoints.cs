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
/// the change is made, so the seed triggers add the cable, record the notification and recalculate the cost. Each change
/// runs in one <see cref="ITaskChange"/>: on PostgreSQL the task change, the trigger actions' changes, the log rows and
/// the queued jobs commit together, or roll back together when the request fails before the commit.
/// </summary>
public static class TaskEndpoints
{
    public static RouteGroupBuilder MapTaskEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/tasks").WithTags("Tasks").RequireAuthorization();

        group.MapGet("/types", () => Envelope.Ok(new { taskTypes = TaskCatalog.TaskTypes, materials = TaskCatalog.Materials, statuses = TaskStatuses.All }))
            .WithSummary("Task types, the material catalog and the statuses");

        group.MapGet("/", async (ITaskBoard board, CancellationToken ct) => Envelope.Ok(await board.ListAsync(ct))).WithSummary("List tasks");

        group.MapGet("/{id:int}", async (int id, ITaskBoard board, CancellationToken ct) =>
            await board.GetAsync(id, ct) is { } task ? Envelope.Ok(task) : Envelope.NotFound($"Task {id} not found."))
            .WithSummary("A task with its BOM, cost, notifications and trigger runs");

        group.MapPost("/", async (CreateTaskRequest body, ITaskBoard board, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var errors = new List<object>();
            if (string.IsNullOrWhiteSpace(body.Title))
            {
                errors.Add(new { path = "/title", message = "is required" });
            }

            var type = TaskCatalog.FindType(body.TaskTypeCode);
            if (type is null)
            {
                errors.Add(new { path = "/taskTypeCode", message = $"must be one of {string.Join(", ", TaskCatalog.TaskTypes.Select(t => t.Code))}" });
            }

            if (errors.Count > 0 || type is null)
            {
                return Envelope.Invalid("The task is invalid.", errors);
            }

            await using var change = await board.BeginChangeAsync(ct);
            var task = await board.CreateAsync(body.Title!.Trim(), type, body.Tags ?? [], user.FindFirstValue("name") ?? "unknown", ct);
            await board.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.TaskCreate, task.Id, task.TaskTypeId, TaskCatalog.EventData(task)), ct);
            await change.CommitAsync(ct);
            return Envelope.Created($"/api/tasks/{task.Id}", await board.GetAsync(task.Id, ct), "Task created.");
        }).WithSummary("Create a task (fires ON_TASK_CREATE)");

        group.MapPut("/{id:int}/status", async (int id, ChangeStatusRequest body, ITaskBoard board, CancellationToken ct) =>
        {
            if (body.Status is null || !TaskStatuses.All.Contains(body.Status))
            {
                return Envelope.Invalid("The status is invalid.", new[] { new { path = "/status", message = $"must be one of {string.Join(", ", TaskStatuses.All)}" } });
            }

            await using var change = await board.BeginChangeAsync(ct);
            var previous = await board.ChangeStatusAsync(id, body.Status, ct);
            if (previous is null)
            {
                return Envelope.NotFound($"Task {id} not found.");
            }

            var task = (await board.GetAsync(id, ct))!;
            await board.DispatchAsync(
                BomTriggerEvent.Create(BomTriggerEvents.StatusChange, id, task.TaskTypeId, TaskCatalog.EventData(task), new JsonObject { ["status"] = previous }),
                ct);
            await change.CommitAsync(ct);
            return Envelope.Ok(await board.GetAsync(id, ct), $"Status changed from {previous} to {body.Status}.");
        }).WithSummary("Change a task's status (fires ON_STATUS_CHANGE with the previous status)");

        group.MapPost("/{id:int}/materials", async (int id, AddMaterialBody body, ITaskBoard board, ClaimsPrincipal user, CancellationToken ct) =>
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

            await using var change = await board.BeginChangeAsync(ct);
            var line = await board.AddMaterialAsync(id, body.MaterialName!.Trim(), body.Quantity!.Value, body.Unit, body.UnitPrice, body.Category, user.FindFirstValue("name") ?? "unknown", ct);
            if (line is null)
            {
                return Envelope.NotFound($"Task {id} not found.");
            }

            var task = (await board.GetAsync(id, ct))!;
            await board.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.MaterialAdd, id, task.TaskTypeId, TaskCatalog.MaterialEventData(task, line)), ct);
            await change.CommitAsync(ct);
            return Envelope.Ok(await board.GetAsync(id, ct), $"Added {body.Quantity} {line.Unit} of {line.MaterialName}.");
        }).WithSummary("Add a material to a task's BOM (fires ON_MATERIAL_ADD)");

        group.MapPut("/{id:int}/materials/{lineId:int}", async (int id, int lineId, ChangeQuantityRequest body, ITaskBoard board, CancellationToken ct) =>
        {
            if (body.Quantity is not >= 0)
            {
                return Envelope.Invalid("The quantity is invalid.", new[] { new { path = "/quantity", message = "must be zero or more" } });
            }

            await using var change = await board.BeginChangeAsync(ct);
            var lines = await board.SetQuantityAsync(id, lineId, body.Quantity.Value, ct);
            if (lines is null)
            {
                return Envelope.NotFound($"Task {id} or BOM line {lineId} not found.");
            }

            var task = (await board.GetAsync(id, ct))!;
            await board.DispatchAsync(
                BomTriggerEvent.Create(
                    BomTriggerEvents.QuantityChange,
                    id,
                    task.TaskTypeId,
                    TaskCatalog.MaterialEventData(task, lines.Value.After),
                    new JsonObject { ["quantity"] = lines.Value.Before.Quantity }),
                ct);
            await change.CommitAsync(ct);
            return Envelope.Ok(await board.GetAsync(id, ct), $"Quantity of {lines.Value.After.MaterialName} changed from {lines.Value.Before.Quantity} to {lines.Value.After.Quantity}.");
        }).WithSummary("Change the quantity of a BOM line (fires ON_QUANTITY_CHANGE with the previous quantity)");

        return group;
    }
}
