using System.Data.Common;
using System.Globalization;
using System.Net;
using Dermag.Samples.Tests.Infrastructure;
using Dermag.Testing;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.Samples.Tests;

/// <summary>
/// The sample's own task/BOM domain on PostgreSQL (its EF Core <c>SampleDbContext</c>): ids survive a restart, trigger
/// logs point at stored tasks, and a task change and its trigger dispatch commit or roll back together.
/// </summary>
public sealed class PostgresDomainTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    // Each test gets its own database: a job left by another test's host would be run (and logged) by the next host.
    private string _connectionString = string.Empty;
    private Npgsql.NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await database.CreateDatabaseAsync("sampledomain");
        _dataSource = Npgsql.NpgsqlDataSource.Create(_connectionString);
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private SampleHostFactory Host() => new SampleHostFactory().WithSetting("ConnectionStrings:Dermag", _connectionString);

    private async Task<long> CountAsync(string sql, DbTransaction? transaction = null)
    {
        if (transaction is not null)
        {
            await using var inside = transaction.Connection!.CreateCommand();
            inside.Transaction = transaction;
            inside.CommandText = sql;
            return Convert.ToInt64(await inside.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }

        await using var command = _dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task OnPostgres_TaskIdsSurviveARestart_AndEveryLogRowPointsAtAStoredTask()
    {
        int firstId;
        await using (var first = Host())
        {
            using var api = first.Api();
            await api.LoginAsync("admin", Demo.AdminPassword);
            var created = await api.PostAsync("/api/tasks", new { title = "Before the restart", taskTypeCode = "LAN" });
            created.Status.Should().Be(HttpStatusCode.Created, created.ToString());
            firstId = created.Data.GetProperty("id").GetInt32();
        }

        await using var second = Host();
        using var again = second.Api();
        await again.LoginAsync("admin", Demo.AdminPassword);
        var kept = await again.GetAsync($"/api/tasks/{firstId}");
        kept.Status.Should().Be(HttpStatusCode.OK, "the task is stored in sample_tasks, not in the first host's memory");
        kept.Data.GetProperty("title").GetString().Should().Be("Before the restart");
        kept.Data.GetProperty("bom").EnumerateArray().Should().ContainSingle(l => l.GetProperty("materialName").GetString() == "Kabel UTP Cat6");
        kept.Data.GetProperty("triggerRuns").EnumerateArray().Should().NotBeEmpty();

        var next = await again.PostAsync("/api/tasks", new { title = "After the restart", taskTypeCode = "LAN" });
        next.Data.GetProperty("id").GetInt32().Should().BeGreaterThan(firstId, "ids continue from the database's sequence");

        (await CountAsync($"SELECT count(*) FROM bom_trigger_logs WHERE task_id = {firstId}")).Should().BeGreaterThan(0);
        (await CountAsync("SELECT count(*) FROM bom_trigger_logs l WHERE NOT EXISTS (SELECT 1 FROM sample_tasks t WHERE t.id = l.task_id)"))
            .Should().Be(0, "every trigger log row belongs to a task that exists");
    }

    [Fact]
    public async Task OnPostgres_ParallelAddsOfOneMaterial_MakeOneLineHoldingEveryQuantity()
    {
        // Real concurrent requests, each in its own transaction: without a lock on the task row two adds read the same line
        // (a lost update) or both find none (two lines for one material).
        await using var host = Host();
        using var api = host.Api();
        await api.LoginAsync("admin", Demo.AdminPassword);
        var created = await api.PostAsync("/api/tasks", new { title = "Race", taskTypeCode = "LAN" });
        var taskId = created.Data.GetProperty("id").GetInt32();
        const int Adds = 16;

        var results = await Task.WhenAll(Enumerable.Range(0, Adds).Select(i =>
            Task.Run(() => api.PostAsync($"/api/tasks/{taskId}/materials", new { materialName = i % 2 == 0 ? "Race widget" : "RACE WIDGET", quantity = 1, unit = "pcs", unitPrice = 1 }))));

        results.Should().AllSatisfy(r => r.Status.Should().Be(HttpStatusCode.OK, r.ToString()));
        (await CountAsync($"SELECT count(*) FROM sample_bom_lines WHERE task_id = {taskId} AND lower(material_name) = 'race widget'")).Should().Be(1, "one line per material");
        (await CountAsync($"SELECT sum(quantity)::bigint FROM sample_bom_lines WHERE task_id = {taskId} AND lower(material_name) = 'race widget'")).Should().Be(Adds, "no add is lost");
    }

    [Fact]
    public async Task OnPostgres_TheSchemaRefusesASecondLineForOneMaterial_WhateverItsCase()
    {
        await using var host = Host();
        using var api = host.Api();
        await api.LoginAsync("admin", Demo.AdminPassword);
        var taskId = (await api.PostAsync("/api/tasks", new { title = "Unique", taskTypeCode = "LAN" })).Data.GetProperty("id").GetInt32();
        await api.PostAsync($"/api/tasks/{taskId}/materials", new { materialName = "Unique widget", quantity = 1 });

        var duplicate = async () => await CountAsync(
            $"INSERT INTO sample_bom_lines (task_id, material_name, quantity, unit, unit_price, added_by) VALUES ({taskId}, 'UNIQUE WIDGET', 1, 'pcs', 0, 'test') RETURNING id");

        (await duplicate.Should().ThrowAsync<Npgsql.PostgresException>()).Which.SqlState.Should().Be("23505");
    }

    [Fact]
    public async Task OnPostgres_RequestFailingAfterTheDispatch_RollsBackTaskBomLogsAndJobsTogether()
    {
        var failing = new FailBeforeCommit(this);
        await using var host = Host().WithServices(s => s.AddSingleton<IInterceptor>(failing));
        using var api = host.Api();
        await api.LoginAsync("admin", Demo.AdminPassword);
        var before = await SnapshotAsync(null);

        failing.Armed = true;
        var failed = await api.PostAsync("/api/tasks", new { title = "Rolled back", taskTypeCode = "LAN" });

        failed.Status.Should().Be(HttpStatusCode.InternalServerError, failed.ToString());
        // Inside the transaction, just before the commit failed, the dispatch had written its share...
        failing.SeenInsideTransaction.Should().NotBeNull();
        failing.SeenInsideTransaction!.Tasks.Should().Be(before.Tasks + 1);
        failing.SeenInsideTransaction.BomLines.Should().Be(before.BomLines + 1, "ADD_MATERIAL ran in the request's DbContext");
        failing.SeenInsideTransaction.Logs.Should().BeGreaterThan(before.Logs);
        failing.SeenInsideTransaction.Jobs.Should().Be(before.Jobs + 1, "the chained CALCULATE_COST is queued");
        // ... and none of it survived the rollback.
        (await SnapshotAsync(null)).Should().Be(before);

        failing.Armed = false;
        var committed = await api.PostAsync("/api/tasks", new { title = "Committed", taskTypeCode = "LAN" });
        committed.Status.Should().Be(HttpStatusCode.Created, committed.ToString());
        var after = await SnapshotAsync(null);
        (after.Tasks, after.BomLines, after.Jobs).Should().Be((before.Tasks + 1, before.BomLines + 1, before.Jobs + 1));
        after.Logs.Should().BeGreaterThan(before.Logs);
        var id = committed.Data.GetProperty("id").GetInt32();
        (await CountAsync($"SELECT count(*) FROM bom_trigger_logs WHERE task_id = {id} AND success")).Should().BeGreaterThan(0);
    }

    private async Task<Counts> SnapshotAsync(DbTransaction? transaction) => new(
        await CountAsync("SELECT count(*) FROM sample_tasks", transaction),
        await CountAsync("SELECT count(*) FROM sample_bom_lines", transaction),
        await CountAsync("SELECT count(*) FROM bom_trigger_logs", transaction),
        await CountAsync("SELECT count(*) FROM bom_trigger_jobs", transaction));

    private sealed record Counts(long Tasks, long BomLines, long Logs, long Jobs);

    /// <summary>Fails the request's commit (after the dispatch), first recording what the transaction holds.</summary>
    private sealed class FailBeforeCommit(PostgresDomainTests test) : DbTransactionInterceptor
    {
        public volatile bool Armed;

        public Counts? SeenInsideTransaction { get; private set; }

        public override async ValueTask<InterceptionResult> TransactionCommittingAsync(
            DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
        {
            if (!Armed)
            {
                return result;
            }

            SeenInsideTransaction = await test.SnapshotAsync(transaction);
            throw new InvalidOperationException("Simulated failure after the dispatch, before the commit.");
        }
    }
}
