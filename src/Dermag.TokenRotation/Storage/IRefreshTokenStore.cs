namespace Dermag.TokenRotation;

/// <summary>A stored refresh token: ids and times only, never the token text.</summary>
internal sealed record StoredRefreshToken(
    Guid TokenId,
    string UserId,
    Guid SessionId,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset SessionExpiresAt);

internal sealed record RotationRequest(
    Guid TokenId,
    Guid SuccessorId,
    DateTimeOffset Now,
    TimeSpan RefreshTokenLifetime,
    TimeSpan GracePeriod,
    TokenReusePolicy ReusePolicy,
    SessionContext Context)
{
    /// <summary>Token times are whole seconds, as in the JWT, so the token can be re-created from the row.</summary>
    public DateTimeOffset IssuedAt => JwtCodec.TruncateToSeconds(Now);

    public DateTimeOffset ExpiresAt => IssuedAt + RefreshTokenLifetime;
}

internal enum RotationStatus
{
    Rotated,
    GraceReplay,
    Expired,
    Revoked,
    ReuseDetected,
    NotFound,
}

/// <summary>What the store did with a rotation request. <see cref="Token"/> is the successor for Rotated and GraceReplay.</summary>
internal sealed record RotationOutcome(RotationStatus Status, StoredRefreshToken? Token = null, string? UserId = null, Guid? SessionId = null, IReadOnlyList<Guid>? RevokedSessions = null);

internal enum RevocationScope
{
    /// <summary>The session of a refresh token (logout).</summary>
    Logout,

    /// <summary>One session by id.</summary>
    Session,

    /// <summary>All sessions of the user, optionally but one.</summary>
    AllSessions,
}

internal sealed record RevocationRequest(RevocationScope Scope, string UserId, Guid? SessionId, Guid? ExceptSessionId, DateTimeOffset Now, SessionContext Context)
{
    public string Reason => Scope switch
    {
        RevocationScope.Logout => RevokeReasons.Logout,
        RevocationScope.Session => RevokeReasons.SessionRevoked,
        _ => RevokeReasons.LogoutAll,
    };

    public string AuditEventType => Scope switch
    {
        RevocationScope.Logout => AuditEventTypes.Logout,
        RevocationScope.Session => AuditEventTypes.SessionRevoked,
        _ => AuditEventTypes.LogoutAll,
    };
}

/// <summary>
/// Persistence of refresh tokens and audit rows. Each method is atomic, and every change writes its audit row in the same
/// transaction. Implementations: PostgreSQL and in-memory, held to the same contract tests.
/// </summary>
internal interface IRefreshTokenStore
{
    /// <summary>Stores the first token of a new session and a LOGIN audit row.</summary>
    Task CreateSessionAsync(StoredRefreshToken token, SessionContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Marks the token used only if it is still active and stores its successor (one round trip when it wins). Otherwise
    /// classifies it: grace replay of the existing successor, expired, revoked, or reuse (policy applied, audit written).
    /// </summary>
    Task<RotationOutcome> RotateAsync(RotationRequest request, CancellationToken cancellationToken);

    /// <summary>Revokes active tokens in the given scope, writes the audit row, and returns the ids of the sessions revoked.</summary>
    Task<IReadOnlyList<Guid>> RevokeAsync(RevocationRequest request, CancellationToken cancellationToken);

    /// <summary>One entry per active session of the user, most recently used first.</summary>
    Task<IReadOnlyList<SessionInfo>> ListActiveSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>True when the session has an active (unrevoked, unexpired) refresh token.</summary>
    Task<bool> IsSessionActiveAsync(Guid sessionId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes at most <paramref name="batchSize"/> tokens that expired before <paramref name="expiredBefore"/>; returns how many.</summary>
    Task<int> DeleteExpiredAsync(DateTimeOffset expiredBefore, int batchSize, CancellationToken cancellationToken);
}
