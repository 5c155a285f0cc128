using System.Text.Json;
using Dermag.BomTriggers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dermag.Benchmarks.Scenarios;

/// <summary>An action that does nothing, so the benchmark measures the engine rather than a host's BOM code.</summary>
internal sealed class NoopAction : IBomTriggerAction, IBomActionDescription
{
    public static string Description => "Does nothing (benchmark).";

    public static IReadOnlyList<ActionConfigField> ConfigFields => [];

    public static IReadOnlyList<string> CausedEvents => [];

    /// <summary>Completes at once: the dispatch may run it inline.</summary>
    public static bool NeverBlocks => true;

    public void ValidateConfig(JsonElement config, ActionConfigValidationContext context)
    {
    }

    // The completed task it always returns, as RulesEngine's no-op returns Task.CompletedTask: both no-ops cost nothing.
    private static readonly Task<ActionResult> Done = Task.FromResult(ActionResult.Empty);

    public Task<ActionResult> ExecuteAsync(ActionContext context, CancellationToken cancellationToken) => Done;
}

/// <summary>
/// The benchmark rule set: trigger <c>i</c> of <c>n</c> is <c>{"taskTypeCode":"T{i/10}","status":...}</c>, so every
/// event names one group of 10 triggers of which 5 match (status alternates), whatever <c>n</c> is.
/// </summary>
internal static class BomRuleSet
{
    public const string Action = "NOOP";

    public static string Code(int index, int groupSize = 10) => "T" + (index / groupSize).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>With groups of 10, half the group matches a <c>completed</c> event; a group of 1 always matches.</summary>
    public static string Status(int index, int groupSize = 10) => groupSize == 1 || index % 2 == 0 ? "completed" : "in_progress";

    public static BomTriggerDefinition Definition(int index, int groupSize = 10) => new()
    {
        Name = "bench " + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
        TriggerEvent = BomTriggerEvents.StatusChange,
        TriggerCondition = Parse($$"""{"taskTypeCode":"{{Code(index, groupSize)}}","status":"{{Status(index, groupSize)}}"}"""),
        ActionType = Action,
        Priority = index % 7,
    };

    /// <summary>Events over every group, in a shuffled but fixed order.</summary>
    public static BomTriggerEvent[] Events(int triggerCount, int count, int groupSize = 10)
    {
        var groups = Math.Max(1, triggerCount / groupSize);
        var random = new Random(42);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var group = random.Next(groups);
            return new BomTriggerEvent(BomTriggerEvents.StatusChange, i + 1, 1,
                Parse($$"""{"taskTypeCode":"T{{group}}","status":"completed","title":"task {{i}}"}"""));
        })];
    }

    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>A started host-less provider with the engine on the given store; logging providers off.</summary>
    public static async Task<ServiceProvider> StartAsync(Action<BomTriggersBuilder> useStore)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.ClearProviders().SetMinimumLevel(LogLevel.None));
        var builder = services.AddBomTriggers(o => o.SnapshotRefreshInterval = TimeSpan.FromMinutes(10)).AddAction<NoopAction>(Action);
        useStore(builder);
        var provider = services.BuildServiceProvider();
        if (provider.GetService<Dermag.Migrations.DermagMigrations>() is { } migrations)
        {
            await migrations.MigrateAsync();
        }

        return provider;
    }

    /// <summary>Runs the hosted services' start (the engine loads its snapshot there, as in a real host).</summary>
    public static async Task StartHostedAsync(IServiceProvider provider)
    {
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }
    }

    public static async Task StopHostedAsync(IServiceProvider provider)
    {
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Loads <paramref name="count"/> validated triggers straight through the repository (the store refreshes the
    /// snapshot after every single save, which would make loading 10,000 quadratic; a real host loads them once at start).
    /// </summary>
    public static async Task LoadAsync(IServiceProvider provider, int count, int groupSize = 10)
    {
        var store = provider.GetRequiredService<IBomTriggerManager>();
        var repository = provider.GetRequiredService<IBomTriggerStore>();
        for (var i = 0; i < count; i++)
        {
            var definition = Definition(i, groupSize);
            var errors = store.Validate(definition);
            if (errors.Count > 0)
            {
                throw new InvalidOperationException(string.Join("; ", errors));
            }

            await repository.InsertAsync(definition, Guid.NewGuid(), changedBy: null, TimeProvider.System.GetUtcNow(), CancellationToken.None);
        }
    }
}
