using Microsoft.AspNetCore.Http;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>
/// The cross-site request forgery check for requests that carry the refresh token cookie. A browser attaches the cookie by
/// itself, so the request must prove it was made by the app's own script: a custom header (which a cross-origin page cannot
/// send without a CORS preflight, and a form cannot send at all), and, when the browser says so, the same origin or one of
/// <see cref="TokenRotationEndpointOptions.AllowedOrigins"/> (<c>Origin</c>, <c>Sec-Fetch-Site</c>). <c>SameSite=Strict</c>
/// already keeps the cookie off cross-site requests, but not off requests from sibling subdomains, which are the same site.
/// </summary>
internal static class CsrfCheck
{
    /// <summary>Why the request is refused, in words of our own (never the request's header values); null when it passes.</summary>
    public static string? Failure(HttpContext http, string headerName, IReadOnlySet<string> allowedOrigins)
    {
        var request = http.Request;
        var allowedOtherOrigin = false;
        if (request.Headers.Origin.ToString() is { Length: > 0 } origin)
        {
            var normalized = Normalize(origin);
            var own = Normalize($"{request.Scheme}://{request.Host.Value}");
            allowedOtherOrigin = normalized is not null && normalized != own && allowedOrigins.Contains(normalized);
            if (normalized is null || (normalized != own && !allowedOtherOrigin))
            {
                return "the Origin is another origin";
            }
        }

        // An allowed origin is another origin, so its requests are same-site (or cross-site) by definition.
        if (!allowedOtherOrigin
            && request.Headers["Sec-Fetch-Site"].ToString() is { Length: > 0 } site
            && site is not ("same-origin" or "none"))
        {
            return "Sec-Fetch-Site is " + (site is "same-site" or "cross-site" ? site : "an unknown value");
        }

        return string.IsNullOrWhiteSpace(request.Headers[headerName].ToString()) ? $"the {headerName} header is missing" : null;
    }

    /// <summary>
    /// An origin as RFC 6454 compares it: lower-case scheme and host, the port always written (443 for https, 80 for http);
    /// null for anything that is not a plain http(s) origin (<c>null</c>, a path, user info).
    /// </summary>
    public static string? Normalize(string origin)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.UserInfo.Length > 0
            || uri.PathAndQuery != "/"
            || uri.Fragment.Length > 0
            || origin.EndsWith('/'))
        {
            return null;
        }

        return $"{uri.Scheme}://{uri.IdnHost.ToLowerInvariant()}:{uri.Port}";
    }
}
