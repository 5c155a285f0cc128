using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation;

/// <summary>
/// A short per-process cache of session-active answers for paranoid mode; bounded, clock from <see cref="TimeProvider"/>.
/// Revocations made here, and (on PostgreSQL) those published by other instances, drop entries at once.
/// </summary>
/// <remarks>
/// A check reads the store and then stores its answer; a revocation may commit and invalidate in between, and the answer it
/// read is then stale. Every invalidation bumps <see cref="_epoch"/> before it removes entries, and a check removes the
/// answer it has just stored when the epoch moved since it started: whichever order the two interleave in, the stale
/// answer is gone once both have finished.
/// </remarks>
internal sealed class SessionActivityCache
{
    private const int MaxEntries = 100_000;
    private readonly ConcurrentDictionary<Guid, Entry> _entries = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _duration;
    private long _epoch;
    private long _sets;

    public SessionActivityCache(TimeProvider timeProvider, IOptions<RefreshTokenRotationOptions> options)
        : this(timeProvider, options.Value.SessionCheckCacheDuration)
    {
    }

    internal SessionActivityCache(TimeProvider timeProvider, TimeSpan duration)
    {
        _time = timeProvider;
        _duration = duration;
    }

    public bool Enabled => _duration > TimeSpan.Zero;

    /// <summary>Taken before the store is read; hand it to <see cref="Set"/>.</summary>
    public long Epoch => Volatile.Read(ref _epoch);

    public bool TryGet(Guid sessionId, out bool active)
    {
        active = false;
        if (!Enabled || !_entries.TryGetValue(sessionId, out var entry))
        {
            return false;
        }

        if (entry.Until <= _time.GetUtcNow())
        {
            _entries.TryRemove(new KeyValuePair<Guid, Entry>(sessionId, entry));
            return false;
        }

        active = entry.Active;
        return true;
    }

    /// <summary>
    /// Stores an answer read from the store after <paramref name="epochBeforeRead"/> was taken, unless it may be stale.
    /// <paramref name="activeUntil"/> is when the session's current token expires (null: not active); an active answer is
    /// never kept past it.
    /// </summary>
    public void Set(Guid sessionId, DateTimeOffset? activeUntil, long epochBeforeRead)
    {
        if (!Enabled)
        {
            return;
        }

        // Counting a ConcurrentDictionary takes all its locks: check the bound only now and then.
        if ((Interlocked.Increment(ref _sets) & 1023) == 0 && _entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        var until = _time.GetUtcNow() + _duration;
        var entry = new Entry(activeUntil is not null, activeUntil is { } expiry && expiry < until ? expiry : until);
        _entries[sessionId] = entry;
        if (Volatile.Read(ref _epoch) != epochBeforeRead)
        {
            _entries.TryRemove(new KeyValuePair<Guid, Entry>(sessionId, entry));
        }
    }

    public void Invalidate(IEnumerable<Guid> sessionIds)
    {
        Interlocked.Increment(ref _epoch);
        foreach (var id in sessionIds)
        {
            _entries.TryRemove(id, out _);
        }
    }

    /// <summary>Drops every answer: a revocation may have been missed (lost notification connection, too many ids to publish).</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _epoch);
        _entries.Clear();
    }

    /// <summary>A class with reference equality, so a removal matches exactly the entry a check stored and never a newer one.</summary>
    private sealed class Entry(bool active, DateTimeOffset until)
    {
        public bool Active { get; } = active;

        public DateTimeOffset Until { get; } = until;
    }
}
