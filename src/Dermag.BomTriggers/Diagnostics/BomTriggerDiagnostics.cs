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

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    internal static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> Dispatches = Meter.CreateCounter<long>(DispatchesInstrument, description: "Events dispatched to triggers.");

    internal static readonly Counter<long> Outcomes = Meter.CreateCounter<long>(OutcomesInstrument, description: "Trigger outcomes by kind.");

    internal static readonly Histogram<double> ActionDuration = Meter.CreateHistogram<double>(ActionDurationInstrument, unit: "ms", description: "How long actions run.");

    internal static readonly Counter<long> LogWriteFailures = Meter.CreateCounter<long>(LogWriteFailuresInstrument, unit: "{row}", description: "Execution log rows that could not be written.");
}
