using System.Security.Claims;
using Microsoft.IdentityModel.Tokens;

namespace Dermag.TokenRotation;

/// <summary>
/// Issues, rotates and revokes tokens. Registered as a singleton by <c>AddRefreshTokenRotation()</c>; thread-safe.
/// Expected outcomes (expired, revoked, reused, invalid tokens) are results, not exceptions.
/// </summary>
public interface IRefreshTokenManager
{
    /// <summary>Starts a session for a user who has just authenticated (login) and returns its first pair. Writes a <c>LOGIN</c> audit row.</summary>
    /// <param name="userId">The user id (<c>sub</c>); it must fit the configured user-id column type.</param>
    /// <param name="context">Where the login comes from, stored with the session.</param>
    /// <param name="extraClaims">Claims added to the access token (for example roles); repeated types become arrays. Registered claim names are refused.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <exception cref="ArgumentException">The user id is empty or does not fit the column type, or an extra claim uses a reserved name.</exception>
    Task<TokenPair> IssueAsync(string userId, SessionContext? context = null, IEnumerable<Claim>? extraClaims = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Exchanges a refresh token for a new pair (rotation). The presented token is then used up; presenting it again is
    /// reuse (unless within the grace period while its successor is unused, which returns that same successor).
    /// </summary>
    /// <param name="refreshToken">The refresh token as the client sent it; any string is accepted and judged.</param>
    /// <param name="context">Where the request comes from; recorded on the successor and in audit rows.</param>
    /// <param name="extraClaims">Claims for the new access token, added to those of the registered <see cref="IAccessTokenClaimsProvider"/>s (refresh tokens do not carry claims: register a provider, or pass current roles again).</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    Task<RefreshResult> RefreshAsync(string? refreshToken, SessionContext? context = null, IEnumerable<Claim>? extraClaims = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends the session a refresh token belongs to (logout) and writes a <c>LOGOUT</c> audit row. The session's current token
    /// (or, within the grace period, its immediate predecessor) logs out; a token rotated away before that is reuse and
    /// gets the reuse policy (<see cref="LogoutResult.ReuseDetected"/>); an expired token changes nothing. Garbage is
    /// <see cref="LogoutResult.Invalid"/> without a store call.
    /// </summary>
    Task<LogoutResult> LogoutAsync(string? refreshToken, SessionContext? context = null, CancellationToken cancellationToken = default);

    /// <summary>Revokes one session of a user (for example from a "signed-in devices" page) and writes a <c>SESSION_REVOKED</c> audit row.</summary>
    /// <returns>True when an active session was revoked; false when it was not active or belongs to another user.</returns>
    Task<bool> RevokeSessionAsync(string userId, Guid sessionId, SessionContext? context = null, CancellationToken cancellationToken = default);

    /// <summary>Revokes every active session of a user, optionally all but one (the caller's), and writes a <c>LOGOUT_ALL</c> audit row.</summary>
    /// <returns>How many sessions were revoked (the original API's <c>revokedCount</c>).</returns>
    Task<int> RevokeAllSessionsAsync(string userId, Guid? exceptSessionId = null, SessionContext? context = null, CancellationToken cancellationToken = default);

    /// <summary>The active sessions of a user, one entry per session (not per rotated token), most recently used first.</summary>
    Task<IReadOnlyList<SessionInfo>> ListSessionsAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// True when the session still has an active refresh token ("paranoid mode": call it per request with the access token's
    /// <c>sid</c>). Answers are cached for <see cref="RefreshTokenRotationOptions.SessionCheckCacheDuration"/>; revocations
    /// made through this instance take effect at once, those of other instances as soon as their notification arrives
    /// (PostgreSQL <c>LISTEN/NOTIFY</c>).
    /// </summary>
    ValueTask<bool> IsSessionActiveAsync(Guid sessionId, CancellationToken cancellationToken = default);

    /// <summary>Like <see cref="IsSessionActiveAsync(Guid, CancellationToken)"/> for an authenticated principal; false when it has no session claim.</summary>
    ValueTask<bool> IsSessionActiveAsync(ClaimsPrincipal principal, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes refresh tokens and sessions that expired more than <see cref="RefreshTokenRotationOptions.CleanupRetention"/>
    /// ago and audit rows older than <see cref="RefreshTokenRotationOptions.AuditRetention"/>, in bounded batches.
    /// </summary>
    /// <returns>How many rows of each kind were deleted.</returns>
    Task<TokenCleanupResult> CleanupAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Parameters for JwtBearer that accept exactly the access tokens this service issues: HS256 only, <c>typ</c>
    /// <c>at+jwt</c>, the configured issuer and audience, any of the access keys, lifetime checked against the injected
    /// <see cref="TimeProvider"/>. A new instance per call.
    /// </summary>
    TokenValidationParameters CreateAccessTokenValidationParameters();
}
