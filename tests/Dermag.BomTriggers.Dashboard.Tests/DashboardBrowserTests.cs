using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dermag.BomTriggers.Dashboard.Tests;

/// <summary>The dashboard in real headless Chromium against a real Kestrel host: what a bom_editor or manager does with it.</summary>
public sealed class DashboardBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private DashboardHost _host = null!;
    private readonly List<string> _pageErrors = [];
    private readonly List<IBrowserContext> _contexts = [];

    public async Task InitializeAsync() => _host = await DashboardHost.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }

        await _host.DisposeAsync();
    }

    private async Task<IPage> OpenAsync(string user, string hash)
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        _contexts.Add(context);
        await context.AddCookiesAsync([new Cookie { Name = "test-user", Value = user, Url = _host.BaseUrl }]);
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        page.PageError += (_, error) => _pageErrors.Add(error);
        page.Console += (_, message) =>
        {
            // A CSP violation is reported on the console; the dashboard must cause none.
            if (message.Type == "error" && message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                _pageErrors.Add(message.Text);
            }
        };
        await page.GotoAsync(_host.DashboardUrl + hash);
        await Expect(page.Locator("#mode")).Not.ToBeEmptyAsync();
        return page;
    }

    /// <summary>
    /// Writes the page's screenshot: into <c>docs/</c> (the images the package README shows) when
    /// <c>DERMAG_UPDATE_SCREENSHOTS=1</c>, else next to the test assembly, so an ordinary test run leaves the clone unchanged.
    /// </summary>
    private static Task ScreenshotAsync(IPage page, string name)
    {
        var directory = Environment.GetEnvironmentVariable("DERMAG_UPDATE_SCREENSHOTS") == "1"
            ? BrowserFixture.DocsDirectory
            : Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        return page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, $"dashboard-{name}.png"), FullPage = true });
    }

    private static ILocator Clause(ILocator scope, int index) => scope.Locator(":scope > .children > .clause").Nth(index);

    private static ILocator Group(ILocator scope, int index) => scope.Locator(":scope > .children > .group").Nth(index);

    [Fact]
    public async Task BuildNestedTrigger_OnlyThroughTheUi_DryRun_Save_Dispatch_SeeRunAndChain_AndQueue()
    {
        var chained = await _host.Manager.CreateAsync(new BomTriggerDefinition { Name = "Recalculate cost after material add", TriggerEvent = BomTriggerEvents.MaterialAdd, ActionType = BomTriggerActions.CalculateCost, Priority = 8 });
        var page = await OpenAsync("manager", "#/builder/new");

        await page.FillAsync("#name", "LAN cable, nested groups");
        await page.SelectOptionAsync("#event", "ON_TASK_CREATE");
        var root = page.Locator("#builder > .group");
        await root.Locator(":scope > .group-head .add-clause").ClickAsync();
        var first = Clause(root, 0);
        await first.Locator(".field").SelectOptionAsync("taskTypeCode");
        await first.Locator(".op").SelectOptionAsync("$eq");
        await first.Locator(".value").FillAsync("LAN");

        // ANY of (title contains "cable", tags contain "urgent", NONE of (status is "cancelled")).
        await root.Locator(":scope > .group-head .add-group").ClickAsync();
        var any = Group(root, 0);
        await Expect(any.Locator(":scope > .group-head .group-op")).ToHaveValueAsync("$any");
        await any.Locator(":scope > .group-head .add-clause").ClickAsync();
        await Clause(any, 0).Locator(".field").SelectOptionAsync("title");
        await Clause(any, 0).Locator(".op").SelectOptionAsync("$contains");
        await Clause(any, 0).Locator(".value").FillAsync("cable");
        await any.Locator(":scope > .group-head .add-clause").ClickAsync();
        await Clause(any, 1).Locator(".field").SelectOptionAsync("tags");
        // Only operators valid for a string array are offered.
        var tagOperators = await Clause(any, 1).Locator(".op option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)");
        tagOperators.Should().Contain("$contains").And.NotContain("$gt").And.NotContain("$startsWith").And.NotContain("$in");
        await Clause(any, 1).Locator(".op").SelectOptionAsync("$contains");
        await Clause(any, 1).Locator(".value").FillAsync("urgent");
        await any.Locator(":scope > .group-head .add-group").ClickAsync();
        var not = Group(any, 0);
        await not.Locator(":scope > .group-head .group-op").SelectOptionAsync("$not");
        await not.Locator(":scope > .group-head .add-clause").ClickAsync();
        await Clause(not, 0).Locator(".field").SelectOptionAsync("status");
        await Clause(not, 0).Locator(".value").FillAsync("cancelled");

        await page.SelectOptionAsync("#action", "ADD_MATERIAL");
        await page.FillAsync("#config-materialName", "Kabel UTP Cat6");
        await page.FillAsync("#config-defaultQuantity", "100");
        await page.FillAsync("#config-unit", "m");
        await page.FillAsync("#priority", "12");

        var expected = JsonNode.Parse("""
            {"$all":[{"taskTypeCode":"LAN"},{"$any":[{"title":{"$contains":"cable"}},{"tags":{"$contains":"urgent"}},{"$not":{"status":"cancelled"}}]}]}
            """)!;
        await Expect(page.Locator("#condition-json")).ToHaveValueAsync(expected.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        await Expect(page.Locator("#condition-words")).ToContainTextAsync("taskTypeCode is \"LAN\" and (title contains \"cable\" or tags contains \"urgent\" or not (status is \"cancelled\"))");
        await Expect(page.Locator("#general-errors li")).ToHaveCountAsync(0);
        await Expect(page.Locator("#builder [aria-invalid=true]")).ToHaveCountAsync(0);
        await ScreenshotAsync(page, "builder");

        // Dry run: the sample is prefilled (taskTypeCode LAN from the condition); title "example" fails the ANY group.
        await Expect(page.Locator("#test-data")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("\"taskTypeCode\": \"LAN\""));
        // status "cancelled" and no cable or urgent tag: the ANY group fails, clause by clause.
        var data = JsonNode.Parse(await page.InputValueAsync("#test-data"))!;
        data["status"] = "cancelled";
        await page.FillAsync("#test-data", data.ToJsonString());
        await page.ClickAsync("#dry-run");
        await Expect(page.Locator("#verdict")).ToHaveTextAsync("Would not fire");
        await Expect(page.Locator("#trace li.fail", new PageLocatorOptions { HasText = "$any of 3" })).ToHaveCountAsync(1);
        await Expect(page.Locator("#trace li.fail").First).ToContainTextAsync("title $contains \"cable\"");
        await Expect(page.Locator("#chain-none")).ToContainTextAsync("the action would not run");
        data["title"] = "cable pull";
        await page.FillAsync("#test-data", data.ToJsonString());
        await page.ClickAsync("#dry-run");
        await Expect(page.Locator("#verdict")).ToHaveTextAsync("Would fire: runs ADD_MATERIAL");
        await Expect(page.Locator("#trace li.pass")).Not.ToHaveCountAsync(0);
        await Expect(page.Locator("#dry-chain")).ToContainTextAsync($"Recalculate cost after material add (#{chained.Trigger!.Id})");
        await Expect(page.Locator("#dry-chain")).ToContainTextAsync("on ON_MATERIAL_ADD");
        await ScreenshotAsync(page, "dry-run");
        _host.App.Services.GetRequiredService<FakeBom>().Calls.Should().BeEmpty("a dry run executes nothing");

        await page.ClickAsync("#save");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/builder/\\d+$"));
        var saved = (await _host.Manager.ListAsync()).Single(t => t.Name == "LAN cable, nested groups");
        JsonNode.DeepEquals(JsonNode.Parse(saved.TriggerCondition.GetRawText()), expected).Should().BeTrue(saved.TriggerCondition.GetRawText());
        (saved.ActionType, saved.Priority, saved.ActionConfig.GetProperty("defaultQuantity").GetInt32()).Should().Be(("ADD_MATERIAL", 12, 100));

        // The host dispatches an event: the trigger runs, and its material add chains into a BOM copy and the cost trigger;
        // the copy's BOM update chains into a second cost trigger (A -> B and C; B -> D).
        var copy = await _host.Manager.CreateAsync(new BomTriggerDefinition
        {
            Name = "Copy BOM after material add",
            TriggerEvent = BomTriggerEvents.MaterialAdd,
            ActionType = BomTriggerActions.CopyBom,
            ActionConfig = JsonDocument.Parse("""{"fromTaskTypeId":3}""").RootElement,
            Priority = 9,
        });
        var afterCopy = await _host.Manager.CreateAsync(new BomTriggerDefinition { Name = "Recalculate cost after BOM update", TriggerEvent = BomTriggerEvents.BomUpdate, ActionType = BomTriggerActions.CalculateCost });
        (copy.Errors.Count, afterCopy.Errors.Count).Should().Be((0, 0));
        var report = await _host.Engine.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.TaskCreate, 77, 1,
            new JsonObject { ["taskTypeCode"] = "LAN", ["title"] = "cable pull", ["tags"] = new JsonArray(), ["status"] = "open" }));
        report.OfKind(TriggerOutcomeKind.Executed).Select(o => o.TriggerName).Should().Equal(
            "LAN cable, nested groups", "Copy BOM after material add", "Recalculate cost after material add", "Recalculate cost after BOM update");

        await page.ClickAsync("#nav-runs");
        var run = page.Locator("#runs-table tbody tr", new PageLocatorOptions { HasText = "LAN cable, nested groups" });
        await Expect(run).ToHaveCountAsync(1);
        await Expect(run).ToContainTextAsync("Executed");
        await ScreenshotAsync(page, "runs");
        await run.ClickAsync();
        await Expect(page.Locator("#correlation")).ToHaveTextAsync(report.CorrelationId.ToString());
        // The run opens as the chain's tree: each run nested under the run whose action raised its event.
        var tree = page.Locator("#chain-tree");
        ILocator Node(ILocator scope, int triggerId) => scope.Locator($".run-node[data-trigger-id='{triggerId}']");
        var a = Node(tree, saved.Id);
        var b = Node(a, copy.Trigger!.Id);
        await Expect(a).ToHaveAttributeAsync("data-depth", "0");
        await Expect(a.Locator(":scope > .node")).ToContainTextAsync("LAN cable, nested groups");
        await Expect(b).ToHaveCountAsync(1);
        await Expect(Node(a, chained.Trigger!.Id)).ToHaveCountAsync(1);
        await Expect(Node(b, afterCopy.Trigger!.Id)).ToHaveCountAsync(1);
        await Expect(Node(b, afterCopy.Trigger!.Id).Locator(":scope > .node")).ToContainTextAsync("Recalculate cost after BOM update");
        await Expect(Node(b, chained.Trigger!.Id)).ToHaveCountAsync(0);
        await Expect(a.Locator($":scope > ul > .run-node[data-trigger-id='{afterCopy.Trigger!.Id}']")).ToHaveCountAsync(0);
        await ScreenshotAsync(page, "chain");

        await page.ClickAsync("#nav-triggers");
        var row = page.Locator("#triggers-table tbody tr", new PageLocatorOptions { HasText = "LAN cable, nested groups" });
        await Expect(row.Locator(".counts")).ToContainTextAsync("1 / 0 / 0 / 0");
        await Expect(row.Locator(".condition-words")).ToContainTextAsync("title contains \"cable\"");
        await ScreenshotAsync(page, "triggers");

        // The queue: a queued trigger whose action fails is dead-lettered after its single attempt; discard it from the UI.
        var queued = await _host.Manager.CreateAsync(new BomTriggerDefinition
        {
            Name = "Queued add that fails",
            TriggerEvent = BomTriggerEvents.StatusChange,
            ActionType = BomTriggerActions.AddMaterial,
            ActionConfig = JsonDocument.Parse("""{"materialName":"explode","defaultQuantity":1}""").RootElement,
            Execution = new BomTriggerExecution { Mode = TriggerExecutionMode.Queued, MaxAttempts = 1 },
        });
        queued.Errors.Should().BeEmpty();
        await _host.Engine.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.StatusChange, 78, 1, new JsonObject { ["status"] = "completed" }));
        await WaitForDeadJobAsync();
        await page.ClickAsync("#nav-queue");
        await page.SelectOptionAsync("#queue-state", "dead");
        var dead = page.Locator("#jobs-table tbody tr", new PageLocatorOptions { HasText = "Queued add that fails" });
        await Expect(dead.Locator(".state")).ToHaveTextAsync("Dead");
        await Expect(page.Locator("#queue-counts")).ToContainTextAsync("dead-lettered 1");
        await ScreenshotAsync(page, "queue");
        await dead.Locator(".discard").ClickAsync();
        await Expect(page.Locator("#jobs-table tbody")).ToContainTextAsync("No jobs.");
        await page.SelectOptionAsync("#queue-state", "discarded");
        await Expect(page.Locator("#jobs-table tbody tr .state")).ToHaveTextAsync("Discarded");

        _pageErrors.Should().BeEmpty();
    }

    private async Task WaitForDeadJobAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while ((await _host.Jobs.GetCountsAsync(timeout.Token)).Dead == 0)
        {
            await Task.Delay(50, timeout.Token);
        }
    }

    [Fact]
    public async Task ValidationError_IsShownAtTheControlItPointsTo()
    {
        var page = await OpenAsync("admin", "#/builder/new");
        await page.FillAsync("#name", "typed wrong");
        await Expect(page.Locator("#previous-label")).ToBeHiddenAsync();
        await page.SelectOptionAsync("#event", "ON_QUANTITY_CHANGE");
        await Expect(page.Locator("#previous-label")).ToBeVisibleAsync();
        var root = page.Locator("#builder > .group");
        await root.Locator(":scope > .group-head .add-clause").ClickAsync();
        await root.Locator(":scope > .group-head .add-clause").ClickAsync();
        await Clause(root, 0).Locator(".field").SelectOptionAsync("taskTypeCode");
        await Clause(root, 0).Locator(".value").FillAsync("LAN");
        var quantity = Clause(root, 1);
        await quantity.Locator(".field").SelectOptionAsync("quantity");
        await quantity.Locator(".op").SelectOptionAsync("$gt");
        await quantity.Locator(".value").FillAsync("ten");
        await page.SelectOptionAsync("#action", "CALCULATE_COST");

        // Validation as you type: the server's /triggerCondition/quantity/$gt error lands on that clause's value input.
        var value = quantity.Locator(".value");
        await Expect(value).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(quantity.Locator(".error-text")).ToContainTextAsync("expected a number");
        var describedBy = await value.GetAttributeAsync("aria-describedby");
        await Expect(page.Locator("#" + describedBy)).ToContainTextAsync("expected a number");
        await Expect(Clause(root, 0).Locator(".value")).Not.ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Locator("#general-errors li")).ToHaveCountAsync(0);

        // Saving is refused and nothing is stored; fixing the value clears the error.
        await page.ClickAsync("#save");
        await Expect(value).ToHaveAttributeAsync("aria-invalid", "true");
        (await _host.Manager.ListAsync()).Should().BeEmpty();
        await value.FillAsync("10");
        await Expect(value).Not.ToHaveAttributeAsync("aria-invalid", "true");

        // Action config errors land on the generated form's field (/actionConfig/materialName).
        await page.SelectOptionAsync("#action", "ADD_MATERIAL");
        await Expect(page.Locator("#config-materialName")).ToHaveAttributeAsync("aria-invalid", "true");
        await page.FillAsync("#config-materialName", "Kabel");
        await page.FillAsync("#config-defaultQuantity", "5");
        await Expect(page.Locator("#config-materialName")).Not.ToHaveAttributeAsync("aria-invalid", "true");

        // The JSON side: a typed error there also round-trips into the builder and its control.
        await page.FillAsync("#condition-json", """{"quantity":{"$lte":"many"}}""");
        await Expect(Clause(root, 0).Locator(".op")).ToHaveValueAsync("$lte");
        await Expect(Clause(root, 0).Locator(".value")).ToHaveAttributeAsync("aria-invalid", "true");
        await page.FillAsync("#condition-json", "{\"quantity\": ");
        await Expect(page.Locator("#json-error")).ToContainTextAsync("Not valid JSON");
        _pageErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task Viewer_GetsReadOnlyUi_AndTheApiRefusesChanges()
    {
        var trigger = (await _host.Manager.CreateAsync(new BomTriggerDefinition { Name = "Look, don't touch", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.CalculateCost })).Trigger!;
        var page = await OpenAsync("bom_editor", "#/triggers");

        await Expect(page.Locator("#mode")).ToHaveTextAsync("read-only");
        await Expect(page.Locator("#nav-builder")).ToBeHiddenAsync();
        var toggle = page.Locator("#triggers-table tbody tr", new PageLocatorOptions { HasText = "Look, don't touch" }).Locator(".toggle");
        await Expect(toggle).ToBeDisabledAsync();

        await page.ClickAsync("text=Look, don't touch");
        await Expect(page.Locator("#name")).ToBeDisabledAsync();
        await Expect(page.Locator("#save")).ToBeHiddenAsync();
        await Expect(page.Locator("#delete")).ToHaveCountAsync(0);
        await Expect(page.Locator("#builder .add-clause")).ToHaveCountAsync(0);
        await Expect(page.Locator("#condition-json")).ToBeDisabledAsync();
        // A dry run changes nothing, so a viewer may run one.
        await page.ClickAsync("#dry-run");
        await Expect(page.Locator("#verdict")).ToHaveTextAsync("Would fire: runs CALCULATE_COST");

        // Going around the UI with the page's own valid antiforgery token: refused with 403.
        var statuses = await page.EvaluateAsync<int[]>($$"""
            async () => {
              const meta = await (await fetch('api/meta')).json();
              const headers = { [meta.antiforgery.headerName]: meta.antiforgery.token, 'Content-Type': 'application/json' };
              const body = JSON.stringify({ name: 'x', triggerEvent: 'ON_TASK_CREATE', actionType: 'CALCULATE_COST' });
              return Promise.all([
                fetch('api/triggers/{{trigger.Id}}/toggle', { method: 'POST', headers }),
                fetch('api/triggers/{{trigger.Id}}', { method: 'PUT', headers, body }),
                fetch('api/triggers/{{trigger.Id}}', { method: 'DELETE', headers }),
                fetch('api/triggers', { method: 'POST', headers, body }),
              ].map(p => p.then(r => r.status)));
            }
            """);
        statuses.Should().Equal(403, 403, 403, 403);
        var after = await _host.Manager.GetAsync(trigger.Id);
        (after!.Version, after.IsActive, after.Name).Should().Be((1, true, "Look, don't touch"));
        (await _host.Manager.ListAsync()).Should().ContainSingle();
        _pageErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task Builder_KeyboardOnly_BuildsReordersAndSaves()
    {
        var page = await OpenAsync("admin", "#/builder/new");

        await TabToAsync(page, "#name");
        await page.Keyboard.TypeAsync("Keyboard trigger");
        await TabToAsync(page, "#event");
        await page.Keyboard.TypeAsync("ON_STATUS");
        await Expect(page.Locator("#event")).ToHaveValueAsync("ON_STATUS_CHANGE");

        // + Condition on the root: focus lands on the new clause's field.
        await TabToAsync(page, "#builder > .group > .group-head .add-clause");
        await page.Keyboard.PressAsync("Enter");
        await ExpectFocusedAsync(page, ".clause .field");
        await page.Keyboard.TypeAsync("status");
        await page.Keyboard.PressAsync("Tab");
        await ExpectFocusedAsync(page, ".clause .op");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync("completed");

        // + Group: focus lands on its type ($any); add a clause inside it.
        await TabToAsync(page, "#builder > .group > .group-head .add-group");
        await page.Keyboard.PressAsync("Enter");
        await ExpectFocusedAsync(page, ".group .group .group-op");
        await page.Keyboard.PressAsync("Tab");
        await ExpectFocusedAsync(page, ".group .group .add-clause");
        await page.Keyboard.PressAsync("Enter");
        await page.Keyboard.TypeAsync("taskTypeC");
        await Expect(page.Locator(".group .group .clause .field")).ToHaveValueAsync("taskTypeCode");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync("LAN");

        // Move the status clause below the group with its "move down" button, then pick the action, then save: all keys.
        await TabToAsync(page, "#builder > .group > .children > .clause .down");
        await page.Keyboard.PressAsync("Enter");
        await ExpectFocusedAsync(page, "#builder > .group > .children > .clause .down");
        await TabToAsync(page, "#action");
        await page.Keyboard.TypeAsync("CALC");
        await Expect(page.Locator("#action")).ToHaveValueAsync("CALCULATE_COST");
        var expected = JsonNode.Parse("""{"$all":[{"$any":[{"taskTypeCode":"LAN"}]},{"status":"completed"}]}""")!;
        await Expect(page.Locator("#condition-json")).ToHaveValueAsync(expected.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        await TabToAsync(page, "#save");
        await page.Keyboard.PressAsync("Enter");

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/builder/\\d+$"));
        var saved = (await _host.Manager.ListAsync()).Single();
        (saved.Name, saved.TriggerEvent, saved.ActionType).Should().Be(("Keyboard trigger", "ON_STATUS_CHANGE", "CALCULATE_COST"));
        JsonNode.DeepEquals(JsonNode.Parse(saved.TriggerCondition.GetRawText()), expected).Should().BeTrue(saved.TriggerCondition.GetRawText());
        _pageErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task Builder_CustomEventFields_AndDragIntoAGroup()
    {
        await DisposeHostAndRestartAsync(b => b.AddEventType("ON_PO_RECEIVED", "A purchase order was received.")
            .AddEventField("ON_PO_RECEIVED", "supplier", BomFieldType.String, "The supplier.")
            .AddEventField("ON_PO_RECEIVED", "lines", BomFieldType.Number, "How many lines."));
        var page = await OpenAsync("admin", "#/builder/new");
        await page.SelectOptionAsync("#event", "ON_PO_RECEIVED");
        var root = page.Locator("#builder > .group");
        await root.Locator(":scope > .group-head .add-clause").ClickAsync();
        var fields = await Clause(root, 0).Locator(".field option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)");
        fields.Should().Equal("taskId", "taskTypeId", "supplier", "lines");
        await Clause(root, 0).Locator(".field").SelectOptionAsync("lines");
        var numberOperators = await Clause(root, 0).Locator(".op option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)");
        numberOperators.Should().Contain("$gt").And.NotContain("$contains").And.NotContain("$changed", "the event carries no previous values");
        await Clause(root, 0).Locator(".op").SelectOptionAsync("$gte");
        await Clause(root, 0).Locator(".value").FillAsync("3");
        await root.Locator(":scope > .group-head .add-group").ClickAsync();

        // Drag the clause by its handle into the group.
        await Clause(root, 0).Locator(".drag").DragToAsync(Group(root, 0).Locator(":scope > .children"));

        await Expect(Clause(Group(root, 0), 0).Locator(".field")).ToHaveValueAsync("lines");
        var expected = JsonNode.Parse("""{"$all":[{"$any":[{"lines":{"$gte":3}}]}]}""")!;
        await Expect(page.Locator("#condition-json")).ToHaveValueAsync(expected.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        _pageErrors.Should().BeEmpty();
    }

    private async Task DisposeHostAndRestartAsync(Action<BomTriggersBuilder> configure)
    {
        await _host.DisposeAsync();
        _host = await DashboardHost.StartAsync(configure);
    }

    /// <summary>Presses Tab (only Tab) until the focused element matches <paramref name="selector"/>.</summary>
    private static async Task TabToAsync(IPage page, string selector)
    {
        for (var i = 0; i < 120; i++)
        {
            if (await page.EvaluateAsync<bool>("s => !!document.activeElement && document.activeElement.matches(s)", selector))
            {
                return;
            }

            await page.Keyboard.PressAsync("Tab");
        }

        throw new InvalidOperationException($"Tab never reached {selector}: it is not keyboard-reachable.");
    }

    private static async Task ExpectFocusedAsync(IPage page, string selector) =>
        await Expect(page.Locator(selector).Last).ToBeFocusedAsync();
}
