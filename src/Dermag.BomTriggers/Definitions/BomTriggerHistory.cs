using System.Text.Json.Serialization;

namespace Dermag.BomTriggers;

/// <summary>What a change in a trigger's history did (the <c>change</c> column of <c>bom_trigger_history</c>, in lower case).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BomTriggerChange>))]
public enum BomTriggerChange
{
    /// <summary>The trigger was created (always version 1).</summary>
    Created,

    /// <summary>The definition was replaced.</summary>
    Updated,

    /// <summary>The trigger was activated or deactivated.</summary>
    Toggled,

    /// <summary>The trigger was deleted (soft: its logs and history stay, and it can be restored).</summary>
    Deleted,

    /// <summary>An earlier version's definition was written back (undeleting the trigger if it was deleted).</summary>
    Restored,
}

/// <summary>One entry of a trigger's history: a change, who made it and when, and the definition after and before it.</summary>
public sealed record BomTriggerVersion
{
    /// <summary>The trigger.</summary>
    public required int TriggerId { get; init; }

    /// <summary>The version this change produced: 1 for the creation, then one more per change, without gaps.</summary>
    public required int Version { get; init; }

    /// <summary>What the change did.</summary>
    public required BomTriggerChange Change { get; init; }

    /// <summary>The id of the user who made the change, when the caller passed one.</summary>
    public int? ChangedBy { get; init; }

    /// <summary>When the change was made (from the manager's <see cref="TimeProvider"/>).</summary>
    public required DateTimeOffset ChangedAt { get; init; }

    /// <summary>
    /// The full definition after the change; for <see cref="BomTriggerChange.Deleted"/>, the definition that was deleted.
    /// <see cref="BomTriggerDefinition.CreatedBy"/> is the trigger's creator.
    /// </summary>
    public required BomTriggerDefinition Definition { get; init; }

    /// <summary>
    /// The definition before the change; <see langword="null"/> for <see cref="BomTriggerChange.Created"/>, and for the
    /// baseline version 1 that migration 0002 wrote for a trigger changed before history was kept.
    /// </summary>
    public BomTriggerDefinition? Previous { get; init; }

    /// <summary>For <see cref="BomTriggerChange.Restored"/>, the version whose definition was written back.</summary>
    public int? RestoredFromVersion { get; init; }
}

/// <summary>One page of a trigger's history, newest version first.</summary>
/// <param name="Items">The versions of this page.</param>
/// <param name="Total">How many versions the trigger has in all; 0 when the library never stored a trigger with that id.</param>
/// <param name="Limit">The page size asked for.</param>
/// <param name="Offset">The offset asked for.</param>
public sealed record BomTriggerHistoryPage(IReadOnlyList<BomTriggerVersion> Items, long Total, int Limit, int Offset);
