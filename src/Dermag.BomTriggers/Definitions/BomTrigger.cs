using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dermag.BomTriggers;

/// <summary>A stored trigger: when <see cref="TriggerEvent"/> happens and <see cref="TriggerCondition"/> matches, run <see cref="ActionType"/>.</summary>
public sealed record BomTrigger
{
    /// <summary>The database id.</summary>
    public required int Id { get; init; }

    /// <summary>A stable id that survives export and import.</summary>
    public required Guid Uuid { get; init; }

    /// <summary>A human-readable name (at most 200 characters).</summary>
    public required string Name { get; init; }

    /// <summary>An optional description.</summary>
    public string? Description { get; init; }

    /// <summary>The event type, one of <see cref="BomTriggerEvents"/>.</summary>
    public required string TriggerEvent { get; init; }

    /// <summary>The condition (a JSON object; <c>{}</c> always matches).</summary>
    public required JsonElement TriggerCondition { get; init; }

    /// <summary>The action type, a built-in from <see cref="BomTriggerActions"/> or one registered with <c>AddAction</c>.</summary>
    public required string ActionType { get; init; }

    /// <summary>The action's configuration (a JSON object).</summary>
    public required JsonElement ActionConfig { get; init; }

    /// <summary>When set, the trigger only runs for tasks of this task type.</summary>
    public int? SourceTaskTypeId { get; init; }

    /// <summary>The task type the action works with (for example the type whose BOM <c>COPY_BOM</c> copies).</summary>
    public int? TargetTaskTypeId { get; init; }

    /// <summary>Higher runs first.</summary>
    public int Priority { get; init; } = 10;

    /// <summary>How the action runs: inline or queued, retries, a delay, a schedule.</summary>
    public BomTriggerExecution Execution { get; init; } = BomTriggerExecution.Default;

    /// <summary>Inactive triggers are stored but never run.</summary>
    public bool IsActive { get; init; } = true;

    /// <summary>The id of the user who created the trigger, when known.</summary>
    public int? CreatedBy { get; init; }

    /// <summary>When the trigger was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the trigger was last changed; together with <see cref="Id"/> it identifies the trigger version.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>
    /// The number of the trigger's latest entry in its history (<see cref="IBomTriggerManager.GetHistoryAsync"/>): 1 when it
    /// is created, one more with every update, toggle, delete and restore.
    /// </summary>
    public int Version { get; init; } = 1;

    /// <summary>
    /// When the trigger was deleted; <see langword="null"/> for a live trigger. Deletes are soft: a deleted trigger never
    /// runs and is left out of <c>GetAsync</c> and <c>ListAsync</c>, but its logs and history stay, it is listed with
    /// <see cref="BomTriggerQuery.Deleted"/>, and <see cref="IBomTriggerManager.RestoreAsync"/> brings it back.
    /// </summary>
    public DateTimeOffset? DeletedAt { get; init; }

    /// <summary>The id of the user who deleted the trigger, when known.</summary>
    public int? DeletedBy { get; init; }
}

/// <summary>What a caller sends to create or update a trigger (the REST body of the original API).</summary>
public sealed record BomTriggerDefinition
{
    /// <summary>A human-readable name (required, at most 200 characters).</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>An optional description.</summary>
    public string? Description { get; init; }

    /// <summary>The event type, one of <see cref="BomTriggerEvents"/>.</summary>
    public string TriggerEvent { get; init; } = string.Empty;

    /// <summary>The condition; <see langword="null"/> means <c>{}</c> (always matches).</summary>
    public JsonElement? TriggerCondition { get; init; }

    /// <summary>The action type.</summary>
    public string ActionType { get; init; } = string.Empty;

    /// <summary>The action's configuration; <see langword="null"/> means <c>{}</c>.</summary>
    public JsonElement? ActionConfig { get; init; }

    /// <summary>When set, the trigger only runs for tasks of this task type.</summary>
    public int? SourceTaskTypeId { get; init; }

