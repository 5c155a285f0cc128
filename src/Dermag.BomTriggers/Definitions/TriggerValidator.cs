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

        CheckExecution(definition, errors);
        CheckId(definition.SourceTaskTypeId, "/sourceTaskTypeId", errors);
        CheckId(definition.TargetTaskTypeId, "/targetTaskTypeId", errors);
        CheckId(definition.CreatedBy, "/createdBy", errors);
        return errors;
    }

    private void CheckExecution(BomTriggerDefinition definition, List<TriggerValidationError> errors)
    {
        var execution = definition.Execution ?? BomTriggerExecution.Default;
        var scheduled = string.Equals(definition.TriggerEvent, BomTriggerEvents.Schedule, StringComparison.Ordinal);
        if (!Enum.IsDefined(execution.Mode))
        {
            errors.Add(new("/execution/mode", "expected Inline or Queued"));
        }

        if (execution.MaxAttempts is < 1 or > 100)
        {
            errors.Add(new("/execution/maxAttempts", "expected an integer between 1 and 100"));
        }
        else if (execution.MaxAttempts is not null && !execution.IsQueued && !scheduled)
        {
            errors.Add(new("/execution/maxAttempts", "only queued, delayed and scheduled triggers are retried; set mode Queued or leave it out"));
        }

        if (execution.Delay is { } delay)
        {
            if (delay < TimeSpan.FromSeconds(1) || delay > TimeSpan.FromDays(366) || delay.Ticks % TimeSpan.TicksPerSecond != 0)
            {
                errors.Add(new("/execution/delay", "expected whole seconds between 1 second and 366 days"));
            }
            else if (scheduled)
            {
                errors.Add(new("/execution/delay", $"a {BomTriggerEvents.Schedule} trigger runs at its ticks and cannot be delayed"));
            }
            else if (!HasService(typeof(IBomEventDataProvider)))
            {
                errors.Add(new("/execution/delay", $"a delayed trigger re-checks its condition against the task's current data: register an {nameof(IBomEventDataProvider)} in the service collection"));
            }
        }

        if (execution.Schedule is { } schedule)
        {
            if (!scheduled)
            {
                errors.Add(new("/execution/schedule", $"only {BomTriggerEvents.Schedule} triggers have a schedule"));
            }

            if (string.IsNullOrWhiteSpace(schedule.Cron))
            {
                errors.Add(new("/execution/schedule/cron", "is required, for example 0 8 * * MON-FRI"));
            }
            else if (schedule.Cron.Length > 200 || !Cronos.CronExpression.TryParse(schedule.Cron, schedule.Cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? Cronos.CronFormat.IncludeSeconds : Cronos.CronFormat.Standard, out _))
            {
                errors.Add(new("/execution/schedule/cron", "is not a cron expression: five fields (minute hour day-of-month month day-of-week) or six with seconds first"));
            }

            if (string.IsNullOrWhiteSpace(schedule.TimeZone) || schedule.TimeZone.Length > 100 || !TimeZoneInfo.TryFindSystemTimeZoneById(schedule.TimeZone, out _))
            {
                errors.Add(new("/execution/schedule/timeZone", "is not a known time zone id (for example UTC or Europe/Berlin)"));
            }

            if (!Enum.IsDefined(schedule.MissedTicks))
            {
                errors.Add(new("/execution/schedule/missedTicks", "expected RunOnce or Skip"));
            }
        }
        else if (scheduled)
        {
            errors.Add(new("/execution/schedule", $"is required for {BomTriggerEvents.Schedule} triggers (a cron expression and a time zone)"));
        }
    }

    private bool HasService(Type serviceType)
    {
        using var scope = scopes.CreateScope();
        return scope.ServiceProvider.GetService<IServiceProviderIsService>()?.IsService(serviceType) ?? scope.ServiceProvider.GetService(serviceType) is not null;
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
