using System.Net;
using System.Text.Json;
using Dermag.Samples.Tests.Infrastructure;

namespace Dermag.Samples.Tests;

public sealed class TaskEndpointTests(SampleHostFactory factory) : IClassFixture<SampleHostFactory>
{
    private async Task<ApiClient> LoginAsync(string username = "admin")
    {
        var api = factory.Api();
        await api.LoginAsync(username, Demo.PasswordOf(username));
        return api;
    }

    private static JsonElement Line(JsonElement task, string material) =>
        task.GetProperty("bom").EnumerateArray().Single(l => l.GetProperty("materialName").GetString() == material);

    [Fact]
    public async Task CreateLanTask_GetsUtpCable100m_AndCost()
    {
        using var api = await LoginAsync("technician");
        var result = await api.PostAsync("/api/tasks", new { title = "Office LAN", taskTypeCode = "LAN" });

        result.Status.Should().Be(HttpStatusCode.Created, result.ToString());
        var task = result.Data;
        var cable = Line(task, "Kabel UTP Cat6");
        cable.GetProperty("quantity").GetDecimal().Should().Be(100m);
        cable.GetProperty("unit").GetString().Should().Be("m");
        cable.GetProperty("addedBy").GetString().Should().Be("trigger: Auto-add UTP cable to LAN tasks");

        // ADD_MATERIAL chains ON_MATERIAL_ADD, whose CALCULATE_COST the demo runs queued: the request returns with the job
        // written, and a worker stores the cost (100 m x 2.80) a moment later.
        var runs = task.GetProperty("triggerRuns").EnumerateArray().ToList();
        runs.Should().Contain(r => r.GetProperty("eventType").GetString() == "ON_TASK_CREATE" && r.GetProperty("outcome").GetString() == "Executed");
        runs.Should().Contain(r => r.GetProperty("eventType").GetString() == "ON_MATERIAL_ADD" && r.GetProperty("actionType").GetString() == "CALCULATE_COST"
            && r.GetProperty("depth").GetInt32() == 1 && r.GetProperty("outcome").GetString() == "Queued");

        var id = task.GetProperty("id").GetInt32();
        var fetched = await api.GetAsync($"/api/tasks/{id}");
        for (var attempt = 0; attempt < 100 && fetched.Data.GetProperty("cost").ValueKind == JsonValueKind.Null; attempt++)
        {
            await Task.Delay(50);
            fetched = await api.GetAsync($"/api/tasks/{id}");
        }

        fetched.Status.Should().Be(HttpStatusCode.OK);
        fetched.Data.GetProperty("cost").GetDecimal().Should().Be(280.00m);
        Line(fetched.Data, "Kabel UTP Cat6").GetProperty("quantity").GetDecimal().Should().Be(100m);
        using var manager = await LoginAsync("manager");
        var jobs = await manager.GetAsync($"/api/bom-triggers/jobs?taskId={id}");
        jobs.Data.GetProperty("items").EnumerateArray().Should().ContainSingle().Which.GetProperty("state").GetString().Should().Be("Succeeded");
    }

    [Fact]
    public async Task CreateFiberTask_GetsNoCable()
    {
        using var api = await LoginAsync();
        var result = await api.PostAsync("/api/tasks", new { title = "Backbone", taskTypeCode = "FIBER" });

        result.Status.Should().Be(HttpStatusCode.Created);
        result.Data.GetProperty("bom").GetArrayLength().Should().Be(0);
        result.Data.GetProperty("cost").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public async Task CompletingTask_RecordsTheNotification_OtherStatusesDoNot()
    {
        using var api = await LoginAsync();
        var id = (await api.PostAsync("/api/tasks", new { title = "Finish me", taskTypeCode = "SERVICE" })).Data.GetProperty("id").GetInt32();

        var started = await api.PutAsync($"/api/tasks/{id}/status", new { status = "in_progress" });
        started.Status.Should().Be(HttpStatusCode.OK);
        started.Data.GetProperty("notifications").GetArrayLength().Should().Be(0);

        var completed = await api.PutAsync($"/api/tasks/{id}/status", new { status = "completed" });
        completed.Message.Should().Be("Status changed from in_progress to completed.");
        var notification = completed.Data.GetProperty("notifications").EnumerateArray().Single();
        notification.GetProperty("triggerName").GetString().Should().Be("Notify on task completion");
        notification.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()).Should().Contain("manager");
    }

    [Fact]
    public async Task AddingMaterial_RecalculatesCost()
    {
        using var api = await LoginAsync();
        var id = (await api.PostAsync("/api/tasks", new { title = "Cost", taskTypeCode = "LAN" })).Data.GetProperty("id").GetInt32();

        var result = await api.PostAsync($"/api/tasks/{id}/materials", new { materialName = "Złącze RJ45", quantity = 10 });
        result.Status.Should().Be(HttpStatusCode.OK, result.ToString());
        Line(result.Data, "Złącze RJ45").GetProperty("addedBy").GetString().Should().Be("admin");
        (await CostOnceRecalculatedAsync(api, id, 280.00m + 9.00m)).Should().Be(280.00m + 9.00m);

        await api.PostAsync($"/api/tasks/{id}/materials", new { materialName = "Cable tray", quantity = 2, unit = "m", unitPrice = 15.5 });
        (await CostOnceRecalculatedAsync(api, id, 289.00m + 31.00m)).Should().Be(289.00m + 31.00m);
    }

