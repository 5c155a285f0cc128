using Dermag.TokenRotation.AspNetCore;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the token endpoints every app of a token library otherwise writes itself: <c>app.MapTokenRotationEndpoints()</c>.</summary>
public static class TokenRotationEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps, under <paramref name="prefix"/>:
    /// <list type="bullet">
    /// <item><c>POST {prefix}/refresh</c> (anonymous): rotates the refresh token from the body (<c>{ "refreshToken": "..." }</c>) or the cookie; returns the new pair.</item>
    /// <item><c>POST {prefix}/logout</c> (anonymous): ends the session of the presented refresh token, or, without one, the session of the access token.</item>
    /// <item><c>POST {prefix}/logout/all</c> (authenticated): revokes every session of the user; <c>?keepCurrent=true</c> (or <c>{ "keepCurrentSession": true }</c>) keeps the caller's; returns <c>revokedCount</c>.</item>
    /// <item><c>GET {prefix}/sessions</c> (authenticated): the user's active sessions, the caller's marked <c>current</c>.</item>
    /// <item><c>DELETE {prefix}/sessions/{{id}}</c> (authenticated): revokes one of the user's sessions; another user's id is 404 like an unknown one.</item>
    /// </list>
    /// The app keeps its own login: it authenticates the user, calls <see cref="Dermag.TokenRotation.IRefreshTokenManager.IssueAsync"/> and
    /// returns <see cref="TokenRotationResults.Tokens"/> (map it on the returned group to share its options).
    /// </summary>
    /// <param name="endpoints">The app or a route group.</param>
    /// <param name="prefix">The route prefix of the group.</param>
    /// <param name="configure">Adjusts the options registered in the container (<c>services.Configure&lt;TokenRotationEndpointOptions&gt;</c>) for this group.</param>
    /// <returns>The route group, for more conventions (<c>RequireCors</c>, <c>WithTags</c>, the app's login).</returns>
    /// <exception cref="OptionsValidationException">The options are invalid; the message names each wrong option.</exception>
    public static RouteGroupBuilder MapTokenRotationEndpoints(this IEndpointRouteBuilder endpoints, string prefix = "/auth", Action<TokenRotationEndpointOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptionsFactory<TokenRotationEndpointOptions>>().Create(Options.DefaultName);
        configure?.Invoke(options);
        var validation = new TokenRotationEndpointOptionsValidator().Validate(Options.DefaultName, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(TokenRotationEndpointOptions), validation.Failures);
        }

        var schemes = endpoints.ServiceProvider.GetService<IOptions<TokenRotationSchemes>>()?.Value.Names.ToArray() ?? [];
        if (schemes.Length == 0)
        {
            throw new InvalidOperationException(
                "MapTokenRotationEndpoints needs a JwtBearer scheme wired to the token service: call " +
                "services.AddAuthentication().AddJwtBearer().UseTokenRotation() (or UseTokenRotation(\"scheme\") for a named scheme). " +
                "The token endpoints authenticate with those schemes only, so a token of another scheme cannot act on the token service's sessions.");
        }

        // Only the schemes UseTokenRotation configured: a partner scheme's token with the same 'sub' is not our user.
        var authenticated = new AuthorizationPolicyBuilder(schemes).RequireAuthenticatedUser().Build();
        var settings = new TokenRotationEndpointSettings(options, options.CookiePath ?? (prefix.Length == 0 ? "/" : prefix));
        endpoints.ServiceProvider.GetService<TokenRotationEndpointRegistry>()?.Add(settings);
        var handlers = new TokenRotationEndpointHandlers(settings, schemes);
        var group = endpoints.MapGroup(prefix).WithMetadata(settings);

        var refresh = group.MapPost("/refresh", (Delegate)handlers.RefreshAsync).AllowAnonymous().AddEndpointFilter(handlers.StoreUnavailableAsync)
            .WithName("TokenRotationRefresh").WithSummary("Rotate a refresh token: the presented token is used up and a new pair is returned");
        var logout = group.MapPost("/logout", (Delegate)handlers.LogoutAsync).AllowAnonymous().AddEndpointFilter(handlers.StoreUnavailableAsync)
            .WithSummary("Log out: end the session of the presented refresh token (or of the access token)");
        if (options.RateLimiterPolicy is { } policy)
        {
            // Both take a refresh token from anyone, and both apply the reuse policy to a rotated-away one.
            refresh.RequireRateLimiting(policy);
            logout.RequireRateLimiting(policy);
        }

        if (!settings.UsesCookie)
        {
            // The handlers read the body themselves (it is optional); describe it for OpenAPI.
            refresh.Accepts<RefreshTokenRequest>(isOptional: true, "application/json");
            logout.Accepts<RefreshTokenRequest>(isOptional: true, "application/json");
        }

        group.MapPost("/logout/all", (Delegate)handlers.LogoutAllAsync).RequireAuthorization(authenticated).AddEndpointFilter(handlers.StoreUnavailableAsync)
            .WithSummary("Log out everywhere: revoke every session of the current user (keepCurrent=true keeps this one); returns revokedCount");
        group.MapGet("/sessions", (Delegate)handlers.ListSessionsAsync).RequireAuthorization(authenticated).AddEndpointFilter(handlers.StoreUnavailableAsync)
            .WithSummary("The current user's active sessions (one per login, not per rotated token)");
        group.MapDelete("/sessions/{sessionId:guid}", (HttpContext http, Guid sessionId) => handlers.RevokeSessionAsync(http, sessionId)).RequireAuthorization(authenticated)
            .AddEndpointFilter(handlers.StoreUnavailableAsync)
            .WithSummary("Revoke one of the current user's sessions");
        return group;
    }
}
