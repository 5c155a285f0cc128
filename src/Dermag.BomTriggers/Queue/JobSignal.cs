namespace Dermag.BomTriggers;

/// <summary>Wakes this instance's idle workers: a job was enqueued here, or a notification said one was enqueued elsewhere.</summary>
internal sealed class JobSignal : WakeSignal;

/// <summary>An auto-reset wake-up that coalesces: any number of <see cref="Wake"/> calls release one wait.</summary>
internal class WakeSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Wake()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one wake-up serves every enqueue since the workers last looked.
        }
    }

    /// <summary>Waits for a wake-up or for <paramref name="timeout"/> on <paramref name="timeProvider"/>'s clock.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (_signal.Wait(0, CancellationToken.None))
        {
            return;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, timeProvider, timer.Token);
        var woken = _signal.WaitAsync(timer.Token);
        await Task.WhenAny(delay, woken).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(delay, woken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (woken.IsCompletedSuccessfully && !cancellationToken.IsCancellationRequested)
        {
            return;
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    public void Dispose()
    {
        _signal.Dispose();
        GC.SuppressFinalize(this);
    }
}
