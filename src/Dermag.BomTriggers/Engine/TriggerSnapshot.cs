using System.Collections.Frozen;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>One stored trigger, compiled. <see cref="Condition"/> is null when the stored condition is invalid.</summary>
internal sealed class CompiledTrigger(BomTrigger trigger, CompiledCondition? condition, IReadOnlyList<TriggerValidationError> errors)
{
    public BomTrigger Trigger { get; } = trigger;

    public CompiledCondition? Condition { get; } = condition;

    public IReadOnlyList<TriggerValidationError> Errors { get; } = errors;

    public static CompiledTrigger Compile(BomTrigger trigger, EventCatalog catalog)
    {
        var errors = new List<TriggerValidationError>();
        var condition = catalog.IsKnown(trigger.TriggerEvent)
            ? CompiledCondition.TryCompile(trigger.TriggerCondition, trigger.TriggerEvent, catalog, errors)
            : null;
        if (!catalog.IsKnown(trigger.TriggerEvent))
        {
            errors.Add(new("/triggerEvent", $"unknown event '{trigger.TriggerEvent}'"));
        }

        return new CompiledTrigger(trigger, condition, errors);
    }
}

/// <summary>
/// The immutable active rule set: per event type, triggers without an equality key, plus triggers indexed by their
/// top-level equality clause, so triggers that cannot match cost one dictionary miss rather than an evaluation.
/// </summary>
internal sealed class TriggerSnapshot
{
    private readonly FrozenDictionary<string, EventBucket> _byEvent;

    public TriggerSnapshot(long revision, IEnumerable<CompiledTrigger> triggers)
    {
        Revision = revision;
        var all = triggers.ToList();
        Triggers = all.ToFrozenDictionary(t => (t.Trigger.Id, t.Trigger.UpdatedAt));
        ById = all.ToFrozenDictionary(t => t.Trigger.Id);
        _byEvent = all.GroupBy(t => t.Trigger.TriggerEvent, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => new EventBucket(g), StringComparer.Ordinal);
    }

    public static TriggerSnapshot Empty { get; } = new(-1, []);

    public long Revision { get; }

    /// <summary>Compiled triggers by version, so a refresh recompiles only what changed.</summary>
    public FrozenDictionary<(int Id, DateTimeOffset UpdatedAt), CompiledTrigger> Triggers { get; }

    /// <summary>The active triggers by id (a queued job runs the trigger's current version).</summary>
    public FrozenDictionary<int, CompiledTrigger> ById { get; }

    public int Count => Triggers.Count;

    /// <summary>The candidates for an event, ordered by priority (higher first), then id; the caller must not change the array.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="input">The event data, read for the equality keys.</param>
    /// <param name="bypassIndex">Return every trigger of the event type (explain mode).</param>
    /// <param name="notConsidered">How many triggers the index excluded.</param>
    public CompiledTrigger[] Candidates(string eventType, EvaluationInput input, bool bypassIndex, out int notConsidered)
    {
        notConsidered = 0;
        if (!_byEvent.TryGetValue(eventType, out var bucket))
        {
            return [];
        }

        if (bypassIndex)
        {
            return bucket.All;
        }

        // Every source array is in candidate order already: one source (the usual case) is returned as it is, and only
        // candidates from two or more are merged and sorted.
        var single = bucket.Unkeyed.Length > 0 ? bucket.Unkeyed : null;
        List<CompiledTrigger>? merged = null;
        var keyedTotal = bucket.KeyedCount;
        foreach (var (path, byValue) in bucket.Keyed)
        {
            if (input.Current(path) is { ValueKind: JsonValueKind.String } value
                && TryGetByValue(byValue, value, out var matches))
            {
                keyedTotal -= matches.Length;
                if (single is null)
                {
                    single = matches;
                }
                else
                {
                    merged ??= [.. single];
                    merged.AddRange(matches);
                }
            }
        }

        notConsidered = keyedTotal;
        if (merged is null)
        {
            return single ?? [];
        }

        merged.Sort(Order);
        return [.. merged];
    }

    /// <summary>Looks a JSON string up without allocating it when it is short and has no escapes (nearly every key).</summary>
    private static bool TryGetByValue(FrozenDictionary<string, CompiledTrigger[]> byValue, JsonElement value, out CompiledTrigger[] matches)
    {
        const int StackChars = 128;
        var raw = JsonMarshal.GetRawUtf8Value(value);
        if (raw.Length >= 2 && raw.Length - 2 <= StackChars && raw.IndexOf((byte)'\\') < 0)
        {
            Span<char> chars = stackalloc char[StackChars];
            if (Encoding.UTF8.TryGetChars(raw[1..^1], chars, out var length))
            {
                return byValue.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars[..length], out matches!);
            }
        }

        return byValue.TryGetValue(value.GetString()!, out matches!);
    }

    internal static int Order(CompiledTrigger a, CompiledTrigger b)
    {
        var byPriority = b.Trigger.Priority.CompareTo(a.Trigger.Priority);
        return byPriority != 0 ? byPriority : a.Trigger.Id.CompareTo(b.Trigger.Id);
    }


    private sealed class EventBucket
    {
        public EventBucket(IEnumerable<CompiledTrigger> triggers)
        {
            var ordered = triggers.ToList();
            ordered.Sort(Order);
            All = [.. ordered];

            // A trigger with several equality clauses is indexed on the most selective path: the one with the most
            // distinct values among this event's triggers (then by name), so the choice depends on the rule set, not
            // on the key order the store happened to return.
            var distinctValues = ordered
                .SelectMany(t => t.Condition?.EqualityKeys ?? [])
                .GroupBy(k => k.Path, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(k => k.Value).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);
            var withKey = ordered.Select(t => (Trigger: t, Key: IndexKey(t, distinctValues))).ToList();
            Unkeyed = [.. withKey.Where(t => t.Key is null).Select(t => t.Trigger)];
            var keyed = withKey.Where(t => t.Key is not null).ToList();
            KeyedCount = keyed.Count;
            Keyed = keyed.GroupBy(t => t.Key!.Value.Path, StringComparer.Ordinal)
                .Select(g => (new FieldPath(g.Key), g.GroupBy(t => t.Key!.Value.Value, StringComparer.Ordinal)
                    .ToFrozenDictionary(v => v.Key, v => v.Select(t => t.Trigger).ToArray(), StringComparer.Ordinal)))
                .ToList();
        }

        private static (string Path, string Value)? IndexKey(CompiledTrigger trigger, Dictionary<string, int> distinctValues)
        {
            (string Path, string Value)? best = null;
            foreach (var key in trigger.Condition?.EqualityKeys ?? [])
            {
                if (best is null || distinctValues[key.Path] > distinctValues[best.Value.Path])
                {
                    best = key;
                }
            }

            return best;
        }

        public CompiledTrigger[] All { get; }

        public CompiledTrigger[] Unkeyed { get; }

        public List<(FieldPath Path, FrozenDictionary<string, CompiledTrigger[]> ByValue)> Keyed { get; }

        public int KeyedCount { get; }
    }
}
