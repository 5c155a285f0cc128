using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
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
/// the same no-op. All three with Npgsql's automatic preparation (<c>Max Auto Prepare</c>). The table also shows the CPU
/// each job cost in this process and in PostgreSQL: on a 2-core machine the contenders are CPU-bound, so that is where
/// the throughput difference comes from.
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
        // Every contender runs with Npgsql's automatic preparation on (a connection-string setting any app can use).
        connectionString = new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 50, AutoPrepareMinUsages = 2 }.ConnectionString;
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
        var samples = run.Quick ? 50 : 200;
        var (dl, fl, hl) = (await host.IdleLatencyAsync(samples), await raw.IdleLatencyAsync(samples), await hf.IdleLatencyAsync(samples / 4));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"## queue: {Producers} producers, {Workers} workers, no-op job, median of {run.Rounds} rounds"));
        Console.WriteLine("| contender | jobs | jobs/s | enqueue-to-start under the burst p50 ms | p99 ms | CPU ms/job .NET | CPU ms/job postgres |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        Row("Dermag queued trigger (dispatch + job + NOTIFY + lease + log row)", d);
        Row("floor: raw Npgsql INSERT / SKIP LOCKED claim / mark done, 1 ms poll", f);
        Row("Hangfire.PostgreSql 1.21 (QueuePollInterval 10 ms)", h);
        Console.WriteLine();
        Console.WriteLine("## queue: enqueue-to-start with an idle queue (one job at a time)");
        Console.WriteLine("| contender | samples | p50 ms | p99 ms |");
        Console.WriteLine("|---|---:|---:|---:|");
        LatencyRow("Dermag (NOTIFY / local wake-up)", dl);
        LatencyRow("floor (1 ms poll)", fl);
        LatencyRow("Hangfire.PostgreSql (10 ms poll)", hl);
        BenchmarkRun.Note(string.Create(CultureInfo.InvariantCulture,
            $"queue: Dermag/floor throughput {d.Throughput / f.Throughput:0.00}, backlog latency p50 {d.P50:0.00} vs {f.P50:0.00} ms, idle latency p50 {Harness.Percentile(dl, 0.5):0.00} vs {Harness.Percentile(fl, 0.5):0.00} ms; Dermag/Hangfire throughput {d.Throughput / h.Throughput:0.0}x"));
        run.Goals.AtLeast("queue.throughput_over_floor", d.Throughput / f.Throughput, 0.7);
        run.Goals.AtMost("queue.start_latency_p50_over_floor", Harness.Percentile(dl, 0.5) / Harness.Percentile(fl, 0.5), 2);
        run.Goals.AtLeast("queue.throughput_over_hangfire", d.Throughput / h.Throughput, 5);
    }

    private static void LatencyRow(string contender, double[] sorted) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {contender} | {sorted.Length:N0} | {Harness.Percentile(sorted, 0.5):0.00} | {Harness.Percentile(sorted, 0.99):0.00} |"));

    private static Result Median(List<Result> rounds) => rounds.OrderBy(r => r.Throughput).ElementAt(rounds.Count / 2);

    private static void Row(string contender, Result r) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {contender} | {r.Jobs:N0} | {r.Throughput:N0} | {r.P50:0.00} | {r.P99:0.00} | {r.DotnetCpuMs:0.00} | {r.PostgresCpuMs:0.00} |"));

    /// <summary>A throughput round and the CPU it cost per job: this process, and every postgres process of the machine (the benchmark server is local).</summary>
    private sealed record Result(int Jobs, double Throughput, double P50, double P99, double DotnetCpuMs, double PostgresCpuMs);

    /// <summary>
    /// Enqueue-to-start with an idle queue: one job at a time, the next enqueued when the last one started, so the figure
    /// is the wake-up path (notification or poll, claim) and not time spent waiting behind a backlog.
    /// </summary>
    private static async Task<double[]> IdleLatencyAsync(int samples, Func<Round> newRound, Func<Round, int, Task> enqueue)
    {
        var latencies = new double[samples];
        for (var i = 0; i < samples; i++)
        {
            var round = newRound();
            round.Next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var start = Stopwatch.GetTimestamp();
            await enqueue(round, 0);
            await round.Next.Task.WaitAsync(TimeSpan.FromSeconds(30));
            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            await Task.Delay(5);
        }

        Array.Sort(latencies);
        return latencies;
    }

    private const double ClockTicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>CPU ticks used so far by each of the machine's postgres processes (none where /proc is not readable).</summary>
    private static Dictionary<string, long> PgCpu()
    {
        var ticks = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(dir, "comm")).StartsWith("postgres", StringComparison.Ordinal))
                {
                    continue;
                }

                var fields = File.ReadAllText(Path.Combine(dir, "stat")).Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                ticks[dir] = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
            }
        }

        return ticks;
    }

    /// <summary>Collects one round: enqueue-to-start latencies and the moment the last job started.</summary>
    private sealed class Round(int jobs)
    {
        /// <summary>When job i was enqueued (the Dermag contender carries i as the task id).</summary>
        public long[] Stamps { get; } = new long[jobs];

        private readonly ConcurrentBag<double> _latencies = [];
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        /// <summary>Completed when the next job starts (the one-at-a-time latency probe).</summary>
        public TaskCompletionSource? Next { get; set; }

        public void Started(long enqueuedAt)
        {
            Next?.TrySetResult();
            _latencies.Add(Stopwatch.GetElapsedTime(enqueuedAt).TotalMilliseconds);
            if (Interlocked.Increment(ref _count) == jobs)
            {
                _done.TrySetResult();
            }
        }

        public async Task<Result> MeasureAsync(Func<int, Task> enqueue)
        {
            var watch = Stopwatch.StartNew();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var pg0 = PgCpu();
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
            var dotnetCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / jobs;
            var pg1 = PgCpu();
            var postgresCpu = pg1.Sum(p => p.Value - pg0.GetValueOrDefault(p.Key)) * 1000.0 / ClockTicksPerSecond / jobs;
            var sorted = _latencies.Order().ToArray();
            return new Result(jobs, jobs / elapsed.TotalSeconds, Harness.Percentile(sorted, 0.5), Harness.Percentile(sorted, 0.99), dotnetCpu, postgresCpu);
        }
    }

    private sealed class DermagHost : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;

        private DermagHost(ServiceProvider provider) => _provider = provider;

        public static volatile Round? Current;

        private static readonly JsonElement Empty = JsonDocument.Parse("{}").RootElement.Clone();

        public static async Task<DermagHost> StartAsync(string connectionString)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddBomTriggers(o =>
            {
                o.WorkerCount = Workers;
                o.JobPollInterval = TimeSpan.FromSeconds(1);
            }).UsePostgres(connectionString, o => o.Schema = "dermag_queue").AddAction<NoOpAction>("NOOP");
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

        public Task<double[]> IdleLatencyAsync(int samples) => QueueScenario.IdleLatencyAsync(samples, () => Current = new Round(1), (round, i) =>
        {
            round.Stamps[i] = Stopwatch.GetTimestamp();
            return _provider.GetRequiredService<IBomTriggerEngine>().DispatchAsync(new BomTriggerEvent(BomTriggerEvents.TaskCreate, i, 1, Empty));
        });

        public async Task<Result> RunAsync(int jobs)
        {
            var engine = _provider.GetRequiredService<IBomTriggerEngine>();
            var round = Current = new Round(jobs);
            return await round.MeasureAsync(i =>
            {
                round.Stamps[i] = Stopwatch.GetTimestamp();
                return engine.DispatchAsync(new BomTriggerEvent(BomTriggerEvents.TaskCreate, i, 1, Empty));
            });
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
            if (DermagHost.Current is { } round)
            {
                round.Started(round.Stamps[context.Event.TaskId]);
            }

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
            var dataSource = BenchmarkRun.CreateDataSource(connectionString);
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
            return await round.MeasureAsync(_ => InsertAsync());
        }

        public Task<double[]> IdleLatencyAsync(int samples) => QueueScenario.IdleLatencyAsync(samples, () => _round = new Round(1), (_, _) => InsertAsync());

        private async Task InsertAsync()
        {
            await using var insert = _dataSource.CreateCommand("INSERT INTO floor_jobs (payload) VALUES ($1)");
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Stopwatch.GetTimestamp() });
            await insert.ExecuteNonQueryAsync();
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
            return await round.MeasureAsync(_ => EnqueueAsync());
        }

        public Task<double[]> IdleLatencyAsync(int samples) => QueueScenario.IdleLatencyAsync(samples, () => Current = new Round(1), (_, _) => EnqueueAsync());

        private Task EnqueueAsync()
        {
            var now = Stopwatch.GetTimestamp();
            _client.Enqueue(() => NoOp(now));
            return Task.CompletedTask;
        }

        [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Hangfire calls a public method.")]
        public static void NoOp(long enqueuedAt) => Current?.Started(enqueuedAt);

        public void Dispose() => _server.Dispose();
    }
}