    /// <summary>The task type the action works with.</summary>
    public int? TargetTaskTypeId { get; init; }

    /// <summary>Higher runs first.</summary>
    /// <value>The default is 10.</value>
    public int Priority { get; init; } = 10;

    /// <summary>How the action runs: inline or queued, retries, a delay, a schedule; <see langword="null"/> means inline.</summary>
    public BomTriggerExecution? Execution { get; init; }

    /// <summary>Whether the trigger runs.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool IsActive { get; init; } = true;

    /// <summary>
    /// The id of the user creating the trigger; when left out, the <c>changedBy</c> passed to
    /// <see cref="IBomTriggerManager.CreateAsync(BomTriggerDefinition, int?, CancellationToken)"/> fills it. Updates and restores keep the stored value.
    /// </summary>
    public int? CreatedBy { get; init; }

    /// <summary>This definition with the condition given as JSON text, for example <c>{"taskTypeCode":"LAN"}</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="json"/> is not well-formed JSON (the message gives the line and position).</exception>
    public BomTriggerDefinition WithCondition(string json) => this with { TriggerCondition = ParseJson(json, nameof(json)) };

    /// <summary>This definition with the condition given as a <see cref="JsonNode"/>; <see langword="null"/> means <c>{}</c>.</summary>
    public BomTriggerDefinition WithCondition(JsonNode? condition) => this with { TriggerCondition = ToElement(condition) };

    /// <summary>This definition with the action configuration given as JSON text.</summary>
    /// <exception cref="ArgumentException"><paramref name="json"/> is not well-formed JSON (the message gives the line and position).</exception>
    public BomTriggerDefinition WithActionConfig(string json) => this with { ActionConfig = ParseJson(json, nameof(json)) };

    /// <summary>This definition with the action configuration given as a <see cref="JsonNode"/>; <see langword="null"/> means <c>{}</c>.</summary>
    public BomTriggerDefinition WithActionConfig(JsonNode? config) => this with { ActionConfig = ToElement(config) };

    private static JsonElement ParseJson(string json, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(json, parameterName);
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"Not well-formed JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}): {ex.Message}", parameterName, ex);
        }
    }

    private static JsonElement? ToElement(JsonNode? node) => node is null ? null : JsonSerializer.SerializeToElement(node);

    /// <summary>The definition of an existing trigger, to change and save back.</summary>
    public static BomTriggerDefinition From(BomTrigger trigger)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        return new BomTriggerDefinition
        {
            Name = trigger.Name,
            Description = trigger.Description,
            TriggerEvent = trigger.TriggerEvent,
            TriggerCondition = trigger.TriggerCondition,
            ActionType = trigger.ActionType,
            ActionConfig = trigger.ActionConfig,
            SourceTaskTypeId = trigger.SourceTaskTypeId,
            TargetTaskTypeId = trigger.TargetTaskTypeId,
            Priority = trigger.Priority,
            Execution = trigger.Execution,
            IsActive = trigger.IsActive,
            CreatedBy = trigger.CreatedBy,
        };
    }
}

/// <summary>One problem with a trigger definition.</summary>
/// <param name="Path">A JSON Pointer into the definition, for example <c>/triggerCondition/quantity/$gt</c>.</param>
/// <param name="Message">What is wrong, for example <c>expected a number</c>.</param>
public sealed record TriggerValidationError(string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Path + ": " + Message;
}

/// <summary>The result of saving a trigger: the stored trigger, or every problem found (and nothing stored).</summary>
public sealed record TriggerSaveResult
{
    /// <summary>The stored trigger when the save succeeded.</summary>
    public BomTrigger? Trigger { get; init; }

    /// <summary>Every problem found; empty when the save succeeded.</summary>
    public IReadOnlyList<TriggerValidationError> Errors { get; init; } = [];

    /// <summary>
    /// True when the trigger does not exist (an unknown or deleted id for an update; for a restore, an unknown id or
    /// version); <see cref="Errors"/> then says which.
    /// </summary>
    public bool NotFound { get; init; }

