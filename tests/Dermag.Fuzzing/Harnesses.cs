namespace Dermag.Fuzzing;

/// <summary>One fuzzing target: takes arbitrary bytes and throws only when the library broke an invariant.</summary>
public interface IHarness
{
    /// <summary>Runs one input; every exception that escapes is a finding.</summary>
    void Run(ReadOnlySpan<byte> input);
}

/// <summary>An invariant the library must keep whatever the input (an escaped exception is the other kind of finding).</summary>
public sealed class InvariantViolationException(string message) : Exception(message);

/// <summary>The harnesses by the name the command line and fuzz.sh use.</summary>
public static class Harnesses
{
    public static IReadOnlyList<string> Names { get; } = ["refresh-token", "condition", "payload"];

    public static IHarness? Create(string name) => name switch
    {
        "refresh-token" => new RefreshTokenHarness(),
        "condition" => new ConditionHarness(),
        "payload" => new PayloadHarness(),
        _ => null,
    };

    internal static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message);
        }
    }
}
