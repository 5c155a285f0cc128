using System.Globalization;
using Dermag.Testing;
using Npgsql;

namespace Dermag.Benchmarks;

/// <summary>What every scenario gets: the mode and the goal collector.</summary>
internal sealed record BenchmarkRun(bool Quick, Goals Goals)
{
    /// <summary>Rounds per comparison: alternating rounds, median kept.</summary>
    public int Rounds => Quick ? 3 : 5;

    /// <summary>One round's duration.</summary>
    public TimeSpan RoundDuration => Quick ? TimeSpan.FromSeconds(0.7) : TimeSpan.FromSeconds(3);

    /// <summary>
    /// A raw-Npgsql contender's data source, pooled as the stores pool the one they build from a connection string
    /// (<c>No Reset On Close</c>: a connection taken back is not reset), so a floor or baseline differs from the library in
    /// its SQL only.
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString) =>
        NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true }.ConnectionString);

    /// <summary>A fresh, empty database on the benchmark server (<c>DERMAG_TEST_POSTGRES</c> or the test fixture's fallbacks).</summary>
    public static async Task<string> CreateDatabaseAsync(string hint)
    {
        var server = await PostgresServer.GetAsync();
        // The fixture cuts the generated name to 60 characters and needs at least that many: pad short hints.
        var connectionString = await server.CreateDatabaseAsync(("benchmark" + hint).PadRight(24, 'x'));
        return new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 200 }.ConnectionString;
    }

    public static void Note(string text) => Console.WriteLine("note " + text);

    public static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>The machine line printed with every result.</summary>
internal static class MachineInfo
{
    public static string Describe()
    {
        var cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
            // Not Linux.
        }

        return $"{Environment.ProcessorCount} cores ({cpu}), {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }

    public static async Task<string> PostgresVersionAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT current_setting('server_version') || ', synchronous_commit=' || current_setting('synchronous_commit') || ', fsync=' || current_setting('fsync')");
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
