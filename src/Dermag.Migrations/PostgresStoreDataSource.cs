using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.Migrations;

/// <summary>
/// The data source of the PostgreSQL store configured by <typeparamref name="TOptions"/>: one built from
/// <see cref="PostgresStoreOptions.ConnectionString"/> (owned, disposed with the container; see
/// <see cref="PostgresStoreOptions.StoreLeavesNoSessionState"/> for its reset of pooled connections), or the host's
/// <see cref="NpgsqlDataSource"/> (optionally keyed by <see cref="PostgresStoreOptions.DataSourceKey"/>, never disposed here).
/// Registered by <c>AddDermagPostgresStore</c>; resolved once, when the store is first needed.
/// </summary>
/// <typeparam name="TOptions">The store's options type.</typeparam>
public sealed class PostgresStoreDataSource<TOptions> : IAsyncDisposable
    where TOptions : PostgresStoreOptions
{
    private readonly bool _owned;

    /// <summary>Resolves the data source described by <paramref name="options"/>.</summary>
    /// <exception cref="InvalidOperationException">No connection string is set and DI has no matching <see cref="NpgsqlDataSource"/>.</exception>
    public PostgresStoreDataSource(IServiceProvider services, IOptionsMonitor<TOptions> options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var value = options.CurrentValue;
        if (value.ConnectionString is { } connectionString)
        {
            DataSource = NpgsqlDataSource.Create(value.StoreLeavesNoSessionState ? WithoutResetOnClose(connectionString) : connectionString);
            _owned = true;
            return;
        }

        DataSource = (value.DataSourceKey is { } key ? services.GetKeyedService<NpgsqlDataSource>(key) : services.GetService<NpgsqlDataSource>())
            ?? throw new InvalidOperationException(
                $"{typeof(TOptions).Name} names no connection string and DI has no NpgsqlDataSource"
                + (value.DataSourceKey is null ? string.Empty : $" with the key '{value.DataSourceKey}'")
                + $": register one (AddNpgsqlDataSource) or set {typeof(TOptions).Name}.{nameof(PostgresStoreOptions.ConnectionString)}.");
    }

    /// <summary>
    /// <paramref name="connectionString"/> with <c>No Reset On Close=true</c> unless it sets that keyword itself (for a
    /// store whose options declare <see cref="PostgresStoreOptions.StoreLeavesNoSessionState"/>).
    /// </summary>
    internal static string WithoutResetOnClose(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        foreach (string key in given.Keys)
        {
            if (key.Replace(" ", string.Empty, StringComparison.Ordinal).Equals("NoResetOnClose", StringComparison.OrdinalIgnoreCase))
            {
                return connectionString;
            }
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true }.ConnectionString;
    }

    /// <summary>The data source the store uses.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _owned ? DataSource.DisposeAsync() : ValueTask.CompletedTask;
}
