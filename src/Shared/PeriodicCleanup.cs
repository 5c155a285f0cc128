namespace Dermag.Hosting;

/// <summary>
/// The periodic cleanup loop of both libraries' hosted services. Compiled into both libraries from this one file, as the
/// listener parts in <c>src/Shared</c> are.
/// </summary>
internal static class PeriodicCleanup
{
    /// <summary>The longest wait before the first run after a start.</summary>
    private static readonly TimeSpan FirstRunWithin = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Runs <paramref name="cleanup"/> soon after the start, then every <paramref name="interval"/> until the host stops; a
    /// failed run is reported to <paramref name="failed"/> and the next one comes on schedule. The first run waits a random
    /// moment within <paramref name="interval"/> or 5 minutes, whichever is shorter: instances redeployed more often than the
    /// interval still clean up, and a fleet restarted at once does not clean in step (their batches skip each other's rows
    /// anyway).
    /// </summary>
    public static async Task RunAsync(Func<CancellationToken, Task> cleanup, TimeSpan interval, TimeProvider time, Action<Exception> failed, CancellationToken stoppingToken)
    {
        // Created first, before anything awaits: an interval PeriodicTimer refuses (beyond about 49 days) fails the host's
        // start, not the service minutes after a start that looked healthy.
        using var timer = new PeriodicTimer(interval, time);
        var firstWithin = interval < FirstRunWithin ? interval : FirstRunWithin;
        await Task.Delay(firstWithin * Random.Shared.NextDouble(), time, stoppingToken).ConfigureAwait(false);
        await RunOnceAsync(cleanup, failed, stoppingToken).ConfigureAwait(false);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await RunOnceAsync(cleanup, failed, stoppingToken).ConfigureAwait(false);
        }
    }

    private static async Task RunOnceAsync(Func<CancellationToken, Task> cleanup, Action<Exception> failed, CancellationToken stoppingToken)
    {
        try
        {
            await cleanup(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OutOfMemoryException)
        {
            failed(ex);
        }
    }
}
