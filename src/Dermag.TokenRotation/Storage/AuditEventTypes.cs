namespace Dermag.TokenRotation;

/// <summary>The <c>event_type</c> values written to <c>audit_logs</c>.</summary>
public static class AuditEventTypes
{
    /// <summary>A new session was issued (login).</summary>
    public const string Login = "LOGIN";

    /// <summary>A session was ended with its refresh token (logout).</summary>
    public const string Logout = "LOGOUT";

    /// <summary>All sessions of a user were revoked (optionally but one).</summary>
    public const string LogoutAll = "LOGOUT_ALL";

    /// <summary>One session was revoked by id.</summary>
    public const string SessionRevoked = "SESSION_REVOKED";

    /// <summary>A rotated-away refresh token was presented; the reuse policy was applied (the original system's event).</summary>
    public const string TokenReuseAttack = "TOKEN_REUSE_ATTACK";

    /// <summary>
    /// A rotated-away refresh token was presented again within the grace period and got its existing successor back. Not an
    /// attack by itself, but a chain replayed from two places shows up here.
    /// </summary>
    public const string TokenGraceReplay = "TOKEN_GRACE_REPLAY";
}

/// <summary>The <c>revoke_reason</c> values written to <c>refresh_tokens</c>.</summary>
public static class RevokeReasons
{
    /// <summary>Replaced by its successor (<c>revoked_by_token_id</c>).</summary>
    public const string Rotated = "rotated";

    /// <summary>Its session was logged out.</summary>
    public const string Logout = "logout";

    /// <summary>Its session was revoked by id.</summary>
    public const string SessionRevoked = "session_revoked";

    /// <summary>All sessions of the user were revoked.</summary>
    public const string LogoutAll = "logout_all";

    /// <summary>Revoked in response to a reuse attack.</summary>
    public const string ReuseDetected = "reuse_detected";
}
