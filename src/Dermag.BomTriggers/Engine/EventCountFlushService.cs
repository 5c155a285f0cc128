using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>Flushes <see cref="DispatchedEventCounter"/> every <see cref="BomTriggerOptions.EventCountFlushInterval"/> and when the host stops.</summary>
internal sealed class EventCountFlushService(DispatchedEventCounter counter, IOptions<BomTriggerOptions> options, TimeProvider timeProvider) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.EventCountFlushInterval, timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await counter.FlushAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not OutOfMemoryException)
            {
                // Logged by the counter, which keeps the counts for the next tick.
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await counter.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
