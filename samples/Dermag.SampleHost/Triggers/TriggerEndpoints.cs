using Dermag.BomTriggers;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Dermag.SampleHost.Api;

namespace Dermag.SampleHost.Triggers;

/// <summary>
/// <c>/api/bom-triggers</c>: the original REST API over <see cref="IBomTriggerManager"/> and <see cref="IBomTriggerEngine"/>.
/// Invalid definitions get 400 with every error and its JSON Pointer path. Every change is recorded in the trigger's
/// history with the logged-in user (the JWT <c>sub</c>) as its author; deletes are soft, as in the original.
/// </summary>
public static class TriggerEndpoints
{
    public static RouteGroupBuilder MapTriggerEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/bom-triggers").WithTags("BOM triggers");

        group.MapGet("/", async (string? triggerEvent, bool? isActive, bool? deleted, IBomTriggerManager store, CancellationToken ct) =>
            Envelope.Ok(await store.ListAsync(new BomTriggerQuery { TriggerEvent = triggerEvent, IsActive = isActive, Deleted = deleted ?? false }, ct)))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("List triggers (filter by triggerEvent, isActive; deleted=true lists deleted triggers)");

        group.MapGet("/events", (IBomTriggerManager store) => Envelope.Ok(store.ListEvents()))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("The event types and the fields conditions may test");

        group.MapGet("/actions", (IBomTriggerManager store) => Envelope.Ok(store.ListActions()))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("The action types and their configuration fields");

        group.MapGet("/{id:int}", async (int id, IBomTriggerManager store, CancellationToken ct) =>
            await store.GetAsync(id, ct) is { } trigger ? Envelope.Ok(trigger) : Envelope.NotFound($"Trigger {id} not found."))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("One trigger");

        group.MapGet("/{id:int}/logs", async (int id, int? limit, int? offset, IBomTriggerManager store, CancellationToken ct) =>
        {
            // A deleted trigger keeps its logs: only an id the library never stored is unknown.
            if (await store.GetAsync(id, ct) is null && (await store.GetHistoryAsync(id, 1, 0, ct)).Total == 0)
            {
                return Envelope.NotFound($"Trigger {id} not found.");
            }

            return Envelope.Ok(await store.GetLogsAsync(id, limit ?? 50, offset ?? 0, ct));
        }).RequireAuthorization(Policies.ViewTriggers).WithSummary("A trigger's execution logs, newest first (limit, offset); deleted triggers keep theirs");

        group.MapGet("/{id:int}/history", async (int id, int? limit, int? offset, IBomTriggerManager store, CancellationToken ct) =>
        {
            var history = await store.GetHistoryAsync(id, limit ?? 50, offset ?? 0, ct);
            return history.Total == 0 ? Envelope.NotFound($"Trigger {id} not found.") : Envelope.Ok(history);
        }).RequireAuthorization(Policies.ViewTriggers).WithSummary("A trigger's versions, newest first (limit, offset): change, author, time, definition after and before");

        group.MapPost("/{id:int}/restore/{version:int}", async (int id, int version, IBomTriggerManager store, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var result = await store.RestoreAsync(id, version, UserId(user), ct);
            return result switch
            {
                { Succeeded: true } => Envelope.Ok(result.Trigger, $"Version {version} restored as version {result.Trigger!.Version}."),
                { NotFound: true } => Envelope.NotFound(result.Errors[0].Path == "/version" ? $"Trigger {id} has no version {version}." : $"Trigger {id} not found."),
                _ => Envelope.Invalid(
                    $"Version {version} of trigger {id} is not valid today: " + string.Join("; ", result.Errors.Select(e => e.ToString())),
                    result.Errors.Select(e => new { path = e.Path, message = e.Message })),
            };
        }).RequireAuthorization(Policies.ManageTriggers).WithSummary("Write an earlier version back as a new one (undeletes a deleted trigger); 400 when it is no longer valid");

        group.MapPost("/", async (JsonElement body, IBomTriggerManager store, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var (definition, shapeErrors) = TriggerJson.Read(body, BomTriggerDefinitionDefaults(user));
            var errors = shapeErrors.Concat(store.Validate(definition)).Distinct().ToList();
            if (errors.Count > 0)
            {
                return InvalidDefinition(errors);
            }

            var result = await store.CreateAsync(definition, UserId(user), ct);
            return result.Succeeded
                ? Envelope.Created($"/api/bom-triggers/{result.Trigger!.Id}", result.Trigger, "Trigger created.")
                : InvalidDefinition(result.Errors);
        }).RequireAuthorization(Policies.ManageTriggers).WithSummary("Create a trigger");

