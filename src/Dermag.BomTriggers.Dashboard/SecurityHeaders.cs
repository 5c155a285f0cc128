using Microsoft.AspNetCore.Http;

namespace Dermag.BomTriggers.Dashboard;

/// <summary>The headers every dashboard response carries: a strict CSP (no inline script or style, nothing from elsewhere), no framing, no sniffing.</summary>
internal static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
        + "form-action 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var headers = context.HttpContext.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        return await next(context).ConfigureAwait(false);
    }
}
