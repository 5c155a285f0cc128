using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dermag.BomTriggers;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>
/// Durable jobs end to end: 4 producers enqueue a burst of no-op jobs while 4 workers run them, until all ran. Jobs per
/// second (enqueue of the first to the end of the last) and enqueue-to-start latency, side by side in one process:
/// Dermag's queued trigger (dispatch evaluates the trigger, writes the job, NOTIFY wakes a worker, claim under a lease,
/// fenced completion with its log row); a raw-Npgsql floor with the same durable steps and nothing else (INSERT, claim one
/// job with FOR UPDATE SKIP LOCKED, mark it done; idle workers poll every millisecond); and Hangfire.PostgreSql running
/// the same no-op.
/// </summary>
internal static class QueueScenario
{
    private const int Producers = 4;
    private const int Workers = 4;

    public static async Task RunAsync(BenchmarkRun run)
    {
        var jobs = run.Quick ? 1_000 : 4_000;
        var hangfireJobs = run.Quick ? 300 : 1_000;
        var connectionString = await BenchmarkRun.CreateDatabaseAsync("queue");
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            Console.WriteLine($"postgres: {await MachineInfo.PostgresVersionAsync(dataSource)}");
        }

        var dermag = new List<Result>();
        var floor = new List<Result>();
        var hangfire = new List<Result>();
        await using var host = await DermagHost.StartAsync(connectionString);
        await using var raw = await Floor.StartAsync(connectionString);
        using var hf = Hangfire_.Start(connectionString);

        // Warm-up rounds (not recorded), then alternating rounds; the median round by throughput is kept.
        await host.RunAsync(jobs / 4);
        await raw.RunAsync(jobs / 4);
        await hf.RunAsync(hangfireJobs / 4);
        for (var round = 0; round < run.Rounds; round++)
        {
            dermag.Add(await host.RunAsync(jobs));
            floor.Add(await raw.RunAsync(jobs));
            hangfire.Add(await hf.RunAsync(hangfireJobs));
        }

