using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>Runs <see cref="IBomTriggerManager.CleanupAsync"/> within 5 minutes of the start, then every <see cref="BomTriggerOptions.CleanupInterval"/> (see <c>PeriodicCleanup</c>); a failed run is logged and retried next time.</summary>
internal sealed class TriggerLogCleanupService(
    IBomTriggerManager manager,
    IOptions<BomTriggerOptions> options,
    TimeProvider timeProvider,
    ILogger<TriggerLogCleanupService>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Dermag.Hosting.PeriodicCleanup.RunAsync(
            async token => await manager.CleanupAsync(token).ConfigureAwait(false),
            options.Value.CleanupInterval,
            timeProvider,
            ex => Log.CleanupFailed(_logger, ex),
            stoppingToken);
}
