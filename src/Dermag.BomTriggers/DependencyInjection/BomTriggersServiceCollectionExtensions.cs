using Dermag.BomTriggers;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Dermag.BomTriggers.</summary>
public static class BomTriggersServiceCollectionExtensions
{
    internal const string NoStoreMessage = "AddBomTriggers() has no store: call .UsePostgres(...) or .UseInMemoryStore() on the builder.";

    /// <summary>
    /// Adds the trigger engine (<see cref="IBomTriggerEngine"/>), the store (<see cref="IBomTriggerManager"/>) and the five
    /// built-in actions. Choose a store on the returned builder: <c>.UsePostgres(...)</c> or <c>.UseInMemoryStore()</c>.
    /// Calling it twice is harmless.
    /// </summary>
    public static BomTriggersBuilder AddBomTriggers(this IServiceCollection services, Action<BomTriggerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<BomTriggerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BomTriggerOptions>, BomTriggerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new BomTriggerMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));

        services.TryAddSingleton(sp => new EventCatalog(
            sp.GetServices<EventFieldRegistration>().Select(r => (r.EventType, r.Field)),
            sp.GetServices<EventTypeRegistration>().Select(r => (r.EventType, r.Description, r.SupportsPreviousValues))));
        services.TryAddSingleton(sp => new ActionRegistry(sp.GetServices<ActionRegistration>()));
        services.TryAddSingleton<IBomTriggerStore>(_ => throw new BomTriggerException(NoStoreMessage));
        services.TryAddSingleton<TriggerValidator>();
        services.TryAddSingleton<TriggerSnapshotProvider>();
        services.TryAddSingleton<BomTriggerManager>();
        services.TryAddSingleton<IBomTriggerManager>(sp => sp.GetRequiredService<BomTriggerManager>());
        services.TryAddSingleton<DispatchedEventCounter>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, EventCountFlushService>());
        services.TryAddSingleton<BomTriggerEngine>();
        services.TryAddSingleton<IBomTriggerEngine>(sp => sp.GetRequiredService<BomTriggerEngine>());
        services.TryAddSingleton<IBomTriggerJobStore>(_ => throw new BomTriggerException(NoStoreMessage));
        services.TryAddSingleton<JobSignal>();
        services.TryAddSingleton<IBomTriggerJobManager, BomTriggerJobManager>();
        services.TryAddSingleton<BomTriggerWorker>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BomTriggerStartupService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BomTriggerScheduler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BomTriggerWorkerHost>());

        var builder = new BomTriggersBuilder(services);
        if (!services.Any(d => d.ServiceType == typeof(ActionRegistration)))
        {
            builder.AddAction<AddMaterialAction>(BomTriggerActions.AddMaterial, builtIn: true)
                .AddAction<UpdateQuantityAction>(BomTriggerActions.UpdateQuantity, builtIn: true)
                .AddAction<CopyBomAction>(BomTriggerActions.CopyBom, builtIn: true)
                .AddAction<NotifyAction>(BomTriggerActions.Notify, builtIn: true)
                .AddAction<CalculateCostAction>(BomTriggerActions.CalculateCost, builtIn: true);
        }

        return builder;
    }
}
