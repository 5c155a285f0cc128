using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dermag.BomTriggers;

/// <summary>What happened to one candidate trigger in a dispatch.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TriggerOutcomeKind>))]
public enum TriggerOutcomeKind
{
    /// <summary>The condition matched and the action succeeded.</summary>
    Executed = 0,

    /// <summary>The action threw, timed out, was not registered, or the stored trigger is invalid.</summary>
    Failed = 1,

    /// <summary>The condition did not match; <see cref="TriggerOutcome.FailedClause"/> says which clause and the actual value.</summary>
    ConditionFalse = 2,

    /// <summary>The trigger is limited to another task type (<c>source_task_type_id</c>).</summary>
    SkippedTaskType = 3,

    /// <summary>The trigger already ran for this task in this chain, or the chain is deeper than the limit.</summary>
    SuppressedLoop = 4,

    /// <summary>
    /// The condition matched and the trigger runs queued, delayed or scheduled: a job was written (or already existed for
    /// this event id) and a worker runs it; see <see cref="IBomTriggerJobManager"/> and the logs of its attempts.
    /// </summary>
    Queued = 5,
}

/// <summary>One candidate trigger's outcome.</summary>
public sealed record TriggerOutcome
{
    /// <summary>The trigger.</summary>
    public required int TriggerId { get; init; }

    /// <summary>The trigger's name.</summary>
    public required string TriggerName { get; init; }

    /// <summary>The trigger's action type.</summary>
    public required string ActionType { get; init; }

    /// <summary>The event type dispatched.</summary>
    public required string EventType { get; init; }

    /// <summary>The task of the event.</summary>
    public required int TaskId { get; init; }

    /// <summary>0 for the host's event, 1 for an event an action caused, and so on.</summary>
    public required int Depth { get; init; }

    /// <summary>What happened.</summary>
    public required TriggerOutcomeKind Kind { get; init; }

    /// <summary>The error, for <see cref="TriggerOutcomeKind.Failed"/> and <see cref="TriggerOutcomeKind.SuppressedLoop"/>.</summary>
    public string? Error { get; init; }

    /// <summary>For <see cref="TriggerOutcomeKind.ConditionFalse"/>, the clause that failed and the actual value.</summary>
    public ConditionFailure? FailedClause { get; init; }

    /// <summary>What the action returned.</summary>
    public JsonElement? Result { get; init; }

    /// <summary>How long the action ran.</summary>
    public TimeSpan Duration { get; init; }
}

/// <summary>The outcome of dispatching one event and every event its actions caused.</summary>
/// <param name="CorrelationId">The id shared by the chain, stored on every log row.</param>
/// <param name="Outcomes">One outcome per candidate trigger, in execution order, across the chain.</param>
public sealed record DispatchReport(Guid CorrelationId, IReadOnlyList<TriggerOutcome> Outcomes)
{
    /// <summary>
    /// Triggers of the dispatched event types that the rule index excluded without evaluation, because a top-level
    /// equality clause (for example <c>{"taskTypeCode":"LAN"}</c>) cannot match. Use a test run to explain one of them.
    /// </summary>
    public int NotConsidered { get; init; }

    /// <summary>
    /// Why the dispatch's execution log rows could not be written, or <see langword="null"/> when they were (or none was
    /// due). The failure is also logged (event id 4004, with <see cref="CorrelationId"/>) and counted in
    /// <c>dermag.bom_triggers.log.write_failures</c>. In the caller's transaction or in strict mode the dispatch throws instead.
    /// </summary>
    public string? LogWriteError { get; init; }

    /// <summary>Whether any trigger failed.</summary>
    public bool HasFailures => Outcomes.Any(o => o.Kind == TriggerOutcomeKind.Failed);

    /// <summary>The outcomes of one kind.</summary>
    public IEnumerable<TriggerOutcome> OfKind(TriggerOutcomeKind kind) => Outcomes.Where(o => o.Kind == kind);
}

/// <summary>Per-dispatch choices.</summary>
public sealed record DispatchOptions
{
    /// <summary>
    /// The caller's unit of work. When set, log rows are written in its transaction and actions get it through
    /// <see cref="ActionContext.Enlistment"/>, so they commit or roll back with the task change.
    /// </summary>
    public IBomTriggerEnlistment? Enlistment { get; init; }

    /// <summary>Options that enlist the dispatch in <paramref name="transaction"/> (for the PostgreSQL store, an Npgsql transaction).</summary>
    public static DispatchOptions InTransaction(DbTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return new DispatchOptions { Enlistment = new TransactionEnlistment(transaction) };
    }

    /// <summary>
    /// When true, every active trigger of the event type is evaluated and reported (so a trigger whose equality clause
    /// does not match shows up as <see cref="TriggerOutcomeKind.ConditionFalse"/> with the clause and actual value),
    /// bypassing the rule index. Meant for debugging "why did my rule not fire?"; the default keeps dispatch cost
    /// independent of triggers that cannot match.
    /// </summary>
    public bool Explain { get; init; }

