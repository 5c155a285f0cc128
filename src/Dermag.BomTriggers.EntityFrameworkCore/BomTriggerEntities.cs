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

    /// <summary>The number of the trigger's latest history row.</summary>
    public int Version { get; set; }

    /// <summary>When the trigger was deleted; <see langword="null"/> for a live trigger. Deletes are soft: filter on this column to report live triggers only.</summary>
    public DateTimeOffset? DeletedAt { get; set; }

    /// <summary>The user who deleted the trigger.</summary>
    public int? DeletedBy { get; set; }

    /// <summary>How the action runs (JSON: <c>{}</c> inline; <c>mode</c>, <c>maxAttempts</c>, <c>delaySeconds</c>, <c>schedule</c>).</summary>
    public string Execution { get; set; } = "{}";

    /// <summary>The trigger's logs (a deleted trigger keeps them).</summary>
    public ICollection<BomTriggerLogEntity> Logs { get; } = [];

    /// <summary>The trigger's history, one row per version.</summary>
    public ICollection<BomTriggerHistoryEntity> History { get; } = [];
}

/// <summary>A read model of a <c>bom_trigger_history</c> row: one version of a trigger. JSON columns are raw text.</summary>
public sealed class BomTriggerHistoryEntity
{
    /// <summary>The id.</summary>
    public long Id { get; set; }

    /// <summary>The trigger.</summary>
    public int TriggerId { get; set; }

    /// <summary>The trigger row.</summary>
    public BomTriggerEntity? Trigger { get; set; }

    /// <summary>The version this change produced (1 for the creation; unique per trigger, without gaps).</summary>
    public int Version { get; set; }

    /// <summary>What the change did: <c>created</c>, <c>updated</c>, <c>toggled</c>, <c>deleted</c> or <c>restored</c>.</summary>
    public string Change { get; set; } = string.Empty;

    /// <summary>The user who made the change.</summary>
    public int? ChangedBy { get; set; }

    /// <summary>When the change was made.</summary>
    public DateTimeOffset ChangedAt { get; set; }

    /// <summary>The definition after the change (JSON text; for <c>deleted</c>, the definition that was deleted).</summary>
    public string Definition { get; set; } = "{}";

    /// <summary>The definition before the change (JSON text); <see langword="null"/> for <c>created</c>.</summary>
    public string? Previous { get; set; }

    /// <summary>For <c>restored</c>, the version whose definition was written back.</summary>
    public int? RestoredFromVersion { get; set; }
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

    /// <summary>The job this run was an attempt of (queued, delayed and scheduled triggers).</summary>
    public long? JobId { get; set; }

    /// <summary>The attempt number of <see cref="JobId"/>.</summary>
    public int? Attempt { get; set; }

    /// <summary>The trigger whose action raised the event this run was for (its parent in the chain); null at depth 0.</summary>
    public int? CausedByTriggerId { get; set; }
}

/// <summary>A row of <c>bom_trigger_jobs</c>: one durable execution of a queued, delayed or scheduled trigger.</summary>
public sealed class BomTriggerJobEntity
{
    /// <summary>The job id.</summary>
    public long Id { get; set; }

    /// <summary>The event id and the trigger (or the schedule tick).</summary>
    public string IdempotencyKey { get; set; } = string.Empty;

    /// <summary>The trigger.</summary>
    public int TriggerId { get; set; }

    /// <summary><c>queued</c>, <c>delayed</c> or <c>scheduled</c>.</summary>
    public string Kind { get; set; } = string.Empty;

    /// <summary><c>pending</c>, <c>running</c>, <c>succeeded</c>, <c>skipped</c>, <c>dead</c> or <c>discarded</c>.</summary>
    public string State { get; set; } = string.Empty;

    /// <summary>The event type.</summary>
    public string EventType { get; set; } = string.Empty;

    /// <summary>The task.</summary>
    public int TaskId { get; set; }

    /// <summary>The event data (JSON).</summary>
    public string EventData { get; set; } = "{}";

    /// <summary>The chain's correlation id.</summary>
    public Guid CorrelationId { get; set; }

    /// <summary>Attempts started.</summary>
    public int Attempt { get; set; }

    /// <summary>The attempt limit.</summary>
    public int MaxAttempts { get; set; }

    /// <summary>When the job is due.</summary>
    public DateTimeOffset DueAt { get; set; }

    /// <summary>When the job was enqueued.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the job last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The last attempt's error.</summary>
    public string? LastError { get; set; }

    /// <summary>When the job reached a final state.</summary>
    public DateTimeOffset? FinishedAt { get; set; }
}