    /// <summary>True when the trigger was stored.</summary>
    public bool Succeeded => Trigger is not null;

    internal static TriggerSaveResult Invalid(IReadOnlyList<TriggerValidationError> errors) => new() { Errors = errors };
}

/// <summary>One row of <c>bom_trigger_logs</c>.</summary>
public sealed record BomTriggerLog
{
    /// <summary>The log id.</summary>
    public long Id { get; init; }

    /// <summary>The trigger that ran.</summary>
    public required int TriggerId { get; init; }

    /// <summary>The task the event was about.</summary>
    public int? TaskId { get; init; }

    /// <summary>When the trigger ran.</summary>
    public required DateTimeOffset ExecutedAt { get; init; }

    /// <summary>Whether the action succeeded.</summary>
    public required bool Success { get; init; }

    /// <summary>The event data the trigger saw.</summary>
    public JsonElement? InputData { get; init; }

    /// <summary>What the action returned.</summary>
    public JsonElement? ResultData { get; init; }

    /// <summary>The error, when the action failed or was suppressed.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>The outcome name (<c>Executed</c>, <c>Failed</c> or <c>SuppressedLoop</c>).</summary>
    public string Outcome { get; init; } = "Executed";

    /// <summary>How long the action ran.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The id shared by every log row of one dispatch and the events it chained.</summary>
    public Guid? CorrelationId { get; init; }

    /// <summary>0 for the event the host dispatched, 1 for an event an action caused, and so on.</summary>
    public int Depth { get; init; }

    /// <summary>The job this run was an attempt of, for a queued, delayed or scheduled trigger; null for an inline run.</summary>
    public long? JobId { get; init; }

    /// <summary>The attempt number (1 for the first) of <see cref="JobId"/>; null for an inline run.</summary>
    public int? Attempt { get; init; }

    /// <summary>
    /// The trigger whose action raised the event this run was for: the parent of this run in its chain's tree (a run at
    /// <see cref="Depth"/> − 1 of that trigger with the same <see cref="CorrelationId"/>); null at depth 0, and for rows
    /// written before the column existed.
    /// </summary>
    public int? CausedByTriggerId { get; init; }
}

/// <summary>One page of a trigger's logs, newest first.</summary>
/// <param name="Items">The rows of this page.</param>
/// <param name="Total">How many rows the trigger has in all.</param>
/// <param name="Limit">The page size asked for.</param>
/// <param name="Offset">The offset asked for.</param>
public sealed record BomTriggerLogPage(IReadOnlyList<BomTriggerLog> Items, long Total, int Limit, int Offset)
{
    /// <summary>
    /// False when the query asked not to count (<see cref="BomTriggerLogQuery.CountTotal"/>): <see cref="Total"/> is then
    /// the rows up to the end of this page, plus one when more rows follow.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool IsTotalExact { get; init; } = true;
}

/// <summary>
/// A filter over execution logs, newest first: every criterion that is set must hold. Time bounds are on
/// <see cref="BomTriggerLog.ExecutedAt"/>, <see cref="From"/> inclusive and <see cref="To"/> exclusive.
/// </summary>
public sealed record BomTriggerLogQuery
{
    /// <summary>Only the runs of this trigger.</summary>
    public int? TriggerId { get; init; }

    /// <summary>Only the runs for this task.</summary>
    public int? TaskId { get; init; }

    /// <summary>Only the runs of one dispatch and the chain it caused (<see cref="DispatchReport.CorrelationId"/>).</summary>
    public Guid? CorrelationId { get; init; }

    /// <summary>Only runs with this outcome (logged outcomes are <c>Executed</c>, <c>Failed</c> and <c>SuppressedLoop</c>).</summary>
    public TriggerOutcomeKind? Outcome { get; init; }

    /// <summary>Only runs at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only runs before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>The page size, clamped to 1..1000.</summary>
    /// <value>The default is 50.</value>
    public int Limit { get; init; } = 50;

    /// <summary>How many matching runs to skip.</summary>
    /// <value>The default is 0.</value>
    public int Offset { get; init; }

