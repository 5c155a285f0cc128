using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>
/// Fills the JwtBearer options of every scheme <c>UseTokenRotation</c> was called for: the token service's validation
/// parameters (its issuer, audience, every access key so rotated keys keep validating, HS256 and <c>at+jwt</c> only,
/// lifetimes on its <see cref="TimeProvider"/>), claims kept as issued (<c>sub</c>, <c>sid</c>), and the wrapping events.
/// </summary>
internal sealed class TokenRotationJwtBearerPostConfigure(IRefreshTokenManager manager, IOptionsMonitor<TokenRotationBearerOptions> bearerOptions)
    : IPostConfigureOptions<JwtBearerOptions>
{
    public void PostConfigure(string? name, JwtBearerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var own = bearerOptions.Get(name);
        if (!own.Enabled)
        {
            return;
        }

        options.MapInboundClaims = false;
        options.TokenValidationParameters = manager.CreateAccessTokenValidationParameters();
        options.Events = new TokenRotationBearerEvents(options.Events, options.EventsType, own);
        options.EventsType = null;
    }
}
