using System.Text.Json;
using Dermag.BomTriggers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.Fuzzing;

/// <summary>
/// The condition parser and <see cref="TriggerValidator"/> on arbitrary bytes read as JSON (text System.Text.Json
/// refuses is filtered out first), as the condition of every built-in event and as the config of every built-in action;
/// a condition that validates is evaluated against fixed event data.
/// </summary>
/// <remarks>
/// Invariants: nothing throws; a definition has errors exactly when it does not compile, and every error has a JSON
/// Pointer under a definition property and a message; <c>Matches</c>, <c>FirstFailure</c>, <c>Explain</c> and the dry run
/// (<see cref="IBomTriggerEngine.TestAsync(BomTriggerDefinition, TriggerTestRequest, CancellationToken)"/>) agree.
/// </remarks>
public sealed class ConditionHarness : IHarness
{
    private static readonly string[] DefinitionProperties =
        ["/name", "/description", "/triggerEvent", "/triggerCondition", "/actionType", "/actionConfig", "/sourceTaskTypeId", "/targetTaskTypeId", "/createdBy", "/execution"];

    private static readonly JsonElement NotifyConfig = BomHost.Json("""{"message":"fuzz","recipients":["manager"]}""");

    private readonly TriggerValidator _validator;
    private readonly IBomTriggerEngine _engine;

    public ConditionHarness()
    {
        var services = BomHost.CreateServices(new FakeTimeProvider(BomHost.Start));
        _validator = services.GetRequiredService<TriggerValidator>();
        _engine = services.GetRequiredService<IBomTriggerEngine>();
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(input.ToArray());
        }
        catch (JsonException)
        {
            return; // not JSON: the library is never handed it
        }

        using (document)
        {
            var json = document.RootElement;
            foreach (var descriptor in _validator.Catalog.Events)
            {
                CheckCondition(json, descriptor.Name);
            }

            foreach (var action in _validator.Actions.All)
            {
                var definition = new BomTriggerDefinition { Name = "fuzz", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = action.ActionType, ActionConfig = json };
                CheckErrors(_validator.Validate(definition, out _), definition);
            }
        }
    }

    private void CheckCondition(JsonElement condition, string eventType)
    {
        var definition = new BomTriggerDefinition
        {
            Name = "fuzz",
            TriggerEvent = eventType,
            TriggerCondition = condition,
            ActionType = BomTriggerActions.Notify,
            ActionConfig = NotifyConfig,

            // A schedule trigger needs its schedule, so that only the condition decides whether the definition is valid.
            Execution = eventType == BomTriggerEvents.Schedule ? new BomTriggerExecution { Schedule = new BomTriggerSchedule { Cron = "0 * * * *" } } : null,
        };
        var errors = _validator.Validate(definition, out var compiled);
        CheckErrors(errors, definition);
        Harnesses.Check(errors.Count == 0 == compiled is not null, $"{eventType}: {errors.Count} errors but compiled: {compiled is not null}");

        foreach (var (data, previous) in new[] { (BomHost.FullData, (JsonElement?)BomHost.FullPrevious), (BomHost.SparseData, null) })
        {
            var tested = _engine.TestAsync(definition, new TriggerTestRequest(data) { PreviousValues = previous, TaskId = 7, TaskTypeId = 3 }).GetAwaiter().GetResult();
            Harnesses.Check(tested.Errors.Count == errors.Count, $"{eventType}: the dry run found {tested.Errors.Count} errors, the validator {errors.Count}");
            if (compiled is null)
            {
                continue;
            }

            var evaluation = new EvaluationInput(data, previous, 7, 3);
            var matches = compiled.Matches(evaluation);
            var failure = compiled.FirstFailure(evaluation);
            var explanation = compiled.Explain(evaluation);
            Harnesses.Check(matches == explanation.Matched, $"{eventType}: Matches {matches}, Explain {explanation.Matched}");
            Harnesses.Check(matches == failure is null, $"{eventType}: Matches {matches}, FirstFailure {failure}");
            Harnesses.Check(tested.Condition?.Matched == matches, $"{eventType}: Matches {matches}, dry run {tested.Condition?.Matched}");
        }
    }

    private static void CheckErrors(List<TriggerValidationError> errors, BomTriggerDefinition definition)
    {
        foreach (var error in errors)
        {
            Harnesses.Check(
                DefinitionProperties.Any(p => error.Path == p || error.Path.StartsWith(p + "/", StringComparison.Ordinal)),
                $"{definition.TriggerEvent}/{definition.ActionType}: error pointer '{error.Path}' is not under a definition property");
            Harnesses.Check(!string.IsNullOrWhiteSpace(error.Message), $"error at '{error.Path}' has no message");
        }
    }
}
