using Dermag.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.BomTriggers;

/// <summary>An extra event field registered with <c>AddEventField</c>.</summary>
internal sealed record EventFieldRegistration(string EventType, BomEventField Field);

/// <summary>The data source the PostgreSQL store uses: the host's (optionally keyed), or one it owns built from a connection string.</summary>
internal sealed class BomTriggerDataSource : IAsyncDisposable
{
    private readonly bool _owned;

    public BomTriggerDataSource(IServiceProvider services, IOptions<BomTriggerPostgresOptions> options)
    {
        var value = options.Value;
        if (!string.IsNullOrWhiteSpace(value.ConnectionString))
        {
            DataSource = NpgsqlDataSource.Create(value.ConnectionString);
            _owned = true;
        }
        else
        {
            DataSource = value.DataSourceServiceKey is { } key
                ? services.GetRequiredKeyedService<NpgsqlDataSource>(key)
                : services.GetRequiredService<NpgsqlDataSource>();
        }
    }

    public NpgsqlDataSource DataSource { get; }

    public ValueTask DisposeAsync() => _owned ? DataSource.DisposeAsync() : ValueTask.CompletedTask;
}

internal sealed class BomTriggerOptionsValidator : IValidateOptions<BomTriggerOptions>
{
    public ValidateOptionsResult Validate(string? name, BomTriggerOptions options)
    {
        var errors = new List<string>();
        if (options.ActionTimeout <= TimeSpan.Zero || options.ActionTimeout > TimeSpan.FromHours(1))
        {
            errors.Add($"BomTriggerOptions.ActionTimeout must be positive and at most 01:00:00; got {options.ActionTimeout}.");
        }

        if (options.MaxChainDepth is < 0 or > 100)
        {
            errors.Add($"BomTriggerOptions.MaxChainDepth must be between 0 and 100; got {options.MaxChainDepth}.");
        }

        if (options.SnapshotRefreshInterval <= TimeSpan.Zero)
        {
            errors.Add($"BomTriggerOptions.SnapshotRefreshInterval must be positive; got {options.SnapshotRefreshInterval}.");
        }

        if (options.StoreKind is null)
        {
            errors.Add(BomTriggersServiceCollectionExtensions.NoStoreMessage);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class BomTriggerPostgresOptionsValidator : IValidateOptions<BomTriggerPostgresOptions>
{
    public ValidateOptionsResult Validate(string? name, BomTriggerPostgresOptions options)
    {
        var errors = new List<string>();
        if (!SqlIdentifier.IsValid(options.Schema))
        {
            errors.Add(SqlIdentifier.Describe(options.Schema, "BomTriggerPostgresOptions.Schema"));
        }

        if (!Enum.IsDefined(options.MigrationStartupMode))
        {
            errors.Add($"BomTriggerPostgresOptions.MigrationStartupMode must be Apply, ValidateOnly or None; got {options.MigrationStartupMode}.");
        }

        if (options.ConnectionString is not null)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"BomTriggerPostgresOptions.ConnectionString is not a valid Npgsql connection string: {ex.Message}");
            }
        }

        foreach (var problem in new[]
        {
            BomTriggersBuilder.DescribeTableProblem(options.TasksTable, nameof(options.TasksTable)),
            BomTriggersBuilder.DescribeTableProblem(options.TaskTypesTable, nameof(options.TaskTypesTable)),
            BomTriggersBuilder.DescribeTableProblem(options.UsersTable, nameof(options.UsersTable)),
        })
        {
            if (problem is not null)
            {
                errors.Add(problem);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// At start (after migrations, which run in StartingAsync): seeds the example triggers when asked and compiles the rule
/// set, so the first dispatch pays no compilation. Then polls the store revision to pick up other instances' changes.
/// </summary>
internal sealed class BomTriggerStartupService(
    BomTriggerStore store,
    TriggerSnapshotProvider snapshots,
    ActionRegistry actions,
    IServiceScopeFactory scopes,
    IOptions<BomTriggerOptions> options,
    TimeProvider timeProvider,
    ILogger<BomTriggerStartupService>? logger = null) : BackgroundService
{
    private ILogger Logger => (ILogger?)logger ?? NullLogger.Instance;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.SeedExampleTriggers)
        {
            await store.SeedExampleTriggersAsync(cancellationToken).ConfigureAwait(false);
        }

        await snapshots.RefreshAsync(cancellationToken).ConfigureAwait(false);
        await WarmActionHandlersAsync().ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    // Resolving each handler once makes the container build its call sites now rather than in the first dispatch.
    // A handler whose dependencies are missing is left alone here: the dispatch that needs it reports the failure.
    private async Task WarmActionHandlersAsync()
    {
        await using var scope = scopes.CreateAsyncScope();
        foreach (var registration in actions.All)
        {
            try
            {
                actions.Resolve(scope.ServiceProvider, registration.ActionType);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ActionHandlerNotResolvable(Logger, registration.ActionType, ex.Message);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SnapshotRefreshInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await snapshots.RefreshIfStaleAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    Log.SnapshotRefreshFailed(Logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
