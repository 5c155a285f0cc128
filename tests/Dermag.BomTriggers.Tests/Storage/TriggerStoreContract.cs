using Microsoft.Extensions.DependencyInjection;
using Dermag.BomTriggers.Tests.TestSupport;
using Dermag.Testing;

namespace Dermag.BomTriggers.Tests.Storage;

/// <summary>The store contract; every store runs it. History, soft delete and restore are in TriggerStoreContract.History.cs.</summary>
public abstract partial class TriggerStoreContract : IAsyncLifetime
{
    private TriggerTestContext? _context;

    protected TriggerTestContext Context => _context!;

    protected IBomTriggerManager Store => Context.Store;

    protected abstract void UseStore(BomTriggersBuilder builder);

    public async Task InitializeAsync() => _context = await TriggerTestContext.CreateAsync(UseStore);

    public async Task DisposeAsync() => await Context.DisposeAsync();

    private static BomTriggerDefinition Valid(string name = "Add cable", string triggerEvent = BomTriggerEvents.TaskCreate, int priority = 10) => new()
    {
        Name = name,
        Description = "desc",
        TriggerEvent = triggerEvent,
        TriggerCondition = Json.Parse("""{"taskTypeCode":"LAN"}"""),
        ActionType = BomTriggerActions.AddMaterial,
        ActionConfig = Json.Parse("""{"materialName":"Kabel UTP Cat6","defaultQuantity":100,"unit":"m"}"""),
        Priority = priority,
        SourceTaskTypeId = 4,
        TargetTaskTypeId = 5,
        CreatedBy = 9,
    };

    [Fact]
    public async Task CreateAsync_ValidDefinition_StoresEveryColumn()
    {
        var result = await Store.CreateAsync(Valid());

        result.Succeeded.Should().BeTrue();
        var stored = await Store.GetAsync(result.Trigger!.Id);
        stored.Should().NotBeNull();
        stored!.Name.Should().Be("Add cable");
        stored.Description.Should().Be("desc");
        stored.TriggerEvent.Should().Be(BomTriggerEvents.TaskCreate);
        stored.TriggerCondition.GetProperty("taskTypeCode").GetString().Should().Be("LAN");
        stored.ActionConfig.GetProperty("defaultQuantity").GetInt32().Should().Be(100);
        (stored.SourceTaskTypeId, stored.TargetTaskTypeId, stored.CreatedBy, stored.Priority, stored.IsActive).Should().Be((4, 5, 9, 10, true));
        stored.Uuid.Should().NotBeEmpty();
        stored.CreatedAt.Should().BeCloseTo(Context.Time.GetUtcNow(), TimeSpan.FromMilliseconds(1));
        stored.Should().BeEquivalentTo(result.Trigger, o => o.Excluding(t => t.TriggerCondition).Excluding(t => t.ActionConfig));
    }

    [Fact]
    public async Task CreateAsync_NullConditionAndConfig_StoresEmptyObjects()
    {
        var result = await Store.CreateAsync(new BomTriggerDefinition { Name = "cost", TriggerEvent = BomTriggerEvents.MaterialAdd, ActionType = BomTriggerActions.CalculateCost });

        var stored = await Store.GetAsync(result.Trigger!.Id);
        stored!.TriggerCondition.GetRawText().Should().Be("{}");
        stored.ActionConfig.GetRawText().Should().Be("{}");
    }

    [Fact]
    public async Task CreateAsync_InvalidDefinition_ReturnsEveryProblemAndStoresNothing()
    {
        var result = await Store.CreateAsync(new BomTriggerDefinition
        {
            Name = "",
            TriggerEvent = BomTriggerEvents.MaterialAdd,
            TriggerCondition = Json.Parse("""{"quantity":{"$gt":"5"}}"""),
            ActionType = BomTriggerActions.AddMaterial,
            ActionConfig = Json.Parse("""{"defaultQuantity":-1,"colour":"red"}"""),
            SourceTaskTypeId = 0,
        });

        result.Succeeded.Should().BeFalse();
        result.Errors.Select(e => e.ToString()).Should().BeEquivalentTo(
            "/name: is required",
            "/triggerCondition/quantity/$gt: expected a number",
            "/actionConfig/colour: unknown property; ADD_MATERIAL takes materialName, defaultQuantity, unit, category",
            "/actionConfig/materialName: is required",
            "/actionConfig/defaultQuantity: expected a positive number",
            "/sourceTaskTypeId: expected a positive integer");
        (await Store.ListAsync()).Should().BeEmpty();
    }

