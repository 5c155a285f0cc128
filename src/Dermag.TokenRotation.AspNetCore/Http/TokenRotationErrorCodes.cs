namespace Dermag.TokenRotation.AspNetCore;

/// <summary>
/// The codes the bearer challenge and the token endpoints return (the problem-details extension <c>code</c>, or the envelope's
/// <c>code</c>). The first four are <see cref="RefreshResult.ErrorCode"/>'s, the original system's codes.
/// </summary>
public static class TokenRotationErrorCodes
{
    /// <summary>A refresh token that had already been rotated away was presented; the reuse policy was applied. Log in again.</summary>
    public const string TokenReuseAttack = "TOKEN_REUSE_ATTACK";

    /// <summary>The refresh token, or (paranoid mode) the access token's session, was revoked. Log in again.</summary>
    public const string TokenRevoked = "TOKEN_REVOKED";

    /// <summary>The token expired: for an access token, refresh it; for a refresh token, log in again.</summary>
    public const string TokenExpired = "TOKEN_EXPIRED";

    /// <summary>The token is not one this service issued (garbage, tampered, wrong type or key) or none was sent where one is required.</summary>
    public const string InvalidToken = "INVALID_TOKEN";

    /// <summary>A protected endpoint was called without an access token.</summary>
    public const string NoToken = "NO_TOKEN";

    /// <summary>The access token is valid but the authorization policy refused the request.</summary>
    public const string Forbidden = "FORBIDDEN";

    /// <summary>The session does not exist, is no longer active, or belongs to another user (the same answer for all three, so ids cannot be probed).</summary>
    public const string SessionNotFound = "SESSION_NOT_FOUND";

    /// <summary>A request that carried the refresh token in the cookie failed the cross-site request forgery check.</summary>
    public const string CsrfCheckFailed = "CSRF_CHECK_FAILED";

    /// <summary>The request body could not be read (malformed JSON).</summary>
    public const string InvalidRequest = "INVALID_REQUEST";

    /// <summary>
    /// Paranoid mode could not check the access token's session (its store is unavailable): the answer is 503, not 401, because
    /// the token may well be valid. Retry later; do not log the user out.
    /// </summary>
    public const string SessionCheckUnavailable = "SESSION_CHECK_UNAVAILABLE";

    /// <summary>
    /// A token endpoint could not reach the token store (the database is down or unreachable): the answer is 503 with
    /// <c>Retry-After</c>, not 500 and not 401, because the refresh token may well be valid. Retry later with the same token; do
    /// not log the user out.
    /// </summary>
    public const string TokenServiceUnavailable = "TOKEN_SERVICE_UNAVAILABLE";
}
