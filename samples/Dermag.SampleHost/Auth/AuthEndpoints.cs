using System.Globalization;
using System.Security.Claims;
using Dermag.SampleHost.Api;
using Dermag.SampleHost.Demo;
using Dermag.TokenRotation;

namespace Dermag.SampleHost.Auth;

/// <summary>Body of <c>POST /api/auth/login</c>.</summary>
public sealed record LoginRequest(string? Username, string? Password);

/// <summary>Body of <c>POST /api/auth/refresh</c> and <c>POST /api/auth/logout</c>.</summary>
public sealed record RefreshRequest(string? RefreshToken);

/// <summary>Body of <c>POST /api/auth/logout/all</c>.</summary>
public sealed record LogoutAllRequest(bool KeepCurrentSession = false);

/// <summary>The token pair the login and refresh endpoints return.</summary>
public sealed record TokenResponse(
    string AccessToken,
    string RefreshToken,
    string TokenType,
    DateTimeOffset AccessTokenExpiresAt,
    DateTimeOffset RefreshTokenExpiresAt,
    Guid SessionId,
    DemoUser? User);

/// <summary>
/// <c>/api/auth</c>: the original's five endpoints on top of Dermag.TokenRotation's token service. Refresh failures map to
/// the original's codes: <c>TOKEN_REUSE_ATTACK</c>, <c>TOKEN_REVOKED</c>, <c>TOKEN_EXPIRED</c>, <c>INVALID_TOKEN</c>.
/// </summary>
public static class AuthEndpoints
{
    public static RouteGroupBuilder MapAuthEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/auth").WithTags("Auth");

        group.MapPost("/login", async (LoginRequest body, DemoUserStore users, IRefreshTokenManager tokens, HttpContext http, CancellationToken ct) =>
        {
            var user = users.Verify(body.Username, body.Password);
            if (user is null)
            {
                return Envelope.Fail(StatusCodes.Status401Unauthorized, ErrorCodes.InvalidCredentials, "Invalid username or password.");
            }

            var pair = await tokens.IssueAsync(UserId(user), SessionContextOf(http), cancellationToken: ct);
            return Envelope.Ok(ToResponse(pair, user), "Logged in.");
        }).AllowAnonymous().WithSummary("Log in with username and password; returns an access token and a refresh token");

        group.MapPost("/refresh", async (RefreshRequest body, DemoUserStore users, IRefreshTokenManager tokens, HttpContext http, CancellationToken ct) =>
        {
            var result = await tokens.RefreshAsync(body.RefreshToken, SessionContextOf(http), cancellationToken: ct);
            if (result.Succeeded)
            {
                return Envelope.Ok(ToResponse(result.Tokens, FindUser(users, result.Tokens.UserId)), "Tokens rotated.");
            }

            return result.Status switch
            {
                RefreshStatus.ReuseDetected => Envelope.Fail(
                    StatusCodes.Status401Unauthorized,
                    ErrorCodes.TokenReuseAttack,
                    "This refresh token was already used. For your safety every session of this account was revoked; please log in again."),
                RefreshStatus.Revoked => Envelope.Fail(StatusCodes.Status401Unauthorized, ErrorCodes.TokenRevoked, "The refresh token was revoked; please log in again."),
                RefreshStatus.Expired => Envelope.Fail(StatusCodes.Status401Unauthorized, ErrorCodes.TokenExpired, "The refresh token expired; please log in again."),
                _ => Envelope.Fail(StatusCodes.Status401Unauthorized, ErrorCodes.InvalidToken, "The refresh token is invalid."),
            };
        }).AllowAnonymous().WithSummary("Rotate a refresh token: the presented token is used up and a new pair is returned");

        group.MapPost("/logout", async (RefreshRequest body, IRefreshTokenManager tokens, HttpContext http, CancellationToken ct) =>
        {
            var result = await tokens.LogoutAsync(body.RefreshToken, SessionContextOf(http), ct);
            return result switch
            {
                LogoutResult.SessionRevoked => Envelope.Ok(null, "Logged out."),
                LogoutResult.AlreadyEnded => Envelope.Ok(null, "The session had already ended."),
                LogoutResult.ReuseDetected => Envelope.Fail(
                    StatusCodes.Status401Unauthorized,
                    ErrorCodes.TokenReuseAttack,
                    "This refresh token was already used. For your safety the account's sessions were revoked; please log in again."),
                _ => Envelope.Fail(StatusCodes.Status401Unauthorized, ErrorCodes.InvalidToken, "The refresh token is invalid."),
            };
        }).AllowAnonymous().WithSummary("Log out: revoke the session of a refresh token");

        group.MapPost("/logout/all", async (LogoutAllRequest? body, ClaimsPrincipal principal, IRefreshTokenManager tokens, HttpContext http, CancellationToken ct) =>
        {
            var except = body?.KeepCurrentSession == true ? SessionId(principal) : null;
            var count = await tokens.RevokeAllSessionsAsync(UserId(principal), except, SessionContextOf(http), ct);
            return Envelope.Ok(new { revokedCount = count }, $"Logged out of {count} session(s).");
        }).RequireAuthorization().WithSummary("Log out everywhere: revoke every session of the current user; returns revokedCount");

        group.MapGet("/sessions", async (ClaimsPrincipal principal, IRefreshTokenManager tokens, CancellationToken ct) =>
        {
            var current = SessionId(principal);
            var sessions = await tokens.ListSessionsAsync(UserId(principal), ct);
            return Envelope.Ok(new
            {
                count = sessions.Count,
                sessions = sessions.Select(s => new
                {
                    s.SessionId,
                    s.IpAddress,
                    s.UserAgent,
                    s.CreatedAt,
                    s.LastUsedAt,
                    s.ExpiresAt,
                    s.AbsoluteExpiresAt,
                    current = s.SessionId == current,
                }),
            });
        }).RequireAuthorization().WithSummary("The current user's active sessions (one per login, not per rotated token)");

        return group;
    }

    internal static SessionContext SessionContextOf(HttpContext http) =>
        new(http.Connection.RemoteIpAddress?.ToString(), http.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null);

    private static string UserId(DemoUser user) => user.Id.ToString(CultureInfo.InvariantCulture);

    private static string UserId(ClaimsPrincipal principal) =>
        principal.FindFirstValue("sub") ?? throw new InvalidOperationException("The access token has no sub claim.");

    private static Guid? SessionId(ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue("sid"), out var sid) ? sid : null;

    private static DemoUser? FindUser(DemoUserStore users, string userId) =>
        int.TryParse(userId, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? users.Find(id) : null;

    private static TokenResponse ToResponse(TokenPair pair, DemoUser? user) =>
        new(pair.AccessToken, pair.RefreshToken, "Bearer", pair.AccessTokenExpiresAt, pair.RefreshTokenExpiresAt, pair.SessionId, user);
}
