using Microsoft.AspNetCore.Http;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>What a request tells the token service about the client.</summary>
public static class TokenRotationHttpContextExtensions
{
    /// <summary>
    /// The client's address and user agent, as the token endpoints record them with every session they touch: pass it to
    /// <see cref="IRefreshTokenManager.IssueAsync"/> in your login so the session lists them from the start. Behind a proxy,
    /// call <c>UseForwardedHeaders</c> first; the service trims both to the stored lengths.
    /// </summary>
    /// <param name="http">The current request.</param>
    /// <returns>The session context; its <see cref="SessionContext.DeviceFingerprint"/> is not set.</returns>
    public static SessionContext GetSessionContext(this HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return new SessionContext(
            http.Connection.RemoteIpAddress?.ToString(),
            http.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null);
    }
}
