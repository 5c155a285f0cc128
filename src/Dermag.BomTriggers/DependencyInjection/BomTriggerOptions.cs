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

    /// <summary>
    /// How often an instance checks whether another instance changed the triggers. On PostgreSQL, changes arrive at once
    /// through <c>LISTEN/NOTIFY</c>; this poll is the fallback while the listener is disconnected.
    /// </summary>
    /// <value>The default is 5 seconds. Must be positive.</value>
    public TimeSpan SnapshotRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Insert the original's three example triggers at startup (idempotent, by stable uuid).</summary>
    /// <value>The default is <see langword="false"/>. Set by <c>AddExampleTriggers()</c>.</value>
    public bool SeedExampleTriggers { get; set; }

    /// <summary>How long execution logs are kept before cleanup deletes them (the original's <c>cleanup_old_trigger_logs</c> default).</summary>
    /// <value>The default is 90 days. Between 1 day and 10 years.</value>
    public TimeSpan LogRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>
    /// How often the counts of dispatched events (behind <see cref="BomTriggerRunSummary.ConditionFalse"/>) are written to the
    /// store; they are also written when the host stops. <see cref="BomTriggerRunSummary.ConditionFalse"/> lags by this much.
    /// </summary>
    /// <value>The default is 5 seconds. Between 100 milliseconds and 5 minutes.</value>
    public TimeSpan EventCountFlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many rows one cleanup statement deletes; cleanup repeats until less than a batch is left, so locks stay short.</summary>
    /// <value>The default is 1,000. Between 1 and 100,000.</value>
    public int CleanupBatchSize { get; set; } = 1000;

    /// <summary>How often the periodic cleanup service (registered by <c>AddPeriodicCleanup()</c>) runs.</summary>
    /// <value>The default is 1 hour.</value>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How many queued jobs this app instance runs at once. 0 makes the instance enqueue only (its dispatches still write
    /// jobs) while other instances run them.
    /// </summary>
    /// <value>The default is 4. Between 0 and 256.</value>
    public int WorkerCount { get; set; } = 4;

    /// <summary>
    /// How long a worker owns a claimed job without renewing; it renews every third of this while the action runs. A job
    /// whose worker died (process killed, connection lost) is taken over by another worker after this much time.
    /// Instances' clocks must agree to well within it.
    /// </summary>
    /// <value>The default is 30 seconds. Between 1 second and 1 hour.</value>
    public TimeSpan JobLeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often idle workers look for due jobs when no notification woke them (the fallback of <c>LISTEN/NOTIFY</c>).</summary>
    /// <value>The default is 5 seconds. Between 10 milliseconds and 5 minutes.</value>
    public TimeSpan JobPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many attempts a queued job gets before it is dead-lettered, unless its trigger sets <see cref="BomTriggerExecution.MaxAttempts"/>.</summary>
    /// <value>The default is 5. Between 1 and 100.</value>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The delay before the second attempt; each further retry waits twice as long (with ±20% jitter), up to <see cref="RetryMaxDelay"/>.</summary>
    /// <value>The default is 5 seconds. Between 0 and 1 hour.</value>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between two attempts.</summary>
    /// <value>The default is 1 hour. At least <see cref="RetryBaseDelay"/>, at most 7 days.</value>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// When true, the jobs of one task run one at a time in the order they were enqueued (an <c>ADD_MATERIAL</c> before the
    /// <c>CALCULATE_COST</c> it causes), across all instances, without a global lock; a dead-lettered job no longer holds
    /// the jobs behind it. When false, jobs run in due order with no per-task exclusion.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool OrderJobsByTask { get; set; }

    /// <summary>
    /// How long a stopping host waits for the jobs it is running to finish; then it cancels them and hands the ones whose
    /// action stopped back to the queue for another instance (the interrupted attempt counts); a job whose action ignores
    /// the cancellation keeps its lease until it expires. Leases are renewed while jobs run, so this may exceed the lease.
    /// </summary>
    /// <value>The default is 10 seconds. Between 0 and 5 minutes.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long finished jobs (succeeded, skipped, discarded) are kept, so the same event id is still recognised; cleanup deletes older ones. Dead jobs stay until retried or discarded.</summary>
    /// <value>The default is 7 days. Between 1 hour and 3650 days.</value>
    public TimeSpan FinishedJobRetention { get; set; } = TimeSpan.FromDays(7);

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
    /// <inheritdoc />
    /// <value>
    /// Always <see langword="true"/>: the store sets and locks only for the length of a transaction, creates no temporary
    /// tables, and its listener ends <c>LISTEN</c> before it gives its connection back.
    /// </value>
    protected override bool StoreLeavesNoSessionState => true;

    /// <summary>
    /// Whether the store announces trigger changes and new jobs with <c>NOTIFY</c> and each instance keeps one connection in
    /// <c>LISTEN</c>, so an edit reaches every instance and a job reaches a worker at once. When false (or while the listener
    /// is disconnected), instances poll: <see cref="BomTriggerOptions.SnapshotRefreshInterval"/> and <see cref="BomTriggerOptions.JobPollInterval"/>.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Notifications { get; set; } = true;

    /// <summary>
    /// A connection string for the one long-lived <c>LISTEN</c> connection, when the store's own connections go through a
    /// pooler that cannot carry <c>LISTEN</c> (PgBouncer in transaction mode): point it at PostgreSQL directly or at a
    /// session-mode pool. <c>NOTIFY</c> itself is sent by the store's statements and works through any pooler.
    /// </summary>
    /// <value>The default is <see langword="null"/> (the store's data source).</value>
    public string? NotificationConnectionString { get; set; }

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
