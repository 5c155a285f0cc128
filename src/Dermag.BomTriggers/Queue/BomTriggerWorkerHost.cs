using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>Runs the <see cref="BomTriggerWorker"/> singleton as a hosted service (the singleton stays resolvable for tests and health checks).</summary>
internal sealed class BomTriggerWorkerHost(BomTriggerWorker worker) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => worker.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => worker.StopAsync(cancellationToken);
}

/// <summary>Runs the <see cref="TriggerNotificationListener"/> when the PostgreSQL store is in use and notifications are on.</summary>
internal sealed class TriggerNotificationListenerHost(TriggerNotificationListener listener, IOptionsMonitor<PostgresTriggerStoreOptions> options, IBomTriggerStore store) : IHostedService
{
    private bool _started;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.CurrentValue.Notifications && store is PostgresTriggerStore)
        {
            _started = true;
            await listener.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => _started ? listener.StopAsync(cancellationToken) : Task.CompletedTask;
}
