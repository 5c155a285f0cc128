namespace Dermag.Fuzzing;

/// <summary>Runs saved inputs (seed corpus, regression cases, afl findings) through a harness without afl-fuzz.</summary>
public static class Replay
{
    /// <summary>Gives SharpFuzz's trace map memory when no fuzzer did, so instrumented libraries can run outside afl-fuzz.</summary>
    public static unsafe void EnsureTraceMap()
    {
        if (SharpFuzz.Common.Trace.SharedMem == null)
        {
            SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
        }
    }

    /// <summary>Returns the process exit code: 0 when every file passed, 1 when one failed, 2 when there was nothing to run.</summary>
    public static int Run(string name, IHarness harness, IEnumerable<string> folders, TextWriter output)
    {
        var files = folders
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            .Where(file => !Path.GetFileName(file).StartsWith('.') && !Path.GetFileName(file).Equals("README.md", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            output.WriteLine($"[fuzz] {name}: no input files in {string.Join(", ", folders)}");
            return 2;
        }

        var failed = 0;
        foreach (var file in files)
        {
            if (RunOne(harness, File.ReadAllBytes(file)) is { } failure)
            {
                failed++;
                output.WriteLine($"[fuzz] {name}: FAILED {file}: {failure}");
            }
        }

        output.WriteLine($"[fuzz] {name}: {files.Count} inputs replayed, {files.Count - failed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The exception one input ended with, or null.</summary>
    public static Exception? RunOne(IHarness harness, byte[] input)
    {
        try
        {
            harness.Run(input);
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
