using System.Diagnostics.Metrics;
using System.Text.Json;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers.Tests.Engine;

/// <summary>Engine behaviour that must hold on every store.</summary>
public abstract class TriggerEngineContract : IAsyncLifetime
{
    private TriggerTestContext? _context;

    protected TriggerTestContext Context => _context!;

    protected IBomTriggerEngine Engine => Context.Engine;

    protected abstract void UseStore(BomTriggersBuilder builder);

    public async Task InitializeAsync() => _context = await TriggerTestContext.CreateAsync(UseStore, o => o.ActionTimeout = TimeSpan.FromSeconds(10));

    public async Task DisposeAsync() => await Context.DisposeAsync();

    private async Task<TriggerTestContext> OtherContextAsync(Action<BomTriggerOptions> configure, Action<BomTriggersBuilder>? more = null)
    {
        await Context.DisposeAsync();
        _context = await TriggerTestContext.CreateAsync(UseStore, configure, more);
        return _context;
    }

    [Fact]
    public async Task Dispatch_UnknownEventType_IsRefusedNamingTheKnownOnes_AndChangesNothing()
    {
        // A typo used to return an empty report: no trigger can listen to an event type a save would refuse.
        await Context.CreateAsync("cost", BomTriggerEvents.MaterialAdd, "{}", BomTriggerActions.CalculateCost, "{}");

        var act = () => Engine.DispatchAsync(Json.Event("ON_MATERIAL_ADDED", 1, 1, "{}"));

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should()
            .Contain("'ON_MATERIAL_ADDED' is not known").And.Contain(BomTriggerEvents.MaterialAdd).And.Contain("AddEventType")
            .And.NotContain(BomTriggerEvents.Schedule);
        Context.Host.Calls.Should().BeEmpty();
        (await Context.Store.QueryLogsAsync(new BomTriggerLogQuery())).Items.Should().BeEmpty();
    }

