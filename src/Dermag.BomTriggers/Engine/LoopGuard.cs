namespace Dermag.BomTriggers;

/// <summary>
/// A chain's loop guard: the (trigger, task) pairs that already ran or were queued in it. A chain holds a handful of
/// them, so they are kept in order in an array and searched linearly (no hashing and no set for a dispatch that runs
/// five actions); past <see cref="LinearLimit"/> pairs a set answers instead.
/// </summary>
internal sealed class LoopGuard
{
    private const int LinearLimit = 16;

    private (int TriggerId, int TaskId)[] _pairs = [];
    private int _count;
    private HashSet<(int TriggerId, int TaskId)>? _set;

    public int Count => _count;

    /// <summary>The pairs in the order they were added.</summary>
    public IEnumerable<(int TriggerId, int TaskId)> Pairs => _pairs.Take(_count);

    /// <summary>Adds the pair; false when it is already there.</summary>
    public bool Add(int triggerId, int taskId)
    {
        var pair = (triggerId, taskId);
        if (_set is not null)
        {
            if (!_set.Add(pair))
            {
                return false;
            }
        }
        else
        {
            for (var i = 0; i < _count; i++)
            {
                if (_pairs[i] == pair)
                {
                    return false;
                }
            }
        }

        if (_count == _pairs.Length)
        {
            Array.Resize(ref _pairs, Math.Max(8, _count * 2));
        }

        _pairs[_count++] = pair;
        if (_set is null && _count > LinearLimit)
        {
            _set = [.. _pairs.AsSpan(0, _count)];
        }

        return true;
    }
}
