using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>
/// At start (after migrations, which run in StartingAsync): seeds the example triggers when asked, compiles the rule
/// set and resolves the action handlers, so the first dispatch pays no compilation. Then polls the store revision to pick up other instances' changes.
/// </summary>
internal sealed class BomTriggerStartupService(
    BomTriggerManager store,
    TriggerSnapshotProvider snapshots,
    ActionRegistry actions,
    BomTriggerEngine engine,
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
        engine.PrepareFirstDispatch();
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
