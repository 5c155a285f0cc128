using Dermag.Migrations;

namespace Dermag.BomTriggers;

/// <summary>Engine options for <c>AddBomTriggers</c>. Validated at startup; every problem is reported at once.</summary>
public sealed class BomTriggerOptions
{
    /// <summary>How long one action may run before it is cancelled and logged as failed.</summary>
    /// <value>The default is 30 seconds. Must be positive and at most one hour.</value>
    public TimeSpan ActionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an action whose timeout fired (its cancellation token is cancelled) may take to stop before the dispatch
    /// abandons it. An abandoned action is reported as failed, its later failure is logged, and the dispatch's DI scope is
    /// disposed only when it ends.
    /// </summary>
    /// <value>The default is 2 seconds. Between 0 and 1 minute.</value>
    public TimeSpan ActionCancellationGrace { get; set; } = TimeSpan.FromSeconds(2);

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

    /// <summary>How long execution logs are kept before cleanup deletes them (the original's <c>cleanup_old_trigger_logs</c> default).</summary>
    /// <value>The default is 90 days. Between 1 day and 10 years.</value>
    public TimeSpan LogRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How many rows one cleanup statement deletes; cleanup repeats until less than a batch is left, so locks stay short.</summary>
    /// <value>The default is 1,000. Between 1 and 100,000.</value>
    public int CleanupBatchSize { get; set; } = 1000;

    /// <summary>How often the periodic cleanup service (registered by <c>AddPeriodicCleanup()</c>) runs.</summary>
    /// <value>The default is 1 hour.</value>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromHours(1);

    internal TriggerStoreKind Store { get; set; }
}

/// <summary>Which store <c>UsePostgres</c> or <c>UseInMemoryStore</c> chose; <see cref="None"/> fails startup.</summary>
internal enum TriggerStoreKind
{
    None,
    InMemory,
    Postgres,
}

/// <summary>
/// Settings of the PostgreSQL store (<c>AddBomTriggers().UsePostgres(...)</c>): the shared connection, schema and
/// migration settings of <see cref="PostgresStoreOptions"/> plus optional foreign keys to the host's tables. Validated
/// when the host starts.
/// </summary>
public sealed class PostgresTriggerStoreOptions : PostgresStoreOptions
{
    /// <summary>The host's tasks table (<c>table</c> or <c>schema.table</c>); when set, <c>bom_trigger_logs.task_id</c> references it.</summary>
    /// <value>The default is <see langword="null"/> (no foreign key). Read when the migration first runs.</value>
    public string? TasksTable { get; set; }

    /// <summary>The key column of <see cref="TasksTable"/> (EF Core's convention is <c>Id</c>).</summary>
    /// <value>The default is <c>id</c>.</value>
    public string TasksKeyColumn { get; set; } = "id";

    /// <summary>The host's task types table; when set, the task type columns of <c>bom_triggers</c> reference it.</summary>
    /// <value>The default is <see langword="null"/> (no foreign key).</value>
    public string? TaskTypesTable { get; set; }

    /// <summary>The key column of <see cref="TaskTypesTable"/>.</summary>
    /// <value>The default is <c>id</c>.</value>
    public string TaskTypesKeyColumn { get; set; } = "id";

    /// <summary>The host's users table; when set, <c>bom_triggers.created_by</c> references it.</summary>
    /// <value>The default is <see langword="null"/> (no foreign key).</value>
    public string? UsersTable { get; set; }

    /// <summary>The key column of <see cref="UsersTable"/>.</summary>
    /// <value>The default is <c>id</c>.</value>
    public string UsersKeyColumn { get; set; } = "id";
}
