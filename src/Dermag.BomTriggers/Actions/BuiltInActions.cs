using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers;

/// <summary>Shared plumbing of the five built-in actions.</summary>
internal abstract class BuiltInAction : IBomTriggerAction
{
    private static readonly string[] TaskFields = ["taskTypeCode", "taskNumber", "title", "status", "tags"];

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
        if (ConfigReader.IsObject(config, context))
        {
            ConfigReader.RejectUnknown(config, context.ConfigFields, context);
            Validate(config, context);
        }
    }

    public abstract Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken);

    protected abstract void Validate(JsonElement config, ActionConfigValidationContext context);

    protected static T Require<T>(ActionContext context, string actionType)
        where T : class =>
        context.Services.GetService<T>()
        ?? throw new BomTriggerException($"{actionType} needs an implementation of {typeof(T).Name} registered in the service collection.");

    /// <summary>The data of an event an action causes: the task fields of the event that caused it, plus <paramref name="extra"/>.</summary>
    internal static JsonObject TaskData(BomTriggerEvent source, JsonObject extra)
    {
        var data = new JsonObject { ["taskId"] = source.TaskId };
        if (source.TaskTypeId is { } typeId)
        {
            data["taskTypeId"] = typeId;
        }

        if (source.Data.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in TaskFields)
            {
                if (source.Data.TryGetProperty(name, out var value))
                {
                    data[name] = JsonNode.Parse(value.GetRawText());
                }
            }
        }

        foreach (var (key, value) in extra.ToList())
        {
            extra.Remove(key);
            data[key] = value;
        }

        return data;
    }

    protected static JsonElement Element(JsonObject node) => BomTriggerEvent.ToElement(node);
}

internal sealed class AddMaterialAction : BuiltInAction, IBomActionDescription
{
    public static string Description => "Adds a material to the task's BOM.";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } =
    [
        new("materialName", "string", true, "The material to add."),
        new("defaultQuantity", "number", true, "The quantity to add (positive)."),
        new("unit", "string", false, "The unit, for example m."),
        new("category", "string", false, "The material category, for example network."),
    ];

    public static IReadOnlyList<string> CausedEvents { get; } = [BomTriggerEvents.MaterialAdd];

    protected override void Validate(JsonElement config, ActionConfigValidationContext context)
    {
        ConfigReader.RequireString(config, "materialName", context);
        ConfigReader.CheckNumber(config, "defaultQuantity", required: true, q => q > 0, "a positive number", context);
        ConfigReader.OptionalString(config, "unit", context);
        ConfigReader.OptionalString(config, "category", context);
    }

    public override async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var editor = Require<IBomEditor>(context, BomTriggerActions.AddMaterial);
        var name = ConfigReader.String(context.Config, "materialName");
        var quantity = ConfigReader.Decimal(context.Config, "defaultQuantity")!.Value;
        var unit = ConfigReader.OptionalStringValue(context.Config, "unit");
        var category = ConfigReader.OptionalStringValue(context.Config, "category");
        await editor.AddMaterialAsync(new AddMaterialRequest(context.Event.TaskId, name, quantity, unit, category, context), cancellationToken).ConfigureAwait(false);

        var material = new JsonObject { ["name"] = name, ["category"] = category, ["unit"] = unit };
        var data = TaskData(context.Event, new JsonObject { ["materialName"] = name, ["quantity"] = quantity, ["unit"] = unit, ["material"] = material });
        return new ActionResult
        {
            Data = Element(new JsonObject { ["materialName"] = name, ["quantity"] = quantity, ["unit"] = unit, ["category"] = category }),
            CausedEvents = [new BomTriggerEvent(BomTriggerEvents.MaterialAdd, context.Event.TaskId, context.Event.TaskTypeId, Element(data))],
        };
    }
}

internal sealed class UpdateQuantityAction : BuiltInAction, IBomActionDescription
{
    public static string Description => "Sets (quantity) or changes (delta) a material's quantity on the task's BOM.";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } =
    [
        new("materialName", "string", true, "The material whose quantity changes."),
        new("quantity", "number", false, "The new quantity (zero or more); exactly one of quantity and delta."),
        new("delta", "number", false, "The change to apply (non-zero); exactly one of quantity and delta."),
    ];

    public static IReadOnlyList<string> CausedEvents { get; } = [BomTriggerEvents.QuantityChange];

    protected override void Validate(JsonElement config, ActionConfigValidationContext context)
    {
        ConfigReader.RequireString(config, "materialName", context);
        ConfigReader.CheckNumber(config, "quantity", required: false, q => q >= 0, "a number of zero or more", context);
        ConfigReader.CheckNumber(config, "delta", required: false, d => d != 0, "a non-zero number", context);
        if (config.TryGetProperty("quantity", out _) == config.TryGetProperty("delta", out _))
        {
            context.AddError(string.Empty, "set exactly one of quantity and delta");
        }
    }

    public override async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var editor = Require<IBomEditor>(context, BomTriggerActions.UpdateQuantity);
        var name = ConfigReader.String(context.Config, "materialName");
        var change = await editor.UpdateQuantityAsync(
            new UpdateQuantityRequest(context.Event.TaskId, name, ConfigReader.Decimal(context.Config, "quantity"), ConfigReader.Decimal(context.Config, "delta"), context),
            cancellationToken).ConfigureAwait(false);

        var data = TaskData(context.Event, new JsonObject { ["materialName"] = name, ["quantity"] = change.Current, ["material"] = new JsonObject { ["name"] = name } });
        return new ActionResult
        {
            Data = Element(new JsonObject { ["materialName"] = name, ["previousQuantity"] = change.Previous, ["quantity"] = change.Current }),
            CausedEvents =
            [
                new BomTriggerEvent(BomTriggerEvents.QuantityChange, context.Event.TaskId, context.Event.TaskTypeId, Element(data))
                {
                    PreviousValues = Element(new JsonObject { ["quantity"] = change.Previous }),
                },
            ],
        };
    }
}

