using System.Collections.Concurrent;
using System.Text.Json;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers.Tests.Queue;

/// <summary>
/// Queued, delayed and scheduled execution, the same on every store. Workers are driven by hand (claim, run) on a fake
/// clock, so leases, backoff and ticks are decided by the test, not by timing.
/// </summary>
public abstract class JobQueueContract : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private TriggerTestContext? _context;

    protected TriggerTestContext Context => _context!;

    protected abstract void UseStore(BomTriggersBuilder builder);

    private IBomTriggerJobStore Jobs => Context.Services.GetRequiredService<IBomTriggerJobStore>();

    private IBomTriggerJobManager Queue => Context.Services.GetRequiredService<IBomTriggerJobManager>();

    private BomTriggerEngine Engine => Context.Services.GetRequiredService<BomTriggerEngine>();

    public Task InitializeAsync() => RecreateAsync(_ => { });

    public async Task DisposeAsync() => await Context.DisposeAsync();

    private async Task RecreateAsync(Action<BomTriggerOptions> configure, Action<IServiceCollection>? services = null)
    {
        if (_context is not null)
        {
            await _context.DisposeAsync();
        }

        _context = await TriggerTestContext.CreateAsync(UseStore, o =>
        {
            o.RetryBaseDelay = TimeSpan.FromSeconds(10);
            o.MaxAttempts = 3;
            configure(o);
        }, b =>
        {
            b.AddAction<FlakyAction>("FLAKY");
            services?.Invoke(b.Services);
        });
    }

    private async Task<BomTrigger> CreateAsync(string triggerEvent, string condition, string actionType, string config, BomTriggerExecution execution)
    {
        var result = await Context.Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "queued " + actionType,
            TriggerEvent = triggerEvent,
            TriggerCondition = Json.Parse(condition),
            ActionType = actionType,
            ActionConfig = Json.Parse(config),
            Execution = execution,
        });
        result.Errors.Should().BeEmpty();
        return result.Trigger!;
    }

    private static string NewKey() => Guid.NewGuid().ToString("N");

    /// <summary>Claims every due job for <paramref name="worker"/> and runs each attempt; returns the jobs claimed.</summary>
    private async Task<IReadOnlyList<BomTriggerJob>> RunDueAsync(string worker = "worker-a")
    {
        var claimed = await Jobs.ClaimAsync(worker, 100, Context.Time.GetUtcNow(), Lease, default);
        foreach (var job in claimed)
        {
            await Engine.RunJobAsync(job, worker, default);
        }

        return claimed;
    }

    private async Task<BomTriggerJob> SingleJobAsync(int triggerId) =>
        (await Queue.QueryAsync(new BomTriggerJobQuery { TriggerId = triggerId })).Items.Should().ContainSingle().Subject;

    [Fact]
    public async Task QueuedTrigger_DispatchReturnsQueued_AndAWorkerRunsItOnce_WithTheKeyAndAnAttemptLog()
    {
        var key = NewKey();
        var trigger = await CreateAsync(BomTriggerEvents.TaskCreate, "{}", "FLAKY", $$"""{"key":"{{key}}"}""", new() { Mode = TriggerExecutionMode.Queued });
        var eventId = Guid.NewGuid();

        var report = await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}") with { EventId = eventId });

        report.Outcomes.Should().ContainSingle().Which.Kind.Should().Be(TriggerOutcomeKind.Queued);
        FlakyAction.Runs(key).Should().BeEmpty("a queued action does not run in the dispatch");
        (await RunDueAsync()).Should().ContainSingle();
        FlakyAction.Runs(key).Should().Equal(($"{eventId:N}:{trigger.Id}", 1));
        var job = await SingleJobAsync(trigger.Id);
        job.State.Should().Be(BomTriggerJobState.Succeeded);
        job.CorrelationId.Should().Be(report.CorrelationId);
        job.Event.EventId.Should().Be(eventId);
        var log = (await Context.Store.GetLogsAsync(trigger.Id)).Items.Should().ContainSingle().Subject;
        (log.JobId, log.Attempt, log.Outcome, log.CorrelationId).Should().Be((job.Id, 1, "Executed", report.CorrelationId));
        (await RunDueAsync()).Should().BeEmpty("a finished job is never claimed again");
    }

    [Fact]
    public async Task SameEventIdDispatchedTwice_EnqueuesOnce()
    {
        var key = NewKey();
        var trigger = await CreateAsync(BomTriggerEvents.TaskCreate, "{}", "FLAKY", $$"""{"key":"{{key}}"}""", new() { Mode = TriggerExecutionMode.Queued });
        var triggerEvent = Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}") with { EventId = Guid.NewGuid() };

        await Context.Engine.DispatchAsync(triggerEvent);
        await RunDueAsync();
        await Context.Engine.DispatchAsync(triggerEvent);
        await RunDueAsync();

        (await Queue.QueryAsync(new BomTriggerJobQuery { TriggerId = trigger.Id })).Total.Should().Be(1);
        FlakyAction.Runs(key).Should().ContainSingle();
    }

    [Fact]
    public async Task FailingJob_IsRetriedWithBackoff_ThenDeadLettered_AndRetryAndDiscardWork()
    {
        var key = NewKey();
        var trigger = await CreateAsync(BomTriggerEvents.TaskCreate, "{}", "FLAKY", $$"""{"key":"{{key}}","failures":10}""", new() { Mode = TriggerExecutionMode.Queued });
        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}"));

        (await RunDueAsync()).Should().ContainSingle();
        var retrying = await SingleJobAsync(trigger.Id);
        (retrying.State, retrying.Attempt).Should().Be((BomTriggerJobState.Pending, 1));
        retrying.LastError.Should().Contain("flaky failure 1");
        retrying.DueAt.Should().BeOnOrAfter(Context.Time.GetUtcNow().AddSeconds(7.9)).And.BeOnOrBefore(Context.Time.GetUtcNow().AddSeconds(12.1));
        (await Queue.GetCountsAsync()).Should().Be(new BomTriggerQueueCounts(0, 1, 0, 0));
        (await RunDueAsync()).Should().BeEmpty("the retry is not due yet");

        Context.Time.Advance(TimeSpan.FromSeconds(13));
        (await RunDueAsync()).Should().ContainSingle();
        Context.Time.Advance(TimeSpan.FromSeconds(25));
        (await RunDueAsync()).Should().ContainSingle();

        var dead = await SingleJobAsync(trigger.Id);
        (dead.State, dead.Attempt, dead.MaxAttempts).Should().Be((BomTriggerJobState.Dead, 3, 3));
        dead.LastError.Should().Contain("flaky failure 3");
        FlakyAction.Runs(key).Select(r => r.Attempt).Should().Equal(1, 2, 3);
        FlakyAction.Runs(key).Select(r => r.Key).Distinct().Should().ContainSingle("every attempt gets the same idempotency key");
        (await Context.Store.GetLogsAsync(trigger.Id)).Items.Select(l => (l.Attempt, l.Outcome)).Should().BeEquivalentTo(
            [(3, "Failed"), (2, "Failed"), (1, "Failed")]);
        (await Queue.QueryAsync(new BomTriggerJobQuery { State = BomTriggerJobState.Dead })).Items.Should().ContainSingle().Which.Id.Should().Be(dead.Id);

        (await Queue.DiscardAsync(dead.Id)).Should().BeTrue();
        (await Queue.DiscardAsync(dead.Id)).Should().BeFalse("a discarded job cannot be discarded again");
        (await Queue.RetryAsync(dead.Id)).Should().BeTrue();
        var again = await SingleJobAsync(trigger.Id);
        (again.State, again.MaxAttempts).Should().Be((BomTriggerJobState.Pending, 6));
        (await RunDueAsync()).Should().ContainSingle();
        FlakyAction.Runs(key).Select(r => r.Attempt).Should().Equal(1, 2, 3, 4);
        (await Queue.RetryAsync(long.MaxValue)).Should().BeFalse();
    }

    [Fact]
    public async Task ExpiredLease_IsTakenOverAsTheNextAttempt_AndTheLostWorkerCannotOverwriteIt()
    {
        var key = NewKey();
        var trigger = await CreateAsync(BomTriggerEvents.TaskCreate, "{}", "FLAKY", $$"""{"key":"{{key}}"}""", new() { Mode = TriggerExecutionMode.Queued });
        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}"));
        var lost = (await Jobs.ClaimAsync("worker-a", 10, Context.Time.GetUtcNow(), Lease, default)).Should().ContainSingle().Subject;
        (await Jobs.ClaimAsync("worker-b", 10, Context.Time.GetUtcNow(), Lease, default)).Should().BeEmpty("the lease holds");

        Context.Time.Advance(Lease + TimeSpan.FromSeconds(1));
        var taken = (await Jobs.ClaimAsync("worker-b", 10, Context.Time.GetUtcNow(), Lease, default)).Should().ContainSingle().Subject;
        (taken.Id, taken.Attempt, taken.TakenOver, taken.IdempotencyKey).Should().Be((lost.Id, 2, true, lost.IdempotencyKey));

        // The first worker comes back and finishes: its attempt is logged, but the job is worker-b's.
        await Engine.RunJobAsync(lost, "worker-a", default);
        (await SingleJobAsync(trigger.Id)).Should().Match<BomTriggerJob>(j => j.State == BomTriggerJobState.Running && j.LockedBy == "worker-b");
        await Engine.RunJobAsync(taken, "worker-b", default);
        (await SingleJobAsync(trigger.Id)).State.Should().Be(BomTriggerJobState.Succeeded);
        FlakyAction.Runs(key).Should().Equal((lost.IdempotencyKey, 1), (lost.IdempotencyKey, 2));
    }

    [Fact]
    public async Task RenewedLease_IsNotTakenOver_AndReleasedJob_RunsElsewhereAsItsNextAttempt()
    {
        var key = NewKey();
        var trigger = await CreateAsync(BomTriggerEvents.TaskCreate, "{}", "FLAKY", $$"""{"key":"{{key}}"}""", new() { Mode = TriggerExecutionMode.Queued });
        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}"));
        var held = (await Jobs.ClaimAsync("worker-a", 10, Context.Time.GetUtcNow(), Lease, default)).Should().ContainSingle().Subject;

        Context.Time.Advance(TimeSpan.FromSeconds(20));
        await Jobs.RenewAsync("worker-a", [held.Id], Context.Time.GetUtcNow(), Lease, default);
        Context.Time.Advance(TimeSpan.FromSeconds(20));
        (await Jobs.ClaimAsync("worker-b", 10, Context.Time.GetUtcNow(), Lease, default)).Should().BeEmpty("worker-a renewed its lease");

        await Jobs.ReleaseAsync("worker-a", [held.Id], Context.Time.GetUtcNow(), "stopping", default);
        var again = (await Jobs.ClaimAsync("worker-b", 10, Context.Time.GetUtcNow(), Lease, default)).Should().ContainSingle().Subject;
        again.Attempt.Should().Be(2, "the interrupted attempt counts, so a job that never gets through still reaches its limit");
        (await SingleJobAsync(trigger.Id)).LockedBy.Should().Be("worker-b");
    }

    [Fact]
    public async Task OrderJobsByTask_RunsOneTaskSJobsOneAtATimeInOrder_WhileOtherTasksProceed()
    {
        await RecreateAsync(o => o.OrderJobsByTask = true);
        var first = await CreateAsync(BomTriggerEvents.TaskCreate, "{}", "FLAKY", $$"""{"key":"{{NewKey()}}"}""", new() { Mode = TriggerExecutionMode.Queued });
        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}"));
        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}"));
        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 8, 1, "{}"));

        var batch = await Jobs.ClaimAsync("worker-a", 10, Context.Time.GetUtcNow(), Lease, default);
        batch.Select(j => j.Event.TaskId).Should().Equal(7, 8);
        (await Jobs.ClaimAsync("worker-b", 10, Context.Time.GetUtcNow(), Lease, default)).Should().BeEmpty("task 7's second job waits for its first");

        await Engine.RunJobAsync(batch[0], "worker-a", default);
        var next = (await Jobs.ClaimAsync("worker-b", 10, Context.Time.GetUtcNow(), Lease, default)).Should().ContainSingle().Subject;
        (next.Event.TaskId, next.TriggerId).Should().Be((7, first.Id));
        next.Id.Should().BeGreaterThan(batch[0].Id);
    }

    [Fact]
    public async Task OrderJobsByTask_ADelayedJobDoesNotHoldItsTasksOtherJobs()
    {
        var data = new CurrentData();
        await RecreateAsync(o => o.OrderJobsByTask = true, s => s.AddSingleton<IBomEventDataProvider>(data));
        var key = NewKey();
        await CreateAsync(BomTriggerEvents.TaskCreate, "{}", "FLAKY", $$"""{"key":"{{NewKey()}}"}""", new() { Delay = TimeSpan.FromDays(3) });
        await CreateAsync(BomTriggerEvents.StatusChange, "{}", "FLAKY", $$"""{"key":"{{key}}"}""", new() { Mode = TriggerExecutionMode.Queued });

        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}"));
        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.StatusChange, 7, 1, """{"status":"new"}"""));

        (await RunDueAsync()).Should().ContainSingle("the queued job runs now; the delayed one, due in three days, holds nothing");
        FlakyAction.Runs(key).Should().ContainSingle();
        (await Jobs.GetNextDueAsync(default)).Should().BeCloseTo(Context.Time.GetUtcNow().AddDays(3), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task QueuedChain_CausedEventsKeepCorrelationAndDepth_AndARetryDoesNotEnqueueThemTwice()
    {
        var add = await CreateAsync(BomTriggerEvents.TaskCreate, """{"taskTypeCode":"LAN"}""", BomTriggerActions.AddMaterial,
            """{"materialName":"Kabel","defaultQuantity":10,"unit":"m"}""", new() { Mode = TriggerExecutionMode.Queued });
        var cost = await CreateAsync(BomTriggerEvents.MaterialAdd, "{}", BomTriggerActions.CalculateCost, "{}", new() { Mode = TriggerExecutionMode.Queued });

        var report = await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 42, 3, """{"taskTypeCode":"LAN"}"""));
        var parent = (await Jobs.ClaimAsync("worker-a", 10, Context.Time.GetUtcNow(), Lease, default)).Should().ContainSingle().Subject;
        await Engine.RunJobAsync(parent, "worker-a", default);

        // The parent's attempt is replayed (as after a crash before it was recorded): its child is not enqueued again.
        Context.Time.Advance(Lease + TimeSpan.FromSeconds(1));
        await Engine.RunJobAsync(parent with { Attempt = 1 }, "worker-a", default);
        var child = (await Queue.QueryAsync(new BomTriggerJobQuery { TriggerId = cost.Id })).Items.Should().ContainSingle().Subject;
        (child.CorrelationId, child.Depth, child.Event.EventType, child.Event.TaskId).Should().Be((report.CorrelationId, 1, BomTriggerEvents.MaterialAdd, 42));

        await RunDueAsync();
        Context.Host.Calls.Should().Equal("add:42:Kabel:10:m:", "add:42:Kabel:10:m:", "cost:42");
        (await Context.Store.QueryLogsAsync(new BomTriggerLogQuery { CorrelationId = report.CorrelationId })).Items
            .Select(l => (l.TriggerId, l.Depth)).Should().Contain([(add.Id, 0), (cost.Id, 1)]);
    }

    [Fact]
    public async Task QueuedChain_KeepsTheLoopGuardAcrossJobs()
    {
        // A -> causes its own event again: the guard carried by the job suppresses the second run.
        var loop = await CreateAsync(BomTriggerEvents.MaterialAdd, "{}", BomTriggerActions.AddMaterial,
            """{"materialName":"Loop","defaultQuantity":1}""", new() { Mode = TriggerExecutionMode.Queued });
        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.MaterialAdd, 9, 1, "{}"));

        await RunDueAsync();
        await RunDueAsync();

        (await Queue.QueryAsync(new BomTriggerJobQuery { TriggerId = loop.Id })).Total.Should().Be(1);
        (await Context.Store.GetLogsAsync(loop.Id)).Items.Select(l => l.Outcome).Should().BeEquivalentTo("Executed", "SuppressedLoop");
    }

    [Fact]
    public async Task DelayedTrigger_RunsOnlyIfTheConditionStillHoldsAtTheDueTime()
    {
        var data = new CurrentData();
        await RecreateAsync(_ => { }, s => s.AddSingleton<IBomEventDataProvider>(data));
        var key = NewKey();
        var trigger = await CreateAsync(BomTriggerEvents.StatusChange, """{"status":"waiting"}""", "FLAKY", $$"""{"key":"{{key}}"}""",
            new() { Delay = TimeSpan.FromDays(3) });

        data.Status[1] = "waiting";
        data.Status[2] = "waiting";
        (await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.StatusChange, 1, 1, """{"status":"waiting"}"""))).Outcomes.Single().Kind.Should().Be(TriggerOutcomeKind.Queued);
        await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.StatusChange, 2, 1, """{"status":"waiting"}"""));
        (await RunDueAsync()).Should().BeEmpty("nothing is due before three days");

        data.Status[2] = "done";
        Context.Time.Advance(TimeSpan.FromDays(3) + TimeSpan.FromSeconds(1));
        (await RunDueAsync()).Should().HaveCount(2);

        FlakyAction.Runs(key).Should().ContainSingle();
        var jobs = (await Queue.QueryAsync(new BomTriggerJobQuery { TriggerId = trigger.Id })).Items.OrderBy(j => j.Event.TaskId).ToList();
        jobs.Select(j => (j.Kind, j.State)).Should().Equal((BomTriggerJobKind.Delayed, BomTriggerJobState.Succeeded), (BomTriggerJobKind.Delayed, BomTriggerJobState.Skipped));
        jobs[1].LastError.Should().Contain("no longer matches").And.Contain("done");
    }

    [Fact]
    public async Task ScheduledTrigger_EachTickRunsOnce_EvenWhenSchedulersRace()
    {
        var key = NewKey();
        var trigger = await CreateAsync(BomTriggerEvents.Schedule, "{}", "FLAKY", $$"""{"key":"{{key}}"}""",
            new() { Schedule = new BomTriggerSchedule { Cron = "*/5 * * * *", TimeZone = "Europe/Berlin" } });
        var scheduler = NewScheduler();
        var other = NewScheduler();
        await scheduler.RunOnceAsync(default);

        for (var minute = 0; minute < 20; minute++)
        {
            Context.Time.Advance(TimeSpan.FromMinutes(1));
            await Task.WhenAll(scheduler.RunOnceAsync(default), other.RunOnceAsync(default));
            await RunDueAsync();
        }

        var jobs = (await Queue.QueryAsync(new BomTriggerJobQuery { TriggerId = trigger.Id })).Items;
        jobs.Should().HaveCount(4).And.OnlyContain(j => j.Kind == BomTriggerJobKind.Scheduled && j.State == BomTriggerJobState.Succeeded);
        jobs.Select(j => j.IdempotencyKey).Should().OnlyHaveUniqueItems();
        FlakyAction.Runs(key).Should().HaveCount(4);
        jobs.Select(j => DateTimeOffset.Parse(j.Event.Data.GetProperty("scheduledAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture).Minute % 5)
            .Should().OnlyContain(m => m == 0);
    }

    [Fact]
    public async Task ScheduledTrigger_EditedWhileATickIsDue_StillRunsThatTick_ThenFollowsTheNewSchedule()
    {
        // An edit used to recompute the next tick from the moment the scheduler synced it, so a tick already due but not
        // yet run (the edit arrived first) was lost.
        var key = NewKey();
        var trigger = await CreateAsync(BomTriggerEvents.Schedule, "{}", "FLAKY", $$"""{"key":"{{key}}"}""",
            new() { Schedule = new BomTriggerSchedule { Cron = "0 * * * *" } });
        var now = Context.Time.GetUtcNow();
        Context.Time.SetUtcNow(new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 30, 0, TimeSpan.Zero).AddHours(1));
        await NewScheduler().RunOnceAsync(default);
        var dueTick = Context.Time.GetUtcNow().AddMinutes(30);
        Context.Time.Advance(TimeSpan.FromMinutes(30) + TimeSpan.FromSeconds(5));

        var edited = await Context.Store.UpdateAsync(trigger.Id, new BomTriggerDefinition
        {
            Name = "every quarter hour",
            TriggerEvent = BomTriggerEvents.Schedule,
            ActionType = "FLAKY",
            ActionConfig = Json.Parse($$"""{"key":"{{key}}"}"""),
            Execution = new() { Schedule = new BomTriggerSchedule { Cron = "*/15 * * * *" } },
        });
        edited.Errors.Should().BeEmpty();
        await NewScheduler().RunOnceAsync(default);
        Context.Time.Advance(TimeSpan.FromMinutes(15));
        await NewScheduler().RunOnceAsync(default);

        var ticks = (await Queue.QueryAsync(new BomTriggerJobQuery { TriggerId = trigger.Id })).Items
            .Select(j => DateTimeOffset.Parse(j.Event.Data.GetProperty("scheduledAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture))
            .Order().ToList();
        ticks.Should().Equal([dueTick, dueTick.AddMinutes(15)], "the tick due at the edit runs once, and the new schedule goes on from it");
    }

    [Theory]
    [InlineData(MissedTickPolicy.RunOnce, 1)]
    [InlineData(MissedTickPolicy.Skip, 0)]
    public async Task ScheduledTrigger_TicksMissedWhileEverythingWasDown_RunOnceOrAreSkipped(MissedTickPolicy policy, int expected)
    {
        var key = NewKey();
        var trigger = await CreateAsync(BomTriggerEvents.Schedule, "{}", "FLAKY", $$"""{"key":"{{key}}"}""",
            new() { Schedule = new BomTriggerSchedule { Cron = "0 * * * *", MissedTicks = policy } });
        await NewScheduler().RunOnceAsync(default);

        Context.Time.Advance(TimeSpan.FromHours(10));
        await NewScheduler().RunOnceAsync(default);
        await RunDueAsync();

        (await Queue.QueryAsync(new BomTriggerJobQuery { TriggerId = trigger.Id })).Total.Should().Be(expected);
        var now = Context.Time.GetUtcNow();
        Context.Time.SetUtcNow(new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 10, TimeSpan.Zero).AddHours(1));
        await NewScheduler().RunOnceAsync(default);
        (await Queue.QueryAsync(new BomTriggerJobQuery { TriggerId = trigger.Id })).Total.Should().Be(expected + 1, "the schedule goes on after the gap");
    }

    [Fact]
    public async Task InvalidExecution_IsRejectedWithPointers_AndNothingIsStored()
    {
        var noSchedule = await Context.Store.CreateAsync(new BomTriggerDefinition { Name = "s", TriggerEvent = BomTriggerEvents.Schedule, ActionType = "FLAKY", ActionConfig = Json.Parse("""{"key":"x"}""") });
        var badCron = await Context.Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "c", TriggerEvent = BomTriggerEvents.Schedule, ActionType = "FLAKY", ActionConfig = Json.Parse("""{"key":"x"}"""),
            Execution = new() { Schedule = new() { Cron = "61 * * * *", TimeZone = "Mars/Olympus" }, MaxAttempts = 0 },
        });
        var delayWithoutProvider = await Context.Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "d", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = "FLAKY", ActionConfig = Json.Parse("""{"key":"x"}"""),
            Execution = new() { Delay = TimeSpan.FromHours(1), Schedule = new() { Cron = "* * * * *" } },
        });

        noSchedule.Errors.Select(e => e.Path).Should().Equal("/execution/schedule");
        badCron.Errors.Select(e => e.Path).Should().BeEquivalentTo("/execution/maxAttempts", "/execution/schedule/cron", "/execution/schedule/timeZone");
        delayWithoutProvider.Errors.Select(e => e.Path).Should().BeEquivalentTo("/execution/delay", "/execution/schedule");
        delayWithoutProvider.Errors.Single(e => e.Path == "/execution/delay").Message.Should().Contain(nameof(IBomEventDataProvider));
        (await Context.Store.ListAsync()).Should().BeEmpty();
        await FluentActions.Awaiting(() => Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.Schedule, 1, 1, "{}"))).Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public async Task Execution_RoundTripsThroughTheStoreAndItsHistory()
    {
        var execution = new BomTriggerExecution { Mode = TriggerExecutionMode.Queued, MaxAttempts = 7 };
        var trigger = await CreateAsync(BomTriggerEvents.TaskCreate, "{}", "FLAKY", """{"key":"x"}""", execution);

        (await Context.Store.GetAsync(trigger.Id))!.Execution.Should().Be(execution);
        (await Context.Store.GetHistoryAsync(trigger.Id)).Items.Single().Definition.Execution.Should().Be(execution);
    }

    [Fact]
    public async Task RunningWorker_PicksUpAQueuedDispatch_AndStopsCleanly()
    {
        await RecreateAsync(o => o.JobPollInterval = TimeSpan.FromMilliseconds(50));
        var key = NewKey();
        await CreateAsync(BomTriggerEvents.TaskCreate, "{}", "FLAKY", $$"""{"key":"{{key}}"}""", new() { Mode = TriggerExecutionMode.Queued });
        var worker = Context.Services.GetRequiredService<BomTriggerWorker>();
        await worker.StartAsync(default);
        try
        {
            await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 7, 1, "{}"));
            await FlakyAction.WaitForRunsAsync(key, 1, TimeSpan.FromSeconds(30));
        }
        finally
        {
            await worker.StopAsync(default);
        }

        FlakyAction.Runs(key).Should().ContainSingle();
    }

    private BomTriggerScheduler NewScheduler() => ActivatorUtilities.CreateInstance<BomTriggerScheduler>(Context.Services);

    private sealed class CurrentData : IBomEventDataProvider
    {
        public ConcurrentDictionary<int, string> Status { get; } = new();

        public Task<JsonElement?> GetCurrentDataAsync(BomTriggerEvent triggerEvent, CancellationToken cancellationToken) =>
            Task.FromResult<JsonElement?>(Status.TryGetValue(triggerEvent.TaskId, out var status) ? Json.Parse($$"""{"status":"{{status}}"}""") : null);
    }
}

