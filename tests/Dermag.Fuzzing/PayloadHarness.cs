using System.Text.Json;
using Dermag.BomTriggers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.Fuzzing;

/// <summary>
/// Event data from arbitrary bytes (read as JSON the way a lenient host might: comments and trailing commas allowed; text
/// System.Text.Json refuses is filtered out first) through <see cref="JsonSanitizer"/> and
/// <see cref="IBomTriggerEngine.DispatchAsync"/> on the in-memory store with triggers that use every operator, once as the
/// data and once as the previous values of every built-in event.
/// </summary>
/// <remarks>
/// Invariants: nothing throws; the sanitized text parses and keeps a clean value as it is; no trigger fails (the host does
/// nothing and every trigger is valid, so a failure can only come from the data) and every log row is written.
/// </remarks>
public sealed class PayloadHarness : IHarness
{
    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static readonly (string Event, string Condition, string Action, string Config)[] Triggers =
    [
        (BomTriggerEvents.TaskCreate, """{"taskTypeCode":"LAN"}""", BomTriggerActions.AddMaterial,
            """{"materialName":"Kabel UTP Cat6","defaultQuantity":100,"unit":"m","category":"network"}"""),
        (BomTriggerEvents.TaskCreate, """{"$any":[{"tags":{"$contains":"urgent"}},{"title":{"$startsWith":"A"}},{"taskNumber":{"$endsWith":"1"}}]}""",
            BomTriggerActions.Notify, """{"message":"urgent task","recipients":["manager"]}"""),
        (BomTriggerEvents.StatusChange, """{"status":{"$changed":{"from":"in_progress","to":"completed"}}}""", BomTriggerActions.Notify,
            """{"message":"Task has been completed","recipients":["manager","coordinator"]}"""),
        (BomTriggerEvents.StatusChange, """{"taskId":{"$changed":true},"status":{"$ne":null},"tags":{"$exists":true}}""", BomTriggerActions.CalculateCost, "{}"),
        (BomTriggerEvents.BomUpdate, """{"$not":{"status":{"$in":["cancelled","archived"]}},"totalCost":{"$gte":0,"$lt":1e6},"itemCount":{"$nin":[0]}}""",
            BomTriggerActions.CalculateCost, "{}"),
        (BomTriggerEvents.MaterialAdd, "{}", BomTriggerActions.CalculateCost, "{}"),
        (BomTriggerEvents.MaterialAdd, """{"material.category":"network","quantity":{"$gt":500}}""", BomTriggerActions.Notify,
            """{"message":"Large cable order","recipients":["manager"]}"""),
        (BomTriggerEvents.QuantityChange, """{"$all":[{"quantity":{"$changed":true}},{"material.unitPrice":{"$lte":1e-30}},{"unit":{"$eq":"m"}}]}""",
            BomTriggerActions.Notify, """{"message":"quantity changed","recipients":["manager"]}"""),
        (BomTriggerEvents.QuantityChange, """{"materialName":{"$contains":"UTP"},"taskTypeId":3}""", BomTriggerActions.UpdateQuantity,
            """{"materialName":"Kabel UTP Cat6","quantity":10}"""),
    ];

    private readonly FakeTimeProvider _time = new(BomHost.Start);
    private readonly IBomTriggerEngine _engine;
    private readonly IBomTriggerManager _manager;
    private int _runs;

    public PayloadHarness()
    {
        var services = BomHost.CreateServices(_time);
        _engine = services.GetRequiredService<IBomTriggerEngine>();
        _manager = services.GetRequiredService<IBomTriggerManager>();
        foreach (var (eventType, condition, action, config) in Triggers)
        {
            var saved = _manager.CreateAsync(new BomTriggerDefinition
            {
                Name = $"{eventType} {action}",
                TriggerEvent = eventType,
                TriggerCondition = BomHost.Json(condition),
                ActionType = action,
                ActionConfig = BomHost.Json(config),
            }).GetAwaiter().GetResult();
            if (!saved.Succeeded)
            {
                throw new InvalidOperationException($"fuzzing trigger {condition} is invalid: {string.Join("; ", saved.Errors)}");
            }
        }
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(input.ToArray(), Lenient);
        }
        catch (JsonException)
        {
            return; // not JSON: a host never has a JsonElement of it
        }

        using (document)
        {
            var data = document.RootElement;
            var readable = JsonSanitizer.ForReading(data, out var rewritten);
            Harnesses.Check(rewritten || readable.GetRawText() == data.GetRawText(), "ForReading changed a value it says it kept");
            _ = JsonSanitizer.ForLog(data);

            foreach (var eventType in BomTriggerEvents.All)
            {
                Dispatch(new BomTriggerEvent(eventType, 7, 3, data) { PreviousValues = BomHost.FullPrevious });
                Dispatch(new BomTriggerEvent(eventType, 7, 3, BomHost.FullData) { PreviousValues = data });
            }
        }

        // The in-memory log grows with every execution; drop it now and then so a long run keeps its memory flat.
        if (++_runs % 500 == 0)
        {
            _time.Advance(TimeSpan.FromDays(400));
            _ = _manager.CleanupAsync().GetAwaiter().GetResult();
        }
    }

    private void Dispatch(BomTriggerEvent triggerEvent)
    {
        var report = _engine.DispatchAsync(triggerEvent).GetAwaiter().GetResult();
        Harnesses.Check(report.LogWriteError is null, $"{triggerEvent.EventType}: log rows lost: {report.LogWriteError}");
        foreach (var outcome in report.Outcomes)
        {
            Harnesses.Check(outcome.Kind != TriggerOutcomeKind.Failed, $"{triggerEvent.EventType}: trigger '{outcome.TriggerName}' failed: {outcome.Error}");
        }
    }
}
