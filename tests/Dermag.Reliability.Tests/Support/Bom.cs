using System.Collections.Concurrent;
using System.Text.Json;
using Dermag.BomTriggers;
using Dermag.Migrations;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.Reliability.Tests.Support;

/// <summary>The host side of the built-in actions: does nothing, counts calls.</summary>
public sealed class QuietHost : IBomEditor, IBomCostCalculator, IBomNotificationSender
{
    public ConcurrentQueue<BomNotification> Notifications { get; } = new();

    public Task AddMaterialAsync(AddMaterialRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<QuantityChange> UpdateQuantityAsync(UpdateQuantityRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new QuantityChange(null, request.Quantity ?? 0));

    public Task<int> CopyBomAsync(CopyBomRequest request, CancellationToken cancellationToken) => Task.FromResult(0);

    public Task<decimal> RecalculateAsync(CostRequest request, CancellationToken cancellationToken) => Task.FromResult(0m);

    public Task SendAsync(BomNotification notification, CancellationToken cancellationToken)
    {
        Notifications.Enqueue(notification);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Records every execution by (correlation id, trigger id) and returns the version the trigger's config carries, so a
/// test can check that a dispatch saw one consistent version of each trigger.
/// </summary>
public sealed class RecordingAction : IBomTriggerAction, IBomActionDescription
{
    public const string Type = "RECORD";

    public static readonly ConcurrentDictionary<(Guid CorrelationId, int TriggerId), int> Executions = new();

    public static string Description => "Records executions (reliability tests).";

    public static IReadOnlyList<ActionConfigField> ConfigFields { get; } = [new("version", "number", false, "the definition version")];

    public static IReadOnlyList<string> CausedEvents => [];

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
    }

    public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken)
    {
        Executions.AddOrUpdate((context.CorrelationId, context.Trigger.Id), 1, (_, n) => n + 1);
        var version = context.Config.TryGetProperty("version", out var v) ? v.GetInt32() : -1;
        return Task.FromResult(new ActionResult { Data = Json.Parse($$"""{"version":{{version}}}""") });
    }
}

/// <summary>A provider with Dermag.BomTriggers on the chosen store.</summary>
public static class BomHost
{
    public static async Task<ServiceProvider> StartAsync(Action<BomTriggersBuilder> useStore, TimeProvider? time = null, Action<BomTriggerOptions>? configure = null, Action<IServiceCollection>? addServices = null)
    {
        var host = new QuietHost();
        var services = new ServiceCollection();
        addServices?.Invoke(services);
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddSingleton(host);
        services.AddSingleton<IBomEditor>(host);
        services.AddSingleton<IBomCostCalculator>(host);
        services.AddSingleton<IBomNotificationSender>(host);
        var builder = services.AddBomTriggers(configure).AddAction<RecordingAction>(RecordingAction.Type);
        useStore(builder);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        if (provider.GetService<DermagMigrations>() is { } migrations)
        {
            await migrations.MigrateAsync();
        }

        return provider;
    }

    public static string NewSchema() => "rel_" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>Every log row of a trigger, all pages.</summary>
    public static async Task<List<BomTriggerLog>> AllLogsAsync(IBomTriggerManager store, int triggerId)
    {
        var all = new List<BomTriggerLog>();
        while (true)
        {
            var page = await store.GetLogsAsync(triggerId, 1000, all.Count);
            all.AddRange(page.Items);
            if (page.Items.Count == 0 || all.Count >= page.Total)
            {
                return all;
            }
        }
    }
}

public static class Json
{
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
