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
    /// A connection string the store builds (and owns) its own data source from (without Npgsql's reset of each connection
    /// it takes back when <see cref="StoreLeavesNoSessionState"/> says so). When null, an <c>NpgsqlDataSource</c> is taken
    /// from DI, as the host configured it.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Whether nothing the store runs leaves session state on a connection it gives back (no session-level <c>SET</c>,
    /// session advisory lock, temporary table or <c>LISTEN</c>). When true, the data source built from
    /// <see cref="ConnectionString"/> does not reset the connections it takes back (<c>No Reset On Close=true</c>, unless
    /// the connection string sets that keyword): the reset (<c>DISCARD ALL</c>) would throw away the plans PostgreSQL
    /// keeps for the store's functions. Dermag's stores override it; a store whose migrations or code may leave session
    /// state (your own, built on <c>AddDermagPostgresStore</c>) keeps the default.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    protected internal virtual bool StoreLeavesNoSessionState => false;

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
