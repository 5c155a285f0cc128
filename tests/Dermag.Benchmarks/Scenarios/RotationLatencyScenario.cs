using System.Diagnostics;
using System.Globalization;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>
/// The rotation contenders (<see cref="RotationContenders"/>) with an app-to-database latency: every connection, the
/// library's included, goes through a <see cref="LatencyProxy"/> that delays each direction by 0.25 ms, then 1 ms.
/// The loopback figures stay in <see cref="RotationScenario"/>.
/// </summary>
internal static class RotationLatencyScenario
{
    private static readonly (string Label, double Milliseconds, double NaiveGoal)[] Latencies = [("0.25ms", 0.25, 2.0), ("1ms", 1.0, 3.0)];
    private static readonly int[] ClientCounts = [1, 8, 32];

    public static async Task RunAsync(BenchmarkRun run)
    {
        var connectionString = await BenchmarkRun.CreateDatabaseAsync("rotationlatency");
        await using var direct = NpgsqlDataSource.Create(connectionString);
        Console.WriteLine($"postgres: {await MachineInfo.PostgresVersionAsync(direct)}");

        foreach (var (label, milliseconds, naiveGoal) in Latencies)
        {
            await using var proxy = LatencyProxy.Start(connectionString, TimeSpan.FromMilliseconds(milliseconds));
            var routed = proxy.Route(connectionString);
            await using var provider = await TokenHost.StartAsync(routed);
            await using var dataSource = BenchmarkRun.CreateDataSource(routed);
            var service = provider.GetRequiredService<IRefreshTokenManager>();
            await NoteAddedRoundTripAsync(direct, dataSource, proxy);
            await NoteRoundTripsAsync(service, dataSource, proxy, label);
            var cpu = await CpuMeter.ForServerAsync(direct, () => proxy.CpuMilliseconds);
            _ = proxy.TakeLateness();

            var rows = new List<Measurement>();
            var byClients = new Dictionary<int, IReadOnlyList<Measurement>>();
            foreach (var clients in ClientCounts)
            {
                var measured = await RotationContenders.CompareAsync(run, service, dataSource, clients, label, cpu);
                rows.AddRange(measured);
                byClients[clients] = measured;
            }

            var (chunks, p50, p99, max) = proxy.TakeLateness();
            Harness.PrintTableWithCpu($"rotation through the proxy, {milliseconds.ToString(CultureInfo.InvariantCulture)} ms each way: refreshes per second, each client rotating its own session", rows);
            BenchmarkRun.Note(string.Create(CultureInfo.InvariantCulture,
                $"proxy {label}: {chunks:N0} chunks released, late by p50 {p50:0} µs, p99 {p99:0} µs, max {max:0} µs (after their due time; the machine's scheduling)"));
            foreach (var clients in ClientCounts)
            {
                var m = byClients[clients];
                run.Goals.AtLeast($"rotation_latency.library_over_naive_{label}_at_{clients}", m[RotationContenders.Library].Throughput / m[RotationContenders.Naive].Throughput, naiveGoal);
            }

            foreach (var clients in ClientCounts)
            {
                var m = byClients[clients];
                run.Goals.AtLeast($"rotation_latency.library_over_floor_{label}_at_{clients}", m[RotationContenders.Library].Throughput / m[RotationContenders.Floor].Throughput, 0.9);
            }
        }
    }

    /// <summary>The proxy's own check: median SELECT 1 round trip through it against direct; it should add twice the one-way delay.</summary>
    private static async Task NoteAddedRoundTripAsync(NpgsqlDataSource direct, NpgsqlDataSource proxied, LatencyProxy proxy)
    {
        var directMicros = await MedianSelectOneAsync(direct);
        var proxiedMicros = await MedianSelectOneAsync(proxied);
        var expected = proxy.OneWayDelay.TotalMicroseconds * 2;
        BenchmarkRun.Note(string.Create(CultureInfo.InvariantCulture,
            $"proxy {proxy.OneWayDelay.TotalMilliseconds} ms each way: SELECT 1 median {proxiedMicros:0} µs through it vs {directMicros:0} µs direct, adds {proxiedMicros - directMicros:0} µs (expected {expected:0} µs)"));
    }

    /// <summary>Round trips per rotation as the proxy sees them: chunks each way per operation, one client, one after another.</summary>
    private static async Task NoteRoundTripsAsync(IRefreshTokenManager service, NpgsqlDataSource dataSource, LatencyProxy proxy, string label)
    {
        const int Operations = 50;
        var contenders = await RotationContenders.PrepareAsync(service, dataSource, 1, "rt" + label);
        var parts = new List<string>();
        foreach (var (name, operation) in contenders)
        {
            await operation(0);
            var (up0, down0) = proxy.Chunks;
            for (var i = 0; i < Operations; i++)
            {
                await operation(0);
            }

            var (up1, down1) = proxy.Chunks;
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{name.Split(':')[0]} {(up1 - up0) / (double)Operations:0.##} up / {(down1 - down0) / (double)Operations:0.##} down"));
        }

        BenchmarkRun.Note($"proxy {label}: chunks per rotation (one client, sequential; a round trip is one chunk up and one down): {string.Join("; ", parts)}");
    }

    private static async Task<double> MedianSelectOneAsync(NpgsqlDataSource dataSource)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        var samples = new double[200];
        for (var i = -20; i < samples.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await command.ExecuteScalarAsync();
            if (i >= 0)
            {
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        Array.Sort(samples);
        return samples[samples.Length / 2];
    }
}
