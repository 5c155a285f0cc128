using Dermag.BomTriggers.Dashboard;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Mounts the BOM triggers dashboard.</summary>
public static class DashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Mounts the dashboard at <paramref name="pattern"/>: the page at <c>{pattern}/</c>, its embedded assets and its JSON
    /// API under <c>{pattern}/api</c>. Protect it with the returned builder, for example
    /// <c>.RequireAuthorization("bom-triggers:view")</c>; who may change things inside is
    /// <see cref="BomTriggersDashboardOptions.EditPolicy"/>.
    /// </summary>
    /// <param name="endpoints">The app (<c>WebApplication</c>) or another endpoint route builder.</param>
    /// <param name="pattern">The path prefix, for example <c>/bom-triggers</c>.</param>
    /// <returns>The conventions of every dashboard endpoint (authorization, CORS, rate limiting, ...).</returns>
    /// <exception cref="InvalidOperationException"><c>services.AddBomTriggersDashboard()</c> was not called.</exception>
    public static IEndpointConventionBuilder MapBomTriggersDashboard(this IEndpointRouteBuilder endpoints, string pattern = "/bom-triggers")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        if (endpoints.ServiceProvider.GetService<DashboardMarker>() is null)
        {
            throw new InvalidOperationException(
                "MapBomTriggersDashboard needs the dashboard's services: call builder.Services.AddBomTriggersDashboard() (next to AddBomTriggers()) before building the app.");
        }

        var group = endpoints.MapGroup(pattern.TrimEnd('/'));
        group.AddEndpointFilter(SecurityHeaders.Filter);
        DashboardPage.Map(group);
        DashboardApi.Map(group.MapGroup("/api"));
        return group;
    }
}
