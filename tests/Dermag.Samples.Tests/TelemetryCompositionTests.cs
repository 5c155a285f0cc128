using System.Diagnostics;
using Dermag.BomTriggers;
using Dermag.Samples.Tests.Infrastructure;
using Dermag.Testing;
using Dermag.TokenRotation;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Dermag.Samples.Tests;

/// <summary>
/// The root README's OpenTelemetry recipe in the sample on PostgreSQL: Npgsql's own command spans (ActivitySource
/// "Npgsql") are children of the libraries' refresh and dispatch spans, in the same trace.
/// </summary>
public sealed class TelemetryCompositionTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task NpgsqlCommandSpans_AreChildrenOfTheRefreshAndDispatchSpans()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(TokenRotationDiagnostics.ActivitySourceName, BomTriggerDiagnostics.ActivitySourceName) // "Dermag.TokenRotation", "Dermag.BomTriggers"
            .AddSource("Npgsql")                                                                              // Npgsql's command spans join our traces
            .SetSampler(new AlwaysOnSampler()) // this test records no ASP.NET Core request spans, whose unrecorded parents would drop ours
            .AddInMemoryExporter(spans)
            .Build();
        await using var host = new SampleHostFactory().WithSetting("ConnectionStrings:Dermag", database.ConnectionString);
        using var api = host.Api();

        var (_, refreshToken) = await api.LoginAsync("admin", Demo.AdminPassword);
        var rotated = await api.PostAsync("/api/auth/refresh", new { refreshToken });
        rotated.Success.Should().BeTrue(rotated.ToString());
        api.As(rotated.Data.GetProperty("accessToken").GetString());
        var sessionId = (await api.GetAsync("/api/auth/sessions")).Data.GetProperty("sessions").EnumerateArray().Single().GetProperty("sessionId").GetString();
        var created = await api.PostAsync("/api/tasks", new { title = "Traced", taskTypeCode = "LAN" });
        var taskId = created.Data.GetProperty("id").GetInt32();
        tracing.ForceFlush();

        // Other test classes run in parallel in this process: pick this test's spans by their session and task ids.
        List<Activity> all;
        lock (spans)
        {
            all = [.. spans];
        }

        var refresh = all.Where(a => a.OperationName == "dermag.token_rotation.refresh" && Equals(Convert.ToString(a.GetTagItem("dermag.session_id"), System.Globalization.CultureInfo.InvariantCulture), sessionId))
            .Should().ContainSingle().Subject;
        // Task ids restart in every test's database (and in the in-memory hosts): this test's dispatch is the one whose
        // commands went to this test's database.
        var databaseName = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString).Database;
        var dispatch = all.Where(a => a.OperationName == "dermag.bom_triggers.dispatch" && Equals(a.GetTagItem("dermag.bom_triggers.task_id"), taskId)
                && Descendants(all, a).Any(c => c.Source.Name == "Npgsql" && Equals(c.GetTagItem("db.namespace") ?? c.GetTagItem("db.name"), databaseName)))
            .Should().ContainSingle().Subject;

        ChildCommands(all, refresh).Should().Contain(c => c.Contains("rotate_refresh_token(", StringComparison.Ordinal), "the rotation statement runs under the refresh span");
        ChildCommands(all, dispatch).Should().Contain(c => c.Contains("bom_trigger_logs", StringComparison.Ordinal), "the log rows are written under the dispatch span");
    }

    // The Npgsql spans in the span's trace whose parent is the span or one of its descendants.
    private static List<string> ChildCommands(List<Activity> all, Activity root) =>
        [.. Descendants(all, root).Where(a => a.Source.Name == "Npgsql")
            .Select(a => $"{a.DisplayName} {a.GetTagItem("db.query.text") ?? a.GetTagItem("db.statement")}")];

    // The spans of the root's trace below it.
    private static IEnumerable<Activity> Descendants(List<Activity> all, Activity root)
    {
        var inTrace = all.Where(a => a.TraceId == root.TraceId).ToList();
        var under = new HashSet<ActivitySpanId> { root.SpanId };
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var span in inTrace.Where(a => !under.Contains(a.SpanId) && under.Contains(a.ParentSpanId)))
            {
                grew |= under.Add(span.SpanId);
            }
        }

        return inTrace.Where(a => a.SpanId != root.SpanId && under.Contains(a.SpanId));
    }
}