    /// <summary>The task's stored cost once the queued CALCULATE_COST job caught up with <paramref name="expected"/> (or the last one seen after 5 s).</summary>
    private static async Task<decimal?> CostOnceRecalculatedAsync(ApiClient api, int id, decimal expected)
    {
        decimal? cost = null;
        for (var attempt = 0; attempt < 100 && cost != expected; attempt++)
        {
            await Task.Delay(attempt == 0 ? 0 : 50);
            var task = (await api.GetAsync($"/api/tasks/{id}")).Data.GetProperty("cost");
            cost = task.ValueKind == JsonValueKind.Null ? null : task.GetDecimal();
        }

        return cost;
    }

    [Fact]
    public async Task ChangingQuantity_FiresOnQuantityChange_WithThePreviousQuantity()
    {
        using var api = await LoginAsync();
        var trigger = await api.PostAsync("/api/bom-triggers", new
        {
            name = "Warn about long cable runs",
            triggerEvent = "ON_QUANTITY_CHANGE",
            triggerCondition = new Dictionary<string, object> { ["materialName"] = "Kabel UTP Cat6", ["quantity"] = new Dictionary<string, object> { ["$gt"] = 300 } },
            actionType = "NOTIFY",
            actionConfig = new { message = "More than 300 m of cable", recipients = new[] { "manager" } },
        });
        trigger.Status.Should().Be(HttpStatusCode.Created, trigger.ToString());

        var task = (await api.PostAsync("/api/tasks", new { title = "Long runs", taskTypeCode = "LAN" })).Data;
        var id = task.GetProperty("id").GetInt32();
        var lineId = Line(task, "Kabel UTP Cat6").GetProperty("id").GetInt32();

        var small = await api.PutAsync($"/api/tasks/{id}/materials/{lineId}", new { quantity = 200 });
        small.Status.Should().Be(HttpStatusCode.OK, small.ToString());
        small.Message.Should().Be("Quantity of Kabel UTP Cat6 changed from 100 to 200.");
        small.Data.GetProperty("notifications").GetArrayLength().Should().Be(0);

        var large = await api.PutAsync($"/api/tasks/{id}/materials/{lineId}", new { quantity = 350 });
        large.Data.GetProperty("notifications").EnumerateArray().Single().GetProperty("message").GetString().Should().Be("More than 300 m of cable");
        (await api.DeleteAsync($"/api/bom-triggers/{trigger.Data.GetProperty("id").GetInt32()}")).Success.Should().BeTrue();
    }

    [Fact]
    public async Task InvalidInput_Is400WithPaths_AndUnknownTaskIs404()
    {
        using var api = await LoginAsync();
        var create = await api.PostAsync("/api/tasks", new { title = "", taskTypeCode = "ROCKET" });
        create.Status.Should().Be(HttpStatusCode.BadRequest);
        create.Data.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).Should().BeEquivalentTo(["/title", "/taskTypeCode"]);

        var id = (await api.PostAsync("/api/tasks", new { title = "Valid", taskTypeCode = "CCTV" })).Data.GetProperty("id").GetInt32();
        (await api.PutAsync($"/api/tasks/{id}/status", new { status = "exploded" })).Status.Should().Be(HttpStatusCode.BadRequest);
        (await api.PostAsync($"/api/tasks/{id}/materials", new { materialName = "", quantity = 0 })).Data.GetProperty("errors").GetArrayLength().Should().Be(2);
        (await api.PutAsync($"/api/tasks/{id}/materials/99", new { quantity = 1 })).Status.Should().Be(HttpStatusCode.NotFound);
        (await api.GetAsync("/api/tasks/999999")).Status.Should().Be(HttpStatusCode.NotFound);
        (await api.PutAsync("/api/tasks/999999/status", new { status = "completed" })).Status.Should().Be(HttpStatusCode.NotFound);
        (await api.PostAsync("/api/tasks/999999/materials", new { materialName = "X", quantity = 1 })).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ListAndTypes_AreAvailableToEveryRole()
    {
        using var api = await LoginAsync("technician");
        await api.PostAsync("/api/tasks", new { title = "Listed", taskTypeCode = "LAN" });

        (await api.GetAsync("/api/tasks")).Data.EnumerateArray().Should().Contain(t => t.GetProperty("title").GetString() == "Listed");
        var types = await api.GetAsync("/api/tasks/types");
        types.Data.GetProperty("taskTypes").EnumerateArray().Select(t => t.GetProperty("code").GetString()).Should().Contain("LAN");
    }
}
