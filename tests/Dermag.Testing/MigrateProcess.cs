using System.Diagnostics;

namespace Dermag.Testing;

/// <summary>
/// Runs a test assembly as a separate OS process with <c>migrate &lt;connection string&gt; &lt;schema&gt;</c> (the assembly's
/// own entry point applies its migrations and prints how many scripts it applied), so several instances migrate at once.
/// </summary>
public static class MigrateProcess
{
    /// <summary>Runs it to the end; the output is standard output, followed by standard error when the process failed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string assembly, string connectionString, string schema)
    {
        var start = new ProcessStartInfo("dotnet", ["exec", assembly, "migrate", connectionString, schema])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var error = await stderr;
        return (process.ExitCode, process.ExitCode == 0 ? await stdout : await stdout + error);
    }
}
