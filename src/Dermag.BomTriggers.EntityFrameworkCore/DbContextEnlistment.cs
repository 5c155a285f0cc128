using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Dermag.BomTriggers.EntityFrameworkCore;

/// <summary>
/// A dispatch enlisted in an EF Core <see cref="Microsoft.EntityFrameworkCore.DbContext"/>: log rows are written in the
/// context's current transaction, and actions work in the same context (<c>context.GetDbContext&lt;T&gt;()</c>), so the
/// caller's change, the actions' changes and the log rows commit or roll back together.
/// </summary>
public sealed class DbContextEnlistment : IBomTriggerEnlistment
{
    /// <summary>Enlists in <paramref name="dbContext"/> and its current transaction, if it has one.</summary>
    public DbContextEnlistment(DbContext dbContext)
    {
        ArgumentNullException.ThrowIfNull(dbContext);
        DbContext = dbContext;
    }

    /// <summary>The caller's context; actions that change data should use it rather than an injected one.</summary>
    public DbContext DbContext { get; }

    /// <summary>
    /// The context's current transaction, read when the store writes (so a transaction begun after the options were made is
    /// used); <see langword="null"/> when there is none, and then log rows are written on their own.
    /// </summary>
    public DbTransaction? Transaction => DbContext.Database.CurrentTransaction?.GetDbTransaction();
}
