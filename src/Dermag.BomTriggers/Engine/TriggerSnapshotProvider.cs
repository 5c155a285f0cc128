using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dermag.BomTriggers;

/// <summary>
/// Holds the current <see cref="TriggerSnapshot"/> and swaps it atomically. Saves through the store refresh it at once;
/// changes made by other app instances are picked up by comparing the store revision (see the refresh service).
/// </summary>
internal sealed class TriggerSnapshotProvider(IBomTriggerStore repository, EventCatalog catalog, ILogger<TriggerSnapshotProvider>? logger = null) : IDisposable
{
    private ILogger Logger => (ILogger?)logger ?? NullLogger.Instance;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly WakeSignal _changed = new();
    private volatile TriggerSnapshot? _current;

    public TriggerSnapshot? Current => _current;

    public void Dispose()
    {
        _gate.Dispose();
        _changed.Dispose();
    }

    /// <summary>Waits until a new snapshot is loaded or <paramref name="timeout"/> passes (the scheduler's sleep).</summary>
    public Task WaitForChangeAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        _changed.WaitAsync(timeout, timeProvider, cancellationToken);

    public async ValueTask<TriggerSnapshot> GetAsync(CancellationToken cancellationToken) =>
        _current ?? await RefreshAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Reloads and recompiles changed triggers; returns the new snapshot.</summary>
    public async Task<TriggerSnapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Read the revision first: a change racing with the list bumps it again and the next check reloads.
            var revision = await repository.GetRevisionAsync(cancellationToken).ConfigureAwait(false);
            if (_current is { } unchanged && unchanged.Revision == revision)
            {
                // Nothing changed since the current snapshot (another caller refreshed while this one waited).
                return unchanged;
            }

            var triggers = await repository.ListAsync(new BomTriggerQuery { IsActive = true }, cancellationToken).ConfigureAwait(false);
            var previous = _current ?? TriggerSnapshot.Empty;
            var compiled = new List<CompiledTrigger>(triggers.Count);
            foreach (var trigger in triggers)
            {
                // Conditions compile once per trigger version; other columns may change without recompiling.
                if (previous.Triggers.TryGetValue((trigger.Id, trigger.UpdatedAt), out var existing)
                    && existing.Condition is not null
                    && existing.Trigger.TriggerEvent == trigger.TriggerEvent
                    && existing.Trigger.TriggerCondition.GetRawText() == trigger.TriggerCondition.GetRawText())
                {
                    existing = new CompiledTrigger(trigger, existing.Condition, existing.Errors);
                }
                else
                {
                    existing = CompiledTrigger.Compile(trigger, catalog);
                    if (existing.Errors.Count > 0)
                    {
                        Log.InvalidStoredTrigger(Logger, trigger.Id, string.Join("; ", existing.Errors));
                    }
                }

                compiled.Add(existing);
            }

            var snapshot = new TriggerSnapshot(revision, compiled);
            _current = snapshot;
            _changed.Wake();
            Log.SnapshotLoaded(Logger, snapshot.Count, revision);
            return snapshot;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reloads when another instance changed the triggers since the current snapshot.</summary>
    public async Task RefreshIfStaleAsync(CancellationToken cancellationToken)
    {
        var revision = await repository.GetRevisionAsync(cancellationToken).ConfigureAwait(false);
        if (_current is null || _current.Revision != revision)
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
