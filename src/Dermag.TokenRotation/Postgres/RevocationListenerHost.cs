using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation;

/// <summary>Runs the <see cref="RevocationListener"/> singleton as a hosted service when notifications are on.</summary>
internal sealed class RevocationListenerHost(RevocationListener listener, IOptionsMonitor<PostgresTokenStoreOptions> options, IRefreshTokenStore store) : IHostedService
{
    private bool _started;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.CurrentValue.RevocationNotifications && store is PostgresRefreshTokenStore)
        {
            _started = true;
            await listener.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => _started ? listener.StopAsync(cancellationToken) : Task.CompletedTask;
}
