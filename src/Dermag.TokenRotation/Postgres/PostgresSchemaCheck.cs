using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation;

/// <summary>
/// Fails the host's start when <see cref="PostgresTokenStoreOptions.UserIdType"/> does not match the type the tables were
/// created with (a raw 42804 at the first login otherwise), and when the tables exist but the rotation function is missing
/// or the connecting role may not execute it (a raw 42883 or 42501 at every refresh otherwise). Skipped when the tables
/// do not exist yet (migrations off). The health check reports a function or grant lost after the start.
/// </summary>
internal sealed class PostgresSchemaCheck(
    IRefreshTokenStore store,
    IOptionsMonitor<PostgresTokenStoreOptions> options,
    ILogger<PostgresSchemaCheck>? logger = null) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (store is not PostgresRefreshTokenStore postgres)
        {
            return;
        }

        var o = options.CurrentValue;
        if (o.ConnectionString is null && ResetsPooledConnections(postgres.DataSource))
        {
            // The host's own data source, used as configured; say what its reset costs, once.
            Log.DataSourceResetsConnections((ILogger?)logger ?? NullLogger.Instance);
        }

        var actual = await postgres.ReadUserIdColumnTypeAsync(o.Schema, cancellationToken).ConfigureAwait(false);
        if (actual is not null && !string.Equals(actual, o.UserIdSqlType, StringComparison.Ordinal))
        {
            throw new TokenRotationException(
                $"{nameof(PostgresTokenStoreOptions)}.{nameof(PostgresTokenStoreOptions.UserIdType)} is {o.UserIdType} ({o.UserIdSqlType}), but "
                + $"{o.Schema}.refresh_tokens.user_id is {actual}. The type is fixed when the tables are created: set UserIdType to match the table.");
        }

        if (actual is null)
        {
            return;
        }

        if (RotationFunctionProblem(await postgres.CanExecuteRotationAsync(cancellationToken).ConfigureAwait(false), o) is { } problem)
        {
            throw new TokenRotationException(problem);
        }
    }

    /// <summary>
    /// Why refreshes would fail, given <see cref="PostgresRefreshTokenStore.CanExecuteRotationAsync"/>'s answer (null: the
    /// function is missing; false: the role may not execute it); null when they would not. The health check reports it too.
    /// </summary>
    internal static string? RotationFunctionProblem(bool? canExecute, PostgresTokenStoreOptions o) => canExecute switch
    {
        null => $"{o.Schema}.refresh_tokens exists but {o.Schema}.rotate_refresh_token does not: apply migration 0003_rotate_function.sql "
            + $"({nameof(PostgresTokenStoreOptions)}.{nameof(PostgresTokenStoreOptions.MigrationMode)} is {o.MigrationMode}; DermagMigrations.ExportScript() renders it for psql).",
        false => $"The role this application connects as may not execute {o.Schema}.rotate_refresh_token, which every refresh calls: "
            + $"GRANT EXECUTE ON FUNCTION {o.Schema}.{PostgresSql.RotationFunction} TO <that role>.",
        true => null,
    };

    /// <summary>
    /// Whether Npgsql resets each connection <paramref name="dataSource"/> takes back (<c>DISCARD ALL</c>) and nothing keeps
    /// the rotation's plans anyway (<c>Max Auto Prepare</c> prepares statements that survive the reset).
    /// </summary>
    internal static bool ResetsPooledConnections(Npgsql.NpgsqlDataSource dataSource)
    {
        var settings = new Npgsql.NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        return !settings.NoResetOnClose && settings.MaxAutoPrepare == 0;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
