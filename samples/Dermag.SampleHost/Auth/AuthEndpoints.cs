using System.Globalization;
using Dermag.SampleHost.Api;
using Dermag.SampleHost.Demo;
using Dermag.TokenRotation;
using Dermag.TokenRotation.AspNetCore;

namespace Dermag.SampleHost.Auth;

/// <summary>Body of <c>POST /api/auth/login</c>.</summary>
public sealed record LoginRequest(string? Username, string? Password);

/// <summary>The token pair the login endpoint returns (the refresh endpoint returns the same without <c>user</c>).</summary>
public sealed record TokenResponse(
    string AccessToken,
    string RefreshToken,
    string TokenType,
    DateTimeOffset AccessTokenExpiresAt,
    DateTimeOffset RefreshTokenExpiresAt,
    Guid SessionId,
    DemoUser? User);

/// <summary>
/// <c>/api/auth</c>: the app's own login (check the password, then <see cref="IRefreshTokenManager.IssueAsync"/>), and the
/// rest from Dermag.TokenRotation.AspNetCore in the original's envelope: refresh, logout, logout/all, sessions, revoke a session.
/// </summary>
public static class AuthEndpoints
{
    public static RouteGroupBuilder MapAuthEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapTokenRotationEndpoints("/api/auth", options =>
        {
            options.ErrorFormat = TokenRotationErrorFormat.Envelope;
            options.RateLimiterPolicy = SampleAuth.RefreshRateLimit;
        }).WithTags("Auth");

        group.MapPost("/login", async (LoginRequest body, DemoUserStore users, IRefreshTokenManager tokens, HttpContext http, CancellationToken ct) =>
        {
            var user = users.Verify(body.Username, body.Password);
            if (user is null)
            {
                return Envelope.Fail(StatusCodes.Status401Unauthorized, ErrorCodes.InvalidCredentials, "Invalid username or password.");
            }

            var pair = await tokens.IssueAsync(user.Id.ToString(CultureInfo.InvariantCulture), http.GetSessionContext(), cancellationToken: ct);
            return Envelope.Ok(
                new TokenResponse(pair.AccessToken, pair.RefreshToken, "Bearer", pair.AccessTokenExpiresAt, pair.RefreshTokenExpiresAt, pair.SessionId, user),
                "Logged in.");
        }).AllowAnonymous().RequireRateLimiting(SampleAuth.LoginRateLimit).WithMetadata(SampleAuth.HashesPasswords)
            .WithSummary("Log in with username and password; returns an access token and a refresh token");

        return group;
    }
}
