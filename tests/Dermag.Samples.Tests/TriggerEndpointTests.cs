using System.Net;
using System.Text.Json;
using Dermag.Samples.Tests.Infrastructure;

namespace Dermag.Samples.Tests;

public sealed class TriggerEndpointTests(SampleHostFactory factory) : IClassFixture<SampleHostFactory>
{
    private static readonly object ValidTrigger = new
    {
        name = "Add RJ45 plugs to LAN tasks",
        triggerEvent = "ON_TASK_CREATE",
        triggerCondition = new { taskTypeCode = "LAN" },
        actionType = "ADD_MATERIAL",
        actionConfig = new { materialName = "Złącze RJ45", defaultQuantity = 24, unit = "pcs" },
        priority = 9,
    };

    private async Task<ApiClient> LoginAsync(string username = "admin")
    {
        var api = factory.Api();
        await api.LoginAsync(username, Demo.PasswordOf(username));
        return api;
    }

    [Fact]
    public async Task List_ReturnsTheThreeExampleTriggers_ByPriority()
    {
        using var api = await LoginAsync();
        var result = await api.GetAsync("/api/bom-triggers?isActive=true");

        result.Status.Should().Be(HttpStatusCode.OK);
        var names = result.Data.EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        names.Should().ContainInOrder("Auto-add UTP cable to LAN tasks", "Recalculate cost after material add", "Notify on task completion");
    }

    [Fact]
    public async Task List_FiltersByEvent()
    {
        using var api = await LoginAsync();
        var result = await api.GetAsync("/api/bom-triggers?triggerEvent=ON_STATUS_CHANGE");

        result.Data.EnumerateArray().Should().OnlyContain(t => t.GetProperty("triggerEvent").GetString() == "ON_STATUS_CHANGE");
        result.Data.EnumerateArray().Select(t => t.GetProperty("name").GetString()).Should().Contain("Notify on task completion");
    }

    [Fact]
    public async Task Get_ReturnsOne_AndUnknownIs404()
    {
        using var api = await LoginAsync();
        var id = (await api.GetAsync("/api/bom-triggers")).Data[0].GetProperty("id").GetInt32();

        var one = await api.GetAsync($"/api/bom-triggers/{id}");
        one.Status.Should().Be(HttpStatusCode.OK);
        one.Data.GetProperty("id").GetInt32().Should().Be(id);

        var missing = await api.GetAsync("/api/bom-triggers/999999");
        missing.Status.Should().Be(HttpStatusCode.NotFound);
        missing.Code.Should().Be("NOT_FOUND");
    }

