using System.Collections.Concurrent;
using System.Text.Json;
using Dermag.BomTriggers;
using Dermag.Migrations;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.BomTriggers.Tests.TestSupport;

/// <summary>The host side of the built-in actions: records every call; a material named "BOOM" throws.</summary>
public sealed class FakeHost : IBomEditor, IBomCostCalculator, IBomNotificationSender
{
    private readonly ConcurrentDictionary<(int, string), decimal> _quantities = new();

    public ConcurrentQueue<string> Calls { get; } = new();

    public Task AddMaterialAsync(AddMaterialRequest request, CancellationToken cancellationToken)
    {
        if (request.MaterialName == "BOOM")
        {
            throw new InvalidOperationException("the warehouse is on fire");
        }

        _quantities.AddOrUpdate((request.TaskId, request.MaterialName), request.Quantity, (_, q) => q + request.Quantity);
        Calls.Enqueue($"add:{request.TaskId}:{request.MaterialName}:{request.Quantity}:{request.Unit}:{request.Category}");
        return Task.CompletedTask;
    }

    public Task<QuantityChange> UpdateQuantityAsync(UpdateQuantityRequest request, CancellationToken cancellationToken)
    {
        var key = (request.TaskId, request.MaterialName);
        decimal? previous = _quantities.TryGetValue(key, out var q) ? q : null;
        var current = request.Quantity ?? (previous ?? 0) + request.Delta!.Value;
        _quantities[key] = current;
        Calls.Enqueue($"quantity:{request.TaskId}:{request.MaterialName}:{current}");
        return Task.FromResult(new QuantityChange(previous, current));
    }

    public Task<int> CopyBomAsync(CopyBomRequest request, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"copy:{request.TaskId}:{request.FromTaskTypeId}");
        return Task.FromResult(3);
    }

    public Task<decimal> RecalculateAsync(CostRequest request, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"cost:{request.TaskId}");
        return Task.FromResult(123.45m);
    }

    public Task SendAsync(BomNotification notification, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"notify:{notification.TaskId}:{notification.Message}:{string.Join("+", notification.Recipients)}");
        return Task.CompletedTask;
    }
}

/// <summary>A custom action that waits until its token is cancelled (or forever if it ignores it).</summary>
public sealed class SlowAction : IBomTriggerAction, IBomActionDescription
{
    public static readonly ConcurrentDictionary<string, TaskCompletionSource> Started = new();

    public static string Description => "Waits.";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } = [new("key", "string", true, "test key")];

    public static IReadOnlyList<string> CausedEvents => [];

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
    }

    public async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var key = context.Config.GetProperty("key").GetString()!;
        Started.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        var ignoresToken = context.Config.TryGetProperty("ignoreToken", out var ignore) && ignore.GetBoolean();
        await Task.Delay(Timeout.Infinite, ignoresToken ? CancellationToken.None : cancellationToken);
        return ActionResult.Empty;
    }
}

/// <summary>A custom action that throws.</summary>
public sealed class ThrowingAction : IBomTriggerAction, IBomActionDescription
{
    public static string Description => "Throws.";

    public static IReadOnlyList<ActionConfigField> ConfigFields => [];

    public static IReadOnlyList<string> CausedEvents => [];

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
        if (config.TryGetProperty("bad", out _))
        {
            context.AddError("bad", "not allowed");
        }
    }

    public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("custom action exploded");
}

/// <summary>
/// A custom action whose output no store can hold as it is: result data with U+0000, an unpaired surrogate and a number
/// beyond PostgreSQL's numeric, or (with <c>"fail":true</c>) an exception whose message has U+0000 and an unpaired
/// surrogate; with <c>"deleteTrigger":true</c> it deletes its own trigger while it runs.
/// </summary>
public sealed class DirtyAction : IBomTriggerAction, IBomActionDescription
{
    public static string Description => "Returns what no store can hold as it is.";

    public static IReadOnlyList<ActionConfigField> ConfigFields => [];

    public static IReadOnlyList<string> CausedEvents => [];

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
    }

    public async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        if (context.Config.TryGetProperty("deleteTrigger", out var delete) && delete.GetBoolean())
        {
            await context.Services.GetRequiredService<IBomTriggerManager>().DeleteAsync(context.Trigger.Id, cancellationToken);
            return ActionResult.Empty;
        }

        if (context.Config.TryGetProperty("disposed", out var disposed))
        {
            // A classic host bug: handing out an element of a document that is already disposed.
            JsonElement element;
            using (var document = JsonDocument.Parse("""{"materialName":"x"}"""))
            {
                element = document.RootElement;
            }

            return disposed.GetString() == "event"
                ? new ActionResult { CausedEvents = [new BomTriggerEvent(BomTriggerEvents.MaterialAdd, context.Event.TaskId, null, element)] }
                : new ActionResult { Data = element };
        }

        if (context.Config.TryGetProperty("fail", out var fail) && fail.GetBoolean())
        {
            throw new InvalidOperationException("nul\0 and half \ud83d an emoji");
        }

        return new ActionResult { Data = Json.Parse("""{"note":"x\u0000y","half":"\ud800","big":1e200000,"fine":[1.5,"ok"]}""") };
    }
}

/// <summary>A custom action that blocks its thread before it returns a task, until the test releases it.</summary>
/// <summary>Fake time that counts the timers created, so a test knows when the code under test has armed one.</summary>
public sealed class CountingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private int _timers;

    public int TimersCreated => Volatile.Read(ref _timers);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _timers);
        return base.CreateTimer(callback, state, dueTime, period);
    }
}

