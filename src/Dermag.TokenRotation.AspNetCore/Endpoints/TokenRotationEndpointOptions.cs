namespace Dermag.TokenRotation.AspNetCore;

/// <summary>Where the refresh token travels between the client and the refresh and logout endpoints.</summary>
public enum RefreshTokenTransport
{
    /// <summary>In the JSON bodies: <c>{ "refreshToken": "..." }</c> in, <c>refreshToken</c> in the token response out. For native and server clients.</summary>
    Body = 0,

    /// <summary>
    /// In an <c>HttpOnly</c>, <c>Secure</c>, <c>SameSite=Strict</c> cookie scoped to the endpoints' path, never in a body, so
    /// script on the page (an XSS payload) cannot read it; what the OAuth 2.0 for Browser-Based Applications guidance recommends
    /// for a backend that serves the browser app. Requests that carry the cookie must pass the CSRF check
    /// (<see cref="TokenRotationEndpointOptions.CsrfHeaderName"/>).
    /// </summary>
    Cookie = 1,
}

/// <summary>Settings of <c>MapTokenRotationEndpoints()</c>. Validated when the endpoints are mapped (at startup), each problem naming its option.</summary>
public sealed class TokenRotationEndpointOptions
{
    /// <summary>How error bodies (and success bodies) are written.</summary>
    /// <value>The default is <see cref="TokenRotationErrorFormat.ProblemDetails"/> (RFC 9457).</value>
    public TokenRotationErrorFormat ErrorFormat { get; set; } = TokenRotationErrorFormat.ProblemDetails;

    /// <summary>Where the refresh token travels.</summary>
    /// <value>The default is <see cref="RefreshTokenTransport.Body"/>.</value>
    public RefreshTokenTransport RefreshTokenTransport { get; set; } = RefreshTokenTransport.Body;

    /// <summary>The name of the refresh token cookie (<see cref="RefreshTokenTransport.Cookie"/>).</summary>
    /// <value>The default is <c>__Secure-Dermag-Refresh</c>: the <c>__Secure-</c> prefix makes browsers refuse the cookie unless it was set over HTTPS with <c>Secure</c>.</value>
    public string CookieName { get; set; } = "__Secure-Dermag-Refresh";

    /// <summary>
    /// The <c>Path</c> of the refresh token cookie, so the browser sends it only to the token endpoints (refresh, logout), not
    /// to every API call. The request's <c>PathBase</c> is put in front.
    /// </summary>
    /// <value>The default is <see langword="null"/>: the prefix given to <c>MapTokenRotationEndpoints</c>. Set it when the endpoints are mapped inside another route group.</value>
    public string? CookiePath { get; set; }

    /// <summary>
    /// The request header a request that carries the refresh token cookie must send (any non-empty value, for example
    /// <c>X-Dermag-CSRF: 1</c>). A page on another origin cannot add a custom header without a CORS preflight the app does not
    /// allow, and an HTML form cannot add one at all; <c>SameSite=Strict</c> alone does not stop requests from sibling
    /// subdomains (same site). <c>Origin</c> and <c>Sec-Fetch-Site</c> are checked as well when the browser sends them.
    /// A header a browser or a form may send by itself is refused at startup: the CORS-safelisted ones (<c>Accept</c>,
    /// <c>Accept-Language</c>, <c>Content-Language</c>, <c>Content-Type</c>, <c>Range</c>), the forbidden request headers
    /// (<c>Cookie</c>, <c>Origin</c>, <c>Host</c>, <c>Referer</c>, ..., and any <c>Sec-</c> or <c>Proxy-</c> header) and those
    /// browsers add on their own (<c>User-Agent</c>, <c>Authorization</c>, <c>Cache-Control</c>, ...).
    /// </summary>
    /// <value>The default is <c>X-Dermag-CSRF</c>.</value>
    public string CsrfHeaderName { get; set; } = "X-Dermag-CSRF";

    /// <summary>
    /// Other origins whose script may send requests that carry the refresh token cookie, for a browser app served from
    /// another origin of the same site (<c>https://app.example.com</c> calling <c>https://api.example.com</c>; the cookie is
    /// <c>SameSite=Strict</c>, so a cross-site origin never gets it anyway). Each is an exact origin,
    /// <c>scheme://host[:port]</c> with no path; scheme, host and default port compare as RFC 6454 says. The app must also
    /// allow these origins with CORS (credentials and the <see cref="CsrfHeaderName"/> header). The endpoints' own origin
    /// always passes; behind a TLS-terminating proxy it is known only after <c>UseForwardedHeaders()</c>.
    /// </summary>
    /// <value>The default is empty: only the endpoints' own origin.</value>
    public IList<string> AllowedOrigins { get; } = [];

    /// <summary>
    /// The name of an ASP.NET Core rate limiter policy (<c>AddRateLimiter(o => o.AddPolicy(...))</c>) applied with
    /// <c>RequireRateLimiting</c> to every anonymous endpoint that takes a refresh token: refresh, and logout (a logout with a
    /// rotated-away token applies the reuse policy, revoking the user's sessions). The app must call <c>UseRateLimiter()</c>.
    /// ASP.NET Core offers no public list of registered policies, so a name that is not registered cannot be refused at
    /// startup: the rate limiter throws on the first request to these endpoints.
    /// </summary>
    /// <value>The default is <see langword="null"/>: no limit (add one with the returned group's conventions, or set this).</value>
    public string? RateLimiterPolicy { get; set; }
}
