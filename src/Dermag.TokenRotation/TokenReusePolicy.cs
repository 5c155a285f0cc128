namespace Dermag.TokenRotation;

/// <summary>The response to a refresh token presented after it was rotated away (a likely stolen token).</summary>
public enum TokenReusePolicy
{
    /// <summary>Revoke every session of the user and force a new login everywhere (the original system's behaviour).</summary>
    RevokeAllUserSessions = 0,

    /// <summary>Revoke only the session the reused token belongs to.</summary>
    RevokeSession = 1,
}
