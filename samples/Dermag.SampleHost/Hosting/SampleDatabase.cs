using System.Net.Sockets;
using Npgsql;

namespace Dermag.SampleHost.Hosting;

/// <summary>
/// Before the host starts on PostgreSQL: connects once, creates the database when it does not exist (one line says so),
/// and turns a failed connection into one clear line instead of a stack trace from every service that tried.
/// </summary>
internal static class SampleDatabase
{
    /// <summary>True when the database is reachable (created if it was missing); false after writing the reason to <paramref name="error"/>.</summary>
    public static async Task<bool> EnsureAsync(string connectionString, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        NpgsqlConnectionStringBuilder settings;
        try
        {
            settings = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            await error.WriteLineAsync($"ConnectionStrings:Dermag is not a valid PostgreSQL connection string: {ex.Message}");
            return false;
        }

        // A short timeout: the point is to fail fast with a readable line, not to wait 15 s for a host that is not there.
        var probe = new NpgsqlConnectionStringBuilder(settings.ConnectionString) { Timeout = Math.Min(settings.Timeout, 5), Pooling = false };
        var where = Describe(settings);
        try
        {
            await using var connection = new NpgsqlConnection(probe.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            return true;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName && settings.Database is { Length: > 0 } database)
        {
            return await CreateAsync(probe, database, where, output, error, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
        {
            await error.WriteLineAsync($"Cannot connect to PostgreSQL {where}: {Reason(ex)}");
            return false;
        }
    }

    private static async Task<bool> CreateAsync(NpgsqlConnectionStringBuilder probe, string database, string where, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var maintenance = new NpgsqlConnectionStringBuilder(probe.ConnectionString) { Database = "postgres" };
        try
        {
            await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
            await output.WriteLineAsync($"Database '{database}' did not exist; created it {where}.");
            return true;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            return true; // another instance created it a moment ago
        }
        catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
        {
            await error.WriteLineAsync($"Database '{database}' does not exist {where} and could not be created (create it, or grant CREATEDB): {Reason(ex)}");
            return false;
        }
    }

    private static string Describe(NpgsqlConnectionStringBuilder settings) =>
        $"at {settings.Host ?? "localhost"}:{settings.Port} (database '{settings.Database ?? settings.Username}', user '{settings.Username}')";

    // The innermost message names the real cause ("Connection refused", "password authentication failed ...").
    private static string Reason(Exception ex)
    {
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            message = inner.Message;
        }

        return message.ReplaceLineEndings(" ");
    }
}
