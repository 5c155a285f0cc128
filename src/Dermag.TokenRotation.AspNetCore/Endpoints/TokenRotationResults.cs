using Microsoft.AspNetCore.Http;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>Results for an app's own endpoints that hand out tokens (its login), answering like the refresh endpoint.</summary>
public static class TokenRotationResults
{
    /// <summary>
    /// Returns a token pair as the refresh endpoint does: in the configured format and, with
    /// <see cref="RefreshTokenTransport.Cookie"/>, with the refresh token in the cookie instead of the body. Map the login on the
    /// group <c>MapTokenRotationEndpoints</c> returned so it shares that group's options (elsewhere, the options of the app's
    /// first <c>MapTokenRotationEndpoints</c> call are used, or, without one, those registered in the container).
    /// </summary>
    /// <param name="tokens">The pair from <see cref="IRefreshTokenManager.IssueAsync"/>.</param>
    /// <param name="message">The envelope's message (<see cref="TokenRotationErrorFormat.Envelope"/> only).</param>
    public static IResult Tokens(TokenPair tokens, string? message = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return new TokenPairResult(tokens, message);
    }

    private sealed class TokenPairResult(TokenPair tokens, string? message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            var settings = TokenRotationEndpointSettings.For(httpContext);
            HttpResponses.NoStore(httpContext);
            if (settings.UsesCookie)
            {
                settings.AppendCookie(httpContext, tokens);
            }

            return HttpResponses.Ok(settings.Options.ErrorFormat, TokenBody.From(tokens, includeRefreshToken: !settings.UsesCookie), message)
                .ExecuteAsync(httpContext);
        }
    }
}
