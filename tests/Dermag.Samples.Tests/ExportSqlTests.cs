using Dermag.BomTriggers;
using System.Diagnostics;
using Dermag.Migrations;
using Dermag.Testing;

namespace Dermag.Samples.Tests;

/// <summary>The DBA path of README: the host exports both libraries' migrations, psql applies them, the app then finds nothing pending.</summary>
public sealed class ExportSqlTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task ExportSql_AppliedWithPsql_LeavesNothingPendingForTheApp()
    {
        var file = Path.Combine(Path.GetTempPath(), $"dermag-sample-export-{Guid.NewGuid():N}.sql");
        try
        {
            var export = await RunAsync("dotnet", ["exec", typeof(Program).Assembly.Location, "export-sql", file],
                ("ConnectionStrings__Dermag", database.ConnectionString));
            export.ExitCode.Should().Be(0, export.Output);
            export.Output.Should().Contain("psql -v ON_ERROR_STOP=1 -f");

            var psql = await PostgresBinaries.RunPsqlFileAsync(database.ConnectionString, file);
            psql.ExitCode.Should().Be(0, psql.Output);
            var appliedByPsql = await HistoryAsync();
            appliedByPsql.Select(h => h.Library).Distinct().Should().BeEquivalentTo(["Dermag.TokenRotation", "Dermag.BomTriggers", "Dermag.SampleHost"], "the sample's own tables go through the same runner");

            await using var factory = new Infrastructure.SampleHostFactory().WithSetting("ConnectionStrings:Dermag", database.ConnectionString);
            var migrations = (DermagMigrations)factory.Services.GetService(typeof(DermagMigrations))!;
            var status = await migrations.GetStatusAsync();
            status.Select(s => s.Library).Should().BeEquivalentTo(["Dermag.TokenRotation", "Dermag.BomTriggers", "Dermag.SampleHost"]);
            status.Should().AllSatisfy(s =>
            {
                s.Pending.Should().BeEmpty();
                s.Applied.Should().NotBeEmpty();
            });
            (await HistoryAsync()).Should().Equal(appliedByPsql, "the app found everything applied by psql and applied nothing itself");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private async Task<List<(string Library, string Script, DateTime AppliedAt)>> HistoryAsync()
    {
        var rows = new List<(string, string, DateTime)>();
        await using var command = database.DataSource.CreateCommand(
            $"SELECT library, script, applied_at FROM {MigrationRunner.HistoryTableName} ORDER BY library, script");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetDateTime(2)));
        }

        return rows;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] arguments, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