    /// <summary>
    /// Whether to count every matching run for <see cref="BomTriggerLogPage.Total"/>. Counting reads every match, which on
    /// millions of rows with a loose filter takes about a second; without it a page is read from the time index alone
    /// and the page says whether more rows follow (<see cref="BomTriggerLogPage.IsTotalExact"/> is false).
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool CountTotal { get; init; } = true;

    internal BomTriggerLogQuery Normalized() => this with { Limit = Math.Clamp(Limit, 1, 1000), Offset = Math.Max(0, Offset) };

    internal bool Matches(BomTriggerLog log) =>
        (TriggerId is not { } trigger || log.TriggerId == trigger)
        && (TaskId is not { } task || log.TaskId == task)
        && (CorrelationId is not { } correlation || log.CorrelationId == correlation)
        && (Outcome is not { } outcome || string.Equals(log.Outcome, outcome.ToString(), StringComparison.Ordinal))
        && (From is not { } from || log.ExecutedAt >= from)
        && (To is not { } to || log.ExecutedAt < to);
}

/// <summary>A filter for listing triggers.</summary>
public sealed record BomTriggerQuery
{
    /// <summary>Only triggers of this event type.</summary>
    public string? TriggerEvent { get; init; }

    /// <summary>Only active (true) or inactive (false) triggers.</summary>
    public bool? IsActive { get; init; }

    /// <summary>
    /// When <see langword="true"/>, lists deleted triggers instead of live ones (to find one to restore), with
    /// <see cref="BomTrigger.DeletedAt"/> and <see cref="BomTrigger.DeletedBy"/> set.
    /// </summary>
    /// <value>The default is <see langword="false"/>: deleted triggers are left out.</value>
    public bool Deleted { get; init; }
}

/// <summary>
/// How a trigger ran lately, from its execution logs: its last logged run and the logged outcomes since a point in time
/// (<see cref="IBomTriggerManager.GetRunSummariesAsync"/>), and how many events it saw and did not run for
/// (<see cref="ConditionFalse"/>).
/// </summary>
public sealed record BomTriggerRunSummary
{
    /// <summary>The trigger.</summary>
    public required int TriggerId { get; init; }

    /// <summary>When it last ran (any time, not only within the window); null when it never ran or its logs were cleaned up.</summary>
    public DateTimeOffset? LastRunAt { get; init; }

    /// <summary>The outcome of that run (<c>Executed</c>, <c>Failed</c> or <c>SuppressedLoop</c>).</summary>
    public string? LastOutcome { get; init; }

    /// <summary>Runs with outcome <c>Executed</c> since the window start.</summary>
    public long Executed { get; init; }

    /// <summary>Runs with outcome <c>Failed</c> since the window start.</summary>
    public long Failed { get; init; }

    /// <summary>Runs with outcome <c>SuppressedLoop</c> since the window start.</summary>
    public long SuppressedLoop { get; init; }

    /// <summary>
    /// The events of the trigger's event type it saw and did not run for: a condition that was false, and also a task type
    /// it does not apply to (<see cref="BomTrigger.SourceTaskTypeId"/>), or a delayed trigger whose condition no longer
    /// matched when its job came due. Exactly: the events of the trigger's type dispatched (or raised by actions) in any app
    /// instance whose engine had an active trigger of that type, counted per UTC minute, from the start of the minute of
    /// the later of the window start and the trigger's last change (<see cref="BomTrigger.UpdatedAt"/>) until now, minus
    /// the trigger's logged runs in the same span (a queued job counts once however many attempts it took), and never
    /// below 0. An inactive trigger saw no events since its last change, so it is 0; so is a scheduled trigger's.
    /// Events are counted in memory and written every <see cref="BomTriggerOptions.EventCountFlushInterval"/>, so this
    /// lags by up to that long; counts are deleted with the logs (<see cref="BomTriggerOptions.LogRetention"/>).
    /// </summary>
    public long ConditionFalse { get; init; }
}
