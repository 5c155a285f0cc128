using Microsoft.Extensions.Hosting;

namespace Dermag.Migrations;

/// <summary>Runs the registered startup modes before any hosted service starts, so stores find their tables.</summary>
internal sealed class MigrationHostedService(DermagMigrations migrations) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => migrations.RunStartupAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
