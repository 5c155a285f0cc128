using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dermag.BomTriggers;

/// <summary>Events of one type that reached the engine in one UTC minute (<see cref="Bucket"/> is the minute's start).</summary>
internal readonly record struct EventCount(string EventType, DateTimeOffset Bucket, long Count);

/// <summary>
/// Counts the events the engine processes, per event type and UTC minute, in memory: one dictionary lookup and one
/// interlocked increment per event. <see cref="FlushAsync"/> adds the counts to the store (an additive upsert, so several
/// app instances counting into the same minute add up) and runs every <see cref="BomTriggerOptions.EventCountFlushInterval"/>
/// (<see cref="EventCountFlushService"/>), when the host stops, and when the container disposes this singleton. The
/// counts are what <see cref="BomTriggerRunSummary.ConditionFalse"/> is computed from.
/// </summary>
internal sealed class DispatchedEventCounter(IBomTriggerStore store, TimeProvider timeProvider, ILogger<DispatchedEventCounter>? logger = null) : IAsyncDisposable, IDisposable
{
    private readonly ConcurrentDictionary<(string EventType, long Minute), StrongBox<long>> _counts = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);

    /// <summary>Counts one event of <paramref name="eventType"/> in the minute of <paramref name="at"/>.</summary>
    public void Add(string eventType, DateTimeOffset at)
    {
        var key = (eventType, at.UtcTicks / TimeSpan.TicksPerMinute);
        if (!_counts.TryGetValue(key, out var box))
        {
            box = _counts.GetOrAdd(key, static _ => new StrongBox<long>());
        }

        Interlocked.Increment(ref box.Value);
    }

    /// <summary>Adds what was counted since the last flush to the store; on failure the counts are kept for the next flush.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var currentMinute = timeProvider.GetUtcNow().UtcTicks / TimeSpan.TicksPerMinute;
            var taken = new List<(StrongBox<long> Box, EventCount Count)>();
            foreach (var (key, box) in _counts)
            {
                // Minutes older than the previous one get no new events (a dispatch reads the clock just before it counts),
                // so their emptied boxes are dropped; what a box holds when it is removed is still flushed below.
                if (key.Minute < currentMinute - 1 && Volatile.Read(ref box.Value) == 0)
                {
                    _counts.TryRemove(new KeyValuePair<(string, long), StrongBox<long>>(key, box));
                }

                var count = Interlocked.Exchange(ref box.Value, 0);
                if (count > 0)
                {
                    taken.Add((box, new EventCount(key.EventType, new DateTimeOffset(key.Minute * TimeSpan.TicksPerMinute, TimeSpan.Zero), count)));
                }
            }

            if (taken.Count == 0)
            {
                return;
            }

            try
            {
                await store.AddEventCountsAsync([.. taken.Select(t => t.Count)], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Put the counts back (into the same boxes, re-registered if they were dropped): the next flush retries them.
                foreach (var (box, count) in taken)
                {
                    var key = (count.EventType, count.Bucket.UtcTicks / TimeSpan.TicksPerMinute);
                    Interlocked.Add(ref _counts.GetOrAdd(key, box).Value, count.Count);
                }

                if (ex is not OperationCanceledException)
                {
                    Log.EventCountFlushFailed((ILogger?)logger ?? NullLogger.Instance, ex, taken.Count);
                }

                throw;
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    // A container disposed synchronously still flushes (blocking, once, at the end of the app's life).
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Logged by FlushAsync; a container's disposal must not throw for it.
        }
    }
}
