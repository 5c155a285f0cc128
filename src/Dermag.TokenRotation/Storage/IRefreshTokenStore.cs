namespace Dermag.TokenRotation;

/// <summary>A stored refresh token: ids and times only, never the token text.</summary>
internal sealed record StoredRefreshToken(
    Guid TokenId,
    string UserId,
    Guid SessionId,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset SessionExpiresAt);

/// <summary>A refresh: the presented token (its id and the session id from its signed claims) and the successor to store.</summary>
internal sealed record RotationRequest(
    Guid TokenId,
    Guid SessionId,
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
internal sealed record RotationOutcome(RotationStatus Status, StoredRefreshToken? Token = null, string? UserId = null, Guid? SessionId = null, RevocationOutcome? Revoked = null);

/// <summary>A logout with a genuine, unexpired refresh token.</summary>
internal sealed record LogoutRequest(Guid TokenId, Guid SessionId, DateTimeOffset Now, TimeSpan GracePeriod, TokenReusePolicy ReusePolicy, SessionContext Context);

/// <summary>What the store did with a logout; <see cref="Revoked"/> lists every session it ended.</summary>
internal sealed record LogoutOutcome(LogoutResult Result, string? UserId, RevocationOutcome Revoked);

/// <summary>The sessions a revocation ended (all of them, for caches and notifications) and how many of them counted as active.</summary>
internal sealed record RevocationOutcome(IReadOnlyList<Guid> Ended, int Counted)
{
    public static RevocationOutcome None { get; } = new([], 0);
}

internal enum RevocationScope
{
    /// <summary>One session by id.</summary>
    Session,

    /// <summary>All sessions of the user, optionally but one.</summary>
    AllSessions,
}

internal sealed record RevocationRequest(RevocationScope Scope, string UserId, Guid? SessionId, Guid? ExceptSessionId, DateTimeOffset Now, SessionContext Context)
{
    public string Reason => Scope == RevocationScope.Session ? RevokeReasons.SessionRevoked : RevokeReasons.LogoutAll;

    public string AuditEventType => Scope == RevocationScope.Session ? AuditEventTypes.SessionRevoked : AuditEventTypes.LogoutAll;
}

/// <summary>What cleanup deletes, each by its own age column.</summary>
internal enum CleanupTarget
{
    /// <summary>Refresh tokens by <c>expires_at</c>.</summary>
    Tokens,

    /// <summary>Sessions by the expiry of their last token.</summary>
    Sessions,

    /// <summary>Audit rows by <c>created_at</c>.</summary>
    AuditRows,
}

/// <summary>
/// Persistence of sessions, refresh tokens and audit rows. Each method is atomic, and every change writes its audit row in
/// the same transaction. Rotation and every revocation of a session serialize on that session (see
/// <see cref="SessionRules"/>). Implementations: PostgreSQL and in-memory, held to the same contract tests.
/// </summary>
internal interface IRefreshTokenStore
{
    /// <summary>Stores a new session with its first token and a LOGIN audit row.</summary>
    Task CreateSessionAsync(StoredRefreshToken token, SessionContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Swaps the session's current token for the successor only if the presented token is still current (one round trip
    /// when it wins). Otherwise judges it (<see cref="SessionRules.Judge"/>): grace replay of the current successor (audited),
    /// expired, revoked, or reuse (policy applied, audited, in the same transaction).
    /// </summary>
    Task<RotationOutcome> RotateAsync(RotationRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Ends the session of the presented token under the session's lock: the current token (or a grace replay) logs the
    /// session out; a rotated-away token outside the grace period is reuse and gets the reuse policy.
    /// </summary>
    Task<LogoutOutcome> LogoutAsync(LogoutRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Ends every live session in the given scope and revokes all their tokens, writes the audit row, and returns the
    /// sessions ended; only those whose current token had not expired count (the original API's <c>revokedCount</c>).
    /// </summary>
    Task<RevocationOutcome> RevokeAsync(RevocationRequest request, CancellationToken cancellationToken);

    /// <summary>One entry per active session of the user, most recently used first.</summary>
    Task<IReadOnlyList<SessionInfo>> ListActiveSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>When the session's current refresh token expires, if the session is active (not revoked, not expired); otherwise null.</summary>
    Task<DateTimeOffset?> GetSessionActiveUntilAsync(Guid sessionId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes at most <paramref name="batchSize"/> rows of <paramref name="target"/> older than <paramref name="before"/>; returns how many.</summary>
    Task<int> DeleteExpiredAsync(CleanupTarget target, DateTimeOffset before, int batchSize, CancellationToken cancellationToken);
}
