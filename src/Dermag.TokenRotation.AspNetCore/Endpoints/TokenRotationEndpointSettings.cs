using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>
/// The validated options of one <c>MapTokenRotationEndpoints</c> call, carried as metadata of its route group so that
/// endpoints the app adds to that group (its login) answer the same way (<see cref="TokenRotationResults.Tokens"/>).
/// </summary>
internal sealed record TokenRotationEndpointSettings(TokenRotationEndpointOptions Options, string CookiePath)
{
    /// <summary>The settings of the group the endpoint belongs to; else those of the app's (first) <c>MapTokenRotationEndpoints</c>; else the container's options.</summary>
    public static TokenRotationEndpointSettings For(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<TokenRotationEndpointSettings>() is { } own)
        {
            return own;
        }

        if (http.RequestServices.GetService<TokenRotationEndpointRegistry>()?.First is { } mapped)
        {
            return mapped;
        }

        var options = http.RequestServices.GetRequiredService<IOptions<TokenRotationEndpointOptions>>().Value;
        return new TokenRotationEndpointSettings(options, options.CookiePath ?? "/");
    }

    public bool UsesCookie => Options.RefreshTokenTransport == RefreshTokenTransport.Cookie;

    /// <summary><see cref="TokenRotationEndpointOptions.AllowedOrigins"/> as <see cref="CsrfCheck"/> compares them (validated already).</summary>
    public IReadOnlySet<string> AllowedOrigins { get; } = Options.AllowedOrigins.Select(CsrfCheck.Normalize).OfType<string>().ToHashSet(StringComparer.Ordinal);

    public void AppendCookie(HttpContext http, TokenPair pair) =>
        http.Response.Cookies.Append(Options.CookieName, pair.RefreshToken, CookieOptions(http, pair.RefreshTokenExpiresAt));

    public void DeleteCookie(HttpContext http) => http.Response.Cookies.Delete(Options.CookieName, CookieOptions(http, null));

    private CookieOptions CookieOptions(HttpContext http, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        Secure = true,
        SameSite = SameSiteMode.Strict,
        Path = http.Request.PathBase.Add(new PathString(CookiePath)).Value is { Length: > 0 } path ? path : "/",
        Expires = expires,
        IsEssential = true,
    };
}

/// <summary>Remembers the settings of the first <c>MapTokenRotationEndpoints</c> call, for token results outside its group.</summary>
internal sealed class TokenRotationEndpointRegistry
{
    private TokenRotationEndpointSettings? _first;

    public TokenRotationEndpointSettings? First => Volatile.Read(ref _first);

    public void Add(TokenRotationEndpointSettings settings) => Interlocked.CompareExchange(ref _first, settings, null);
}
