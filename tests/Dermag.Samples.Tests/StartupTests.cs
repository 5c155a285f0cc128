using System.Net;
using Dermag.SampleHost.Hosting;
using Dermag.Samples.Tests.Infrastructure;
using Dermag.Testing;
using Npgsql;

namespace Dermag.Samples.Tests;

/// <summary>Starting on PostgreSQL: a missing database is created with one line; an unreachable server is one line and exit code 1.</summary>
public sealed class StartupTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task UnreachableServer_TheProcessExitsWithOneClearLine_AndNoStackTrace()
    {
        var port = PostgresBinaries.FreePort(); // nothing listens there
        var sample = Path.Combine(AppContext.BaseDirectory, "Dermag.SampleHost.dll");

        var (exitCode, output) = await ProcessRunner.RunAsync(
            "dotnet",
            [sample, $"--ConnectionStrings:Dermag=Host=127.0.0.1;Port={port};Username=postgres;Database=dermag_nowhere", "--urls=http://127.0.0.1:0"],
            AppContext.BaseDirectory,
            TimeSpan.FromSeconds(60));

        exitCode.Should().Be(1, output);
        var expected = $"Cannot connect to PostgreSQL at 127.0.0.1:{port} (database 'dermag_nowhere', user 'postgres'): ";
        output.Split('\n').Count(l => l.Contains(expected, StringComparison.Ordinal)).Should().Be(1, output);
        output.Should().NotContain("   at ", "no stack trace").And.NotContain("Exception", "no exception dump").And.NotContain("fail:", output);
    }

    [Fact]
    public async Task MissingDatabase_IsCreatedWithOneLine_ThenTheHostRunsOnIt()
    {
        var name = $"dermag_created_{Guid.NewGuid():N}";
        var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Database = name }.ConnectionString;
        using var output = new StringWriter();
        using var error = new StringWriter();

        (await SampleDatabase.EnsureAsync(connectionString, output, error)).Should().BeTrue(error.ToString());
        (await SampleDatabase.EnsureAsync(connectionString, output, error)).Should().BeTrue(error.ToString());

        var server = new NpgsqlConnectionStringBuilder(connectionString);
        output.ToString().Should().Be(
            $"Database '{name}' did not exist; created it at {server.Host}:{server.Port} (database '{name}', user '{server.Username}').{Environment.NewLine}",
            "one line, the first time only");
        error.ToString().Should().BeEmpty();
        await using (var command = database.DataSource.CreateCommand($"SELECT count(*) FROM pg_database WHERE datname = '{name}'"))
        {
            (await command.ExecuteScalarAsync()).Should().Be(1L);
        }

        await using var host = new SampleHostFactory().WithSetting("ConnectionStrings:Dermag", connectionString);
        using var api = host.Api();
        await api.LoginAsync("admin", Demo.AdminPassword);
        (await api.PostAsync("/api/tasks", new { title = "In the new database", taskTypeCode = "FIBER" })).Status.Should().Be(HttpStatusCode.Created);
    }

    [Fact]
    public async Task MissingDatabase_InTheHostItself_IsCreatedBeforeTheMigrations()
    {
        var name = $"dermag_created_{Guid.NewGuid():N}";
        var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Database = name }.ConnectionString;

        await using var host = new SampleHostFactory().WithSetting("ConnectionStrings:Dermag", connectionString);
        using var api = host.Api();
        await api.LoginAsync("admin", Demo.AdminPassword);

        (await api.GetAsync("/api/tasks")).Status.Should().Be(HttpStatusCode.OK);
    }
}
