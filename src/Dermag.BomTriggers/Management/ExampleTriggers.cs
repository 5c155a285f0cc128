using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>The original system's three seed triggers, with stable uuids so seeding is idempotent.</summary>
internal static class ExampleTriggers
{
    public static readonly Guid UtpCableUuid = new("6d7b3c1e-0f51-4c43-9a5e-2b1d7f6a0001");
    public static readonly Guid NotifyCompletionUuid = new("6d7b3c1e-0f51-4c43-9a5e-2b1d7f6a0002");
    public static readonly Guid RecalculateCostUuid = new("6d7b3c1e-0f51-4c43-9a5e-2b1d7f6a0003");

    public static IReadOnlyList<(Guid Uuid, BomTriggerDefinition Definition)> All { get; } =
    [
        (UtpCableUuid, new BomTriggerDefinition
        {
            Name = "Auto-add UTP cable to LAN tasks",
            Description = "Automatically adds UTP Cat6 cable when a LAN task is created",
            TriggerEvent = BomTriggerEvents.TaskCreate,
            TriggerCondition = Json("""{"taskTypeCode":"LAN"}"""),
            ActionType = BomTriggerActions.AddMaterial,
            ActionConfig = Json("""{"materialName":"Kabel UTP Cat6","defaultQuantity":100,"unit":"m","category":"network"}"""),
            Priority = 10,
        }),
        (NotifyCompletionUuid, new BomTriggerDefinition
        {
            Name = "Notify on task completion",
            Description = "Sends a notification when a task is completed",
            TriggerEvent = BomTriggerEvents.StatusChange,
            TriggerCondition = Json("""{"status":"completed"}"""),
            ActionType = BomTriggerActions.Notify,
            ActionConfig = Json("""{"message":"Task has been completed","recipients":["manager","coordinator"]}"""),
            Priority = 5,
        }),
        (RecalculateCostUuid, new BomTriggerDefinition
        {
            Name = "Recalculate cost after material add",
            Description = "Recalculates the BOM cost whenever a material is added",
            TriggerEvent = BomTriggerEvents.MaterialAdd,
            TriggerCondition = Json("{}"),
            ActionType = BomTriggerActions.CalculateCost,
            ActionConfig = Json("{}"),
            Priority = 8,
        }),
    ];

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
