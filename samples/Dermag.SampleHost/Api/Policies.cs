using Dermag.SampleHost.Demo;
using Microsoft.AspNetCore.Authorization;

namespace Dermag.SampleHost.Api;

/// <summary>The authorization policies of the original trigger API.</summary>
public static class Policies
{
    /// <summary>List and read triggers, logs, events and actions: admin, manager, bom_editor.</summary>
    public const string ViewTriggers = "bom-triggers:view";

    /// <summary>Create, update, delete and toggle triggers: admin, manager.</summary>
    public const string ManageTriggers = "bom-triggers:manage";

    /// <summary>Dry-run triggers: admin, manager.</summary>
    public const string TestTriggers = "bom-triggers:test";

    public static AuthorizationBuilder AddSamplePolicies(this AuthorizationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddPolicy(ViewTriggers, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Manager, Roles.BomEditor))
            .AddPolicy(ManageTriggers, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Manager))
            .AddPolicy(TestTriggers, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin, Roles.Manager));
    }
}
