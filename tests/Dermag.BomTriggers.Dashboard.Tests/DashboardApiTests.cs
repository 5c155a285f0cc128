using System.Net;
using Microsoft.AspNetCore.Builder;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers.Dashboard.Tests;

/// <summary>The dashboard's HTTP surface: who may do what, antiforgery, paging, headers. Real Kestrel, real cookies.</summary>
public sealed class DashboardApiTests : IAsyncLifetime
{
    private DashboardHost _host = null!;

    public async Task InitializeAsync() => _host = await DashboardHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private const string Definition = """
        {"name":"api trigger","triggerEvent":"ON_TASK_CREATE","triggerCondition":{"$all":[{"taskTypeCode":"LAN"},{"$any":[{"title":{"$contains":"x"}},{"tags":{"$contains":"y"}}]}]},
         "actionType":"CALCULATE_COST","actionConfig":{},"priority":7,"isActive":true}
        """;

    private static async Task<(string Header, string Token)> MetaTokenAsync(HttpClient client)
    {
        var meta = await client.GetFromJsonAsync<JsonElement>("api/meta");
        var af = meta.GetProperty("antiforgery");
        return (af.GetProperty("headerName").GetString()!, af.GetProperty("token").GetString()!);
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, (string Header, string Token)? token, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is { } t)
        {
            request.Headers.Add(t.Header, t.Token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return request;
    }

    private async Task<(int TriggerId, long DeadJobId, long PendingJobId)> SeedAsync()
    {
        var created = await _host.Manager.CreateAsync(new BomTriggerDefinition { Name = "seed", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.CalculateCost });
        return (created.Trigger!.Id, 999_001, 999_002);
    }

    [Theory]
    [InlineData("bom_editor")]
    public async Task Viewer_EveryWriteEndpoint_403_WithValidToken_AndNothingChanges(string viewer)
    {
        var (id, deadJob, pendingJob) = await SeedAsync();
        using var client = _host.Client(viewer);
        var token = await MetaTokenAsync(client);
        var before = await _host.Manager.GetAsync(id);

        HttpRequestMessage[] writes =
        [
            Request(HttpMethod.Post, "api/triggers", token, Definition),
            Request(HttpMethod.Put, $"api/triggers/{id}", token, Definition),
            Request(HttpMethod.Delete, $"api/triggers/{id}", token),
            Request(HttpMethod.Post, $"api/triggers/{id}/toggle", token),
            Request(HttpMethod.Post, $"api/jobs/{deadJob}/retry", token),
            Request(HttpMethod.Post, $"api/jobs/{pendingJob}/discard", token),
        ];
        foreach (var write in writes)
        {
            using var response = await client.SendAsync(write);
            response.StatusCode.Should().Be(HttpStatusCode.Forbidden, $"{write.Method} {write.RequestUri} is a change");
        }

        (await _host.Manager.ListAsync()).Should().ContainSingle();
        (await _host.Manager.GetAsync(id))!.Should().BeEquivalentTo(before!, o => o.Excluding(t => t.TriggerCondition).Excluding(t => t.ActionConfig));
        var meta = await client.GetFromJsonAsync<JsonElement>("api/meta");
        meta.GetProperty("canEdit").GetBoolean().Should().BeFalse();

        // Reading, validating and dry runs stay open to viewers: they change nothing.
        (await client.GetAsync("api/triggers")).StatusCode.Should().Be(HttpStatusCode.OK);
        using var validate = await client.SendAsync(Request(HttpMethod.Post, "api/validate", null, Definition));
        validate.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("manager")]
    public async Task Editor_WithoutOrWithBadAntiforgeryToken_400_NothingStored_WithToken_201(string editor)
    {
        using var client = _host.Client(editor);
        var token = await MetaTokenAsync(client);

        using (var missing = await client.SendAsync(Request(HttpMethod.Post, "api/triggers", null, Definition)))
        {
            missing.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            (await missing.Content.ReadAsStringAsync()).Should().Contain("antiforgery");
        }

        using (var forged = await client.SendAsync(Request(HttpMethod.Post, "api/triggers", (token.Header, token.Token + "x"), Definition)))
        {
            forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        }

        // A token issued to another user's session does not carry over (no shared cookie).
        using var other = _host.Client(editor);
        using (var foreign = await other.SendAsync(Request(HttpMethod.Post, "api/triggers", token, Definition)))
        {
            foreign.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        }

        (await _host.Manager.ListAsync()).Should().BeEmpty();

        using var ok = await client.SendAsync(Request(HttpMethod.Post, "api/triggers", token, Definition));
        ok.StatusCode.Should().Be(HttpStatusCode.Created);
        var stored = (await _host.Manager.ListAsync()).Should().ContainSingle().Subject;
        stored.Priority.Should().Be(7);
        stored.CreatedBy.Should().Be(editor.Length + 100, "the author comes from the user's NameIdentifier claim");
    }

    [Fact]
    public async Task Save_InvalidCondition_422_WithJsonPointers()
    {
        using var client = _host.Client("admin");
        var token = await MetaTokenAsync(client);
        var bad = Definition.Replace("{\"taskTypeCode\":\"LAN\"}", "{\"taskId\":\"abc\"}", StringComparison.Ordinal);

        using var response = await client.SendAsync(Request(HttpMethod.Post, "api/triggers", token, bad));

        response.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).Should().Contain("/triggerCondition/$all/0/taskId");
        (await _host.Manager.ListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Anonymous_401_AndUserWithoutViewRole_403_OnPageAssetsAndApi()
    {
        using var anonymous = _host.Client(null);
        using var technician = _host.Client("technician");
        foreach (var path in new[] { "", "assets/dashboard.js", "api/meta", "api/triggers" })
        {
            (await anonymous.GetAsync(path)).StatusCode.Should().Be(HttpStatusCode.Unauthorized, path);
            (await technician.GetAsync(path)).StatusCode.Should().Be(HttpStatusCode.Forbidden, path);
        }
    }

    [Fact]
    public async Task Page_StrictCsp_NoInlineScriptOrStyle_AssetsEmbedded_PrefixWithoutSlashRedirects()
    {
        using var client = _host.Client("bom_editor");

        using var redirect = await client.GetAsync(_host.BaseUrl + "/bom-triggers");
        redirect.StatusCode.Should().Be(HttpStatusCode.Redirect);
        redirect.Headers.Location!.ToString().Should().Be("/bom-triggers/");

        using var page = await client.GetAsync("");
        page.StatusCode.Should().Be(HttpStatusCode.OK);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        csp.Should().Contain("default-src 'none'").And.Contain("script-src 'self'").And.Contain("style-src 'self'")
            .And.Contain("object-src 'none'").And.Contain("frame-ancestors 'none'").And.Contain("base-uri 'none'").And.NotContain("unsafe");
        var html = await page.Content.ReadAsStringAsync();
        html.Should().NotMatchRegex("<script(?![^>]*\\ssrc=)[^>]*>", "no inline script").And.NotContain("style=").And.NotContain("<style").And.NotContain("http");

        foreach (var asset in new[] { "assets/dashboard.js", "assets/dashboard.css" })
        {
            using var response = await client.GetAsync(asset);
            response.StatusCode.Should().Be(HttpStatusCode.OK, asset);
            response.Headers.GetValues("Content-Security-Policy").Should().ContainSingle();
            var text = await response.Content.ReadAsStringAsync();
            text.Should().NotContain("http://").And.NotContain("https://", "nothing is loaded from elsewhere");
            var etag = response.Headers.ETag!;
            using var again = new HttpRequestMessage(HttpMethod.Get, asset);
            again.Headers.IfNoneMatch.Add(etag);
            (await client.SendAsync(again)).StatusCode.Should().Be(HttpStatusCode.NotModified);
        }

        (await client.GetAsync("assets/index.html")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await client.GetAsync("assets/nope.js")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Lists_ArePagedOnTheServer_LimitClampedToMaxPageSize()
    {
        for (var i = 0; i < 230; i++)
        {
            (await _host.Manager.CreateAsync(new BomTriggerDefinition { Name = $"bulk {i:D3}", TriggerEvent = BomTriggerEvents.MaterialAdd, ActionType = BomTriggerActions.CalculateCost, Priority = i % 7 })).Succeeded.Should().BeTrue();
        }

        using var client = _host.Client("bom_editor");
        var huge = await client.GetFromJsonAsync<JsonElement>("api/triggers?limit=100000");
        huge.GetProperty("items").GetArrayLength().Should().Be(200);
        (huge.GetProperty("limit").GetInt32(), huge.GetProperty("total").GetInt32()).Should().Be((200, 230));

        var last = await client.GetFromJsonAsync<JsonElement>("api/triggers?limit=50&offset=200");
        last.GetProperty("items").GetArrayLength().Should().Be(30);

        var search = await client.GetFromJsonAsync<JsonElement>("api/triggers?search=bulk%2012&limit=5");
        search.GetProperty("total").GetInt32().Should().Be(10, "bulk 120..129 (bulk 012 does not contain it)");
        search.GetProperty("items").GetArrayLength().Should().Be(5);

        var runs = await client.GetFromJsonAsync<JsonElement>("api/runs?limit=100000");
        runs.GetProperty("limit").GetInt32().Should().Be(200);
        var jobs = await client.GetFromJsonAsync<JsonElement>("api/jobs?limit=0");
        jobs.GetProperty("limit").GetInt32().Should().Be(1);
        (await client.GetAsync("api/jobs?state=bogus")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        using var bogus = await client.GetAsync("api/runs?outcome=bogus");
        bogus.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        bogus.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json", "errors are RFC 9457 problem details, as the token endpoints answer");
        var problem = await bogus.Content.ReadFromJsonAsync<JsonElement>();
        (problem.GetProperty("status").GetInt32(), problem.GetProperty("detail").GetString()).Should().Be((400, "outcome must be Executed, Failed or SuppressedLoop."));
    }

    [Fact]
    public async Task TriggerList_ShowsLastRunAnd24hCounts_FromTheLogs()
    {
        var fires = await _host.Manager.CreateAsync(new BomTriggerDefinition { Name = "fires", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.CalculateCost });
        var fails = await _host.Manager.CreateAsync(new BomTriggerDefinition
        {
            Name = "fails",
            TriggerEvent = BomTriggerEvents.TaskCreate,
            ActionType = BomTriggerActions.AddMaterial,
            ActionConfig = JsonDocument.Parse("""{"materialName":"explode","defaultQuantity":1}""").RootElement,
        });
        fails.Errors.Should().BeEmpty();
        await _host.Engine.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.TaskCreate, 5, null, new JsonObject()));
        await _host.Engine.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.TaskCreate, 6, null, new JsonObject()));

        using var client = _host.Client("bom_editor");
        var page = await client.GetFromJsonAsync<JsonElement>("api/triggers");
        var rows = page.GetProperty("items").EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!, r => r.GetProperty("runs"));
        (rows["fires"].GetProperty("executed").GetInt64(), rows["fires"].GetProperty("failed").GetInt64()).Should().Be((2L, 0L));
        (rows["fails"].GetProperty("executed").GetInt64(), rows["fails"].GetProperty("failed").GetInt64()).Should().Be((0L, 2L));
        rows["fails"].GetProperty("lastOutcome").GetString().Should().Be("Failed");
        rows["fires"].GetProperty("lastRunAt").GetDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Meta_DescribesEventsOperatorsPerTypeAndActionConfigFields()
    {
        using var client = _host.Client("admin");
        var meta = await client.GetFromJsonAsync<JsonElement>("api/meta");

        meta.GetProperty("canEdit").GetBoolean().Should().BeTrue();
        var gt = meta.GetProperty("operators").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "$gt");
        gt.GetProperty("appliesTo").EnumerateArray().Select(t => t.GetString()).Should().BeEquivalentTo("Number", "String");
        meta.GetProperty("actions").EnumerateArray().Single(a => a.GetProperty("actionType").GetString() == "ADD_MATERIAL")
            .GetProperty("configFields").EnumerateArray().Select(f => f.GetProperty("name").GetString()).Should().Contain("materialName");
        meta.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("name").GetString()).Should().Contain("ON_QUANTITY_CHANGE");
    }

    [Fact]
    public async Task DryRun_ExplainsClauseByClause_ListsChain_ForViewersToo_AndRunsNothing()
    {
        await _host.Manager.CreateAsync(new BomTriggerDefinition { Name = "cost after add", TriggerEvent = BomTriggerEvents.MaterialAdd, ActionType = BomTriggerActions.CalculateCost });
        using var client = _host.Client("bom_editor");
        var body = """
            {"definition":{"name":"t","triggerEvent":"ON_TASK_CREATE","triggerCondition":{"taskTypeCode":"LAN"},"actionType":"ADD_MATERIAL",
             "actionConfig":{"materialName":"m","defaultQuantity":1},"priority":10,"isActive":true,"execution":null,"sourceTaskTypeId":null},
             "testData":{"taskTypeCode":"LAN"},"previousValues":null,"taskId":3,"taskTypeId":null}
            """;

        using var response = await client.SendAsync(Request(HttpMethod.Post, "api/test", null, body));

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, text);
        var result = JsonDocument.Parse(text).RootElement;
        result.GetProperty("wouldExecute").GetBoolean().Should().BeTrue(text);
        result.GetProperty("condition").GetProperty("trace").EnumerateArray().Should().Contain(t => t.GetProperty("path").GetString() == "/triggerCondition/taskTypeCode" && t.GetProperty("passed").GetBoolean());
        result.GetProperty("chainedTriggers").EnumerateArray().Single().GetProperty("triggerName").GetString().Should().Be("cost after add");
        _host.App.Services.GetRequiredService<FakeBom>().Calls.Should().BeEmpty();
    }

    [Fact]
    public async Task IsReadOnly_MakesEvenAnEditorReadOnly_ForTheRequestsItSelects()
    {
        await _host.DisposeAsync();
        _host = await DashboardHost.StartAsync(dashboard: o => o.IsReadOnly = http => http.Request.Headers.ContainsKey("X-Maintenance"));
        using var client = _host.Client("admin");
        var token = await MetaTokenAsync(client);
        client.DefaultRequestHeaders.Add("X-Maintenance", "1");

        (await client.GetFromJsonAsync<JsonElement>("api/meta")).GetProperty("canEdit").GetBoolean().Should().BeFalse();
        using (var refused = await client.SendAsync(Request(HttpMethod.Post, "api/triggers", token, Definition)))
        {
            refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        client.DefaultRequestHeaders.Remove("X-Maintenance");
        using var allowed = await client.SendAsync(Request(HttpMethod.Post, "api/triggers", token, Definition));
        allowed.StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Mount_WithoutAddBomTriggersDashboard_FailsAtStartupNamingTheCall()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddBomTriggers().UseInMemoryStore();
        await using var app = builder.Build();

        var mount = () => app.MapBomTriggersDashboard("/bom-triggers");

        mount.Should().Throw<InvalidOperationException>().WithMessage("*builder.Services.AddBomTriggersDashboard()*");
    }

    [Fact]
    public async Task Update_WhatGetReturned_KeepsExecutionAndBumpsVersion()
    {
        var created = (await _host.Manager.CreateAsync(new BomTriggerDefinition
        {
            Name = "delayed",
            TriggerEvent = BomTriggerEvents.StatusChange,
            ActionType = BomTriggerActions.CalculateCost,
            Execution = new BomTriggerExecution { Mode = TriggerExecutionMode.Queued, MaxAttempts = 3, Delay = TimeSpan.FromHours(2) },
        })).Trigger!;
        using var client = _host.Client("manager");
        var token = await MetaTokenAsync(client);
        var json = await client.GetStringAsync($"api/triggers/{created.Id}");

        using var response = await client.SendAsync(Request(HttpMethod.Put, $"api/triggers/{created.Id}", token, json.Replace("\"delayed\"", "\"delayed, renamed\"", StringComparison.Ordinal)));

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var stored = (await _host.Manager.GetAsync(created.Id))!;
        (stored.Name, stored.Version).Should().Be(("delayed, renamed", 2));
        stored.Execution.Should().Be(created.Execution);
        (stored.CreatedBy, stored.Priority).Should().Be((created.CreatedBy, created.Priority));
    }
}
