using Dermag.BomTriggers.Tests.TestSupport;

namespace Dermag.BomTriggers.Tests.Storage;

/// <summary>The run summaries behind the dashboard's trigger list (last run, counts in a window), and the dry run's chain.</summary>
public abstract partial class TriggerStoreContract
{
    private async Task<int> CreateSimpleAsync(string name, string triggerEvent = BomTriggerEvents.TaskCreate, string action = BomTriggerActions.CalculateCost, string config = "{}")
    {
        var result = await Store.CreateAsync(new BomTriggerDefinition
        {
            Name = name,
            TriggerEvent = triggerEvent,
            ActionType = action,
            ActionConfig = Json.Parse(config),
        });
        result.Errors.Should().BeEmpty();
        return result.Trigger!.Id;
    }

    private static NewTriggerLog Log(int triggerId, DateTimeOffset at, string outcome) =>
        new(triggerId, null, at, outcome == "Executed", null, null, outcome == "Executed" ? null : "boom", outcome, 1.5, Guid.NewGuid(), 0);

    [Fact]
    public async Task GetRunSummariesAsync_CountsOutcomesInWindow_LastRunEvenBeforeIt_InRequestedOrder()
    {
        var busy = await CreateSimpleAsync("busy");
        var idle = await CreateSimpleAsync("idle");
        var old = await CreateSimpleAsync("old");
        var now = Context.Time.GetUtcNow();
        var since = now.AddHours(-24);
        await Context.Repository.WriteLogsAsync(
            [
                Log(busy, now.AddHours(-1), "Executed"),
                Log(busy, now.AddHours(-2), "Executed"),
                Log(busy, now.AddMinutes(-5), "Failed"),
                Log(busy, now.AddHours(-3), "SuppressedLoop"),
                Log(busy, since, "Executed"), // the window start is inclusive
                Log(busy, since.AddTicks(-10), "Failed"), // just outside
                Log(old, now.AddDays(-3), "Failed"),
            ],
            null,
            CancellationToken.None);

        var summaries = await Store.GetRunSummariesAsync([old, idle, busy, busy], since);

        summaries.Select(s => s.TriggerId).Should().Equal(old, idle, busy);
        summaries[0].Should().Be(new BomTriggerRunSummary(old, summaries[0].LastRunAt, "Failed", 0, 0, 0));
        summaries[0].LastRunAt.Should().BeCloseTo(now.AddDays(-3), TimeSpan.FromMilliseconds(1));
        summaries[1].Should().Be(new BomTriggerRunSummary(idle, null, null, 0, 0, 0));
        summaries[2].LastOutcome.Should().Be("Failed");
        summaries[2].LastRunAt.Should().BeCloseTo(now.AddMinutes(-5), TimeSpan.FromMilliseconds(1));
        (summaries[2].Executed, summaries[2].Failed, summaries[2].SuppressedLoop).Should().Be((3L, 1L, 1L));
    }

    [Fact]
    public async Task GetRunSummariesAsync_NoIds_Empty_MoreThan1000_Refused()
    {
        (await Store.GetRunSummariesAsync([], Context.Time.GetUtcNow())).Should().BeEmpty();
        var tooMany = () => Store.GetRunSummariesAsync(Enumerable.Range(1, 1001).ToArray(), Context.Time.GetUtcNow());
        await tooMany.Should().ThrowAsync<ArgumentException>().WithMessage("*1000*");
    }

    [Fact]
    public async Task TestAsync_ActionRaisesEvents_ListsActiveTriggersItCouldSetOff_Transitively_WithoutRunningThem()
    {
        // ADD_MATERIAL raises ON_MATERIAL_ADD; a COPY_BOM there raises ON_BOM_UPDATE; an inactive listener is left out.
        var onMaterial = await CreateSimpleAsync("copy on material", BomTriggerEvents.MaterialAdd, BomTriggerActions.CopyBom, """{"fromTaskTypeId":3}""");
        var onBom = await CreateSimpleAsync("cost on bom", BomTriggerEvents.BomUpdate);
        var inactive = await CreateSimpleAsync("inactive on material", BomTriggerEvents.MaterialAdd);
        await Store.ToggleAsync(inactive);
        await Context.RefreshSnapshotAsync();
        var definition = new BomTriggerDefinition
        {
            Name = "add cable",
            TriggerEvent = BomTriggerEvents.TaskCreate,
            ActionType = BomTriggerActions.AddMaterial,
            ActionConfig = Json.Parse("""{"materialName":"Kabel","defaultQuantity":1,"unit":"m"}"""),
        }.WithCondition("""{"taskTypeCode":"LAN"}""");

        var fires = await Context.Engine.TestAsync(definition, new TriggerTestRequest(Json.Parse("""{"taskTypeCode":"LAN"}""")));
        var silent = await Context.Engine.TestAsync(definition, new TriggerTestRequest(Json.Parse("""{"taskTypeCode":"WAN"}""")));

        fires.WouldExecute.Should().BeTrue(string.Join("\n", fires.Explanation));
        fires.ChainedTriggers.Select(c => (c.Depth, c.EventType, c.CausedByTriggerId, c.TriggerId)).Should().Equal(
            (1, BomTriggerEvents.MaterialAdd, (int?)null, onMaterial),
            (2, BomTriggerEvents.BomUpdate, (int?)onMaterial, onBom));
        fires.Explanation[^1].Should().Contain("copy on material");
        silent.ChainedTriggers.Should().BeEmpty();
        (await Store.QueryLogsAsync(new BomTriggerLogQuery())).Total.Should().Be(0, "a dry run executes and logs nothing");
    }

    [Fact]
    public async Task QueryLogsAsync_WithoutCount_SaysWhetherMoreFollow_SamePagesAsCounted()
    {
        var id = await CreateSimpleAsync("paged");
        var now = Context.Time.GetUtcNow();
        await Context.Repository.WriteLogsAsync([.. Enumerable.Range(0, 7).Select(i => Log(id, now.AddMinutes(-i), "Executed"))], null, CancellationToken.None);

        var first = await Store.QueryLogsAsync(new BomTriggerLogQuery { Limit = 3, CountTotal = false });
        var last = await Store.QueryLogsAsync(new BomTriggerLogQuery { Limit = 3, Offset = 6, CountTotal = false });
        var counted = await Store.QueryLogsAsync(new BomTriggerLogQuery { Limit = 3 });

        (first.Total, first.IsTotalExact, first.Items.Count).Should().Be((4L, false, 3), "3 rows and at least one more");
        first.Items.Select(l => l.Id).Should().Equal(counted.Items.Select(l => l.Id));
        (last.Total, last.Items.Count).Should().Be((7L, 1), "the last page: nothing follows");
        (counted.Total, counted.IsTotalExact).Should().Be((7L, true));
    }
}
