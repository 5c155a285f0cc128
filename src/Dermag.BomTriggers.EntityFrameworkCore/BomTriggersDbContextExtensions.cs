using Dermag.BomTriggers.EntityFrameworkCore;

namespace Dermag.BomTriggers;

/// <summary>Dispatching inside an EF Core <c>DbContext</c>, and reaching that context from an action.</summary>
public static class BomTriggersDbContextExtensions
{
    /// <summary>
    /// Dispatches enlisted in <paramref name="dbContext"/> (see <see cref="DbContextEnlistment"/>): log rows are written in
    /// its current transaction and actions get the context through <c>GetDbContext&lt;T&gt;()</c>. Any
    /// <see cref="DispatchOptions.Enlistment"/> in <paramref name="options"/> is replaced; the other options apply as given.
    /// </summary>
    /// <exception cref="BomTriggerException">On the PostgreSQL store, the context's transaction is not an Npgsql transaction.</exception>
    public static Task<DispatchReport> DispatchAsync(
        this IBomTriggerEngine engine,
        Microsoft.EntityFrameworkCore.DbContext dbContext,
        BomTriggerEvent triggerEvent,
        DispatchOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(dbContext);
        return engine.DispatchAsync(triggerEvent, (options ?? new DispatchOptions()) with { Enlistment = new DbContextEnlistment(dbContext) }, cancellationToken);
    }

    /// <summary>The caller's <typeparamref name="TContext"/> the dispatch was enlisted in.</summary>
    /// <exception cref="BomTriggerException">The dispatch was not enlisted in a DbContext of that type.</exception>
    public static TContext GetDbContext<TContext>(this ActionContext context)
        where TContext : Microsoft.EntityFrameworkCore.DbContext
    {
        ArgumentNullException.ThrowIfNull(context);
        return (context.Enlistment as DbContextEnlistment)?.DbContext as TContext
            ?? throw new BomTriggerException(
                $"Trigger '{context.Trigger.Name}' needs a {typeof(TContext).Name}, but the dispatch was not enlisted in one: dispatch with engine.DispatchAsync(dbContext, event) from Dermag.BomTriggers.EntityFrameworkCore.");
    }
}
