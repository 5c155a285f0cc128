using Dermag.BomTriggers;
using Dermag.Migrations;
using Dermag.SampleHost.Tasks.Postgres;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Dermag.SampleHost.Tasks;

/// <summary>Registers the sample's task/BOM domain: in memory without a connection string, on PostgreSQL through EF Core with one.</summary>
internal static class SampleTasksServiceCollectionExtensions
{
    public const string LibraryName = "Dermag.SampleHost";

    public static IServiceCollection AddSampleTasks(this IServiceCollection services, string? connectionString)
    {
        if (connectionString is null)
        {
            services.AddSingleton<InMemoryTaskBoard>();
            services.AddSingleton<ITaskBoard>(sp => sp.GetRequiredService<InMemoryTaskBoard>());
            services.AddSingleton<IBomEditor>(sp => sp.GetRequiredService<InMemoryTaskBoard>());
            services.AddSingleton<IBomCostCalculator>(sp => sp.GetRequiredService<InMemoryTaskBoard>());
            services.AddSingleton<IBomNotificationSender>(sp => sp.GetRequiredService<InMemoryTaskBoard>());
            return services;
        }

        // The app's tables go through the same migration runner as the libraries' (one history table, advisory lock, so
        // several instances may start at once; `export-sql` includes them).
        services.AddDermagPostgresStore<SampleTaskStoreOptions>(
            LibraryName,
            o => o.ConnectionString = connectionString,
            MigrationSet.FromEmbeddedResources(typeof(SampleDbContext).Assembly, LibraryName, "Dermag.SampleHost.Tasks.Postgres.Migrations."),
            _ => new Dictionary<string, string>());

        // Interceptors registered in DI join every context (the tests use one to fail a request after the dispatch).
        services.AddDbContext<SampleDbContext>((sp, options) => options
            .UseNpgsql(sp.GetRequiredService<PostgresStoreDataSource<SampleTaskStoreOptions>>().DataSource)
            .AddInterceptors(sp.GetServices<IInterceptor>()));

        // Scoped: the built-in actions resolve these from the dispatch's scope and then work in the caller's context.
        services.AddScoped<EfTaskBoard>();
        services.AddScoped<ITaskBoard>(sp => sp.GetRequiredService<EfTaskBoard>());
        services.AddScoped<IBomEditor>(sp => sp.GetRequiredService<EfTaskBoard>());
        services.AddScoped<IBomCostCalculator>(sp => sp.GetRequiredService<EfTaskBoard>());
        services.AddScoped<IBomNotificationSender>(sp => sp.GetRequiredService<EfTaskBoard>());
        return services;
    }
}

/// <summary>Where the sample's own tables live (the public schema of <c>ConnectionStrings:Dermag</c>).</summary>
internal sealed class SampleTaskStoreOptions : PostgresStoreOptions;
