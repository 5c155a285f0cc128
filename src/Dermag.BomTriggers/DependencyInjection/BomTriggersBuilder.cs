using System.Text.RegularExpressions;
using Dermag.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.BomTriggers;

/// <summary>Configures Dermag.BomTriggers; returned by <c>services.AddBomTriggers()</c>.</summary>
public sealed partial class BomTriggersBuilder
{
    /// <summary>The library name recorded in the migration history table.</summary>
    public const string LibraryName = "Dermag.BomTriggers";

    internal BomTriggersBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Stores triggers and logs in PostgreSQL, using the <see cref="NpgsqlDataSource"/> registered in DI (optionally keyed) or
    /// one built from <see cref="PostgresTriggerStoreOptions.ConnectionString"/>, and registers the migrations with the
    /// startup mode set in <paramref name="configure"/>.
    /// </summary>
    public BomTriggersBuilder UsePostgres(Action<PostgresTriggerStoreOptions>? configure = null)
    {
        var probe = new PostgresTriggerStoreOptions();
        configure?.Invoke(probe);
        var options = Services.AddOptions<PostgresTriggerStoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresTriggerStoreOptions>, PostgresTriggerStoreOptionsValidator>());
        Services.Configure<BomTriggerOptions>(o => o.StoreKind = "postgres");
        Services.TryAddSingleton<BomTriggerDataSource>();
        Services.Replace(ServiceDescriptor.Singleton<IBomTriggerStore>(sp =>
            new PostgresTriggerStore(sp.GetRequiredService<BomTriggerDataSource>().DataSource, sp.GetRequiredService<IOptions<PostgresTriggerStoreOptions>>().Value.Schema)));
        Services.AddDermagMigrations(LibraryName, probe.MigrationMode, CreateMigrationRunner);
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
        Services.Configure<BomTriggerOptions>(o => o.StoreKind = "memory");
        Services.Replace(ServiceDescriptor.Singleton<IBomTriggerStore>(sp => new InMemoryTriggerStore(sp.GetRequiredService<TimeProvider>())));
        return this;
    }

    /// <summary>Registers a custom action type (an upper-case identifier); a later registration of the same type replaces the earlier.</summary>
    public BomTriggersBuilder AddAction<THandler>(string actionType)
        where THandler : class, IBomTriggerAction => AddAction<THandler>(actionType, builtIn: false);

    /// <summary>Inserts the original's three example triggers at startup unless they exist (matched by stable uuid).</summary>
    public BomTriggersBuilder AddExampleTriggers()
    {
        Services.Configure<BomTriggerOptions>(o => o.SeedExampleTriggers = true);
        return this;
    }

    /// <summary>Documents an extra field the host puts into an event's data, so conditions may test it.</summary>
    public BomTriggersBuilder AddEventField(string eventType, string path, BomFieldType type, string? description = null)
    {
        if (!BomTriggerEvents.All.Contains(eventType))
        {
            throw new ArgumentException($"Unknown event type '{eventType}'; expected one of {string.Join(", ", BomTriggerEvents.All)}.", nameof(eventType));
        }

        if (path is null || !FieldPath().IsMatch(path))
        {
            throw new ArgumentException($"The field path '{path}' must be dotted identifiers, for example customer.region.", nameof(path));
        }

        Services.AddSingleton(new EventFieldRegistration(eventType, new BomEventField(path, type, description ?? path)));
        return this;
    }

    internal BomTriggersBuilder AddAction<THandler>(string actionType, bool builtIn)
        where THandler : class, IBomTriggerAction
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

        Services.AddSingleton(new ActionRegistration(actionType, typeof(THandler), builtIn));
        Services.TryAddTransient<THandler>();
        return this;
    }

    private static MigrationRunner CreateMigrationRunner(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PostgresTriggerStoreOptions>>().Value;
        return new MigrationRunner(
            services.GetRequiredService<BomTriggerDataSource>().DataSource,
            CreateMigrationSet(),
            CreateRunnerOptions(options),
            services.GetService<ILogger<MigrationRunner>>());
    }

    internal static MigrationSet CreateMigrationSet() =>
        MigrationSet.FromEmbeddedResources(typeof(BomTriggersBuilder).Assembly, LibraryName, "Dermag.BomTriggers.Migrations.");

    internal static MigrationRunnerOptions CreateRunnerOptions(PostgresTriggerStoreOptions options)
    {
        var runnerOptions = new MigrationRunnerOptions { Schema = options.Schema };
        runnerOptions.Placeholders["tasks_fk"] = Reference(options.TasksTable, nameof(options.TasksTable), "CASCADE");
        runnerOptions.Placeholders["task_types_fk"] = Reference(options.TaskTypesTable, nameof(options.TaskTypesTable), "SET NULL");
        runnerOptions.Placeholders["users_fk"] = Reference(options.UsersTable, nameof(options.UsersTable), "SET NULL");
        return runnerOptions;
    }

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

    private static string Reference(string? table, string optionName, string onDelete)
    {
        if (table is null)
        {
            return string.Empty;
        }

        var quoted = string.Join(".", table.Split('.').Select(p => SqlIdentifier.Quote(p, "PostgresTriggerStoreOptions." + optionName)));
        return $"REFERENCES {quoted} (id) ON DELETE {onDelete}";
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldPath();
}
