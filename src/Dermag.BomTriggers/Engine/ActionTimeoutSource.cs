namespace Dermag.BomTriggers;

/// <summary>
/// The timeout token of the actions of one dispatch. Actions of a dispatch run one at a time, so one source is re-armed
/// for each (as Kestrel reuses its request-aborted sources): an action that finishes in time costs no new timer. A
/// source that fired is replaced, never reused. An action's token is valid while the action runs, not after.
/// </summary>
internal sealed class ActionTimeoutSource(TimeProvider timeProvider) : IDisposable
{
    private CancellationTokenSource? _source;

    /// <summary>Arms the timeout for the next action and returns its token.</summary>
    public CancellationToken Start(TimeSpan timeout)
    {
        if (_source is null || !_source.TryReset())
        {
            _source?.Dispose();
            _source = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        }

        _source.CancelAfter(timeout);
        return _source.Token;
    }

    /// <summary>Disarms the timer for a later dispatch; false when the source fired (then only disposing is left).</summary>
    public bool TryReset() => _source is null || _source.TryReset();

    public void Dispose() => _source?.Dispose();
}
