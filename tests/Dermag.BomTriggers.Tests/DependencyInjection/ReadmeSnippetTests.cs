using System.Text.Json;
using System.Text.Json.Nodes;
using Dermag.BomTriggers.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dermag.BomTriggers.Tests.DependencyInjection;

/// <summary>The README usage snippet, kept compiling and passing.</summary>
public class ReadmeSnippetTests
{
    [Fact]
    public async Task ReadmeSnippet_RegistersDispatchesAndReports()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var myBom = new FakeHost();

        // --- README snippet start ---
        builder.Services.AddSingleton<IBomEditor>(myBom);              // the host's BOM operations
        builder.Services.AddSingleton<IBomCostCalculator>(myBom);
        builder.Services.AddSingleton<IBomNotificationSender>(myBom);
        builder.Services.AddBomTriggers(o => o.ActionTimeout = TimeSpan.FromSeconds(5))
            .UseInMemoryStore()                                        // or .UsePostgres(connectionString, o => o.Schema = "bom")
            .AddExampleTriggers();                                     // the original's three seed triggers, inserted at the start

        using var host = builder.Build();
        await host.StartAsync();                                       // migrations, snapshot, example triggers
        var store = host.Services.GetRequiredService<IBomTriggerManager>();
        var engine = host.Services.GetRequiredService<IBomTriggerEngine>();

        var saved = await store.CreateAsync(new BomTriggerDefinition
        {
            Name = "Big cable orders need a manager",
            TriggerEvent = BomTriggerEvents.MaterialAdd,
            TriggerCondition = JsonElement.Parse("""{"material.category":"network","quantity":{"$gt":500}}"""),
            ActionType = BomTriggerActions.Notify,
            ActionConfig = JsonElement.Parse("""{"message":"Large cable order","recipients":["manager"]}"""),
        });
        // saved.Errors lists every problem as "/triggerCondition/quantity/$gt: expected a number" when invalid.

        var report = await engine.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.MaterialAdd, taskId: 42, taskTypeId: 3,
            new JsonObject { ["quantity"] = 800, ["material"] = new JsonObject { ["category"] = "network" } }));
        foreach (var outcome in report.Outcomes)
        {
            // Big cable orders need a manager: Executed; Recalculate cost after material add: Executed (an example trigger)
            Console.WriteLine($"{outcome.TriggerName}: {outcome.Kind} {outcome.Error ?? outcome.FailedClause?.ToString()}");
        }
        // --- README snippet end ---

        saved.Succeeded.Should().BeTrue();
        (await store.ListAsync()).Should().HaveCount(4, "the three example triggers and the new one");
        report.Outcomes.Select(o => (o.TriggerName, o.Kind)).Should().Equal(
            ("Big cable orders need a manager", TriggerOutcomeKind.Executed), ("Recalculate cost after material add", TriggerOutcomeKind.Executed));
        myBom.Calls.Should().Equal("notify:42:Large cable order:manager", "cost:42");
        await host.StopAsync();
    }

    [Fact]
    public async Task ReadmeHistorySnippet_RecordsEveryChangeAndRestores()
    {
        await using var context = await TriggerTestContext.CreateAsync(b => b.UseInMemoryStore());
        var manager = context.Store;
        var userId = 42;
        var definition = new BomTriggerDefinition { Name = "Recalculate", TriggerEvent = BomTriggerEvents.MaterialAdd, ActionType = BomTriggerActions.CalculateCost };

        // --- README snippet start ---
        var trigger = (await manager.CreateAsync(definition, changedBy: userId)).Trigger!;                                    // version 1
        await manager.UpdateAsync(trigger.Id, BomTriggerDefinition.From(trigger) with { Priority = 20 }, changedBy: userId); // version 2
        await manager.DeleteAsync(trigger.Id, changedBy: userId);                                                           // version 3

        var history = await manager.GetHistoryAsync(trigger.Id); // newest first: Deleted 3, Updated 2, Created 1, each with Definition and Previous
        var restored = await manager.RestoreAsync(trigger.Id, version: 1, changedBy: userId);
        // restored.Trigger is live again as version 4 (Restored, RestoredFromVersion 1). When version 1 is no longer valid
        // (say its action is no longer registered), restored.Errors lists every problem, as a create would, and nothing changes.
        // --- README snippet end ---

        history.Items.Select(v => (v.Version, v.Change, v.ChangedBy)).Should().Equal(
            (3, BomTriggerChange.Deleted, 42), (2, BomTriggerChange.Updated, 42), (1, BomTriggerChange.Created, 42));
        (history.Items[1].Previous!.Priority, history.Items[1].Definition.Priority).Should().Be((10, 20));
        (restored.Trigger!.Version, restored.Trigger.Priority, restored.Trigger.DeletedAt).Should().Be((4, 10, (DateTimeOffset?)null));
        (await manager.GetHistoryAsync(trigger.Id)).Items[0].RestoredFromVersion.Should().Be(1);
    }
}
