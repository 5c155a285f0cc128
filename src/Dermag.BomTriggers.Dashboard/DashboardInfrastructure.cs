using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers.Dashboard;

/// <summary>Shows that <c>AddBomTriggersDashboard()</c> ran, so the mount can fail early with the call to make.</summary>
internal sealed class DashboardMarker;

internal sealed class DashboardAntiforgeryDefaults : IPostConfigureOptions<AntiforgeryOptions>
{
    public const string DefaultHeaderName = "X-CSRF-TOKEN";

    public void PostConfigure(string? name, AntiforgeryOptions options) => options.HeaderName ??= DefaultHeaderName;
}
