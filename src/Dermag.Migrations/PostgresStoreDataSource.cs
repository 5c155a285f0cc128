using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.Migrations;

/// <summary>
/// The data source of the PostgreSQL store configured by <typeparamref name="TOptions"/>: one built from
/// <see cref="PostgresStoreOptions.ConnectionString"/> (owned, disposed with the container, and not resetting the connections
/// it takes back unless the string says otherwise), or the host's
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
            DataSource = NpgsqlDataSource.Create(WithoutResetOnClose(connectionString));
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
    /// <paramref name="connectionString"/> with <c>No Reset On Close=true</c> unless it sets that keyword itself. The stores
    /// leave no session state on the connections they give back (no session-level <c>SET</c>, locks or temporary tables,
    /// and their listeners end <c>LISTEN</c> first), so resetting a connection (<c>DISCARD ALL</c>) would only throw away
    /// the plans PostgreSQL keeps for the stores' functions and cost the server a command per use.
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
