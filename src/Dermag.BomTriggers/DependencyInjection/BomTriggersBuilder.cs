using System.Text.RegularExpressions;
using Dermag.BomTriggers;
using Dermag.Migrations;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures Dermag.BomTriggers; returned by <c>services.AddBomTriggers()</c>.</summary>
public sealed partial class BomTriggersBuilder
{
    /// <summary>The library name recorded in the migration history table.</summary>
    public const string LibraryName = "Dermag.BomTriggers";

    internal BomTriggersBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Stores triggers and logs in PostgreSQL, using the <see cref="NpgsqlDataSource"/> registered in DI (keyed when
    /// <see cref="PostgresStoreOptions.DataSourceKey"/> is set) or one built from <see cref="PostgresStoreOptions.ConnectionString"/>,
    /// and registers the migrations, run as <see cref="PostgresStoreOptions.MigrationMode"/> says when the host starts.
    /// <paramref name="configure"/> runs once, when the options are first read, after any other configuration of them.
    /// </summary>
    public BomTriggersBuilder UsePostgres(Action<PostgresTriggerStoreOptions>? configure = null)
    {
        Services.AddDermagPostgresStore(LibraryName, configure, CreateMigrationSet(), Placeholders);
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresTriggerStoreOptions>, PostgresTriggerStoreOptionsValidator>());
        Services.Configure<BomTriggerOptions>(o => o.Store = TriggerStoreKind.Postgres);
        Services.TryAddSingleton(sp => new PostgresTriggerStore(
            sp.GetRequiredService<PostgresStoreDataSource<PostgresTriggerStoreOptions>>().DataSource,
            sp.GetRequiredService<IOptionsMonitor<PostgresTriggerStoreOptions>>().CurrentValue.Schema));
        Services.Replace(ServiceDescriptor.Singleton<IBomTriggerStore>(sp => sp.GetRequiredService<PostgresTriggerStore>()));
        Services.Replace(ServiceDescriptor.Singleton<IBomTriggerJobStore>(sp => sp.GetRequiredService<PostgresTriggerStore>()));
        Services.TryAddSingleton<TriggerNotificationListener>();
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, TriggerNotificationListenerHost>());
        return this;
    }

    /// <summary>Stores triggers and logs in PostgreSQL through a data source built from <paramref name="connectionString"/>.</summary>
    public BomTriggersBuilder UsePostgres(string connectionString, Action<PostgresTriggerStoreOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return UsePostgres(o =>
        {
            o.ConnectionString = connectionString;
            configure?.Invoke(o);
        });
    }

    /// <summary>Keeps triggers and logs in memory (same semantics as PostgreSQL; for tests and demos).</summary>
    public BomTriggersBuilder UseInMemoryStore()
    {
        Services.Configure<BomTriggerOptions>(o => o.Store = TriggerStoreKind.InMemory);
        Services.TryAddSingleton<InMemoryTriggerStore>();
        Services.Replace(ServiceDescriptor.Singleton<IBomTriggerStore>(sp => sp.GetRequiredService<InMemoryTriggerStore>()));
        Services.Replace(ServiceDescriptor.Singleton<IBomTriggerJobStore>(sp => sp.GetRequiredService<InMemoryTriggerStore>()));
        return this;
    }

    /// <summary>Registers a custom action type (an upper-case identifier); a later registration of the same type replaces the earlier.</summary>
    public BomTriggersBuilder AddAction<THandler>(string actionType)
        where THandler : class, IBomTriggerAction, IBomActionDescription => AddAction<THandler>(actionType, builtIn: false);

    /// <summary>
    /// Adds a hosted service that runs <see cref="IBomTriggerManager.CleanupAsync"/> every
    /// <see cref="BomTriggerOptions.CleanupInterval"/>. Safe with several instances (batches skip rows another is deleting).
    /// </summary>
    public BomTriggersBuilder AddPeriodicCleanup()
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, TriggerLogCleanupService>());
        return this;
    }

    /// <summary>Inserts the original's three example triggers at startup unless they exist (matched by stable uuid).</summary>
    public BomTriggersBuilder AddExampleTriggers()
    {
        Services.Configure<BomTriggerOptions>(o => o.SeedExampleTriggers = true);
        return this;
    }

    /// <summary>
    /// Adds an event type of the host's (for example <c>ON_PO_RECEIVED</c>): triggers may then be saved for it and the host
    /// dispatches it like a built-in one. It starts with the envelope fields <c>taskId</c> and <c>taskTypeId</c>; describe
    /// the rest of its data with <see cref="AddEventField"/>.
    /// </summary>
    /// <param name="eventType">An upper-case identifier (A-Z, 0-9, _; at most 50 characters), not a built-in event.</param>
    /// <param name="description">When the host raises it.</param>
    /// <param name="supportsPreviousValues">Whether the host passes previous values, so <c>$changed</c> may be used.</param>
    public BomTriggersBuilder AddEventType(string eventType, string description, bool supportsPreviousValues = false)
    {
        if (eventType is null || !TriggerValidator.ActionTypePattern().IsMatch(eventType))
        {
            throw new ArgumentException($"The event type '{eventType}' must be an upper-case identifier (A-Z, 0-9, _; at most 50 characters).", nameof(eventType));
        }

        if (BomTriggerEvents.All.Contains(eventType))
        {
            throw new ArgumentException($"'{eventType}' is a built-in event type; add fields to it with AddEventField.", nameof(eventType));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        var existing = Services.FirstOrDefault(d => d.ImplementationInstance is EventTypeRegistration r && r.EventType == eventType);
        if (existing is not null)
        {
            Services.Remove(existing);
        }

        Services.AddSingleton(new EventTypeRegistration(eventType, description, supportsPreviousValues));
        return this;
    }

    /// <summary>
    /// Documents an extra field the host puts into an event's data (a built-in event type, or one added with
    /// <see cref="AddEventType"/>), so conditions may test it. An unknown event type fails the host's start.
    /// </summary>
    public BomTriggersBuilder AddEventField(string eventType, string path, BomFieldType type, string? description = null)
    {
        if (eventType is null || !TriggerValidator.ActionTypePattern().IsMatch(eventType))
        {
            throw new ArgumentException($"The event type '{eventType}' must be an upper-case identifier (A-Z, 0-9, _; at most 50 characters).", nameof(eventType));
        }

        if (path is null || !FieldPath().IsMatch(path))
        {
            throw new ArgumentException($"The field path '{path}' must be dotted identifiers, for example customer.region.", nameof(path));
        }

        Services.AddSingleton(new EventFieldRegistration(eventType, new BomEventField(path, type, description ?? path)));
        return this;
    }

    internal BomTriggersBuilder AddAction<THandler>(string actionType, bool builtIn)
        where THandler : class, IBomTriggerAction, IBomActionDescription
    {
        if (actionType is null || !TriggerValidator.ActionTypePattern().IsMatch(actionType))
        {
            throw new ArgumentException($"The action type '{actionType}' must be an upper-case identifier (A-Z, 0-9, _; at most 50 characters).", nameof(actionType));
        }

        var existing = Services.FirstOrDefault(d => d.ImplementationInstance is ActionRegistration r && r.ActionType == actionType);
        if (existing is not null)
        {
            Services.Remove(existing);
        }

        Services.AddSingleton(new ActionRegistration(actionType, typeof(THandler), builtIn, THandler.Description, THandler.ConfigFields, THandler.CausedEvents) { RunsInline = THandler.NeverBlocks });
        Services.TryAddTransient<THandler>();
        return this;
    }

    internal static MigrationSet CreateMigrationSet() =>
        MigrationSet.FromEmbeddedResources(typeof(BomTriggersBuilder).Assembly, LibraryName, "Dermag.BomTriggers.Migrations.");

    internal static MigrationRunnerOptions CreateRunnerOptions(PostgresTriggerStoreOptions options)
    {
        var runnerOptions = new MigrationRunnerOptions { Schema = options.Schema };
        foreach (var (key, value) in Placeholders(options))
        {
            runnerOptions.Placeholders[key] = value;
        }

        return runnerOptions;
    }

    /// <summary>The script placeholders filled from the options (the schema is filled by the runner).</summary>
    private static IReadOnlyDictionary<string, string> Placeholders(PostgresTriggerStoreOptions options) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["tasks_fk"] = Reference(options.TasksTable, options.TasksKeyColumn, nameof(options.TasksTable), "CASCADE"),
        ["task_types_fk"] = Reference(options.TaskTypesTable, options.TaskTypesKeyColumn, nameof(options.TaskTypesTable), "SET NULL"),
        ["users_fk"] = Reference(options.UsersTable, options.UsersKeyColumn, nameof(options.UsersTable), "SET NULL"),

        // The bare schema name inside a string literal (the notification channels); a validated identifier has no quote.
        ["schema_name"] = SqlIdentifier.IsValid(options.Schema) ? options.Schema : throw new BomTriggerException($"PostgresTriggerStoreOptions.Schema '{options.Schema}' is not a plain SQL identifier."),
    };

    internal static string? DescribeTableProblem(string? table, string optionName)
    {
        if (table is null)
        {
            return null;
        }

        var parts = table.Split('.');
        return parts.Length is 1 or 2 && parts.All(SqlIdentifier.IsValid)
            ? null
            : $"PostgresTriggerStoreOptions.{optionName} must be 'table' or 'schema.table' made of plain SQL identifiers; got '{table}'.";
    }

    private static string Reference(string? table, string keyColumn, string optionName, string onDelete)
    {
        if (table is null)
        {
            return string.Empty;
        }

        var quoted = string.Join(".", table.Split('.').Select(p => SqlIdentifier.Quote(p, "PostgresTriggerStoreOptions." + optionName)));
        return $"REFERENCES {quoted} ({SqlIdentifier.Quote(keyColumn, "PostgresTriggerStoreOptions." + optionName.Replace("Table", "KeyColumn", StringComparison.Ordinal))}) ON DELETE {onDelete}";
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldPath();
}