    [Fact]
    public async Task Create_Update_Toggle_Delete_RoundTrip()
    {
        using var api = await LoginAsync("manager");
        var created = await api.PostAsync("/api/bom-triggers", ValidTrigger);
        created.Status.Should().Be(HttpStatusCode.Created, created.ToString());
        var id = created.Data.GetProperty("id").GetInt32();
        created.Data.GetProperty("isActive").GetBoolean().Should().BeTrue();
        created.Data.GetProperty("createdBy").GetInt32().Should().Be(2);

        var updated = await api.PutAsync($"/api/bom-triggers/{id}", new { priority = 3, description = "Plugs for the patch panel" });
        updated.Status.Should().Be(HttpStatusCode.OK, updated.ToString());
        updated.Data.GetProperty("priority").GetInt32().Should().Be(3);
        updated.Data.GetProperty("name").GetString().Should().Be("Add RJ45 plugs to LAN tasks");

        var toggled = await api.PatchAsync($"/api/bom-triggers/{id}/toggle");
        toggled.Data.GetProperty("isActive").GetBoolean().Should().BeFalse();
        (await api.PatchAsync($"/api/bom-triggers/{id}/toggle")).Data.GetProperty("isActive").GetBoolean().Should().BeTrue();

        // The original API's clients toggle with POST.
        var posted = await api.PostAsync($"/api/bom-triggers/{id}/toggle");
        posted.Status.Should().Be(HttpStatusCode.OK, posted.ToString());
        posted.Data.GetProperty("isActive").GetBoolean().Should().BeFalse();
        (await api.PostAsync($"/api/bom-triggers/{id}/toggle")).Data.GetProperty("isActive").GetBoolean().Should().BeTrue();

        (await api.DeleteAsync($"/api/bom-triggers/{id}")).Status.Should().Be(HttpStatusCode.OK);
        (await api.GetAsync($"/api/bom-triggers/{id}")).Status.Should().Be(HttpStatusCode.NotFound);
        (await api.DeleteAsync($"/api/bom-triggers/{id}")).Status.Should().Be(HttpStatusCode.NotFound);
        (await api.PatchAsync($"/api/bom-triggers/{id}/toggle")).Status.Should().Be(HttpStatusCode.NotFound);
        (await api.PutAsync($"/api/bom-triggers/{id}", new { priority = 1 })).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Delete_IsSoft_HistoryNamesEachAuthor_AndRestoreBringsTheTriggerBack()
    {
        using var api = await LoginAsync("manager");
        var id = (await api.PostAsync("/api/bom-triggers", ValidTrigger)).Data.GetProperty("id").GetInt32();
        (await api.PutAsync($"/api/bom-triggers/{id}", new { priority = 3 })).Status.Should().Be(HttpStatusCode.OK);
        using var admin = await LoginAsync("admin");
        (await admin.DeleteAsync($"/api/bom-triggers/{id}")).Status.Should().Be(HttpStatusCode.OK);

        (await api.GetAsync($"/api/bom-triggers/{id}")).Status.Should().Be(HttpStatusCode.NotFound);
        (await api.GetAsync("/api/bom-triggers")).Data.EnumerateArray().Should().NotContain(t => t.GetProperty("id").GetInt32() == id);
        var deleted = (await api.GetAsync("/api/bom-triggers?deleted=true")).Data.EnumerateArray().Should().ContainSingle(t => t.GetProperty("id").GetInt32() == id).Subject;
        deleted.GetProperty("deletedBy").GetInt32().Should().Be(1);
        deleted.GetProperty("deletedAt").ValueKind.Should().Be(JsonValueKind.String);
        (await api.GetAsync($"/api/bom-triggers/{id}/logs")).Status.Should().Be(HttpStatusCode.OK, "a deleted trigger keeps its logs");

        using var editor = await LoginAsync("bom_editor");
        var history = await editor.GetAsync($"/api/bom-triggers/{id}/history");
        history.Status.Should().Be(HttpStatusCode.OK, history.ToString());
        history.Data.GetProperty("total").GetInt64().Should().Be(3);
        var items = history.Data.GetProperty("items").EnumerateArray().ToList();
        items.Select(v => (v.GetProperty("version").GetInt32(), v.GetProperty("change").GetString(), v.GetProperty("changedBy").GetInt32())).Should().Equal(
            (3, "Deleted", 1), (2, "Updated", 2), (1, "Created", 2));
        items[1].GetProperty("definition").GetProperty("priority").GetInt32().Should().Be(3);
        items[1].GetProperty("previous").GetProperty("priority").GetInt32().Should().Be(9);
        items[2].GetProperty("previous").ValueKind.Should().Be(JsonValueKind.Null);

        var restored = await api.PostAsync($"/api/bom-triggers/{id}/restore/1");
        restored.Status.Should().Be(HttpStatusCode.OK, restored.ToString());
        restored.Message.Should().Be("Version 1 restored as version 4.");
        restored.Data.GetProperty("priority").GetInt32().Should().Be(9);
        (await api.GetAsync($"/api/bom-triggers/{id}")).Data.GetProperty("version").GetInt32().Should().Be(4);
        var latest = (await api.GetAsync($"/api/bom-triggers/{id}/history?limit=1")).Data.GetProperty("items")[0];
        (latest.GetProperty("change").GetString(), latest.GetProperty("changedBy").GetInt32(), latest.GetProperty("restoredFromVersion").GetInt32()).Should().Be(("Restored", 2, 1));
    }

    [Fact]
    public async Task Restore_UnknownTriggerOrVersion_Is404AndRecordsNothing()
    {
        using var api = await LoginAsync("manager");
        var id = (await api.PostAsync("/api/bom-triggers", ValidTrigger)).Data.GetProperty("id").GetInt32();

        var unknownTrigger = await api.PostAsync("/api/bom-triggers/999999/restore/1");
        var unknownVersion = await api.PostAsync($"/api/bom-triggers/{id}/restore/9");

        (unknownTrigger.Status, unknownTrigger.Code, unknownTrigger.Message).Should().Be((HttpStatusCode.NotFound, "NOT_FOUND", "Trigger 999999 not found."));
        (unknownVersion.Status, unknownVersion.Code, unknownVersion.Message).Should().Be((HttpStatusCode.NotFound, "NOT_FOUND", $"Trigger {id} has no version 9."));
        (await api.GetAsync($"/api/bom-triggers/{id}/history")).Data.GetProperty("total").GetInt64().Should().Be(1);
        (await api.GetAsync("/api/bom-triggers/999999/history")).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Create_Invalid_Is400WithEveryErrorAndItsPath()
    {
        using var api = await LoginAsync();
        var result = await api.PostAsync("/api/bom-triggers", new
        {
            name = "Broken",
            triggerEvent = "ON_MATERIAL_ADD",
            triggerCondition = new Dictionary<string, object> { ["quantity"] = new Dictionary<string, object> { ["$gt"] = "many" } },
            actionType = "ADD_MATERIAL",
            actionConfig = new { defaultQuantity = -5 },
            priority = "high",
        });

        result.Status.Should().Be(HttpStatusCode.BadRequest);
        result.Success.Should().BeFalse();
        result.Code.Should().Be("VALIDATION_ERROR");
        var paths = result.Data.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        paths.Should().Contain(["/priority", "/triggerCondition/quantity/$gt", "/actionConfig/materialName", "/actionConfig/defaultQuantity"]);
        result.Message.Should().Contain("/triggerCondition/quantity/$gt");
    }

    [Fact]
    public async Task Create_UnknownEventAndAction_Is400WithPaths()
    {
        using var api = await LoginAsync();
        var result = await api.PostAsync("/api/bom-triggers", new { name = "", triggerEvent = "ON_NOTHING", actionType = "LAUNCH_ROCKET" });

        result.Status.Should().Be(HttpStatusCode.BadRequest);
        var paths = result.Data.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        paths.Should().Contain(["/name", "/triggerEvent", "/actionType"]);
    }

    [Fact]
    public async Task Create_MalformedJson_Is400InEnvelope()
    {
        using var api = await LoginAsync();
        var result = await api.SendAsync(HttpMethod.Post, "/api/bom-triggers", "{\"name\": ");

        result.Status.Should().Be(HttpStatusCode.BadRequest);
        result.Success.Should().BeFalse();
        result.Code.Should().Be("VALIDATION_ERROR");
    }

    [Fact]
    public async Task Update_Invalid_Is400AndNothingChanges()
    {
        using var api = await LoginAsync();
        var id = (await api.PostAsync("/api/bom-triggers", ValidTrigger)).Data.GetProperty("id").GetInt32();

        var result = await api.PutAsync($"/api/bom-triggers/{id}", new { actionConfig = new { materialName = "X", defaultQuantity = 0 } });
        result.Status.Should().Be(HttpStatusCode.BadRequest);
        result.Data.GetProperty("errors")[0].GetProperty("path").GetString().Should().Be("/actionConfig/defaultQuantity");

        (await api.GetAsync($"/api/bom-triggers/{id}")).Data.GetProperty("actionConfig").GetProperty("defaultQuantity").GetInt32().Should().Be(24);
    }

    [Fact]
    public async Task Test_DryRun_ExplainsMatchAndMismatch_AndExecutesNothing()
    {
        using var api = await LoginAsync("manager");
        var cable = (await api.GetAsync("/api/bom-triggers")).Data.EnumerateArray().First(t => t.GetProperty("name").GetString() == "Auto-add UTP cable to LAN tasks");
        var id = cable.GetProperty("id").GetInt32();

        var match = await api.PostAsync($"/api/bom-triggers/{id}/test", new { testData = new { taskTypeCode = "LAN", title = "x" } });
        match.Status.Should().Be(HttpStatusCode.OK, match.ToString());
        match.Data.GetProperty("wouldExecute").GetBoolean().Should().BeTrue();

        var mismatch = await api.PostAsync($"/api/bom-triggers/{id}/test", new { testData = new { taskTypeCode = "FIBER" } });
        mismatch.Data.GetProperty("wouldExecute").GetBoolean().Should().BeFalse();
        mismatch.Data.GetProperty("explanation").EnumerateArray().Should().NotBeEmpty();

        (await api.GetAsync($"/api/bom-triggers/{id}/logs")).Data.GetProperty("total").GetInt64().Should().Be(0);
    }

    [Fact]
    public async Task Test_WithoutTestData_Is400_AndUnknownTriggerIs404()
    {
        using var api = await LoginAsync();
        var result = await api.PostAsync("/api/bom-triggers/1/test", new { });
        result.Status.Should().Be(HttpStatusCode.BadRequest);
        result.Data.GetProperty("errors")[0].GetProperty("path").GetString().Should().Be("/testData");

        (await api.PostAsync("/api/bom-triggers/999999/test", new { testData = new { } })).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Test_UnsavedTrigger_Explains()
    {
        using var api = await LoginAsync();
        var result = await api.PostAsync("/api/bom-triggers/test", new { trigger = ValidTrigger, testData = new { taskTypeCode = "LAN" } });

        result.Status.Should().Be(HttpStatusCode.OK, result.ToString());
        result.Data.GetProperty("wouldExecute").GetBoolean().Should().BeTrue();
    }

    [Fact]
    public async Task Events_And_Actions_ListTheFiveBuiltIns()
    {
        using var api = await LoginAsync("bom_editor");
        var events = await api.GetAsync("/api/bom-triggers/events");
        events.Status.Should().Be(HttpStatusCode.OK);
        events.Data.EnumerateArray().Select(e => e.GetProperty("name").GetString())
            .Should().BeEquivalentTo(["ON_TASK_CREATE", "ON_STATUS_CHANGE", "ON_BOM_UPDATE", "ON_MATERIAL_ADD", "ON_QUANTITY_CHANGE", "ON_SCHEDULE"]);

        var actions = await api.GetAsync("/api/bom-triggers/actions");
        actions.Data.EnumerateArray().Select(a => a.GetProperty("actionType").GetString())
            .Should().Contain(["ADD_MATERIAL", "UPDATE_QUANTITY", "COPY_BOM", "NOTIFY", "CALCULATE_COST"]);
    }

    [Fact]
    public async Task Logs_AfterLanTask_ShowTheExecution()
    {
        using var api = await LoginAsync();
        var cableId = (await api.GetAsync("/api/bom-triggers")).Data.EnumerateArray()
            .First(t => t.GetProperty("name").GetString() == "Auto-add UTP cable to LAN tasks").GetProperty("id").GetInt32();
        var task = await api.PostAsync("/api/tasks", new { title = "Logs", taskTypeCode = "LAN" });
        var taskId = task.Data.GetProperty("id").GetInt32();

        var logs = await api.GetAsync($"/api/bom-triggers/{cableId}/logs?limit=100");
        logs.Status.Should().Be(HttpStatusCode.OK);
        logs.Data.GetProperty("items").EnumerateArray().Should().Contain(l => l.GetProperty("taskId").GetInt32() == taskId && l.GetProperty("success").GetBoolean());
        (await api.GetAsync("/api/bom-triggers/999999/logs")).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("bom_editor", "GET", "/api/bom-triggers", HttpStatusCode.OK)]
    [InlineData("bom_editor", "GET", "/api/bom-triggers/events", HttpStatusCode.OK)]
    [InlineData("bom_editor", "POST", "/api/bom-triggers", HttpStatusCode.Forbidden)]
    [InlineData("bom_editor", "PATCH", "/api/bom-triggers/1/toggle", HttpStatusCode.Forbidden)]
    [InlineData("bom_editor", "POST", "/api/bom-triggers/1/toggle", HttpStatusCode.Forbidden)]
    [InlineData("bom_editor", "DELETE", "/api/bom-triggers/1", HttpStatusCode.Forbidden)]
    [InlineData("bom_editor", "POST", "/api/bom-triggers/1/test", HttpStatusCode.Forbidden)]
    [InlineData("technician", "GET", "/api/bom-triggers", HttpStatusCode.Forbidden)]
    [InlineData("technician", "GET", "/api/bom-triggers/1/logs", HttpStatusCode.Forbidden)]
    [InlineData("technician", "GET", "/api/tasks", HttpStatusCode.OK)]
    [InlineData("manager", "GET", "/api/bom-triggers/actions", HttpStatusCode.OK)]
    [InlineData("bom_editor", "GET", "/api/bom-triggers/1/history", HttpStatusCode.OK)]
    [InlineData("manager", "GET", "/api/bom-triggers/1/history", HttpStatusCode.OK)]
    [InlineData("technician", "GET", "/api/bom-triggers/1/history", HttpStatusCode.Forbidden)]
    [InlineData("bom_editor", "POST", "/api/bom-triggers/1/restore/1", HttpStatusCode.Forbidden)]
    [InlineData("technician", "POST", "/api/bom-triggers/1/restore/1", HttpStatusCode.Forbidden)]
    [InlineData("bom_editor", "GET", "/api/bom-triggers/jobs", HttpStatusCode.OK)]
    [InlineData("bom_editor", "GET", "/api/bom-triggers/jobs/counts", HttpStatusCode.OK)]
    [InlineData("technician", "GET", "/api/bom-triggers/jobs", HttpStatusCode.Forbidden)]
    [InlineData("bom_editor", "POST", "/api/bom-triggers/jobs/1/retry", HttpStatusCode.Forbidden)]
    [InlineData("bom_editor", "POST", "/api/bom-triggers/jobs/1/discard", HttpStatusCode.Forbidden)]
    [InlineData("manager", "POST", "/api/bom-triggers/jobs/999999/retry", HttpStatusCode.NotFound)]
    [InlineData("manager", "POST", "/api/bom-triggers/jobs/999999/discard", HttpStatusCode.NotFound)]
    public async Task Roles_AreEnforced(string user, string method, string url, HttpStatusCode expected)
    {
        using var api = await LoginAsync(user);
        var result = await api.SendAsync(new HttpMethod(method), url, method is "GET" or "DELETE" or "PATCH" ? null : ValidTrigger);

        result.Status.Should().Be(expected, result.ToString());
        if (expected == HttpStatusCode.Forbidden)
        {
            result.Success.Should().BeFalse();
            result.Code.Should().Be("FORBIDDEN");
        }
    }

    [Fact]
    public async Task SnakeCaseNamesOfTheOriginal_AreAccepted()
    {
        using var api = await LoginAsync();
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["name"] = "Snake",
            ["trigger_event"] = "ON_STATUS_CHANGE",
            ["trigger_condition"] = new { status = "cancelled" },
            ["action_type"] = "NOTIFY",
            ["action_config"] = new { message = "Cancelled", recipients = new[] { "manager" } },
            ["is_active"] = false,
        });
        var result = await api.SendAsync(HttpMethod.Post, "/api/bom-triggers", body);

        result.Status.Should().Be(HttpStatusCode.Created, result.ToString());
        result.Data.GetProperty("isActive").GetBoolean().Should().BeFalse();
    }
}
