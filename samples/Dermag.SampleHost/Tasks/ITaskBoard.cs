using Dermag.BomTriggers;

namespace Dermag.SampleHost.Tasks;

/// <summary>
/// The sample's task/BOM domain as the endpoints use it. Two implementations: <see cref="InMemoryTaskBoard"/> when no
/// database is configured, and <see cref="Postgres.EfTaskBoard"/> on PostgreSQL (the app's own EF Core
/// <see cref="Postgres.SampleDbContext"/>, with trigger dispatch enlisted in its transaction).
/// </summary>
public interface ITaskBoard
{
    /// <summary>
    /// Starts a unit of work: on PostgreSQL a transaction of the app's <c>DbContext</c>, which the task change, the trigger
    /// actions' changes, the trigger log rows and the queued jobs all join; disposing it without
    /// <see cref="ITaskChange.CommitAsync"/> rolls all of them back. In memory there is nothing to roll back.
    /// </summary>
    Task<ITaskChange> BeginChangeAsync(CancellationToken cancellationToken);

    Task<TaskView> CreateAsync(string title, TaskType type, IReadOnlyList<string> tags, string createdBy, CancellationToken cancellationToken);

    Task<TaskView?> GetAsync(int id, CancellationToken cancellationToken);

    Task<IReadOnlyList<TaskView>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Sets the status; returns the previous status, or null when the task does not exist.</summary>
    Task<string?> ChangeStatusAsync(int id, string status, CancellationToken cancellationToken);

    /// <summary>Adds a material (merging into an existing line of the same material); null when the task does not exist.</summary>
    Task<BomLine?> AddMaterialAsync(int taskId, string materialName, decimal quantity, string? unit, decimal? unitPrice, string? category, string addedBy, CancellationToken cancellationToken);

    /// <summary>Sets a line's quantity; returns the line before and after, or null when the task or line does not exist.</summary>
    Task<(BomLine Before, BomLine After)?> SetQuantityAsync(int taskId, int lineId, decimal quantity, CancellationToken cancellationToken);

    /// <summary>
    /// Raises a task event through the trigger engine (on PostgreSQL enlisted in the current change) and remembers the
    /// outcomes with the task, so the page can show why each trigger did or did not fire.
    /// </summary>
    Task<DispatchReport> DispatchAsync(BomTriggerEvent triggerEvent, CancellationToken cancellationToken);
}

/// <summary>A unit of work begun by <see cref="ITaskBoard.BeginChangeAsync"/>; disposed without commit, it rolls back.</summary>
public interface ITaskChange : IAsyncDisposable
{
    Task CommitAsync(CancellationToken cancellationToken);
}
