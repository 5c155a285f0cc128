using Dermag.Migrations;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.BomTriggers;

/// <summary>Validates <see cref="PostgresTriggerStoreOptions"/>, reporting every problem at once.</summary>
internal sealed class PostgresTriggerStoreOptionsValidator : IValidateOptions<PostgresTriggerStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresTriggerStoreOptions options)
    {
        var errors = new List<string>();
        if (!SqlIdentifier.IsValid(options.Schema))
        {
            errors.Add(SqlIdentifier.Describe(options.Schema, "PostgresTriggerStoreOptions.Schema"));
        }

        if (!Enum.IsDefined(options.MigrationMode))
        {
            errors.Add($"PostgresTriggerStoreOptions.MigrationMode must be Apply, ValidateOnly or None; got {options.MigrationMode}.");
        }

        if (options.ConnectionString is not null)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"PostgresTriggerStoreOptions.ConnectionString is not a valid Npgsql connection string: {ex.Message}");
            }
        }

        foreach (var problem in new[]
        {
            BomTriggersBuilder.DescribeTableProblem(options.TasksTable, nameof(options.TasksTable)),
            BomTriggersBuilder.DescribeTableProblem(options.TaskTypesTable, nameof(options.TaskTypesTable)),
            BomTriggersBuilder.DescribeTableProblem(options.UsersTable, nameof(options.UsersTable)),
        })
        {
            if (problem is not null)
            {
                errors.Add(problem);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
