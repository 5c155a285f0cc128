using Microsoft.AspNetCore.Http;

namespace Dermag.BomTriggers.Dashboard;

/// <summary>
/// Options of the dashboard, set with <c>services.AddBomTriggersDashboard(options => ...)</c>. Who may open the dashboard
/// at all is the app's decision, made on the endpoint builder that <c>MapBomTriggersDashboard</c> returns
/// (<c>.RequireAuthorization("policy")</c>); these options decide who may change things inside it.
/// </summary>
public sealed class BomTriggersDashboardOptions
{
    /// <summary>
    /// The authorization policy a user must meet to change anything (create, update, delete and toggle triggers, retry and
    /// discard jobs). Users who can open the dashboard but do not meet it get a read-only UI, and the API refuses their
    /// changes with 403.
    /// </summary>
    /// <value>The default is <see langword="null"/>: everyone who can open the dashboard may change things, unless <see cref="IsReadOnly"/> says otherwise.</value>
    public string? EditPolicy { get; set; }

    /// <summary>
    /// Decides per request that the user may only look (checked in addition to <see cref="EditPolicy"/>): return
    /// <see langword="true"/> for a read-only dashboard.
    /// </summary>
    /// <value>The default is <see langword="null"/>: only <see cref="EditPolicy"/> decides.</value>
    public Func<HttpContext, bool>? IsReadOnly { get; set; }

    /// <summary>The title shown in the page header and the browser tab.</summary>
    /// <value>The default is <c>BOM triggers</c>.</value>
    public string Title { get; set; } = "BOM triggers";

    /// <summary>An optional link back to the app, shown in the header (an app-relative or absolute URL).</summary>
    /// <value>The default is <see langword="null"/>: no link.</value>
    public string? AppUrl { get; set; }

    /// <summary>The window of the per-trigger run counts in the trigger list.</summary>
    /// <value>The default is 24 hours.</value>
    public TimeSpan CountsWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The largest page any list of the dashboard API returns, however many rows a request asks for.</summary>
    /// <value>The default is 200. Between 1 and 1000.</value>
    public int MaxPageSize { get; set; } = 200;
}
