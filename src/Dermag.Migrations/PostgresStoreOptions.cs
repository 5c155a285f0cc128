namespace Dermag.Migrations;

/// <summary>
/// What every Dermag PostgreSQL store is configured with: where its connections come from, its schema and what the host
/// does with its migrations at startup. The libraries' store options (<c>PostgresTokenStoreOptions</c>,
/// <c>PostgresTriggerStoreOptions</c>) derive from it, so both read the same way. Validated when the host starts; read
/// then, so values set later through <c>Configure</c> or configuration binding are honoured.
/// </summary>
public abstract class PostgresStoreOptions
{
    /// <summary>
    /// A connection string the store builds (and owns) its own data source from, with <c>No Reset On Close=true</c> unless
    /// the string sets that keyword (the stores leave no session state on the connections they give back). When null, an
    /// <c>NpgsqlDataSource</c> is taken from DI, as the host configured it.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? ConnectionString { get; set; }

    /// <summary>The service key of a keyed <c>NpgsqlDataSource</c> in DI; ignored when <see cref="ConnectionString"/> is set.</summary>
    /// <value>The default is <see langword="null"/> (the unkeyed data source).</value>
    public object? DataSourceKey { get; set; }

    /// <summary>The schema of the store's tables and functions. A plain identifier; created when missing.</summary>
    /// <value>The default is <c>public</c>.</value>
    public string Schema { get; set; } = "public";

    /// <summary>What the host does with the store's migrations at startup.</summary>
    /// <value>The default is <see cref="MigrationStartupMode.Apply"/>.</value>
    public MigrationStartupMode MigrationMode { get; set; } = MigrationStartupMode.Apply;
}
