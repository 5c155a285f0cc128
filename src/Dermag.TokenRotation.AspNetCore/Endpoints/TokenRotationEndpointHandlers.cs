using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dermag.TokenRotation.AspNetCore;

internal sealed record RefreshTokenRequest(string? RefreshToken);

internal sealed record LogoutAllRequest(bool KeepCurrentSession);

internal sealed record RevokedCountBody(int RevokedCount);

internal sealed record SessionBody(
    Guid SessionId,
    string? IpAddress,
    string? UserAgent,
    string? DeviceFingerprint,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUsedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset AbsoluteExpiresAt,
    bool Current);

internal sealed record SessionsBody(int Count, IReadOnlyList<SessionBody> Sessions);

/// <summary>The request handlers behind <c>MapTokenRotationEndpoints</c>; each maps the token service's results to HTTP.</summary>
internal sealed class TokenRotationEndpointHandlers(TokenRotationEndpointSettings settings, IReadOnlyList<string> schemes)
{
    private const string LoggerName = "Dermag.TokenRotation.AspNetCore.Endpoints";

    private TokenRotationErrorFormat Format => settings.Options.ErrorFormat;

    public async Task<IResult> RefreshAsync(HttpContext http)
    {
        HttpResponses.NoStore(http);
        var (token, error) = await ReadRefreshTokenAsync(http).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        if (string.IsNullOrEmpty(token))
        {
            if (settings.UsesCookie)
            {
                settings.DeleteCookie(http);
            }

            return NoRefreshToken();
        }

        var manager = http.RequestServices.GetRequiredService<IRefreshTokenManager>();
        var result = await manager.RefreshAsync(token, http.GetSessionContext(), cancellationToken: http.RequestAborted).ConfigureAwait(false);
        if (result.Succeeded)
        {
            if (settings.UsesCookie)
            {
                settings.AppendCookie(http, result.Tokens);
            }

            return HttpResponses.Ok(Format, TokenBody.From(result.Tokens, includeRefreshToken: !settings.UsesCookie), "Tokens rotated.");
        }

        if (settings.UsesCookie)
        {
            settings.DeleteCookie(http); // whatever went wrong, this cookie will never refresh again: log in again
        }

        var logger = Logger(http);
        Log.RefreshRefused(logger, result.ErrorCode!);
        return result.Status switch
        {
            RefreshStatus.ReuseDetected => Unauthorized(
                TokenRotationErrorCodes.TokenReuseAttack,
                "Refresh token reuse detected",
                "This refresh token was already used. For your safety the account's sessions were revoked; please log in again."),
            RefreshStatus.Revoked => Unauthorized(TokenRotationErrorCodes.TokenRevoked, "Refresh token revoked", "The refresh token was revoked; please log in again."),
            RefreshStatus.Expired => Unauthorized(TokenRotationErrorCodes.TokenExpired, "Refresh token expired", "The refresh token expired; please log in again."),
            _ => Unauthorized(TokenRotationErrorCodes.InvalidToken, "Invalid refresh token", "The refresh token is invalid."),
        };
    }

    public async Task<IResult> LogoutAsync(HttpContext http)
    {
        var (token, error) = await ReadRefreshTokenAsync(http).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var manager = http.RequestServices.GetRequiredService<IRefreshTokenManager>();
        if (token is null && await CurrentUserAsync(http).ConfigureAwait(false) is { } user)
        {
            // No refresh token, but an access token of the token service: end the session it belongs to.
            await manager.RevokeSessionAsync(user.UserId, user.SessionId, http.GetSessionContext(), http.RequestAborted).ConfigureAwait(false);
            DeleteCookieOnceAnswered(http);
            return HttpResponses.Ok(Format, null, "Logged out.");
        }

        if (string.IsNullOrEmpty(token))
        {
            DeleteCookieOnceAnswered(http);
            return NoRefreshToken();
        }

        var result = await manager.LogoutAsync(token, http.GetSessionContext(), http.RequestAborted).ConfigureAwait(false);

        // Only now: a logout the store could not answer (503) keeps the cookie, so the browser can log out again.
        DeleteCookieOnceAnswered(http);
        return result switch
        {
            LogoutResult.SessionRevoked => HttpResponses.Ok(Format, null, "Logged out."),
            LogoutResult.AlreadyEnded => HttpResponses.Ok(Format, null, "The session had already ended."),
            LogoutResult.ReuseDetected => Unauthorized(
                TokenRotationErrorCodes.TokenReuseAttack,
                "Refresh token reuse detected",
                "This refresh token was already used. For your safety the account's sessions were revoked; please log in again."),
            _ => Unauthorized(TokenRotationErrorCodes.InvalidToken, "Invalid refresh token", "The refresh token is invalid."),
        };
    }

