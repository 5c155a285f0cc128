using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers;

/// <summary>Checks a whole definition and reports every problem with a JSON Pointer; never throws on bad input.</summary>
internal sealed partial class TriggerValidator(EventCatalog catalog, ActionRegistry actions, IServiceScopeFactory scopes)
{
    public const int MaxNameLength = 200;

    public EventCatalog Catalog => catalog;

    public ActionRegistry Actions => actions;

    public List<TriggerValidationError> Validate(BomTriggerDefinition definition, out CompiledCondition? condition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new List<TriggerValidationError>();
        condition = null;

        if (string.IsNullOrWhiteSpace(definition.Name))
        {
            errors.Add(new("/name", "is required"));
        }
        else if (definition.Name.Length > MaxNameLength)
        {
            errors.Add(new("/name", $"must be at most {MaxNameLength} characters"));
        }
        else
        {
            StorableJson.CheckText(definition.Name, "/name", errors);
        }

        StorableJson.CheckText(definition.Description, "/description", errors);

        var eventKnown = catalog.IsKnown(definition.TriggerEvent);
        if (string.IsNullOrWhiteSpace(definition.TriggerEvent))
        {
            errors.Add(new("/triggerEvent", "is required; expected one of " + string.Join(", ", catalog.Events.Select(e => e.Name))));
        }
        else if (!eventKnown)
        {
            errors.Add(new("/triggerEvent", $"unknown event '{definition.TriggerEvent}'; expected one of {string.Join(", ", catalog.Events.Select(e => e.Name))}"));
        }

        if (eventKnown)
        {
            condition = CompiledCondition.TryCompile(definition.TriggerCondition, definition.TriggerEvent, catalog, errors);
        }
        else if (definition.TriggerCondition is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined) })
        {
            errors.Add(new("/triggerCondition", "expected an object"));
        }
        else if (definition.TriggerCondition is { ValueKind: JsonValueKind.Object } conditionOfUnknownEvent)
        {
            StorableJson.Check(conditionOfUnknownEvent, "/triggerCondition", errors);
        }

        // A handler reading text that cannot be read as a string would throw, so it sees only storable config.
        var config = definition.ActionConfig is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } c ? c : EmptyObject;
        var configStorable = StorableJson.Check(config, "/actionConfig", errors);
        if (string.IsNullOrWhiteSpace(definition.ActionType))
        {
            errors.Add(new("/actionType", "is required"));
        }
        else if (!ActionTypePattern().IsMatch(definition.ActionType))
        {
            errors.Add(new("/actionType", "must be an upper-case identifier (A-Z, 0-9, _; at most 50 characters)"));
        }
        else if (!actions.IsRegistered(definition.ActionType))
        {
            errors.Add(new("/actionType", $"unknown action type '{definition.ActionType}'; registered: {string.Join(", ", actions.All.Select(a => a.ActionType))}"));
        }
        else if (configStorable)
        {
            using var scope = scopes.CreateScope();
            var handler = actions.Resolve(scope.ServiceProvider, definition.ActionType)!;
            handler.ValidateConfig(config, new ActionConfigValidationContext(errors, definition.ActionType, definition.TargetTaskTypeId, actions.Get(definition.ActionType)!.ConfigFields));
        }

        CheckId(definition.SourceTaskTypeId, "/sourceTaskTypeId", errors);
        CheckId(definition.TargetTaskTypeId, "/targetTaskTypeId", errors);
        CheckId(definition.CreatedBy, "/createdBy", errors);
        return errors;
    }

    internal static JsonElement EmptyObject { get; } = JsonDocument.Parse("{}").RootElement.Clone();

    private static void CheckId(int? id, string path, List<TriggerValidationError> errors)
    {
        if (id is <= 0)
        {
            errors.Add(new(path, "expected a positive integer"));
        }
    }

    [GeneratedRegex("^[A-Z][A-Z0-9_]{0,49}$", RegexOptions.CultureInvariant)]
    internal static partial Regex ActionTypePattern();
}
