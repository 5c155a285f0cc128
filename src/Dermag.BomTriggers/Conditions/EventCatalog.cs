using System.Collections.Frozen;
using System.Text.Json.Serialization;

namespace Dermag.BomTriggers;

/// <summary>The JSON type of an event field, checked when a condition is saved.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The members name JSON types.")]
[JsonConverter(typeof(JsonStringEnumConverter<BomFieldType>))]
public enum BomFieldType
{
    /// <summary>A JSON string.</summary>
    String = 0,

    /// <summary>A JSON number.</summary>
    Number = 1,

    /// <summary>A JSON <see langword="true"/> or <see langword="false"/>.</summary>
    Boolean = 2,

    /// <summary>A JSON array of strings.</summary>
    StringArray = 3,
}

/// <summary>A field a condition may test, as a dotted path into the event data.</summary>
/// <param name="Path">The dotted path, for example <c>material.category</c>.</param>
/// <param name="Type">The field's JSON type.</param>
/// <param name="Description">What the field holds.</param>
public sealed record BomEventField(string Path, BomFieldType Type, string Description);

/// <summary>An event type with the fields its data carries.</summary>
/// <param name="Name">The event type, for example <c>ON_TASK_CREATE</c>.</param>
/// <param name="Description">When the host raises it.</param>
/// <param name="Fields">The fields a condition may test.</param>
/// <param name="SupportsPreviousValues">Whether the host passes previous values, so <c>$changed</c> is meaningful.</param>
public sealed record BomEventDescriptor(string Name, string Description, IReadOnlyList<BomEventField> Fields, bool SupportsPreviousValues);

/// <summary>A field operator of the condition language, for editors: which field types it applies to (the same table the parser checks).</summary>
public sealed record BomConditionOperator
{
    /// <summary>The operator, for example <c>$gt</c>.</summary>
    public required string Name { get; init; }

    /// <summary>What it tests, in words.</summary>
    public required string Meaning { get; init; }

    /// <summary>The field types it is valid for.</summary>
    public required IReadOnlyList<BomFieldType> AppliesTo { get; init; }

    /// <summary>Whether it compares with the previous value (<c>$changed</c>), so it needs an event with previous values.</summary>
    public bool ComparesPrevious { get; init; }
}

/// <summary>The event types and their typed fields, built-ins plus fields the host added with <c>AddEventField</c>.</summary>
internal sealed class EventCatalog
{
    private static readonly BomEventField[] TaskFields =
    [
        new("taskId", BomFieldType.Number, "The task id (filled from the event when the data omits it)."),
        new("taskTypeId", BomFieldType.Number, "The task type id (filled from the event when the data omits it)."),
        new("taskTypeCode", BomFieldType.String, "The task type code, for example LAN."),
        new("taskNumber", BomFieldType.String, "The task's human-readable number."),
        new("title", BomFieldType.String, "The task title."),
        new("status", BomFieldType.String, "The task status, for example completed."),
        new("tags", BomFieldType.StringArray, "The task's tags."),
    ];

    /// <summary>The fields every event carries in its envelope; a host's own event types start with these.</summary>
    private static readonly BomEventField[] EnvelopeFields = [TaskFields[0], TaskFields[1]];

    private static readonly BomEventField[] MaterialFields =
    [
        new("materialName", BomFieldType.String, "The material's name."),
        new("quantity", BomFieldType.Number, "The material's quantity on the BOM."),
        new("unit", BomFieldType.String, "The unit, for example m."),
        new("material.name", BomFieldType.String, "The material's name."),
        new("material.category", BomFieldType.String, "The material's category, for example network."),
        new("material.unit", BomFieldType.String, "The material's unit."),
        new("material.unitPrice", BomFieldType.Number, "The material's unit price."),
    ];

    private readonly FrozenDictionary<string, BomEventDescriptor> _events;
    private readonly FrozenDictionary<string, FrozenDictionary<string, BomEventField>> _fields;

    /// <exception cref="BomTriggerException">A field names an event type that is neither built in nor registered.</exception>
    public EventCatalog(IEnumerable<(string EventType, BomEventField Field)>? extraFields = null, IEnumerable<(string EventType, string Description, bool SupportsPreviousValues)>? extraEvents = null)
    {
        var extras = (extraFields ?? []).ToLookup(e => e.EventType, e => e.Field, StringComparer.Ordinal);
        BomEventDescriptor Make(string name, string description, bool previous, params BomEventField[][] groups)
        {
            var fields = groups.SelectMany(g => g).Concat(extras[name]).GroupBy(f => f.Path, StringComparer.Ordinal).Select(g => g.Last()).ToList();
            return new BomEventDescriptor(name, description, fields, previous);
        }

        BomEventDescriptor[] all =
        [
            Make(BomTriggerEvents.TaskCreate, "A task was created.", false, TaskFields),
            Make(BomTriggerEvents.StatusChange, "A task's status changed; previous values carry the old status.", true, TaskFields),
            Make(BomTriggerEvents.BomUpdate, "A task's BOM changed as a whole.", false, TaskFields,
                [new("itemCount", BomFieldType.Number, "How many lines the BOM has."), new("totalCost", BomFieldType.Number, "The BOM's total cost.")]),
            Make(BomTriggerEvents.MaterialAdd, "A material was added to a task's BOM.", false, TaskFields, MaterialFields),
            Make(BomTriggerEvents.QuantityChange, "A material's quantity changed; previous values carry the old quantity.", true, TaskFields, MaterialFields),
            Make(BomTriggerEvents.Schedule, "A tick of the trigger's cron schedule (raised by the scheduler, not the host).", false,
                [new BomEventField("scheduledAt", BomFieldType.String, "The tick, ISO 8601 in UTC, for example 2026-11-30T08:00:00.0000000+00:00.")]),
            .. (extraEvents ?? []).Select(e => Make(e.EventType, e.Description, e.SupportsPreviousValues, EnvelopeFields)),
        ];
        if (extras.Select(g => g.Key).FirstOrDefault(name => !all.Any(e => e.Name == name)) is { } unknown)
        {
            throw new BomTriggerException(
                $"AddEventField(\"{unknown}\", ...) names an event type that is neither built in nor added with AddEventType(\"{unknown}\", ...); "
                + "built in: " + string.Join(", ", BomTriggerEvents.All) + ".");
        }

        Events = all;
        _events = all.ToFrozenDictionary(e => e.Name, StringComparer.Ordinal);
        _fields = all.ToFrozenDictionary(e => e.Name, e => e.Fields.ToFrozenDictionary(f => f.Path, StringComparer.Ordinal), StringComparer.Ordinal);
    }

    public static EventCatalog Default { get; } = new();

    public IReadOnlyList<BomEventDescriptor> Events { get; }

    public bool IsKnown(string? eventType) => eventType is not null && _events.ContainsKey(eventType);

    public BomEventDescriptor? Get(string eventType) => _events.GetValueOrDefault(eventType);

    public BomEventField? Field(string eventType, string path) =>
        _fields.TryGetValue(eventType, out var fields) ? fields.GetValueOrDefault(path) : null;
}
