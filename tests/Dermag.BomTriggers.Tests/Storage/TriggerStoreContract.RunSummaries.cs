using Dermag.BomTriggers.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

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
        summaries[0].Should().Be(new BomTriggerRunSummary { TriggerId = old, LastRunAt = summaries[0].LastRunAt, LastOutcome = "Failed" });
        summaries[0].LastRunAt.Should().BeCloseTo(now.AddDays(-3), TimeSpan.FromMilliseconds(1));
        summaries[1].Should().Be(new BomTriggerRunSummary { TriggerId = idle });
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

    /// <summary>A second app instance on the same store (the same database schema, or the same in-memory store).</summary>
    protected abstract Task<TriggerTestContext> CreateSecondInstanceAsync();

    private static Task FlushEventCountsAsync(TriggerTestContext context) =>
        context.Services.GetRequiredService<DispatchedEventCounter>().FlushAsync(CancellationToken.None);

    private async Task<int> CreateLanCostAsync(string name, TriggerExecutionMode mode = TriggerExecutionMode.Inline)
    {
        var result = await Store.CreateAsync(new BomTriggerDefinition
        {
            Name = name,
            TriggerEvent = BomTriggerEvents.TaskCreate,
            ActionType = BomTriggerActions.CalculateCost,
            Execution = new BomTriggerExecution { Mode = mode },
        }.WithCondition("""{"taskTypeCode":"LAN"}"""));
        result.Errors.Should().BeEmpty();
        return result.Trigger!.Id;
    }

    private static Task DispatchAsync(TriggerTestContext context, string code, int taskId = 1) =>
        context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, taskId, 1, $$"""{"taskTypeCode":"{{code}}"}"""));

    [Fact]
    public async Task GetRunSummariesAsync_ConditionFalse_IsEventsOfItsTypeMinusItsRuns_IndexSkippedOnesIncluded()
    {
        var lan = await CreateLanCostAsync("cost for LAN");
        var other = await CreateSimpleAsync("cost on material", BomTriggerEvents.MaterialAdd);
        var inactive = await CreateLanCostAsync("inactive");
        await Store.ToggleAsync(inactive);
        await Context.RefreshSnapshotAsync();
        Context.Time.Advance(TimeSpan.FromMinutes(1));

        // 7 events, 2 match; the WAN ones never reach the condition (the rule index leaves the trigger out), still counted.
        foreach (var code in new[] { "LAN", "WAN", "WAN", "DSL", "LAN", "WAN", "FIBRE" })
        {
            await DispatchAsync(Context, code);
        }

        (await Store.GetRunSummariesAsync([lan], Context.Time.GetUtcNow().AddHours(-24))).Single().ConditionFalse.Should().Be(0, "nothing is flushed yet");
        await FlushEventCountsAsync(Context);
        var summaries = await Store.GetRunSummariesAsync([lan, other, inactive], Context.Time.GetUtcNow().AddHours(-24));

        (summaries[0].Executed, summaries[0].ConditionFalse).Should().Be((2L, 5L));
        summaries[1].ConditionFalse.Should().Be(0, "no event of its type was dispatched");
        summaries[2].ConditionFalse.Should().Be(0, "an inactive trigger sees no events");
    }

    [Fact]
    public async Task GetRunSummariesAsync_ConditionFalse_CountsAQueuedJobOnce_HoweverManyAttempts()
    {
        var queued = await CreateLanCostAsync("queued cost", TriggerExecutionMode.Queued);
        await Context.RefreshSnapshotAsync();
        await DispatchAsync(Context, "LAN");
        await DispatchAsync(Context, "WAN");
        await FlushEventCountsAsync(Context);
        var job = (await Context.Services.GetRequiredService<IBomTriggerJobManager>().QueryAsync(new BomTriggerJobQuery { TriggerId = queued })).Items.Single();
        var now = Context.Time.GetUtcNow();
        await Context.Repository.WriteLogsAsync(
            [
                new NewTriggerLog(queued, 1, now, false, null, null, "boom", "Failed", 1, job.CorrelationId, 0, job.Id, 1),
                new NewTriggerLog(queued, 1, now, true, null, null, null, "Executed", 1, job.CorrelationId, 0, job.Id, 2),
            ],
            null,
            CancellationToken.None);

        var summary = (await Store.GetRunSummariesAsync([queued], now.AddHours(-24))).Single();

        (summary.Executed, summary.Failed, summary.ConditionFalse).Should().Be((1L, 1L, 1L), "two events, one job (two attempts)");
    }

    [Fact]
    public async Task GetRunSummariesAsync_ConditionFalse_StartsAtTheTriggersLastChange()
    {
        var lan = await CreateLanCostAsync("edited");
        await Context.RefreshSnapshotAsync();
        await DispatchAsync(Context, "WAN");
        await DispatchAsync(Context, "WAN");
        await DispatchAsync(Context, "LAN");
        await FlushEventCountsAsync(Context);
        Context.Time.Advance(TimeSpan.FromMinutes(2));

        var definition = new BomTriggerDefinition { Name = "edited", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.CalculateCost, Priority = 3 }
            .WithCondition("""{"taskTypeCode":"LAN"}""");
        (await Store.UpdateAsync(lan, definition)).Errors.Should().BeEmpty();
        await Context.RefreshSnapshotAsync();
        await DispatchAsync(Context, "DSL");
        await DispatchAsync(Context, "LAN");
        await FlushEventCountsAsync(Context);

        var summary = (await Store.GetRunSummariesAsync([lan], Context.Time.GetUtcNow().AddHours(-24))).Single();

        (summary.Executed, summary.ConditionFalse).Should().Be((2L, 1L), "only the DSL event after the edit counts; both runs are in the 24 h counts");
    }

    [Fact]
    public async Task GetRunSummariesAsync_ConditionFalse_TwoInstancesAddUp_AndDisposingAnInstanceFlushesIt()
    {
        var lan = await CreateLanCostAsync("shared");
        Context.Time.Advance(TimeSpan.FromMinutes(1));
        await using (var second = await CreateSecondInstanceAsync())
        {
            second.Time.SetUtcNow(Context.Time.GetUtcNow());
            await Context.RefreshSnapshotAsync();
            await second.RefreshSnapshotAsync();

            // Both instances count into the same minute, and each flushes its own counts.
            await DispatchAsync(Context, "WAN");
            await DispatchAsync(second, "WAN", taskId: 2);
            await DispatchAsync(second, "LAN", taskId: 2);
            await FlushEventCountsAsync(Context);
            await FlushEventCountsAsync(second);
            (await Store.GetRunSummariesAsync([lan], Context.Time.GetUtcNow().AddHours(-24))).Single().ConditionFalse.Should().Be(2);

            // Counted but not flushed when the instance stops: its container's disposal writes them.
            await DispatchAsync(second, "DSL", taskId: 3);
            await DispatchAsync(second, "DSL", taskId: 4);
        }

        var summary = (await Store.GetRunSummariesAsync([lan], Context.Time.GetUtcNow().AddHours(-24))).Single();
        (summary.Executed, summary.ConditionFalse).Should().Be((1L, 4L));
    }

    [Fact]
    public async Task CleanupAsync_DeletesEventCountsWithTheLogs()
    {
        var lan = await CreateLanCostAsync("old counts");
        await Context.RefreshSnapshotAsync();
        await DispatchAsync(Context, "WAN");
        await FlushEventCountsAsync(Context);
        (await Context.Repository.DeleteEventCountsAsync(Context.Time.GetUtcNow().AddMinutes(-1), CancellationToken.None)).Should().Be(0);

        (await Context.Repository.DeleteEventCountsAsync(Context.Time.GetUtcNow().AddMinutes(1), CancellationToken.None)).Should().Be(1);
        (await Store.GetRunSummariesAsync([lan], Context.Time.GetUtcNow().AddHours(-24))).Single().ConditionFalse.Should().Be(0);
    }

    [Fact]
    public async Task DispatchAsync_ChainedRuns_RecordTheTriggerThatCausedTheirEvent()
    {
        // A adds a material (MATERIAL_ADD) -> B copies a BOM (BOM_UPDATE) and C recalculates; B's BOM_UPDATE -> D.
        var a = await CreateSimpleAsync("A", BomTriggerEvents.TaskCreate, BomTriggerActions.AddMaterial, """{"materialName":"Kabel","defaultQuantity":1,"unit":"m"}""");
        var b = await CreateSimpleAsync("B", BomTriggerEvents.MaterialAdd, BomTriggerActions.CopyBom, """{"fromTaskTypeId":3}""");
        var c = await CreateSimpleAsync("C", BomTriggerEvents.MaterialAdd);
        var d = await CreateSimpleAsync("D", BomTriggerEvents.BomUpdate);
        await Context.RefreshSnapshotAsync();

        var report = await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 5, 1, "{}"));

        var logs = (await Store.QueryLogsAsync(new BomTriggerLogQuery { CorrelationId = report.CorrelationId })).Items;
        logs.Select(l => (l.TriggerId, l.Depth, l.CausedByTriggerId)).Should().BeEquivalentTo(
            [(a, 0, (int?)null), (b, 1, (int?)a), (c, 1, (int?)a), (d, 2, (int?)b)]);
    }

    [Fact]
    public async Task RunJobAsync_QueuedLinkOfAChain_CarriesTheCausingTrigger_ToItsRowsAndTheRowsItCauses()
    {
        var a = await CreateSimpleAsync("A", BomTriggerEvents.TaskCreate, BomTriggerActions.AddMaterial, """{"materialName":"Kabel","defaultQuantity":1,"unit":"m"}""");
        var b = (await Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "B queued",
            TriggerEvent = BomTriggerEvents.MaterialAdd,
            ActionType = BomTriggerActions.CopyBom,
            ActionConfig = Json.Parse("""{"fromTaskTypeId":3}"""),
            Execution = new BomTriggerExecution { Mode = TriggerExecutionMode.Queued },
        })).Trigger!.Id;
        var d = await CreateSimpleAsync("D", BomTriggerEvents.BomUpdate);
        await Context.RefreshSnapshotAsync();

        var report = await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 5, 1, "{}"));
        var jobs = Context.Services.GetRequiredService<IBomTriggerJobStore>();
        var claimed = await jobs.ClaimAsync("worker", 10, Context.Time.GetUtcNow(), TimeSpan.FromMinutes(1), CancellationToken.None);
        claimed.Should().ContainSingle().Which.CausedByTriggerId.Should().Be(a);
        await Context.Services.GetRequiredService<BomTriggerEngine>().RunJobAsync(claimed[0], "worker", CancellationToken.None);

        var logs = (await Store.QueryLogsAsync(new BomTriggerLogQuery { CorrelationId = report.CorrelationId })).Items;
        logs.Select(l => (l.TriggerId, l.Depth, l.CausedByTriggerId)).Should().BeEquivalentTo(
            [(a, 0, (int?)null), (b, 1, (int?)a), (d, 2, (int?)b)]);
    }
}
