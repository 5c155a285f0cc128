using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>
/// The bearer events <c>UseTokenRotation</c> installs. They wrap the events the app set (an instance or an <c>EventsType</c>),
/// so the app's handlers still run: the paranoid session check before the app's <c>OnTokenValidated</c>; the app's
/// <c>OnChallenge</c>/<c>OnForbidden</c> first, the library's answer only when the app did not handle the response.
/// Delegates assigned to this object itself (<c>options.Events.OnTokenValidated = ...</c> in a later <c>PostConfigure</c>)
/// run through <c>base</c>, after the wrapped app events, in the same places.
/// </summary>
internal sealed class TokenRotationBearerEvents(JwtBearerEvents? inner, Type? innerType, TokenRotationBearerOptions options) : JwtBearerEvents
{
    public override async Task MessageReceived(MessageReceivedContext context)
    {
        if (Inner(context.HttpContext) is { } app)
        {
            await app.MessageReceived(context).ConfigureAwait(false);
        }

        if (context.Result is null)
        {
            await base.MessageReceived(context).ConfigureAwait(false);
        }
    }

    public override async Task AuthenticationFailed(AuthenticationFailedContext context)
    {
        if (Inner(context.HttpContext) is { } app)
        {
            await app.AuthenticationFailed(context).ConfigureAwait(false);
        }

        if (context.Result is null)
        {
            await base.AuthenticationFailed(context).ConfigureAwait(false);
        }
    }

    public override async Task TokenValidated(TokenValidatedContext context)
    {
        if (options.ParanoidMode && context.Principal is { } principal && !await SessionIsActiveAsync(context, principal).ConfigureAwait(false))
        {
            return;
        }

        if (Inner(context.HttpContext) is { } app)
        {
            await app.TokenValidated(context).ConfigureAwait(false);
        }

        if (context.Result is null)
        {
            await base.TokenValidated(context).ConfigureAwait(false);
        }
    }

    public override async Task Challenge(JwtBearerChallengeContext context)
    {
        if (Inner(context.HttpContext) is { } app)
        {
            await app.Challenge(context).ConfigureAwait(false);
            if (context.Handled)
            {
                return;
            }
        }

        await base.Challenge(context).ConfigureAwait(false);
        if (context.Handled)
        {
            return;
        }

        context.HandleResponse();
        var (status, code, title, detail) = Classify(context);
        var logger = LoggerOf(context.HttpContext);
        Log.Challenged(logger, code);

        // RFC 6750 section 3: no error attribute when the request carried no credentials; invalid_token otherwise. A session
        // check that could not run is no verdict on the token: 503 without a challenge, and a hint to try again shortly.
        var challenge = context.Options.Challenge;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "5";
        }
        else if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = code == TokenRotationErrorCodes.NoToken
                ? challenge
                : context.Options.IncludeErrorDetails
                    ? $"{challenge} error=\"invalid_token\", error_description=\"{detail}\""
                    : $"{challenge} error=\"invalid_token\"";
        }

        await HttpResponses.Error(options.ErrorFormat, status, code, title, detail)
            .ExecuteAsync(context.HttpContext).ConfigureAwait(false);
    }

    public override async Task Forbidden(ForbiddenContext context)
    {
        if (Inner(context.HttpContext) is { } app)
        {
            await app.Forbidden(context).ConfigureAwait(false);
        }

        if (context.Result is null && !context.Response.HasStarted)
        {
            await base.Forbidden(context).ConfigureAwait(false);
        }

        if (context.Response.HasStarted)
        {
            return;
        }

        await HttpResponses.Error(options.ErrorFormat, StatusCodes.Status403Forbidden, TokenRotationErrorCodes.Forbidden, "Forbidden", "The access token is valid, but it does not allow this request.")
            .ExecuteAsync(context.HttpContext).ConfigureAwait(false);
    }

    /// <summary>
    /// Paranoid mode's check. A revoked session fails authentication (<c>TOKEN_REVOKED</c>); a check that throws (the store is
    /// down) fails it too, answered 503 by the challenge, so endpoints that allow anonymous callers keep working and protected
    /// ones do not tell clients to log in again. A request the client aborted is not a failure of the store.
    /// </summary>
    private static async Task<bool> SessionIsActiveAsync(TokenValidatedContext context, System.Security.Claims.ClaimsPrincipal principal)
    {
        var http = context.HttpContext;
        var manager = http.RequestServices.GetRequiredService<IRefreshTokenManager>();
        var sessionId = principal.FindFirst(TokenTypes.SessionIdClaim)?.Value;
        bool active;
        try
        {
            active = await manager.IsSessionActiveAsync(principal, http.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Any failure of the store means "could not check": the request gets a 503, not a 500 for every caller.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            var logger = LoggerOf(http);
            Log.SessionCheckFailed(logger, sessionId, exception);
            context.Fail(new SessionCheckUnavailableException("The session of this access token could not be checked.", exception));
            return false;
        }

        if (!active)
        {
            var logger = LoggerOf(http);
            Log.SessionNotActive(logger, sessionId);
            context.Fail(new SessionRevokedException());
        }

        return active;
    }

    private static (int Status, string Code, string Title, string Detail) Classify(JwtBearerChallengeContext context) => context.AuthenticateFailure switch
    {
        var failure when Is<SessionCheckUnavailableException>(failure) =>
            (StatusCodes.Status503ServiceUnavailable, TokenRotationErrorCodes.SessionCheckUnavailable, "Session check unavailable", "The session of this access token cannot be checked right now; try again later."),
        var failure when Is<SecurityTokenExpiredException>(failure) =>
            (StatusCodes.Status401Unauthorized, TokenRotationErrorCodes.TokenExpired, "Access token expired", "The access token expired; refresh it."),
        var failure when Is<SessionRevokedException>(failure) =>
            (StatusCodes.Status401Unauthorized, TokenRotationErrorCodes.TokenRevoked, "Session revoked", "The session of this access token was revoked; log in again."),
        not null => (StatusCodes.Status401Unauthorized, TokenRotationErrorCodes.InvalidToken, "Invalid access token", "The access token is invalid."),
        null when context.Request.Headers.Authorization.Count > 0 =>
            (StatusCodes.Status401Unauthorized, TokenRotationErrorCodes.InvalidToken, "Invalid access token", "The access token is invalid."),
        null => (StatusCodes.Status401Unauthorized, TokenRotationErrorCodes.NoToken, "Authentication required", "Authentication required: send an access token as 'Authorization: Bearer <token>'."),
    };

    private static bool Is<T>(Exception? failure)
        where T : Exception =>
        failure is T || (failure is AggregateException aggregate && aggregate.InnerExceptions.Any(e => e is T));

    private static ILogger LoggerOf(HttpContext http) =>
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Dermag.TokenRotation.AspNetCore.Bearer");

    private JwtBearerEvents? Inner(HttpContext http) =>
        innerType is null ? inner : (JwtBearerEvents)http.RequestServices.GetRequiredService(innerType);
}
