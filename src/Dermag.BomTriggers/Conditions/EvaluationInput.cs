using System.Globalization;
using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>The event data a condition reads: current values, optional previous values, and the event's task ids.</summary>
internal readonly struct EvaluationInput(JsonElement data, JsonElement? previous, int taskId, int? taskTypeId)
{
    private readonly EnvelopeFields _envelope = new(taskId, taskTypeId);

    public JsonElement Data { get; } = data;

    public JsonElement? Previous { get; } = previous;

    // Hosts often leave the ids out of the data; they are on the event itself, and describe the task before the change
    // as much as after it, so both sides are filled alike (an id absent from both is not a change).
    public JsonElement? Current(string[] path) => Resolve(Data, path) ?? _envelope?.Fill(path);

    public JsonElement? Before(string[] path) => (Previous is { } previousValues ? Resolve(previousValues, path) : null) ?? _envelope?.Fill(path);

    /// <summary>As <see cref="Current(string[])"/>, looking the segments up by their UTF-8 names.</summary>
    public JsonElement? Current(FieldPath path) => Resolve(Data, path.Utf8Segments) ?? _envelope?.Fill(path.Segments);

    /// <summary>As <see cref="Before(string[])"/>, looking the segments up by their UTF-8 names.</summary>
    public JsonElement? Before(FieldPath path) => (Previous is { } previousValues ? Resolve(previousValues, path.Utf8Segments) : null) ?? _envelope?.Fill(path.Segments);

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

    internal static JsonElement? Resolve(JsonElement root, byte[][] utf8Path)
    {
        var current = root;
        foreach (var segment in utf8Path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(segment, out current))
            {
                return null;
            }
        }

        return current.ValueKind == JsonValueKind.Undefined ? null : current;
    }

    /// <summary>The event's ids as JSON numbers, built once per event when a condition first reads one.</summary>
    private sealed class EnvelopeFields(int taskId, int? taskTypeId)
    {
        private JsonElement? _taskId;
        private JsonElement? _taskTypeId;

        public JsonElement? Fill(string[] path) => path.Length != 1 ? null : path[0] switch
        {
            "taskId" => _taskId ??= NumberElement(taskId),
            "taskTypeId" when taskTypeId is { } typeId => _taskTypeId ??= NumberElement(typeId),
            _ => null,
        };

        private static JsonElement NumberElement(int value)
        {
            using var document = JsonDocument.Parse(value.ToString(CultureInfo.InvariantCulture));
            return document.RootElement.Clone();
        }
    }
}