    // What PostgreSQL's jsonb cannot store or would silently change, and what System.Text.Json cannot read as a string,
    // is a validation error with a pointer on every store, never an exception and never stored.
    public static TheoryData<string, string, string, string, string> UnstorableJson => new()
    {
        // Unpaired UTF-16 surrogates.
        { """{"title":"\ud800"}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/title", "contains an unpaired UTF-16 surrogate (\\ud800)" },
        { """{"title":{"$contains":"a\udc00"}}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/title/$contains", "contains an unpaired UTF-16 surrogate (\\udc00)" },
        { """{"$any":[{"title":"\ud83d\ud83d"}]}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/$any/0/title", "contains an unpaired UTF-16 surrogate (\\ud83d)" },
        { """{"ti\ud800tle":"x"}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/ti\\ud800tle", "the key contains an unpaired UTF-16 surrogate" },
        { "{}", "NOTIFY", """{"message":"\ud83d","recipients":["a"]}""", "/actionConfig/message", "contains an unpaired UTF-16 surrogate" },
        { "{}", "NOTIFY", """{"message":"m","recipients":["\udfff"]}""", "/actionConfig/recipients/0", "contains an unpaired UTF-16 surrogate" },

        // Duplicate keys: the in-memory store would keep both, jsonb only the last.
        { """{"status":"a","status":"b"}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/status", "duplicate key" },
        { """{"status":"a","st\u0061tus":"b"}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/status", "duplicate key" },
        { """{"title":{"$ne":"a","$ne":"b"}}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/title/$ne", "duplicate key" },
        { """{"status":{"$changed":{"to":"a","to":"b"}}}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/status/$changed/to", "duplicate key" },
        { "{}", "NOTIFY", """{"message":"a","recipients":["x"],"message":"b"}""", "/actionConfig/message", "duplicate key" },
        { "{}", "EXPLODE", """{"deep":[{"k":1,"k":2}]}""", "/actionConfig/deep/0/k", "duplicate key" },

        // U+0000, which jsonb rejects (22P05).
        { """{"title":"a\u0000b"}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/title", "contains U+0000" },
        { """{"ti\u0000tle":"x"}""", "NOTIFY", """{"message":"m","recipients":["a"]}""", "/triggerCondition/ti\\u0000tle", "the key contains U+0000" },
        { "{}", "NOTIFY", """{"message":"\u0000","recipients":["a"]}""", "/actionConfig/message", "contains U+0000" },

        // Numbers beyond numeric's range anywhere in the definition.
        { "{}", "EXPLODE", """{"n":1e200000}""", "/actionConfig/n", "number out of range" },
    };

    [Theory]
    [MemberData(nameof(UnstorableJson))]
    public async Task CreateAsync_UnstorableJson_IsAValidationErrorWithAPointer(string condition, string actionType, string config, string path, string message)
    {
        var definition = new BomTriggerDefinition
        {
            Name = "unstorable",
            TriggerEvent = BomTriggerEvents.StatusChange,
            TriggerCondition = Json.Parse(condition),
            ActionType = actionType,
            ActionConfig = Json.Parse(config),
        };

        var result = await Store.CreateAsync(definition);
        var existing = (await Store.CreateAsync(Valid())).Trigger!;
        var update = await Store.UpdateAsync(existing.Id, definition);

        result.Succeeded.Should().BeFalse();
        result.Errors.Should().ContainSingle().Which.Path.Should().Be(path);
        result.Errors[0].Message.Should().StartWith(message);
        update.Errors.Should().Equal(result.Errors);
        (await Store.ListAsync()).Should().ContainSingle().Which.Name.Should().Be("Add cable");
    }

    [Fact]
    public async Task CreateAsync_UnstorableNameOrDescription_IsAValidationError()
    {
        var result = await Store.CreateAsync(Valid("nul\0name") with { Description = "half \ud83d of an emoji" });

        result.Errors.Select(e => e.ToString()).Should().BeEquivalentTo(
            "/name: contains U+0000, which PostgreSQL cannot store",
            "/description: contains an unpaired UTF-16 surrogate (\\ud83d); text must be valid Unicode");
        (await Store.ListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task CreateAsync_UnknownEventAndAction_AreReportedWithPaths()
    {
        var result = await Store.CreateAsync(new BomTriggerDefinition { Name = "x", TriggerEvent = "ON_TASK_DELETE", ActionType = "SEND_FAX" });

        result.Errors.Select(e => e.Path).Should().BeEquivalentTo("/triggerEvent", "/actionType");
        result.Errors.Single(e => e.Path == "/actionType").Message.Should().Contain("unknown action type 'SEND_FAX'").And.Contain("ADD_MATERIAL");
    }

    [Fact]
    public async Task CreateAsync_CustomRegisteredAction_IsStorable()
    {
        var result = await Store.CreateAsync(new BomTriggerDefinition { Name = "custom", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = "EXPLODE" });

        result.Succeeded.Should().BeTrue();
        (await Store.GetAsync(result.Trigger!.Id))!.ActionType.Should().Be("EXPLODE");
    }

    [Fact]
    public async Task CreateAsync_CustomActionConfigValidation_IsApplied()
    {
        var result = await Store.CreateAsync(new BomTriggerDefinition { Name = "custom", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = "EXPLODE", ActionConfig = Json.Parse("""{"bad":1}""") });

        result.Errors.Should().ContainSingle().Which.ToString().Should().Be("/actionConfig/bad: not allowed");
    }

    [Fact]
    public async Task ListAsync_OrdersByPriorityThenId_AndFilters()
    {
        var low = (await Store.CreateAsync(Valid("low", priority: 1))).Trigger!;
        var high = (await Store.CreateAsync(Valid("high", priority: 50))).Trigger!;
        var sameA = (await Store.CreateAsync(Valid("sameA", BomTriggerEvents.MaterialAdd, priority: 10))).Trigger!;
        var sameB = (await Store.CreateAsync(Valid("sameB", BomTriggerEvents.MaterialAdd, priority: 10))).Trigger!;
        await Store.ToggleAsync(sameB.Id);

        (await Store.ListAsync()).Select(t => t.Name).Should().Equal("high", "sameA", "sameB", "low");
        (await Store.ListAsync(new BomTriggerQuery { TriggerEvent = BomTriggerEvents.MaterialAdd })).Select(t => t.Id).Should().Equal(sameA.Id, sameB.Id);
        (await Store.ListAsync(new BomTriggerQuery { IsActive = false })).Select(t => t.Id).Should().Equal(sameB.Id);
        (await Store.ListAsync(new BomTriggerQuery { IsActive = true, TriggerEvent = BomTriggerEvents.TaskCreate })).Select(t => t.Id).Should().Equal(high.Id, low.Id);
    }

    [Fact]
    public async Task UpdateAsync_Valid_ReplacesFieldsAndKeepsIdentity()
    {
        var created = (await Store.CreateAsync(Valid())).Trigger!;
        Context.Time.Advance(TimeSpan.FromMinutes(5));

        var result = await Store.UpdateAsync(created.Id, Valid("renamed", priority: 3) with { CreatedBy = 77 });

        result.Succeeded.Should().BeTrue();
        var stored = await Store.GetAsync(created.Id);
        stored!.Name.Should().Be("renamed");
        stored.Priority.Should().Be(3);
        stored.Uuid.Should().Be(created.Uuid);
        stored.CreatedAt.Should().Be(created.CreatedAt);
        stored.CreatedBy.Should().Be(9, "the creator does not change on update");
        stored.UpdatedAt.Should().BeAfter(created.UpdatedAt);
    }

    [Fact]
    public async Task UpdateAsync_Invalid_LeavesTheStoredTriggerUnchanged()
    {
        var created = (await Store.CreateAsync(Valid())).Trigger!;

        var result = await Store.UpdateAsync(created.Id, Valid() with { TriggerCondition = Json.Parse("""{"status":1}""") });

        result.Errors.Should().ContainSingle().Which.Path.Should().Be("/triggerCondition/status");
        (await Store.GetAsync(created.Id))!.TriggerCondition.GetRawText().Should().Contain("LAN");
    }

    [Fact]
    public async Task UpdateAsync_UnknownId_IsNotFound()
    {
        var result = await Store.UpdateAsync(424242, Valid());

        result.NotFound.Should().BeTrue();
        result.Succeeded.Should().BeFalse();
    }

    [Fact]
    public async Task ToggleAsync_FlipsActive_AndUnknownIdIsNull()
    {
        var created = (await Store.CreateAsync(Valid())).Trigger!;

        (await Store.ToggleAsync(created.Id))!.IsActive.Should().BeFalse();
        (await Store.ToggleAsync(created.Id))!.IsActive.Should().BeTrue();
        (await Store.ToggleAsync(999999)).Should().BeNull();
    }

    [Fact]
    public async Task GetLogsAsync_PagesNewestFirst_WithTotal()
    {
        var trigger = (await Store.CreateAsync(Valid())).Trigger!;
        await WriteLogsAsync(trigger.Id, 5, TimeSpan.Zero, success: true);

        var first = await Store.GetLogsAsync(trigger.Id, limit: 2, offset: 0);
        var last = await Store.GetLogsAsync(trigger.Id, limit: 2, offset: 4);
        var past = await Store.GetLogsAsync(trigger.Id, limit: 2, offset: 10);

        first.Total.Should().Be(5);
        first.Items.Select(l => l.TaskId).Should().Equal(5, 4);
        last.Items.Select(l => l.TaskId).Should().Equal(1);
        past.Items.Should().BeEmpty();
        past.Total.Should().Be(5);
        first.Items[0].Outcome.Should().Be("Executed");
        first.Items[0].InputData!.Value.GetProperty("n").GetInt32().Should().Be(5);
        first.Items[0].Depth.Should().Be(1);
        first.Items[0].Duration.Should().Be(TimeSpan.FromMilliseconds(12.5));
    }

    [Fact]
    public async Task GetRecentFailuresAsync_ReturnsOnlyFailuresNewestFirst()
    {
        var trigger = (await Store.CreateAsync(Valid())).Trigger!;
        await WriteLogsAsync(trigger.Id, 3, TimeSpan.Zero, success: true);
        await WriteLogsAsync(trigger.Id, 2, TimeSpan.Zero, success: false);

        var failures = await Store.GetRecentFailuresAsync(10);

        failures.Should().HaveCount(2).And.OnlyContain(l => !l.Success && l.ErrorMessage == "boom");
        failures[0].ExecutedAt.Should().BeOnOrAfter(failures[1].ExecutedAt);
    }

    [Fact]
    public async Task CleanupAsync_RemovesOnlyLogsOlderThanTheRetention()
    {
        var trigger = (await Store.CreateAsync(Valid())).Trigger!;
        await WriteLogsAsync(trigger.Id, 2, TimeSpan.FromDays(100), success: true);
        await WriteLogsAsync(trigger.Id, 3, TimeSpan.FromDays(1), success: true);

        (await Store.CleanupAsync()).Should().Be(2, "the default retention is 90 days");
        (await Store.GetLogsAsync(trigger.Id)).Total.Should().Be(3);
        (await Store.CleanupAsync()).Should().Be(0);
    }

    [Fact]
    public async Task ListEventsAndActions_DescribeFieldsAndConfig()
    {
        Store.ListEvents().Select(e => e.Name).Should().Equal([.. BomTriggerEvents.All, BomTriggerEvents.Schedule]);
        Store.ListEvents().Single(e => e.Name == BomTriggerEvents.MaterialAdd).Fields.Should().Contain(f => f.Path == "quantity" && f.Type == BomFieldType.Number);
        var actions = Store.ListActions();
        actions.Where(a => a.IsBuiltIn).Select(a => a.ActionType).Should().BeEquivalentTo(BomTriggerActions.All);
        actions.Single(a => a.ActionType == BomTriggerActions.AddMaterial).ConfigFields.Should().Contain(f => f.Name == "defaultQuantity" && f.Required);
        actions.Single(a => a.ActionType == BomTriggerActions.AddMaterial).CausedEvents.Should().Equal(BomTriggerEvents.MaterialAdd);
        actions.Should().Contain(a => a.ActionType == "SLOW" && !a.IsBuiltIn);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task SeedExampleTriggers_InsertsTheOriginalThreeOnce()
    {
        (await Context.InternalStore.SeedExampleTriggersAsync(default)).Should().Be(3);
        (await Context.InternalStore.SeedExampleTriggersAsync(default)).Should().Be(0, "seeding is idempotent");

        var all = await Store.ListAsync();
        all.Select(t => (t.Name, t.TriggerEvent, t.ActionType, t.Priority)).Should().Equal(
            ("Auto-add UTP cable to LAN tasks", BomTriggerEvents.TaskCreate, BomTriggerActions.AddMaterial, 10),
            ("Recalculate cost after material add", BomTriggerEvents.MaterialAdd, BomTriggerActions.CalculateCost, 8),
            ("Notify on task completion", BomTriggerEvents.StatusChange, BomTriggerActions.Notify, 5));
        all[0].TriggerCondition.EnumerateObject().Select(p => (p.Name, p.Value.GetString())).Should().Equal(("taskTypeCode", "LAN"));
        all[1].TriggerCondition.EnumerateObject().Should().BeEmpty();
        all[2].TriggerCondition.GetProperty("status").GetString().Should().Be("completed");
        all[0].ActionConfig.GetProperty("materialName").GetString().Should().Be("Kabel UTP Cat6");
        all[0].ActionConfig.GetProperty("category").GetString().Should().Be("network");
        all[2].ActionConfig.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()).Should().Equal("manager", "coordinator");
    }

    [Fact]
    public async Task QueryLogsAsync_ByTaskChainOutcomeAndTime_FiltersPagesAndCounts()
    {
        var first = (await Store.CreateAsync(Valid())).Trigger!;
        var second = (await Store.CreateAsync(Valid() with { Name = "second" })).Trigger!;
        var chain = Guid.NewGuid();
        var at = new DateTimeOffset(2031, 5, 1, 12, 0, 0, TimeSpan.Zero);
        NewTriggerLog Log(int trigger, int task, int minutes, string outcome, Guid correlation) => new(
            trigger, task, at.AddMinutes(minutes), outcome == "Executed", null, null, outcome == "Failed" ? "boom" : null, outcome, 1, correlation, 0);
        await Context.Repository.WriteLogsAsync(
            [
                Log(first.Id, 7, 0, "Executed", chain),
                Log(second.Id, 7, 1, "Failed", chain),
                Log(first.Id, 8, 2, "Executed", Guid.NewGuid()),
                Log(second.Id, 8, 3, "SuppressedLoop", Guid.NewGuid()),
                Log(first.Id, 9, 60, "Failed", Guid.NewGuid()),
            ],
            null,
            default);

        (await Store.QueryLogsAsync(new BomTriggerLogQuery { TaskId = 7 })).Items.Select(l => l.TriggerId).Should().Equal(second.Id, first.Id);
        (await Store.QueryLogsAsync(new BomTriggerLogQuery { CorrelationId = chain })).Total.Should().Be(2);
        (await Store.QueryLogsAsync(new BomTriggerLogQuery { Outcome = TriggerOutcomeKind.Failed })).Items.Select(l => l.TaskId).Should().Equal(9, 7);
        (await Store.QueryLogsAsync(new BomTriggerLogQuery { From = at.AddMinutes(1), To = at.AddMinutes(3) })).Items.Select(l => l.TaskId).Should().Equal(8, 7);
        (await Store.QueryLogsAsync(new BomTriggerLogQuery { From = at.ToOffset(TimeSpan.FromHours(2)).AddMinutes(59) })).Items.Should().ContainSingle("offsets other than UTC mean the same instant")
            .Which.TaskId.Should().Be(9);
        (await Store.QueryLogsAsync(new BomTriggerLogQuery { TriggerId = first.Id, Outcome = TriggerOutcomeKind.Executed })).Total.Should().Be(2);

        var page = await Store.QueryLogsAsync(new BomTriggerLogQuery { Limit = 2, Offset = 2 });
        page.Items.Select(l => l.TaskId).Should().Equal(8, 7);
        page.Total.Should().Be(5);
        var pastTheEnd = await Store.QueryLogsAsync(new BomTriggerLogQuery { TaskId = 8, Offset = 10 });
        pastTheEnd.Items.Should().BeEmpty();
        pastTheEnd.Total.Should().Be(2, "the total is right even for a page past the end");
        (await Store.QueryLogsAsync(new BomTriggerLogQuery { Limit = 0 })).Limit.Should().Be(1, "the page size is clamped");
    }

    [Fact]
    public async Task CreateAsync_DefinitionFromJsonTextOrJsonNode_StoresTheSameCondition()
    {
        var fromText = new BomTriggerDefinition { Name = "text", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = BomTriggerActions.AddMaterial }
            .WithCondition("""{"taskTypeCode":"LAN"}""")
            .WithActionConfig("""{"materialName":"Kabel UTP Cat6","defaultQuantity":100}""");
        var fromNode = fromText
            .WithCondition(new System.Text.Json.Nodes.JsonObject { ["taskTypeCode"] = "LAN" })
            .WithActionConfig(new System.Text.Json.Nodes.JsonObject { ["materialName"] = "Kabel UTP Cat6", ["defaultQuantity"] = 100 }) with { Name = "node" };

        var a = (await Store.CreateAsync(fromText)).Trigger!;
        var b = (await Store.CreateAsync(fromNode)).Trigger!;

        a.TriggerCondition.GetRawText().Should().Be(b.TriggerCondition.GetRawText());
        a.ActionConfig.GetRawText().Should().Be(b.ActionConfig.GetRawText());
        var malformed = () => fromText.WithCondition("""{"taskTypeCode": }""");
        malformed.Should().Throw<ArgumentException>().WithMessage("Not well-formed JSON (line 1, byte *").And.ParamName.Should().Be("json");
    }

    private async Task WriteLogsAsync(int triggerId, int count, TimeSpan age, bool success)
    {
        var now = TimeProvider.System.GetUtcNow() - age;
        var logs = Enumerable.Range(1, count).Select(i => new NewTriggerLog(
            triggerId, i, now.AddSeconds(i), success, Json.Parse($$"""{"n":{{i}}}"""), success ? Json.Parse("""{"ok":true}""") : null, success ? null : "boom",
            success ? "Executed" : "Failed", 12.5, Guid.NewGuid(), 1)).ToList();
        await Context.Repository.WriteLogsAsync(logs, null, default);
    }
}

public sealed class InMemoryTriggerStoreTests : TriggerStoreContract
{
    protected override void UseStore(BomTriggersBuilder builder) => builder.UseInMemoryStore();

    protected override Task<TriggerTestContext> CreateSecondInstanceAsync()
    {
        var shared = Context.Services.GetRequiredService<InMemoryTriggerStore>();
        return TriggerTestContext.CreateAsync(b =>
        {
            b.Services.AddSingleton(shared);
            b.UseInMemoryStore();
        });
    }
}

public sealed class PostgresTriggerStoreTests(PostgresDatabase database) : TriggerStoreContract, IClassFixture<PostgresDatabase>
{
    // One schema per test (xUnit creates the class per test), shared by a second instance.
    private readonly string _schema = TriggerTestContext.NewSchema();

    protected override void UseStore(BomTriggersBuilder builder) =>
        builder.UsePostgres(database.ConnectionString, o => o.Schema = _schema);

    protected override Task<TriggerTestContext> CreateSecondInstanceAsync() => TriggerTestContext.CreateAsync(UseStore);
}
