using System.Globalization;
using System.Security.Claims;
using Dermag.SampleHost.Api;
using Dermag.SampleHost.Demo;
using Dermag.TokenRotation;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Dermag.SampleHost.Auth;

/// <summary>Host settings of the sample (section <c>Dermag</c>).</summary>
public sealed class SampleHostOptions
{
    /// <summary>Check on every request that the access token's session is still active (the original's "paranoid mode").</summary>
    public bool ParanoidMode { get; set; }
}

/// <summary>
/// JwtBearer validates access tokens with the parameters Dermag.TokenRotation hands out; failures and denials are
/// answered in the original's envelope with its codes.
/// </summary>
internal sealed class JwtBearerSetup(IRefreshTokenManager tokens, DemoUserStore users, IOptions<SampleHostOptions> hostOptions)
    : IConfigureNamedOptions<JwtBearerOptions>
{
    private const string RevokedFailure = "The session of this access token was revoked.";

    public void Configure(string? name, JwtBearerOptions options)
    {
        if (name != JwtBearerDefaults.AuthenticationScheme)
        {
            return;
        }

        options.MapInboundClaims = false;
        var parameters = tokens.CreateAccessTokenValidationParameters();
        parameters.NameClaimType = "name";
        parameters.RoleClaimType = "role";
        options.TokenValidationParameters = parameters;
        options.Events = new JwtBearerEvents
        {
            OnTokenValidated = async context =>
            {
                var principal = context.Principal!;
                if (hostOptions.Value.ParanoidMode && !await tokens.IsSessionActiveAsync(principal, context.HttpContext.RequestAborted))
                {
                    context.Fail(RevokedFailure);
                    return;
                }

                // Roles come from the user store on every request, so a role change applies without a new token.
                var user = int.TryParse(principal.FindFirstValue("sub"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? users.Find(id) : null;
                if (user is null)
                {
                    context.Fail("Unknown user.");
                    return;
                }

                principal.AddIdentity(new ClaimsIdentity([new Claim("name", user.Username), new Claim("role", user.Role)], "demo-users", "name", "role"));
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                var (code, message) = context.AuthenticateFailure switch
                {
                    // The library checks lifetimes on its TimeProvider and reports an expired token as the default validator does.
                    SecurityTokenExpiredException => (ErrorCodes.TokenExpired, "The access token expired; refresh it."),
                    { Message: RevokedFailure } => (ErrorCodes.TokenRevoked, RevokedFailure),
                    not null => (ErrorCodes.InvalidToken, "The access token is invalid."),
                    null when context.Request.Headers.Authorization.Count > 0 => (ErrorCodes.InvalidToken, "The access token is invalid."),
                    null => (ErrorCodes.NoToken, "Authentication required: send an access token as 'Authorization: Bearer <token>'."),
                };
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await context.Response.WriteAsJsonAsync(ApiResponse.Fail(code, message));
            },
            OnForbidden = async context =>
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await context.Response.WriteAsJsonAsync(ApiResponse.Fail(ErrorCodes.Forbidden, "Your role may not do this."));
            },
        };
    }

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);
}
