using System.Globalization;
using System.Text.Json;

namespace Dermag.BomTriggers.Conditions;

/// <summary>The event data a condition reads: current values, optional previous values, and the event's task ids.</summary>
internal readonly struct EvaluationInput(JsonElement data, JsonElement? previous, int taskId, int? taskTypeId)
{
    public JsonElement Data { get; } = data;

    public JsonElement? Previous { get; } = previous;

    public JsonElement? Current(string[] path)
    {
        var value = Resolve(Data, path);
        if (value is null && path.Length == 1)
        {
            // Hosts often leave the ids out of the data; they are on the event itself.
            if (path[0] == "taskId")
            {
                return NumberElement(taskId);
            }

            if (path[0] == "taskTypeId" && taskTypeId is { } typeId)
            {
                return NumberElement(typeId);
            }
        }

        return value;
    }

    public JsonElement? Before(string[] path) => Previous is { } previousValues ? Resolve(previousValues, path) : null;

    internal static JsonElement? Resolve(JsonElement root, string[] path)
    {
        var current = root;
        foreach (var segment in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(segment, out current))
            {
                return null;
            }
        }

        return current.ValueKind == JsonValueKind.Undefined ? null : current;
    }

    private static JsonElement NumberElement(int value)
    {
        using var document = JsonDocument.Parse(value.ToString(CultureInfo.InvariantCulture));
        return document.RootElement.Clone();
    }
}
