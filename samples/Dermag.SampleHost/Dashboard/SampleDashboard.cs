using Dermag.SampleHost.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using System.Security.Claims;

namespace Dermag.SampleHost.Dashboard;

/// <summary>
/// The BOM triggers dashboard in the sample: mounted at <c>/bom-triggers</c> for admin, manager and bom_editor; admin and
/// manager may change things, bom_editor only looks. The sample's API uses bearer tokens, which a browser does not send
/// when it navigates to a page, so the page's "Trigger dashboard" link first trades the bearer token for a short-lived,
/// HttpOnly, SameSite=Strict cookie scoped to <c>/bom-triggers</c> (<c>POST /api/auth/dashboard-session</c>). Cookies are
/// why the dashboard checks an antiforgery token on every change.
/// </summary>
public static class SampleDashboard
{
    public const string Path = "/bom-triggers";
    public const string CookieScheme = "dashboard";

    public static IServiceCollection AddSampleDashboard(this IServiceCollection services)
    {
        services.AddAuthentication().AddCookie(CookieScheme, options =>
        {
            options.Cookie.Name = "dermag-dashboard";
            options.Cookie.Path = Path;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.ExpireTimeSpan = TimeSpan.FromMinutes(15);
            options.SlidingExpiration = false;
            // No login page of its own: the API answers 401/403, a page request goes back to the sample page to log in.
            options.Events.OnRedirectToLogin = context => Answer(context, StatusCodes.Status401Unauthorized, "/?dashboard=login");
            options.Events.OnRedirectToAccessDenied = context => Answer(context, StatusCodes.Status403Forbidden, null);
        });

        // The one services line the package needs: edits need the manage policy, everyone else gets a read-only dashboard.
        services.AddBomTriggersDashboard(options =>
        {
            options.EditPolicy = Policies.ManageTriggers;
            options.AppUrl = "/";
            options.Title = "Dermag BOM triggers";
        });
        return services;
    }

    public static IEndpointRouteBuilder MapSampleDashboard(this IEndpointRouteBuilder app)
    {
        // The one mount line, protected by the app's own view policy (admin, manager, bom_editor) on the dashboard cookie.
        app.MapBomTriggersDashboard(Path).RequireAuthorization(new AuthorizeAttribute(Policies.ViewTriggers) { AuthenticationSchemes = CookieScheme });

        app.MapPost("/api/auth/dashboard-session", async (HttpContext http) =>
        {
            // Every identity's claims: the sample adds the user's role as a second identity when it validates the token.
            var bearer = (ClaimsIdentity)http.User.Identity!;
            var identity = new ClaimsIdentity(http.User.Claims, CookieScheme, bearer.NameClaimType, bearer.RoleClaimType);
            await http.SignInAsync(CookieScheme, new ClaimsPrincipal(identity));
            return Results.Ok(new { url = Path + "/" });
        }).RequireAuthorization(Policies.ViewTriggers).WithTags("Auth").WithSummary("Trades the bearer token for the dashboard's cookie (admin, manager, bom_editor)");
        return app;
    }

    private static Task Answer(RedirectContext<CookieAuthenticationOptions> context, int status, string? redirect)
    {
        if (redirect is not null && !context.Request.Path.StartsWithSegments(Path + "/api"))
        {
            context.Response.Redirect(redirect);
        }
        else
        {
            context.Response.StatusCode = status;
        }

        return Task.CompletedTask;
    }
}