    public async Task<IResult> LogoutAllAsync(HttpContext http)
    {
        if (await CurrentUserAsync(http).ConfigureAwait(false) is not var (userId, sessionId))
        {
            return NoUser();
        }

        var keepCurrent = http.Request.Query["keepCurrent"].ToString() is { Length: > 0 } query
            && bool.TryParse(query, out var fromQuery) && fromQuery;
        if (!keepCurrent && http.Request.HasJsonContentType())
        {
            try
            {
                var body = await http.Request.ReadFromJsonAsync<LogoutAllRequest>(http.RequestAborted).ConfigureAwait(false);
                keepCurrent = body?.KeepCurrentSession == true;
            }
            catch (Exception exception) when (IsUnreadableBody(exception))
            {
                return InvalidBody();
            }
        }

        Guid? except = keepCurrent ? sessionId : null;
        var manager = http.RequestServices.GetRequiredService<IRefreshTokenManager>();
        var count = await manager.RevokeAllSessionsAsync(userId, except, http.GetSessionContext(), http.RequestAborted).ConfigureAwait(false);
        if (settings.UsesCookie && !keepCurrent)
        {
            settings.DeleteCookie(http);
        }

        return HttpResponses.Ok(Format, new RevokedCountBody(count), string.Create(CultureInfo.InvariantCulture, $"Logged out of {count} session(s)."));
    }

    public async Task<IResult> ListSessionsAsync(HttpContext http)
    {
        if (await CurrentUserAsync(http).ConfigureAwait(false) is not var (userId, current))
        {
            return NoUser();
        }

        HttpResponses.NoStore(http);

        var manager = http.RequestServices.GetRequiredService<IRefreshTokenManager>();
        var sessions = await manager.ListSessionsAsync(userId, http.RequestAborted).ConfigureAwait(false);
        var body = sessions
            .Select(s => new SessionBody(s.SessionId, s.IpAddress, s.UserAgent, s.DeviceFingerprint, s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.AbsoluteExpiresAt, s.SessionId == current))
            .ToList();
        return HttpResponses.Ok(Format, new SessionsBody(body.Count, body), null);
    }

    public async Task<IResult> RevokeSessionAsync(HttpContext http, Guid sessionId)
    {
        if (await CurrentUserAsync(http).ConfigureAwait(false) is not var (userId, _))
        {
            return NoUser();
        }

        var manager = http.RequestServices.GetRequiredService<IRefreshTokenManager>();
        var revoked = await manager.RevokeSessionAsync(userId, sessionId, http.GetSessionContext(), http.RequestAborted).ConfigureAwait(false);
        var logger = Logger(http);
        Log.SessionRevokeRequested(logger, sessionId, userId, revoked);

        // Another user's session gets the same answer as an unknown one: ids cannot be probed.
        return revoked
            ? HttpResponses.Ok(Format, null, "Session revoked.")
            : HttpResponses.Error(Format, StatusCodes.Status404NotFound, TokenRotationErrorCodes.SessionNotFound, "Session not found", "No active session of yours has this id.");
    }

    /// <summary>The refresh token from the configured transport; an error result when the body is malformed or the CSRF check fails.</summary>
    private async Task<(string? Token, IResult? Error)> ReadRefreshTokenAsync(HttpContext http)
    {
        if (settings.UsesCookie)
        {
            if (!http.Request.Cookies.TryGetValue(settings.Options.CookieName, out var cookie) || string.IsNullOrEmpty(cookie))
            {
                return (null, null);
            }

            if (CsrfCheck.Failure(http, settings.Options.CsrfHeaderName, settings.AllowedOrigins) is { } reason)
            {
                var logger = Logger(http);
                var path = http.Request.Path.Value ?? string.Empty;
                Log.CsrfRefused(logger, path, reason);
                return (null, HttpResponses.Error(
                    Format,
                    StatusCodes.Status403Forbidden,
                    TokenRotationErrorCodes.CsrfCheckFailed,
                    "Cross-site request refused",
                    $"A request that carries the refresh token cookie must come from this site's own script and send the {settings.Options.CsrfHeaderName} header."));
            }

            return (cookie, null);
        }

        if (!http.Request.HasJsonContentType())
        {
            return (null, null);
        }

        try
        {
            var body = await http.Request.ReadFromJsonAsync<RefreshTokenRequest>(http.RequestAborted).ConfigureAwait(false);
            return (body?.RefreshToken, null);
        }
        catch (Exception exception) when (IsUnreadableBody(exception))
        {
            return (null, InvalidBody());
        }
    }

