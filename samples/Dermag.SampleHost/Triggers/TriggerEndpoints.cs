using Dermag.BomTriggers;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Dermag.SampleHost.Api;

namespace Dermag.SampleHost.Triggers;

/// <summary>
/// <c>/api/bom-triggers</c>: the original REST API over <see cref="IBomTriggerManager"/> and <see cref="IBomTriggerEngine"/>.
/// Invalid definitions get 400 with every error and its JSON Pointer path.
/// </summary>
public static class TriggerEndpoints
{
    public static RouteGroupBuilder MapTriggerEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/bom-triggers").WithTags("BOM triggers");

        group.MapGet("/", async (string? triggerEvent, bool? isActive, IBomTriggerManager store, CancellationToken ct) =>
            Envelope.Ok(await store.ListAsync(new BomTriggerQuery { TriggerEvent = triggerEvent, IsActive = isActive }, ct)))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("List triggers (filter by triggerEvent, isActive)");

        group.MapGet("/events", (IBomTriggerManager store) => Envelope.Ok(store.ListEvents()))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("The event types and the fields conditions may test");

        group.MapGet("/actions", (IBomTriggerManager store) => Envelope.Ok(store.ListActions()))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("The action types and their configuration fields");

        group.MapGet("/{id:int}", async (int id, IBomTriggerManager store, CancellationToken ct) =>
            await store.GetAsync(id, ct) is { } trigger ? Envelope.Ok(trigger) : Envelope.NotFound($"Trigger {id} not found."))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("One trigger");

        group.MapGet("/{id:int}/logs", async (int id, int? limit, int? offset, IBomTriggerManager store, CancellationToken ct) =>
        {
            if (await store.GetAsync(id, ct) is null)
            {
                return Envelope.NotFound($"Trigger {id} not found.");
            }

            return Envelope.Ok(await store.GetLogsAsync(id, limit ?? 50, offset ?? 0, ct));
        }).RequireAuthorization(Policies.ViewTriggers).WithSummary("A trigger's execution logs, newest first (limit, offset)");

        group.MapPost("/", async (JsonElement body, IBomTriggerManager store, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var (definition, shapeErrors) = TriggerJson.Read(body, BomTriggerDefinitionDefaults(user));
            var errors = shapeErrors.Concat(store.Validate(definition)).Distinct().ToList();
            if (errors.Count > 0)
            {
                return InvalidDefinition(errors);
            }

            var result = await store.CreateAsync(definition, ct);
            return result.Succeeded
                ? Envelope.Created($"/api/bom-triggers/{result.Trigger!.Id}", result.Trigger, "Trigger created.")
                : InvalidDefinition(result.Errors);
        }).RequireAuthorization(Policies.ManageTriggers).WithSummary("Create a trigger");

        group.MapPut("/{id:int}", async (int id, JsonElement body, IBomTriggerManager store, CancellationToken ct) =>
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

            var result = await store.UpdateAsync(id, definition, ct);
            return result switch
            {
                { NotFound: true } => Envelope.NotFound($"Trigger {id} not found."),
                { Succeeded: true } => Envelope.Ok(result.Trigger, "Trigger updated."),
                _ => InvalidDefinition(result.Errors),
            };
        }).RequireAuthorization(Policies.ManageTriggers).WithSummary("Update a trigger (properties left out keep their values)");

        group.MapDelete("/{id:int}", async (int id, IBomTriggerManager store, CancellationToken ct) =>
            await store.DeleteAsync(id, ct) ? Envelope.Ok(new { id }, "Trigger deleted.") : Envelope.NotFound($"Trigger {id} not found."))
            .RequireAuthorization(Policies.ManageTriggers).WithSummary("Delete a trigger and its logs");

        group.MapPatch("/{id:int}/toggle", async (int id, IBomTriggerManager store, CancellationToken ct) =>
            await store.ToggleAsync(id, ct) is { } trigger
                ? Envelope.Ok(trigger, trigger.IsActive ? "Trigger activated." : "Trigger deactivated.")
                : Envelope.NotFound($"Trigger {id} not found."))
            .RequireAuthorization(Policies.ManageTriggers).WithSummary("Activate or deactivate a trigger");

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

    private static BomTriggerDefinition BomTriggerDefinitionDefaults(ClaimsPrincipal user) => new()
    {
        CreatedBy = int.TryParse(user.FindFirstValue("sub") ?? user.FindFirstValue(ClaimTypes.NameIdentifier), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? id : null,
    };

    private static IResult InvalidDefinition(IReadOnlyList<TriggerValidationError> errors) =>
        Envelope.Invalid(
            "The trigger definition is invalid: " + string.Join("; ", errors.Select(e => e.ToString())),
            errors.Select(e => new { path = e.Path, message = e.Message }));
}
