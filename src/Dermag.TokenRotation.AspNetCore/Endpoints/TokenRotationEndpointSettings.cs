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
    public static TokenRotationEndpointSettings For(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<TokenRotationEndpointSettings>()
        ?? new TokenRotationEndpointSettings(
            http.RequestServices.GetRequiredService<IOptions<TokenRotationEndpointOptions>>().Value,
            http.RequestServices.GetRequiredService<IOptions<TokenRotationEndpointOptions>>().Value.CookiePath ?? "/");

    public bool UsesCookie => Options.RefreshTokenTransport == RefreshTokenTransport.Cookie;

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
