using System.Text.Json;
using Dermag.BomTriggers.Tests.TestSupport;

namespace Dermag.BomTriggers.Tests.Storage;

/// <summary>History, soft delete and restore: every store keeps the same versions.</summary>
public abstract partial class TriggerStoreContract
{
    [Fact]
    public async Task CreateAsync_RecordsVersion1_WithAuthorTimeAndNoPrevious()
    {
        var created = (await Store.CreateAsync(Valid(), changedBy: 41)).Trigger!;

        created.Version.Should().Be(1);
        var history = await Store.GetHistoryAsync(created.Id);
        history.Total.Should().Be(1);
        var version = history.Items.Should().ContainSingle().Subject;
        (version.TriggerId, version.Version, version.Change, version.ChangedBy, version.Previous, version.RestoredFromVersion)
            .Should().Be((created.Id, 1, BomTriggerChange.Created, (int?)41, (BomTriggerDefinition?)null, (int?)null));
        version.ChangedAt.Should().BeCloseTo(Context.Time.GetUtcNow(), TimeSpan.FromMilliseconds(1));
        Shape(version.Definition).Should().BeEquivalentTo(Shape(Valid()), "the definition is stored whole, with its creator");
    }

    [Fact]
    public async Task CreateAsync_AuthorAndCreator_FillEachOther()
    {
        var byCreator = (await Store.CreateAsync(Valid("creator only") with { CreatedBy = 7 })).Trigger!;
        var byAuthor = (await Store.CreateAsync(Valid("author only") with { CreatedBy = null }, changedBy: 8)).Trigger!;
        var onBehalf = (await Store.CreateAsync(Valid("on behalf") with { CreatedBy = 7 }, changedBy: 8)).Trigger!;
        var anonymous = (await Store.CreateAsync(Valid("anonymous") with { CreatedBy = null }, CancellationToken.None)).Trigger!;

        async Task<(int? CreatedBy, int? ChangedBy)> Of(BomTrigger t) =>
            ((await Store.GetAsync(t.Id))!.CreatedBy, (await Store.GetHistoryAsync(t.Id)).Items.Single().ChangedBy);

        (await Of(byCreator)).Should().Be(((int?)7, (int?)7));
        (await Of(byAuthor)).Should().Be(((int?)8, (int?)8));
        (await Of(onBehalf)).Should().Be(((int?)7, (int?)8), "an admin may create a trigger on someone's behalf");
        (await Of(anonymous)).Should().Be(((int?)null, (int?)null));
    }

    [Fact]
    public async Task EveryChange_IsRecordedWithItsAuthorTimeAndPreviousDefinition_NewestFirst()
    {
        var created = (await Store.CreateAsync(Valid(), changedBy: 1)).Trigger!;
        var createdAt = Context.Time.GetUtcNow();
        Context.Time.Advance(TimeSpan.FromMinutes(1));
        var renamed = Valid("renamed", priority: 3) with { TriggerCondition = Json.Parse("""{"taskTypeCode":"FIBER"}""") };
        (await Store.UpdateAsync(created.Id, renamed, changedBy: 2)).Succeeded.Should().BeTrue();
        var updatedAt = Context.Time.GetUtcNow();
        Context.Time.Advance(TimeSpan.FromMinutes(1));
        (await Store.ToggleAsync(created.Id, changedBy: 3))!.Version.Should().Be(3);
        var toggledAt = Context.Time.GetUtcNow();
        Context.Time.Advance(TimeSpan.FromMinutes(1));
        (await Store.DeleteAsync(created.Id, changedBy: 4)).Should().BeTrue();
        var deletedAt = Context.Time.GetUtcNow();

        var history = await Store.GetHistoryAsync(created.Id);

        history.Total.Should().Be(4);
        history.Items.Select(v => (v.Version, v.Change, v.ChangedBy)).Should().Equal(
            (4, BomTriggerChange.Deleted, 4),
            (3, BomTriggerChange.Toggled, 3),
            (2, BomTriggerChange.Updated, 2),
            (1, BomTriggerChange.Created, 1));
        history.Items.Select(v => v.ChangedAt).Should().Equal(
            new[] { deletedAt, toggledAt, updatedAt, createdAt }.Select(Microseconds));
        var (deleted, toggled, updated, first) = (history.Items[0], history.Items[1], history.Items[2], history.Items[3]);
        Shape(updated.Previous!).Should().BeEquivalentTo(Shape(Valid()));
        Shape(updated.Definition).Should().BeEquivalentTo(Shape(renamed with { CreatedBy = 9 }), "the creator stays");
        Shape(toggled.Previous!).Should().BeEquivalentTo(Shape(updated.Definition));
        Shape(toggled.Definition).Should().BeEquivalentTo(Shape(updated.Definition with { IsActive = false }));
        Shape(deleted.Previous!).Should().BeEquivalentTo(Shape(toggled.Definition));
        Shape(deleted.Definition).Should().BeEquivalentTo(Shape(toggled.Definition), "a delete records the definition it deleted");
        first.Previous.Should().BeNull();
    }

