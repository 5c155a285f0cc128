namespace Dermag.SampleHost.Tasks;

/// <summary>A task type (the original's <c>task_types</c>): the id triggers filter on and the code conditions test.</summary>
/// <param name="Id">The id, used for <c>source_task_type_id</c> and <c>target_task_type_id</c>.</param>
/// <param name="Code">The code conditions test, for example <c>LAN</c>.</param>
/// <param name="Name">A friendly name.</param>
public sealed record TaskType(int Id, string Code, string Name);

/// <summary>A material of the catalog, with the price the cost calculation uses.</summary>
/// <param name="Name">The material's name.</param>
/// <param name="Unit">The unit, for example <c>m</c>.</param>
/// <param name="UnitPrice">The price of one unit.</param>
/// <param name="Category">The category, for example <c>network</c>.</param>
public sealed record CatalogMaterial(string Name, string Unit, decimal UnitPrice, string Category);

/// <summary>One line of a task's Bill of Materials.</summary>
/// <param name="Id">The line id within the task.</param>
/// <param name="MaterialName">The material.</param>
/// <param name="Quantity">How much.</param>
/// <param name="Unit">The unit.</param>
/// <param name="UnitPrice">The price of one unit.</param>
/// <param name="Category">The material category.</param>
/// <param name="AddedBy">Who added it: a user name or <c>trigger: name</c>.</param>
public sealed record BomLine(int Id, string MaterialName, decimal Quantity, string Unit, decimal UnitPrice, string? Category, string AddedBy)
{
    /// <summary>Quantity times unit price.</summary>
    public decimal LineCost => Quantity * UnitPrice;
}

/// <summary>A notification the <c>NOTIFY</c> action recorded.</summary>
/// <param name="Message">The text.</param>
/// <param name="Recipients">The recipients (roles).</param>
/// <param name="TriggerName">The trigger that sent it.</param>
/// <param name="SentAt">When.</param>
public sealed record TaskNotification(string Message, IReadOnlyList<string> Recipients, string TriggerName, DateTimeOffset SentAt);

/// <summary>What one candidate trigger did in a dispatch for this task (from the engine's report).</summary>
/// <param name="EventType">The event dispatched.</param>
/// <param name="TriggerId">The trigger.</param>
/// <param name="TriggerName">Its name.</param>
/// <param name="ActionType">Its action.</param>
/// <param name="Outcome">Executed, Failed, ConditionFalse, SkippedTaskType or SuppressedLoop.</param>
/// <param name="Detail">The error or the failed clause, when there is one.</param>
/// <param name="Depth">0 for the host's event, 1 for a chained event.</param>
public sealed record TriggerRun(string EventType, int TriggerId, string TriggerName, string ActionType, string Outcome, string? Detail, int Depth)
{
    /// <summary>One run per candidate trigger of the report.</summary>
    public static IEnumerable<TriggerRun> From(Dermag.BomTriggers.DispatchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Outcomes.Select(o => new TriggerRun(o.EventType, o.TriggerId, o.TriggerName, o.ActionType, o.Kind.ToString(), o.Error ?? o.FailedClause?.ToString(), o.Depth));
    }
}

/// <summary>A snapshot of a task, as the API returns it.</summary>
public sealed record TaskView
{
    public required int Id { get; init; }

    public required string TaskNumber { get; init; }

    public required string Title { get; init; }

    public required int TaskTypeId { get; init; }

    public required string TaskTypeCode { get; init; }

    public required string Status { get; init; }

    public required IReadOnlyList<string> Tags { get; init; }

    public required IReadOnlyList<BomLine> Bom { get; init; }

    /// <summary>The cost stored by the last <c>CALCULATE_COST</c> run (null until a trigger calculated it).</summary>
    public decimal? Cost { get; init; }

    /// <summary>The sum of the BOM lines right now, for comparison with <see cref="Cost"/>.</summary>
    public required decimal CurrentBomValue { get; init; }

    public DateTimeOffset? CostCalculatedAt { get; init; }

    public required IReadOnlyList<TaskNotification> Notifications { get; init; }

    public required IReadOnlyList<TriggerRun> TriggerRuns { get; init; }

    public required string CreatedBy { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>The statuses a task moves through.</summary>
public static class TaskStatuses
{
    public const string New = "new";
    public const string InProgress = "in_progress";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";

    public static IReadOnlyList<string> All { get; } = [New, InProgress, Completed, Cancelled];
}
