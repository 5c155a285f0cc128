using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Dermag.BomTriggers.Tests.TestSupport;

/// <summary>A test DbContext whose tables live in a schema chosen per test.</summary>
public interface ISchemaContext
{
    string Schema { get; }
}

/// <summary>
/// EF Core caches one model per context type, so without this the first test's schema would be used by every later
/// context of the type; each test class has its own schema, so the key includes it.
/// </summary>
public sealed class PerSchemaModelCacheKeyFactory : IModelCacheKeyFactory
{
    public object Create(DbContext context, bool designTime) => (context.GetType(), (context as ISchemaContext)?.Schema, designTime);
}
