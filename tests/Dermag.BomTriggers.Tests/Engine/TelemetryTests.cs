using System.Diagnostics;
using Dermag.BomTriggers.Tests.TestSupport;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Dermag.BomTriggers.Tests.Engine;

/// <summary>What an OpenTelemetry host sees with <c>AddSource</c>/<c>AddMeter</c> of the library's names (the README snippet).</summary>
public sealed class TelemetryTests : IAsyncLifetime
{
    private TriggerTestContext _context = null!;

    public async Task InitializeAsync() => _context = await TriggerTestContext.CreateAsync(b => b.UseInMemoryStore());

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Fact]
    public async Task Dispatch_EmitsADispatchSpan_WithOneChildSpanPerAction_AndTheMetrics()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(BomTriggerDiagnostics.ActivitySourceName).AddInMemoryExporter(spans).Build();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter(BomTriggerDiagnostics.MeterName).AddInMemoryExporter(metrics).Build();
        await _context.InternalStore.SeedExampleTriggersAsync(default);

        var report = await _context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 42, 3, """{"taskTypeCode":"LAN"}"""));
        tracing.ForceFlush();
        meters.ForceFlush();

        // Other tests dispatch in this process at the same time: keep this dispatch's spans.
        var dispatch = spans.Single(s => s.OperationName == "dermag.bom_triggers.dispatch" && Equals(s.GetTagItem("dermag.correlation_id"), report.CorrelationId));
        dispatch.GetTagItem("dermag.bom_triggers.event").Should().Be(BomTriggerEvents.TaskCreate);
        dispatch.GetTagItem("dermag.bom_triggers.task_id").Should().Be(42);
        var actions = spans.Where(s => s.OperationName == "dermag.bom_triggers.action" && s.ParentSpanId == dispatch.SpanId).ToList();
        actions.Select(a => ((string)a.GetTagItem("dermag.bom_triggers.action")!, (int)a.GetTagItem("dermag.bom_triggers.depth")!, (string)a.GetTagItem("dermag.bom_triggers.outcome")!))
            .Should().Equal((BomTriggerActions.AddMaterial, 0, "Executed"), (BomTriggerActions.CalculateCost, 1, "Executed"));
        actions.Should().OnlyContain(a => a.TraceId == dispatch.TraceId && a.Status != ActivityStatusCode.Error);

        metrics.Select(m => m.Name).Should().Contain([BomTriggerDiagnostics.DispatchesInstrument, BomTriggerDiagnostics.OutcomesInstrument, BomTriggerDiagnostics.ActionDurationInstrument]);
        metrics.First(m => m.Name == BomTriggerDiagnostics.ActionDurationInstrument).Unit.Should().Be("s", "OpenTelemetry measures durations in seconds");
    }

    [Fact]
    public async Task FailedAction_ItsSpanHasErrorStatus()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(BomTriggerDiagnostics.ActivitySourceName).AddInMemoryExporter(spans).Build();
        await _context.CreateAsync("explodes", BomTriggerEvents.TaskCreate, "{}", "EXPLODE", "{}");

        var report = await _context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}"));
        tracing.ForceFlush();

        var dispatch = spans.Single(s => s.OperationName == "dermag.bom_triggers.dispatch" && Equals(s.GetTagItem("dermag.correlation_id"), report.CorrelationId));
        var action = spans.Single(s => s.OperationName == "dermag.bom_triggers.action" && s.ParentSpanId == dispatch.SpanId);
        action.Status.Should().Be(ActivityStatusCode.Error);
        action.StatusDescription.Should().Contain("custom action exploded");
    }
}
