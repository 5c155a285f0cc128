using Dermag.Migrations;
using Dermag.Testing;
using Npgsql;

namespace Dermag.Migrations.Tests;

public sealed class MigrationRunnerTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly MigrationScript CreateWidgets = new("0001_create_widgets.sql", """
        CREATE TABLE IF NOT EXISTS {{schema}}.widgets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
        CREATE OR REPLACE FUNCTION {{schema}}.widget_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM {{schema}}.widgets $$;
        """);

    private static readonly MigrationScript AddColour = new("0002_add_colour.sql", """
        ALTER TABLE {{schema}}.widgets ADD COLUMN IF NOT EXISTS colour text NOT NULL DEFAULT 'blue';
        INSERT INTO {{schema}}.widgets (name) VALUES ('first; not a statement break');
        """);

    private static MigrationSet Set(params MigrationScript[] scripts) => new("Dermag.Test", "1.2.3", scripts);

    private MigrationRunner Runner(string schema, MigrationSet? set = null, NpgsqlDataSource? dataSource = null) =>
        new(dataSource ?? database.DataSource, set ?? Set(CreateWidgets, AddColour), new MigrationRunnerOptions { Schema = schema });

    private static string NewSchema() => "s_" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task MigrateAsync_FreshSchema_AppliesEveryScriptInOrderAndRecordsHistory()
    {
        var schema = NewSchema();

        var result = await Runner(schema).MigrateAsync();

        result.Applied.Should().Equal("0001_create_widgets.sql", "0002_add_colour.sql");
        var status = await Runner(schema).GetStatusAsync();
        status.IsUpToDate.Should().BeTrue();
        status.Applied.Select(a => a.Name).Should().Equal(result.Applied);
        status.Applied.Should().AllSatisfy(a =>
        {
            a.LibraryVersion.Should().Be("1.2.3");
            a.AppliedBy.Should().NotBeNullOrEmpty();
            a.Checksum.Should().HaveLength(64);
        });
        status.Applied[0].Checksum.Should().Be(CreateWidgets.Checksum);
        (await ScalarAsync<long>($"SELECT \"{schema}\".widget_count()")).Should().Be(1);
    }

    [Fact]
    public async Task MigrateAsync_SecondRun_IsANoOp()
    {
        var schema = NewSchema();
        await Runner(schema).MigrateAsync();

        var second = await Runner(schema).MigrateAsync();

        second.Applied.Should().BeEmpty();
        (await ScalarAsync<long>($"SELECT count(*) FROM \"{schema}\".widgets")).Should().Be(1, "the insert in script 2 ran exactly once");
    }

    [Fact]
    public async Task MigrateAsync_NewScriptAdded_AppliesOnlyTheNewOne()
    {
        var schema = NewSchema();
        await Runner(schema, Set(CreateWidgets)).MigrateAsync();

        (await Runner(schema).GetStatusAsync()).Pending.Should().Equal("0002_add_colour.sql");
        var result = await Runner(schema).MigrateAsync();

        result.Applied.Should().Equal("0002_add_colour.sql");
    }

    [Fact]
    public async Task MigrateAsync_FourMigratorsInParallel_ApplyEachScriptExactlyOnce()
    {
        var schema = NewSchema();
        var dataSources = Enumerable.Range(0, 4).Select(_ => NpgsqlDataSource.Create(database.ConnectionString)).ToArray();
        try
        {
            using var start = new Barrier(4);
            var results = await Task.WhenAll(dataSources.Select(ds => Task.Run(async () =>
            {
                start.SignalAndWait();
                return await Runner(schema, dataSource: ds).MigrateAsync();
            })));

            results.SelectMany(r => r.Applied).Should().BeEquivalentTo(["0001_create_widgets.sql", "0002_add_colour.sql"], "each script is applied by exactly one migrator");
            (await ScalarAsync<long>($"SELECT count(*) FROM \"{schema}\".widgets")).Should().Be(1);
            (await ScalarAsync<long>($"SELECT count(*) FROM \"{schema}\".{MigrationRunner.HistoryTableName}")).Should().Be(2);
        }
        finally
        {
            foreach (var ds in dataSources)
            {
                await ds.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task MigrateAsync_TwoLibrariesInOneSchemaInParallel_ShareOneHistoryTable()
    {
        var schema = NewSchema();
        var other = new MigrationSet("Dermag.Other", "9.9.9", [new MigrationScript("0001_other.sql", "CREATE TABLE IF NOT EXISTS {{schema}}.other (id int);")]);

        await Task.WhenAll(
            Task.Run(() => Runner(schema).MigrateAsync()),
            Task.Run(() => Runner(schema, other).MigrateAsync()));

        (await ScalarAsync<long>($"SELECT count(DISTINCT library) FROM \"{schema}\".{MigrationRunner.HistoryTableName}")).Should().Be(2);
        (await Runner(schema, other).GetStatusAsync()).IsUpToDate.Should().BeTrue();
    }

    [Fact]
    public async Task MigrateAsync_AppliedScriptChanged_FailsNamingTheScript()
    {
        var schema = NewSchema();
        await Runner(schema).MigrateAsync();
        var edited = new MigrationScript(CreateWidgets.Name, CreateWidgets.Sql + "\n-- edited\n");

        var act = () => Runner(schema, Set(edited, AddColour)).MigrateAsync();

        (await act.Should().ThrowAsync<MigrationException>())
            .Which.Message.Should().Contain("0001_create_widgets.sql").And.Contain("changed");
        (await Runner(schema, Set(edited, AddColour)).GetStatusAsync()).ChecksumMismatches.Should().Equal("0001_create_widgets.sql");
    }

    [Fact]
    public void Checksum_IgnoresLineEndingStyle()
    {
        var lf = new MigrationScript("a.sql", "SELECT 1;\nSELECT 2;\n");
        var crlf = new MigrationScript("a.sql", "SELECT 1;\r\nSELECT 2;\r\n");

        crlf.Checksum.Should().Be(lf.Checksum);
    }

    [Fact]
    public async Task MigrateAsync_CustomSchema_IsCreatedAndUsed()
    {
        var schema = "Custom_" + Guid.NewGuid().ToString("N")[..8];

        await Runner(schema).MigrateAsync();

        (await ScalarAsync<bool>($"SELECT to_regclass('\"{schema}\".widgets') IS NOT NULL")).Should().BeTrue();
        (await ScalarAsync<bool>("SELECT to_regclass('public.widgets') IS NOT NULL")).Should().BeFalse();
    }

    [Theory]
    [InlineData("public; DROP TABLE x")]
    [InlineData("has space")]
    [InlineData("\"quoted\"")]
    [InlineData("1starts_with_digit")]
    [InlineData("")]
    [InlineData("a_name_that_is_far_too_long_for_a_postgresql_identifier_of_63_chars")]
    public async Task Constructor_InvalidSchemaName_IsRejectedBeforeAnySqlRuns(string schema)
    {
        await using var unreachable = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Timeout=1");

        var act = () => new MigrationRunner(unreachable, Set(CreateWidgets), new MigrationRunnerOptions { Schema = schema });

        act.Should().Throw<ArgumentException>().WithMessage("Schema must be a plain SQL identifier*");
    }

    [Fact]
    public async Task MigrateAsync_BrokenScript_RollsBackCompletelyAndRecordsNothing()
    {
        var schema = NewSchema();
        var broken = new MigrationScript("0002_broken.sql", """
            CREATE TABLE {{schema}}.half_done (id int);
            SELECT * FROM {{schema}}.no_such_table;
            """);
        var act = () => Runner(schema, Set(CreateWidgets, broken)).MigrateAsync();

        var error = (await act.Should().ThrowAsync<MigrationException>()).Which;

        error.ScriptName.Should().Be("0002_broken.sql");
        error.Message.Should().Contain("0002_broken.sql").And.Contain("no_such_table");
        (await ScalarAsync<bool>($"SELECT to_regclass('\"{schema}\".half_done') IS NOT NULL")).Should().BeFalse();
        var status = await Runner(schema, Set(CreateWidgets, broken)).GetStatusAsync();
        status.Applied.Select(a => a.Name).Should().Equal("0001_create_widgets.sql");
        status.Pending.Should().Equal("0002_broken.sql");
    }

    [Fact]
    public async Task ValidateAsync_PendingScripts_FailsNamingThem()
    {
        var schema = NewSchema();
        await Runner(schema, Set(CreateWidgets)).MigrateAsync();

        var act = () => Runner(schema).ValidateAsync();

        (await act.Should().ThrowAsync<MigrationException>())
            .Which.Message.Should().Contain("MIGRATION_REQUIRED").And.Contain("0002_add_colour.sql").And.NotContain("0001");
    }

    [Fact]
    public async Task GetStatusAsync_ScriptUnknownToTheCode_IsReportedAndMigrateStillSucceeds()
    {
        var schema = NewSchema();
        await Runner(schema).MigrateAsync();

        var older = Runner(schema, Set(CreateWidgets));
        var status = await older.GetStatusAsync();
        var result = await older.MigrateAsync();

        status.Unknown.Select(u => u.Name).Should().Equal("0002_add_colour.sql");
        status.IsUpToDate.Should().BeTrue();
        result.Applied.Should().BeEmpty();
    }

    [Fact]
    public async Task MigrateAsync_LockHeldLongerThanTimeout_FailsWithClearError()
    {
        var schema = NewSchema();
        var runner = new MigrationRunner(database.DataSource, Set(CreateWidgets), new MigrationRunnerOptions { Schema = schema, LockTimeout = TimeSpan.FromMilliseconds(200) });
        await using var holder = await database.DataSource.OpenConnectionAsync();
        await using var tx = await holder.BeginTransactionAsync();
        var exported = runner.ExportScript();
        var lockLine = exported.Split('\n').First(l => l.Contains("PERFORM pg_advisory_xact_lock(", StringComparison.Ordinal));
        await using (var take = new NpgsqlCommand(lockLine, holder, tx))
        {
            await take.ExecuteNonQueryAsync();
        }

        var act = () => runner.MigrateAsync();

        (await act.Should().ThrowAsync<MigrationException>())
            .Which.Message.Should().Contain("Timed out").And.Contain("LockTimeout").And.Contain("Dermag.Test");
    }

    [Fact]
    public void Constructor_ScriptWithUnfilledPlaceholder_FailsNamingIt()
    {
        var script = new MigrationScript("0001_x.sql", "CREATE TABLE {{schema}}.t (user_id {{user_id_type}});");

        var act = () => new MigrationRunner(database.DataSource, Set(script), new MigrationRunnerOptions { Schema = "public" });

        act.Should().Throw<ArgumentException>().WithMessage("*0001_x.sql*user_id_type*");
    }

    [Fact]
    public async Task ExportScript_AppliedWithPsql_LeavesNothingPendingAndIsRerunnable()
    {
        var schema = NewSchema();
        var runner = Runner(schema);
        var file = Path.Combine(Path.GetTempPath(), $"dermag-export-{Guid.NewGuid():N}.sql");
        await File.WriteAllTextAsync(file, runner.ExportScript());
        try
        {
            var first = await PostgresBinaries.RunPsqlFileAsync(database.ConnectionString, file);
            var second = await PostgresBinaries.RunPsqlFileAsync(database.ConnectionString, file);

            first.ExitCode.Should().Be(0, first.Output);
            second.ExitCode.Should().Be(0, second.Output);
            (await runner.GetStatusAsync()).IsUpToDate.Should().BeTrue();
            (await runner.MigrateAsync()).Applied.Should().BeEmpty();
            (await ScalarAsync<long>($"SELECT count(*) FROM \"{schema}\".widgets")).Should().Be(1, "the second psql run skipped applied scripts");
            (await runner.GetStatusAsync()).Applied.Should().AllSatisfy(a => a.Checksum.Should().NotBeNullOrEmpty());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task ExportScript_AfterRunnerApplied_PsqlSkipsEverything()
    {
        var schema = NewSchema();
        var runner = Runner(schema);
        await runner.MigrateAsync();
        var file = Path.Combine(Path.GetTempPath(), $"dermag-export-{Guid.NewGuid():N}.sql");
        await File.WriteAllTextAsync(file, runner.ExportScript());
        try
        {
            var run = await PostgresBinaries.RunPsqlFileAsync(database.ConnectionString, file);

            run.ExitCode.Should().Be(0, run.Output);
            (await ScalarAsync<long>($"SELECT count(*) FROM \"{schema}\".widgets")).Should().Be(1);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
