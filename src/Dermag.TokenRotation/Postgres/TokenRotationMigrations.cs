using Dermag.Migrations;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dermag.TokenRotation;

/// <summary>The embedded migration scripts of Dermag.TokenRotation, for tools and tests that run or export them outside a host.</summary>
public static class TokenRotationMigrations
{
    /// <summary>The library name recorded in the migration history table.</summary>
    public const string Library = "Dermag.TokenRotation";

    /// <summary>The embedded scripts.</summary>
    public static MigrationSet Scripts { get; } =
        MigrationSet.FromEmbeddedResources(typeof(TokenRotationMigrations).Assembly, Library, "Dermag.TokenRotation.Migrations.");

    /// <summary>A runner for the given data source, with the schema, user-id type and users foreign key of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">An identifier in <paramref name="options"/> is not a plain SQL identifier.</exception>
    public static MigrationRunner CreateRunner(NpgsqlDataSource dataSource, PostgresTokenStoreOptions? options = null, ILogger<MigrationRunner>? logger = null)
    {
        options ??= new PostgresTokenStoreOptions();
        var runnerOptions = new MigrationRunnerOptions { Schema = options.Schema };
        foreach (var (key, value) in Placeholders(options))
        {
            runnerOptions.Placeholders[key] = value;
        }

        return new MigrationRunner(dataSource, Scripts, runnerOptions, logger);
    }

    /// <summary>The script placeholders filled from the options (the schema is filled by the runner).</summary>
    internal static IReadOnlyDictionary<string, string> Placeholders(PostgresTokenStoreOptions options) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["user_id_type"] = options.UserIdSqlType,
        ["users_foreign_key"] = options.UsersForeignKeyClause,
    };
}
