namespace Dermag.BomTriggers;

/// <summary>
/// The host's BOM operations the built-in <c>ADD_MATERIAL</c>, <c>UPDATE_QUANTITY</c> and <c>COPY_BOM</c> actions call.
/// Use <see cref="ActionContext.Enlistment"/> from the request when it is set, so the change commits with the task change.
/// </summary>
public interface IBomEditor
{
    /// <summary>Adds a material line to a task's BOM.</summary>
    Task AddMaterialAsync(AddMaterialRequest request, CancellationToken cancellationToken);

    /// <summary>Sets or changes a material's quantity on a task's BOM and returns the quantities before and after.</summary>
    Task<QuantityChange> UpdateQuantityAsync(UpdateQuantityRequest request, CancellationToken cancellationToken);

    /// <summary>Copies the BOM template of another task type into a task's BOM and returns how many lines were copied.</summary>
    Task<int> CopyBomAsync(CopyBomRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// The host's current data of a task, for delayed triggers (<see cref="BomTriggerExecution.Delay"/>): when a delayed job
/// is due, its condition is evaluated again against what this returns. Register it in the service collection (scoped
/// or singleton); saving a delayed trigger fails while none is registered.
/// </summary>
public interface IBomEventDataProvider
{
    /// <summary>
    /// The data the host would dispatch for <paramref name="triggerEvent"/>'s task now (same shape as the event's data),
    /// or <see langword="null"/> when the task no longer exists (the job is then skipped).
    /// </summary>
    Task<System.Text.Json.JsonElement?> GetCurrentDataAsync(BomTriggerEvent triggerEvent, CancellationToken cancellationToken);
}

/// <summary>The host's cost calculation, called by <c>CALCULATE_COST</c>.</summary>
public interface IBomCostCalculator
{
    /// <summary>Recalculates and stores a task's BOM cost; returns the new total.</summary>
    Task<decimal> RecalculateAsync(CostRequest request, CancellationToken cancellationToken);
}

/// <summary>The host's notification channel, called by <c>NOTIFY</c>.</summary>
public interface IBomNotificationSender
{
    /// <summary>Sends a notification.</summary>
    Task SendAsync(BomNotification notification, CancellationToken cancellationToken);
}

/// <summary>Add <paramref name="Quantity"/> of <paramref name="MaterialName"/> to task <paramref name="TaskId"/>.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="MaterialName">The material's name.</param>
/// <param name="Quantity">The quantity (positive).</param>
/// <param name="Unit">The unit, when configured.</param>
/// <param name="Category">The category, when configured.</param>
/// <param name="Context">The action context (trigger, event, transaction).</param>
public sealed record AddMaterialRequest(int TaskId, string MaterialName, decimal Quantity, string? Unit, string? Category, ActionContext Context);

/// <summary>Set (<paramref name="Quantity"/>) or change (<paramref name="Delta"/>) a material's quantity; exactly one is set.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="MaterialName">The material's name.</param>
/// <param name="Quantity">The new quantity.</param>
/// <param name="Delta">The change to apply.</param>
/// <param name="Context">The action context.</param>
public sealed record UpdateQuantityRequest(int TaskId, string MaterialName, decimal? Quantity, decimal? Delta, ActionContext Context);

/// <summary>A quantity before and after an update.</summary>
/// <param name="Previous">The quantity before, or null when the material was not on the BOM.</param>
/// <param name="Current">The quantity after.</param>
public sealed record QuantityChange(decimal? Previous, decimal Current);

/// <summary>Copy the BOM template of task type <paramref name="FromTaskTypeId"/> into task <paramref name="TaskId"/>.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="FromTaskTypeId">The task type whose BOM is copied.</param>
/// <param name="ReplaceExisting">Whether the task's current lines are replaced rather than kept.</param>
/// <param name="Context">The action context.</param>
public sealed record CopyBomRequest(int TaskId, int FromTaskTypeId, bool ReplaceExisting, ActionContext Context);

/// <summary>Recalculate the cost of task <paramref name="TaskId"/>.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="Context">The action context.</param>
public sealed record CostRequest(int TaskId, ActionContext Context);

/// <summary>A notification to send.</summary>
/// <param name="TaskId">The task it is about.</param>
/// <param name="Message">The text.</param>
/// <param name="Recipients">Roles or user names, as configured (for example <c>manager</c>).</param>
/// <param name="Context">The action context.</param>
public sealed record BomNotification(int TaskId, string Message, IReadOnlyList<string> Recipients, ActionContext Context);
