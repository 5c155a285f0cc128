using Dermag.Migrations;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the store and extras of Dermag.TokenRotation; returned by <c>AddRefreshTokenRotation()</c>.</summary>
public sealed class RefreshTokenRotationBuilder
{
    internal RefreshTokenRotationBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Stores sessions, tokens and audit rows in PostgreSQL, using the <c>NpgsqlDataSource</c> from DI (keyed when
    /// <see cref="PostgresStoreOptions.DataSourceKey"/> is set) or one built from
    /// <see cref="PostgresStoreOptions.ConnectionString"/>, and registers the embedded migrations, run as
    /// <see cref="PostgresStoreOptions.MigrationMode"/> says when the host starts (before other hosted services start).
    /// <paramref name="configure"/> runs once, when the options are first read, after any other configuration of them.
    /// </summary>
    /// <param name="configure">Sets schema, user-id column type, users table for the foreign key, migration mode, connection.</param>
    public RefreshTokenRotationBuilder UsePostgres(Action<PostgresTokenStoreOptions>? configure = null)
    {
        Services.AddDermagPostgresStore(TokenRotationMigrations.Library, configure, TokenRotationMigrations.Scripts, TokenRotationMigrations.Placeholders);
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresTokenStoreOptions>, PostgresTokenStoreOptionsValidator>());
        Services.Replace(ServiceDescriptor.Singleton<IRefreshTokenStore>(sp => new PostgresRefreshTokenStore(
            sp.GetRequiredService<PostgresStoreDataSource<PostgresTokenStoreOptions>>().DataSource,
            sp.GetRequiredService<IOptionsMonitor<PostgresTokenStoreOptions>>().CurrentValue)));

        // Runs after the migrations (they run while the host is starting, before any hosted service starts).
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgresSchemaCheck>());
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