        group.MapPut("/{id:int}", async (int id, JsonElement body, IBomTriggerManager store, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var existing = await store.GetAsync(id, ct);
            if (existing is null)
            {
                return Envelope.NotFound($"Trigger {id} not found.");
            }

            // Properties left out keep their stored values, as in the original's update.
            var (definition, shapeErrors) = TriggerJson.Read(body, BomTriggerDefinition.From(existing));
            var errors = shapeErrors.Concat(store.Validate(definition)).Distinct().ToList();
            if (errors.Count > 0)
            {
                return InvalidDefinition(errors);
            }

            var result = await store.UpdateAsync(id, definition, UserId(user), ct);
            return result switch
            {
                { NotFound: true } => Envelope.NotFound($"Trigger {id} not found."),
                { Succeeded: true } => Envelope.Ok(result.Trigger, "Trigger updated."),
                _ => InvalidDefinition(result.Errors),
            };
        }).RequireAuthorization(Policies.ManageTriggers).WithSummary("Update a trigger (properties left out keep their values)");

        group.MapDelete("/{id:int}", async (int id, IBomTriggerManager store, ClaimsPrincipal user, CancellationToken ct) =>
            await store.DeleteAsync(id, UserId(user), ct) ? Envelope.Ok(new { id }, "Trigger deleted.") : Envelope.NotFound($"Trigger {id} not found."))
            .RequireAuthorization(Policies.ManageTriggers).WithSummary("Delete a trigger (soft: its logs and history stay, and restore brings it back)");

        // PATCH is the natural verb; the original API's clients send POST, so both are mapped to the same handler.
        group.MapMethods("/{id:int}/toggle", [HttpMethods.Patch, HttpMethods.Post], async (int id, IBomTriggerManager store, ClaimsPrincipal user, CancellationToken ct) =>
            await store.ToggleAsync(id, UserId(user), ct) is { } trigger
                ? Envelope.Ok(trigger, trigger.IsActive ? "Trigger activated." : "Trigger deactivated.")
                : Envelope.NotFound($"Trigger {id} not found."))
            .RequireAuthorization(Policies.ManageTriggers).WithSummary("Activate or deactivate a trigger (PATCH, or POST as the original API's clients send)");

        group.MapPost("/{id:int}/test", async (int id, JsonElement body, IBomTriggerEngine engine, CancellationToken ct) =>
        {
            if (!TriggerJson.TryReadTestRequest(body, out var request, out var errors))
            {
                return InvalidDefinition(errors);
            }

            var result = await engine.TestAsync(id, request, ct);
            return result.Found ? Envelope.Ok(result, result.WouldExecute ? "The trigger would run." : "The trigger would not run.") : Envelope.NotFound($"Trigger {id} not found.");
        }).RequireAuthorization(Policies.TestTriggers).WithSummary("Dry run: would the trigger fire for testData? Executes nothing");

        group.MapPost("/test", async (JsonElement body, IBomTriggerEngine engine, ClaimsPrincipal user, CancellationToken ct) =>
        {
            if (!TriggerJson.TryReadTestRequest(body, out var request, out var errors))
            {
                return InvalidDefinition(errors);
            }

            var triggerJson = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("trigger", out var t) ? t : default;
            var (definition, shapeErrors) = TriggerJson.Read(triggerJson, BomTriggerDefinitionDefaults(user), "/trigger");
            if (shapeErrors.Count > 0)
            {
                return InvalidDefinition(shapeErrors);
            }

            var result = await engine.TestAsync(definition, request, ct);
            return Envelope.Ok(result, result.WouldExecute ? "The trigger would run." : "The trigger would not run.");
        }).RequireAuthorization(Policies.TestTriggers).WithSummary("Dry run of an unsaved trigger ({ trigger, testData })");

        return group;
    }

    private static BomTriggerDefinition BomTriggerDefinitionDefaults(ClaimsPrincipal user) => new() { CreatedBy = UserId(user) };

    /// <summary>The logged-in user's id (the JWT <c>sub</c>), the author recorded in the trigger history.</summary>
    private static int? UserId(ClaimsPrincipal user) =>
        int.TryParse(user.FindFirstValue("sub") ?? user.FindFirstValue(ClaimTypes.NameIdentifier), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? id : null;

    private static IResult InvalidDefinition(IReadOnlyList<TriggerValidationError> errors) =>
        Envelope.Invalid(
            "The trigger definition is invalid: " + string.Join("; ", errors.Select(e => e.ToString())),
            errors.Select(e => new { path = e.Path, message = e.Message }));
}
