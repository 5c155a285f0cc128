using Microsoft.Extensions.DependencyInjection;
using Dermag.Migrations;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>
/// Validates what <see cref="PostgresTriggerStoreOptions"/> adds to the shared store settings (those are validated by
/// Dermag.Migrations); the host reports the failures of both at once.
/// </summary>
internal sealed class PostgresTriggerStoreOptionsValidator : IValidateOptions<PostgresTriggerStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresTriggerStoreOptions options)
    {
        var errors = new List<string>();
        foreach (var problem in new[]
        {
            BomTriggersBuilder.DescribeTableProblem(options.TasksTable, nameof(options.TasksTable)),
            BomTriggersBuilder.DescribeTableProblem(options.TaskTypesTable, nameof(options.TaskTypesTable)),
            BomTriggersBuilder.DescribeTableProblem(options.UsersTable, nameof(options.UsersTable)),
            KeyColumnProblem(options.TasksTable, options.TasksKeyColumn, nameof(options.TasksKeyColumn)),
            KeyColumnProblem(options.TaskTypesTable, options.TaskTypesKeyColumn, nameof(options.TaskTypesKeyColumn)),
            KeyColumnProblem(options.UsersTable, options.UsersKeyColumn, nameof(options.UsersKeyColumn)),
        })
        {
            if (problem is not null)
            {
                errors.Add(problem);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static string? KeyColumnProblem(string? table, string? column, string optionName) =>
        table is not null && !SqlIdentifier.IsValid(column) ? SqlIdentifier.Describe(column, "PostgresTriggerStoreOptions." + optionName) : null;
}
