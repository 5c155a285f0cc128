namespace Dermag.TokenRotation;

/// <summary>A refresh token row as read under its session's lock.</summary>
internal readonly record struct TokenState(string UserId, Guid SessionId, bool Revoked, string? RevokeReason, DateTimeOffset? RevokedAt, DateTimeOffset ExpiresAt, Guid? RevokedByTokenId);

/// <summary>A session row as read under its lock.</summary>
internal readonly record struct SessionState(
    string UserId,
    Guid SessionId,
    Guid CurrentTokenId,
    DateTimeOffset CurrentIssuedAt,
    DateTimeOffset CurrentExpiresAt,
    DateTimeOffset ExpiresAt,
    bool Revoked)
{
    /// <summary>The session's current token, as the grace replay returns it.</summary>
    public StoredRefreshToken CurrentToken => new(CurrentTokenId, UserId, SessionId, CurrentIssuedAt, CurrentExpiresAt, ExpiresAt);
}

/// <summary>What a presented token is, judged against its session.</summary>
internal enum TokenVerdict
{
    /// <summary>No such token or session (deleted by cleanup, or never issued by this store).</summary>
    NotFound,

    /// <summary>The session's current, unexpired token of a live session.</summary>
    Current,

    /// <summary>The token has expired; nothing may change.</summary>
    Expired,

    /// <summary>Revoked by a logout, a revocation or a reuse response, or its session has ended.</summary>
    Revoked,

    /// <summary>The immediate predecessor of the current token, presented again within the grace period.</summary>
    GraceReplay,

    /// <summary>A rotated-away token presented again outside the grace period: likely stolen.</summary>
    Reuse,
}

/// <summary>
/// The one judgement both stores make, so they cannot drift apart. It is made while the session is locked (PostgreSQL:
/// <c>SELECT ... FOR UPDATE</c> on <c>refresh_sessions</c>; in memory: the store's lock), the same lock a rotation's
/// compare-and-swap and every revocation take, so its answer cannot be overtaken by a concurrent rotation.
/// </summary>
internal static class SessionRules
{
    /// <summary>The longest grace period allowed: a replayed predecessor is a stolen token once this has passed.</summary>
    public static readonly TimeSpan MaxGracePeriod = TimeSpan.FromSeconds(60);

    public static TokenVerdict Judge(Guid tokenId, TokenState? token, SessionState? session, DateTimeOffset now, TimeSpan gracePeriod)
    {
        if (token is not { } t || session is not { } s)
        {
            return TokenVerdict.NotFound;
        }

        if (!t.Revoked)
        {
            if (t.ExpiresAt <= now)
            {
                return TokenVerdict.Expired;
            }

            return s.CurrentTokenId == tokenId && !s.Revoked && s.CurrentExpiresAt > now ? TokenVerdict.Current : TokenVerdict.Revoked;
        }

        if (t.RevokeReason != RevokeReasons.Rotated)
        {
            return TokenVerdict.Revoked;
        }

        return gracePeriod > TimeSpan.Zero
            && t.RevokedAt + gracePeriod > now
            && t.RevokedByTokenId == s.CurrentTokenId
            && !s.Revoked
            && s.CurrentExpiresAt > now
            ? TokenVerdict.GraceReplay
            : TokenVerdict.Reuse;
    }

    public static string PolicyName(TokenReusePolicy policy) =>
        policy == TokenReusePolicy.RevokeSession ? "revoke_session" : "revoke_all_user_sessions";
}
