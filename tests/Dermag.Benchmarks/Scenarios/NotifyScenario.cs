using System.Diagnostics;
using System.Globalization;
using Dermag.BomTriggers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>
/// Trigger edits across instances: two app instances (two DI containers with their own rule snapshot) on one database.
/// Instance A toggles a trigger; the sample ends when instance B's snapshot holds the new version (what B's next dispatch
/// uses). The baseline is the same pair without notifications, where only the revision poll (1 s here, 5 s by default)
/// brings the edit.
/// </summary>
internal static class NotifyScenario
{
    public static async Task RunAsync(BenchmarkRun run)
    {
        var connectionString = await BenchmarkRun.CreateDatabaseAsync("notify");
        var notified = await MeasureAsync(connectionString, "notified", notifications: true, poll: TimeSpan.FromMinutes(10), samples: run.Quick ? 40 : 200);
        var polled = await MeasureAsync(connectionString, "polled", notifications: false, poll: TimeSpan.FromSeconds(1), samples: run.Quick ? 4 : 10);

        Console.WriteLine();
        Console.WriteLine("## notify: edit on instance A until instance B's rule snapshot has it");
        Console.WriteLine("| contender | samples | p50 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Row("LISTEN/NOTIFY (revision poll 10 min, only the notification can bring it)", notified);
        Row("baseline: no notifications, revision poll 1 s", polled);
        BenchmarkRun.Note(string.Create(CultureInfo.InvariantCulture, $"notify: baseline p50 / notified p50 = {Harness.Percentile(polled, 0.5) / Harness.Percentile(notified, 0.5):0.0}x"));
        run.Goals.AtMost("notify.edit_to_visible_p99_ms", Harness.Percentile(notified, 0.99), 100);
    }

    private static void Row(string contender, double[] sorted) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {contender} | {sorted.Length:N0} | {Harness.Percentile(sorted, 0.5):0.0} | {Harness.Percentile(sorted, 0.99):0.0} | {sorted[^1]:0.0} |"));

    private static async Task<double[]> MeasureAsync(string connectionString, string schema, bool notifications, TimeSpan poll, int samples)
    {
        await using var a = await StartAsync(connectionString, schema, notifications, poll);
        await using var b = await StartAsync(connectionString, schema, notifications, poll);
        var manager = a.GetRequiredService<IBomTriggerManager>();
        var snapshotB = b.GetRequiredService<TriggerSnapshotProvider>();
        var trigger = (await manager.CreateAsync(new BomTriggerDefinition { Name = "edited", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.Notify, ActionConfig = System.Text.Json.JsonDocument.Parse("""{"message":"x","recipients":["manager"]}""").RootElement.Clone() })).Trigger!;
        if (notifications)
        {
            await b.GetRequiredService<TriggerNotificationListener>().Listening.WaitAsync(TimeSpan.FromSeconds(30));
        }

        await snapshotB.RefreshAsync(default);
        var latencies = new double[samples];
        for (var i = 0; i < samples; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var toggled = (await manager.ToggleAsync(trigger.Id))!;
            while (!Visible(snapshotB.Current, toggled))
            {
                if (Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(30))
                {
                    throw new InvalidOperationException("instance B never saw the edit");
                }

                await Task.Delay(1);
            }

            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(latencies);
        return latencies;
    }

    /// <summary>B's snapshot reflects the toggle: an active trigger is in it with the new version, an inactive one is gone.</summary>
    private static bool Visible(TriggerSnapshot? snapshot, BomTrigger toggled) =>
        snapshot is not null && (toggled.IsActive
            ? snapshot.ById.TryGetValue(toggled.Id, out var compiled) && compiled.Trigger.Version == toggled.Version
            : !snapshot.ById.ContainsKey(toggled.Id));

    private static async Task<Instance> StartAsync(string connectionString, string schema, bool notifications, TimeSpan poll)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IBomNotificationSender>(new NoNotifications());
        services.AddBomTriggers(o =>
        {
            o.SnapshotRefreshInterval = poll;
            o.WorkerCount = 0;
        }).UsePostgres(connectionString, o =>
        {
            o.Schema = schema;
            o.Notifications = notifications;
        });
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<Dermag.Migrations.DermagMigrations>().MigrateAsync();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(default);
        }

        return new Instance(provider, hosted);
    }

    private sealed class NoNotifications : IBomNotificationSender
    {
        public Task SendAsync(BomNotification notification, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class Instance(ServiceProvider provider, List<IHostedService> hosted) : IAsyncDisposable
    {
        public T GetRequiredService<T>()
            where T : notnull => provider.GetRequiredService<T>();

        public async ValueTask DisposeAsync()
        {
            foreach (var service in Enumerable.Reverse(hosted))
            {
                await service.StopAsync(default);
            }

            await provider.DisposeAsync();
        }
    }
}