    [Fact]
    public async Task GetHistoryAsync_PagesNewestFirst_AndAnUnknownTriggerHasNone()
    {
        var trigger = (await Store.CreateAsync(Valid())).Trigger!;
        for (var i = 1; i <= 4; i++)
        {
            await Store.UpdateAsync(trigger.Id, Valid($"v{i + 1}"));
        }

        var first = await Store.GetHistoryAsync(trigger.Id, limit: 2);
        var last = await Store.GetHistoryAsync(trigger.Id, limit: 2, offset: 4);
        var past = await Store.GetHistoryAsync(trigger.Id, limit: 2, offset: 10);
        var unknown = await Store.GetHistoryAsync(424242);

        (first.Total, first.Limit, first.Offset).Should().Be((5, 2, 0));
        first.Items.Select(v => (v.Version, v.Definition.Name)).Should().Equal((5, "v5"), (4, "v4"));
        last.Items.Select(v => v.Version).Should().Equal(1);
        (past.Items.Count, past.Total).Should().Be((0, 5));
        (unknown.Items.Count, unknown.Total).Should().Be((0, 0));
        (await Store.GetHistoryAsync(trigger.Id, limit: 0)).Items.Should().ContainSingle("the limit is clamped to at least 1");
    }

    [Fact]
    public async Task DeleteAsync_IsSoft_LogsSurvive_AndTheTriggerNoLongerDispatchesListsOrChanges()
    {
        var created = (await Store.CreateAsync(Valid())).Trigger!;
        var other = (await Store.CreateAsync(Valid("other"))).Trigger!;
        await WriteLogsAsync(created.Id, 2, TimeSpan.Zero, success: true);
        (await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 77, 4, """{"taskTypeCode":"LAN"}""")))
            .Outcomes.Select(o => o.TriggerId).Should().Equal(created.Id, other.Id);
        Context.Time.Advance(TimeSpan.FromMinutes(1));

        (await Store.DeleteAsync(created.Id, changedBy: 5)).Should().BeTrue();

        (await Store.GetAsync(created.Id)).Should().BeNull();
        (await Store.ListAsync()).Select(t => t.Id).Should().Equal(other.Id);
        (await Store.ListAsync(new BomTriggerQuery { IsActive = true, TriggerEvent = BomTriggerEvents.TaskCreate })).Select(t => t.Id).Should().Equal(other.Id);
        var report = await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 78, 4, """{"taskTypeCode":"LAN"}"""));
        report.Outcomes.Select(o => o.TriggerId).Should().Equal(other.Id);
        (await Context.Engine.TestAsync(created.Id, new TriggerTestRequest(Json.Parse("{}")))).Found.Should().BeFalse();

        var logs = await Store.GetLogsAsync(created.Id);
        logs.Total.Should().Be(3, "the two written before and the dispatch's row survive the delete");
        (await Store.GetLogsAsync(other.Id)).Total.Should().Be(2, "the other trigger ran in both dispatches");

        var deleted = (await Store.ListAsync(new BomTriggerQuery { Deleted = true })).Should().ContainSingle().Subject;
        (deleted.Id, deleted.Name, deleted.DeletedBy, deleted.Version, deleted.Uuid).Should().Be((created.Id, "Add cable", (int?)5, 2, created.Uuid));
        deleted.DeletedAt.Should().BeCloseTo(Context.Time.GetUtcNow(), TimeSpan.FromMilliseconds(1));
        (await Store.ListAsync(new BomTriggerQuery { Deleted = true, TriggerEvent = BomTriggerEvents.MaterialAdd })).Should().BeEmpty();
        (await Store.ListAsync()).Should().OnlyContain(t => t.DeletedAt == null && t.DeletedBy == null);

        (await Store.DeleteAsync(created.Id)).Should().BeFalse("it is already deleted");
        (await Store.ToggleAsync(created.Id)).Should().BeNull();
        var update = await Store.UpdateAsync(created.Id, Valid("revived"));
        update.NotFound.Should().BeTrue();
        update.Errors.Should().ContainSingle().Which.ToString().Should().Be($"/id: trigger {created.Id} does not exist or is deleted");
        (await Store.GetHistoryAsync(created.Id)).Total.Should().Be(2, "changes refused on a deleted trigger record nothing");
    }

    [Fact]
    public async Task RestoreAsync_OldVersion_IsWrittenBackAsANewVersion()
    {
        var created = (await Store.CreateAsync(Valid())).Trigger!;
        Context.Time.Advance(TimeSpan.FromMinutes(1));
        await Store.UpdateAsync(created.Id, Valid("renamed", priority: 2) with { TriggerCondition = Json.Parse("""{"taskTypeCode":"FIBER"}""") });
        await Store.ToggleAsync(created.Id);
        Context.Time.Advance(TimeSpan.FromMinutes(1));

        var result = await Store.RestoreAsync(created.Id, version: 1, changedBy: 6);

        result.Succeeded.Should().BeTrue(string.Join("; ", result.Errors));
        var restored = result.Trigger!;
        (restored.Id, restored.Uuid, restored.Name, restored.Priority, restored.IsActive, restored.Version, restored.CreatedBy)
            .Should().Be((created.Id, created.Uuid, "Add cable", 10, true, 4, (int?)9));
        restored.CreatedAt.Should().Be(created.CreatedAt);
        restored.UpdatedAt.Should().BeCloseTo(Context.Time.GetUtcNow(), TimeSpan.FromMilliseconds(1));
        (await Store.GetAsync(created.Id)).Should().BeEquivalentTo(restored, o => o.Excluding(t => t.TriggerCondition).Excluding(t => t.ActionConfig));

        var history = await Store.GetHistoryAsync(created.Id);
        var latest = history.Items[0];
        (latest.Version, latest.Change, latest.ChangedBy, latest.RestoredFromVersion).Should().Be((4, BomTriggerChange.Restored, (int?)6, (int?)1));
        Shape(latest.Definition).Should().BeEquivalentTo(Shape(history.Items[3].Definition));
        Shape(latest.Previous!).Should().BeEquivalentTo(Shape(history.Items[1].Definition));
        history.Items.Where(v => v.Change != BomTriggerChange.Restored).Should().OnlyContain(v => v.RestoredFromVersion == null);

        var report = await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 5, 4, """{"taskTypeCode":"LAN"}"""));
        report.Outcomes.Should().ContainSingle().Which.Kind.Should().Be(TriggerOutcomeKind.Executed, "the engine runs the restored condition");
    }

    [Fact]
    public async Task RestoreAsync_DeletedTrigger_UndeletesIt()
    {
        var created = (await Store.CreateAsync(Valid())).Trigger!;
        await WriteLogsAsync(created.Id, 1, TimeSpan.Zero, success: true);
        await Store.DeleteAsync(created.Id, changedBy: 3);

        var result = await Store.RestoreAsync(created.Id, version: 2, changedBy: 4);

        result.Succeeded.Should().BeTrue(string.Join("; ", result.Errors));
        result.Trigger!.DeletedAt.Should().BeNull();
        result.Trigger.DeletedBy.Should().BeNull();
        result.Trigger.Version.Should().Be(3);
        (await Store.GetAsync(created.Id))!.Name.Should().Be("Add cable");
        (await Store.ListAsync()).Select(t => t.Id).Should().Equal(created.Id);
        (await Store.ListAsync(new BomTriggerQuery { Deleted = true })).Should().BeEmpty();
        (await Store.GetLogsAsync(created.Id)).Total.Should().Be(1);
        var latest = (await Store.GetHistoryAsync(created.Id)).Items[0];
        (latest.Change, latest.ChangedBy, latest.RestoredFromVersion).Should().Be((BomTriggerChange.Restored, (int?)4, (int?)2));
        (await Context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 6, 4, """{"taskTypeCode":"LAN"}""")))
            .Outcomes.Should().ContainSingle().Which.TriggerId.Should().Be(created.Id);
        (await Store.ToggleAsync(created.Id))!.Version.Should().Be(4, "a restored trigger changes like any other");
    }

    [Fact]
    public async Task RestoreAsync_VersionNoLongerValid_ReturnsEveryErrorAndChangesNothing()
    {
        var created = (await Store.CreateAsync(Valid())).Trigger!;
        // Version 2 was saved while the host still registered RETIRED_ACTION (written past today's validation on purpose).
        await Context.Repository.UpdateAsync(
            created.Id,
            Valid() with { ActionType = "RETIRED_ACTION", ActionConfig = Json.Parse("""{"x":1}"""), TriggerCondition = Json.Parse("""{"status":5}""") },
            2, Context.Time.GetUtcNow(), default);
        await Store.UpdateAsync(created.Id, Valid("current"));
        await Store.DeleteAsync(created.Id);
        var before = await Store.ListAsync(new BomTriggerQuery { Deleted = true });

        var result = await Store.RestoreAsync(created.Id, version: 2, changedBy: 1);

        result.Succeeded.Should().BeFalse();
        result.NotFound.Should().BeFalse();
        result.Errors.Select(e => e.Path).Should().BeEquivalentTo("/triggerCondition/status", "/actionType");
        result.Errors.Single(e => e.Path == "/actionType").Message.Should().Contain("unknown action type 'RETIRED_ACTION'");
        (await Store.GetHistoryAsync(created.Id)).Total.Should().Be(4);
        (await Store.ListAsync(new BomTriggerQuery { Deleted = true })).Should().BeEquivalentTo(before, o => o.Excluding(t => t.TriggerCondition).Excluding(t => t.ActionConfig));
        (await Store.GetAsync(created.Id)).Should().BeNull("a failed restore does not undelete");
    }

    [Fact]
    public async Task RestoreAsync_UnknownTriggerOrVersion_IsNotFoundWithTheReason()
    {
        var created = (await Store.CreateAsync(Valid())).Trigger!;
        await Store.UpdateAsync(created.Id, Valid("v2"));

        var unknownTrigger = await Store.RestoreAsync(424242, 1);
        var unknownVersion = await Store.RestoreAsync(created.Id, 3);
        var zero = await Store.RestoreAsync(created.Id, 0);

        unknownTrigger.NotFound.Should().BeTrue();
        unknownTrigger.Errors.Should().ContainSingle().Which.ToString().Should().Be("/id: trigger 424242 does not exist");
        unknownVersion.NotFound.Should().BeTrue();
        unknownVersion.Errors.Should().ContainSingle().Which.ToString().Should().Be($"/version: trigger {created.Id} has no version 3; its versions are 1 to 2");
        zero.NotFound.Should().BeTrue();
        (await Store.GetHistoryAsync(created.Id)).Total.Should().Be(2);
    }

    [Fact]
    public async Task ConcurrentUpdatesTogglesAndADelete_OfOneTrigger_LeaveAGaplessConsistentHistory()
    {
        var trigger = (await Store.CreateAsync(Valid(), changedBy: 1)).Trigger!;
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var changes = Enumerable.Range(100, 30).Select(author => Task.Run(async () =>
        {
            await go.Task;
            var done = author switch
            {
                115 => await Store.DeleteAsync(trigger.Id, author),
                _ when author % 4 == 0 => await Store.ToggleAsync(trigger.Id, author) is not null,
                _ => (await Store.UpdateAsync(trigger.Id, Valid($"by {author}", priority: author), author)).Succeeded,
            };
            return (Author: author, Done: done);
        })).ToList();
        go.SetResult();
        var results = await Task.WhenAll(changes);

        var history = (await Store.GetHistoryAsync(trigger.Id, limit: 1000)).Items.Reverse().ToList();

        results.Single(r => r.Author == 115).Done.Should().BeTrue("the trigger existed until it was deleted");
        history.Select(v => v.Version).Should().Equal(Enumerable.Range(1, history.Count), "versions are gapless and unique");
        history.Skip(1).Select(v => v.ChangedBy).Should().BeEquivalentTo(results.Where(r => r.Done).Select(r => (int?)r.Author), "each change that reported success has one version");
        history[^1].Change.Should().Be(BomTriggerChange.Deleted, "nothing changes a deleted trigger");
        for (var i = 1; i < history.Count; i++)
        {
            Shape(history[i].Previous!).Should().BeEquivalentTo(Shape(history[i - 1].Definition), $"version {i + 1} starts from version {i}");
            if (history[i].Change == BomTriggerChange.Toggled)
            {
                history[i].Definition.IsActive.Should().Be(!history[i - 1].Definition.IsActive);
            }
        }

        var deleted = (await Store.ListAsync(new BomTriggerQuery { Deleted = true })).Should().ContainSingle().Subject;
        deleted.Version.Should().Be(history.Count);
        Shape(BomTriggerDefinition.From(deleted)).Should().BeEquivalentTo(Shape(history[^1].Definition));
    }

    [Fact]
    public async Task SeedExampleTriggers_RecordsCreatedVersions_AndADeletedExampleStaysDeleted()
    {
        await Context.InternalStore.SeedExampleTriggersAsync(default);
        var cable = (await Store.ListAsync())[0];
        (await Store.GetHistoryAsync(cable.Id)).Items.Should().ContainSingle().Which.Change.Should().Be(BomTriggerChange.Created);

        await Store.DeleteAsync(cable.Id);

        (await Context.InternalStore.SeedExampleTriggersAsync(default)).Should().Be(0, "the next start must not bring a deleted example back");
        (await Store.ListAsync()).Should().HaveCount(2);
    }

    private static DateTimeOffset Microseconds(DateTimeOffset value) => new(value.Ticks - (value.Ticks % 10), value.Offset);

    /// <summary>A definition as comparable values: JSON canonical (keys sorted, no spaces), since jsonb reorders keys.</summary>
    private static object Shape(BomTriggerDefinition d) => new
    {
        d.Name,
        d.Description,
        d.TriggerEvent,
        Condition = Canonical(d.TriggerCondition ?? Json.Parse("{}")),
        d.ActionType,
        Config = Canonical(d.ActionConfig ?? Json.Parse("{}")),
        d.SourceTaskTypeId,
        d.TargetTaskTypeId,
        d.Priority,
        d.IsActive,
        d.CreatedBy,
    };

    private static string Canonical(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "{" + string.Join(",", e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => JsonSerializer.Serialize(p.Name) + ":" + Canonical(p.Value))) + "}",
        JsonValueKind.Array => "[" + string.Join(",", e.EnumerateArray().Select(Canonical)) + "]",
        _ => e.GetRawText(),
    };
}
