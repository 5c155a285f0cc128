using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dermag.BomTriggers.Tests.Queue;

/// <summary>
/// <c>dotnet Dermag.BomTriggers.Tests.dll worker &lt;connection string&gt; &lt;schema&gt;</c>: an app instance with 4 job workers on
/// the schema, whose RECORD action writes (key, attempt, pid) to <c>runs</c>, and which reports its snapshot revision to
/// <c>probe</c> every 50 ms. Runs until killed or until its standard input closes.
/// </summary>
internal static class WorkerProcess
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["worker", var connectionString, var schema])
        {
            await Console.Error.WriteLineAsync("usage: worker <connection string> <schema>");
            return 2;
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new RecordTarget(NpgsqlDataSource.Create(connectionString), schema));
        builder.Services.AddHostedService<RevisionProbe>();
        builder.Services.AddBomTriggers(o =>
        {
            o.WorkerCount = 4;
            // Long enough that a live process keeps its leases when the whole suite loads the machine (2 s and then 5 s
            // leases were taken over from live, starved processes in full runs on 2 cores, and 5 s failed 2 of 2 runs beside
            // four busy loops, where 10 s passed 2 of 2: at-least-once allows a take-over, the test's "duplicates only from
            // the killed process" does not); the killed process's jobs come back after it.
            o.JobLeaseDuration = TimeSpan.FromSeconds(10);
            o.JobPollInterval = TimeSpan.FromMilliseconds(500);
            o.SnapshotRefreshInterval = TimeSpan.FromMinutes(10);
        }).UsePostgres(connectionString, o => o.Schema = schema).AddAction<RecordingAction>("RECORD");
        using var host = builder.Build();
        await host.StartAsync();
        Console.WriteLine("started");
        await Console.In.ReadToEndAsync();
        await host.StopAsync();
        return 0;
    }
}

internal sealed record RecordTarget(NpgsqlDataSource DataSource, string Schema);

/// <summary>Records each execution; a first attempt of an event with <c>"hold":true</c> then holds its job for 12 s (longer than the lease, so it must be renewed).</summary>
internal sealed class RecordingAction(RecordTarget target) : IBomTriggerAction, IBomActionDescription
{
    public static string Description => "Records the execution.";

    public static IReadOnlyList<ActionConfigField> ConfigFields => [];

    public static IReadOnlyList<string> CausedEvents => [];

    public void ValidateConfig(System.Text.Json.JsonElement config, ActionConfigValidationContext context)
    {
    }

    public async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        await using var command = target.DataSource.CreateCommand($"INSERT INTO \"{target.Schema}\".runs (key, attempt, pid, trigger_id) VALUES ($1, $2, $3, $4)");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = context.IdempotencyKey });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = context.Attempt });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Environment.ProcessId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = context.Trigger.Id });
        await command.ExecuteNonQueryAsync(cancellationToken);
        if (context.Attempt == 1 && context.Event.Data.TryGetProperty("hold", out _))
        {
            await Task.Delay(TimeSpan.FromSeconds(12), cancellationToken);
        }

        return ActionResult.Empty;
    }
}

internal sealed class RevisionProbe(RecordTarget target, TriggerSnapshotProvider snapshots) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            if (snapshots.Current is { } snapshot)
            {
                await using var command = target.DataSource.CreateCommand($"""
                    INSERT INTO "{target.Schema}".probe (pid, revision) VALUES ($1, $2) ON CONFLICT (pid) DO UPDATE SET revision = EXCLUDED.revision
                    """);
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Environment.ProcessId });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = snapshot.Revision });
                await command.ExecuteNonQueryAsync(stoppingToken);
            }

            await Task.Delay(50, stoppingToken);
        }
    }
}
