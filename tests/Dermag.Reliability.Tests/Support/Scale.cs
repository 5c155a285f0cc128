namespace Dermag.Reliability.Tests.Support;

/// <summary>
/// How hard the suite pushes. The normal run is bounded so the whole project stays well under 90 seconds on 2 cores;
/// <c>DERMAG_RELIABILITY_HEAVY=1</c> multiplies the counts for a soak before a release.
/// </summary>
public static class Scale
{
    public const string HeavyVariable = "DERMAG_RELIABILITY_HEAVY";

    public static bool Heavy { get; } = Environment.GetEnvironmentVariable(HeavyVariable) == "1";

    /// <summary><paramref name="normal"/> in the normal run, <paramref name="heavy"/> with the heavy switch.</summary>
    public static int Pick(int normal, int heavy) => Heavy ? heavy : normal;
}

/// <summary>Figures the tests print, so docs/reliability.md can quote the last run (<c>dotnet test --logger "console;verbosity=detailed"</c>).</summary>
public static class Figures
{
    public static void Report(ITestOutputHelper output, string text)
    {
        output.WriteLine(text);
        Console.WriteLine("[reliability] " + text);
    }
}
