using System.Globalization;
using Dermag.Testing;

namespace Dermag.Migrations.Tests;

public sealed class MultiProcessMigrationTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task MigrateAsync_FourProcessesOnOneEmptyDatabase_ApplyEachScriptOnceAndNoneFails()
    {
        // The scripts deliberately are NOT idempotent (plain CREATE TABLE / INSERT): applying one twice would fail.
        var schema = "mp_" + Guid.NewGuid().ToString("N")[..10];
        var assembly = typeof(Program).Assembly.Location;

        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => MigrateProcess.RunAsync(assembly, database.ConnectionString, schema)));

        runs.Should().AllSatisfy(r => r.ExitCode.Should().Be(0, r.Output));
        runs.Sum(r => int.Parse(r.Output.Trim(), CultureInfo.InvariantCulture)).Should().Be(TestScripts.Set.Scripts.Count);
        await using var command = database.DataSource.CreateCommand(
            $"SELECT count(*), count(DISTINCT script) FROM \"{schema}\".{MigrationRunner.HistoryTableName}; ");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        reader.GetInt64(0).Should().Be(3);
        reader.GetInt64(1).Should().Be(3);
    }
}
