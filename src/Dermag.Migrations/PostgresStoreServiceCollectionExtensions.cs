using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Dermag.Migrations;

/// <summary>
/// The plumbing every Dermag PostgreSQL store registers the same way; called by the libraries' <c>UsePostgres</c>. Apps
/// do not need it.
/// </summary>
public static class PostgresStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TOptions"/> (the <paramref name="configure"/> delegate runs once, when the options are
    /// first read; validated at startup together with the library's own validator), the store's
    /// <see cref="PostgresStoreDataSource{TOptions}"/>, and the library's migrations, whose
    /// <see cref="PostgresStoreOptions.MigrationMode"/> is read when the host starts. Calling it again is harmless.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="library">The library name recorded in the migration history.</param>
    /// <param name="configure">The app's settings for the store, or null.</param>
    /// <param name="scripts">The library's embedded scripts.</param>
    /// <param name="placeholders">The script placeholders the library fills from its options (the schema is filled here).</param>
    public static OptionsBuilder<TOptions> AddDermagPostgresStore<TOptions>(
        this IServiceCollection services,
        string library,
        Action<TOptions>? configure,
        MigrationSet scripts,
        Func<TOptions, IReadOnlyDictionary<string, string>> placeholders)
        where TOptions : PostgresStoreOptions
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(library);
        ArgumentNullException.ThrowIfNull(scripts);
        ArgumentNullException.ThrowIfNull(placeholders);
        var options = services.AddOptions<TOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, PostgresStoreOptionsValidator<TOptions>>());
        services.TryAddSingleton<PostgresStoreDataSource<TOptions>>();
        services.AddDermagMigrations(
            library,
            sp => sp.GetRequiredService<IOptionsMonitor<TOptions>>().CurrentValue.MigrationMode,
            sp =>
            {
                var value = sp.GetRequiredService<IOptionsMonitor<TOptions>>().CurrentValue;
                var runnerOptions = new MigrationRunnerOptions { Schema = value.Schema };
                foreach (var (key, text) in placeholders(value))
                {
                    runnerOptions.Placeholders[key] = text;
                }

                return new MigrationRunner(sp.GetRequiredService<PostgresStoreDataSource<TOptions>>().DataSource, scripts, runnerOptions, sp.GetService<ILogger<MigrationRunner>>());
            });
        return options;
    }
}
