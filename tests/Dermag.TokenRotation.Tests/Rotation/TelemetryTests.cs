using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Dermag.TokenRotation.Tests.Rotation;

/// <summary>What an OpenTelemetry host sees with <c>AddSource</c>/<c>AddMeter</c> of the library's names.</summary>
public class TelemetryTests
{
    [Fact]
    public async Task IssueRefreshAndReuse_EmitSpansWithTheirResult_AndTheCounters()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(TokenRotationDiagnostics.ActivitySourceName).AddInMemoryExporter(spans).Build();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter(TokenRotationDiagnostics.MeterName).AddInMemoryExporter(metrics).Build();
        var service = TestSetup.Service(new InMemoryRefreshTokenStore(), TestSetup.Clock());

        var issued = await service.IssueAsync("telemetry");
        (await service.RefreshAsync(issued.RefreshToken)).Status.Should().Be(RefreshStatus.Rotated);
        (await service.RefreshAsync(issued.RefreshToken)).Status.Should().Be(RefreshStatus.ReuseDetected);
        tracing.ForceFlush();
        meters.ForceFlush();

        // Other tests run in this process at the same time: keep this session's spans.
        var mine = spans.Where(s => Equals(s.GetTagItem("dermag.session_id"), issued.SessionId)).ToList();
        mine.Select(s => s.OperationName).Should().Equal("dermag.token_rotation.issue", "dermag.token_rotation.refresh", "dermag.token_rotation.refresh");
        mine.Where(s => s.OperationName == "dermag.token_rotation.refresh").Select(s => s.GetTagItem("dermag.result"))
            .Should().Equal(RefreshStatus.Rotated.ToString(), RefreshStatus.ReuseDetected.ToString());
        mine.SelectMany(s => s.TagObjects).Select(t => t.Value?.ToString()).Should().NotContain(v => v != null && (v.Contains(issued.RefreshToken, StringComparison.Ordinal) || v.Contains(issued.AccessToken, StringComparison.Ordinal)),
            "a span never carries a token");
        metrics.Select(m => m.Name).Should().Contain([TokenRotationDiagnostics.RefreshesInstrument, TokenRotationDiagnostics.ReuseDetectionsInstrument, TokenRotationDiagnostics.SessionsIssuedInstrument]);
    }
}