internal sealed class CopyBomAction : BuiltInAction, IBomActionDescription
{
    public static string Description => "Copies the BOM template of another task type into the task's BOM.";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } =
    [
        new("fromTaskTypeId", "number", false, "The task type whose BOM is copied; defaults to the trigger's target_task_type_id."),
        new("replaceExisting", "boolean", false, "Replace the task's lines instead of adding to them (default false)."),
    ];

    public static IReadOnlyList<string> CausedEvents { get; } = [BomTriggerEvents.BomUpdate];

    protected override void Validate(JsonElement config, ActionConfigValidationContext context)
    {
        ConfigReader.CheckNumber(config, "fromTaskTypeId", required: false, id => id > 0 && id <= int.MaxValue && decimal.IsInteger(id), "a positive integer", context);
        if (!config.TryGetProperty("fromTaskTypeId", out _) && context.TargetTaskTypeId is null)
        {
            context.AddError("fromTaskTypeId", "is required when the trigger has no targetTaskTypeId");
        }

        if (config.TryGetProperty("replaceExisting", out var replace) && replace.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            context.AddError("replaceExisting", "expected a boolean");
        }
    }

    public override async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var editor = Require<IBomEditor>(context, BomTriggerActions.CopyBom);
        var from = ConfigReader.Decimal(context.Config, "fromTaskTypeId") is { } configured ? (int)configured : context.Trigger.TargetTaskTypeId!.Value;
        var replace = context.Config.TryGetProperty("replaceExisting", out var r) && r.ValueKind == JsonValueKind.True;
        var copied = await editor.CopyBomAsync(new CopyBomRequest(context.Event.TaskId, from, replace, context), cancellationToken).ConfigureAwait(false);
        var data = TaskData(context.Event, new JsonObject { ["itemCount"] = copied });
        return new ActionResult
        {
            Data = Element(new JsonObject { ["fromTaskTypeId"] = from, ["copiedLines"] = copied, ["replaceExisting"] = replace }),
            CausedEvents = [new BomTriggerEvent(BomTriggerEvents.BomUpdate, context.Event.TaskId, context.Event.TaskTypeId, Element(data))],
        };
    }
}

internal sealed class NotifyAction : BuiltInAction, IBomActionDescription
{
    public static string Description => "Sends a notification to the configured recipients.";

    public static IReadOnlyList<string> CausedEvents { get; } = [];

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } =
    [
        new("message", "string", true, "The notification text."),
        new("recipients", "string[]", true, "Roles or user names, for example manager, coordinator."),
    ];

    protected override void Validate(JsonElement config, ActionConfigValidationContext context)
    {
        ConfigReader.RequireString(config, "message", context);
        if (!config.TryGetProperty("recipients", out var recipients))
        {
            context.AddError("recipients", "is required");
        }
        else if (recipients.ValueKind != JsonValueKind.Array || recipients.GetArrayLength() == 0)
        {
            context.AddError("recipients", "expected a non-empty array of strings");
        }
        else
        {
            var index = 0;
            foreach (var recipient in recipients.EnumerateArray())
            {
                if (recipient.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(recipient.GetString()))
                {
                    context.AddError("recipients/" + index, "expected a non-empty string");
                }

                index++;
            }
        }
    }

    public override async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var sender = Require<IBomNotificationSender>(context, BomTriggerActions.Notify);
        var message = ConfigReader.String(context.Config, "message");
        string[] recipients = [.. context.Config.GetProperty("recipients").EnumerateArray().Select(e => e.GetString()!)];
        await sender.SendAsync(new BomNotification(context.Event.TaskId, message, recipients, context), cancellationToken).ConfigureAwait(false);
        return new ActionResult
        {
            Data = Element(new JsonObject { ["message"] = message, ["recipients"] = new JsonArray([.. recipients.Select(r => (JsonNode)r!)]) }),
        };
    }
}

internal sealed class CalculateCostAction : BuiltInAction, IBomActionDescription
{
    public static string Description => "Recalculates the task's BOM cost.";

    public static IReadOnlyList<string> CausedEvents { get; } = [];

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } = [];

    protected override void Validate(JsonElement config, ActionConfigValidationContext context)
    {
    }

    public override async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var calculator = Require<IBomCostCalculator>(context, BomTriggerActions.CalculateCost);
        var total = await calculator.RecalculateAsync(new CostRequest(context.Event.TaskId, context), cancellationToken).ConfigureAwait(false);
        return new ActionResult { Data = Element(new JsonObject { ["totalCost"] = total }) };
    }
}
