using Npgsql;
using Xunit;

namespace Dermag.Testing;

/// <summary>
/// A fresh, empty database for one test class (<c>IClassFixture&lt;PostgresDatabase&gt;</c>), on the process's shared
/// <see cref="PostgresServer"/>. Classes run in parallel without seeing each other's rows.
/// </summary>
public class PostgresDatabase : IAsyncLifetime
{
    private NpgsqlDataSource? _dataSource;

    /// <summary>The connection string of this class's database.</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>A data source for this class's database.</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The database is not initialized yet.");

    /// <summary>The server the database lives on.</summary>
    public PostgresServer Server { get; private set; } = null!;

    /// <inheritdoc />
    public virtual async Task InitializeAsync()
    {
        Server = await PostgresServer.GetAsync();
        ConnectionString = await Server.CreateDatabaseAsync(GetType().Name);
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    /// <summary>Creates another empty database on the same server.</summary>
    public Task<string> CreateDatabaseAsync(string? nameHint = null) => Server.CreateDatabaseAsync(nameHint);

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }
}
