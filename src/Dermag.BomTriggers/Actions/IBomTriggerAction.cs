using System.Data.Common;
using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>
/// An action type. Register custom ones with <c>AddBomTriggers().AddAction&lt;THandler&gt;("TYPE")</c>; handlers are
/// resolved from a service scope per dispatch, so they may depend on scoped services such as a DbContext. What the
/// action is (description, config fields, caused events) is static (<see cref="IBomActionDescription"/>), read once at
/// registration: listing actions or validating a definition never creates a handler for that.
/// </summary>
public interface IBomTriggerAction
{
    /// <summary>Checks <c>action_config</c> when a trigger is saved; report every problem through <paramref name="context"/>.</summary>
    void ValidateConfig(JsonElement config, ActionConfigValidationContext context);

    /// <summary>Runs the action. Throw (or let the timeout cancel) to fail; the engine isolates and logs failures.</summary>
    Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken);
}

/// <summary>
/// What an action type is, declared as static members of its handler class so it is known without an instance: the
/// list of actions, editors and the save-time check of unknown config fields read it from the registration.
/// </summary>
public interface IBomActionDescription
{
    /// <summary>A one-line description for the list of actions.</summary>
    static abstract string Description { get; }

    /// <summary>The fields <c>action_config</c> takes; a saved config with any other property is refused.</summary>
    static abstract IReadOnlyList<ActionConfigField> ConfigFields { get; }

    /// <summary>The event types this action may cause, so editors can show the chain.</summary>
    static abstract IReadOnlyList<string> CausedEvents { get; }

    /// <summary>
    /// Declare <see langword="true"/> only for an action that never blocks before returning its task (it does its work
    /// asynchronously or finishes at once): it then runs on the dispatching thread instead of being started on the thread
    /// pool, which saves a thread hop per execution. Its timeout still cancels it and its grace still applies, but a
    /// synchronous block before it returns its task would hold the dispatch beyond the timeout.
    /// </summary>
    /// <value>The default is <see langword="false"/>: every action is started on the thread pool, so any block is bounded.</value>
    static virtual bool NeverBlocks => false;
}

/// <summary>A field of an action's configuration.</summary>
/// <param name="Name">The JSON property name.</param>
/// <param name="Type">The JSON type, for example <c>string</c>, <c>number</c> or <c>string[]</c>.</param>
/// <param name="Required">Whether it must be present.</param>
/// <param name="Description">What it means.</param>
public sealed record ActionConfigField(string Name, string Type, bool Required, string Description);

/// <summary>An action type with its configuration fields (the "list actions" operation).</summary>
/// <param name="ActionType">The action type, for example <c>ADD_MATERIAL</c>.</param>
/// <param name="Description">What it does.</param>
/// <param name="ConfigFields">Its configuration fields.</param>
/// <param name="CausedEvents">The events it may cause.</param>
/// <param name="IsBuiltIn">Whether it is one of the original five.</param>
public sealed record BomActionDescriptor(string ActionType, string Description, IReadOnlyList<ActionConfigField> ConfigFields, IReadOnlyList<string> CausedEvents, bool IsBuiltIn);

/// <summary>Collects problems with an action configuration; paths are relative to <c>/actionConfig</c>.</summary>
public sealed class ActionConfigValidationContext
{
    private readonly List<TriggerValidationError> _errors;

    internal ActionConfigValidationContext(List<TriggerValidationError> errors, string actionType, int? targetTaskTypeId, IReadOnlyList<ActionConfigField> configFields)
    {
        _errors = errors;
        ActionType = actionType;
        TargetTaskTypeId = targetTaskTypeId;
        ConfigFields = configFields;
    }

    /// <summary>The config fields the action type declares (<see cref="IBomActionDescription.ConfigFields"/>).</summary>
    public IReadOnlyList<ActionConfigField> ConfigFields { get; }

    /// <summary>The action type being validated.</summary>
    public string ActionType { get; }

    /// <summary>The trigger's target task type, which some actions use instead of a config field.</summary>
    public int? TargetTaskTypeId { get; }

    /// <summary>Reports a problem with the property <paramref name="property"/> (empty for the whole config).</summary>
    public void AddError(string property, string message)
    {
        ArgumentNullException.ThrowIfNull(property);
        _errors.Add(new TriggerValidationError("/actionConfig" + (property.Length == 0 ? string.Empty : "/" + property), message));
    }

    // The checks the built-in actions make, for custom actions too; each reports at the property's JSON Pointer.

    /// <summary>
    /// Checks that <paramref name="config"/> is an object with no property outside <see cref="ConfigFields"/>; true when it is
    /// an object (so the property checks can follow).
    /// </summary>
    public bool RequireObjectOfDeclaredFields(JsonElement config)
    {
        if (!ConfigReader.IsObject(config, this))
        {
            return false;
        }

        ConfigReader.RejectUnknown(config, ConfigFields, this);
        return true;
    }

    /// <summary>Requires <paramref name="name"/> to be a non-empty string.</summary>
    public void RequireString(JsonElement config, string name) => ConfigReader.RequireString(config, name, this);

    /// <summary>Allows <paramref name="name"/> to be absent, null or a string.</summary>
    public void OptionalString(JsonElement config, string name) => ConfigReader.OptionalString(config, name, this);

