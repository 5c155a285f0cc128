using Dermag.Migrations;

namespace Dermag.BomTriggers;

/// <summary>Engine options for <c>AddBomTriggers</c>. Validated at startup; every problem is reported at once.</summary>
public sealed class BomTriggerOptions
{
    /// <summary>How long one action may run before it is cancelled and logged as failed.</summary>
    /// <value>The default is 30 seconds. Must be positive and at most one hour.</value>
    public TimeSpan ActionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The deepest chained event that still runs triggers; deeper ones are <c>SuppressedLoop</c>.</summary>
    /// <value>The default is 5. Must be between 0 and 100.</value>
    public int MaxChainDepth { get; set; } = 5;

    /// <summary>When true, a dispatch with a failed trigger throws <see cref="BomTriggerException"/> after logging.</summary>
    /// <value>The default is <see langword="false"/>: failures are logged and reported, never thrown.</value>
    public bool StrictMode { get; set; }

    /// <summary>How often an instance checks whether another instance changed the triggers.</summary>
    /// <value>The default is 5 seconds. Must be positive.</value>
    public TimeSpan SnapshotRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Insert the original's three example triggers at startup (idempotent, by stable uuid).</summary>
    /// <value>The default is <see langword="false"/>. Set by <c>AddExampleTriggers()</c>.</value>
    public bool SeedExampleTriggers { get; set; }

    internal string? StoreKind { get; set; }
}

/// <summary>PostgreSQL options for <c>AddBomTriggers().UsePostgres(...)</c>.</summary>
public sealed class PostgresTriggerStoreOptions
{
    /// <summary>A connection string; when set, the library builds (and owns) its own data source from it.</summary>
    /// <value>The default is <see langword="null"/>: the <c>NpgsqlDataSource</c> registered in DI is used.</value>
    public string? ConnectionString { get; set; }

    /// <summary>The service key of a keyed <c>NpgsqlDataSource</c> registration to use.</summary>
    /// <value>The default is <see langword="null"/> (the unkeyed registration).</value>
    public object? DataSourceKey { get; set; }

    /// <summary>The schema holding the tables. A plain identifier.</summary>
    /// <value>The default is <c>public</c>.</value>
    public string Schema { get; set; } = "public";

    /// <summary>What happens to the migrations at startup.</summary>
    /// <value>The default is <see cref="MigrationStartupMode.Apply"/>.</value>
    public MigrationStartupMode MigrationMode { get; set; } = MigrationStartupMode.Apply;

    /// <summary>The host's tasks table (<c>table</c> or <c>schema.table</c>, with an integer <c>id</c>); when set, <c>bom_trigger_logs.task_id</c> references it.</summary>
    /// <value>The default is <see langword="null"/> (no foreign key). Read when the migration first runs.</value>
    public string? TasksTable { get; set; }

    /// <summary>The host's task types table; when set, the task type columns of <c>bom_triggers</c> reference it.</summary>
    /// <value>The default is <see langword="null"/> (no foreign key).</value>
    public string? TaskTypesTable { get; set; }

    /// <summary>The host's users table; when set, <c>bom_triggers.created_by</c> references it.</summary>
    /// <value>The default is <see langword="null"/> (no foreign key).</value>
    public string? UsersTable { get; set; }
}
