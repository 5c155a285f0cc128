using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dermag.BomTriggers;

/// <summary>Something that happened to a task, dispatched to the triggers of <see cref="EventType"/>.</summary>
/// <param name="EventType">One of <see cref="BomTriggerEvents"/>.</param>
/// <param name="TaskId">The task.</param>
/// <param name="TaskTypeId">The task's type, used for <c>source_task_type_id</c> filtering.</param>
/// <param name="Data">The event data conditions read (a JSON object).</param>
public sealed record BomTriggerEvent(string EventType, int TaskId, int? TaskTypeId, JsonElement Data)
{
    /// <summary>The values before the change (for <c>$changed</c>), for example <c>{"status":"in_progress"}</c>.</summary>
    public JsonElement? PreviousValues { get; init; }

    /// <summary>
    /// The host's id of this occurrence (for example an outbox message id). Queued triggers enqueue one job per event id
    /// and trigger, so dispatching the same event id again enqueues nothing new; the action receives the pair as
    /// <see cref="ActionContext.IdempotencyKey"/>. When null, each dispatch gets a new id.
    /// </summary>
    public Guid? EventId { get; init; }

    /// <summary>Creates an event from a <see cref="JsonObject"/> (convenient for hosts building data in code).</summary>
    public static BomTriggerEvent Create(string eventType, int taskId, int? taskTypeId, JsonObject data, JsonObject? previousValues = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new BomTriggerEvent(eventType, taskId, taskTypeId, ToElement(data))
        {
            PreviousValues = previousValues is null ? null : ToElement(previousValues),
        };
    }

    internal static JsonElement ToElement(JsonNode node)
    {
        using var document = JsonDocument.Parse(node.ToJsonString());
        return document.RootElement.Clone();
    }
}
