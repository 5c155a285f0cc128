using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Dermag.Migrations;

/// <summary>
/// Applies one library's <see cref="MigrationSet"/> to one schema. Each script runs in its own transaction holding a
/// transaction-scoped advisory lock derived from library and schema, so several instances starting at once apply each
/// script exactly once, a crash releases the lock, and it is safe behind a transaction-pooling proxy.
/// </summary>
public sealed partial class MigrationRunner
{
    /// <summary>The name of the history table, created in the target schema and shared by all Dermag libraries.</summary>
    public const string HistoryTableName = "dermag_schema_history";

    private const string LockTimeoutSqlState = "55P03";

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly string _quotedSchema;
    private readonly string _history;
    private readonly long _libraryLockKey;
    private readonly long _schemaLockKey;
    private readonly TimeSpan _lockTimeout;
    private readonly Dictionary<string, string> _resolvedSql;
    private readonly string _lockSql;
    private readonly string _bootstrapSql;

    /// <summary>Creates a runner. The schema and placeholders are validated here, before any SQL runs.</summary>
    /// <exception cref="ArgumentException">The schema is not a plain identifier, the lock timeout is not positive, or a script uses a placeholder that has no value.</exception>
    public MigrationRunner(NpgsqlDataSource dataSource, MigrationSet set, MigrationRunnerOptions? options = null, ILogger<MigrationRunner>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(set);
        options ??= new MigrationRunnerOptions();

        _quotedSchema = SqlIdentifier.Quote(options.Schema, "Schema");
        if (options.LockTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"LockTimeout must be positive; got {options.LockTimeout}.", nameof(options));
        }

        _dataSource = dataSource;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Set = set;
        Schema = options.Schema;
        _lockTimeout = options.LockTimeout;
        _history = _quotedSchema + "." + HistoryTableName;
        _libraryLockKey = LockKey("library", set.Library, Schema);
        _schemaLockKey = LockKey("schema", string.Empty, Schema);

        var placeholders = new Dictionary<string, string>(options.Placeholders, StringComparer.Ordinal)
        {
            ["schema"] = _quotedSchema,
        };
        _resolvedSql = set.Scripts.ToDictionary(s => s.Name, s => Fill(set.Library, s, placeholders), StringComparer.Ordinal);

