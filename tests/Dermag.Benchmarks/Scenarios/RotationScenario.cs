using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>
/// Refresh throughput at 1, 8 and 32 clients over loopback, each client rotating its own session: the library, its
/// floor and the naive transaction (see <see cref="RotationContenders"/>).
/// </summary>
internal static class RotationScenario
{
    public static async Task RunAsync(BenchmarkRun run)
    {
        var connectionString = await BenchmarkRun.CreateDatabaseAsync("rotation");
        await using var provider = await TokenHost.StartAsync(connectionString);
        await using var dataSource = BenchmarkRun.CreateDataSource(connectionString);
        Console.WriteLine($"postgres: {await MachineInfo.PostgresVersionAsync(dataSource)}");
        var service = provider.GetRequiredService<IRefreshTokenManager>();
        var cpu = await CpuMeter.ForServerAsync(dataSource);

        var rows = new List<Measurement>();
        IReadOnlyList<Measurement> at8 = [];
        foreach (var clients in new[] { 1, 8, 32 })
        {
            var measured = await RotationContenders.CompareAsync(run, service, dataSource, clients, cpu: cpu);
            rows.AddRange(measured);
            if (clients == 8)
            {
                at8 = measured;
            }
        }

        Harness.PrintTableWithCpu("rotation: refreshes per second, each client rotating its own session", rows);
        run.Goals.AtLeast("rotation.library_over_floor_at_8", at8[RotationContenders.Library].Throughput / at8[RotationContenders.Floor].Throughput, 0.85);
        run.Goals.AtLeast("rotation.library_over_naive_at_8", at8[RotationContenders.Library].Throughput / at8[RotationContenders.Naive].Throughput, 2.0);
    }
}
