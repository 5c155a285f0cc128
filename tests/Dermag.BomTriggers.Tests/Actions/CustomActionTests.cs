using System.Text.Json;
using System.Text.Json.Nodes;
using Dermag.BomTriggers.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.BomTriggers.Tests.Actions;

/// <summary>Where the host records what the custom action did.</summary>
public sealed class TagRecorder
{
    public List<string> Tags { get; } = [];
}

/// <summary>
/// A custom action written only against the public API, with the conveniences the built-in actions use: declared config
/// fields, save-time checks at JSON Pointers, typed config reads, a host service with a clear failure, a caused event.
/// </summary>
public sealed class TagTaskAction : IBomTriggerAction, IBomActionDescription
{
    public const string Type = "TAG_TASK";

    public static string Description => "Tags the task.";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } =
        [new("tag", "string", true, "The tag."), new("weight", "number", false, "A positive weight.")];

    public static IReadOnlyList<string> CausedEvents { get; } = [BomTriggerEvents.BomUpdate];

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
        if (context.RequireObjectOfDeclaredFields(config))
        {
            context.RequireString(config, "tag");
            context.CheckNumber(config, "weight", required: false, w => w > 0, "a positive number");
        }
    }

    public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        context.GetRequiredService<TagRecorder>().Tags.Add($"{context.ConfigString("tag")}:{context.ConfigNumber("weight")}");
        return Task.FromResult(new ActionResult { CausedEvents = [context.CauseEvent(BomTriggerEvents.BomUpdate, new JsonObject { ["itemCount"] = 1 })] });
    }
}

/// <summary>An action that declares it never blocks: it runs on the dispatching thread; it may throw synchronously.</summary>
public sealed class InlineProbeAction : IBomTriggerAction, IBomActionDescription
{
    public const string Type = "INLINE_PROBE";

    [ThreadStatic]
    private static bool t_dispatching;

    public static string Description => "Records where it ran.";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } = [new("throw", "boolean", false, "Throw before returning a task.")];

    public static IReadOnlyList<string> CausedEvents { get; } = [];

    public static bool NeverBlocks => true;

    public static bool RanOnTheDispatchingThread { get; private set; }

    /// <summary>Marks (or unmarks) the current thread as the one that calls DispatchAsync.</summary>
    public static void MarkDispatchingThread(bool dispatching) => t_dispatching = dispatching;

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context) => context.RequireObjectOfDeclaredFields(config);

    public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        RanOnTheDispatchingThread = t_dispatching;
        return context.Config.TryGetProperty("throw", out var t) && t.GetBoolean()
            ? throw new InvalidOperationException("thrown before any task")
            : Task.FromResult(ActionResult.Empty);
    }
}

public sealed class CustomActionTests : IAsyncLifetime
{
    private TriggerTestContext _context = null!;

    public async Task InitializeAsync() => _context = await TriggerTestContext.CreateAsync(
        b => b.UseInMemoryStore(),
        more: b =>
        {
            b.AddAction<TagTaskAction>(TagTaskAction.Type).AddAction<InlineProbeAction>(InlineProbeAction.Type);
            b.Services.AddSingleton<TagRecorder>();
        });

    public async Task DisposeAsync() => await _context.DisposeAsync();

    [Fact]
    public async Task CustomAction_BadConfig_IsRefusedAtSaveWithEveryPointer()
    {
        var result = await _context.Store.CreateAsync(new BomTriggerDefinition { Name = "tag", TriggerEvent = BomTriggerEvents.TaskCreate, ActionType = TagTaskAction.Type }
            .WithActionConfig("""{"tag":"","weight":-1,"colour":"red"}"""));

        result.Errors.Select(e => $"{e.Path}: {e.Message}").Should().BeEquivalentTo(
            "/actionConfig/colour: unknown property; TAG_TASK takes tag, weight",
            "/actionConfig/tag: expected a non-empty string",
            "/actionConfig/weight: expected a positive number");
    }

    [Fact]
    public async Task CustomAction_Runs_ReadsItsConfig_AndItsCausedEventCarriesTheTaskFields()
    {
        await _context.CreateAsync("tag", BomTriggerEvents.TaskCreate, "{}", TagTaskAction.Type, """{"tag":"urgent","weight":2.5}""");
        await _context.CreateAsync("after", BomTriggerEvents.BomUpdate, """{"taskTypeCode":"LAN","itemCount":1}""", BomTriggerActions.CalculateCost, "{}");

        var report = await _context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 31, 4, """{"taskTypeCode":"LAN"}"""));

        report.Outcomes.Select(o => (o.TriggerName, o.Kind, o.Depth)).Should().Equal(("tag", TriggerOutcomeKind.Executed, 0), ("after", TriggerOutcomeKind.Executed, 1));
        _context.Services.GetRequiredService<TagRecorder>().Tags.Should().Equal("urgent:2.5");
    }

    [Fact]
    public async Task CustomAction_MissingHostService_FailsNamingIt()
    {
        await using var bare = await TriggerTestContext.CreateAsync(b => b.UseInMemoryStore(), more: b => b.AddAction<TagTaskAction>(TagTaskAction.Type));
        await bare.CreateAsync("tag", BomTriggerEvents.TaskCreate, "{}", TagTaskAction.Type, """{"tag":"x"}""");

        var report = await bare.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 32, null, "{}"));

        report.Outcomes.Single().Error.Should().Contain("TAG_TASK needs an implementation of TagRecorder registered in the service collection.");
    }

    [Fact]
    public async Task ActionThatNeverBlocks_RunsOnTheDispatchingThread_AndASynchronousThrowIsItsFailureOnly()
    {
        await _context.CreateAsync("inline", BomTriggerEvents.TaskCreate, "{}", InlineProbeAction.Type, """{"throw":false}""", priority: 20);
        await _context.CreateAsync("inline-throws", BomTriggerEvents.TaskCreate, "{}", InlineProbeAction.Type, """{"throw":true}""", priority: 10);

        // Saving loaded the snapshot, so the dispatch runs synchronously up to the first action.
        InlineProbeAction.MarkDispatchingThread(true);
        var dispatch = _context.Engine.DispatchAsync(Json.Event(BomTriggerEvents.TaskCreate, 33, null, "{}"));
        InlineProbeAction.MarkDispatchingThread(false);
        var report = await dispatch;

        InlineProbeAction.RanOnTheDispatchingThread.Should().BeTrue("it declared that it never blocks, so it skips the thread-pool hop");
        report.Outcomes.Select(o => (o.TriggerName, o.Kind)).Should().Equal(("inline", TriggerOutcomeKind.Executed), ("inline-throws", TriggerOutcomeKind.Failed));
        report.Outcomes[1].Error.Should().Be("InvalidOperationException: thrown before any task");
        _context.Store.ListActions().Single(a => a.ActionType == InlineProbeAction.Type).ConfigFields.Should().ContainSingle();
    }
}