    [Fact]
    public async Task SeedTriggers_LanTaskCreated_AddsCableThenChainsCostRecalculation_AndLogsBoth()
    {
        await Context.InternalStore.SeedExampleTriggersAsync(default);
        var triggers = await Context.Store.ListAsync();
        var cable = triggers.Single(t => t.ActionType == BomTriggerActions.AddMaterial);
        var cost = triggers.Single(t => t.ActionType == BomTriggerActions.CalculateCost);

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 42, 3, """{"taskTypeCode":"LAN","title":"Office"}"""));

        report.Outcomes.Select(o => (o.TriggerId, o.Kind, o.Depth, o.EventType)).Should().Equal(
            (cable.Id, TriggerOutcomeKind.Executed, 0, BomTriggerEvents.TaskCreate),
            (cost.Id, TriggerOutcomeKind.Executed, 1, BomTriggerEvents.MaterialAdd));
        Context.Host.Calls.Should().Equal("add:42:Kabel UTP Cat6:100:m:network", "cost:42");

        var cableLog = (await Context.Store.GetLogsAsync(cable.Id)).Items.Should().ContainSingle().Subject;
        cableLog.Success.Should().BeTrue();
        cableLog.TaskId.Should().Be(42);
        cableLog.CorrelationId.Should().Be(report.CorrelationId);
        cableLog.Depth.Should().Be(0);
        cableLog.InputData!.Value.GetProperty("taskTypeCode").GetString().Should().Be("LAN");
        cableLog.ResultData!.Value.GetProperty("materialName").GetString().Should().Be("Kabel UTP Cat6");
        var costLog = (await Context.Store.GetLogsAsync(cost.Id)).Items.Should().ContainSingle().Subject;
        costLog.Depth.Should().Be(1);
        costLog.CorrelationId.Should().Be(report.CorrelationId);
        costLog.ResultData!.Value.GetProperty("totalCost").GetDecimal().Should().Be(123.45m);
    }

    [Fact]
    public async Task SeedTriggers_NonLanTask_IsExcludedByTheIndexAndRunsNothing()
    {
        await Context.InternalStore.SeedExampleTriggersAsync(default);

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 43, 3, """{"taskTypeCode":"CCTV"}"""));

        report.Outcomes.Should().BeEmpty();
        report.NotConsidered.Should().Be(1);
        Context.Host.Calls.Should().BeEmpty();
    }

    [Fact]
    public async Task Index_SeveralEqualityClauses_IndexesOnTheMostSelectivePathOnEveryStore()
    {
        // 20 task types x one "completed" trigger each. Indexed on taskTypeCode (20 values), a dispatch evaluates one
        // trigger; indexed on status (1 value), it would evaluate all 20. PostgreSQL's jsonb reorders the keys, so the
        // choice must not depend on the order the condition was written in.
        for (var i = 0; i < 20; i++)
        {
            await Context.CreateAsync($"type {i} done", BomTriggerEvents.StatusChange, $$"""{"taskTypeCode":"T{{i}}","status":"completed"}""",
                BomTriggerActions.Notify, """{"message":"done","recipients":["manager"]}""");
        }

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.StatusChange, 5, null, """{"taskTypeCode":"T7","status":"completed"}"""));

        report.Outcomes.Should().ContainSingle().Which.TriggerName.Should().Be("type 7 done");
        report.Outcomes[0].Kind.Should().Be(TriggerOutcomeKind.Executed);
        report.NotConsidered.Should().Be(19);
    }

    [Theory]
    [InlineData("Zürich", """{"taskTypeCode":"Zürich"}""")]
    [InlineData("LAN", """{"taskTypeCode":"\u004CAN"}""")]
    [InlineData("a\\b", """{"taskTypeCode":"a\\b"}""")]
    public async Task Index_KeyWithNonAsciiOrEscapes_FindsItsTriggers_AndAnUnindexedOneMergesInOrder(string code, string data)
    {
        // Event keys are looked up without allocating when they have no escapes; escaped ones take the other way.
        var keyed = await Context.CreateAsync("keyed", BomTriggerEvents.TaskCreate, JsonSerializer.Serialize(new { taskTypeCode = code }),
            BomTriggerActions.Notify, """{"message":"keyed","recipients":["a"]}""", priority: 1);
        var unkeyed = await Context.CreateAsync("unkeyed", BomTriggerEvents.TaskCreate, "{}",
            BomTriggerActions.Notify, """{"message":"unkeyed","recipients":["a"]}""", priority: 2);
        await Context.CreateAsync("other", BomTriggerEvents.TaskCreate, """{"taskTypeCode":"OTHER"}""",
            BomTriggerActions.Notify, """{"message":"other","recipients":["a"]}""", priority: 3);

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 4, null, data));

        report.Outcomes.Select(o => (o.TriggerId, o.Kind)).Should().Equal((unkeyed.Id, TriggerOutcomeKind.Executed), (keyed.Id, TriggerOutcomeKind.Executed));
        report.NotConsidered.Should().Be(1);
    }

    [Fact]
    public async Task SeedTriggers_StatusCompleted_Notifies_OtherStatusExplainsWhyNot()
    {
        await Context.InternalStore.SeedExampleTriggersAsync(default);
        var notify = (await Context.Store.ListAsync(new BomTriggerQuery { TriggerEvent = BomTriggerEvents.StatusChange })).Single();

        var done = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.StatusChange, 7, null, """{"status":"completed"}""", """{"status":"in_progress"}"""));
        var notDone = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.StatusChange, 8, null, """{"status":"in_progress"}"""), new DispatchOptions { Explain = true });
        var notDoneFast = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.StatusChange, 8, null, """{"status":"in_progress"}"""));

        done.Outcomes.Should().ContainSingle().Which.Kind.Should().Be(TriggerOutcomeKind.Executed);
        Context.Host.Calls.Should().Equal("notify:7:Task has been completed:manager+coordinator");
        var why = notDone.Outcomes.Should().ContainSingle().Subject;
        why.Kind.Should().Be(TriggerOutcomeKind.ConditionFalse);
        why.FailedClause.Should().Be(new ConditionFailure("/triggerCondition/status", "status $eq \"completed\"", "\"in_progress\""));
        notDoneFast.Outcomes.Should().BeEmpty("without explain, the equality index excludes the trigger unevaluated");
        notDoneFast.NotConsidered.Should().Be(1);
        (await Context.Store.GetLogsAsync(notify.Id)).Total.Should().Be(1, "a false condition is reported, not logged");
    }

    [Fact]
    public async Task FailingAction_IsIsolated_TheRestStillRunAndTheFailureIsLogged()
    {
        var failing = await Context.CreateAsync("fails", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.AddMaterial, """{"materialName":"BOOM","defaultQuantity":1}""", priority: 20);
        var throwing = await Context.CreateAsync("throws", BomTriggerEvents.TaskCreate, "{}", "EXPLODE", "{}", priority: 15);
        var notify = await Context.CreateAsync("notify", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.Notify, """{"message":"hi","recipients":["a"]}""");

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"));

        report.Outcomes.Select(o => (o.TriggerId, o.Kind)).Should().Equal(
            (failing.Id, TriggerOutcomeKind.Failed), (throwing.Id, TriggerOutcomeKind.Failed), (notify.Id, TriggerOutcomeKind.Executed));
        report.Outcomes[0].Error.Should().Be("InvalidOperationException: the warehouse is on fire");
        report.HasFailures.Should().BeTrue();
        Context.Host.Calls.Should().Equal("notify:1:hi:a");
        var failures = await Context.Store.GetRecentFailuresAsync();
        failures.Select(f => f.TriggerId).Should().BeEquivalentTo([failing.Id, throwing.Id]);
        failures.Should().OnlyContain(f => f.Outcome == "Failed" && f.ErrorMessage!.Contains("InvalidOperationException"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SlowAction_TimesOutOnFakeTime_AndTheNextTriggerRuns(bool ignoresToken)
    {
        var key = Guid.NewGuid().ToString("N");
        var slow = await Context.CreateAsync("slow", BomTriggerEvents.TaskCreate, "{}", "SLOW", $$"""{"key":"{{key}}","ignoreToken":{{(ignoresToken ? "true" : "false")}}}""", priority: 20);
        await Context.CreateAsync("notify", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.Notify, """{"message":"after","recipients":["a"]}""");
        var started = SlowAction.Started.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        var dispatch = Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 5, null, "{}"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        dispatch.IsCompleted.Should().BeFalse("the action is still running before the timeout");
        DispatchReport report;
        if (ignoresToken)
        {
            report = await TimeOutAndRunOutTheGraceAsync(dispatch);
        }
        else
        {
            // It stops as soon as its token is cancelled, within the grace: no more time has to pass.
            Context.Time.Advance(TimeSpan.FromSeconds(10));
            report = await dispatch.WaitAsync(TimeSpan.FromSeconds(30));
        }

        report.Outcomes[0].Kind.Should().Be(TriggerOutcomeKind.Failed);
        if (ignoresToken)
        {
            report.Outcomes[0].Error.Should().Be("The action timed out after 00:00:10 and did not stop within 00:00:02 of being cancelled; it was abandoned and may still be running.");
            report.Outcomes[0].Duration.Should().Be(TimeSpan.FromSeconds(12), "the grace ran out on fake time");
        }
        else
        {
            report.Outcomes[0].Error.Should().Be("The action timed out after 00:00:10.", "it stopped as soon as its token was cancelled");
            report.Outcomes[0].Duration.Should().Be(TimeSpan.FromSeconds(10));
        }

        report.Outcomes[1].Kind.Should().Be(TriggerOutcomeKind.Executed);
        (await Context.Store.GetLogsAsync(slow.Id)).Items.Single().ErrorMessage.Should().Contain("timed out");
    }

    [Fact]
    public async Task ActionThatBlocksBeforeReturningItsTask_TimesOutOnFakeTime_AndTheNextTriggerRuns()
    {
        var key = Guid.NewGuid().ToString("N");
        var blocking = await Context.CreateAsync("blocks", BomTriggerEvents.TaskCreate, "{}", "BLOCK", $$"""{"key":"{{key}}"}""", priority: 20);
        await Context.CreateAsync("notify", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.Notify, """{"message":"after","recipients":["a"]}""");
        var (started, release) = BlockingAction.For(key);
        try
        {
            // Started from another thread: before the fix the dispatch blocked its caller inside the action.
            var dispatch = Task.Run(() => Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 12, null, "{}")));
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var report = await TimeOutAndRunOutTheGraceAsync(dispatch);

            report.Outcomes.Select(o => (o.TriggerId, o.Kind)).Should().Equal((blocking.Id, TriggerOutcomeKind.Failed), (report.Outcomes[1].TriggerId, TriggerOutcomeKind.Executed));
            report.Outcomes[0].Error.Should().StartWith("The action timed out after 00:00:10 and did not stop within 00:00:02").And.Contain("abandoned");
            report.Outcomes[0].Duration.Should().Be(TimeSpan.FromSeconds(12));
            Context.Host.Calls.Should().Equal("notify:12:after:a");
            (await Context.Store.GetLogsAsync(blocking.Id)).Items.Single().ErrorMessage.Should().Contain("timed out");
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task AbandonedAction_KeepsItsScopeUntilItEnds_AndItsFailureIsLogged()
    {
        var key = Guid.NewGuid().ToString("N");
        await Context.CreateAsync("holds", BomTriggerEvents.TaskCreate, "{}", "HOLD_SCOPE", $$"""{"key":"{{key}}"}""");
        var (started, release, scoped) = ScopeHoldingAction.For(key);

        var dispatch = Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 14, null, "{}"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var report = await TimeOutAndRunOutTheGraceAsync(dispatch);

        report.Outcomes.Single().Error.Should().Contain("abandoned");
        scoped.Task.IsCompleted.Should().BeFalse("the abandoned action still runs, so its scoped services must not be disposed under it");
        release.TrySetResult();
        var disposedAfterTheActionEnded = await scoped.Task.WaitAsync(TimeSpan.FromSeconds(30));
        disposedAfterTheActionEnded.Should().BeTrue();
        await EventuallyAsync(() => Context.Logs.Entries.Any(e => e.EventId.Id == 4010), "the abandoned action's later failure is logged");
    }

    /// <summary>
    /// Fires the 10 s action timeout; then, once the dispatch has armed the grace timer (the next timer created) and the
    /// action has not stopped, runs the 2 s grace out. Time moves by exactly these amounts, so later actions keep theirs.
    /// </summary>
    private async Task<DispatchReport> TimeOutAndRunOutTheGraceAsync(Task<DispatchReport> dispatch)
    {
        var timers = Context.Time.TimersCreated;
        Context.Time.Advance(TimeSpan.FromSeconds(10));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!dispatch.IsCompleted && Context.Time.TimersCreated == timers && DateTime.UtcNow < deadline)
        {
            await Task.Yield();
        }

        if (!dispatch.IsCompleted)
        {
            Context.Time.Advance(TimeSpan.FromSeconds(2));
        }

        return await dispatch.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task EventuallyAsync(Func<bool> condition, string because)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Yield();
        }

        condition().Should().BeTrue(because);
    }

    [Fact]
    public async Task SlowActionAfterAFastOne_GetsItsOwnFullTimeout_AndLaterActionsRun()
    {
        // The dispatch re-arms one timeout source per action; the slow action must still get its whole timeout, and
        // the actions after it a fresh one.
        var key = Guid.NewGuid().ToString("N");
        await Context.CreateAsync("first", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.Notify, """{"message":"first","recipients":["a"]}""", priority: 30);
        await Context.CreateAsync("slow", BomTriggerEvents.TaskCreate, "{}", "SLOW", $$"""{"key":"{{key}}"}""", priority: 20);
        await Context.CreateAsync("last", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.Notify, """{"message":"last","recipients":["a"]}""", priority: 10);
        var started = SlowAction.Started.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        var dispatch = Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 6, null, "{}"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Context.Time.Advance(TimeSpan.FromSeconds(9));
        dispatch.IsCompleted.Should().BeFalse("9 of the slow action's 10 seconds have passed");
        Context.Time.Advance(TimeSpan.FromSeconds(1));
        var report = await dispatch.WaitAsync(TimeSpan.FromSeconds(30));

        report.Outcomes.Select(o => (o.TriggerName, o.Kind)).Should().Equal(
            ("first", TriggerOutcomeKind.Executed), ("slow", TriggerOutcomeKind.Failed), ("last", TriggerOutcomeKind.Executed));
        report.Outcomes[1].Error.Should().Be("The action timed out after 00:00:10.");
        Context.Host.Calls.Should().Equal("notify:6:first:a", "notify:6:last:a");
    }

    [Fact]
    public async Task SelfFeedingTriggerPair_IsStoppedAsSuppressedLoop_AndLogged()
    {
        var bump = await Context.CreateAsync("bump on add", BomTriggerEvents.MaterialAdd, "{}", BomTriggerActions.UpdateQuantity, """{"materialName":"X","delta":1}""");
        var add = await Context.CreateAsync("add on bump", BomTriggerEvents.QuantityChange, "{}", BomTriggerActions.AddMaterial, """{"materialName":"X","defaultQuantity":1}""");

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.MaterialAdd, 9, null, """{"materialName":"X","quantity":1}"""));

        report.Outcomes.Select(o => (o.TriggerId, o.Kind, o.Depth)).Should().Equal(
            (bump.Id, TriggerOutcomeKind.Executed, 0),
            (add.Id, TriggerOutcomeKind.Executed, 1),
            (bump.Id, TriggerOutcomeKind.SuppressedLoop, 2));
        report.Outcomes[2].Error.Should().Be($"Trigger {bump.Id} already ran for task 9 in this chain.");
        Context.Host.Calls.Should().HaveCount(2);
        var logs = (await Context.Store.GetLogsAsync(bump.Id)).Items;
        logs.Select(l => (l.Outcome, l.Success, l.Depth)).Should().BeEquivalentTo([("Executed", true, 0), ("SuppressedLoop", false, 2)]);
        logs.Should().OnlyContain(l => l.CorrelationId == report.CorrelationId);
    }

    [Fact]
    public async Task ChainDeeperThanTheLimit_IsSuppressed()
    {
        var context = await OtherContextAsync(o => o.MaxChainDepth = 0);
        await context.CreateAsync("add", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.AddMaterial, """{"materialName":"Y","defaultQuantity":2}""");
        var cost = await context.CreateAsync("cost", BomTriggerEvents.MaterialAdd, """{"material.name":"Y"}""", BomTriggerActions.CalculateCost, "{}");

        var report = await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 3, null, "{}"));

        report.Outcomes.Select(o => o.Kind).Should().Equal(TriggerOutcomeKind.Executed, TriggerOutcomeKind.SuppressedLoop);
        report.Outcomes[1].Error.Should().Contain("MaxChainDepth (0)");
        context.Host.Calls.Should().NotContain(c => c.StartsWith("cost"));
        (await context.Store.GetLogsAsync(cost.Id)).Items.Single().Outcome.Should().Be("SuppressedLoop");
    }

    [Fact]
    public async Task SourceTaskTypeMismatch_IsSkippedTaskType_AndNotLogged()
    {
        var trigger = await Context.CreateAsync("only type 5", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.Notify, """{"message":"m","recipients":["a"]}""", sourceTaskTypeId: 5);

        var other = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, 4, "{}"));
        var match = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, 5, "{}"));

        other.Outcomes.Single().Kind.Should().Be(TriggerOutcomeKind.SkippedTaskType);
        match.Outcomes.Single().Kind.Should().Be(TriggerOutcomeKind.Executed);
        (await Context.Store.GetLogsAsync(trigger.Id)).Total.Should().Be(1);
    }

    [Fact]
    public async Task StrictMode_FailedTrigger_ThrowsWithTheReport_AfterLogging()
    {
        var trigger = await Context.CreateAsync("throws", BomTriggerEvents.TaskCreate, "{}", "EXPLODE", "{}");

        var act = () => Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"), new DispatchOptions { Strict = true });

        var thrown = await act.Should().ThrowAsync<BomTriggerException>();
        thrown.Which.Report!.Outcomes.Single().Kind.Should().Be(TriggerOutcomeKind.Failed);
        thrown.Which.Message.Should().Contain("custom action exploded");
        (await Context.Store.GetLogsAsync(trigger.Id)).Total.Should().Be(1);
    }

    [Fact]
    public async Task StoredTriggerWithUnregisteredActionOrBrokenCondition_FailsInsteadOfThrowing()
    {
        var now = Context.Time.GetUtcNow();
        var ghost = await Context.Repository.InsertAsync(new BomTriggerDefinition { Name = "ghost", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = "GHOST" }, Guid.NewGuid(), null, now, default);
        var broken = await Context.Repository.InsertAsync(
            new BomTriggerDefinition { Name = "broken", TriggerEvent = BomTriggerEvents.TaskCreate, TriggerCondition = Json.Parse("""{"status":7}"""), ActionType = BomTriggerActions.CalculateCost },
            Guid.NewGuid(), null, now, default);
        await Context.Services.GetRequiredService<TriggerSnapshotProvider>().RefreshAsync(default);

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, """{"status":"x"}"""));

        report.Outcomes.Single(o => o.TriggerId == ghost.Id).Error.Should().Contain("'GHOST' is not registered");
        report.Outcomes.Single(o => o.TriggerId == broken.Id).Error.Should().Contain("/triggerCondition/status: expected a string");
        report.Outcomes.Should().OnlyContain(o => o.Kind == TriggerOutcomeKind.Failed);
    }

    [Fact]
    public async Task StoreChanges_AreVisibleToTheNextDispatch()
    {
        await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, "{}"));
        var trigger = await Context.CreateAsync("late", BomTriggerEvents.TaskCreate, """{"status":"new"}""", BomTriggerActions.CalculateCost, "{}");

        (await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, """{"status":"new"}"""))).Outcomes.Single().Kind.Should().Be(TriggerOutcomeKind.Executed);

        await Context.Store.UpdateAsync(trigger.Id, BomTriggerDefinition.From(trigger) with { TriggerCondition = Json.Parse("""{"status":"old"}""") });
        var explained = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, """{"status":"new"}"""), new DispatchOptions { Explain = true });
        explained.Outcomes.Single().FailedClause!.Clause.Should().Be("status $eq \"old\"");
        (await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, """{"status":"old"}"""))).Outcomes.Single().Kind.Should().Be(TriggerOutcomeKind.Executed);

        await Context.Store.ToggleAsync(trigger.Id);
        (await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 1, null, """{"status":"old"}"""))).Outcomes.Should().BeEmpty();
    }

    [Fact]
    public async Task TestAsync_StoredTrigger_ExplainsAndExecutesNothing()
    {
        var trigger = await Context.CreateAsync("lan", BomTriggerEvents.TaskCreate, """{"taskTypeCode":"LAN","tags":{"$contains":"urgent"}}""", BomTriggerActions.AddMaterial, """{"materialName":"C","defaultQuantity":1}""");

        var yes = await Engine.TestAsync(trigger.Id, new TriggerTestRequest(Json.Parse("""{"taskTypeCode":"LAN","tags":["urgent"]}""")));
        var no = await Engine.TestAsync(trigger.Id, new TriggerTestRequest(Json.Parse("""{"taskTypeCode":"LAN","tags":[]}""")));
        var missing = await Engine.TestAsync(999999, new TriggerTestRequest(Json.Parse("{}")));

        yes.WouldExecute.Should().BeTrue();
        yes.Explanation.Should().Contain(l => l.StartsWith("PASS /triggerCondition/tags/$contains"));
        no.WouldExecute.Should().BeFalse();
        no.Condition!.Failure!.Path.Should().Be("/triggerCondition/tags/$contains");
        no.Condition.Failure.Actual.Should().Be("[]");
        missing.Found.Should().BeFalse();
        Context.Host.Calls.Should().BeEmpty();
        (await Context.Store.GetLogsAsync(trigger.Id)).Total.Should().Be(0);
    }

    [Fact]
    public async Task TestAsync_UnsavedTrigger_ExplainsTaskTypeAndValidation()
    {
        var definition = new BomTriggerDefinition
        {
            Name = "draft",
            TriggerEvent = BomTriggerEvents.QuantityChange,
            TriggerCondition = Json.Parse("""{"quantity":{"$changed":{"from":1,"to":2}}}"""),
            ActionType = BomTriggerActions.CalculateCost,
            SourceTaskTypeId = 3,
        };

        var ok = await Engine.TestAsync(definition, new TriggerTestRequest(Json.Parse("""{"quantity":2}""")) { PreviousValues = Json.Parse("""{"quantity":1}"""), TaskTypeId = 3 });
        var otherType = await Engine.TestAsync(definition, new TriggerTestRequest(Json.Parse("""{"quantity":2}""")) { PreviousValues = Json.Parse("""{"quantity":1}"""), TaskTypeId = 4 });
        var invalid = await Engine.TestAsync(definition with { TriggerCondition = Json.Parse("""{"quantity":{"$gt":"x"}}""") }, new TriggerTestRequest(Json.Parse("{}")));

        ok.WouldExecute.Should().BeTrue();
        otherType.WouldExecute.Should().BeFalse();
        otherType.TaskTypeMatches.Should().BeFalse();
        otherType.Condition!.Matched.Should().BeTrue();
        invalid.WouldExecute.Should().BeFalse();
        invalid.Errors.Single().ToString().Should().Be("/triggerCondition/quantity/$gt: expected a number");
        (await Context.Store.ListAsync()).Should().BeEmpty("a dry run stores nothing");
    }

    [Fact]
    public async Task NumberLiterals_SurviveTheStoreAndCompareExactly()
    {
        // PostgreSQL's jsonb rewrites 1e29 as 100000000000000000000000000000 and 1e-30 as 0.000...1; both stores must
        // still compare every number exactly, without rounding to decimal's 28 places or rejecting what decimal cannot hold.
        var huge = await Context.CreateAsync("huge", BomTriggerEvents.MaterialAdd, """{"quantity":{"$gt":1e29}}""", BomTriggerActions.CalculateCost, "{}");
        var zero = await Context.CreateAsync("zero", BomTriggerEvents.MaterialAdd, """{"quantity":0}""", BomTriggerActions.CalculateCost, "{}");
        var fine = await Context.CreateAsync("fine", BomTriggerEvents.MaterialAdd, """{"quantity":{"$lt":0.30000000000000000000000000001}}""", BomTriggerActions.CalculateCost, "{}");
        var tiny = await Context.CreateAsync("tiny", BomTriggerEvents.MaterialAdd, """{"quantity":{"$in":[1e-30,2]}}""", BomTriggerActions.CalculateCost, "{}");

        var small = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.MaterialAdd, 1, null, """{"quantity":1e-30}"""));
        var big = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.MaterialAdd, 2, null, """{"quantity":100000000000000000000000000001}"""));
        var third = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.MaterialAdd, 3, null, """{"quantity":0.3}"""));

        Executed(small).Should().BeEquivalentTo([fine.Id, tiny.Id]);
        Executed(big).Should().BeEquivalentTo([huge.Id]);
        Executed(third).Should().BeEquivalentTo([fine.Id]);
        small.Outcomes.Single(o => o.TriggerId == zero.Id).Kind.Should().Be(TriggerOutcomeKind.ConditionFalse);

        static IEnumerable<int> Executed(DispatchReport report) => report.OfKind(TriggerOutcomeKind.Executed).Select(o => o.TriggerId);
    }

    [Fact]
    public async Task Dispatch_UnpairedSurrogatesInEventData_NeverThrow_TheTriggersRunAndAreLogged()
    {
        // Event data from a raw HTTP body may hold escapes System.Text.Json will not read as strings; they read as U+FFFD.
        await Context.CreateAsync("indexed", BomTriggerEvents.StatusChange, """{"status":"completed"}""", BomTriggerActions.CalculateCost, "{}");
        await Context.CreateAsync("starts", BomTriggerEvents.StatusChange, """{"title":{"$startsWith":"x"}}""", BomTriggerActions.CalculateCost, "{}");
        await Context.CreateAsync("changed", BomTriggerEvents.StatusChange, """{"status":{"$changed":true}}""", BomTriggerActions.CalculateCost, "{}");
        await Context.CreateAsync("tagged", BomTriggerEvents.StatusChange, """{"tags":{"$contains":"a"}}""", BomTriggerActions.CalculateCost, "{}");
        var always = await Context.CreateAsync("always", BomTriggerEvents.StatusChange, "{}", BomTriggerActions.CalculateCost, "{}");
        var data = """{"status":"\ud800","title":"\udc00x","tags":["\ud83d","a"]}""";

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.StatusChange, 4, null, data, """{"status":"\ud800"}"""));
        var dryRun = await Engine.TestAsync(always.Id, new TriggerTestRequest(Json.Parse(data)) { PreviousValues = Json.Parse("""{"status":"\udfff"}""") });

        report.Outcomes.Select(o => (o.TriggerName, o.Kind)).Should().BeEquivalentTo(
            [("starts", TriggerOutcomeKind.ConditionFalse), ("changed", TriggerOutcomeKind.ConditionFalse), ("tagged", TriggerOutcomeKind.Executed), ("always", TriggerOutcomeKind.Executed)]);
        report.NotConsidered.Should().Be(1, "the status is not \"completed\"");
        var input = (await Context.Store.GetLogsAsync(always.Id)).Items.Should().ContainSingle().Subject.InputData!.Value;
        input.GetProperty("status").GetString().Should().Be("\uFFFD");
        input.GetProperty("title").GetString().Should().Be("\uFFFDx");
        input.GetProperty("tags")[0].GetString().Should().Be("\uFFFD");
        dryRun.WouldExecute.Should().BeTrue();
    }

    [Fact]
    public async Task Dispatch_NulAndNumbersBeyondNumericInEventData_AreMatchedAsSent_AndLoggedStorably()
    {
        var trigger = await Context.CreateAsync("contains", BomTriggerEvents.MaterialAdd, """{"materialName":{"$contains":"b"},"quantity":{"$gt":1e400}}""", BomTriggerActions.CalculateCost, "{}");

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.MaterialAdd, 8, null, """{"materialName":"a\u0000b","quantity":1e200000,"unit":"m"}"""));

        report.Outcomes.Should().ContainSingle().Which.Kind.Should().Be(TriggerOutcomeKind.Executed);
        var input = (await Context.Store.GetLogsAsync(trigger.Id)).Items.Should().ContainSingle().Subject.InputData!.Value;
        input.GetProperty("materialName").GetString().Should().Be("a\uFFFDb", "PostgreSQL cannot store U+0000, so every store logs U+FFFD");
        input.GetProperty("quantity").GetString().Should().Be("1e200000", "a number beyond numeric is logged as its text");
        input.GetProperty("unit").GetString().Should().Be("m");
    }

    [Fact]
    public async Task Dispatch_ActionResultAndErrorNoStoreCanHold_AreLoggedStorably()
    {
        var dirty = await Context.CreateAsync("dirty", BomTriggerEvents.TaskCreate, "{}", "DIRTY", "{}", priority: 20);
        var failing = await Context.CreateAsync("failing", BomTriggerEvents.TaskCreate, "{}", "DIRTY", """{"fail":true}""");

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 9, null, "{}"));

        report.Outcomes.Select(o => o.Kind).Should().Equal(TriggerOutcomeKind.Executed, TriggerOutcomeKind.Failed);
        report.Outcomes[1].Error.Should().Be("InvalidOperationException: nul\0 and half \ud83d an emoji", "the report keeps what the action said");
        var result = (await Context.Store.GetLogsAsync(dirty.Id)).Items.Should().ContainSingle().Subject.ResultData!.Value;
        result.GetProperty("note").GetString().Should().Be("x\uFFFDy");
        result.GetProperty("half").GetString().Should().Be("\uFFFD");
        result.GetProperty("big").GetString().Should().Be("1e200000");
        result.GetProperty("fine")[0].GetDecimal().Should().Be(1.5m);
        (await Context.Store.GetLogsAsync(failing.Id)).Items.Should().ContainSingle().Which.ErrorMessage.Should().Be("InvalidOperationException: nul\uFFFD and half \uFFFD an emoji");
    }

    [Theory]
    [InlineData("result")]
    [InlineData("event")]
    public async Task ActionReturningADisposedDocument_FailsThatActionOnly(string what)
    {
        var broken = await Context.CreateAsync("broken", BomTriggerEvents.TaskCreate, "{}", "DIRTY", $$"""{"disposed":"{{what}}"}""", priority: 20);
        var after = await Context.CreateAsync("after", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 13, null, "{}"));

        report.Outcomes.Select(o => (o.TriggerId, o.Kind)).Should().Equal((broken.Id, TriggerOutcomeKind.Failed), (after.Id, TriggerOutcomeKind.Executed));
        report.Outcomes[0].Error.Should().StartWith("ObjectDisposedException");
        report.LogWriteError.Should().BeNull();
        (await Context.Store.GetLogsAsync(broken.Id)).Items.Should().ContainSingle().Which.Success.Should().BeFalse();
    }

    [Fact]
    public async Task Dispatch_ActionDeletesItsOwnTrigger_TheRunIsStillLoggedAndTheTriggerStopsRunning()
    {
        var self = await Context.CreateAsync("deletes itself", BomTriggerEvents.TaskCreate, "{}", "DIRTY", """{"deleteTrigger":true}""", priority: 20);
        var after = await Context.CreateAsync("after", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 10, null, "{}"));

        report.Outcomes.Select(o => (o.TriggerId, o.Kind)).Should().Equal((self.Id, TriggerOutcomeKind.Executed), (after.Id, TriggerOutcomeKind.Executed));
        report.LogWriteError.Should().BeNull("deletes are soft, so a trigger deleted during the dispatch still takes its log row");
        (await Context.Store.GetLogsAsync(self.Id)).Items.Should().ContainSingle().Which.TaskId.Should().Be(10);
        (await Context.Store.GetLogsAsync(after.Id)).Total.Should().Be(1);
        (await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 11, null, "{}"))).Outcomes.Select(o => o.TriggerId).Should().Equal(after.Id);
    }

    [Fact]
    public async Task Dispatch_LogRowsThatCannotBeWritten_AreReportedLoggedAndCounted()
    {
        var context = await OtherContextAsync(o => o.ActionTimeout = TimeSpan.FromSeconds(10), FailingLogStore.Install);
        await context.CreateAsync("first", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}", priority: 20);
        await context.CreateAsync("after", BomTriggerEvents.TaskCreate, "{}", BomTriggerActions.CalculateCost, "{}");
        var store = context.Services.GetRequiredService<FailingLogStore>();
        long counted = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == BomTriggerDiagnostics.MeterName && instrument.Name == BomTriggerDiagnostics.LogWriteFailuresInstrument)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref counted, value));
        listener.Start();
        store.FailLogWrites = true;

        var report = await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 10, null, "{}"));

        report.Outcomes.Select(o => o.Kind).Should().Equal(TriggerOutcomeKind.Executed, TriggerOutcomeKind.Executed);
        report.LogWriteError.Should().Be("2 log row(s) could not be written: InvalidOperationException: The log table cannot be written (simulated).");
        Interlocked.Read(ref counted).Should().BeGreaterThanOrEqualTo(2, "other test classes may count failures of their own at the same time");
        context.Logs.Entries.Should().ContainSingle(e => e.EventId.Id == 4004)
            .Which.Message.Should().Be($"Could not write 2 trigger log row(s) of dispatch {report.CorrelationId}");
        store.FailLogWrites = false;
        (await context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 11, null, "{}"))).LogWriteError.Should().BeNull("the next dispatch's rows are written");
    }

    [Fact]
    public async Task HostEventType_AddedWithItsFields_TriggersSaveValidateAndDispatch()
    {
        // Adding an event type takes one call per type and one per field in the host; nothing in the library changes.
        var context = await OtherContextAsync(
            o => o.ActionTimeout = TimeSpan.FromSeconds(10),
            b => b.AddEventType("ON_PO_RECEIVED", "A purchase order was received.").AddEventField("ON_PO_RECEIVED", "supplier", BomFieldType.String));
        var trigger = await context.CreateAsync("po", "ON_PO_RECEIVED", """{"supplier":"ACME"}""", BomTriggerActions.CalculateCost, "{}");
        var rejected = await context.Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "typed",
            TriggerEvent = "ON_PO_RECEIVED",
            TriggerCondition = Json.Parse("""{"supplier":5}"""),
            ActionType = BomTriggerActions.CalculateCost,
        });

        var fired = await context.Engine.DispatchAsync(Json.Event("ON_PO_RECEIVED", 3, null, """{"supplier":"ACME"}"""));
        var other = await context.Engine.DispatchAsync(Json.Event("ON_PO_RECEIVED", 4, null, """{"supplier":"Other"}"""), new DispatchOptions { Explain = true });

        fired.Outcomes.Should().ContainSingle().Which.Kind.Should().Be(TriggerOutcomeKind.Executed);
        other.Outcomes.Should().ContainSingle().Which.Kind.Should().Be(TriggerOutcomeKind.ConditionFalse);
        rejected.Errors.Should().ContainSingle().Which.Path.Should().Be("/triggerCondition/supplier");
        context.Store.ListEvents().Should().ContainSingle(e => e.Name == "ON_PO_RECEIVED")
            .Which.Fields.Select(f => f.Path).Should().Equal("taskId", "taskTypeId", "supplier");
        (await context.Store.GetAsync(trigger.Id))!.TriggerEvent.Should().Be("ON_PO_RECEIVED");
    }

    [Fact]
    public async Task CopyBom_UsesTargetTaskType_AndChainsBomUpdate()
    {
        var copy = await Context.Store.CreateAsync(new BomTriggerDefinition { Name = "copy", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.CopyBom, TargetTaskTypeId = 12 });
        copy.Succeeded.Should().BeTrue();
        var onUpdate = await Context.CreateAsync("after copy", BomTriggerEvents.BomUpdate, """{"itemCount":{"$gte":3}}""", BomTriggerActions.CalculateCost, "{}");

        var report = await Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 11, 2, "{}"));

        Context.Host.Calls.Should().Equal("copy:11:12", "cost:11");
        report.Outcomes[^1].TriggerId.Should().Be(onUpdate.Id);
    }
}

public sealed class InMemoryTriggerEngineTests : TriggerEngineContract
{
    protected override void UseStore(BomTriggersBuilder builder) => builder.UseInMemoryStore();
}

public sealed class PostgresTriggerEngineTests(PostgresDatabase database) : TriggerEngineContract, IClassFixture<PostgresDatabase>
{
    protected override void UseStore(BomTriggersBuilder builder) =>
        builder.UsePostgres(database.ConnectionString, o => o.Schema = TriggerTestContext.NewSchema());
}
