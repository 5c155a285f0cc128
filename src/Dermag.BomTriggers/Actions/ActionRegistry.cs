using System.Collections.Frozen;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers;

/// <summary>An action type bound to its handler type and its static description; registered by <c>AddAction</c>.</summary>
internal sealed record ActionRegistration(string ActionType, Type HandlerType, bool IsBuiltIn, string Description, IReadOnlyList<ActionConfigField> ConfigFields, IReadOnlyList<string> CausedEvents)
{
    /// <summary>Runs on the dispatching thread (<see cref="IBomActionDescription.NeverBlocks"/>).</summary>
    public bool RunsInline { get; init; }

    public BomActionDescriptor Descriptor => new(ActionType, Description, ConfigFields, CausedEvents, IsBuiltIn);
}

/// <summary>The registered action types (the last registration of a type wins).</summary>
internal sealed class ActionRegistry
{
    private readonly FrozenDictionary<string, ActionRegistration> _byType;

    public ActionRegistry(IEnumerable<ActionRegistration> registrations)
    {
        var map = new Dictionary<string, ActionRegistration>(StringComparer.Ordinal);
        foreach (var registration in registrations)
        {
            map[registration.ActionType] = registration;
        }

        _byType = map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public IEnumerable<ActionRegistration> All => _byType.Values.OrderBy(r => r.IsBuiltIn ? 0 : 1).ThenBy(r => r.ActionType, StringComparer.Ordinal);

    public bool IsRegistered(string actionType) => _byType.ContainsKey(actionType);

    public ActionRegistration? Get(string actionType) => _byType.GetValueOrDefault(actionType);

    public IBomTriggerAction? Resolve(IServiceProvider services, string actionType) =>
        _byType.TryGetValue(actionType, out var registration) ? (IBomTriggerAction)services.GetRequiredService(registration.HandlerType) : null;

    public bool RunsInline(string actionType) => _byType.TryGetValue(actionType, out var registration) && registration.RunsInline;
}
