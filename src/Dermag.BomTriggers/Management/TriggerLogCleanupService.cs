using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>Runs <see cref="IBomTriggerManager.CleanupAsync"/> every <see cref="BomTriggerOptions.CleanupInterval"/>; a failed run is logged and retried next time.</summary>
internal sealed class TriggerLogCleanupService(
    IBomTriggerManager manager,
    IOptions<BomTriggerOptions> options,
    TimeProvider timeProvider,
    ILogger<TriggerLogCleanupService>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CleanupInterval, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await manager.CleanupAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.CleanupFailed(_logger, ex);
            }
        }
    }
}
