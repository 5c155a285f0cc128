using Microsoft.AspNetCore.Http;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>
/// The cross-site request forgery check for requests that carry the refresh token cookie. A browser attaches the cookie by
/// itself, so the request must prove it was made by the app's own script: a custom header (which a cross-origin page cannot
/// send without a CORS preflight, and a form cannot send at all), and, when the browser says so, the same origin
/// (<c>Origin</c>, <c>Sec-Fetch-Site</c>). <c>SameSite=Strict</c> already keeps the cookie off cross-site requests, but not off
/// requests from sibling subdomains, which are the same site.
/// </summary>
internal static class CsrfCheck
{
    public static string? Failure(HttpContext http, string headerName)
    {
        var request = http.Request;
        if (request.Headers["Sec-Fetch-Site"].ToString() is { Length: > 0 } site && site is not ("same-origin" or "none"))
        {
            return "Sec-Fetch-Site is " + site;
        }

        if (request.Headers.Origin.ToString() is { Length: > 0 } origin
            && !string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase))
        {
            return "the Origin is another origin";
        }

        return string.IsNullOrWhiteSpace(request.Headers[headerName].ToString()) ? $"the {headerName} header is missing" : null;
    }
}