    /// <summary>Checks that <paramref name="name"/> is a number <paramref name="valid"/> accepts (and present when <paramref name="required"/>).</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="name">The property.</param>
    /// <param name="required">Whether it must be present.</param>
    /// <param name="valid">The range check, for example <c>q =&gt; q &gt; 0</c>.</param>
    /// <param name="expectation">How the error describes a valid value, for example <c>a positive number</c>.</param>
    public void CheckNumber(JsonElement config, string name, bool required, Func<decimal, bool> valid, string expectation) =>
        ConfigReader.CheckNumber(config, name, required, valid, expectation, this);
}

/// <summary>What an action receives.</summary>
public sealed class ActionContext
{
    private readonly ExecutionKey _executionKey;
    private string? _idempotencyKey;

    internal ActionContext(BomTrigger trigger, BomTriggerEvent triggerEvent, Guid correlationId, int depth, IBomTriggerEnlistment? enlistment, IServiceProvider services, ExecutionKey executionKey = default, int attempt = 1)
    {
        _executionKey = executionKey;
        Attempt = attempt;
        Trigger = trigger;
        Event = triggerEvent;
        CorrelationId = correlationId;
        Depth = depth;
        Enlistment = enlistment;
        Services = services;
    }

    /// <summary>The trigger that fired.</summary>
    public BomTrigger Trigger { get; }

    /// <summary>The trigger's action configuration.</summary>
    public JsonElement Config => Trigger.ActionConfig;

    /// <summary>The event that fired it.</summary>
    public BomTriggerEvent Event { get; }

    /// <summary>The id shared by the whole chain of events.</summary>
    public Guid CorrelationId { get; }

    /// <summary>0 for the host's event, 1 for an event an action caused, and so on.</summary>
    public int Depth { get; }

    /// <summary>
    /// The caller's unit of work when the dispatch enlisted in one. Actions that change data should use it (its
    /// <see cref="IBomTriggerEnlistment.Transaction"/>, or the EF Core package's <c>GetDbContext&lt;T&gt;()</c>) so their
    /// changes commit or roll back with the caller's. A <c>DbContext</c> injected into an action comes from the dispatch's own
    /// scope and is not part of the caller's transaction.
    /// </summary>
    public IBomTriggerEnlistment? Enlistment { get; }

    /// <summary>The enlisted transaction, if any (<c>Enlistment?.Transaction</c>).</summary>
    public DbTransaction? Transaction => Enlistment?.Transaction;

    /// <summary>
    /// Identifies this execution: the same for every attempt of a queued job and for the same event (by
    /// <see cref="BomTriggerEvent.EventId"/>) dispatched again. Queued execution is at least once: an action with an
    /// effect outside the caller's transaction should record this key with the effect (a unique column, a message id) so a
    /// second attempt finds the first one's work done.
    /// </summary>
    public string IdempotencyKey => _idempotencyKey ??= _executionKey.Stored ?? BomTriggerEngine.IdempotencyKey(_executionKey.EventId, Trigger.Id);

    /// <summary>1 for the first attempt; above 1 when a queued job is retried or taken over from a worker that died.</summary>
    public int Attempt { get; }

    /// <summary>The dispatch's service scope.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The service the action needs from the host, or a clear failure naming the action type and the service.</summary>
    /// <exception cref="BomTriggerException">No <typeparamref name="T"/> is registered.</exception>
    public T GetRequiredService<T>()
        where T : class =>
        Services.GetService(typeof(T)) as T
        ?? throw new BomTriggerException($"{Trigger.ActionType} needs an implementation of {typeof(T).Name} registered in the service collection.");

    /// <summary>The string config property <paramref name="name"/> (validated as required when the trigger was saved).</summary>
    public string ConfigString(string name) => ConfigReader.String(Config, name);

    /// <summary>The string config property <paramref name="name"/>, or <see langword="null"/> when absent or null.</summary>
    public string? ConfigStringOrNull(string name) => ConfigReader.OptionalStringValue(Config, name);

    /// <summary>The number config property <paramref name="name"/>, exactly as a decimal, or <see langword="null"/> when absent.</summary>
    public decimal? ConfigNumber(string name) => ConfigReader.Decimal(Config, name);

    /// <summary>
    /// An event the action causes, for <see cref="ActionResult.CausedEvents"/>: the same task, its data the task fields of
    /// the event that fired (<c>taskId</c>, <c>taskTypeId</c>, <c>taskTypeCode</c>, <c>status</c>, ...) plus <paramref name="data"/>.
    /// The engine dispatches it next in the same chain (same correlation id, one level deeper, loop guard).
    /// </summary>
    public BomTriggerEvent CauseEvent(string eventType, System.Text.Json.Nodes.JsonObject? data = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventType);
        return new BomTriggerEvent(eventType, Event.TaskId, Event.TaskTypeId, BomTriggerEvent.ToElement(BuiltInAction.TaskData(Event, data ?? [])));
    }
}

/// <summary>What an action did.</summary>
public sealed record ActionResult
{
    /// <summary>Data stored in the log's <c>result_data</c>.</summary>
    public JsonElement? Data { get; init; }

    /// <summary>Events the action caused, which the engine dispatches next in the same chain.</summary>
    public IReadOnlyList<BomTriggerEvent> CausedEvents { get; init; } = [];

    /// <summary>A result with no data and no caused events.</summary>
    public static ActionResult Empty { get; } = new();
}
