using System.Globalization;
using Npgsql;

namespace Dermag.Migrations.Tests;

/// <summary>
/// Lets <see cref="MultiProcessMigrationTests"/> start this assembly as a separate migrator process:
/// <c>dotnet Dermag.Migrations.Tests.dll migrate &lt;connection string&gt; &lt;schema&gt;</c> prints how many scripts it applied.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["migrate", var connectionString, var schema])
        {
            await Console.Error.WriteLineAsync("usage: migrate <connection string> <schema>");
            return 2;
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var runner = new MigrationRunner(dataSource, TestScripts.Set, new MigrationRunnerOptions { Schema = schema });
        var result = await runner.MigrateAsync();
        Console.WriteLine(result.Applied.Count.ToString(CultureInfo.InvariantCulture));
        return 0;
    }
}

internal static class TestScripts
{
    public static readonly MigrationSet Set = new("Dermag.MultiProcess", "1.0.0",
    [
        new MigrationScript("0001_accounts.sql", "CREATE TABLE {{schema}}.accounts (id int PRIMARY KEY); INSERT INTO {{schema}}.accounts VALUES (1);"),
        new MigrationScript("0002_slow_index.sql", "SELECT pg_sleep(0.2); CREATE INDEX accounts_id ON {{schema}}.accounts (id);"),
        new MigrationScript("0003_more.sql", "INSERT INTO {{schema}}.accounts VALUES (2);"),
    ]);
}
