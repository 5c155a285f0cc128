using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Dermag.Testing;

/// <summary>The PostgreSQL client and server programs on this machine, and running <c>psql</c> against a test database.</summary>
public static class PostgresBinaries
{
    /// <summary>Where the programs are looked for: PATH, then <c>/usr/lib/postgresql/*/bin</c>, newest version first.</summary>
    public static IEnumerable<string> SearchDirectories()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin"))
            : [];
        return path.Concat(debian);
    }

    /// <summary>The OS user the server programs run as: <c>postgres</c> when the tests run as root (initdb refuses root), else the current one.</summary>
    public static string? ServerUser => Environment.UserName == "root" ? "postgres" : null;

    /// <summary>A TCP port on the loopback interface that is free now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a program to its end (as <paramref name="asUser"/> through <c>runuser</c> when set); a non-zero exit throws with its output.</summary>
    public static async Task RunAsync(string file, IReadOnlyList<string> arguments, string? asUser)
    {
        var start = asUser is null ? new ProcessStartInfo(file, arguments) : new ProcessStartInfo("runuser", ["-u", asUser, "--", file, .. arguments]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = Path.GetTempPath();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }

    /// <summary>Runs <c>psql -v ON_ERROR_STOP=1 -f <paramref name="file"/></c> against the database of <paramref name="connectionString"/>.</summary>
    public static async Task<(int ExitCode, string Output)> RunPsqlFileAsync(string connectionString, string file)
    {
        var psql = SearchDirectories().Select(d => Path.Combine(d, "psql")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("psql is needed and was not found on PATH or in /usr/lib/postgresql/*/bin.");
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var start = new ProcessStartInfo(psql,
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", builder.Host!, "-p", builder.Port.ToString(CultureInfo.InvariantCulture), "-U", builder.Username!, "-d", builder.Database!, "-f", file])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (!string.IsNullOrEmpty(builder.Password))
        {
            start.Environment["PGPASSWORD"] = builder.Password;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start psql.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
