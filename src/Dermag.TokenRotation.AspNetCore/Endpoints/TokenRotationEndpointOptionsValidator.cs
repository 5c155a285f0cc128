using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>Validates <see cref="TokenRotationEndpointOptions"/>, reporting every problem at once, each naming its option.</summary>
internal sealed class TokenRotationEndpointOptionsValidator : IValidateOptions<TokenRotationEndpointOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenRotationEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Prefix = nameof(TokenRotationEndpointOptions) + ".";
        var errors = new List<string>();
        if (!Enum.IsDefined(options.ErrorFormat))
        {
            errors.Add($"{Prefix}{nameof(options.ErrorFormat)} must be ProblemDetails or Envelope; got {(int)options.ErrorFormat}.");
        }

        if (!Enum.IsDefined(options.RefreshTokenTransport))
        {
            errors.Add($"{Prefix}{nameof(options.RefreshTokenTransport)} must be Body or Cookie; got {(int)options.RefreshTokenTransport}.");
        }

        if (!IsToken(options.CookieName))
        {
            errors.Add($"{Prefix}{nameof(options.CookieName)} must be a non-empty cookie name (letters, digits and !#$%&'*+-.^_`|~); got '{options.CookieName}'.");
        }
        else if (options.CookieName.StartsWith("__Host-", StringComparison.Ordinal) && options.CookiePath != "/")
        {
            errors.Add($"{Prefix}{nameof(options.CookieName)} starts with __Host-, which browsers accept only with Path=/; the cookie is scoped to the token endpoints' path: use the __Secure- prefix, or set {nameof(options.CookiePath)} to \"/\".");
        }

        if (options.CookiePath is { } path && (path.Length == 0 || path[0] != '/' || path.Any(c => c is ';' or ',' or < ' ' or > '~')))
        {
            errors.Add($"{Prefix}{nameof(options.CookiePath)} must start with '/' and contain no ';', ',' or control characters; got '{path}'.");
        }

        if (!IsToken(options.CsrfHeaderName))
        {
            errors.Add($"{Prefix}{nameof(options.CsrfHeaderName)} must be a non-empty header name; got '{options.CsrfHeaderName}'.");
        }
        else if (SentByBrowsers(options.CsrfHeaderName))
        {
            errors.Add($"{Prefix}{nameof(options.CsrfHeaderName)} must be a custom header that a browser or an HTML form never sends by itself (for example X-Dermag-CSRF); got '{options.CsrfHeaderName}', which a cross-site request can carry, so it would prove nothing.");
        }

        if (options.AllowedOrigins is null)
        {
            errors.Add($"{Prefix}{nameof(options.AllowedOrigins)} must not be null.");
        }
        else
        {
            foreach (var origin in options.AllowedOrigins)
            {
                if (origin is null || CsrfCheck.Normalize(origin) is null)
                {
                    errors.Add($"{Prefix}{nameof(options.AllowedOrigins)} must hold exact origins, 'https://host' or 'https://host:port' (http allowed), with no path, query or trailing '/'; got '{origin}'.");
                }
            }
        }

        if (options.RateLimiterPolicy is { } policy && string.IsNullOrWhiteSpace(policy))
        {
            errors.Add($"{Prefix}{nameof(options.RateLimiterPolicy)} must be null (no limit) or the name of a rate limiter policy; got an empty name.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // Headers a cross-site request may carry without the page's script choosing them: the CORS-safelisted request headers,
    // the forbidden request header names (set by the browser only), and those browsers add by themselves.
    private static readonly HashSet<string> BrowserHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        // CORS-safelisted (Fetch standard): a form or a no-preflight fetch sends them.
        "Accept", "Accept-Language", "Content-Language", "Content-Type", "Range",

        // Forbidden request headers (Fetch standard), including the method-override ones.
        "Accept-Charset", "Accept-Encoding", "Access-Control-Request-Headers", "Access-Control-Request-Method", "Connection",
        "Content-Length", "Cookie", "Cookie2", "Date", "DNT", "Expect", "Host", "Keep-Alive", "Origin", "Referer", "Set-Cookie",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Via", "X-HTTP-Method", "X-HTTP-Method-Override", "X-Method-Override",

        // Sent by browsers on their own (Authorization: cached HTTP authentication credentials).
        "User-Agent", "Authorization", "Cache-Control", "Pragma", "Priority", "Upgrade-Insecure-Requests", "Purpose", "Save-Data",
        "If-Modified-Since", "If-None-Match",
    };

    private static bool SentByBrowsers(string header) =>
        BrowserHeaders.Contains(header)
        || header.StartsWith("Sec-", StringComparison.OrdinalIgnoreCase)
        || header.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase);

    // RFC 9110 token characters: what a cookie name and a header name may contain.
    private static bool IsToken(string? value) =>
        !string.IsNullOrEmpty(value) && value.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));
}
