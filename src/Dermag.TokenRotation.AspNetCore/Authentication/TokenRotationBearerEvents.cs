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
/// </summary>
internal sealed class TokenRotationBearerEvents(JwtBearerEvents? inner, Type? innerType, TokenRotationBearerOptions options) : JwtBearerEvents
{
    public override Task MessageReceived(MessageReceivedContext context) =>
        Inner(context.HttpContext)?.MessageReceived(context) ?? Task.CompletedTask;

    public override Task AuthenticationFailed(AuthenticationFailedContext context) =>
        Inner(context.HttpContext)?.AuthenticationFailed(context) ?? Task.CompletedTask;

    public override async Task TokenValidated(TokenValidatedContext context)
    {
        if (options.ParanoidMode && context.Principal is { } principal)
        {
            var manager = context.HttpContext.RequestServices.GetRequiredService<IRefreshTokenManager>();
            if (!await manager.IsSessionActiveAsync(principal, context.HttpContext.RequestAborted).ConfigureAwait(false))
            {
                var logger = LoggerOf(context.HttpContext);
                var sessionId = principal.FindFirst(TokenTypes.SessionIdClaim)?.Value;
                Log.SessionNotActive(logger, sessionId);
                context.Fail(new SessionRevokedException());
                return;
            }
        }

        if (Inner(context.HttpContext) is { } app)
        {
            await app.TokenValidated(context).ConfigureAwait(false);
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

        context.HandleResponse();
        var (code, title, detail) = Classify(context);
        var logger = LoggerOf(context.HttpContext);
        Log.Challenged(logger, code);

        // RFC 6750 section 3: no error attribute when the request carried no credentials; invalid_token otherwise.
        var challenge = context.Options.Challenge;
        context.Response.Headers.WWWAuthenticate = code == TokenRotationErrorCodes.NoToken
            ? challenge
            : context.Options.IncludeErrorDetails
                ? $"{challenge} error=\"invalid_token\", error_description=\"{detail}\""
                : $"{challenge} error=\"invalid_token\"";
        await HttpResponses.Error(options.ErrorFormat, StatusCodes.Status401Unauthorized, code, title, detail)
            .ExecuteAsync(context.HttpContext).ConfigureAwait(false);
    }

    public override async Task Forbidden(ForbiddenContext context)
    {
        if (Inner(context.HttpContext) is { } app)
        {
            await app.Forbidden(context).ConfigureAwait(false);
        }

        if (context.Response.HasStarted)
        {
            return;
        }

        await HttpResponses.Error(options.ErrorFormat, StatusCodes.Status403Forbidden, TokenRotationErrorCodes.Forbidden, "Forbidden", "The access token is valid, but it does not allow this request.")
            .ExecuteAsync(context.HttpContext).ConfigureAwait(false);
    }

    private static (string Code, string Title, string Detail) Classify(JwtBearerChallengeContext context) => context.AuthenticateFailure switch
    {
        var failure when Is<SecurityTokenExpiredException>(failure) =>
            (TokenRotationErrorCodes.TokenExpired, "Access token expired", "The access token expired; refresh it."),
        var failure when Is<SessionRevokedException>(failure) =>
            (TokenRotationErrorCodes.TokenRevoked, "Session revoked", "The session of this access token was revoked; log in again."),
        not null => (TokenRotationErrorCodes.InvalidToken, "Invalid access token", "The access token is invalid."),
        null when context.Request.Headers.Authorization.Count > 0 =>
            (TokenRotationErrorCodes.InvalidToken, "Invalid access token", "The access token is invalid."),
        null => (TokenRotationErrorCodes.NoToken, "Authentication required", "Authentication required: send an access token as 'Authorization: Bearer <token>'."),
    };

    private static bool Is<T>(Exception? failure)
        where T : Exception =>
        failure is T || (failure is AggregateException aggregate && aggregate.InnerExceptions.Any(e => e is T));

    private static ILogger LoggerOf(HttpContext http) =>
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Dermag.TokenRotation.AspNetCore.Bearer");

    private JwtBearerEvents? Inner(HttpContext http) =>
        innerType is null ? inner : (JwtBearerEvents)http.RequestServices.GetRequiredService(innerType);
}
