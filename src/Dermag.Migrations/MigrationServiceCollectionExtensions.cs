using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Dermag.Migrations;

/// <summary>How a store's migrations are registered; <c>AddDermagPostgresStore</c> builds on it.</summary>
internal static class MigrationServiceCollectionExtensions
{
    /// <summary>
    /// Registers (or replaces, so calling twice is harmless) the migrations of <paramref name="library"/>; the startup mode is
    /// read when the host starts.
    /// </summary>
    public static IServiceCollection AddDermagMigrations(
        this IServiceCollection services,
        string library,
        Func<IServiceProvider, MigrationStartupMode> mode,
        Func<IServiceProvider, MigrationRunner> createRunner)
    {
        var existing = services.FirstOrDefault(d =>
            d.ServiceType == typeof(MigrationRegistration) && d.ImplementationInstance is MigrationRegistration r && r.Library == library);
        if (existing is not null)
        {
            services.Remove(existing);
        }

        services.AddSingleton(new MigrationRegistration(library, mode, createRunner));
        services.TryAddSingleton(sp => new DermagMigrations(sp.GetServices<MigrationRegistration>(), sp));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MigrationHostedService>());
        return services;
    }
}
