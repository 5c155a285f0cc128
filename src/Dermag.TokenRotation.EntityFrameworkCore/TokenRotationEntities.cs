namespace Dermag.TokenRotation.EntityFrameworkCore;

/// <summary>A row of <c>refresh_tokens</c>, for LINQ queries in an app's own DbContext (see <c>MapTokenRotationTables</c>). Treat as read-only: changes go through <see cref="IRefreshTokenManager"/>.</summary>
public sealed class RefreshTokenEntity
{
    /// <summary>The row id.</summary>
    public long Id { get; set; }

    /// <summary>The token id (the refresh token's <c>jti</c>).</summary>
    public Guid TokenId { get; set; }

    /// <summary>The user id, as text whatever the column type.</summary>
    public string UserId { get; set; } = string.Empty;

    /// <summary>The session id (the <c>sid</c> claim).</summary>
    public Guid SessionId { get; set; }

    /// <summary>The token this one replaced, when it came from a rotation.</summary>
    public Guid? ParentTokenId { get; set; }

    /// <summary>When the token was issued.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the token expires.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>When the session started (login).</summary>
    public DateTimeOffset SessionCreatedAt { get; set; }

    /// <summary>When the session ends whatever happens.</summary>
    public DateTimeOffset SessionExpiresAt { get; set; }

    /// <summary>When the session was last refreshed.</summary>
    public DateTimeOffset LastUsedAt { get; set; }

    /// <summary>Whether the token is used up or revoked.</summary>
    public bool Revoked { get; set; }

    /// <summary>When it was revoked.</summary>
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>Its successor, when it was rotated.</summary>
    public Guid? RevokedByTokenId { get; set; }

    /// <summary>Why it was revoked (see <see cref="RevokeReasons"/>).</summary>
    public string? RevokeReason { get; set; }

    /// <summary>The client IP address.</summary>
    public string? IpAddress { get; set; }

    /// <summary>The client user agent.</summary>
    public string? UserAgent { get; set; }

    /// <summary>The device fingerprint.</summary>
    public string? DeviceFingerprint { get; set; }
}

/// <summary>
/// A row of <c>refresh_sessions</c> (one per login), for LINQ queries in an app's own DbContext. Treat as read-only:
/// rotation and revocation lock this row, and changes go through <see cref="IRefreshTokenManager"/>.
/// </summary>
public sealed class RefreshSessionEntity
{
    /// <summary>The session id (the <c>sid</c> claim).</summary>
    public Guid SessionId { get; set; }

    /// <summary>The user id, as text whatever the column type.</summary>
    public string UserId { get; set; } = string.Empty;

    /// <summary>The only refresh token of the session that can rotate.</summary>
    public Guid CurrentTokenId { get; set; }

    /// <summary>When the current token was issued.</summary>
    public DateTimeOffset CurrentIssuedAt { get; set; }

    /// <summary>When the current token expires.</summary>
    public DateTimeOffset CurrentExpiresAt { get; set; }

    /// <summary>When the session started (login).</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the session ends whatever happens.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>When the session was last refreshed.</summary>
    public DateTimeOffset LastUsedAt { get; set; }

    /// <summary>Whether the session was ended (logout, revocation, reuse response).</summary>
    public bool Revoked { get; set; }

    /// <summary>When it was ended.</summary>
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>Why it was ended (see <see cref="RevokeReasons"/>).</summary>
    public string? RevokeReason { get; set; }

    /// <summary>The client IP address of the latest login or refresh.</summary>
    public string? IpAddress { get; set; }

    /// <summary>The client user agent of the latest login or refresh.</summary>
    public string? UserAgent { get; set; }

    /// <summary>The device fingerprint of the latest login or refresh.</summary>
    public string? DeviceFingerprint { get; set; }
}

/// <summary>A row of <c>audit_logs</c>, for LINQ queries in an app's own DbContext.</summary>
public sealed class AuditLogEntity
{
    /// <summary>The row id.</summary>
    public long Id { get; set; }

    /// <summary>The event (see <see cref="AuditEventTypes"/>).</summary>
    public string EventType { get; set; } = string.Empty;

    /// <summary>The user id, as text whatever the column type.</summary>
    public string? UserId { get; set; }

    /// <summary>The client IP address.</summary>
    public string? IpAddress { get; set; }

    /// <summary>The event details as JSON text (session id, token id, user agent, counts).</summary>
    public string Details { get; set; } = "{}";

    /// <summary>When the event happened.</summary>
    public DateTimeOffset CreatedAt { get; set; }
}
