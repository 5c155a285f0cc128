using System.Data.Common;

namespace Dermag.BomTriggers;

/// <summary>
/// The caller's unit of work a dispatch enlists in (<see cref="DispatchOptions.Enlistment"/>): log rows are written in its
/// <see cref="Transaction"/>, and actions reach it through <see cref="ActionContext.Enlistment"/>, so everything commits or
/// rolls back with the caller's change. <see cref="DispatchOptions.InTransaction"/> enlists in an ADO.NET transaction; the
/// <c>Dermag.BomTriggers.EntityFrameworkCore</c> package enlists in a <c>DbContext</c> and hands that context to actions.
/// </summary>
public interface IBomTriggerEnlistment
{
    /// <summary>
    /// The open transaction, or <see langword="null"/> when the caller has none (log rows are then written on their own). The
    /// PostgreSQL store needs an Npgsql transaction here; the in-memory store ignores it.
    /// </summary>
    DbTransaction? Transaction { get; }
}

/// <summary>An enlistment in a plain ADO.NET transaction.</summary>
internal sealed class TransactionEnlistment(DbTransaction transaction) : IBomTriggerEnlistment
{
    public DbTransaction? Transaction { get; } = transaction;
}