        // The runner and the exported psql script take the same locks and create the same history table.
        // The library lock serializes this library's scripts in this schema; the schema lock serializes creating the
        // shared schema and history table with the other libraries. Both are released with the transaction.
        _lockSql = string.Create(CultureInfo.InvariantCulture, $"""
            SET LOCAL lock_timeout = '{(long)_lockTimeout.TotalMilliseconds}ms';
            DO $dermag$ BEGIN PERFORM pg_advisory_xact_lock({_libraryLockKey}); PERFORM pg_advisory_xact_lock({_schemaLockKey}); END $dermag$;
            SET LOCAL lock_timeout TO DEFAULT;
            """);
        _bootstrapSql = $"""
            DO $dermag$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = {Literal(Schema)}) THEN
                    CREATE SCHEMA {_quotedSchema};
                END IF;
            END
            $dermag$;
            CREATE TABLE IF NOT EXISTS {_history} (
                library         text        NOT NULL,
                script          text        NOT NULL,
                checksum        text        NOT NULL,
                applied_at      timestamptz NOT NULL DEFAULT now(),
                applied_by      text        NOT NULL DEFAULT current_user,
                execution_ms    integer     NOT NULL,
                library_version text        NOT NULL,
                PRIMARY KEY (library, script)
            );
            """;
    }

    /// <summary>The scripts this runner applies.</summary>
    public MigrationSet Set { get; }

    /// <summary>The target schema (unquoted).</summary>
    public string Schema { get; }

    /// <summary>Applies every pending script in order. A no-op, after one query, when the database is up to date.</summary>
    /// <exception cref="MigrationException">A script failed (it is rolled back and nothing is recorded), an applied script's checksum changed, or the lock timed out.</exception>
    public async Task<MigrationResult> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var status = await GetStatusAsync(cancellationToken).ConfigureAwait(false);
        ThrowOnChecksumMismatch(status);
        foreach (var unknown in status.Unknown)
        {
            Log.UnknownScript(_logger, Set.Library, unknown.Name, Schema);
        }

        if (status.Pending.Count == 0)
        {
            Log.UpToDate(_logger, Set.Library, Schema);
            return new MigrationResult(Set.Library, Schema, []);
        }

        var applied = new List<string>();
        foreach (var script in Set.Scripts.Where(s => status.Pending.Contains(s.Name)))
        {
            if (await ApplyAsync(script, cancellationToken).ConfigureAwait(false))
            {
                applied.Add(script.Name);
            }
        }

        return new MigrationResult(Set.Library, Schema, applied);
    }

    /// <summary>Compares the database with the scripts: applied, pending, unknown, changed.</summary>
    public async Task<MigrationStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var recorded = new List<AppliedMigration>();

        await using (var exists = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection))
        {
            exists.Parameters.AddWithValue(_history);
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                return new MigrationStatus(Set.Library, Schema, [], [.. Set.Scripts.Select(s => s.Name)], [], []);
            }
        }

        await using (var command = new NpgsqlCommand(
            $"SELECT script, checksum, applied_at, applied_by, execution_ms, library_version FROM {_history} WHERE library = $1 ORDER BY script",
            connection))
        {
            command.Parameters.AddWithValue(Set.Library);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                recorded.Add(new AppliedMigration(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetFieldValue<DateTimeOffset>(2),
                    reader.GetString(3),
                    TimeSpan.FromMilliseconds(reader.GetInt32(4)),
                    reader.GetString(5)));
            }
        }

        var byName = recorded.ToDictionary(r => r.Name, StringComparer.Ordinal);
        var known = Set.Scripts.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        return new MigrationStatus(
            Set.Library,
            Schema,
            [.. recorded.Where(r => known.Contains(r.Name))],
            [.. Set.Scripts.Where(s => !byName.ContainsKey(s.Name)).Select(s => s.Name)],
            [.. recorded.Where(r => !known.Contains(r.Name))],
            [.. Set.Scripts.Where(s => byName.TryGetValue(s.Name, out var r) && r.Checksum != s.Checksum).Select(s => s.Name)]);
    }

    /// <summary>Fails when the database is behind the code or a script changed, naming every such script.</summary>
    /// <exception cref="MigrationException">Scripts are pending or changed.</exception>
    public async Task ValidateAsync(CancellationToken cancellationToken = default)
    {
        var status = await GetStatusAsync(cancellationToken).ConfigureAwait(false);
        ThrowOnChecksumMismatch(status);
        if (status.Pending.Count > 0)
        {
            throw new MigrationException(
                $"MIGRATION_REQUIRED: schema '{Schema}' is missing {status.Pending.Count} migration(s) of {Set.Library}: {string.Join(", ", status.Pending)}. "
                + "Apply them (startup mode Apply, or the exported psql script) before starting the application.")
            {
                ScriptName = status.Pending[0],
            };
        }
    }

    /// <summary>Where this runner connects: host, port, database and user (never the password).</summary>
    internal string Describe()
    {
        var settings = new NpgsqlConnectionStringBuilder(_dataSource.ConnectionString);
        return $"host {settings.Host}, port {settings.Port}, database {settings.Database ?? settings.Username}, user {settings.Username}";
    }

    /// <summary>
    /// Renders a script for <c>psql -v ON_ERROR_STOP=1 -f file.sql</c> that takes the same lock, skips what is applied,
    /// fails on a changed checksum and writes the same history rows, so the runner afterwards sees nothing pending.
    /// </summary>
    public string ExportScript()
    {
        var sql = new StringBuilder();
        sql.Append(CultureInfo.InvariantCulture, $"-- {Set.Library} {Set.Version}: migrations for schema {_quotedSchema}\n");
        sql.Append("-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>\n");
        sql.Append("\\set ON_ERROR_STOP on\n");
        sql.Append("SET client_min_messages = warning;\n\n");
        foreach (var script in Set.Scripts)
        {
            var library = Literal(Set.Library);
            var name = Literal(script.Name);
            sql.Append(CultureInfo.InvariantCulture, $"-- {script.Name}\nBEGIN;\n");
            sql.Append(_lockSql).Append('\n');
            sql.Append(_bootstrapSql).Append('\n');
            sql.Append(CultureInfo.InvariantCulture, $"""
                DO $dermag$
                BEGIN
                    IF EXISTS (SELECT 1 FROM {_history} WHERE library = {library} AND script = {name} AND checksum <> '{script.Checksum}') THEN
                        RAISE EXCEPTION 'Migration script % of % was changed after it was applied (checksum mismatch)', {name}, {library};
                    END IF;
                END
                $dermag$;
                SELECT NOT EXISTS (SELECT 1 FROM {_history} WHERE library = {library} AND script = {name}) AS dermag_pending, clock_timestamp() AS dermag_started \gset
                \if :dermag_pending

                """);
            sql.Append(_resolvedSql[script.Name].TrimEnd()).Append('\n');
            sql.Append(CultureInfo.InvariantCulture, $"""
                INSERT INTO {_history} (library, script, checksum, execution_ms, library_version)
                VALUES ({library}, {name}, '{script.Checksum}', (extract(epoch FROM clock_timestamp() - :'dermag_started'::timestamptz) * 1000)::integer, {Literal(Set.Version)});
                \endif
                COMMIT;


                """);
        }

        return sql.ToString();
    }

    private async Task<bool> ApplyAsync(MigrationScript script, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        await AcquireLockAsync(connection, cancellationToken).ConfigureAwait(false);

        await using (var bootstrap = new NpgsqlCommand(_bootstrapSql, connection))
        {
            await bootstrap.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // Re-read under the lock: another instance may have applied the script while we waited.
        await using (var check = new NpgsqlCommand($"SELECT checksum FROM {_history} WHERE library = $1 AND script = $2", connection))
        {
            check.Parameters.AddWithValue(Set.Library);
            check.Parameters.AddWithValue(script.Name);
            if (await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string recorded)
            {
                if (recorded != script.Checksum)
                {
                    throw ChecksumMismatch([script.Name]);
                }

                Log.ScriptAppliedConcurrently(_logger, Set.Library, script.Name);
                return false;
            }
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            await using var run = new NpgsqlCommand(_resolvedSql[script.Name], connection);
            await run.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex)
        {
            throw new MigrationException(
                $"Migration script '{script.Name}' of {Set.Library} failed in schema '{Schema}' and was rolled back: {ex.MessageText} (SQLSTATE {ex.SqlState}"
                + (ex.Position > 0 ? $", position {ex.Position}" : string.Empty) + ").",
                ex)
            {
                ScriptName = script.Name,
            };
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        await using (var record = new NpgsqlCommand(
            $"INSERT INTO {_history} (library, script, checksum, execution_ms, library_version) VALUES ($1, $2, $3, $4, $5)",
            connection))
        {
            record.Parameters.AddWithValue(Set.Library);
            record.Parameters.AddWithValue(script.Name);
            record.Parameters.AddWithValue(script.Checksum);
            record.Parameters.AddWithValue((int)Math.Min(int.MaxValue, elapsed.TotalMilliseconds));
            record.Parameters.AddWithValue(Set.Version);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        Log.ScriptApplied(_logger, Set.Library, script.Name, Schema, (long)elapsed.TotalMilliseconds);
        return true;
    }

    private async Task AcquireLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = new NpgsqlCommand(_lockSql, connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == LockTimeoutSqlState)
        {
            throw new MigrationException(
                $"Timed out after {_lockTimeout} waiting for the migration lock of {Set.Library} in schema '{Schema}'. "
                + "Another instance is migrating or holds the lock; raise the LockTimeout option if migrations legitimately take longer.",
                ex);
        }
    }

    private void ThrowOnChecksumMismatch(MigrationStatus status)
    {
        if (status.ChecksumMismatches.Count > 0)
        {
            throw ChecksumMismatch(status.ChecksumMismatches);
        }
    }

    private MigrationException ChecksumMismatch(IReadOnlyList<string> scripts) => new(
        $"Migration script(s) of {Set.Library} changed after they were applied to schema '{Schema}': {string.Join(", ", scripts)}. "
        + "Applied scripts are immutable; ship the change as a new numbered script.")
    {
        ScriptName = scripts[0],
    };

    private static string Fill(string library, MigrationScript script, Dictionary<string, string> placeholders)
    {
        var missing = new List<string>();
        var filled = Placeholder().Replace(script.Sql, match =>
        {
            if (placeholders.TryGetValue(match.Groups[1].Value, out var value))
            {
                return value;
            }

            missing.Add(match.Groups[1].Value);
            return match.Value;
        });
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"Migration script '{script.Name}' of {library} uses placeholder(s) with no value: {string.Join(", ", missing.Distinct())}.");
        }

        return filled;
    }

    private static long LockKey(string scope, string library, string schema)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"dermag-migrations:{scope}:{library}:{schema}"));
        return BinaryPrimitives.ReadInt64BigEndian(hash);
    }

    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    [GeneratedRegex(@"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
