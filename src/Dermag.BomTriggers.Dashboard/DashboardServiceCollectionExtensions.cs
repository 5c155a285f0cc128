using Dermag.BomTriggers.Dashboard;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the BOM triggers dashboard.</summary>
public static class DashboardServiceCollectionExtensions
{
    /// <summary>
    /// Adds what <c>app.MapBomTriggersDashboard(...)</c> needs: its options and ASP.NET Core antiforgery (every change the
    /// dashboard makes carries an antiforgery token). Calling it twice is harmless; <paramref name="configure"/> runs when
    /// the options are first read.
    /// </summary>
    /// <param name="services">The app's services (with <c>AddBomTriggers()</c>).</param>
    /// <param name="configure">Sets the options, for example <see cref="BomTriggersDashboardOptions.EditPolicy"/>.</param>
    public static IServiceCollection AddBomTriggersDashboard(this IServiceCollection services, Action<BomTriggersDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddAntiforgery();
        services.AddOptions<BomTriggersDashboardOptions>().Validate(
            o => o.MaxPageSize is >= 1 and <= 1000 && o.CountsWindow > TimeSpan.Zero && !string.IsNullOrWhiteSpace(o.Title),
            "BomTriggersDashboardOptions: MaxPageSize must be between 1 and 1000, CountsWindow positive and Title not empty.").ValidateOnStart();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        // The dashboard sends the token in a header; an app that named none gets the conventional one.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<AntiforgeryOptions>, DashboardAntiforgeryDefaults>());
        services.TryAddSingleton<DashboardMarker>();
        return services;
    }
}
