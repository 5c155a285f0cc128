using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Dermag.BomTriggers;

/// <summary>The names a host subscribes to with OpenTelemetry (<c>AddMeter</c>, <c>AddSource</c>).</summary>
public static class BomTriggerDiagnostics
{
    /// <summary>The name of the library's <see cref="Meter"/>.</summary>
    public const string MeterName = "Dermag.BomTriggers";

    /// <summary>The name of the library's <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    public const string ActivitySourceName = "Dermag.BomTriggers";

    /// <summary>Counter of dispatched events, tagged <c>event</c>.</summary>
    public const string DispatchesInstrument = "dermag.bom_triggers.dispatches";

    /// <summary>Counter of candidate outcomes, tagged <c>outcome</c> and <c>action</c>.</summary>
    public const string OutcomesInstrument = "dermag.bom_triggers.outcomes";

    /// <summary>Histogram of action durations in milliseconds, tagged <c>action</c>.</summary>
    public const string ActionDurationInstrument = "dermag.bom_triggers.action.duration";

    /// <summary>Counter of execution log rows that could not be written (and so are lost unless the dispatch threw).</summary>
    public const string LogWriteFailuresInstrument = "dermag.bom_triggers.log.write_failures";

    /// <summary>Counter of ended job attempts, tagged <c>state</c> (the state the attempt left the job in: <c>Succeeded</c>, <c>Pending</c> for a retry, <c>Dead</c>, <c>Skipped</c>).</summary>
    public const string JobsInstrument = "dermag.bom_triggers.jobs";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);
}

/// <summary>The library's instruments, created from the host's <see cref="IMeterFactory"/> when there is one.</summary>
internal sealed class BomTriggerMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public BomTriggerMetrics(IMeterFactory? meterFactory = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(BomTriggerDiagnostics.MeterName) ?? new Meter(BomTriggerDiagnostics.MeterName);
        Dispatches = _meter.CreateCounter<long>(BomTriggerDiagnostics.DispatchesInstrument, "{event}", "Events dispatched to triggers.");
        Outcomes = _meter.CreateCounter<long>(BomTriggerDiagnostics.OutcomesInstrument, "{outcome}", "Trigger outcomes by kind.");
        ActionDuration = _meter.CreateHistogram<double>(
            BomTriggerDiagnostics.ActionDurationInstrument,
            "s",
            "How long actions run, in seconds (OpenTelemetry's unit for durations).",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30] });
        LogWriteFailures = _meter.CreateCounter<long>(BomTriggerDiagnostics.LogWriteFailuresInstrument, "{row}", "Execution log rows that could not be written.");
        Jobs = _meter.CreateCounter<long>(BomTriggerDiagnostics.JobsInstrument, "{attempt}", "Job attempts by the state they left the job in.");
    }

    public Counter<long> Dispatches { get; }

    public Counter<long> Outcomes { get; }

    public Histogram<double> ActionDuration { get; }

    public Counter<long> LogWriteFailures { get; }

    public Counter<long> Jobs { get; }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
