using System.Globalization;
using Dermag.Benchmarks;
using Dermag.Benchmarks.Scenarios;

// dotnet run -c Release --project tests/Dermag.Benchmarks -- <scenario> [--quick]
var scenarios = new Dictionary<string, Func<BenchmarkRun, Task>>(StringComparer.OrdinalIgnoreCase)
{
    ["dispatch"] = DispatchScenario.RunAsync,
    ["dispatch-pg"] = DispatchPgScenario.RunAsync,
    ["rotation"] = RotationScenario.RunAsync,
    ["rotation-latency"] = RotationLatencyScenario.RunAsync,
    ["cleanup"] = CleanupScenario.RunAsync,
    ["revocation"] = RevocationScenario.RunAsync,
    ["queue"] = QueueScenario.RunAsync,
    ["notify"] = NotifyScenario.RunAsync,
};

var quick = args.Contains("--quick", StringComparer.OrdinalIgnoreCase);
if (DispatchScenario.IsChild(args))
{
    // A process the dispatch scenario started to measure the first dispatch after load in a fresh process.
    await DispatchScenario.ChildAsync(new BenchmarkRun(quick, new Goals()));
    return 0;
}

var names = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
if (names.Count == 0 || names.Any(n => n != "all" && !scenarios.ContainsKey(n)))
{
    Console.Error.WriteLine($"usage: dotnet run -c Release --project tests/Dermag.Benchmarks -- <{string.Join("|", scenarios.Keys)}|all> [--quick]");
    return 2;
}

if (names.Contains("all"))
{
    names = [.. scenarios.Keys];
}

var run = new BenchmarkRun(quick, new Goals());
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# Dermag benchmarks {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC{(quick ? " (quick)" : string.Empty)}"));
Console.WriteLine($"machine: {MachineInfo.Describe()}");
foreach (var name in names)
{
    var started = System.Diagnostics.Stopwatch.StartNew();
    Console.WriteLine();
    Console.WriteLine($"# scenario {name}");
    await scenarios[name](run);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(scenario {name} took {started.Elapsed.TotalSeconds:0.0} s)"));
}

Console.WriteLine();
Console.WriteLine(run.Goals.AllPassed ? "all goals PASS" : "some goals FAIL");
return run.Goals.AllPassed ? 0 : 1;
