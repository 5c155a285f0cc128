using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation;

/// <summary>Runs the batched cleanup within 5 minutes of the start, then every <see cref="RefreshTokenRotationOptions.CleanupInterval"/> (see <c>PeriodicCleanup</c>); a failed run is logged and retried next time.</summary>
internal sealed class RefreshTokenCleanupService(
    IRefreshTokenManager service,
    IOptions<RefreshTokenRotationOptions> options,
    TimeProvider timeProvider,
    ILogger<RefreshTokenCleanupService>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Dermag.Hosting.PeriodicCleanup.RunAsync(
            async token => await service.CleanupAsync(token).ConfigureAwait(false),
            options.Value.CleanupInterval,
            timeProvider,
            ex => Log.CleanupFailed(_logger, ex),
            stoppingToken);
}
