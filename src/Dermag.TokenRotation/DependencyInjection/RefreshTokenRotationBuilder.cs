using Dermag.Migrations;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the store and extras of Dermag.TokenRotation; returned by <c>AddRefreshTokenRotation()</c>.</summary>
public sealed class RefreshTokenRotationBuilder
{
    internal RefreshTokenRotationBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Stores tokens and audit rows in PostgreSQL, using the <c>NpgsqlDataSource</c> from DI (keyed when
    /// <see cref="PostgresTokenStoreOptions.DataSourceKey"/> is set) or one built from
    /// <see cref="PostgresTokenStoreOptions.ConnectionString"/>, and registers the embedded migrations with
    /// <see cref="PostgresTokenStoreOptions.MigrationMode"/> (applied before other hosted services start).
    /// </summary>
    /// <param name="configure">Sets schema, user-id column type, users table for the foreign key, migration mode, connection.</param>
    public RefreshTokenRotationBuilder UsePostgres(Action<PostgresTokenStoreOptions>? configure = null)
    {
        // The startup mode is needed at registration time, so the delegate also runs once here.
        var probe = new PostgresTokenStoreOptions();
        configure?.Invoke(probe);

        var options = Services.AddOptions<PostgresTokenStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresTokenStoreOptions>, PostgresTokenStoreOptionsValidator>());
        Services.Replace(ServiceDescriptor.Singleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<PostgresTokenStoreOptions>>().Value;
            if (o.ConnectionString is not null)
            {
                return new TokenRotationDataSource(NpgsqlDataSource.Create(o.ConnectionString), owned: true);
            }

            var dataSource = o.DataSourceKey is null
                ? sp.GetService<NpgsqlDataSource>()
                : sp.GetKeyedService<NpgsqlDataSource>(o.DataSourceKey);
            return new TokenRotationDataSource(
                dataSource ?? throw new TokenRotationException(
                    "Dermag.TokenRotation.UsePostgres found no NpgsqlDataSource" + (o.DataSourceKey is null ? string.Empty : $" with key '{o.DataSourceKey}'")
                    + " in DI; register one (AddNpgsqlDataSource) or set PostgresTokenStoreOptions.ConnectionString."),
                owned: false);
        }));
        Services.Replace(ServiceDescriptor.Singleton<IRefreshTokenStore>(sp => new PostgresRefreshTokenStore(
            sp.GetRequiredService<TokenRotationDataSource>().DataSource,
            sp.GetRequiredService<IOptions<PostgresTokenStoreOptions>>().Value)));
        Services.AddDermagMigrations(TokenRotationMigrations.Library, probe.MigrationMode, sp => TokenRotationMigrations.CreateRunner(
            sp.GetRequiredService<TokenRotationDataSource>().DataSource,
            sp.GetRequiredService<IOptions<PostgresTokenStoreOptions>>().Value,
            sp.GetService<ILogger<MigrationRunner>>()));

        // Runs after the migrations (they run while the host is starting, before any hosted service starts).
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, UserIdTypeCheck>());
        Services.TryAddSingleton<RevocationListener>();
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RevocationListenerHost>());
        return this;
    }

    /// <summary>Like <see cref="UsePostgres(Action{PostgresTokenStoreOptions})"/> with a connection string the store builds (and owns) its data source from.</summary>
    public RefreshTokenRotationBuilder UsePostgres(string connectionString, Action<PostgresTokenStoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return UsePostgres(o =>
        {
            o.ConnectionString = connectionString;
            configure?.Invoke(o);
        });
    }

    /// <summary>Keeps tokens in process memory: same semantics as PostgreSQL, for tests and demos. Nothing survives a restart.</summary>
    public RefreshTokenRotationBuilder UseInMemoryStore()
    {
        Services.Replace(ServiceDescriptor.Singleton<IRefreshTokenStore, InMemoryRefreshTokenStore>());
        return this;
    }

    /// <summary>
    /// Adds a source of claims for every access token issued, at login and at each refresh (for example the user's current
    /// roles), resolved from a new DI scope per token. Several providers add up; per-call claims are added to theirs.
    /// </summary>
    /// <typeparam name="TProvider">The provider; registered as scoped, so it may use scoped services such as a <c>DbContext</c>.</typeparam>
    public RefreshTokenRotationBuilder AddClaimsProvider<TProvider>()
        where TProvider : class, IAccessTokenClaimsProvider
    {
        Services.TryAddSingleton<ClaimsProviderRegistration>();
        Services.TryAddEnumerable(ServiceDescriptor.Scoped<IAccessTokenClaimsProvider, TProvider>());
        return this;
    }

    /// <summary>
    /// Adds a hosted service that runs <see cref="IRefreshTokenManager.CleanupAsync"/> every
    /// <see cref="RefreshTokenRotationOptions.CleanupInterval"/>. Safe with several instances (batches skip rows another is deleting).
    /// </summary>
    public RefreshTokenRotationBuilder AddPeriodicCleanup()
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RefreshTokenCleanupService>());
        return this;
    }
}