    /// <summary>
    /// What ReadFromJsonAsync throws for a body the client got wrong: malformed JSON, or a charset it cannot decode
    /// (<c>application/json; charset=bogus</c> is an InvalidOperationException, an unsupported encoding a NotSupportedException).
    /// </summary>
    private static bool IsUnreadableBody(Exception exception) =>
        exception is JsonException or InvalidOperationException or NotSupportedException;

    private void DeleteCookieOnceAnswered(HttpContext http)
    {
        if (settings.UsesCookie)
        {
            settings.DeleteCookie(http);
        }
    }

    /// <summary>Nothing to rotate or end: the same code as an invalid token (the contract), with what to send instead.</summary>
    private IResult NoRefreshToken() => Unauthorized(
        TokenRotationErrorCodes.InvalidToken,
        "No refresh token",
        settings.UsesCookie
            ? $"No refresh token was sent: the {settings.Options.CookieName} cookie is missing; please log in again."
            : "No refresh token was sent: post {\"refreshToken\": \"...\"} with Content-Type application/json.");

    private IResult Unauthorized(string code, string title, string detail) =>
        HttpResponses.Error(Format, StatusCodes.Status401Unauthorized, code, title, detail);

    private IResult NoUser() => Unauthorized(TokenRotationErrorCodes.InvalidToken, "Invalid access token", "The access token names no user.");

    private IResult InvalidBody() =>
        HttpResponses.Error(Format, StatusCodes.Status400BadRequest, TokenRotationErrorCodes.InvalidRequest, "Malformed request body", "The request body is not valid JSON of the expected shape.");

    /// <summary>
    /// The user and session of the request's access token, authenticated with the schemes <c>UseTokenRotation</c> configured
    /// and no other (<c>HttpContext.User</c> may come from the app's default scheme, a partner's token with the same <c>sub</c>).
    /// Taken from the identity the token service's token made: its <c>sub</c> and its <c>sid</c>, never a fallback claim.
    /// </summary>
    private async Task<TokenUser?> CurrentUserAsync(HttpContext http)
    {
        foreach (var scheme in schemes)
        {
            // Authentication runs once per scheme and request; this reads the cached result.
            var result = await http.AuthenticateAsync(scheme).ConfigureAwait(false);
            if (result.Succeeded && TokenUser.From(result.Principal) is { } user)
            {
                return user;
            }
        }

        return null;
    }

    private sealed record TokenUser(string UserId, Guid SessionId)
    {
        public static TokenUser? From(ClaimsPrincipal principal)
        {
            foreach (var identity in principal.Identities)
            {
                if (identity.IsAuthenticated
                    && identity.FindFirst("sub")?.Value is { Length: > 0 } userId
                    && Guid.TryParse(identity.FindFirst(TokenTypes.SessionIdClaim)?.Value, out var sessionId))
                {
                    return new TokenUser(userId, sessionId);
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Wraps each token endpoint: a token store that cannot be reached or is overloaded (<see cref="IsStoreFailure"/>) is a
    /// 503 with <c>Retry-After</c>, never a bare 500 and never a 401 that would make a client log its user out.
    /// </summary>
    public async ValueTask<object?> StoreUnavailableAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (Exception exception) when (IsStoreFailure(exception) && !http.RequestAborted.IsCancellationRequested)
        {
            Log.TokenStoreUnavailable(Logger(http), http.Request.Path.Value ?? string.Empty, exception);
            System.Diagnostics.Activity.Current?.AddException(exception).SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            HttpResponses.NoStore(http);
            http.Response.Headers.RetryAfter = "5";
            return HttpResponses.Error(
                Format,
                StatusCodes.Status503ServiceUnavailable,
                TokenRotationErrorCodes.TokenServiceUnavailable,
                "Token service unavailable",
                "The token service cannot reach its store right now; try again shortly.");
        }
    }

    /// <summary>
    /// A failure that retrying later can cure: the database cannot be reached or is overloaded (Npgsql marks network and
    /// pool failures, timeouts, 08xxx, 53xxx, 57P0x, 40001 and 40P01 transient). A missing function, a revoked grant or a
    /// constraint violation is a defect or a misconfiguration: it stays a 500 that alerting sees. Not a client's broken
    /// request either (BadHttpRequestException is an IOException, which is not here).
    /// </summary>
    private static bool IsStoreFailure(Exception exception) =>
        exception is System.Data.Common.DbException { IsTransient: true } or TimeoutException;

    private static ILogger Logger(HttpContext http) => http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(LoggerName);
}
