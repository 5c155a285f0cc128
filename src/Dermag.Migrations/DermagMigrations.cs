using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.Migrations;

/// <summary>
/// Every Dermag library's migrations registered in this container (for example by
/// <c>AddRefreshTokenRotation().UsePostgres(...)</c> and <c>AddBomTriggers().UsePostgres(...)</c>), in registration order.
/// Resolve it to migrate, inspect or export from code or a maintenance command.
/// </summary>
public sealed class DermagMigrations
{
    private readonly IReadOnlyList<MigrationRegistration> _registrations;
    private readonly Lazy<IReadOnlyList<MigrationRunner>> _runners;

    private readonly IServiceProvider _services;

    internal DermagMigrations(IEnumerable<MigrationRegistration> registrations, IServiceProvider services)
    {
        _services = services;
        _registrations = [.. registrations];
        _runners = new(() => [.. _registrations.Select(r => r.CreateRunner(services))]);
    }

    /// <summary>One runner per registered library.</summary>
    public IReadOnlyList<MigrationRunner> Runners => _runners.Value;

    /// <summary>Applies pending scripts of every library, in registration order.</summary>
    public async Task<IReadOnlyList<MigrationResult>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var results = new List<MigrationResult>();
        foreach (var runner in Runners)
        {
            results.Add(await runner.MigrateAsync(cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>The status of every library.</summary>
    public async Task<IReadOnlyList<MigrationStatus>> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var results = new List<MigrationStatus>();
        foreach (var runner in Runners)
        {
            results.Add(await runner.GetStatusAsync(cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>One psql script covering every library (see <see cref="MigrationRunner.ExportScript"/>).</summary>
    public string ExportScript()
    {
        var sql = new StringBuilder();
        foreach (var runner in Runners)
        {
            sql.Append(runner.ExportScript());
        }

        return sql.ToString();
    }

    internal async Task RunStartupAsync(CancellationToken cancellationToken)
    {
        for (var i = 0; i < _registrations.Count; i++)
        {
            var mode = _registrations[i].Mode(_services);
            try
            {
                switch (mode)
                {
                    case MigrationStartupMode.Apply:
                        await Runners[i].MigrateAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case MigrationStartupMode.ValidateOnly:
                        await Runners[i].ValidateAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    default:
                        break;
                }
            }
            catch (Exception ex) when (ConnectionProblem(ex) is { } hint && !cancellationToken.IsCancellationRequested)
            {
                // A raw 3D000 or "Failed to connect" out of the runner names neither the library nor what to do.
                var runner = Runners[i];
                throw new MigrationException(
                    $"{runner.Set.Library} could not reach PostgreSQL to {(mode == MigrationStartupMode.Apply ? "apply" : "validate")} its migrations at startup "
                    + $"({runner.Describe()}): {ex.Message.TrimEnd('.', ' ')}. {hint}",
                    ex);
            }
        }
    }

    /// <summary>What to check when <paramref name="exception"/> says the server could not be reached or refused the login; null otherwise.</summary>
    private static string? ConnectionProblem(Exception exception) => exception switch
    {
        Npgsql.PostgresException { SqlState: "3D000" } => "The database does not exist: create it first (the library creates its schema and tables, not the database).",
        Npgsql.PostgresException { SqlState: "28P01" or "28000" } => "Check the user name and the password.",
        Npgsql.PostgresException { SqlState: "57P03" } => "The server is starting up or shutting down; start the host again once it accepts connections.",
        Npgsql.PostgresException => null,
        Npgsql.NpgsqlException { InnerException: System.Net.Sockets.SocketException }
            => "Check the host and port, and that the server is running and accepts TCP connections from here.",
        Npgsql.NpgsqlException npgsql when npgsql.Message.StartsWith("Failed to connect", StringComparison.Ordinal)
            => "Check the host and port, and that the server is running and accepts TCP connections from here.",
        _ => null,
    };
}
