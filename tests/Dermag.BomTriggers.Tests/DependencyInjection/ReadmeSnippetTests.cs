using System.Text.Json.Nodes;
using Dermag.BomTriggers.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers.Tests.DependencyInjection;

/// <summary>The README usage snippet, kept compiling and passing.</summary>
public class ReadmeSnippetTests
{
    [Fact]
    public async Task ReadmeSnippet_RegistersDispatchesAndReports()
    {
        var services = new ServiceCollection();
        var myBom = new FakeHost();

        // --- README snippet start ---
        services.AddSingleton<IBomEditor>(myBom);              // the host's BOM operations
        services.AddSingleton<IBomCostCalculator>(myBom);
        services.AddSingleton<IBomNotificationSender>(myBom);
        services.AddBomTriggers(o => o.ActionTimeout = TimeSpan.FromSeconds(5))
            .UseInMemoryStore()                                // or .UsePostgres(connectionString, o => o.Schema = "bom")
            .AddExampleTriggers();                             // the original's three seed triggers, inserted when the host starts

        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IBomTriggerManager>();
        var engine = provider.GetRequiredService<IBomTriggerEngine>();

        var saved = await store.CreateAsync(new BomTriggerDefinition
        {
            Name = "Big cable orders need a manager",
            TriggerEvent = BomTriggerEvents.MaterialAdd,
            TriggerCondition = Json.Parse("""{"material.category":"network","quantity":{"$gt":500}}"""),
            ActionType = BomTriggerActions.Notify,
            ActionConfig = Json.Parse("""{"message":"Large cable order","recipients":["manager"]}"""),
        });
        // saved.Errors lists every problem as "/triggerCondition/quantity/$gt: expected a number" when invalid.

        var report = await engine.DispatchAsync(BomTriggerEvent.Create(BomTriggerEvents.MaterialAdd, taskId: 42, taskTypeId: 3,
            new JsonObject { ["quantity"] = 800, ["material"] = new JsonObject { ["category"] = "network" } }));
        foreach (var outcome in report.Outcomes)
        {
            Console.WriteLine($"{outcome.TriggerName}: {outcome.Kind} {outcome.Error ?? outcome.FailedClause?.ToString()}");
        }
        // --- README snippet end ---

        saved.Succeeded.Should().BeTrue();
        report.Outcomes.Select(o => o.Kind).Should().Equal(TriggerOutcomeKind.Executed);
        myBom.Calls.Should().Equal("notify:42:Large cable order:manager");
    }
}
