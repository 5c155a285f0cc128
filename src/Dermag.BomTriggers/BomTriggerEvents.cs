namespace Dermag.BomTriggers;

/// <summary>The five event types of the original system.</summary>
public static class BomTriggerEvents
{
    /// <summary>A task was created.</summary>
    public const string TaskCreate = "ON_TASK_CREATE";

    /// <summary>A task's status changed (previous values carry the old status).</summary>
    public const string StatusChange = "ON_STATUS_CHANGE";

    /// <summary>A task's BOM changed as a whole (for example after <c>COPY_BOM</c>).</summary>
    public const string BomUpdate = "ON_BOM_UPDATE";

    /// <summary>A material was added to a task's BOM.</summary>
    public const string MaterialAdd = "ON_MATERIAL_ADD";

    /// <summary>A material's quantity changed (previous values carry the old quantity).</summary>
    public const string QuantityChange = "ON_QUANTITY_CHANGE";

    /// <summary>
    /// A tick of a trigger's own schedule (<see cref="BomTriggerExecution.Schedule"/>, a cron expression): raised by the
    /// library's scheduler, once per tick across all app instances, never dispatched by the host. The data carries
    /// <c>scheduledAt</c> (the tick, ISO 8601 UTC); the task id is 0.
    /// </summary>
    public const string Schedule = "ON_SCHEDULE";

    /// <summary>All five, in the original's order.</summary>
    public static IReadOnlyList<string> All { get; } = [TaskCreate, StatusChange, BomUpdate, MaterialAdd, QuantityChange];
}

/// <summary>The five built-in action types of the original system.</summary>
public static class BomTriggerActions
{
    /// <summary>Adds a material to the task's BOM (<see cref="IBomEditor.AddMaterialAsync"/>).</summary>
    public const string AddMaterial = "ADD_MATERIAL";

    /// <summary>Sets or changes a material's quantity (<see cref="IBomEditor.UpdateQuantityAsync"/>).</summary>
    public const string UpdateQuantity = "UPDATE_QUANTITY";

    /// <summary>Copies the BOM of another task type into the task (<see cref="IBomEditor.CopyBomAsync"/>).</summary>
    public const string CopyBom = "COPY_BOM";

    /// <summary>Sends a notification (<see cref="IBomNotificationSender"/>).</summary>
    public const string Notify = "NOTIFY";

    /// <summary>Recalculates the task's BOM cost (<see cref="IBomCostCalculator"/>).</summary>
    public const string CalculateCost = "CALCULATE_COST";

    /// <summary>All five built-ins.</summary>
    public static IReadOnlyList<string> All { get; } = [AddMaterial, UpdateQuantity, CopyBom, Notify, CalculateCost];
}
