using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Dermag.Benchmarks;

/// <summary>
/// Where the CPU went during a measurement (Linux /proc; zeros elsewhere): this process, the benchmark server's
/// processes (the postmaster named by a backend's parent and all its children, so other clusters on the machine do
/// not count), and the whole machine's busy share. On a shared 2-core machine this tells a contender that waits on
/// the network from one that waits for a CPU.
/// </summary>
internal sealed class CpuMeter
{
    private const double ClockTicksPerSecond = 100; // USER_HZ on Linux

    private readonly int _postmaster;
    private readonly Func<double>? _proxyMs;

    private CpuMeter(int postmaster, Func<double>? proxyMs)
    {
        _postmaster = postmaster;
        _proxyMs = proxyMs;
    }

    /// <summary>
    /// A meter for the server behind <paramref name="dataSource"/> (which must be on this machine to count its CPU);
    /// <paramref name="proxyMs"/> reads the CPU an in-process proxy has used, which is also counted apart.
    /// </summary>
    public static async Task<CpuMeter> ForServerAsync(NpgsqlDataSource dataSource, Func<double>? proxyMs = null)
    {
        await using var command = dataSource.CreateCommand("SELECT pg_backend_pid()");
        var backend = (int)(await command.ExecuteScalarAsync())!;
        return new CpuMeter(ParentOf(backend) ?? -1, proxyMs);
    }

    public Sample Take() => new(Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds, _proxyMs?.Invoke() ?? 0, ServerTicks() * 1000.0 / ClockTicksPerSecond, MachineTicks());

    /// <summary>
    /// CPU ms per operation in this process without the proxy, in the proxy, and in the server, and the machine's busy
    /// share (0 to 1 of all cores).
    /// </summary>
    public static (double ProcessMs, double ProxyMs, double ServerMs, double MachineBusy) Between(Sample before, Sample after, long operations)
    {
        var ops = Math.Max(operations, 1);
        var (busy0, total0) = before.Machine;
        var (busy1, total1) = after.Machine;
        var machine = total1 > total0 ? (double)(busy1 - busy0) / (total1 - total0) : 0;
        var proxy = after.ProxyMs - before.ProxyMs;
        return ((after.ProcessMs - before.ProcessMs - proxy) / ops, proxy / ops, (after.ServerMs - before.ServerMs) / ops, machine);
    }

    private long ServerTicks()
    {
        if (_postmaster <= 0)
        {
            return 0;
        }

        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var fields = StatFields(pid);
            if (fields is null)
            {
                continue;
            }

            if (pid == _postmaster)
            {
                // Its own time and that of its children that ended (a backend whose connection closed).
                ticks += fields[11..15].Sum(f => long.Parse(f, CultureInfo.InvariantCulture));
            }
            else if (fields[1] == _postmaster.ToString(CultureInfo.InvariantCulture))
            {
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
        }

        return ticks;
    }

    private static int? ParentOf(int pid) =>
        StatFields(pid) is { } fields ? int.Parse(fields[1], CultureInfo.InvariantCulture) : null;

    /// <summary>The fields of /proc/pid/stat after the command name: [0] state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            return text[(text.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static (long Busy, long Total) MachineTicks()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First();
            var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            var total = values.Sum();
            var idle = values[3] + values[4]; // idle + iowait
            return (total - idle, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (0, 0);
        }
    }

    internal readonly record struct Sample(double ProcessMs, double ProxyMs, double ServerMs, (long Busy, long Total) Machine);
}