        var (d, f, h) = (Median(dermag), Median(floor), Median(hangfire));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"## queue: {Producers} producers, {Workers} workers, no-op job, median of {run.Rounds} rounds"));
        Console.WriteLine("| contender | jobs | jobs/s | enqueue-to-start p50 ms | p99 ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Row("Dermag queued trigger (dispatch + job + NOTIFY + lease + log row)", d);
        Row("floor: raw Npgsql INSERT / SKIP LOCKED claim / mark done, 1 ms poll", f);
        Row("Hangfire.PostgreSql 1.21 (QueuePollInterval 10 ms)", h);
        BenchmarkRun.Note(string.Create(CultureInfo.InvariantCulture,
            $"queue: Dermag/floor throughput {d.Throughput / f.Throughput:0.00}, latency p50 {d.P50:0.00} vs {f.P50:0.00} ms; Dermag/Hangfire throughput {d.Throughput / h.Throughput:0.0}x"));
        run.Goals.AtLeast("queue.throughput_over_floor", d.Throughput / f.Throughput, 0.7);
        run.Goals.AtMost("queue.start_latency_p50_over_floor", d.P50 / Math.Max(f.P50, 0.001), 2);
        run.Goals.AtLeast("queue.throughput_over_hangfire", d.Throughput / h.Throughput, 5);
    }

    private static Result Median(List<Result> rounds) => rounds.OrderBy(r => r.Throughput).ElementAt(rounds.Count / 2);

    private static void Row(string contender, Result r) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {contender} | {r.Jobs:N0} | {r.Throughput:N0} | {r.P50:0.00} | {r.P99:0.00} |"));

    private sealed record Result(int Jobs, double Throughput, double P50, double P99);

    /// <summary>Collects one round: enqueue-to-start latencies and the moment the last job started.</summary>
    private sealed class Round(int jobs)
    {
        private readonly ConcurrentBag<double> _latencies = [];
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public void Started(long enqueuedAt)
        {
            _latencies.Add(Stopwatch.GetElapsedTime(enqueuedAt).TotalMilliseconds);
            if (Interlocked.Increment(ref _count) == jobs)
            {
                _done.TrySetResult();
            }
        }

        public async Task<Result> MeasureAsync(Func<int, Task> enqueue)
        {
            var watch = Stopwatch.StartNew();
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, Producers).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < jobs)
                {
                    await enqueue(i);
                }
            })));
            await _done.Task.WaitAsync(TimeSpan.FromMinutes(5));
            var elapsed = watch.Elapsed;
            var sorted = _latencies.Order().ToArray();
            return new Result(jobs, jobs / elapsed.TotalSeconds, Harness.Percentile(sorted, 0.5), Harness.Percentile(sorted, 0.99));
        }
    }

    private sealed class DermagHost : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;

        private DermagHost(ServiceProvider provider) => _provider = provider;

        public static volatile Round? Current;

        public static async Task<DermagHost> StartAsync(string connectionString)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddBomTriggers(o =>
            {
                o.WorkerCount = Workers;
                o.JobPollInterval = TimeSpan.FromSeconds(1);
            }).UsePostgres(connectionString, o => { o.Schema = "dermag_queue"; o.Notifications = Environment.GetEnvironmentVariable("Q_NOTIFY") != "0"; }).AddAction<NoOpAction>("NOOP");
            var provider = services.BuildServiceProvider();
            await provider.GetRequiredService<Dermag.Migrations.DermagMigrations>().MigrateAsync();
            foreach (var hosted in provider.GetServices<IHostedService>())
            {
                await hosted.StartAsync(default);
            }

            var manager = provider.GetRequiredService<IBomTriggerManager>();
            var saved = await manager.CreateAsync(new BomTriggerDefinition
            {
                Name = "no-op", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = "NOOP", Execution = new() { Mode = TriggerExecutionMode.Queued },
            });
            if (!saved.Succeeded)
            {
                throw new InvalidOperationException(string.Join("; ", saved.Errors));
            }

            return new DermagHost(provider);
        }

        public async Task<Result> RunAsync(int jobs)
        {
            var engine = _provider.GetRequiredService<IBomTriggerEngine>();
            var round = Current = new Round(jobs);
            return await round.MeasureAsync(i => engine.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.TaskCreate, i, 1, new JsonObject { ["t"] = Stopwatch.GetTimestamp() })));
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var hosted in _provider.GetServices<IHostedService>().Reverse())
            {
                await hosted.StopAsync(default);
            }

            await _provider.DisposeAsync();
        }
    }

    private sealed class NoOpAction : IBomTriggerAction, IBomActionDescription
    {
        public static string Description => "Does nothing.";

        public static IReadOnlyList<ActionConfigField> ConfigFields => [];

        public static IReadOnlyList<string> CausedEvents => [];

        public static bool NeverBlocks => true;

        public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
        {
        }

        public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
        {
            DermagHost.Current?.Started(context.Event.Data.GetProperty("t").GetInt64());
            return Task.FromResult(ActionResult.Empty);
        }
    }

    private sealed class Floor : IAsyncDisposable
    {
        private readonly NpgsqlDataSource _dataSource;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _workers;
        private volatile Round? _round;

        private Floor(NpgsqlDataSource dataSource)
        {
            _dataSource = dataSource;
            _workers = [.. Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkAsync))];
        }

        public static async Task<Floor> StartAsync(string connectionString)
        {
            var dataSource = NpgsqlDataSource.Create(connectionString);
            await using var command = dataSource.CreateCommand("""
                CREATE TABLE IF NOT EXISTS floor_jobs (id BIGSERIAL PRIMARY KEY, payload BIGINT NOT NULL, state SMALLINT NOT NULL DEFAULT 0, lease_until TIMESTAMPTZ);
                CREATE INDEX IF NOT EXISTS floor_jobs_pending ON floor_jobs (id) WHERE state = 0;
                """);
            await command.ExecuteNonQueryAsync();
            return new Floor(dataSource);
        }

        public async Task<Result> RunAsync(int jobs)
        {
            var round = _round = new Round(jobs);
            return await round.MeasureAsync(async _ =>
            {
                await using var insert = _dataSource.CreateCommand("INSERT INTO floor_jobs (payload) VALUES ($1)");
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Stopwatch.GetTimestamp() });
                await insert.ExecuteNonQueryAsync();
            });
        }

        private async Task WorkAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                long id;
                long payload;
                await using (var claim = _dataSource.CreateCommand("""
                    UPDATE floor_jobs SET state = 1, lease_until = now() + interval '30 seconds'
                    WHERE id = (SELECT id FROM floor_jobs WHERE state = 0 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING id, payload
                    """))
                {
                    await using var reader = await claim.ExecuteReaderAsync();
                    if (!await reader.ReadAsync())
                    {
                        await Task.Delay(1);
                        continue;
                    }

                    (id, payload) = (reader.GetInt64(0), reader.GetInt64(1));
                }

                _round?.Started(payload);
                await using var done = _dataSource.CreateCommand("UPDATE floor_jobs SET state = 2, lease_until = NULL WHERE id = $1");
                done.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
                await done.ExecuteNonQueryAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_workers).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await _dataSource.DisposeAsync();
            _stop.Dispose();
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1707", Justification = "Avoids a clash with the Hangfire namespace.")]
    private sealed class Hangfire_ : IDisposable
    {
        private readonly BackgroundJobServer _server;
        private readonly BackgroundJobClient _client;

        public static volatile Round? Current;

        private Hangfire_(BackgroundJobServer server, BackgroundJobClient client) => (_server, _client) = (server, client);

        public static Hangfire_ Start(string connectionString)
        {
            var storage = new PostgreSqlStorage(
                new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(connectionString, new PostgreSqlStorageOptions()),
                new PostgreSqlStorageOptions { AllowUnsafeValues = true, QueuePollInterval = TimeSpan.FromMilliseconds(10), SchemaName = "hangfire", PrepareSchemaIfNecessary = true });
            var server = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = Workers }, storage);
            return new Hangfire_(server, new BackgroundJobClient(storage));
        }

        public async Task<Result> RunAsync(int jobs)
        {
            var round = Current = new Round(jobs);
            return await round.MeasureAsync(_ =>
            {
                var now = Stopwatch.GetTimestamp();
                _client.Enqueue(() => NoOp(now));
                return Task.CompletedTask;
            });
        }

        [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Hangfire calls a public method.")]
        public static void NoOp(long enqueuedAt) => Current?.Started(enqueuedAt);

        public void Dispose() => _server.Dispose();
    }
}
