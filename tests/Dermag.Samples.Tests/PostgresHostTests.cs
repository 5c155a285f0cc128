using System.Net;
using Dermag.Samples.Tests.Infrastructure;
using Dermag.Testing;
using Npgsql;

namespace Dermag.Samples.Tests;

/// <summary>The host with <c>ConnectionStrings:Dermag</c> set: both libraries on PostgreSQL, migrations applied at startup.</summary>
public sealed class PostgresHostTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private SampleHostFactory _factory = null!;

    public Task InitializeAsync()
    {
        _factory = new SampleHostFactory().WithSetting("ConnectionStrings:Dermag", database.ConnectionString);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    private async Task<T?> ScalarAsync<T>(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull or null ? default : (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task OnPostgres_ReuseAttackIsAudited_AndLanTaskGetsCableWithLogRows()
    {
        using var api = _factory.Api();

        // Login -> refresh -> replay: the rows live in refresh_tokens and audit_logs.
        var (_, first) = await api.LoginAsync("admin", Demo.AdminPassword);
        var rotated = await api.PostAsync("/api/auth/refresh", new { refreshToken = first });
        rotated.Success.Should().BeTrue(rotated.ToString());
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = first })).Code.Should().Be("TOKEN_REUSE_ATTACK");
        (await api.PostAsync("/api/auth/refresh", new { refreshToken = rotated.Data.GetProperty("refreshToken").GetString() })).Code.Should().Be("TOKEN_REVOKED");

        (await ScalarAsync<long>("SELECT count(*) FROM refresh_tokens WHERE revoked = false AND expires_at > NOW()")).Should().Be(0);
        (await ScalarAsync<long>("SELECT count(*) FROM audit_logs WHERE event_type = 'TOKEN_REUSE_ATTACK'")).Should().Be(1);
        (await ScalarAsync<int>("SELECT cleanup_expired_refresh_tokens(30)")).Should().Be(0);

        // The example triggers were seeded into bom_triggers; a LAN task gets its cable and log rows are written.
        await api.LoginAsync("manager", Demo.ManagerPassword);
        (await ScalarAsync<long>("""
            SELECT count(*) FROM bom_triggers
            WHERE name IN ('Auto-add UTP cable to LAN tasks', 'Notify on task completion', 'Recalculate cost after material add') AND deleted_at IS NULL
            """)).Should().Be(3, "the other test's trigger may be there too: deletes are soft");
        var task = await api.PostAsync("/api/tasks", new { title = "LAN on PostgreSQL", taskTypeCode = "LAN" });
        task.Status.Should().Be(HttpStatusCode.Created, task.ToString());
        task.Data.GetProperty("bom").EnumerateArray().Should().Contain(l => l.GetProperty("materialName").GetString() == "Kabel UTP Cat6" && l.GetProperty("quantity").GetDecimal() == 100m);
        // Count the rows of this task's latest dispatch: the cable now, the queued cost recalculation (same correlation id,
        // its attempt's row) once a worker ran it.
        var correlation = await ScalarAsync<string>($"SELECT correlation_id::text FROM bom_trigger_logs WHERE task_id = {task.Data.GetProperty("id").GetInt32()} ORDER BY id DESC LIMIT 1");
        var logged = 0L;
        for (var attempt = 0; attempt < 200 && logged < 2; attempt++)
        {
            await Task.Delay(attempt == 0 ? 0 : 50);
            logged = await ScalarAsync<long>($"SELECT count(*) FROM bom_trigger_logs WHERE success AND correlation_id = '{correlation}'");
        }

        logged.Should().Be(2);
        (await ScalarAsync<long>($"SELECT count(*) FROM bom_trigger_jobs WHERE correlation_id = '{correlation}' AND state = 'succeeded'")).Should().Be(1);
    }

    [Fact]
    public async Task OnPostgres_TriggerCrudAndValidation_Work()
    {
        using var api = _factory.Api();
        await api.LoginAsync("admin", Demo.AdminPassword);

        var invalid = await api.PostAsync("/api/bom-triggers", new { name = "Bad", triggerEvent = "ON_TASK_CREATE", actionType = "ADD_MATERIAL", actionConfig = new { } });
        invalid.Status.Should().Be(HttpStatusCode.BadRequest);
        invalid.Data.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).Should().Contain("/actionConfig/materialName");

        var created = await api.PostAsync("/api/bom-triggers", new
        {
            name = "Copy the CCTV BOM",
            triggerEvent = "ON_TASK_CREATE",
            triggerCondition = new { taskTypeCode = "CCTV" },
            actionType = "COPY_BOM",
            actionConfig = new { },
            targetTaskTypeId = 3,
        });
        created.Status.Should().Be(HttpStatusCode.Created, created.ToString());
        var id = created.Data.GetProperty("id").GetInt32();
        (await ScalarAsync<string>($"SELECT name FROM bom_triggers WHERE id = {id}")).Should().Be("Copy the CCTV BOM");

        var task = await api.PostAsync("/api/tasks", new { title = "Cameras", taskTypeCode = "CCTV" });
        task.Data.GetProperty("bom").EnumerateArray().Select(l => l.GetProperty("materialName").GetString()).Should().Contain("Kamera IP");

        (await api.PatchAsync($"/api/bom-triggers/{id}/toggle")).Data.GetProperty("isActive").GetBoolean().Should().BeFalse();
        (await ScalarAsync<bool>($"SELECT is_active FROM bom_triggers WHERE id = {id}")).Should().BeFalse();
        (await api.DeleteAsync($"/api/bom-triggers/{id}")).Success.Should().BeTrue();
        (await ScalarAsync<bool>($"SELECT deleted_at IS NOT NULL AND deleted_by = 1 FROM bom_triggers WHERE id = {id}")).Should().BeTrue("deletes are soft");
        (await ScalarAsync<long>($"SELECT count(*) FROM bom_trigger_logs WHERE trigger_id = {id}")).Should().Be(1, "the CCTV task's run is still logged");
        (await api.GetAsync($"/api/bom-triggers/{id}")).Status.Should().Be(HttpStatusCode.NotFound);

        (await api.PostAsync($"/api/bom-triggers/{id}/restore/1")).Data.GetProperty("isActive").GetBoolean().Should().BeTrue();
        (await ScalarAsync<string>($"SELECT string_agg(version || ':' || change || ':' || changed_by, ',' ORDER BY version) FROM bom_trigger_history WHERE trigger_id = {id}"))
            .Should().Be("1:created:1,2:toggled:1,3:deleted:1,4:restored:1");
    }

    [Fact]
    public async Task OnPostgres_RestoringAVersionNoLongerValid_Is400WithItsErrorsAndChangesNothing()
    {
        using var api = _factory.Api();
        await api.LoginAsync("manager", Demo.ManagerPassword);
        var id = (await api.PostAsync("/api/bom-triggers", new
        {
            name = "Notify the warehouse",
            triggerEvent = "ON_STATUS_CHANGE",
            actionType = "NOTIFY",
            actionConfig = new { message = "Done", recipients = new[] { "manager" } },
        })).Data.GetProperty("id").GetInt32();
        // Version 2, as an instance that still registered the RETIRED_EXPORT action saved it (this host has no such action).
        await ScalarAsync<int>($$"""
            WITH changed AS (
                UPDATE bom_triggers t SET action_type = 'RETIRED_EXPORT', action_config = '{}', version = version + 1 WHERE id = {{id}}
                RETURNING t.id, t.version, bom_trigger_definition(t) AS definition)
            INSERT INTO bom_trigger_history (trigger_id, version, change, changed_by, definition, previous)
            SELECT id, version, 'updated', 1, definition, (SELECT definition FROM bom_trigger_history WHERE trigger_id = {{id}} AND version = 1) FROM changed
            RETURNING version
            """);
        (await api.PutAsync($"/api/bom-triggers/{id}", new { actionType = "NOTIFY", actionConfig = new { message = "Done again", recipients = new[] { "manager" } } }))
            .Status.Should().Be(HttpStatusCode.OK);

        var invalid = await api.PostAsync($"/api/bom-triggers/{id}/restore/2");

        invalid.Status.Should().Be(HttpStatusCode.BadRequest, invalid.ToString());
        invalid.Code.Should().Be("VALIDATION_ERROR");
        invalid.Message.Should().StartWith($"Version 2 of trigger {id} is not valid today: /actionType: unknown action type 'RETIRED_EXPORT'");
        invalid.Data.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).Should().Equal("/actionType");
        (await ScalarAsync<long>($"SELECT count(*) FROM bom_trigger_history WHERE trigger_id = {id}")).Should().Be(3, "a refused restore records nothing");
        (await api.GetAsync($"/api/bom-triggers/{id}")).Data.GetProperty("actionConfig").GetProperty("message").GetString().Should().Be("Done again");
        (await api.PostAsync($"/api/bom-triggers/{id}/restore/1")).Status.Should().Be(HttpStatusCode.OK, "version 1 is still valid");
    }
}
