using System.Diagnostics;
using System.Globalization;

namespace Dermag.Benchmarks;

/// <summary>What one contender measured in one round.</summary>
internal sealed record Measurement(string Contender, int Clients, long Operations, TimeSpan Elapsed, double P50Micros, double P99Micros, double AllocatedBytesPerOp)
{
    /// <summary>CPU ms per operation in this process (without an in-process proxy), in the proxy, in the server, and the machine's busy share; NaN when not measured.</summary>
    public (double ProcessMs, double ProxyMs, double ServerMs, double MachineBusy) Cpu { get; init; } = (double.NaN, double.NaN, double.NaN, double.NaN);

    public double Throughput => Operations / Elapsed.TotalSeconds;
}

/// <summary>
/// Runs contenders side by side in one process: rounds alternate between contenders so that machine noise
/// (other load, CPU frequency, GC state) hits them equally, and results are the median of the rounds.
/// </summary>
internal static class Harness
{
    public static async Task<Measurement> MeasureAsync(string contender, int clients, TimeSpan duration, Func<int, Task> operation, CpuMeter? cpu = null)
    {
        var cpuBefore = cpu?.Take();
        var latencies = new List<double>[clients];
        var stop = Stopwatch.StartNew();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var workers = Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var mine = latencies[client] = new List<double>(4096);
            while (stop.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                await operation(client).ConfigureAwait(false);
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        })).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
        var elapsed = stop.Elapsed;
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var measurement = new Measurement(contender, clients, all.Length, elapsed, Percentile(all, 0.50), Percentile(all, 0.99), all.Length == 0 ? 0 : (double)allocated / all.Length);
        return cpu is null ? measurement : measurement with { Cpu = CpuMeter.Between(cpuBefore!.Value, cpu.Take(), all.Length) };
    }

    /// <summary>Measures every contender <paramref name="rounds"/> times, alternating, and keeps each one's median round by throughput.</summary>
    public static Task<IReadOnlyList<Measurement>> CompareAsync(
        int clients, TimeSpan roundDuration, int rounds, params (string Name, Func<int, Task> Operation)[] contenders) =>
        CompareAsync(clients, roundDuration, rounds, betweenRounds: null, cpu: null, contenders);

    /// <summary>As above; <paramref name="betweenRounds"/> runs outside the measured time after every measurement (to trim logs, reset rows).</summary>
    public static Task<IReadOnlyList<Measurement>> CompareAsync(
        int clients, TimeSpan roundDuration, int rounds, Func<Task>? betweenRounds, params (string Name, Func<int, Task> Operation)[] contenders) =>
        CompareAsync(clients, roundDuration, rounds, betweenRounds, cpu: null, contenders);

    /// <summary>As above; with <paramref name="cpu"/>, every measurement also records where the CPU went.</summary>
    public static async Task<IReadOnlyList<Measurement>> CompareAsync(
        int clients, TimeSpan roundDuration, int rounds, Func<Task>? betweenRounds, CpuMeter? cpu, params (string Name, Func<int, Task> Operation)[] contenders)
    {
        var results = contenders.ToDictionary(c => c.Name, _ => new List<Measurement>());

        // One unrecorded warm-up round each, so tiered JIT and pools settle before anything counts.
        foreach (var (name, operation) in contenders)
        {
            await MeasureAsync(name, clients, roundDuration / 2, operation).ConfigureAwait(false);
            if (betweenRounds is not null)
            {
                await betweenRounds().ConfigureAwait(false);
            }
        }

        for (var round = 0; round < rounds; round++)
        {
            // Alternate the order too, so no contender always runs right after the same neighbour.
            var order = round % 2 == 0 ? contenders : contenders.Reverse().ToArray();
            foreach (var (name, operation) in order)
            {
                results[name].Add(await MeasureAsync(name, clients, roundDuration, operation, cpu).ConfigureAwait(false));
                if (betweenRounds is not null)
                {
                    await betweenRounds().ConfigureAwait(false);
                }
            }
        }

        return [.. contenders.Select(c => results[c.Name].OrderBy(m => m.Throughput).ElementAt(rounds / 2))];
    }

    /// <summary>The table with four more columns: CPU per operation in this process (without the proxy), in the proxy and in the server, and the machine's busy share.</summary>
    public static void PrintTableWithCpu(string title, IEnumerable<Measurement> rows)
    {
        Console.WriteLine();
        Console.WriteLine($"## {title}");
        Console.WriteLine("| contender | clients | ops/s | p50 µs | p99 µs | alloc B/op | CPU µs/op .NET | CPU µs/op proxy | CPU µs/op postgres | machine busy |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var m in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {m.Contender} | {m.Clients} | {m.Throughput:N0} | {m.P50Micros:N1} | {m.P99Micros:N1} | {m.AllocatedBytesPerOp:N0} | {m.Cpu.ProcessMs * 1000:N0} | {m.Cpu.ProxyMs * 1000:N0} | {m.Cpu.ServerMs * 1000:N0} | {m.Cpu.MachineBusy:P0} |"));
        }
    }

    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    public static void PrintTable(string title, IEnumerable<Measurement> rows)
    {
        Console.WriteLine();
        Console.WriteLine($"## {title}");
        Console.WriteLine("| contender | clients | ops/s | p50 µs | p99 µs | alloc B/op |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var m in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {m.Contender} | {m.Clients} | {m.Throughput:N0} | {m.P50Micros:N1} | {m.P99Micros:N1} | {m.AllocatedBytesPerOp:N0} |"));
        }
    }
}

/// <summary>One line per goal: <c>goal &lt;name&gt; &lt;measured&gt; &lt;target&gt; PASS|FAIL</c>.</summary>
internal sealed class Goals
{
    private readonly List<(string Name, bool Pass)> _results = [];

    public bool AllPassed => _results.All(r => r.Pass);

    public void AtLeast(string name, double measured, double target) => Report(name, measured, ">=" + Format(target), measured >= target);

    public void AtMost(string name, double measured, double target) => Report(name, measured, "<=" + Format(target), measured <= target);

    private void Report(string name, double measured, string target, bool pass)
    {
        _results.Add((name, pass));
        Console.WriteLine($"goal {name} {Format(measured)} {target} {(pass ? "PASS" : "FAIL")}");
    }

    private static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
