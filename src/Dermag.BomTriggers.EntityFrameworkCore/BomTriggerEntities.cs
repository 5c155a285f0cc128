namespace Dermag.BomTriggers.EntityFrameworkCore;

/// <summary>A read model of a <c>bom_triggers</c> row for reporting queries with EF Core. JSON columns are raw text.</summary>
public sealed class BomTriggerEntity
{
    /// <summary>The id.</summary>
    public int Id { get; set; }

    /// <summary>The stable uuid.</summary>
    public Guid Uuid { get; set; }

    /// <summary>The name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The description.</summary>
    public string? Description { get; set; }

    /// <summary>The event type.</summary>
    public string TriggerEvent { get; set; } = string.Empty;

    /// <summary>The condition (JSON text).</summary>
    public string TriggerCondition { get; set; } = "{}";

    /// <summary>The action type.</summary>
    public string ActionType { get; set; } = string.Empty;

    /// <summary>The action configuration (JSON text).</summary>
    public string ActionConfig { get; set; } = "{}";

    /// <summary>The source task type filter.</summary>
    public int? SourceTaskTypeId { get; set; }

    /// <summary>The target task type.</summary>
    public int? TargetTaskTypeId { get; set; }

    /// <summary>The priority (higher runs first).</summary>
    public int Priority { get; set; }

    /// <summary>Whether it runs.</summary>
    public bool IsActive { get; set; }

    /// <summary>The creating user.</summary>
    public int? CreatedBy { get; set; }

    /// <summary>When created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The trigger's logs.</summary>
    public ICollection<BomTriggerLogEntity> Logs { get; } = [];
}

/// <summary>A read model of a <c>bom_trigger_logs</c> row.</summary>
public sealed class BomTriggerLogEntity
{
    /// <summary>The id.</summary>
    public long Id { get; set; }

    /// <summary>The trigger.</summary>
    public int TriggerId { get; set; }

    /// <summary>The trigger row.</summary>
    public BomTriggerEntity? Trigger { get; set; }

    /// <summary>The task.</summary>
    public int? TaskId { get; set; }

    /// <summary>When it ran.</summary>
    public DateTimeOffset ExecutedAt { get; set; }

    /// <summary>Whether it succeeded.</summary>
    public bool Success { get; set; }

    /// <summary>The input (JSON text).</summary>
    public string? InputData { get; set; }

    /// <summary>The result (JSON text).</summary>
    public string? ResultData { get; set; }

    /// <summary>The error.</summary>
    public string? ErrorMessage { get; set; }

    /// <summary>The outcome name.</summary>
    public string Outcome { get; set; } = string.Empty;

    /// <summary>The action's duration in milliseconds.</summary>
    public double? DurationMs { get; set; }

    /// <summary>The chain's correlation id.</summary>
    public Guid? CorrelationId { get; set; }

    /// <summary>The chain depth.</summary>
    public int Depth { get; set; }
}