/// <summary>Records (idempotency key, attempt) per config key; fails the first <c>failures</c> attempts.</summary>
public sealed class FlakyAction : IBomTriggerAction, IBomActionDescription
{
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<(string Key, int Attempt)>> Calls = new();

    public static string Description => "Fails the first attempts.";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } = [new("key", "string", true, "test key"), new("failures", "number", false, "how many attempts fail")];

    public static IReadOnlyList<string> CausedEvents => [];

    public static IReadOnlyList<(string Key, int Attempt)> Runs(string key) => [.. Calls.GetOrAdd(key, _ => new())];

    public static async Task WaitForRunsAsync(string key, int count, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (Runs(key).Count < count)
        {
            await Task.Delay(10, cancel.Token);
        }
    }

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
        if (context.RequireObjectOfDeclaredFields(config))
        {
            context.RequireString(config, "key");
        }
    }

    public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var calls = Calls.GetOrAdd(context.ConfigString("key"), _ => new());
        calls.Enqueue((context.IdempotencyKey, context.Attempt));
        return context.ConfigNumber("failures") is { } failures && calls.Count <= failures
            ? throw new InvalidOperationException($"flaky failure {calls.Count}")
            : Task.FromResult(ActionResult.Empty);
    }
}

public sealed class InMemoryJobQueueTests : JobQueueContract
{
    protected override void UseStore(BomTriggersBuilder builder) => builder.UseInMemoryStore();
}

public sealed class PostgresJobQueueTests(PostgresDatabase database) : JobQueueContract, IClassFixture<PostgresDatabase>
{
    protected override void UseStore(BomTriggersBuilder builder) =>
        builder.UsePostgres(database.ConnectionString, o => o.Schema = TriggerTestContext.NewSchema());
}
