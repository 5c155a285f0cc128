using System.Collections.Concurrent;

namespace Dermag.TokenRotation;

/// <summary>A short per-process cache of session-active answers for paranoid mode; bounded, clock from <see cref="TimeProvider"/>.</summary>
internal sealed class SessionActivityCache(TimeProvider timeProvider, TimeSpan duration)
{
    private const int MaxEntries = 100_000;
    private readonly ConcurrentDictionary<Guid, (bool Active, DateTimeOffset Until)> _entries = new();

    public bool Enabled => duration > TimeSpan.Zero;

    public bool TryGet(Guid sessionId, out bool active)
    {
        active = false;
        if (!Enabled || !_entries.TryGetValue(sessionId, out var entry))
        {
            return false;
        }

        if (entry.Until <= timeProvider.GetUtcNow())
        {
            _entries.TryRemove(new KeyValuePair<Guid, (bool, DateTimeOffset)>(sessionId, entry));
            return false;
        }

        active = entry.Active;
        return true;
    }

    public void Set(Guid sessionId, bool active)
    {
        if (!Enabled)
        {
            return;
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[sessionId] = (active, timeProvider.GetUtcNow() + duration);
    }

    public void Invalidate(IEnumerable<Guid> sessionIds)
    {
        foreach (var id in sessionIds)
        {
            _entries.TryRemove(id, out _);
        }
    }
}
