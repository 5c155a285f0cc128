namespace Dermag.SampleHost.Hosting;

/// <summary>
/// A Content-Security-Policy for the sample page: scripts, styles and requests from this origin only, no inline script
/// or style (the page has none: handlers are attached in app.js, styles live in app.css), no framing, no plugins.
/// </summary>
internal static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
        + "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>
    /// Adds the policy and the usual companions to every response that does not set its own (a page mounted by another
    /// package may bring a policy of its own).
    /// </summary>
    public static IApplicationBuilder UseSampleSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.TryAdd("Content-Security-Policy", ContentSecurityPolicy);
            headers.TryAdd("X-Content-Type-Options", "nosniff");
            headers.TryAdd("Referrer-Policy", "no-referrer");
            return Task.CompletedTask;
        });
        return next(context);
    });
}
