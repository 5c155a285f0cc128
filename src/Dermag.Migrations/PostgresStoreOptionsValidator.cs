using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.Migrations;

/// <summary>
/// Validates the settings every store shares; the library's own validator checks the rest, and the host reports the
/// failures of both at once. Messages name the option as the user wrote it: <c>PostgresTokenStoreOptions.Schema</c>.
/// </summary>
internal sealed class PostgresStoreOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : PostgresStoreOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var prefix = typeof(TOptions).Name + ".";
        var errors = new List<string>();
        if (!SqlIdentifier.IsValid(options.Schema))
        {
            errors.Add(SqlIdentifier.Describe(options.Schema, prefix + nameof(options.Schema)));
        }

        if (!Enum.IsDefined(options.MigrationMode))
        {
            errors.Add($"{prefix}{nameof(options.MigrationMode)} must be one of {string.Join(", ", Enum.GetNames<MigrationStartupMode>())}; got {(int)options.MigrationMode}.");
        }

        if (options.ConnectionString is { } connectionString)
        {
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                errors.Add($"{prefix}{nameof(options.ConnectionString)} is empty; leave it null to use the NpgsqlDataSource from DI.");
            }
            else
            {
                try
                {
                    _ = new NpgsqlConnectionStringBuilder(connectionString);
                }
                catch (ArgumentException ex)
                {
                    // The message names the offending keyword, never the value (which may hold a password).
                    errors.Add($"{prefix}{nameof(options.ConnectionString)} is not a valid Npgsql connection string: {ex.Message}");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