/// <summary>A scoped service that records when its scope disposes it.</summary>
public sealed class ScopeProbe : IDisposable
{
    public TaskCompletionSource<bool>? Disposed { get; set; }

    public void Dispose() => Disposed?.TrySetResult(true);
}

/// <summary>An action that ignores cancellation, holds a scoped service, and fails when released.</summary>
public sealed class ScopeHoldingAction(ScopeProbe probe) : IBomTriggerAction, IBomActionDescription
{
    public static readonly ConcurrentDictionary<string, (TaskCompletionSource Started, TaskCompletionSource Release, TaskCompletionSource<bool> Disposed)> Runs = new();

    public static string Description => "Holds its scope.";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } = [new("key", "string", true, "test key")];

    public static IReadOnlyList<string> CausedEvents => [];

    public static (TaskCompletionSource Started, TaskCompletionSource Release, TaskCompletionSource<bool> Disposed) For(string key) =>
        Runs.GetOrAdd(key, _ => (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)));

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
    }

    public async Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var (started, release, disposed) = For(context.Config.GetProperty("key").GetString()!);
        probe.Disposed = disposed;
        started.TrySetResult();
        await release.Task;
        throw new InvalidOperationException("failed after being abandoned");
    }
}

public sealed class BlockingAction : IBomTriggerAction, IBomActionDescription
{
    public static readonly ConcurrentDictionary<string, (TaskCompletionSource Started, ManualResetEventSlim Release)> Runs = new();

    public static string Description => "Blocks synchronously.";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } = [new("key", "string", true, "test key")];

    public static IReadOnlyList<string> CausedEvents => [];

    public static (TaskCompletionSource Started, ManualResetEventSlim Release) For(string key) =>
        Runs.GetOrAdd(key, _ => (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new ManualResetEventSlim()));

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
    }

    public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        var (started, release) = For(context.Config.GetProperty("key").GetString()!);
        started.TrySetResult();
        release.Wait(TimeSpan.FromSeconds(60), CancellationToken.None);
        return Task.FromResult(ActionResult.Empty);
    }
}

/// <summary>A service provider with the library wired to one store, a fake host and fake time.</summary>
public sealed class TriggerTestContext : IAsyncDisposable
{
    private TriggerTestContext(ServiceProvider services, CountingTimeProvider time, FakeHost host, CapturedLogs logs)
    {
        Services = services;
        Time = time;
        Host = host;
        Logs = logs;
    }

    public ServiceProvider Services { get; }

    public CountingTimeProvider Time { get; }

    public FakeHost Host { get; }

    /// <summary>Every log entry the library writes, for tests that assert what was logged.</summary>
    public CapturedLogs Logs { get; }

    /// <summary>Reloads the engine's snapshot now, as the revision poll would after another instance changed a trigger.</summary>
    public Task RefreshSnapshotAsync() => Services.GetRequiredService<TriggerSnapshotProvider>().RefreshAsync(CancellationToken.None);

    public IBomTriggerManager Store => Services.GetRequiredService<IBomTriggerManager>();

    public IBomTriggerEngine Engine => Services.GetRequiredService<IBomTriggerEngine>();

    internal IBomTriggerStore Repository => Services.GetRequiredService<IBomTriggerStore>();

    internal BomTriggerManager InternalStore => Services.GetRequiredService<BomTriggerManager>();

    public static async Task<TriggerTestContext> CreateAsync(Action<BomTriggersBuilder> useStore, Action<BomTriggerOptions>? configure = null, Action<BomTriggersBuilder>? more = null)
    {
        var time = new CountingTimeProvider(TimeProvider.System.GetUtcNow());
        var host = new FakeHost();
        var logs = new CapturedLogs();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton(host);
        services.AddSingleton<IBomEditor>(host);
        services.AddSingleton<IBomCostCalculator>(host);
        services.AddSingleton<IBomNotificationSender>(host);
        var builder = services.AddBomTriggers(configure);
        builder.AddAction<SlowAction>("SLOW").AddAction<ThrowingAction>("EXPLODE").AddAction<DirtyAction>("DIRTY").AddAction<BlockingAction>("BLOCK").AddAction<ScopeHoldingAction>("HOLD_SCOPE");
        services.AddScoped<ScopeProbe>();
        services.AddLogging();
        services.AddSingleton<ILoggerProvider>(logs);
        useStore(builder);
        more?.Invoke(builder);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        if (provider.GetService<DermagMigrations>() is { } migrations)
        {
            await migrations.MigrateAsync();
        }

        return new TriggerTestContext(provider, time, host, logs);
    }

    public static string NewSchema() => "bt_" + Guid.NewGuid().ToString("N")[..16];

    public async Task<BomTrigger> CreateAsync(string name, string triggerEvent, string condition, string actionType, string config, int priority = 10, int? sourceTaskTypeId = null)
    {
        var result = await Store.CreateAsync(new BomTriggerDefinition
        {
            Name = name,
            TriggerEvent = triggerEvent,
            TriggerCondition = Json.Parse(condition),
            ActionType = actionType,
            ActionConfig = Json.Parse(config),
            Priority = priority,
            SourceTaskTypeId = sourceTaskTypeId,
        });
        result.Errors.Should().BeEmpty();
        return result.Trigger!;
    }

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}

public static class Json
{
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static BomTriggerEvent Event(string type, int taskId, int? taskTypeId, string data, string? previous = null) =>
        new(type, taskId, taskTypeId, Parse(data)) { PreviousValues = previous is null ? null : Parse(previous) };
}
