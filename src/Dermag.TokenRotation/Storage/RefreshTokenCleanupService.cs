using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation;

/// <summary>Runs the batched cleanup every <see cref="RefreshTokenRotationOptions.CleanupInterval"/>; a failed run is logged and retried next time.</summary>
internal sealed class RefreshTokenCleanupService(
    IRefreshTokenManager service,
    IOptions<RefreshTokenRotationOptions> options,
    TimeProvider timeProvider,
    ILogger<RefreshTokenCleanupService>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CleanupInterval, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await service.CleanupAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.CleanupFailed(_logger, ex);
            }
        }
    }
}
