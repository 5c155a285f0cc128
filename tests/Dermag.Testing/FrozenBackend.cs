using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Xunit;

namespace Dermag.Testing;

/// <summary>
/// Stops a PostgreSQL backend process (SIGSTOP) until disposed (SIGCONT), 30 s at most: a connection that hangs without
/// breaking.
/// Only a backend of a server on this machine that this user may signal, whose process title names the test's own
/// database; otherwise null, and the test cannot run (it fails under <c>CI=true</c>, where the server is local).
/// </summary>
public sealed class FrozenBackend : IDisposable
{
    private readonly int _pid;

    private FrozenBackend(int pid) => _pid = pid;

    /// <summary>
    /// Stops backend <paramref name="pid"/> of <paramref name="database"/> once it is idle, waiting for its client (so it
    /// holds no lock another backend could need, the notification queue's included); null when it cannot (and not under CI).
    /// </summary>
    public static async Task<FrozenBackend?> FreezeAsync(NpgsqlDataSource dataSource, int pid, string database)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using (var idle = dataSource.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'idle' AND wait_event = 'ClientRead'"))
        {
            idle.Parameters.Add(new NpgsqlParameter<int> { TypedValue = pid });
            var waited = Stopwatch.StartNew();
            while ((long)(await idle.ExecuteScalarAsync())! == 0)
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), $"backend {pid} never went idle");
                await Task.Delay(1);
            }
        }


        var cmdline = $"/proc/{pid}/cmdline";
        var local = File.Exists(cmdline) && File.ReadAllText(cmdline).Contains($" {database} ", StringComparison.Ordinal);
        if (!local || !Signal("STOP", pid))
        {
            Assert.True(Environment.GetEnvironmentVariable("CI") is not { Length: > 0 } ci || ci.Equals("false", StringComparison.OrdinalIgnoreCase),
                $"CI is set, but backend {pid} of database {database} cannot be stopped from here (a remote server, or another user's)");
            return null;
        }

        // A watchdog outside this process: a test host killed while the backend is stopped must not leave it stopped (a
        // stopped backend would also hold the server's shutdown). SIGCONT to a running process does nothing.
        Start("sh", ["-c", $"sleep 30; kill -CONT {pid.ToString(CultureInfo.InvariantCulture)}"])?.Dispose();
        return new FrozenBackend(pid);
    }

    /// <summary>Lets the backend run again.</summary>
    public void Dispose() => Signal("CONT", _pid);

    private static bool Signal(string signal, int pid)
    {
        using var kill = Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        if (kill is null)
        {
            return false;
        }

        kill.WaitForExit();
        return kill.ExitCode == 0;
    }

    private static Process? Start(string file, string[] arguments)
    {
        try
        {
            return Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true });
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no such program here
        }
    }
}