    /// <summary>Overrides <c>BomTriggerOptions.StrictMode</c> for this dispatch.</summary>
    public bool? Strict { get; init; }
}

/// <summary>Test data for a dry run.</summary>
/// <param name="TestData">The event data (a JSON object).</param>
public sealed record TriggerTestRequest(JsonElement TestData)
{
    /// <summary>Previous values, for <c>$changed</c>.</summary>
    public JsonElement? PreviousValues { get; init; }

    /// <summary>The task id to pretend.</summary>
    public int TaskId { get; init; }

    /// <summary>The task type to pretend, checked against <c>source_task_type_id</c>.</summary>
    public int? TaskTypeId { get; init; }
}

/// <summary>What a dry run found. Nothing was executed or logged.</summary>
public sealed record TriggerTestResult
{
    /// <summary>False when the stored trigger does not exist.</summary>
    public bool Found { get; init; } = true;

    /// <summary>Problems with the trigger definition (an invalid trigger is explained, never run).</summary>
    public IReadOnlyList<TriggerValidationError> Errors { get; init; } = [];

    /// <summary>Whether the trigger is active.</summary>
    public bool IsActive { get; init; }

    /// <summary>Whether the task type passes the <c>source_task_type_id</c> filter.</summary>
    public bool TaskTypeMatches { get; init; }

    /// <summary>The condition evaluated against the test data, clause by clause.</summary>
    public ConditionExplanation? Condition { get; init; }

    /// <summary>Whether a real dispatch with this data would run the action.</summary>
    public bool WouldExecute { get; init; }

    /// <summary>The action that would run.</summary>
    public string ActionType { get; init; } = string.Empty;

    /// <summary>The action's configuration.</summary>
    public JsonElement? ActionConfig { get; init; }

    /// <summary>The explanation in sentences.</summary>
    public IReadOnlyList<string> Explanation { get; init; } = [];

    /// <summary>
    /// When the action would run: the active triggers its events could set off (the events the action type declares in
    /// <see cref="IBomActionDescription.CausedEvents"/>), and theirs in turn, down to <see cref="BomTriggerOptions.MaxChainDepth"/>,
    /// each trigger once. The action is not run, so the data of the events it would raise is unknown: these triggers would be
    /// considered, and whether each fires depends on its condition then. Empty when the action would not run.
    /// </summary>
    public IReadOnlyList<ChainedTriggerCandidate> ChainedTriggers { get; init; } = [];
}

/// <summary>A trigger a dry run's action could set off: it listens to an event that an action earlier in the chain may raise.</summary>
public sealed record ChainedTriggerCandidate
{
    /// <summary>1 for a trigger of an event the tested action raises, 2 for one the first ones' actions raise, and so on.</summary>
    public required int Depth { get; init; }

    /// <summary>The event that would reach it.</summary>
    public required string EventType { get; init; }

    /// <summary>The trigger whose action raises that event; null for the tested trigger (unsaved, or the one tested).</summary>
    public int? CausedByTriggerId { get; init; }

    /// <summary>The trigger that would be considered.</summary>
    public required int TriggerId { get; init; }

    /// <summary>Its name.</summary>
    public required string TriggerName { get; init; }

    /// <summary>Its action.</summary>
    public required string ActionType { get; init; }

    /// <summary>Its priority (higher runs first).</summary>
    public int Priority { get; init; }
}

/// <summary>Dispatches events to triggers and explains triggers without running them.</summary>
public interface IBomTriggerEngine
{
    /// <summary>
    /// Runs the active triggers of the event's type (and chained events) and returns one outcome per candidate.
    /// Failures are isolated and reported, never thrown, unless strict mode is on.
    /// </summary>
    /// <exception cref="BomTriggerException">Strict mode is on and a trigger failed.</exception>
    /// <exception cref="ArgumentException">
    /// The event type is not known (neither built in nor registered with <c>AddEventType</c>, so no trigger can listen to
    /// it), or it is <see cref="BomTriggerEvents.Schedule"/>, which only the scheduler raises.
    /// </exception>
    /// <exception cref="InvalidOperationException">The dispatch is enlisted in a transaction and the store is the in-memory one.</exception>
    Task<DispatchReport> DispatchAsync(BomTriggerEvent triggerEvent, DispatchOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Explains whether stored trigger <paramref name="triggerId"/> would run for the test data. Executes nothing.</summary>
    Task<TriggerTestResult> TestAsync(int triggerId, TriggerTestRequest request, CancellationToken cancellationToken = default);

    /// <summary>Explains whether an unsaved trigger would run for the test data. Executes nothing.</summary>
    Task<TriggerTestResult> TestAsync(BomTriggerDefinition definition, TriggerTestRequest request, CancellationToken cancellationToken = default);
}
