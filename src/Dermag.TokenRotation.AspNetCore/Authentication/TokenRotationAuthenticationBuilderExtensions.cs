using Dermag.TokenRotation.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Wires a JwtBearer scheme to Dermag.TokenRotation: <c>AddAuthentication().AddJwtBearer().UseTokenRotation()</c>.</summary>
public static class TokenRotationAuthenticationBuilderExtensions
{
    /// <summary>
    /// Makes the default JwtBearer scheme (<see cref="JwtBearerDefaults.AuthenticationScheme"/>) accept exactly the access tokens
    /// of <see cref="Dermag.TokenRotation.IRefreshTokenManager"/>, answer failures with distinct codes (<c>TOKEN_EXPIRED</c>,
    /// <c>INVALID_TOKEN</c>, <c>NO_TOKEN</c>, <c>TOKEN_REVOKED</c>) and, with <see cref="TokenRotationBearerOptions.ParanoidMode"/>,
    /// refuse tokens of revoked sessions. Events the app set on the scheme still run. Requires <c>AddRefreshTokenRotation()</c>.
    /// </summary>
    public static AuthenticationBuilder UseTokenRotation(this AuthenticationBuilder builder, Action<TokenRotationBearerOptions>? configure = null) =>
        UseTokenRotation(builder, JwtBearerDefaults.AuthenticationScheme, configure);

    /// <summary>Like <see cref="UseTokenRotation(AuthenticationBuilder, Action{TokenRotationBearerOptions}?)"/> for a named JwtBearer scheme.</summary>
    public static AuthenticationBuilder UseTokenRotation(this AuthenticationBuilder builder, string authenticationScheme, Action<TokenRotationBearerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(authenticationScheme);
        var services = builder.Services;
        var options = services.AddOptions<TokenRotationBearerOptions>(authenticationScheme).Configure(o => o.Enabled = true);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.Configure<TokenRotationSchemes>(s =>
        {
            if (!s.Names.Contains(authenticationScheme))
            {
                s.Names.Add(authenticationScheme);
            }
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenRotationBearerOptions>, TokenRotationBearerOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<JwtBearerOptions>, TokenRotationJwtBearerPostConfigure>());

        // The endpoints' options are validated at startup too (MapTokenRotationEndpoints validates its final copy again).
        services.AddOptions<TokenRotationEndpointOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenRotationEndpointOptions>, TokenRotationEndpointOptionsValidator>());
        services.TryAddSingleton<TokenRotationEndpointRegistry>();
        return builder;
    }
}
